// govpoolctl vm ...: virtual machines. Tables show a VM's department, flavor and host by name
// (ids with --wide or --json), each collection listed at most once per command.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

// The columns of a VM table; names come from the context's catalogs, listed on first use.
std::vector<Column<api::Vm>> VmColumns(Context& ctx) {
  using V = api::Vm;
  return {
      {"ID", [](const V& v) { return v.meta.id; }},
      {"NAME", [](const V& v) { return v.name; }},
      {"DEPARTMENT", [&ctx](const V& v) { return ctx.DepartmentName(v.department_id); }},
      {"DEPARTMENT_ID", [](const V& v) { return v.department_id; }, true},
      {"FLAVOR", [](const V& v) { return v.flavor_name; }},
      {"FLAVOR_ID", [](const V& v) { return v.flavor_id; }, true},
      {"HOST", [&ctx](const V& v) { return ctx.HostName(v.host_id); }},
      {"HOST_ID", [](const V& v) { return v.host_id; }, true},
      {"POOL", [](const V& v) { return v.pool; }, true},
      {"STATE", [](const V& v) { return std::string(api::ToString(v.state)); }},
      {"POWER", [](const V& v) { return std::string(api::ToString(v.power)); }},
  };
}

struct CreateArgs {
  api::CreateVmRequest req;
  std::string department;
  std::string server_group;
  bool stopped = false;
};

Status Create(Context& ctx, CreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  if (!args.server_group.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.server_group, ctx.ServerGroupId(args.server_group));
  }
  if (args.stopped) args.req.power = api::PowerState::kStopped;
  if (args.req.image.empty() && (!args.req.storage_pool.empty() || args.req.root_gib != 0)) {
    return UsageError("--storage-pool and --root-gib need --image");
  }
  GP_ASSIGN_OR_RETURN(std::vector<api::Vm> vms, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateVms(args.req, w);
  }));
  if (vms.size() == 1) {
    ctx.PrintObject(vms.front());
  } else {
    ctx.PrintList(vms, VmColumns(ctx));
  }
  return OkStatus();
}

struct ListArgs {
  std::string department;
  std::string host;
  std::optional<api::VmState> state;
  std::int64_t page_size = kDefaultPageSize;
};

Status List(Context& ctx, const ListArgs& args) {
  api::VmQuery query;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  if (!args.host.empty()) {
    GP_ASSIGN_OR_RETURN(query.host_id, ctx.HostId(args.host));
  }
  query.state = args.state;
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Vm> items,
                      ctx.ListAll<api::Vm>(
                          [&](const api::VmQuery& q) { return ctx.api().ListVms(q); }, query));
  ctx.PrintList(items, VmColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VmId(ref));
  GP_ASSIGN_OR_RETURN(api::Vm vm, ctx.Retried([&] { return ctx.api().GetVm(id); }));
  ctx.PrintObject(vm);
  return OkStatus();
}

struct DeleteArgs {
  std::string ref;
  bool force = false;
  std::optional<std::int64_t> if_match;
};

Status Delete(Context& ctx, const DeleteArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VmId(args.ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::Vm> vm,
                      ctx.api().DeleteVm(id, args.force, IfMatch(args.if_match)));
  if (ctx.json()) {
    if (vm) ctx.PrintObject(*vm);
  } else if (vm) {
    ctx.out() << "deleting vm " << id << " (its host cleans up)\n";
  } else {
    ctx.out() << "deleted vm " << id << "\n";
  }
  return OkStatus();
}

enum class Action { kStart, kStop, kReboot };

Status Act(Context& ctx, const std::string& ref, Action action) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.VmId(ref));
  Result<api::Vm> vm = action == Action::kStart  ? ctx.api().StartVm(id)
                       : action == Action::kStop ? ctx.api().StopVm(id)
                                                 : ctx.api().RebootVm(id);
  if (!vm.ok()) return vm.status();
  if (ctx.json()) {
    ctx.PrintObject(*vm);
  } else {
    ctx.PrintList({*vm}, VmColumns(ctx));  // one row, names resolved
  }
  return OkStatus();
}

}  // namespace

void AddVmCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("vm", "virtual machines");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "create and place a VM")
        .Arg("NAME", &a->req.name, "the VM's name (unique in its department)")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Option("--flavor", &a->req.flavor, "ID|NAME", "flavor").Required()
        .Option("--pool", &a->req.pool, "POOL", "place in this pool")
        .Option("--server-group", &a->server_group, "ID|NAME",
                "member of this server group (affinity or anti-affinity)")
        .Option("--count", &a->req.count, "N",
                "create N VMs NAME-1 ... NAME-N, all placed or none (1-100)", 1, 100)
        .Flag("--stopped", &a->stopped, "create it stopped")
        .Option("--image", &a->req.image, "ID|NAME",
                "boot from this image: the root disk is a copy-on-write clone of it in a storage pool")
        .Option("--storage-pool", &a->req.storage_pool, "ID|NAME",
                "with --image: the root disk's storage pool (default: the image's)")
        .Option("--root-gib", &a->req.root_gib, "N",
                "with --image: the root disk's size in GiB (default: the flavor's disk, at least the "
                "image's size)",
                1, api::kMaxDiskGib)
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<ListArgs>();
    g.AddCommand("list", "list VMs (every page)")
        .Option("--department", &a->department, "ID|NAME", "only this department's VMs")
        .Option("--host", &a->host, "ID|NAME", "only VMs on this host")
        .Choice("--state", &a->state, "only VMs in this state")
        .Option("--page-size", &a->page_size, "N",
                "VMs per request (1-1000, default 500); all pages are listed", 1, 1000)
        .Run([a](Context& ctx) { return List(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a VM")
        .Arg("ID|NAME", ref.get(), "the VM")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<DeleteArgs>();
    Command& c = g.AddCommand("delete", "delete a VM")
                     .Arg("ID|NAME", &a->ref, "the VM")
                     .Flag("--force", &a->force, "admin: drop the record at once");
    IfMatchOption(c, &a->if_match).Run([a](Context& ctx) { return Delete(ctx, *a); });
  }
  struct ActionSpec {
    const char* verb;
    const char* summary;
    Action action;
  };
  constexpr ActionSpec kActions[] = {{"start", "ask for the VM to run", Action::kStart},
                                     {"stop", "ask for the VM to stop", Action::kStop},
                                     {"reboot", "ask for a reboot", Action::kReboot}};
  for (const ActionSpec& spec : kActions) {
    auto ref = std::make_shared<std::string>();
    const Action action = spec.action;
    g.AddCommand(spec.verb, spec.summary)
        .Arg("ID|NAME", ref.get(), "the VM")
        .Run([ref, action](Context& ctx) { return Act(ctx, *ref, action); });
  }
}

}  // namespace govpool::cli
