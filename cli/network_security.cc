// govpoolctl security-group|router|floating-ip ...: a department's security groups and their
// rules, its routers (gateway on an external network, subnet interfaces) and floating IPs
// (docs/networking.md, "External networks, security groups, routers and floating IPs").
#include <memory>

#include "cli/commands.h"
#include "cli/errors.h"
#include "common/ids.h"

namespace govpool::cli {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

// "tcp 22-22 from 10.0.0.0/8": one rule, for the group's table.
std::string DescribeRule(Context& ctx, const api::SecurityGroupRule& r) {
  std::string out = std::string(api::ToString(r.direction)) + " " + std::string(api::ToString(r.ethertype)) + " " +
                    std::string(api::ToString(r.protocol));
  if (r.port_range_min > 0) out += " " + std::to_string(r.port_range_min) + "-" + std::to_string(r.port_range_max);
  const std::string peer = !r.remote_group_id.empty()  ? "group " + ctx.SecurityGroupName(r.remote_group_id)
                           : !r.remote_ip_prefix.empty() ? r.remote_ip_prefix
                                                         : "any";
  out += (r.direction == api::RuleDirection::kIngress ? " from " : " to ") + peer;
  return out;
}

std::vector<Column<api::SecurityGroup>> GroupColumns(Context& ctx) {
  using G = api::SecurityGroup;
  return {
      {"ID", [](const G& g) { return g.meta.id; }},
      {"NAME", [](const G& g) { return g.name; }},
      {"DEPARTMENT", [&ctx](const G& g) { return ctx.DepartmentName(g.department_id); }},
      {"RULES", [](const G& g) { return std::to_string(g.rules.size()); }},
      {"PORTS", [](const G& g) { return std::to_string(g.ports); }},
      {"DESCRIPTION", [](const G& g) { return g.description; }, true},
  };
}

std::vector<Column<api::Router>> RouterColumns(Context& ctx) {
  using R = api::Router;
  return {
      {"ID", [](const R& r) { return r.meta.id; }},
      {"NAME", [](const R& r) { return r.name; }},
      {"DEPARTMENT", [&ctx](const R& r) { return ctx.DepartmentName(r.department_id); }},
      {"GATEWAY", [&ctx](const R& r) {
         return r.external_gateway.network_id.empty()
                    ? std::string("-")
                    : ctx.NetworkName(r.external_gateway.network_id) + " " + r.external_gateway.ip_address;
       }},
      {"SNAT", [](const R& r) { return r.external_gateway.network_id.empty() ? "-" : r.external_gateway.enable_snat ? "on" : "off"; }},
      {"SUBNETS", [&ctx](const R& r) {
         std::vector<std::string> names;
         for (const api::RouterInterface& i : r.interfaces) names.push_back(ctx.SubnetName(i.subnet_id));
         return Join(names);
       }},
  };
}

std::vector<Column<api::FloatingIp>> FloatingIpColumns(Context& ctx) {
  using F = api::FloatingIp;
  return {
      {"ID", [](const F& f) { return f.meta.id; }},
      {"ADDRESS", [](const F& f) { return f.floating_ip_address; }},
      {"NETWORK", [&ctx](const F& f) { return ctx.NetworkName(f.floating_network_id); }},
      {"PORT", [](const F& f) { return f.port_id; }},
      {"FIXED_IP", [](const F& f) { return f.fixed_ip_address; }},
      {"STATUS", [](const F& f) { return f.status; }},
      {"DEPARTMENT", [&ctx](const F& f) { return ctx.DepartmentName(f.department_id); }, true},
  };
}

// ---- security-group ----

struct GroupCreateArgs {
  api::CreateSecurityGroupRequest req;
  std::string department;
};

struct GroupListArgs {
  std::string department;
  std::int64_t page_size = kDefaultPageSize;
};

struct RuleAddArgs {
  std::string group;
  api::CreateSecurityGroupRuleRequest req;
  std::optional<api::RuleDirection> direction;
  std::optional<api::EtherType> ethertype;
  std::optional<api::RuleProtocol> protocol;
  std::string port;  // N or MIN-MAX
  std::string remote_group;
};

Status AddRule(Context& ctx, RuleAddArgs args) {
  GP_ASSIGN_OR_RETURN(std::string group_id, ctx.SecurityGroupId(args.group));
  if (args.direction) args.req.direction = *args.direction;
  if (args.ethertype) args.req.ethertype = *args.ethertype;
  if (args.protocol) args.req.protocol = *args.protocol;
  if (!args.port.empty()) {
    const std::size_t dash = args.port.find('-');
    try {
      args.req.port_range_min = std::stoll(args.port.substr(0, dash));
      args.req.port_range_max = dash == std::string::npos ? args.req.port_range_min : std::stoll(args.port.substr(dash + 1));
    } catch (const std::exception&) {
      return UsageError("--port must be N or MIN-MAX, got '" + args.port + "'");
    }
  }
  if (!args.remote_group.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.remote_group_id, ctx.SecurityGroupId(args.remote_group));
  }
  GP_ASSIGN_OR_RETURN(api::SecurityGroup g, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().AddSecurityGroupRule(group_id, args.req, w);
  }));
  if (ctx.json()) {
    ctx.PrintObject(g);
  } else if (!g.rules.empty()) {
    ctx.out() << "added rule " << g.rules.back().id << ": " << DescribeRule(ctx, g.rules.back()) << "\n";
  }
  return OkStatus();
}

Status ShowGroup(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.SecurityGroupId(ref));
  GP_ASSIGN_OR_RETURN(api::SecurityGroup g, ctx.Retried([&] { return ctx.api().GetSecurityGroup(id); }));
  ctx.PrintObject(g);
  if (!ctx.json()) {
    for (const api::SecurityGroupRule& r : g.rules) ctx.out() << "rule " << r.id << "  " << DescribeRule(ctx, r) << "\n";
  }
  return OkStatus();
}

// ---- router ----

struct RouterCreateArgs {
  api::CreateRouterRequest req;
  std::string department;
  std::string external_network;
  bool no_snat = false;
};

struct RouterUpdateArgs {
  std::string ref;
  std::optional<std::string> name;
  std::optional<std::string> external_network;  // "": remove the gateway
  bool no_snat = false;
};

struct RouterInterfaceArgs {
  std::string router;
  std::string subnet;
};

// ---- floating-ip ----

struct FloatingIpCreateArgs {
  api::CreateFloatingIpRequest req;
  std::string department;
  std::string network;
  std::string port;
};

// A floating IP by id or by its address.
Result<std::string> FloatingIpId(Context& ctx, const std::string& ref) {
  if (IsUuid(ref)) return ref;
  GP_ASSIGN_OR_RETURN(std::vector<api::FloatingIp> all,
                      ctx.ListAll<api::FloatingIp>(
                          [&](const api::FloatingIpQuery& q) { return ctx.api().ListFloatingIps(q); },
                          api::FloatingIpQuery{}));
  for (const api::FloatingIp& f : all) {
    if (f.floating_ip_address == ref) return f.meta.id;
  }
  return NotFound("no floating IP with address '" + ref + "' (or not visible to you)");
}

struct FloatingIpListArgs {
  std::string department;
  std::string port;
  std::int64_t page_size = kDefaultPageSize;
};

}  // namespace

void AddNetworkSecurityCommands(CommandLine& cli) {
  {
    Group& g = cli.AddGroup("security-group", "a department's allow rules for its ports' traffic");
    auto a = std::make_shared<GroupCreateArgs>();
    g.AddCommand("create", "create a security group: all egress, no ingress (quota security_groups)")
        .Arg("NAME", &a->req.name, "the group's name (not 'default')")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Option("--description", &a->req.description, "TEXT", "what it is for")
        .Run([a](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(a->req.department_id, ctx.DepartmentId(a->department));
          GP_ASSIGN_OR_RETURN(api::SecurityGroup sg, ctx.Create([&](const api::WriteOptions& w) {
            return ctx.api().CreateSecurityGroup(a->req, w);
          }));
          ctx.PrintObject(sg);
          return OkStatus();
        });
    auto l = std::make_shared<GroupListArgs>();
    g.AddCommand("list", "list security groups: rules and ports using them (every page)")
        .Option("--department", &l->department, "ID|NAME", "only this department's groups")
        .Option("--page-size", &l->page_size, "N", "groups per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) -> Status {
          api::SecurityGroupQuery query;
          if (!l->department.empty()) {
            GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(l->department));
          }
          query.limit = l->page_size;
          GP_ASSIGN_OR_RETURN(std::vector<api::SecurityGroup> items,
                              ctx.ListAll<api::SecurityGroup>(
                                  [&](const api::SecurityGroupQuery& q) { return ctx.api().ListSecurityGroups(q); },
                                  query));
          ctx.PrintList(items, GroupColumns(ctx));
          return OkStatus();
        });
    auto show = std::make_shared<std::string>();
    g.AddCommand("show", "show a security group and its rules")
        .Arg("ID|NAME", show.get(), "the security group")
        .Run([show](Context& ctx) { return ShowGroup(ctx, *show); });
    auto del = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a security group (refused while ports use it)")
        .Arg("ID|NAME", del.get(), "the security group")
        .Run([del](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.SecurityGroupId(*del));
          GP_RETURN_IF_ERROR(ctx.api().DeleteSecurityGroup(id));
          PrintDeleted(ctx, "security-group", id);
          return OkStatus();
        });
    auto r = std::make_shared<RuleAddArgs>();
    g.AddCommand("rule-add", "allow traffic: add a rule to a security group")
        .Arg("GROUP", &r->group, "the security group (ID|NAME)")
        .Choice("--direction", &r->direction, "ingress (default) or egress")
        .Choice("--ethertype", &r->ethertype, "IPv4 (default) or IPv6")
        .Choice("--protocol", &r->protocol, "any (default), tcp, udp or icmp")
        .Option("--port", &r->port, "N|MIN-MAX", "tcp/udp ports (default: all)")
        .Option("--remote-ip-prefix", &r->req.remote_ip_prefix, "A.B.C.D/P", "the peer's addresses (default: any)")
        .Option("--remote-group", &r->remote_group, "ID|NAME", "the peer: ports of this group of the department")
        .Option("--description", &r->req.description, "TEXT", "what it is for")
        .Run([r](Context& ctx) { return AddRule(ctx, *r); });
    auto rd = std::make_shared<std::pair<std::string, std::string>>();
    g.AddCommand("rule-delete", "delete a rule of a security group")
        .Arg("GROUP", &rd->first, "the security group (ID|NAME)")
        .Arg("RULE_ID", &rd->second, "the rule's id (security-group show lists them)")
        .Run([rd](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.SecurityGroupId(rd->first));
          GP_RETURN_IF_ERROR(ctx.api().DeleteSecurityGroupRule(id, rd->second));
          PrintDeleted(ctx, "rule", rd->second);
          return OkStatus();
        });
  }
  {
    Group& g = cli.AddGroup("router", "a department's routers: subnets behind them, a gateway to an external network");
    auto a = std::make_shared<RouterCreateArgs>();
    g.AddCommand("create", "create a router (quota routers)")
        .Arg("NAME", &a->req.name, "the router's name")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Option("--external-network", &a->external_network, "ID|NAME",
                "its gateway's external network (an address is allocated there)")
        .Flag("--no-snat", &a->no_snat, "no source NAT of the subnets behind it")
        .Run([a](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(a->req.department_id, ctx.DepartmentId(a->department));
          if (!a->external_network.empty()) {
            GP_ASSIGN_OR_RETURN(a->req.external_gateway.network_id, ctx.NetworkId(a->external_network));
          }
          a->req.external_gateway.enable_snat = !a->no_snat;
          GP_ASSIGN_OR_RETURN(api::Router r, ctx.Create([&](const api::WriteOptions& w) {
            return ctx.api().CreateRouter(a->req, w);
          }));
          ctx.PrintObject(r);
          return OkStatus();
        });
    auto l = std::make_shared<GroupListArgs>();
    g.AddCommand("list", "list routers: gateway, SNAT, subnets (every page)")
        .Option("--department", &l->department, "ID|NAME", "only this department's routers")
        .Option("--page-size", &l->page_size, "N", "routers per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) -> Status {
          api::RouterQuery query;
          if (!l->department.empty()) {
            GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(l->department));
          }
          query.limit = l->page_size;
          GP_ASSIGN_OR_RETURN(std::vector<api::Router> items,
                              ctx.ListAll<api::Router>(
                                  [&](const api::RouterQuery& q) { return ctx.api().ListRouters(q); }, query));
          ctx.PrintList(items, RouterColumns(ctx));
          return OkStatus();
        });
    auto show = std::make_shared<std::string>();
    g.AddCommand("show", "show a router")
        .Arg("ID|NAME", show.get(), "the router")
        .Run([show](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.RouterId(*show));
          GP_ASSIGN_OR_RETURN(api::Router r, ctx.Retried([&] { return ctx.api().GetRouter(id); }));
          ctx.PrintObject(r);
          return OkStatus();
        });
    auto u = std::make_shared<RouterUpdateArgs>();
    g.AddCommand("update", "rename a router, or set, change or remove its gateway")
        .Arg("ID|NAME", &u->ref, "the router")
        .Option("--name", &u->name, "NAME", "its new name")
        .Option("--external-network", &u->external_network, "ID|NAME",
                "the gateway's external network ('' removes the gateway)")
        .Flag("--no-snat", &u->no_snat, "with --external-network: no source NAT")
        .Run([u](Context& ctx) -> Status {
          if (!u->name && !u->external_network) return UsageError("nothing to change: give --name or --external-network");
          GP_ASSIGN_OR_RETURN(std::string id, ctx.RouterId(u->ref));
          api::PatchRouterRequest req;
          req.name = u->name;
          if (u->external_network) {
            api::RouterGatewayRequest gw;
            if (!u->external_network->empty()) {
              GP_ASSIGN_OR_RETURN(gw.network_id, ctx.NetworkId(*u->external_network));
            }
            gw.enable_snat = !u->no_snat;
            req.external_gateway = gw;
          }
          GP_ASSIGN_OR_RETURN(api::Router r, ctx.api().PatchRouter(id, req));
          ctx.PrintObject(r);
          return OkStatus();
        });
    auto add = std::make_shared<RouterInterfaceArgs>();
    g.AddCommand("add-interface", "attach a subnet: the router takes its gateway address")
        .Arg("ROUTER", &add->router, "the router (ID|NAME)")
        .Option("--subnet", &add->subnet, "ID|NAME", "a subnet of the router's department").Required()
        .Run([add](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.RouterId(add->router));
          api::RouterInterfaceRequest req;
          GP_ASSIGN_OR_RETURN(req.subnet_id, ctx.SubnetId(add->subnet));
          GP_ASSIGN_OR_RETURN(api::Router r, ctx.Create([&](const api::WriteOptions& w) {
            return ctx.api().AddRouterInterface(id, req, w);
          }));
          ctx.PrintObject(r);
          return OkStatus();
        });
    auto rm = std::make_shared<RouterInterfaceArgs>();
    g.AddCommand("remove-interface", "detach a subnet from the router")
        .Arg("ROUTER", &rm->router, "the router (ID|NAME)")
        .Option("--subnet", &rm->subnet, "ID|NAME", "the attached subnet").Required()
        .Run([rm](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.RouterId(rm->router));
          GP_ASSIGN_OR_RETURN(std::string subnet_id, ctx.SubnetId(rm->subnet));
          GP_ASSIGN_OR_RETURN(api::Router r, ctx.api().RemoveRouterInterface(id, subnet_id));
          ctx.PrintObject(r);
          return OkStatus();
        });
    auto del = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a router and its gateway (refused while subnets are attached)")
        .Arg("ID|NAME", del.get(), "the router")
        .Run([del](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, ctx.RouterId(*del));
          GP_RETURN_IF_ERROR(ctx.api().DeleteRouter(id));
          PrintDeleted(ctx, "router", id);
          return OkStatus();
        });
  }
  {
    Group& g = cli.AddGroup("floating-ip", "addresses of external networks mapped to ports behind a router");
    auto a = std::make_shared<FloatingIpCreateArgs>();
    g.AddCommand("create", "allocate a floating IP (quota floating_ips), optionally associated at once")
        .Option("--network", &a->network, "ID|NAME", "the external network").Required()
        .Option("--department", &a->department, "ID|NAME", "owning department (default: yours)")
        .Option("--address", &a->req.floating_ip_address, "A.B.C.D", "the address wanted (default: allocated)")
        .Option("--port", &a->port, "ID|NAME", "a port to associate it with")
        .Option("--fixed-ip", &a->req.fixed_ip_address, "A.B.C.D", "which of the port's addresses")
        .Option("--description", &a->req.description, "TEXT", "what it is for")
        .Run([a](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(a->req.floating_network_id, ctx.NetworkId(a->network));
          if (!a->department.empty()) {
            GP_ASSIGN_OR_RETURN(a->req.department_id, ctx.DepartmentId(a->department));
          }
          if (!a->port.empty()) {
            GP_ASSIGN_OR_RETURN(a->req.port_id, ctx.PortId(a->port));
          }
          GP_ASSIGN_OR_RETURN(api::FloatingIp f, ctx.Create([&](const api::WriteOptions& w) {
            return ctx.api().CreateFloatingIp(a->req, w);
          }));
          ctx.PrintObject(f);
          return OkStatus();
        });
    auto l = std::make_shared<FloatingIpListArgs>();
    g.AddCommand("list", "list floating IPs and what they map to (every page)")
        .Option("--department", &l->department, "ID|NAME", "only this department's")
        .Option("--port", &l->port, "ID|NAME", "only those associated with this port")
        .Option("--page-size", &l->page_size, "N", "floating IPs per request (1-1000, default 500)", 1, 1000)
        .Run([l](Context& ctx) -> Status {
          api::FloatingIpQuery query;
          if (!l->department.empty()) {
            GP_ASSIGN_OR_RETURN(query.department_id, ctx.DepartmentId(l->department));
          }
          if (!l->port.empty()) {
            GP_ASSIGN_OR_RETURN(query.port_id, ctx.PortId(l->port));
          }
          query.limit = l->page_size;
          GP_ASSIGN_OR_RETURN(std::vector<api::FloatingIp> items,
                              ctx.ListAll<api::FloatingIp>(
                                  [&](const api::FloatingIpQuery& q) { return ctx.api().ListFloatingIps(q); }, query));
          ctx.PrintList(items, FloatingIpColumns(ctx));
          return OkStatus();
        });
    auto show = std::make_shared<std::string>();
    g.AddCommand("show", "show a floating IP")
        .Arg("ID|ADDRESS", show.get(), "the floating IP")
        .Run([show](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, FloatingIpId(ctx, *show));
          GP_ASSIGN_OR_RETURN(api::FloatingIp f, ctx.Retried([&] { return ctx.api().GetFloatingIp(id); }));
          ctx.PrintObject(f);
          return OkStatus();
        });
    auto assoc = std::make_shared<std::pair<std::string, api::PatchFloatingIpRequest>>();
    g.AddCommand("associate", "map a floating IP to a port (its subnet must be behind a router with that gateway)")
        .Arg("ID|ADDRESS", &assoc->first, "the floating IP")
        .Option("--port", &assoc->second.port_id, "ID|NAME", "the port").Required()
        .Option("--fixed-ip", &assoc->second.fixed_ip_address, "A.B.C.D", "which of the port's addresses")
        .Run([assoc](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, FloatingIpId(ctx, assoc->first));
          api::PatchFloatingIpRequest req = assoc->second;
          GP_ASSIGN_OR_RETURN(req.port_id, ctx.PortId(req.port_id));
          GP_ASSIGN_OR_RETURN(api::FloatingIp f, ctx.api().PatchFloatingIp(id, req));
          ctx.PrintObject(f);
          return OkStatus();
        });
    auto dis = std::make_shared<std::string>();
    g.AddCommand("disassociate", "unmap a floating IP from its port")
        .Arg("ID|ADDRESS", dis.get(), "the floating IP")
        .Run([dis](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, FloatingIpId(ctx, *dis));
          GP_ASSIGN_OR_RETURN(api::FloatingIp f, ctx.api().PatchFloatingIp(id, {}));
          ctx.PrintObject(f);
          return OkStatus();
        });
    auto del = std::make_shared<std::string>();
    g.AddCommand("delete", "release a floating IP (its address is freed)")
        .Arg("ID|ADDRESS", del.get(), "the floating IP")
        .Run([del](Context& ctx) -> Status {
          GP_ASSIGN_OR_RETURN(std::string id, FloatingIpId(ctx, *del));
          GP_RETURN_IF_ERROR(ctx.api().DeleteFloatingIp(id));
          PrintDeleted(ctx, "floating-ip", id);
          return OkStatus();
        });
  }
}

}  // namespace govpool::cli
