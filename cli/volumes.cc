// govpoolctl volume ...: block devices in storage pools. Tables show a volume's department,
// pool and VM by name (ids with --wide or --json), each collection listed at most once per
// command. Snapshots have their own group (snapshots.cc).
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

// Where a clone (or restore) came from: "image NAME", "snapshot ID" or "backup ID"; "" for
// an empty volume.
std::string Source(Context& ctx, const api::Volume& v) {
  if (!v.source_image_id.empty()) return "image " + ctx.ImageName(v.source_image_id);
  if (!v.source_snapshot_id.empty()) return "snapshot " + v.source_snapshot_id;
  if (!v.source_backup_id.empty()) return "backup " + v.source_backup_id;
  return "";
}

std::vector<Column<api::Volume>> VolumeColumns(Context& ctx) {
  using V = api::Volume;
  return {
      {"ID", [](const V& v) { return v.meta.id; }},
      {"NAME", [](const V& v) { return v.name; }},
      {"DEPARTMENT", [&ctx](const V& v) { return ctx.DepartmentName(v.department_id); }},
      {"DEPARTMENT_ID", [](const V& v) { return v.department_id; }, true},
      {"POOL", [&ctx](const V& v) { return ctx.StoragePoolName(v.pool_id); }},
      {"POOL_ID", [](const V& v) { return v.pool_id; }, true},
      {"SIZE_GIB", [](const V& v) { return std::to_string(v.size_gib); }},
      {"STATE", [](const V& v) { return std::string(api::ToString(v.state)); }},
      {"VM", [&ctx](const V& v) { return ctx.VmName(v.vm_id); }},
      {"VM_ID", [](const V& v) { return v.vm_id; }, true},
      {"DEVICE", [](const V& v) { return v.device; }},
      {"HOST", [&ctx](const V& v) { return ctx.HostName(v.host_id); }, true},
      {"HOST_ID", [](const V& v) { return v.host_id; }, true},
      {"SOURCE", [&ctx](const V& v) { return Source(ctx, v); }, true},
  };
}

// One volume after an action: its fields with --json, else one table row with names.
void PrintVolume(Context& ctx, const api::Volume& v) {
  if (ctx.json()) {
    ctx.PrintObject(v);
  } else {
    ctx.PrintList({v}, VolumeColumns(ctx));
  }
}

struct CreateArgs {
  api::CreateVolumeRequest req;
  std::string department;
};

Status Create(Context& ctx, CreateArgs args) {
  if (args.req.size_gib == 0 && args.req.image.empty() && args.req.snapshot.empty()) {
    return UsageError("give --size-gib for an empty volume (or --image / --snapshot to clone)");
  }
  if (!args.req.image.empty() && !args.req.snapshot.empty()) {
    return UsageError("give --image or --snapshot, not both");
  }
  GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateVolume(args.req, w);
  }));
  ctx.PrintObject(v);
  return OkStatus();
}

struct ListArgs {
  std::string department;
  std::string vm;
  std::string pool;
  std::int64_t page_size = kDefaultPageSize;
};

Status List(Context& ctx, const ListArgs& args) {
  api::VolumeQuery query;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  if (!args.vm.empty()) {
    GP_ASSIGN_OR_RETURN(query.vm_id, ctx.VmId(args.vm));
  }
  if (!args.pool.empty()) {
    GP_ASSIGN_OR_RETURN(query.pool_id, ctx.StoragePoolId(args.pool));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Volume> items,
                      ctx.ListAll<api::Volume>(
                          [&](const api::VolumeQuery& q) { return ctx.api().ListVolumes(q); }, query));
  ctx.PrintList(items, VolumeColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VolumeId(ref));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.Retried([&] { return ctx.api().GetVolume(id); }));
  ctx.PrintObject(v);
  return OkStatus();
}

struct DeleteArgs {
  std::string ref;
  bool flatten = false;
  std::optional<std::int64_t> if_match;
};

Status Delete(Context& ctx, const DeleteArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VolumeId(args.ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::Volume> v,
                      ctx.api().DeleteVolume(id, args.flatten, IfMatch(args.if_match)));
  if (ctx.json()) {
    if (v) ctx.PrintObject(*v);
  } else if (v) {
    ctx.out() << "deleting volume " << id << " (its storage agent removes it)\n";
  } else {
    ctx.out() << "deleted volume " << id << "\n";
  }
  return OkStatus();
}

struct ResizeArgs {
  std::string ref;
  api::ResizeVolumeRequest req;
};

Status Resize(Context& ctx, const ResizeArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VolumeId(args.ref));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.api().ResizeVolume(id, args.req));
  PrintVolume(ctx, v);
  return OkStatus();
}

struct AttachArgs {
  std::string ref;
  std::string vm;
};

Status Attach(Context& ctx, const AttachArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VolumeId(args.ref));
  api::AttachVolumeRequest req;
  GP_ASSIGN_OR_RETURN(req.vm_id, ctx.VmId(args.vm));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.api().AttachVolume(id, req));
  PrintVolume(ctx, v);
  return OkStatus();
}

Status Detach(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VolumeId(ref));
  GP_ASSIGN_OR_RETURN(api::Volume v, ctx.api().DetachVolume(id));
  PrintVolume(ctx, v);
  return OkStatus();
}

}  // namespace

void AddVolumeCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("volume", "block devices in storage pools (Ceph RBD)");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "create a volume, empty or cloned from an image or a snapshot")
        .Arg("NAME", &a->req.name, "the volume's name")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Option("--size-gib", &a->req.size_gib, "N",
                "size in GiB (required for an empty volume; a clone defaults to its source's)", 1,
                api::kMaxDiskGib)
        .Option("--pool", &a->req.pool, "ID|NAME", "storage pool (default: the scheduler chooses)")
        .Option("--tier", &a->req.tier, "TIER", "with no --pool: a pool with this tier")
        .Option("--image", &a->req.image, "ID|NAME", "clone this image")
        .Option("--snapshot", &a->req.snapshot, "ID", "clone this volume snapshot")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<ListArgs>();
    g.AddCommand("list", "list volumes (every page)")
        .Option("--department", &a->department, "ID|NAME", "only this department's volumes")
        .Option("--vm", &a->vm, "ID|NAME", "only volumes attached to this VM")
        .Option("--pool", &a->pool, "ID|NAME", "only volumes in this storage pool")
        .Option("--page-size", &a->page_size, "N",
                "volumes per request (1-1000, default 500); all pages are listed", 1, 1000)
        .Run([a](Context& ctx) { return List(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a volume")
        .Arg("ID|NAME", ref.get(), "the volume")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<DeleteArgs>();
    Command& c = g.AddCommand("delete", "delete a detached volume and its snapshots")
                     .Arg("ID|NAME", &a->ref, "the volume")
                     .Flag("--flatten", &a->flatten,
                           "flatten volumes cloned from its snapshots first (else refused with "
                           "HAS_DEPENDENTS)");
    IfMatchOption(c, &a->if_match).Run([a](Context& ctx) { return Delete(ctx, *a); });
  }
  {
    auto a = std::make_shared<ResizeArgs>();
    g.AddCommand("resize", "grow a volume")
        .Arg("ID|NAME", &a->ref, "the volume")
        .Option("--size-gib", &a->req.size_gib, "N", "the new size in GiB (larger than now)", 1,
                api::kMaxDiskGib)
        .Required()
        .Run([a](Context& ctx) { return Resize(ctx, *a); });
  }
  {
    auto a = std::make_shared<AttachArgs>();
    g.AddCommand("attach", "attach a volume to a VM of its department (hot-plugged)")
        .Arg("ID|NAME", &a->ref, "the volume")
        .Option("--vm", &a->vm, "ID|NAME", "the VM").Required()
        .Run([a](Context& ctx) { return Attach(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("detach", "detach a volume from its VM")
        .Arg("ID|NAME", ref.get(), "the volume")
        .Run([ref](Context& ctx) { return Detach(ctx, *ref); });
  }
}

}  // namespace govpool::cli
