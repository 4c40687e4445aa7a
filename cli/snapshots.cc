// govpoolctl snapshot ...: point-in-time snapshots of a volume. Every command names its volume
// with --volume (snapshots live under /v1/volumes/{id}/snapshots); a snapshot's name is
// resolved among that volume's snapshots.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

std::vector<Column<api::VolumeSnapshot>> SnapshotColumns(Context& ctx) {
  using S = api::VolumeSnapshot;
  return {
      {"ID", [](const S& s) { return s.meta.id; }},
      {"NAME", [](const S& s) { return s.name; }},
      {"VOLUME", [&ctx](const S& s) { return ctx.VolumeName(s.volume_id); }},
      {"VOLUME_ID", [](const S& s) { return s.volume_id; }, true},
      {"DEPARTMENT", [&ctx](const S& s) { return ctx.DepartmentName(s.department_id); }, true},
      {"POOL", [&ctx](const S& s) { return ctx.StoragePoolName(s.pool_id); }, true},
      {"SIZE_GIB", [](const S& s) { return std::to_string(s.size_gib); }},
      {"STATE", [](const S& s) { return std::string(api::ToString(s.state)); }},
  };
}

Result<std::vector<api::VolumeSnapshot>> ListOf(Context& ctx, const std::string& volume_id) {
  return ctx.ListAll<api::VolumeSnapshot>(
      [&](const api::PageQuery& q) { return ctx.api().ListSnapshots(volume_id, q); }, api::PageQuery{});
}

// The snapshot `ref` (id or name) of volume `volume_id`.
Result<std::string> SnapshotId(Context& ctx, const std::string& volume_id, const std::string& ref) {
  if (IsUuid(ref)) return ref;
  GP_ASSIGN_OR_RETURN(std::vector<api::VolumeSnapshot> items, ListOf(ctx, volume_id));
  std::vector<std::string> ids;
  for (const api::VolumeSnapshot& s : items) {
    if (s.name == ref) ids.push_back(s.meta.id);
  }
  if (ids.empty()) return NotFound("volume " + volume_id + " has no snapshot named '" + ref + "'");
  if (ids.size() > 1) {
    return InvalidArgument(std::to_string(ids.size()) + " snapshots are named '" + ref + "'; use an id")
        .WithReason("AMBIGUOUS");
  }
  return ids.front();
}

// A snapshot command's arguments: the snapshot (not for list/create) and its volume.
struct Args {
  std::string ref;
  std::string volume;
  bool flatten = false;
};

Status Create(Context& ctx, const Args& args) {
  GP_ASSIGN_OR_RETURN(std::string volume_id, ctx.VolumeId(args.volume));
  api::CreateSnapshotRequest req;
  req.name = args.ref;
  GP_ASSIGN_OR_RETURN(api::VolumeSnapshot s, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateSnapshot(volume_id, req, w);
  }));
  ctx.PrintObject(s);
  return OkStatus();
}

Status List(Context& ctx, const Args& args) {
  GP_ASSIGN_OR_RETURN(std::string volume_id, ctx.VolumeId(args.volume));
  GP_ASSIGN_OR_RETURN(std::vector<api::VolumeSnapshot> items, ListOf(ctx, volume_id));
  ctx.PrintList(items, SnapshotColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const Args& args) {
  GP_ASSIGN_OR_RETURN(std::string volume_id, ctx.VolumeId(args.volume));
  GP_ASSIGN_OR_RETURN(std::string id, SnapshotId(ctx, volume_id, args.ref));
  GP_ASSIGN_OR_RETURN(api::VolumeSnapshot s,
                      ctx.Retried([&] { return ctx.api().GetSnapshot(volume_id, id); }));
  ctx.PrintObject(s);
  return OkStatus();
}

Status Delete(Context& ctx, const Args& args) {
  GP_ASSIGN_OR_RETURN(std::string volume_id, ctx.VolumeId(args.volume));
  GP_ASSIGN_OR_RETURN(std::string id, SnapshotId(ctx, volume_id, args.ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::VolumeSnapshot> s,
                      ctx.api().DeleteSnapshot(volume_id, id, args.flatten));
  if (ctx.json()) {
    if (s) ctx.PrintObject(*s);
  } else if (s) {
    ctx.out() << "deleting snapshot " << id << " (its storage agent removes it)\n";
  } else {
    ctx.out() << "deleted snapshot " << id << "\n";
  }
  return OkStatus();
}

Status Rollback(Context& ctx, const Args& args) {
  GP_ASSIGN_OR_RETURN(std::string volume_id, ctx.VolumeId(args.volume));
  GP_ASSIGN_OR_RETURN(std::string id, SnapshotId(ctx, volume_id, args.ref));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.api().RollbackVolume(volume_id, id));
  if (ctx.json()) {
    ctx.PrintObject(v);
  } else {
    ctx.out() << "rolling volume " << volume_id << " back to snapshot " << id << "\n";
  }
  return OkStatus();
}

Command& VolumeOption(Command& c, Args* a) {
  return c.Option("--volume", &a->volume, "ID|NAME", "the snapshot's volume").Required();
}

}  // namespace

void AddSnapshotCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("snapshot", "point-in-time snapshots of a volume (--volume names it)");
  {
    auto a = std::make_shared<Args>();
    Command& c = g.AddCommand("create", "snapshot a volume").Arg("NAME", &a->ref, "the snapshot's name");
    VolumeOption(c, a.get()).Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<Args>();
    Command& c = g.AddCommand("list", "list a volume's snapshots");
    VolumeOption(c, a.get()).Run([a](Context& ctx) { return List(ctx, *a); });
  }
  {
    auto a = std::make_shared<Args>();
    Command& c = g.AddCommand("show", "show a snapshot").Arg("ID|NAME", &a->ref, "the snapshot");
    VolumeOption(c, a.get()).Run([a](Context& ctx) { return Show(ctx, *a); });
  }
  {
    auto a = std::make_shared<Args>();
    Command& c = g.AddCommand("delete", "delete a snapshot")
                     .Arg("ID|NAME", &a->ref, "the snapshot")
                     .Flag("--flatten", &a->flatten,
                           "flatten volumes cloned from it first (else refused with HAS_DEPENDENTS)");
    VolumeOption(c, a.get()).Run([a](Context& ctx) { return Delete(ctx, *a); });
  }
  {
    auto a = std::make_shared<Args>();
    Command& c = g.AddCommand("rollback", "roll a detached volume back to a snapshot")
                     .Arg("ID|NAME", &a->ref, "the snapshot");
    VolumeOption(c, a.get()).Run([a](Context& ctx) { return Rollback(ctx, *a); });
  }
}

}  // namespace govpool::cli
