// govpoolctl backup-policy ...: schedules of backups, of one volume or of every volume of a
// department, into another storage pool (docs/storage.md, "Backups"). The server resolves the
// volume (within the department) and the target pool by name; a policy's own name is resolved
// here among the policies the caller can see.
#include <memory>

#include "cli/commands.h"
#include "common/clock.h"

namespace govpool::cli {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

// RFC 3339, or "" for 0 (never).
std::string When(std::int64_t ms) {
  if (ms == 0) return "";
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::vector<Column<api::BackupPolicy>> PolicyColumns(Context& ctx) {
  using P = api::BackupPolicy;
  return {
      {"ID", [](const P& p) { return p.meta.id; }},
      {"NAME", [](const P& p) { return p.name; }},
      {"DEPARTMENT", [&ctx](const P& p) { return ctx.DepartmentName(p.department_id); }},
      {"DEPARTMENT_ID", [](const P& p) { return p.department_id; }, true},
      {"VOLUME", [&ctx](const P& p) { return p.volume_id.empty() ? "(all)" : ctx.VolumeName(p.volume_id); }},
      {"VOLUME_ID", [](const P& p) { return p.volume_id; }, true},
      {"SCHEDULE", [](const P& p) { return p.schedule; }},
      {"KEEP", [](const P& p) { return std::to_string(p.keep); }},
      {"TARGET_POOL", [&ctx](const P& p) { return ctx.StoragePoolName(p.target_pool_id); }},
      {"TARGET_POOL_ID", [](const P& p) { return p.target_pool_id; }, true},
      {"ENABLED", [](const P& p) { return Bool(p.enabled); }},
      {"LAST_RUN", [](const P& p) { return When(p.last_run_at_ms); }},
      {"NEXT_RUN", [](const P& p) { return When(p.next_run_at_ms); }},
  };
}

struct CreateArgs {
  api::CreateBackupPolicyRequest req;
  std::string department;
  bool disabled = false;
};

Status Create(Context& ctx, CreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  args.req.enabled = !args.disabled;
  GP_ASSIGN_OR_RETURN(api::BackupPolicy p, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateBackupPolicy(args.req, w);
  }));
  ctx.PrintObject(p);
  return OkStatus();
}

struct ListArgs {
  std::string department;
  std::int64_t page_size = kDefaultPageSize;
};

Status List(Context& ctx, const ListArgs& args) {
  api::BackupQuery query;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::BackupPolicy> items,
                      ctx.ListAll<api::BackupPolicy>(
                          [&](const api::BackupQuery& q) { return ctx.api().ListBackupPolicies(q); }, query));
  ctx.PrintList(items, PolicyColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupPolicyId(ref));
  GP_ASSIGN_OR_RETURN(api::BackupPolicy p, ctx.Retried([&] { return ctx.api().GetBackupPolicy(id); }));
  ctx.PrintObject(p);
  return OkStatus();
}

struct UpdateArgs {
  std::string ref;
  api::PatchBackupPolicyRequest req;
};

Status Update(Context& ctx, const UpdateArgs& args) {
  const api::PatchBackupPolicyRequest& r = args.req;
  if (!r.schedule && !r.keep && !r.enabled) {
    return UsageError("nothing to change: give --schedule, --keep or --enabled");
  }
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupPolicyId(args.ref));
  GP_ASSIGN_OR_RETURN(api::BackupPolicy p, ctx.api().PatchBackupPolicy(id, r));
  ctx.PrintObject(p);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.BackupPolicyId(ref));
  GP_RETURN_IF_ERROR(ctx.api().DeleteBackupPolicy(id));
  PrintDeleted(ctx, "backup-policy", id);
  return OkStatus();
}

constexpr const char* kScheduleHelp =
    "when, in UTC: 'hourly', 'hourly :MM', 'daily HH:MM', 'weekly DAY HH:MM' (DAY: mon..sun) or "
    "'every N[m|h]' (e.g. 'every 6h')";

}  // namespace

void AddBackupPolicyCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("backup-policy", "scheduled backups of volumes into another storage pool");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "schedule backups of a volume, or of every volume of a department")
        .Arg("NAME", &a->req.name, "the policy's name")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Option("--volume", &a->req.volume, "ID|NAME",
                "the volume to back up (default: every volume of the department)")
        .Option("--schedule", &a->req.schedule, "SCHEDULE", kScheduleHelp).Required()
        .Option("--keep", &a->req.keep, "N", "backups kept per volume, the oldest go first (1-1000, default 7)",
                1, 1000)
        .Option("--target-pool", &a->req.target_pool, "ID|NAME",
                "storage pool the backups go to (another pool or cluster than the volumes')")
        .Required()
        .Flag("--disabled", &a->disabled, "create it disabled (no backups until enabled)")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<ListArgs>();
    g.AddCommand("list", "list backup policies with their schedule and next run (every page)")
        .Option("--department", &a->department, "ID|NAME", "only this department's policies")
        .Option("--page-size", &a->page_size, "N",
                "policies per request (1-1000, default 500); all pages are listed", 1, 1000)
        .Run([a](Context& ctx) { return List(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a backup policy")
        .Arg("ID|NAME", ref.get(), "the backup policy")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<UpdateArgs>();
    api::PatchBackupPolicyRequest* r = &a->req;
    g.AddCommand("update", "change a backup policy's schedule, keep or enabled")
        .Arg("ID|NAME", &a->ref, "the backup policy")
        .Option("--schedule", &r->schedule, "SCHEDULE", kScheduleHelp)
        .Option("--keep", &r->keep, "N", "backups kept per volume (1-1000); fewer deletes the excess at once", 1,
                1000)
        .Option("--enabled", "on|off", "run the policy or not",
                [r](const std::string& v) -> Status {
                  GP_ASSIGN_OR_RETURN(r->enabled, ParseOnOff(v, "--enabled"));
                  return OkStatus();
                })
        .Run([a](Context& ctx) { return Update(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a backup policy (its backups stay)")
        .Arg("ID|NAME", ref.get(), "the backup policy")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
}

}  // namespace govpool::cli
