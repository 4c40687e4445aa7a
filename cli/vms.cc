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
  std::vector<std::string> networks;  // NET[:FIXED_IP], one per NIC, in order
};

// "NET[:FIXED_IP]": a NIC with a new port on network NET (id or name; the controller resolves
// names in the VM's department, then among shared networks).
Result<api::NicRequest> ParseNic(const std::string& text) {
  const std::size_t colon = text.find(':');
  api::NicRequest nic;
  nic.network = text.substr(0, colon);
  if (colon != std::string::npos) nic.fixed_ip = text.substr(colon + 1);
  if (nic.network.empty() || (colon != std::string::npos && nic.fixed_ip.empty())) {
    return UsageError("--network takes NET or NET:IP, got '" + text + "'");
  }
  return nic;
}

Status Create(Context& ctx, CreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  if (!args.server_group.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.server_group, ctx.ServerGroupId(args.server_group));
  }
  if (args.stopped) args.req.power = api::PowerState::kStopped;
  for (const std::string& text : args.networks) {
    GP_ASSIGN_OR_RETURN(api::NicRequest nic, ParseNic(text));
    args.req.networks.push_back(std::move(nic));
  }
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

struct InterfaceArgs {
  std::string op;  // add | remove
  std::string vm;
  std::string network;  // add: NET[:FIXED_IP]
  std::string port;     // add: an existing port; remove: the NIC's port
};

Status Interface(Context& ctx, const InterfaceArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string vm_id, ctx.VmId(args.vm));
  if (args.op == "add") {
    if (args.network.empty() == args.port.empty()) return UsageError("give --network NET[:IP] or --port ID|NAME");
    api::NicRequest nic;
    if (!args.network.empty()) {
      GP_ASSIGN_OR_RETURN(nic, ParseNic(args.network));
    } else {
      GP_ASSIGN_OR_RETURN(nic.port, ctx.PortId(args.port));
    }
    GP_ASSIGN_OR_RETURN(api::Port port, ctx.Create([&](const api::WriteOptions& w) {
      return ctx.api().AttachInterface(vm_id, nic, w);
    }));
    ctx.PrintObject(port);
    return OkStatus();
  }
  if (args.op == "remove") {
    if (args.port.empty() || !args.network.empty()) return UsageError("give --port ID|NAME (the NIC's port)");
    GP_ASSIGN_OR_RETURN(std::string port_id, ctx.PortId(args.port));
    GP_RETURN_IF_ERROR(ctx.api().DetachInterface(vm_id, port_id));
    if (!ctx.json()) ctx.out() << "detached port " << port_id << " from vm " << vm_id << "\n";
    return OkStatus();
  }
  return UsageError("vm interface takes add or remove, got '" + args.op + "'");
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
        .RepeatedOption("--network", &a->networks, "NET[:IP]",
                        "a NIC with a new port on network NET (id or name), optionally with address IP; "
                        "repeat for eth1, eth2... (IP needs --count 1)")
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
  {
    auto a = std::make_shared<InterfaceArgs>();
    g.AddCommand("interface", "hot-attach (add) or detach (remove) a NIC of a VM")
        .Arg("add|remove", &a->op, "add a NIC, or remove one")
        .Arg("VM", &a->vm, "the VM (ID|NAME)")
        .Option("--network", &a->network, "NET[:IP]", "add: a new port on network NET, optionally with address IP")
        .Option("--port", &a->port, "ID|NAME", "add: an unbound port of the VM's department; remove: the NIC's port")
        .Run([a](Context& ctx) { return Interface(ctx, *a); });
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
