// govpoolctl backup ...: backups of volumes into another storage pool (docs/storage.md,
// "Backups"), taken on demand or by a backup policy, and restores into new volumes. Backups
// outlive their volumes, so tables show the volume's name as the backup recorded it. `--wait`
// polls every second until the backup (or the restored volume) is available, printing each
// state on stderr; a backup's failed attempts show there as they are retried.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/progress.h"
#include "common/clock.h"

namespace govpool::cli {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

// RFC 3339, or "" for 0 (not yet).
std::string When(std::int64_t ms) {
  if (ms == 0) return "";
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::vector<Column<api::Backup>> BackupColumns(Context& ctx) {
  using B = api::Backup;
  // What the copy did is known once it completed.
  auto done = [](const B& b) { return b.completed_at_ms != 0; };
  return {
      {"ID", [](const B& b) { return b.meta.id; }},
      {"NAME", [](const B& b) { return b.name; }},
      {"VOLUME", [](const B& b) { return b.volume_name; }},
      {"VOLUME_ID", [](const B& b) { return b.volume_id; }, true},
      {"DEPARTMENT", [&ctx](const B& b) { return ctx.DepartmentName(b.department_id); }, true},
      {"STATE", [](const B& b) { return std::string(api::ToString(b.state)); }},
      {"INCREMENTAL", [done](const B& b) { return done(b) ? Bool(b.incremental) : ""; }},
      {"TRANSFERRED",
       [done](const B& b) {
         return done(b) ? FormatBytes(static_cast<std::uint64_t>(b.transferred_bytes)) : "";
       }},
      {"SIZE_GIB", [](const B& b) { return std::to_string(b.size_gib); }},
      {"COMPLETED", [](const B& b) { return When(b.completed_at_ms); }},
      {"ATTEMPTS", [](const B& b) { return std::to_string(b.attempts); }},
      {"TARGET_POOL", [&ctx](const B& b) { return ctx.StoragePoolName(b.target_pool_id); }, true},
      {"POLICY", [&ctx](const B& b) { return ctx.BackupPolicyName(b.policy_id); }, true},
      {"PARENT_ID", [](const B& b) { return b.parent_backup_id; }, true},
      {"HOST", [&ctx](const B& b) { return ctx.HostName(b.host_id); }, true},
      {"STATE_REASON", [](const B& b) { return b.state_reason; }},
  };
}

struct WaitArgs {
  bool wait = false;
  std::int64_t timeout_s = 0;
};

Command& WaitOptions(Command& c, WaitArgs* w, const std::string& what) {
  return c.Flag("--wait", &w->wait, "wait until " + what + " is available, then show it")
      .Option("--timeout", &w->timeout_s, "S", "with --wait: give up after S seconds (default 0: no limit)", 0,
              api::kMaxInt);
}

// Polls `get` every second from `first` on: `check` says whether an object is done (OkStatus),
// failed (an error) or still under way (nullopt); `line` is what stderr shows of it, printed
// whenever it changes. The object last read when done.
template <class T>
Result<T> Poll(Context& ctx, T first, const std::function<Result<T>()>& get,
               const std::function<std::optional<Status>(const T&)>& check,
               const std::function<std::string(const T&)>& line, const std::string& what,
               std::int64_t timeout_s) {
  const auto deadline = ctx.Now() + std::chrono::seconds(timeout_s);
  std::string shown;
  T current = std::move(first);
  for (;;) {
    const std::string l = line(current);
    if (l != shown) ctx.err() << l << "\n";
    shown = l;
    if (std::optional<Status> s = check(current)) {
      if (!s->ok()) return *s;
      return current;
    }
    if (timeout_s > 0 && ctx.Now() >= deadline) {
      return DeadlineExceeded(what + " is still not available after " + std::to_string(timeout_s) + " s")
          .WithReason("TIMEOUT");
    }
    ctx.Sleep(std::chrono::seconds(1));
    GP_ASSIGN_OR_RETURN(current, ctx.Retried(get));
  }
}

Result<api::Backup> WaitBackup(Context& ctx, api::Backup b, std::int64_t timeout_s) {
  const std::string id = b.meta.id;
  const std::string what = "backup " + b.name;
  return Poll<api::Backup>(
      ctx, std::move(b), [&ctx, id] { return ctx.api().GetBackup(id); },
      [](const api::Backup& x) -> std::optional<Status> {
        if (x.deleting || x.state == api::BackupState::kDeleting || x.state == api::BackupState::kDeleted) {
          return FailedPrecondition("backup " + x.name + " is being deleted").WithReason("BACKUP_DELETING");
        }
        if (x.state == api::BackupState::kError) {
          return FailedPrecondition("backup " + x.name + " failed: " + x.state_reason).WithReason("BACKUP_ERROR");
        }
        if (x.state == api::BackupState::kAvailable) return OkStatus();
        return std::nullopt;
      },
      [](const api::Backup& x) {
        std::string l = "backup " + x.name + ": " + std::string(api::ToString(x.state));
        if (x.state == api::BackupState::kAvailable) {
          l += std::string(x.incremental ? " (incremental, " : " (full, ") +
               FormatBytes(static_cast<std::uint64_t>(x.transferred_bytes)) + " transferred)";
        } else if (!x.state_reason.empty()) {
          l += ": " + x.state_reason;
        }
        return l;
      },
      what, timeout_s);
}

Result<api::Volume> WaitVolume(Context& ctx, api::Volume v, std::int64_t timeout_s) {
  const std::string id = v.meta.id;
  const std::string what = "volume " + v.name;
  return Poll<api::Volume>(
      ctx, std::move(v), [&ctx, id] { return ctx.api().GetVolume(id); },
      [](const api::Volume& x) -> std::optional<Status> {
        if (x.deleting || x.state == api::VolumeState::kDeleting) {
          return FailedPrecondition("volume " + x.name + " is being deleted").WithReason("VOLUME_DELETING");
        }
        if (x.state == api::VolumeState::kError) {
          return FailedPrecondition("volume " + x.name + " failed: " + x.state_reason).WithReason("VOLUME_ERROR");
        }
        if (x.state == api::VolumeState::kAvailable || x.state == api::VolumeState::kInUse) return OkStatus();
        return std::nullopt;
      },
      [](const api::Volume& x) {
        std::string l = "volume " + x.name + ": " + std::string(api::ToString(x.state));
        if (!x.state_reason.empty()) l += ": " + x.state_reason;
        return l;
      },
      what, timeout_s);
}

struct CreateArgs {
  api::CreateBackupRequest req;
  std::string department;
  WaitArgs wait;
};

Status Create(Context& ctx, CreateArgs args) {
  if (!args.department.empty()) {
    // The server finds the volume by name within the department.
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  } else {
    GP_ASSIGN_OR_RETURN(args.req.volume, ctx.VolumeId(args.req.volume));
  }
  GP_ASSIGN_OR_RETURN(api::Backup b, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateBackup(args.req, w);
  }));
  if (args.wait.wait) {
    GP_ASSIGN_OR_RETURN(b, WaitBackup(ctx, std::move(b), args.wait.timeout_s));
  }
  ctx.PrintObject(b);
  return OkStatus();
}

struct ListArgs {
  std::string volume;
  std::string policy;
  std::string department;
  std::int64_t page_size = kDefaultPageSize;
};

Status List(Context& ctx, const ListArgs& args) {
  api::BackupQuery query;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  if (!args.volume.empty()) {
    GP_ASSIGN_OR_RETURN(query.volume_id, ctx.VolumeId(args.volume));
  }
  if (!args.policy.empty()) {
    GP_ASSIGN_OR_RETURN(query.policy_id, ctx.BackupPolicyId(args.policy));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Backup> items,
                      ctx.ListAll<api::Backup>(
                          [&](const api::BackupQuery& q) { return ctx.api().ListBackups(q); }, query));
  ctx.PrintList(items, BackupColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupId(ref));
  GP_ASSIGN_OR_RETURN(api::Backup b, ctx.Retried([&] { return ctx.api().GetBackup(id); }));
  ctx.PrintObject(b);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupId(ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::Backup> b, ctx.api().DeleteBackup(id));
  if (ctx.json()) {
    if (b) ctx.PrintObject(*b);
  } else if (b) {
    ctx.out() << "deleting backup " << id << " (its storage agent removes it)\n";
  } else {
    ctx.out() << "deleted backup " << id << "\n";
  }
  return OkStatus();
}

struct RestoreArgs {
  std::string ref;
  api::RestoreBackupRequest req;
  WaitArgs wait;
};

Status Restore(Context& ctx, const RestoreArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupId(args.ref));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().RestoreBackup(id, args.req, w);
  }));
  if (args.wait.wait) {
    GP_ASSIGN_OR_RETURN(v, WaitVolume(ctx, std::move(v), args.wait.timeout_s));
  }
  ctx.PrintObject(v);
  return OkStatus();
}

}  // namespace

void AddBackupCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("backup", "backups of volumes in another storage pool, and restores from them");
  {
    auto a = std::make_shared<CreateArgs>();
    Command& c =
        g.AddCommand("create", "back up a volume into another storage pool now (quota backup_gib)")
            .Option("--volume", &a->req.volume, "ID|NAME", "the volume to back up").Required()
            .Option("--department", &a->department, "ID|NAME",
                    "the volume's department (the server finds --volume's name in it)")
            .Option("--target-pool", &a->req.target_pool, "ID|NAME",
                    "storage pool the backup goes to (another pool or cluster than the volume's)")
            .Required()
            .Option("--name", &a->req.name, "NAME", "the backup's name (default: VOLUME-<UTC time>)");
    WaitOptions(c, &a->wait, "the backup").Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<ListArgs>();
    g.AddCommand("list", "list backups: state, incremental, bytes transferred, attempts (every page)")
        .Option("--volume", &a->volume, "ID|NAME", "only this volume's backups")
        .Option("--policy", &a->policy, "ID|NAME", "only the backups this policy took")
        .Option("--department", &a->department, "ID|NAME", "only this department's backups")
        .Option("--page-size", &a->page_size, "N",
                "backups per request (1-1000, default 500); all pages are listed", 1, 1000)
        .Run([a](Context& ctx) { return List(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a backup")
        .Arg("ID|NAME", ref.get(), "the backup")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a backup (refused while a volume is being restored from it)")
        .Arg("ID|NAME", ref.get(), "the backup")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
  {
    auto a = std::make_shared<RestoreArgs>();
    Command& c = g.AddCommand("restore", "restore a backup into a new volume of its department")
                     .Arg("ID|NAME", &a->ref, "the backup (available)")
                     .Option("--name", &a->req.name, "NAME", "the new volume's name").Required()
                     .Option("--pool", &a->req.pool, "ID|NAME",
                             "storage pool of the new volume (default: the scheduler chooses)")
                     .Option("--tier", &a->req.tier, "TIER", "with no --pool: a pool with this tier");
    WaitOptions(c, &a->wait, "the new volume").Run([a](Context& ctx) { return Restore(ctx, *a); });
  }
}

}  // namespace govpool::cli
