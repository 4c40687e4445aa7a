// govpoolctl network|subnet|port ...: networks, their IPv4 subnets and the ports on them
// (docs/networking.md, "Networks (controller side)"). The controller allocates the ports'
// addresses and MACs; these commands show what it chose.
#include <functional>
#include <memory>

#include "cli/commands.h"
#include "cli/errors.h"

namespace govpool::cli {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<Column<api::Network>> NetworkColumns(Context& ctx) {
  using N = api::Network;
  return {
      {"ID", [](const N& n) { return n.meta.id; }},
      {"NAME", [](const N& n) { return n.name; }},
      {"DEPARTMENT", [&ctx](const N& n) { return n.shared ? "(shared)" : ctx.DepartmentName(n.department_id); }},
      {"MTU", [](const N& n) { return std::to_string(n.mtu); }},
      {"SUBNETS", [](const N& n) { return std::to_string(n.subnets); }},
      {"PORTS", [](const N& n) { return std::to_string(n.ports); }},
      {"STATUS", [](const N& n) { return n.status; }},
  };
}

std::vector<Column<api::Subnet>> SubnetColumns(Context& ctx) {
  using S = api::Subnet;
  return {
      {"ID", [](const S& s) { return s.meta.id; }},
      {"NAME", [](const S& s) { return s.name; }},
      {"NETWORK", [&ctx](const S& s) { return ctx.NetworkName(s.network_id); }},
      {"CIDR", [](const S& s) { return s.cidr; }},
      {"GATEWAY", [](const S& s) { return s.gateway_ip; }},
      {"USED_IPS", [](const S& s) { return std::to_string(s.used_ips); }},
      {"DHCP", [](const S& s) { return Bool(s.enable_dhcp); }},
      {"DNS", [](const S& s) { return Join(s.dns_servers); }, true},
      {"POOLS",
       [](const S& s) {
         std::vector<std::string> pools;
         for (const api::IpRange& r : s.allocation_pools) pools.push_back(r.start + "-" + r.end);
         return Join(pools);
       },
       true},
  };
}

std::vector<Column<api::Port>> PortColumns(Context& ctx) {
  using P = api::Port;
  return {
      {"ID", [](const P& p) { return p.meta.id; }},
      {"NAME", [](const P& p) { return p.name; }},
      {"NETWORK", [&ctx](const P& p) { return ctx.NetworkName(p.network_id); }},
      {"MAC", [](const P& p) { return p.mac_address; }},
      {"IPS",
       [](const P& p) {
         std::vector<std::string> ips;
         for (const api::FixedIp& ip : p.fixed_ips) ips.push_back(ip.ip_address);
         return Join(ips);
       }},
      {"DEVICE", [&ctx](const P& p) { return ctx.VmName(p.device_id); }},
      {"DEPARTMENT", [&ctx](const P& p) { return ctx.DepartmentName(p.department_id); }, true},
      {"STATUS", [](const P& p) { return p.status; }},
  };
}

// ---- network ----

struct NetworkCreateArgs {
  api::CreateNetworkRequest req;
  std::string department;
};

Status CreateNetwork(Context& ctx, NetworkCreateArgs args) {
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  }
  GP_ASSIGN_OR_RETURN(api::Network n, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateNetwork(args.req, w);
  }));
  ctx.PrintObject(n);
  return OkStatus();
}

struct NetworkListArgs {
  std::string department;
  std::int64_t page_size = kDefaultPageSize;
};

Status ListNetworks(Context& ctx, const NetworkListArgs& args) {
  api::NetworkQuery query;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Network> items,
                      ctx.ListAll<api::Network>(
                          [&](const api::NetworkQuery& q) { return ctx.api().ListNetworks(q); }, query));
  ctx.PrintList(items, NetworkColumns(ctx));
  return OkStatus();
}

// ---- subnet ----

struct SubnetCreateArgs {
  api::CreateSubnetRequest req;
  std::vector<std::string> pools;  // START-END
  bool no_dhcp = false;
};

Status CreateSubnet(Context& ctx, SubnetCreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.network_id, ctx.NetworkId(args.req.network_id));
  for (const std::string& p : args.pools) {
    const std::size_t dash = p.find('-');
    if (dash == std::string::npos) {
      return InvalidArgument("--pool '" + p + "': expected START-END").WithReason("BAD_ARGUMENT");
    }
    args.req.allocation_pools.push_back({p.substr(0, dash), p.substr(dash + 1)});
  }
  args.req.enable_dhcp = !args.no_dhcp;
  GP_ASSIGN_OR_RETURN(api::Subnet s, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateSubnet(args.req, w);
  }));
  ctx.PrintObject(s);
  return OkStatus();
}

struct SubnetListArgs {
  std::string network;
  std::int64_t page_size = kDefaultPageSize;
};

Status ListSubnets(Context& ctx, const SubnetListArgs& args) {
  api::SubnetQuery query;
  if (!args.network.empty()) {
    GP_ASSIGN_OR_RETURN(query.network_id, ctx.NetworkId(args.network));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Subnet> items,
                      ctx.ListAll<api::Subnet>(
                          [&](const api::SubnetQuery& q) { return ctx.api().ListSubnets(q); }, query));
  ctx.PrintList(items, SubnetColumns(ctx));
  return OkStatus();
}

// ---- port ----

struct PortCreateArgs {
  api::CreatePortRequest req;
  std::string department;
  std::string subnet;
  std::string ip;
  std::string vm;
};

Status CreatePort(Context& ctx, PortCreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.network_id, ctx.NetworkId(args.req.network_id));
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  }
  if (!args.vm.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.device_id, ctx.VmId(args.vm));
  }
  if (!args.subnet.empty() || !args.ip.empty()) {
    api::FixedIp ip;
    if (!args.subnet.empty()) {
      GP_ASSIGN_OR_RETURN(ip.subnet_id, ctx.SubnetId(args.subnet));
    }
    ip.ip_address = args.ip;
    args.req.fixed_ips.push_back(ip);
  }
  GP_ASSIGN_OR_RETURN(api::Port p, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreatePort(args.req, w);
  }));
  ctx.PrintObject(p);
  return OkStatus();
}

struct PortListArgs {
  std::string network;
  std::string vm;
  std::string department;
  std::int64_t page_size = kDefaultPageSize;
};

Status ListPorts(Context& ctx, const PortListArgs& args) {
  api::PortQuery query;
  if (!args.network.empty()) {
    GP_ASSIGN_OR_RETURN(query.network_id, ctx.NetworkId(args.network));
  }
  if (!args.vm.empty()) {
    GP_ASSIGN_OR_RETURN(query.device_id, ctx.VmId(args.vm));
  }
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(args.department));
  }
  query.limit = args.page_size;
  GP_ASSIGN_OR_RETURN(std::vector<api::Port> items,
                      ctx.ListAll<api::Port>([&](const api::PortQuery& q) { return ctx.api().ListPorts(q); }, query));
  ctx.PrintList(items, PortColumns(ctx));
  return OkStatus();
}

struct PortUpdateArgs {
  std::string ref;
  api::PatchPortRequest req;
  std::vector<std::string> groups;
  bool no_groups = false;
};

Status UpdatePort(Context& ctx, PortUpdateArgs args) {
  if (!args.groups.empty() && args.no_groups) {
    return UsageError("give --security-group or --no-security-groups, not both");
  }
  if (!args.groups.empty() || args.no_groups) {
    std::vector<std::string> ids;
    for (const std::string& g : args.groups) {
      GP_ASSIGN_OR_RETURN(std::string id, ctx.SecurityGroupId(g));
      ids.push_back(id);
    }
    args.req.security_group_ids = ids;
  }
  if (!args.req.name && !args.req.security_group_ids) {
    return UsageError("nothing to change: give --name, --security-group or --no-security-groups");
  }
  GP_ASSIGN_OR_RETURN(std::string id, ctx.PortId(args.ref));
  GP_ASSIGN_OR_RETURN(api::Port p, ctx.api().PatchPort(id, args.req));
  ctx.PrintObject(p);
  return OkStatus();
}

// show and delete of the three kinds.
template <class T>
void AddShowDelete(Group& g, const std::string& kind, Result<std::string> (Context::*resolve)(const std::string&),
                   Result<T> (api::Client::*get)(std::string_view),
                   std::function<Status(Context&, const std::string&)> remove, const std::string& delete_help) {
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a " + kind)
        .Arg("ID|NAME", ref.get(), "the " + kind)
        .Run([ref, resolve, get](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, (ctx.*resolve)(*ref));
          GP_ASSIGN_OR_RETURN(T value, ctx.Retried([&] { return (ctx.api().*get)(id); }));
          ctx.PrintObject(value);
          return OkStatus();
        });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", delete_help)
        .Arg("ID|NAME", ref.get(), "the " + kind)
        .Run([ref, resolve, remove, kind](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, (ctx.*resolve)(*ref));
          GP_RETURN_IF_ERROR(remove(ctx, id));
          if (!ctx.json()) ctx.out() << "deleted " << kind << " " << id << "\n";
          return OkStatus();
        });
  }
}

}  // namespace

void AddNetworkCommands(CommandLine& cli) {
  {
    Group& g = cli.AddGroup("network", "isolated layer-2 networks of a department, or shared ones (admins)");
    auto a = std::make_shared<NetworkCreateArgs>();
    g.AddCommand("create", "create a network (quota networks)")
        .Arg("NAME", &a->req.name, "the network's name")
        .Option("--department", &a->department, "ID|NAME", "the department that owns it")
        .Flag("--shared", &a->req.shared, "a shared network every department sees (admins; no --department)")
        .Flag("--external", &a->req.external,
              "an external (provider) network for router gateways and floating IPs (admins; no --department)")
        .Option("--physical-network", &a->req.physical_network, "NAME",
                "with --external: the host bridge mapping it is bridged to, e.g. physnet1")
        .Option("--mtu", &a->req.mtu, "N", "the MTU (default 1442: 1500 less the Geneve overhead)", 68, 9000)
        .Run([a](Context& ctx) { return CreateNetwork(ctx, *a); });
    auto l = std::make_shared<NetworkListArgs>();
    g.AddCommand("list", "list networks: department, MTU, subnet and port counts (every page)")
        .Option("--department", &l->department, "ID|NAME", "only this department's networks")
        .Option("--page-size", &l->page_size, "N", "networks per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) { return ListNetworks(ctx, *l); });
    AddShowDelete<api::Network>(
        g, "network", &Context::NetworkId, &api::Client::GetNetwork,
        [](Context& ctx, const std::string& id) { return ctx.api().DeleteNetwork(id); },
        "delete a network and its subnets (refused while ports are on it)");
  }
  {
    Group& g = cli.AddGroup("subnet", "IPv4 subnets of a network; the controller allocates their addresses");
    auto a = std::make_shared<SubnetCreateArgs>();
    g.AddCommand("create", "create an IPv4 subnet")
        .Arg("NAME", &a->req.name, "the subnet's name")
        .Option("--network", &a->req.network_id, "ID|NAME", "its network").Required()
        .Option("--cidr", &a->req.cidr, "A.B.C.D/P", "its network address and prefix (8..30)").Required()
        .Option("--gateway", &a->req.gateway_ip, "A.B.C.D", "the gateway (default: the first host)")
        .Option("--dns", &a->req.dns_servers, "A.B.C.D,...", "DNS servers")
        .Option("--pool", &a->pools, "START-END,...", "allocation pools (default: every host but the gateway)")
        .Flag("--no-dhcp", &a->no_dhcp, "no DHCP on this subnet")
        .Run([a](Context& ctx) { return CreateSubnet(ctx, *a); });
    auto l = std::make_shared<SubnetListArgs>();
    g.AddCommand("list", "list subnets: CIDR, gateway, used addresses (every page)")
        .Option("--network", &l->network, "ID|NAME", "only this network's subnets")
        .Option("--page-size", &l->page_size, "N", "subnets per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) { return ListSubnets(ctx, *l); });
    AddShowDelete<api::Subnet>(
        g, "subnet", &Context::SubnetId, &api::Client::GetSubnet,
        [](Context& ctx, const std::string& id) { return ctx.api().DeleteSubnet(id); },
        "delete a subnet (refused while ports hold addresses in it)");
  }
  {
    Group& g = cli.AddGroup("port", "ports (virtual NICs) on a network, with their MAC and addresses");
    auto a = std::make_shared<PortCreateArgs>();
    g.AddCommand("create", "create a port; the controller allocates its MAC and address (quota ports)")
        .Option("--network", &a->req.network_id, "ID|NAME", "its network").Required()
        .Option("--name", &a->req.name, "NAME", "the port's name")
        .Option("--department", &a->department, "ID|NAME", "on a shared network: the department it is for")
        .Option("--subnet", &a->subnet, "ID|NAME", "the subnet to take an address from (default: the first)")
        .Option("--ip", &a->ip, "A.B.C.D", "the address wanted (refused when in use)")
        .Option("--mac", &a->req.mac_address, "XX:XX:XX:XX:XX:XX", "the MAC address (default: generated)")
        .Option("--vm", &a->vm, "ID|NAME", "the VM it belongs to")
        .Run([a](Context& ctx) { return CreatePort(ctx, *a); });
    auto l = std::make_shared<PortListArgs>();
    g.AddCommand("list", "list ports: MAC, addresses, VM (every page)")
        .Option("--network", &l->network, "ID|NAME", "only this network's ports")
        .Option("--vm", &l->vm, "ID|NAME", "only this VM's ports")
        .Option("--department", &l->department, "ID|NAME", "only this department's ports")
        .Option("--page-size", &l->page_size, "N", "ports per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) { return ListPorts(ctx, *l); });
    auto u = std::make_shared<PortUpdateArgs>();
    g.AddCommand("update", "rename a port or set its security groups (a running VM's port follows)")
        .Arg("ID|NAME", &u->ref, "the port")
        .Option("--name", &u->req.name, "NAME", "its new name")
        .RepeatedOption("--security-group", &u->groups, "ID|NAME",
                        "a security group of the port's department (repeat for several)")
        .Flag("--no-security-groups", &u->no_groups, "in no security group: all its traffic is dropped")
        .Run([u](Context& ctx) { return UpdatePort(ctx, *u); });
    AddShowDelete<api::Port>(
        g, "port", &Context::PortId, &api::Client::GetPort,
        [](Context& ctx, const std::string& id) { return ctx.api().DeletePort(id); },
        "delete a port and free its addresses");
  }
}

}  // namespace govpool::cli
