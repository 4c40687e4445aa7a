#include "controller/network_desired.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <utility>

#include "controller/state.h"

namespace govpool::controller {
namespace nb = ::govpool::network;

namespace {

// The prefix length of "a.b.c.d/nn" (0 when there is none).
int PrefixOf(const std::string& cidr) {
  const auto slash = cidr.find('/');
  int prefix = 0;
  if (slash == std::string::npos) return 0;
  std::from_chars(cidr.data() + slash + 1, cidr.data() + cidr.size(), prefix);
  return prefix;
}

// A port that is not a switch port of its own: the router (or its NAT) stands for it.
bool IsRouterOwned(const api::Port& p) {
  return p.device_owner == "router_interface" || p.device_owner == "router_gateway" ||
         p.device_owner == "floating_ip";
}

template <typename T>
std::map<std::string, const T*> ById(const std::vector<const T*>& records) {
  std::map<std::string, const T*> by_id;
  for (const T* r : records) by_id.emplace(r->meta.id, r);
  return by_id;
}

nb::SecurityGroupRule TranslateRule(const api::SecurityGroupRule& r) {
  nb::SecurityGroupRule rule;
  rule.id = r.id;
  rule.direction = std::string(api::ToString(r.direction));
  rule.ethertype = std::string(api::ToString(r.ethertype));
  rule.protocol = std::string(api::ToString(r.protocol));
  if (r.protocol == api::RuleProtocol::kTcp || r.protocol == api::RuleProtocol::kUdp) {
    if (r.port_range_min > 0) rule.port_min = static_cast<int>(r.port_range_min);
    if (r.port_range_max > 0) rule.port_max = static_cast<int>(r.port_range_max);
  }
  rule.remote_cidr = r.remote_ip_prefix;
  rule.remote_group_id = r.remote_group_id;
  return rule;
}

}  // namespace

nb::DesiredNetworks TranslateNetworks(const NetworkRecords& records, const GatewayChassis& gateway_chassis) {
  const auto networks = ById(records.networks);
  const auto subnets = ById(records.subnets);
  const auto ports = ById(records.ports);
  nb::DesiredNetworks desired;

  std::map<std::string, std::vector<const api::Subnet*>> subnets_of;
  for (const auto& [id, sn] : subnets) subnets_of[sn->network_id].push_back(sn);
  for (const auto& [id, n] : networks) {
    nb::LogicalNetwork net;
    net.id = id;
    net.name = n->name;
    net.mtu = static_cast<int>(n->mtu);
    if (n->external) net.physical_network = n->physical_network;
    for (const api::Subnet* sn : subnets_of[id]) {
      nb::LogicalSubnet subnet;
      subnet.id = sn->meta.id;
      subnet.cidr = sn->cidr;
      subnet.gateway_ip = sn->gateway_ip;
      subnet.dns_servers = sn->dns_servers;
      subnet.enable_dhcp = sn->enable_dhcp;
      net.subnets.push_back(std::move(subnet));
    }
    desired.networks.push_back(std::move(net));
  }

  desired.ports.reserve(ports.size());
  for (const auto& [id, p] : ports) {
    if (IsRouterOwned(*p)) continue;
    nb::LogicalPort port;
    port.id = id;
    port.network_id = p->network_id;
    port.mac = p->mac_address;
    for (const api::FixedIp& ip : p->fixed_ips) port.ips.push_back(ip.ip_address);
    port.security_group_ids = p->security_group_ids;
    std::sort(port.security_group_ids.begin(), port.security_group_ids.end());
    desired.ports.push_back(std::move(port));
  }

  for (const auto& [id, g] : ById(records.security_groups)) {
    nb::LogicalSecurityGroup group;
    group.id = id;
    group.name = g->name;
    for (const api::SecurityGroupRule& r : g->rules) group.rules.push_back(TranslateRule(r));
    desired.security_groups.push_back(std::move(group));
  }

  std::map<std::string, std::vector<const api::FloatingIp*>> floating_of;
  for (const auto& [id, f] : ById(records.floating_ips)) {
    if (!f->port_id.empty() && !f->router_id.empty()) floating_of[f->router_id].push_back(f);
  }
  for (const auto& [id, r] : ById(records.routers)) {
    nb::LogicalRouter router;
    router.id = id;
    router.name = r->name;
    std::vector<std::string> inside_cidrs;
    for (const api::RouterInterface& i : r->interfaces) {
      auto sn = subnets.find(i.subnet_id);
      if (sn == subnets.end()) continue;
      nb::RouterInterface iface;
      iface.subnet_id = i.subnet_id;
      iface.network_id = sn->second->network_id;
      iface.ip = i.ip_address;
      iface.prefix = PrefixOf(sn->second->cidr);
      iface.port_id = i.port_id;
      if (auto port = ports.find(i.port_id); port != ports.end()) iface.mac = port->second->mac_address;
      inside_cidrs.push_back(sn->second->cidr);
      router.interfaces.push_back(std::move(iface));
    }
    const api::RouterGateway& gw = r->external_gateway;
    if (!gw.network_id.empty() && !gw.ip_address.empty()) {
      nb::RouterGateway gateway;
      gateway.network_id = gw.network_id;
      gateway.ip = gw.ip_address;
      gateway.port_id = gw.port_id;
      if (auto sn = subnets.find(gw.subnet_id); sn != subnets.end()) {
        gateway.prefix = PrefixOf(sn->second->cidr);
        gateway.nexthop = sn->second->gateway_ip;
      }
      if (auto port = ports.find(gw.port_id); port != ports.end()) gateway.mac = port->second->mac_address;
      gateway.gateway_chassis = gateway_chassis;
      gateway.snat = gw.enable_snat;
      if (gw.enable_snat) gateway.snat_cidrs = inside_cidrs;
      router.gateway = std::move(gateway);
      for (const api::FloatingIp* f : floating_of[id]) {
        nb::FloatingIp fip;
        fip.id = f->meta.id;
        fip.external_ip = f->floating_ip_address;
        fip.internal_ip = f->fixed_ip_address;
        fip.logical_port = f->port_id;
        fip.floating_port_id = f->floating_port_id;
        router.floating_ips.push_back(std::move(fip));
      }
    }
    desired.routers.push_back(std::move(router));
  }
  return desired;
}

nb::DesiredNetworks DesiredNetworksOf(const State& s, const GatewayChassis& gateway_chassis) {
  NetworkRecords records;
  auto pointers = [](const auto& table, auto& out) {
    out.reserve(table.size());
    for (const auto& [id, record] : table) out.push_back(&record);
  };
  pointers(s.networks(), records.networks);
  pointers(s.subnets(), records.subnets);
  pointers(s.ports(), records.ports);
  pointers(s.security_groups(), records.security_groups);
  pointers(s.routers(), records.routers);
  pointers(s.floating_ips(), records.floating_ips);
  return TranslateNetworks(records, gateway_chassis);
}

}  // namespace govpool::controller
