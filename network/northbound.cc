#include "network/northbound.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace govpool::network {
namespace {

std::optional<std::uint32_t> ParseIpv4(const std::string& s) {
  std::uint32_t value = 0;
  int parts = 0;
  std::size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    std::uint32_t octet = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      octet = octet * 10 + static_cast<std::uint32_t>(s[i] - '0');
      if (++digits > 3 || octet > 255) return std::nullopt;
      ++i;
    }
    value = (value << 8) | octet;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return value;
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// Groups rows by key; each group sorted by uuid (the first is the one kept).
template <typename Row, typename Key>
std::map<std::string, std::vector<const Row*>> GroupBy(const std::vector<Row>& rows, Key key) {
  std::map<std::string, std::vector<const Row*>> groups;
  for (const Row& row : rows) groups[key(row)].push_back(&row);
  for (auto& [id, group] : groups) {
    std::sort(group.begin(), group.end(), [](const Row* a, const Row* b) { return a->uuid < b->uuid; });
  }
  return groups;
}

std::string OvnName(const std::string& prefix, const std::string& id) {
  std::string name = prefix;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    name += ok ? c : '_';
  }
  return name;
}

bool IsCidrText(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':' ||
           c == '/';
  });
}

// The ACL of one rule of group `group_id` (its Port_Group is `pg`), or nullopt when the rule
// cannot be written as a valid OVN match.
std::optional<AclRow> RuleAcl(const std::string& group_id, const std::string& pg, const SecurityGroupRule& rule,
                              const std::set<std::string>& groups) {
  std::string ip, icmp;
  if (rule.ethertype == "IPv4") {
    ip = "ip4";
    icmp = "icmp4";
  } else if (rule.ethertype == "IPv6") {
    ip = "ip6";
    icmp = "icmp6";
  } else {
    return std::nullopt;
  }
  const bool ingress = rule.direction == "ingress";
  if (!ingress && rule.direction != "egress") return std::nullopt;
  std::string match = (ingress ? "outport == @" : "inport == @") + pg + " && " + ip;
  const std::string peer = ip + (ingress ? ".src" : ".dst");
  if (!rule.remote_group_id.empty()) {
    if (groups.count(rule.remote_group_id) == 0) return std::nullopt;
    // The address set OVN keeps for every Port_Group: its ports' addresses.
    match += " && " + peer + " == $" + SecurityGroupPortGroupName(rule.remote_group_id) + "_" + ip;
  } else if (!rule.remote_cidr.empty()) {
    if (!IsCidrText(rule.remote_cidr)) return std::nullopt;
    match += " && " + peer + " == " + rule.remote_cidr;
  }
  if (rule.protocol == "tcp" || rule.protocol == "udp") {
    const std::string& l4 = rule.protocol;
    match += " && " + l4;
    // 0 (no port is 0) counts as unset, like the API's 0/0 for "every port".
    const std::optional<int> min = rule.port_min.value_or(0) > 0 ? rule.port_min : std::nullopt;
    const std::optional<int> max = rule.port_max.value_or(0) > 0 ? rule.port_max : std::nullopt;
    if (min && (!max || *max == *min)) {
      match += " && " + l4 + ".dst == " + std::to_string(*min);
    } else if (min || max) {
      match += " && " + l4 + ".dst >= " + std::to_string(min.value_or(1)) + " && " + l4 +
               ".dst <= " + std::to_string(max.value_or(65535));
    }
  } else if (rule.protocol == "icmp") {
    match += " && " + icmp;
    if (rule.port_min) match += " && " + icmp + ".type == " + std::to_string(*rule.port_min);
    if (rule.port_max) match += " && " + icmp + ".code == " + std::to_string(*rule.port_max);
  } else if (!rule.protocol.empty() && rule.protocol.size() <= 3 &&
             std::all_of(rule.protocol.begin(), rule.protocol.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const int number = std::stoi(rule.protocol);
    if (number > 255) return std::nullopt;
    match += " && ip.proto == " + std::to_string(number);
  } else if (rule.protocol != "any" && !rule.protocol.empty()) {
    return std::nullopt;
  }
  AclRow acl{.uuid = "",
             .direction = ingress ? "to-lport" : "from-lport",
             .priority = kAclPriorityAllow,
             .match = std::move(match),
             .action = "allow-related",
             .external_ids = {{kSecurityGroupIdKey, group_id}}};
  if (!rule.id.empty()) acl.external_ids[kSecurityGroupRuleIdKey] = rule.id;
  return acl;
}

}  // namespace

std::string SecurityGroupPortGroupName(const std::string& security_group_id) {
  return OvnName("pg_", security_group_id);
}

std::string DropPortGroupName(const std::string& network_id) { return OvnName("pg_drop_", network_id); }

NorthboundChanges NorthboundPlan::Changes() const {
  NorthboundChanges c;
  c.switches = {static_cast<int>(create_switches.size()), static_cast<int>(update_switches.size()),
                static_cast<int>(delete_switches.size())};
  c.dhcp_options = {static_cast<int>(create_dhcp_options.size()), static_cast<int>(update_dhcp_options.size()),
                    static_cast<int>(delete_dhcp_options.size())};
  c.ports = {static_cast<int>(create_ports.size()), static_cast<int>(update_ports.size()),
             static_cast<int>(delete_ports.size())};
  c.port_groups = {static_cast<int>(create_port_groups.size()), static_cast<int>(update_port_groups.size()),
                   static_cast<int>(delete_port_groups.size())};
  c.acls.deleted = dropped_acls;
  for (const auto* groups : {&create_port_groups, &update_port_groups}) {
    for (const PortGroupRow& g : *groups) {
      c.acls.created += static_cast<int>(std::count_if(g.acls.begin(), g.acls.end(), [](const AclRow& a) { return a.uuid.empty(); }));
    }
  }
  for (const PortGroupRow& g : delete_port_groups) c.acls.deleted += static_cast<int>(g.acls.size());
  c.routers = {static_cast<int>(create_routers.size()), static_cast<int>(update_routers.size()),
               static_cast<int>(delete_routers.size())};
  c.router_ports.deleted = dropped_router_ports;
  c.nat.deleted = dropped_nat;
  c.static_routes.deleted = dropped_static_routes;
  auto created = [](const auto& rows) {
    return static_cast<int>(std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r.uuid.empty(); }));
  };
  for (const auto* routers : {&create_routers, &update_routers}) {
    for (const RouterRow& r : *routers) {
      c.router_ports.created += created(r.ports);
      c.router_ports.updated +=
          static_cast<int>(std::count_if(r.ports.begin(), r.ports.end(), [](const RouterPortRow& p) { return p.changed; }));
      c.nat.created += created(r.nat);
      c.static_routes.created += created(r.static_routes);
    }
  }
  for (const RouterRow& r : delete_routers) {
    c.router_ports.deleted += static_cast<int>(r.ports.size());
    c.nat.deleted += static_cast<int>(r.nat.size());
    c.static_routes.deleted += static_cast<int>(r.static_routes.size());
  }
  return c;
}

bool Ipv4InCidr(const std::string& ip, const std::string& cidr) {
  const std::size_t slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  const auto addr = ParseIpv4(ip);
  const auto net = ParseIpv4(cidr.substr(0, slash));
  const std::string len_text = cidr.substr(slash + 1);
  if (!addr || !net || len_text.empty() || len_text.size() > 2 ||
      !std::all_of(len_text.begin(), len_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int len = std::stoi(len_text);
  if (len > 32) return false;
  const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  return (*addr & mask) == (*net & mask);
}

std::string ServerMac(const std::string& subnet_id) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (unsigned char c : subnet_id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>((h >> 32) & 0xff),
                static_cast<unsigned>((h >> 24) & 0xff), static_cast<unsigned>((h >> 16) & 0xff),
                static_cast<unsigned>((h >> 8) & 0xff), static_cast<unsigned>(h & 0xff));
  return buf;
}

NorthboundState DesiredRows(const DesiredNetworks& desired) {
  NorthboundState rows;
  std::map<std::string, const LogicalNetwork*> networks;
  for (const LogicalNetwork& n : desired.networks) {
    if (!networks.emplace(n.id, &n).second) continue;  // a repeated id: the first wins
    rows.switches.push_back(SwitchRow{.uuid = "",
                                      .network_id = n.id,
                                      .name = "govpool-" + n.id,
                                      .external_ids = {{kNetworkIdKey, n.id}, {kNetworkNameKey, n.name}}});
    for (const LogicalSubnet& s : n.subnets) {
      if (!s.enable_dhcp) continue;
      DhcpOptionsRow d{.uuid = "",
                       .subnet_id = s.id,
                       .network_id = n.id,
                       .cidr = s.cidr,
                       .options = {{"server_mac", ServerMac(s.id)}, {"lease_time", std::to_string(kDhcpLeaseTimeS)}},
                       .external_ids = {{kSubnetIdKey, s.id}, {kNetworkIdKey, n.id}}};
      if (!s.gateway_ip.empty()) {
        d.options["server_id"] = s.gateway_ip;
        d.options["router"] = s.gateway_ip;
      }
      if (!s.dns_servers.empty()) d.options["dns_server"] = "{" + Join(s.dns_servers, ", ") + "}";
      if (n.mtu > 0) d.options["mtu"] = std::to_string(n.mtu);
      rows.dhcp_options.push_back(std::move(d));
    }
  }
  // Ports that stand for a router's or a floating IP's address are not VM ports: the router's
  // own rows carry those addresses (seen_ports holds them from the start).
  std::set<std::string> seen_ports;
  for (const LogicalRouter& r : desired.routers) {
    for (const RouterInterface& i : r.interfaces) seen_ports.insert(i.port_id);
    if (r.gateway) seen_ports.insert(r.gateway->port_id);
    for (const FloatingIp& f : r.floating_ips) seen_ports.insert(f.floating_port_id);
  }
  seen_ports.erase("");
  for (const LogicalPort& p : desired.ports) {
    auto net = networks.find(p.network_id);
    if (net == networks.end() || !seen_ports.insert(p.id).second) continue;
    std::vector<std::string> words{p.mac};
    words.insert(words.end(), p.ips.begin(), p.ips.end());
    PortRow row{.uuid = "",
                .port_id = p.id,
                .network_id = p.network_id,
                .name = p.id,
                .addresses = {Join(words, " ")},
                .port_security = {Join(words, " ")},
                .enabled = p.enabled,
                .external_ids = {{kPortIdKey, p.id}, {kNetworkIdKey, p.network_id}},
                .switch_uuid = "",
                .dhcpv4_options_uuid = "",
                .dhcp_subnet_id = "",
                .type = "",
                .options = {}};
    for (const LogicalSubnet& s : net->second->subnets) {
      if (!s.enable_dhcp) continue;
      if (std::any_of(p.ips.begin(), p.ips.end(), [&](const std::string& ip) { return Ipv4InCidr(ip, s.cidr); })) {
        row.dhcp_subnet_id = s.id;
        break;
      }
    }
    rows.ports.push_back(std::move(row));
  }

  // Provider networks: a localnet port each.
  for (const auto& [id, n] : networks) {
    if (n->physical_network.empty()) continue;
    const std::string name = "ln-" + id;
    rows.ports.push_back(PortRow{.uuid = "",
                                 .port_id = name,
                                 .network_id = id,
                                 .name = name,
                                 .addresses = {"unknown"},
                                 .port_security = {},
                                 .enabled = true,
                                 .external_ids = {{kSwitchPortKey, name}, {kNetworkIdKey, id}},
                                 .switch_uuid = "",
                                 .dhcpv4_options_uuid = "",
                                 .dhcp_subnet_id = "",
                                 .type = "localnet",
                                 .options = {{"network_name", n->physical_network}}});
  }

  // Routers: a Logical_Router each, a router port per interface (and the gateway), and in the
  // network's switch a router-type port peering with it.
  std::set<std::string> seen_routers;
  for (const LogicalRouter& r : desired.routers) {
    if (!seen_routers.insert(r.id).second) continue;
    RouterRow router{.uuid = "",
                     .router_id = r.id,
                     .name = "govpool-" + r.id,
                     .external_ids = {{kRouterIdKey, r.id}, {kRouterNameKey, r.name}},
                     .ports = {},
                     .nat = {},
                     .static_routes = {}};
    auto leg = [&](const std::string& suffix, const std::string& network_id, const std::string& ip, int prefix,
                   const std::string& mac, StringMap ids) {
      const std::string lrp = "lrp-" + r.id + "-" + suffix, lsp = "rp-" + r.id + "-" + suffix;
      ids[kRouterIdKey] = r.id;
      ids[kNetworkIdKey] = network_id;
      router.ports.push_back(RouterPortRow{.uuid = "",
                                           .name = lrp,
                                           .mac = mac,
                                           .networks = {ip + "/" + std::to_string(prefix)},
                                           .external_ids = std::move(ids),
                                           .gateway_chassis = {},
                                           .changed = false});
      rows.ports.push_back(PortRow{.uuid = "",
                                   .port_id = lsp,
                                   .network_id = network_id,
                                   .name = lsp,
                                   .addresses = {"router"},
                                   .port_security = {},
                                   .enabled = true,
                                   .external_ids = {{kSwitchPortKey, lsp}, {kNetworkIdKey, network_id}, {kRouterIdKey, r.id}},
                                   .switch_uuid = "",
                                   .dhcpv4_options_uuid = "",
                                   .dhcp_subnet_id = "",
                                   .type = "router",
                                   .options = {{"router-port", lrp}}});
    };
    std::set<std::string> seen_subnets;
    for (const RouterInterface& i : r.interfaces) {
      if (networks.count(i.network_id) == 0 || !seen_subnets.insert(i.subnet_id).second) continue;
      leg(i.subnet_id, i.network_id, i.ip, i.prefix, i.mac, {{kSubnetIdKey, i.subnet_id}});
    }
    if (r.gateway && networks.count(r.gateway->network_id) > 0) {
      const RouterGateway& g = *r.gateway;
      leg("gw", g.network_id, g.ip, g.prefix, g.mac, {});
      RouterPortRow& gw = router.ports.back();
      for (std::size_t i = 0; i < g.gateway_chassis.size(); ++i) {
        gw.gateway_chassis.push_back(GatewayChassisRow{.uuid = "",
                                                       .name = gw.name + "-" + g.gateway_chassis[i],
                                                       .chassis_name = g.gateway_chassis[i],
                                                       .priority = static_cast<int>(g.gateway_chassis.size() - i)});
      }
      std::sort(gw.gateway_chassis.begin(), gw.gateway_chassis.end(),
                [](const GatewayChassisRow& a, const GatewayChassisRow& b) { return a.name < b.name; });
      const StringMap ids{{kRouterIdKey, r.id}};
      if (!g.nexthop.empty()) {
        router.static_routes.push_back(
            StaticRouteRow{.uuid = "", .ip_prefix = "0.0.0.0/0", .nexthop = g.nexthop, .external_ids = ids});
      }
      if (g.snat) {
        for (const std::string& cidr : std::set<std::string>(g.snat_cidrs.begin(), g.snat_cidrs.end())) {
          router.nat.push_back(NatRow{.uuid = "", .type = "snat", .external_ip = g.ip, .logical_ip = cidr,
                                      .logical_port = "", .external_mac = "", .external_ids = ids});
        }
      }
      std::set<std::string> seen_fips;
      for (const FloatingIp& f : r.floating_ips) {
        if (!seen_fips.insert(f.id).second) continue;
        const bool distributed = !f.external_mac.empty() && !f.logical_port.empty();
        router.nat.push_back(NatRow{.uuid = "",
                                    .type = "dnat_and_snat",
                                    .external_ip = f.external_ip,
                                    .logical_ip = f.internal_ip,
                                    .logical_port = distributed ? f.logical_port : "",
                                    .external_mac = distributed ? f.external_mac : "",
                                    .external_ids = {{kRouterIdKey, r.id}, {kFloatingIpIdKey, f.id}}});
      }
    }
    std::sort(router.ports.begin(), router.ports.end(),
              [](const RouterPortRow& a, const RouterPortRow& b) { return a.name < b.name; });
    rows.routers.push_back(std::move(router));
  }

  // Security groups: a Port_Group each, and one drop Port_Group per network with ports in any.
  std::map<std::string, std::vector<std::string>> members, drop_members;  // group / network id -> port ids
  {
    std::map<std::string, const LogicalPort*> port_by_id;  // the first of a repeated id, as above
    for (const LogicalPort& p : desired.ports) port_by_id.emplace(p.id, &p);
    for (const PortRow& row : rows.ports) {
      if (!row.type.empty()) continue;  // a router's or a localnet port
      const LogicalPort& p = *port_by_id.at(row.port_id);
      if (p.security_group_ids.empty()) continue;
      drop_members[p.network_id].push_back(p.id);
      for (const std::string& g : std::set<std::string>(p.security_group_ids.begin(), p.security_group_ids.end())) {
        members[g].push_back(p.id);
      }
    }
  }
  std::set<std::string> groups;
  for (const LogicalSecurityGroup& g : desired.security_groups) groups.insert(g.id);
  std::set<std::string> seen_groups;
  for (const LogicalSecurityGroup& g : desired.security_groups) {
    if (!seen_groups.insert(g.id).second) continue;
    const std::string pg = SecurityGroupPortGroupName(g.id);
    PortGroupRow row{.uuid = "",
                     .key = "sg:" + g.id,
                     .name = pg,
                     .external_ids = {{kSecurityGroupIdKey, g.id}, {kSecurityGroupNameKey, g.name}},
                     .port_ids = members[g.id],
                     .port_uuids = {},
                     .acls = {}};
    std::sort(row.port_ids.begin(), row.port_ids.end());
    for (const SecurityGroupRule& rule : g.rules) {
      std::optional<AclRow> acl = RuleAcl(g.id, pg, rule, groups);
      if (acl && std::none_of(row.acls.begin(), row.acls.end(), [&](const AclRow& a) { return a.SameContent(*acl); })) {
        row.acls.push_back(std::move(*acl));
      }
    }
    rows.port_groups.push_back(std::move(row));
  }
  for (auto& [network_id, ports] : drop_members) {
    const std::string pg = DropPortGroupName(network_id);
    const StringMap ids{{kDropNetworkIdKey, network_id}};
    auto acl = [&](const char* direction, int priority, std::string match, const char* action) {
      return AclRow{.uuid = "", .direction = direction, .priority = priority, .match = std::move(match),
                    .action = action, .external_ids = ids};
    };
    std::sort(ports.begin(), ports.end());
    rows.port_groups.push_back(PortGroupRow{
        .uuid = "",
        .key = "drop:" + network_id,
        .name = pg,
        .external_ids = ids,
        .port_ids = std::move(ports),
        .port_uuids = {},
        .acls = {acl("from-lport", kAclPriorityDrop, "inport == @" + pg + " && ip", "drop"),
                 acl("to-lport", kAclPriorityDrop, "outport == @" + pg + " && ip", "drop"),
                 acl("from-lport", kAclPriorityAllow, "inport == @" + pg + " && udp && udp.src == 68 && udp.dst == 67",
                     "allow")}});
  }
  return rows;
}

NorthboundPlan Plan(const NorthboundState& desired, const NorthboundState& actual) {
  NorthboundPlan plan;

  // Logical_Switch, by network id. kept_switch: network id -> the _uuid kept ("" = created).
  std::map<std::string, std::string> kept_switch;
  {
    auto groups = GroupBy(actual.switches, [](const SwitchRow& r) { return r.network_id; });
    std::set<std::string> wanted;
    for (const SwitchRow& want : desired.switches) {
      if (!wanted.insert(want.network_id).second) continue;
      auto it = groups.find(want.network_id);
      if (it == groups.end()) {
        plan.create_switches.push_back(want);
        kept_switch[want.network_id] = "";
        continue;
      }
      const SwitchRow& have = *it->second.front();
      kept_switch[want.network_id] = have.uuid;
      if (have.name != want.name || have.external_ids != want.external_ids) {
        SwitchRow update = want;
        update.uuid = have.uuid;
        plan.update_switches.push_back(std::move(update));
      }
    }
    for (const auto& [id, group] : groups) {
      const bool keep_first = wanted.count(id) > 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_switches.push_back(*group[i]);
    }
  }

  // DHCP_Options, by subnet id. kept_dhcp: subnet id -> the _uuid kept ("" = created).
  std::map<std::string, std::string> kept_dhcp;
  {
    auto groups = GroupBy(actual.dhcp_options, [](const DhcpOptionsRow& r) { return r.subnet_id; });
    std::set<std::string> wanted;
    for (const DhcpOptionsRow& want : desired.dhcp_options) {
      if (!wanted.insert(want.subnet_id).second) continue;
      auto it = groups.find(want.subnet_id);
      if (it == groups.end()) {
        plan.create_dhcp_options.push_back(want);
        kept_dhcp[want.subnet_id] = "";
        continue;
      }
      const DhcpOptionsRow& have = *it->second.front();
      kept_dhcp[want.subnet_id] = have.uuid;
      if (have.cidr != want.cidr || have.options != want.options || have.external_ids != want.external_ids ||
          have.network_id != want.network_id) {
        DhcpOptionsRow update = want;
        update.uuid = have.uuid;
        plan.update_dhcp_options.push_back(std::move(update));
      }
    }
    for (const auto& [id, group] : groups) {
      const bool keep_first = wanted.count(id) > 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_dhcp_options.push_back(*group[i]);
    }
  }

  // Logical_Switch_Port, by port id. kept_port: port id -> the _uuid kept ("" = created).
  std::map<std::string, std::string> kept_port;
  {
    auto groups = GroupBy(actual.ports, [](const PortRow& r) { return r.port_id; });
    std::set<std::string> wanted;
    std::set<std::string> recreated;  // port ids whose kept row is deleted and created again
    for (const PortRow& desired_port : desired.ports) {
      auto sw = kept_switch.find(desired_port.network_id);
      if (sw == kept_switch.end() || !wanted.insert(desired_port.port_id).second) continue;
      PortRow want = desired_port;
      want.switch_uuid = sw->second;
      want.dhcpv4_options_uuid = "";
      if (!want.dhcp_subnet_id.empty()) {
        auto d = kept_dhcp.find(want.dhcp_subnet_id);
        if (d == kept_dhcp.end()) {
          want.dhcp_subnet_id.clear();  // its subnet has no DHCP_Options row
        } else {
          want.dhcpv4_options_uuid = d->second;
        }
      }
      auto it = groups.find(want.port_id);
      // Created in place when missing, or when it is not in its network's (kept) switch: a new
      // switch's ports are all new; a port in the wrong switch moves by delete + create.
      if (it == groups.end() || want.switch_uuid.empty() || it->second.front()->switch_uuid != want.switch_uuid) {
        if (it != groups.end()) recreated.insert(want.port_id);
        kept_port[want.port_id] = "";
        plan.create_ports.push_back(std::move(want));
        continue;
      }
      const PortRow& have = *it->second.front();
      kept_port[want.port_id] = have.uuid;
      const bool dhcp_differs = want.dhcpv4_options_uuid.empty()
                                    ? (!want.dhcp_subnet_id.empty() || !have.dhcpv4_options_uuid.empty())
                                    : have.dhcpv4_options_uuid != want.dhcpv4_options_uuid;
      if (have.name != want.name || have.addresses != want.addresses || have.port_security != want.port_security ||
          have.enabled != want.enabled || have.external_ids != want.external_ids ||
          have.network_id != want.network_id || dhcp_differs || have.type != want.type || have.options != want.options) {
        want.uuid = have.uuid;
        plan.update_ports.push_back(std::move(want));
      }
    }
    for (const auto& [id, group] : groups) {
      const bool keep_first = wanted.count(id) > 0 && recreated.count(id) == 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_ports.push_back(*group[i]);
    }
  }

  // Port_Group, by key; its ACLs by content.
  {
    auto groups = GroupBy(actual.port_groups, [](const PortGroupRow& r) { return r.key; });
    std::set<std::string> wanted;
    for (const PortGroupRow& desired_group : desired.port_groups) {
      if (!wanted.insert(desired_group.key).second) continue;
      PortGroupRow want = desired_group;
      want.port_ids.clear();
      want.port_uuids.clear();
      bool new_member = false;
      for (const std::string& id : desired_group.port_ids) {
        auto k = kept_port.find(id);
        if (k == kept_port.end()) continue;  // not a port of a desired network
        want.port_ids.push_back(id);
        want.port_uuids.push_back(k->second);
        new_member = new_member || k->second.empty();
      }
      auto it = groups.find(want.key);
      if (it == groups.end()) {
        plan.create_port_groups.push_back(std::move(want));
        continue;
      }
      const PortGroupRow& have = *it->second.front();
      std::vector<bool> kept_acl(have.acls.size(), false);
      bool new_acl = false;
      for (AclRow& acl : want.acls) {
        for (std::size_t i = 0; i < have.acls.size(); ++i) {
          if (!kept_acl[i] && have.acls[i].SameContent(acl)) {
            kept_acl[i] = true;
            acl.uuid = have.acls[i].uuid;
            break;
          }
        }
        new_acl = new_acl || acl.uuid.empty();
      }
      const int dropped = static_cast<int>(std::count(kept_acl.begin(), kept_acl.end(), false));
      std::vector<std::string> want_members = want.port_uuids, have_members = have.port_uuids;
      std::sort(want_members.begin(), want_members.end());
      std::sort(have_members.begin(), have_members.end());
      if (have.name != want.name || have.external_ids != want.external_ids || new_member ||
          want_members != have_members || new_acl || dropped > 0) {
        want.uuid = have.uuid;
        plan.dropped_acls += dropped;
        plan.update_port_groups.push_back(std::move(want));
      }
    }
    for (const auto& [key, group] : groups) {
      const bool keep_first = wanted.count(key) > 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_port_groups.push_back(*group[i]);
    }
  }

  // Logical_Router, by router id; its router ports by name, NAT and routes by content.
  {
    auto groups = GroupBy(actual.routers, [](const RouterRow& r) { return r.router_id; });
    std::set<std::string> wanted;
    for (const RouterRow& desired_router : desired.routers) {
      if (!wanted.insert(desired_router.router_id).second) continue;
      auto it = groups.find(desired_router.router_id);
      if (it == groups.end()) {
        plan.create_routers.push_back(desired_router);
        continue;
      }
      RouterRow want = desired_router;
      const RouterRow& have = *it->second.front();
      want.uuid = have.uuid;
      bool differs = have.name != want.name || have.external_ids != want.external_ids;
      std::map<std::string, const RouterPortRow*> have_ports;
      for (const RouterPortRow& p : have.ports) have_ports.emplace(p.name, &p);
      int kept_ports = 0;
      for (RouterPortRow& p : want.ports) {
        auto h = have_ports.find(p.name);
        if (h == have_ports.end()) {
          differs = true;
          continue;
        }
        ++kept_ports;
        p.uuid = h->second->uuid;
        // Gateway chassis by name: kept when equal, else written (a new row replaces the old).
        std::map<std::string, const GatewayChassisRow*> have_gc;
        for (const GatewayChassisRow& g : h->second->gateway_chassis) have_gc.emplace(g.name, &g);
        for (GatewayChassisRow& g : p.gateway_chassis) {
          auto hg = have_gc.find(g.name);
          if (hg != have_gc.end() && hg->second->SameContent(g)) g.uuid = hg->second->uuid;
        }
        p.changed = !p.SameContent(*h->second);
        differs = differs || p.changed;
      }
      const int dropped_ports = static_cast<int>(have.ports.size()) - kept_ports;
      auto match_by_content = [&](auto& want_rows, const auto& have_rows) {
        std::vector<bool> kept(have_rows.size(), false);
        for (auto& row : want_rows) {
          for (std::size_t i = 0; i < have_rows.size(); ++i) {
            if (!kept[i] && have_rows[i].SameContent(row)) {
              kept[i] = true;
              row.uuid = have_rows[i].uuid;
              break;
            }
          }
          differs = differs || row.uuid.empty();
        }
        const int dropped = static_cast<int>(std::count(kept.begin(), kept.end(), false));
        differs = differs || dropped > 0;
        return dropped;
      };
      const int dropped_nat = match_by_content(want.nat, have.nat);
      const int dropped_routes = match_by_content(want.static_routes, have.static_routes);
      if (differs || dropped_ports > 0) {
        plan.dropped_router_ports += dropped_ports;
        plan.dropped_nat += dropped_nat;
        plan.dropped_static_routes += dropped_routes;
        plan.update_routers.push_back(std::move(want));
      }
    }
    for (const auto& [id, group] : groups) {
      const bool keep_first = wanted.count(id) > 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_routers.push_back(*group[i]);
    }
  }
  return plan;
}

}  // namespace govpool::network
