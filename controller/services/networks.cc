// Networks, subnets and ports, and the IP address management behind them (docs/networking.md,
// "Networks (controller side)"). Addresses are allocated inside the port's write transaction
// (Db::Write serializes writers), from State's per-subnet Ipam: never twice, O(log n) each.
#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "common/ids.h"
#include "common/log.h"
#include "controller/ipam.h"
#include "controller/services/network_internal.h"
#include "controller/services/network_security_internal.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"

namespace govpool::controller {
namespace {

using network::PendingPorts;
using ipam::Cidr;
using ipam::FormatIpv4;
using ipam::Ipv4;
using ipam::ParseIpv4;

// Shared and external networks are every department's to see.
bool CanSeeNetwork(const Caller& c, const api::Network& n) {
  return n.shared || n.external || c.can_see_department(n.department_id);
}

// Creating and deleting a network and its subnets: its department's admins; shared and
// external ones: admins.
Status RequireManageNetwork(const Caller& c, const api::Network& n, const std::string& what) {
  const bool everyones = n.shared || n.external;
  if (everyones ? c.is_system_admin() : c.can_manage_department(n.department_id)) return OkStatus();
  return PermissionDenied(what + (everyones ? " on a shared or external network needs the system-admin role"
                                           : " needs the system-admin or dept-admin role"));
}

Result<const api::Network*> FindVisibleNetwork(const State& s, const Caller& c, const std::string& id) {
  const api::Network* n = s.FindNetwork(id);
  if (!n || !CanSeeNetwork(c, *n)) return NotFound("network " + id + " not found");
  return n;
}

Result<const api::Subnet*> FindVisibleSubnet(const State& s, const Caller& c, const std::string& id) {
  const api::Subnet* sn = s.FindSubnet(id);
  const api::Network* n = sn ? s.FindNetwork(sn->network_id) : nullptr;
  if (!n || !CanSeeNetwork(c, *n)) return NotFound("subnet " + id + " not found");
  return sn;
}

Result<const api::Port*> FindVisiblePort(const State& s, const Caller& c, const std::string& id) {
  const api::Port* p = s.FindPort(id);
  if (!p || !c.can_see_department(p->department_id)) return NotFound("port " + id + " not found");
  return p;
}

Status Invalid(const std::string& field, const std::string& message) {
  return InvalidArgument(message).WithDetail("field", field);
}

Result<Ipv4> AddressIn(const Cidr& cidr, const std::string& text, const std::string& field) {
  std::optional<Ipv4> a = ParseIpv4(text);
  if (!a) return Invalid(field, field + " '" + text + "' is not an IPv4 address");
  if (!cidr.HasHost(*a)) {
    return Invalid(field, field + " " + text + " is not a host address of " + cidr.ToString());
  }
  return *a;
}

// The pools asked for (checked: inside, ordered, disjoint, the gateway outside them), or every
// host address but the gateway.
Result<std::vector<api::IpRange>> AllocationPools(const Cidr& cidr, Ipv4 gateway,
                                                  const std::vector<api::IpRange>& asked) {
  std::vector<api::IpRange> out;
  if (asked.empty()) {
    const Ipv4 first = cidr.first_host(), last = cidr.last_host();
    if (gateway > first) out.push_back({FormatIpv4(first), FormatIpv4(gateway - 1)});
    if (gateway < last) out.push_back({FormatIpv4(gateway + 1), FormatIpv4(last)});
    return out;
  }
  std::vector<std::pair<Ipv4, Ipv4>> ranges;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const std::string field = "allocation_pools[" + std::to_string(i) + "]";
    GP_ASSIGN_OR_RETURN(Ipv4 start, AddressIn(cidr, asked[i].start, field + ".start"));
    GP_ASSIGN_OR_RETURN(Ipv4 end, AddressIn(cidr, asked[i].end, field + ".end"));
    if (start > end) return Invalid(field, field + ": start is after end");
    if (gateway >= start && gateway <= end) {
      return Invalid(field, field + " contains the gateway " + FormatIpv4(gateway));
    }
    ranges.emplace_back(start, end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first <= ranges[i - 1].second) {
      return Invalid("allocation_pools", "allocation pools overlap at " + FormatIpv4(ranges[i].first));
    }
  }
  for (const auto& [start, end] : ranges) out.push_back({FormatIpv4(start), FormatIpv4(end)});
  return out;
}

// "xx:xx:xx:xx:xx:xx" in lower case, unicast; nullopt otherwise.
std::optional<std::string> NormalizeMac(const std::string& text) {
  if (text.size() != 17) return std::nullopt;
  std::string out = text;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i % 3 == 2) {
      if (out[i] != ':') return std::nullopt;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(out[i]))) return std::nullopt;
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  if (std::stoi(out.substr(0, 2), nullptr, 16) & 1) return std::nullopt;  // multicast
  return out;
}

// A random locally administered unicast MAC address (first octet x2, x6, xa or xe) that no
// port, saved or pending, has.
Result<std::string> NewMac(const State& s, const PendingPorts& pending) {
  for (int attempt = 0; attempt < 32; ++attempt) {
    std::string hex;
    for (char ch : NewUuid()) {
      if (std::isxdigit(static_cast<unsigned char>(ch))) hex += ch;
    }
    int first = std::stoi(hex.substr(0, 2), nullptr, 16);
    first = (first & 0xfc) | 0x02;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string mac{kHex[first >> 4], kHex[first & 15]};
    for (int i = 1; i < 6; ++i) mac += ":" + hex.substr(2 * i, 2);
    if (!s.FindPortByMac(mac) && !pending.HasMac(mac)) return mac;
  }
  return Internal("could not generate a unique MAC address");
}

std::vector<std::string> PortsWithAddressIn(const State& s, const api::Subnet& sn) {
  std::vector<std::string> out;
  for (const std::string& id : s.PortsOfNetwork(sn.network_id)) {
    for (const api::FixedIp& ip : s.FindPort(id)->fixed_ips) {
      if (ip.subnet_id == sn.meta.id) {
        out.push_back(id);
        break;
      }
    }
  }
  return out;
}

Status HasPorts(const std::string& what, const std::vector<std::string>& ports) {
  return FailedPrecondition(what + " has " + std::to_string(ports.size()) + " port(s); delete them first")
      .WithReason("HAS_DEPENDENTS")
      .WithDetail("ports", ports);
}

Status SubnetFull(const api::Subnet& sn) {
  return ResourceExhausted("subnet '" + sn.name + "' (" + sn.cidr + ") has no free address in its allocation pools")
      .WithReason("SUBNET_FULL")
      .WithDetail("subnet_id", sn.meta.id);
}

// The network's subnets, oldest first.
std::vector<const api::Subnet*> SubnetsOf(const State& s, const std::string& network_id) {
  std::vector<const api::Subnet*> out;
  for (const std::string& id : s.SubnetsOfNetwork(network_id)) out.push_back(s.FindSubnet(id));
  std::sort(out.begin(), out.end(), [](const api::Subnet* a, const api::Subnet* b) {
    return std::tie(a->meta.created_at_ms, a->meta.id) < std::tie(b->meta.created_at_ms, b->meta.id);
  });
  return out;
}

// The port's addresses: each asked one checked (a subnet of the network, in range, not the
// gateway, free: IP_ADDRESS_IN_USE), the others allocated from their subnet's pools
// (SUBNET_FULL); one address per subnet. With none asked: one from the first subnet (oldest
// first) with a free address, when the network has subnets.
// Addresses promised to pending ports count as used.
Result<std::vector<api::FixedIp>> AllocateAddresses(const State& s, const api::Network& n,
                                                    const std::vector<api::FixedIp>& asked,
                                                    const PendingPorts& pending) {
  std::vector<api::FixedIp> out;
  if (asked.empty()) {
    std::vector<const api::Subnet*> subnets = SubnetsOf(s, n.meta.id);
    for (const api::Subnet* sn : subnets) {
      if (auto a = s.IpamOf(sn->meta.id)->NextFreeExcept(pending.AddressesIn(sn->meta.id))) {
        return std::vector<api::FixedIp>{{sn->meta.id, FormatIpv4(*a)}};
      }
    }
    if (!subnets.empty()) return SubnetFull(*subnets.front());
    return out;
  }
  std::set<std::string> subnets_used;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const std::string field = "fixed_ips[" + std::to_string(i) + "]";
    const api::FixedIp& want = asked[i];
    const api::Subnet* sn = nullptr;
    std::optional<Ipv4> address;
    if (!want.ip_address.empty()) {
      address = ParseIpv4(want.ip_address);
      if (!address) return Invalid(field + ".ip_address", "'" + want.ip_address + "' is not an IPv4 address");
    }
    if (!want.subnet_id.empty()) {
      sn = s.FindSubnet(want.subnet_id);
      if (!sn || sn->network_id != n.meta.id) {
        return Invalid(field + ".subnet_id", "subnet " + want.subnet_id + " is not a subnet of network '" + n.name + "'");
      }
    } else if (address) {
      for (const api::Subnet* candidate : SubnetsOf(s, n.meta.id)) {
        auto cidr = ipam::ParseCidr(candidate->cidr);
        if (cidr.ok() && cidr->HasHost(*address)) sn = candidate;
      }
      if (!sn) return Invalid(field + ".ip_address", want.ip_address + " is in no subnet of network '" + n.name + "'");
    } else {
      return Invalid(field, "give a subnet_id, an ip_address or both");
    }
    if (!subnets_used.insert(sn->meta.id).second) {
      return Invalid(field + ".subnet_id", "a port has one address per subnet");
    }
    const ipam::Ipam& pool = *s.IpamOf(sn->meta.id);
    if (address) {
      GP_ASSIGN_OR_RETURN(Cidr cidr, ipam::ParseCidr(sn->cidr));
      GP_RETURN_IF_ERROR(AddressIn(cidr, want.ip_address, field + ".ip_address").status());
      if (want.ip_address == sn->gateway_ip) {
        return Invalid(field + ".ip_address", want.ip_address + " is the gateway of subnet '" + sn->name + "'");
      }
      if (pool.IsUsed(*address) || pending.AddressesIn(sn->meta.id).count(*address)) {
        return Conflict("address " + want.ip_address + " of subnet '" + sn->name + "' is in use")
            .WithReason("IP_ADDRESS_IN_USE")
            .WithDetail("ip_address", want.ip_address)
            .WithDetail("subnet_id", sn->meta.id);
      }
    } else {
      address = pool.NextFreeExcept(pending.AddressesIn(sn->meta.id));
      if (!address) return SubnetFull(*sn);
    }
    out.push_back({sn->meta.id, FormatIpv4(*address)});
  }
  return out;
}

}  // namespace

namespace network {

Result<std::string> NewPortMac(const State& s) { return NewMac(s, PendingPorts{}); }

Result<std::vector<api::FixedIp>> AllocatePortAddresses(const State& s, const api::Network& n,
                                                        const std::vector<api::FixedIp>& asked) {
  return AllocateAddresses(s, n, asked, PendingPorts{});
}

}  // namespace network

// ---- Networks ----

Result<api::Network> CreateNetwork(State& s, Txn& t, const Caller& c, const api::CreateNetworkRequest& req) {
  api::Network n;
  n.name = req.name;
  n.shared = req.shared;
  n.mtu = req.mtu;
  n.external = req.external;
  n.physical_network = req.physical_network;
  const api::Department* d = nullptr;
  if (req.shared || req.external) {
    if (!req.department_id.empty()) {
      return Invalid("department_id", "a shared or external network belongs to no department");
    }
    if (req.external && req.physical_network.empty()) {
      return Invalid("physical_network", "an external network names the physical network it is bridged to");
    }
    GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  } else {
    d = s.FindDepartment(req.department_id);
    if (!d || !c.can_see_department(req.department_id)) {
      return NotFound("department " + req.department_id + " not found");
    }
    n.department_id = d->meta.id;
    GP_RETURN_IF_ERROR(RequireManageNetwork(c, n, "creating networks"));
  }
  if (s.FindNetworkByName(n.department_id, n.name)) {
    return AlreadyExists("a network named '" + n.name + "' already exists" +
                         (d ? " in department '" + d->name + "'" : " among the shared networks"))
        .WithDetail("name", n.name);
  }
  if (d) GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(n), 1));
  s.Save(t, n);
  log::Info("network created", {{"network_id", n.meta.id}, {"department_id", n.department_id}});
  return s.RenderNetwork(n);
}

Result<api::Network> GetNetwork(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindVisibleNetwork(s, c, id));
  return s.RenderNetwork(*n);
}

Page<api::Network> ListNetworks(const State& s, const Caller& c, const NetworkFilter& f, const ListOptions& o) {
  return PageOf(
      s.networks(), o,
      [&](const api::Network& n) {
        if (!f.department_id.empty() && n.department_id != f.department_id) return false;
        return CanSeeNetwork(c, n);
      },
      [&](const api::Network& n) { return s.RenderNetwork(n); });
}

Status DeleteNetwork(State& s, Txn& t, const Caller& c, const std::string& id,
                     const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindVisibleNetwork(s, c, id));
  GP_RETURN_IF_ERROR(RequireManageNetwork(c, *n, "deleting networks"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, n->meta, "network " + id));
  const std::set<std::string>& ports = s.PortsOfNetwork(id);
  if (!ports.empty()) {
    return HasPorts("network '" + n->name + "'", std::vector<std::string>(ports.begin(), ports.end()));
  }
  const std::set<std::string> subnets = s.SubnetsOfNetwork(id);  // a copy: Remove changes the index
  for (const std::string& subnet_id : subnets) s.Remove<api::Subnet>(t, subnet_id);
  s.Remove<api::Network>(t, id);
  log::Info("network deleted", {{"network_id", id}});
  return OkStatus();
}

// ---- Subnets ----

Result<api::Subnet> CreateSubnet(State& s, Txn& t, const Caller& c, const api::CreateSubnetRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindVisibleNetwork(s, c, req.network_id));
  GP_RETURN_IF_ERROR(RequireManageNetwork(c, *n, "creating subnets"));
  if (req.ip_version != 4) {
    return Invalid("ip_version", "IPv6 subnets are not supported yet (ip_version must be 4)");
  }
  GP_ASSIGN_OR_RETURN(Cidr cidr, ipam::ParseCidr(req.cidr));
  GP_RETURN_IF_ERROR(CheckCountLimit(static_cast<std::int64_t>(s.SubnetsOfNetwork(n->meta.id).size()),
                                     kMaxSubnetsPerNetwork, "subnets", "network '" + n->name + "'"));
  for (const api::Subnet* other : SubnetsOf(s, n->meta.id)) {
    auto theirs = ipam::ParseCidr(other->cidr);
    if (theirs.ok() && theirs->Overlaps(cidr)) {
      return Invalid("cidr", cidr.ToString() + " overlaps subnet '" + other->name + "' (" + other->cidr +
                                 ") of the same network");
    }
  }
  Ipv4 gateway = cidr.first_host();
  if (!req.gateway_ip.empty()) {
    GP_ASSIGN_OR_RETURN(gateway, AddressIn(cidr, req.gateway_ip, "gateway_ip"));
  }
  for (std::size_t i = 0; i < req.dns_servers.size(); ++i) {
    if (!ParseIpv4(req.dns_servers[i])) {
      return Invalid("dns_servers[" + std::to_string(i) + "]", "'" + req.dns_servers[i] + "' is not an IPv4 address");
    }
  }
  api::Subnet sn;
  GP_ASSIGN_OR_RETURN(sn.allocation_pools, AllocationPools(cidr, gateway, req.allocation_pools));
  sn.name = req.name;
  sn.network_id = n->meta.id;
  sn.department_id = n->department_id;
  sn.ip_version = 4;
  sn.cidr = cidr.ToString();
  sn.gateway_ip = FormatIpv4(gateway);
  sn.dns_servers = req.dns_servers;
  sn.enable_dhcp = req.enable_dhcp;
  s.Save(t, sn);
  log::Info("subnet created", {{"subnet_id", sn.meta.id}, {"network_id", sn.network_id}, {"cidr", sn.cidr}});
  return s.RenderSubnet(sn);
}

Result<api::Subnet> GetSubnet(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Subnet* sn, FindVisibleSubnet(s, c, id));
  return s.RenderSubnet(*sn);
}

Page<api::Subnet> ListSubnets(const State& s, const Caller& c, const std::string& network_id, const ListOptions& o) {
  return PageOf(
      s.subnets(), o,
      [&](const api::Subnet& sn) {
        if (!network_id.empty() && sn.network_id != network_id) return false;
        return FindVisibleSubnet(s, c, sn.meta.id).ok();
      },
      [&](const api::Subnet& sn) { return s.RenderSubnet(sn); });
}

Status DeleteSubnet(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Subnet* sn, FindVisibleSubnet(s, c, id));
  GP_RETURN_IF_ERROR(RequireManageNetwork(c, *s.FindNetwork(sn->network_id), "deleting subnets"));
  if (const api::Router* r = s.RouterOfSubnet(id)) {
    return FailedPrecondition("subnet '" + sn->name + "' is attached to router '" + r->name +
                              "'; remove the interface first (DELETE /v1/routers/" + r->meta.id + "/interfaces/" + id + ")")
        .WithReason("HAS_DEPENDENTS")
        .WithDetail("router_id", r->meta.id);
  }
  if (s.IpamOf(id)->used_count() > 0) {
    return HasPorts("subnet '" + sn->name + "'", PortsWithAddressIn(s, *sn));
  }
  s.Remove<api::Subnet>(t, id);
  return OkStatus();
}

// ---- Ports ----

namespace network {

const std::set<ipam::Ipv4>& PendingPorts::AddressesIn(const std::string& subnet_id) const {
  static const std::set<ipam::Ipv4> kNone;
  auto it = addresses_.find(subnet_id);
  return it == addresses_.end() ? kNone : it->second;
}

std::int64_t PendingPorts::NewPortsOf(const std::string& department_id) const {
  auto it = new_ports_.find(department_id);
  return it == new_ports_.end() ? 0 : it->second;
}

void PendingPorts::AddNew(const api::Port& p) {
  for (const api::FixedIp& ip : p.fixed_ips) {
    if (auto a = ParseIpv4(ip.ip_address)) addresses_[ip.subnet_id].insert(*a);
  }
  macs_.insert(p.mac_address);
  ++new_ports_[p.department_id];
}

Result<api::Port> PlanPort(const State& s, const Caller& c, const api::CreatePortRequest& req, PendingPorts& pending) {
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindVisibleNetwork(s, c, req.network_id));
  api::Port p;
  p.name = req.name;
  p.network_id = n->meta.id;
  if (!n->shared && !n->external) {
    if (!req.department_id.empty() && req.department_id != n->department_id) {
      return Invalid("department_id", "a port on a department's network belongs to that department");
    }
    p.department_id = n->department_id;
  } else {
    p.department_id = !req.department_id.empty() ? req.department_id : c.department_id;
    if (p.department_id.empty()) {
      return Invalid("department_id", "a port on a shared network needs the department it belongs to");
    }
  }
  const api::Department* d = s.FindDepartment(p.department_id);
  if (!d || !c.can_see_department(p.department_id)) return NotFound("department " + p.department_id + " not found");
  if (!c.can_manage_department(d->meta.id)) return PermissionDenied("creating ports needs the system-admin or dept-admin role");
  if (n->external && !n->shared && !c.is_system_admin()) {
    return PermissionDenied("ports on external network '" + n->name +
                            "' are made by routers and floating IPs (or by admins)");
  }
  // None given: the department's default group, given when the port is saved.
  GP_RETURN_IF_ERROR(network::CheckPortSecurityGroups(s, d->meta.id, req.security_group_ids, "security_group_ids"));
  p.security_group_ids = req.security_group_ids;
  if (!req.device_id.empty()) {
    const api::Vm* vm = s.FindVm(req.device_id);
    if (!vm || vm->department_id != d->meta.id) {
      return Invalid("device_id", "vm " + req.device_id + " does not exist in department '" + d->name + "'");
    }
  }
  if (!req.host_id.empty() && !s.FindHost(req.host_id)) {
    return Invalid("host_id", "host " + req.host_id + " does not exist");
  }
  if (!req.mac_address.empty()) {
    std::optional<std::string> mac = NormalizeMac(req.mac_address);
    if (!mac) return Invalid("mac_address", "'" + req.mac_address + "' is not a unicast MAC address (xx:xx:xx:xx:xx:xx)");
    if (const api::Port* other = s.FindPortByMac(*mac)) {
      return Conflict("MAC address " + *mac + " is in use").WithReason("MAC_ADDRESS_IN_USE").WithDetail("port_id", other->meta.id);
    }
    if (pending.HasMac(*mac)) return Conflict("MAC address " + *mac + " is in use").WithReason("MAC_ADDRESS_IN_USE");
    p.mac_address = *mac;
  }
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(p), 1 + pending.NewPortsOf(d->meta.id)));
  GP_ASSIGN_OR_RETURN(p.fixed_ips, AllocateAddresses(s, *n, req.fixed_ips, pending));
  if (p.mac_address.empty()) {
    GP_ASSIGN_OR_RETURN(p.mac_address, NewMac(s, pending));
  }
  p.device_id = req.device_id;
  p.host_id = req.host_id;
  pending.AddNew(p);
  return p;
}

Result<NicPlan> PlanNic(const State& s, const Caller& c, const api::Department& d, const api::NicRequest& nic,
                        const std::string& field, PendingPorts& pending) {
  NicPlan plan;
  if (!nic.port.empty()) {
    const api::Port* p = s.FindPort(nic.port);
    if (!p || p->department_id != d.meta.id) {
      return Invalid(field + ".port", "port " + nic.port + " does not exist in department '" + d.name + "'");
    }
    if (!p->device_owner.empty()) return OwnedPortInUse(*p);
    if (!p->device_id.empty()) return PortInUse(*p);
    if (pending.Binds(p->meta.id)) return Invalid(field + ".port", "port " + nic.port + " is given twice");
    pending.AddBound(p->meta.id);
    plan.port = *p;
    plan.existing = true;
    return plan;
  }
  // Network by id, or by name: the department's, then a shared one.
  const api::Network* n = s.FindNetwork(nic.network);
  if (!n) n = s.FindNetworkByName(d.meta.id, nic.network);
  if (!n) n = s.FindNetworkByName("", nic.network);
  if (!n || !CanSeeNetwork(c, *n)) {
    return Invalid(field + ".network", "network '" + nic.network + "' does not exist");
  }
  if (!n->shared && n->department_id != d.meta.id) {
    return Invalid(field + ".network", "network '" + n->name + "' belongs to another department");
  }
  api::CreatePortRequest req;
  req.network_id = n->meta.id;
  req.department_id = d.meta.id;
  if (!nic.fixed_ip.empty()) req.fixed_ips.push_back({"", nic.fixed_ip});
  auto port = PlanPort(s, c, req, pending);
  if (!port.ok()) return port.status().Annotate(field);
  plan.port = std::move(port).value();
  plan.port.delete_with_vm = true;
  return plan;
}

void BindNics(State& s, Txn& t, api::Vm& vm, std::vector<NicPlan>& plans) {
  for (NicPlan& plan : plans) {
    if (!plan.existing) plan.port.name = vm.name + "-eth" + std::to_string(vm.port_ids.size());
    plan.port.device_id = vm.meta.id;
    if (!plan.existing) AssignDefaultSecurityGroup(s, t, plan.port);
    s.Save(t, plan.port);  // a new port takes its addresses in the subnets' Ipam
    vm.port_ids.push_back(plan.port.meta.id);
    log::Info("port bound", {{"port_id", plan.port.meta.id}, {"vm_id", vm.meta.id}, {"created", !plan.existing}});
  }
}

void ReleasePort(State& s, Txn& t, const api::Port& p) {
  if (p.delete_with_vm) {
    const std::string id = p.meta.id;
    DisassociateFloatingIps(s, t, id);
    s.Remove<api::Port>(t, id);  // gives its addresses back
    return;
  }
  api::Port unbound = p;
  unbound.device_id.clear();
  unbound.host_id.clear();
  unbound.status = "down";
  unbound.state_reason.clear();
  s.Save(t, unbound);
}

void ReleaseVmPorts(State& s, Txn& t, const std::string& vm_id) {
  const std::set<std::string> ports = s.PortsOfVm(vm_id);  // a copy: releasing changes the index
  for (const std::string& id : ports) ReleasePort(s, t, *s.FindPort(id));
}

Status CheckCanAddNic(const api::Vm& vm) {
  if (vm.deleting) return FailedPrecondition("vm " + vm.meta.id + " is being deleted");
  if (vm.port_ids.size() >= api::kMaxVmNics) {
    return FailedPrecondition("vm " + vm.meta.id + " already has " + std::to_string(api::kMaxVmNics) + " NICs");
  }
  return OkStatus();
}

Status PortInUse(const api::Port& p) {
  return FailedPrecondition("port " + p.meta.id + " is a NIC of vm " + p.device_id +
                            "; detach it first (DELETE /v1/vms/" + p.device_id + "/interfaces/" + p.meta.id + ")")
      .WithReason("PORT_IN_USE")
      .WithDetail("vm_id", p.device_id)
      .WithDetail("port_id", p.meta.id);
}

}  // namespace network

Result<api::Port> CreatePort(State& s, Txn& t, const Caller& c, const api::CreatePortRequest& req) {
  PendingPorts pending;
  GP_ASSIGN_OR_RETURN(api::Port p, network::PlanPort(s, c, req, pending));
  if (!p.device_id.empty()) {
    // Created on a VM: it becomes the VM's next NIC, as POST /v1/vms/{id}/interfaces does.
    api::Vm vm = *s.FindVm(p.device_id);
    GP_RETURN_IF_ERROR(network::CheckCanAddNic(vm));
    network::AssignDefaultSecurityGroup(s, t, p);  // after every check: it may save the group
    s.Save(t, p);
    vm.port_ids.push_back(p.meta.id);
    ++vm.generation;
    s.Save(t, vm);
  } else {
    network::AssignDefaultSecurityGroup(s, t, p);  // after every check: it may save the group
    s.Save(t, p);  // takes the addresses in the subnets' Ipam
  }
  log::Info("port created", {{"port_id", p.meta.id}, {"network_id", p.network_id}, {"mac_address", p.mac_address}});
  return p;
}

Result<api::Port> GetPort(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Port* p, FindVisiblePort(s, c, id));
  return *p;
}

Page<api::Port> ListPorts(const State& s, const Caller& c, const PortFilter& f, const ListOptions& o) {
  return PageOf(s.ports(), o, [&](const api::Port& p) {
    if (!f.network_id.empty() && p.network_id != f.network_id) return false;
    if (!f.device_id.empty() && p.device_id != f.device_id) return false;
    if (!f.department_id.empty() && p.department_id != f.department_id) return false;
    return c.can_see_department(p.department_id);
  });
}

Status DeletePort(State& s, Txn& t, const Caller& c, const std::string& id,
                  const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::Port* p, FindVisiblePort(s, c, id));
  if (!c.can_manage_department(p->department_id)) return PermissionDenied("deleting ports needs the system-admin or dept-admin role");
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, p->meta, "port " + id));
  if (!p->device_owner.empty()) return network::OwnedPortInUse(*p);
  if (!p->device_id.empty()) return network::PortInUse(*p);
  network::DisassociateFloatingIps(s, t, id);
  s.Remove<api::Port>(t, id);  // gives its addresses back
  return OkStatus();
}

Result<api::Port> ReportPortStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                   const api::PortStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report port status");
  const api::Port* found = s.FindPort(id);
  const api::Vm* vm = found ? s.FindVm(found->device_id) : nullptr;
  // An agent sees the ports of the VMs on its host only.
  if (!found || (!c.is_system_admin() && (!vm || !storage::IsAgentOf(s, c, vm->host_id)))) {
    return NotFound("port " + id + " not found");
  }
  if (!report.host_id.empty()) {
    if (c.is_agent() && (!vm || report.host_id != vm->host_id)) {
      return Invalid("host_id", "a port is bound on its VM's host");
    }
    if (!s.FindHost(report.host_id)) return Invalid("host_id", "host " + report.host_id + " does not exist");
  }
  if (found->status == report.status && found->host_id == report.host_id &&
      found->state_reason == report.state_reason) {
    return *found;  // nothing new: no write
  }
  api::Port p = *found;
  p.status = report.status;
  p.host_id = report.host_id;
  p.state_reason = report.state_reason;
  s.Save(t, p);
  return p;
}

void AddVmPorts(const State& s, api::WatchAnswer& out) {
  for (const api::Vm& vm : out.items) {
    for (const std::string& id : vm.port_ids) {
      if (const api::Port* p = s.FindPort(id)) out.ports.push_back(*p);
    }
  }
}

}  // namespace govpool::controller
