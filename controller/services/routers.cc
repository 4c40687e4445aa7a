// Routers and floating IPs (docs/networking.md, "Routers and floating IPs"). A router's
// gateway, its interfaces and each floating IP hold their addresses as ports (device_owner
// router_gateway, router_interface, floating_ip) so the subnets' IPAM accounts for them in the
// same write that makes them: an address is never handed out twice.
#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "controller/ipam.h"
#include "controller/services/network_security_internal.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

constexpr const char* kRouterGateway = "router_gateway";
constexpr const char* kRouterInterface = "router_interface";
constexpr const char* kFloatingIpOwner = "floating_ip";

Status Invalid(const std::string& field, const std::string& message) {
  return InvalidArgument(message).WithDetail("field", field);
}

Result<const api::Router*> FindVisibleRouter(const State& s, const Caller& c, const std::string& id) {
  const api::Router* r = s.FindRouter(id);
  if (!r || !c.can_see_department(r->department_id)) return NotFound("router " + id + " not found");
  return r;
}

Result<const api::FloatingIp*> FindVisibleFloatingIp(const State& s, const Caller& c, const std::string& id) {
  const api::FloatingIp* f = s.FindFloatingIp(id);
  if (!f || !c.can_see_department(f->department_id)) return NotFound("floating IP " + id + " not found");
  return f;
}

// An external network, by id (every department sees them); `field` names it in errors.
Result<const api::Network*> FindExternalNetwork(const State& s, const std::string& id, const std::string& field) {
  const api::Network* n = s.FindNetwork(id);
  if (!n || !n->external) return Invalid(field, "network " + id + " is not an external network");
  return n;
}

// A port the controller makes for router `owner_id` or a floating IP: a generated MAC, the
// addresses given (`allocate`: allocated from the network's pools as for POST /v1/ports).
Result<api::Port> PlanOwnedPort(const State& s, const api::Network& n, const std::string& department_id,
                                const std::string& device_owner, const std::string& owner_id,
                                const std::vector<api::FixedIp>& addresses, bool allocate) {
  api::Port p;
  p.network_id = n.meta.id;
  p.department_id = department_id;
  p.device_owner = device_owner;
  p.device_id = owner_id;
  if (allocate) {
    GP_ASSIGN_OR_RETURN(p.fixed_ips, network::AllocatePortAddresses(s, n, addresses));
    if (p.fixed_ips.empty()) return Invalid("network_id", "network '" + n.name + "' has no subnet to take an address from");
  } else {
    p.fixed_ips = addresses;
  }
  GP_ASSIGN_OR_RETURN(p.mac_address, network::NewPortMac(s));
  return p;
}

// The gateway port and record for router `router_id` of department `department_id`, unsaved.
Result<std::pair<api::RouterGateway, api::Port>> PlanGateway(const State& s, const std::string& department_id,
                                                             const std::string& router_id,
                                                             const api::RouterGatewayRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindExternalNetwork(s, req.network_id, "external_gateway.network_id"));
  GP_ASSIGN_OR_RETURN(api::Port port, PlanOwnedPort(s, *n, department_id, kRouterGateway, router_id, {}, true));
  port.meta.id = NewUuid();
  port.status = "active";
  api::RouterGateway gw;
  gw.network_id = n->meta.id;
  gw.enable_snat = req.enable_snat;
  gw.port_id = port.meta.id;
  gw.subnet_id = port.fixed_ips.front().subnet_id;
  gw.ip_address = port.fixed_ips.front().ip_address;
  return std::make_pair(gw, port);
}

Status RouterInUse(const api::Router& r, const std::string& why) {
  std::vector<std::string> subnets;
  for (const api::RouterInterface& i : r.interfaces) subnets.push_back(i.subnet_id);
  return FailedPrecondition("router '" + r.name + "' " + why)
      .WithReason("ROUTER_IN_USE")
      .WithDetail("router_id", r.meta.id)
      .WithDetail("subnets", subnets);
}

// Floating IPs of router `r` whose port address lies in subnet `subnet_id` ("": any).
std::vector<std::string> FloatingIpsThrough(const State& s, const api::Router& r, const std::string& subnet_id) {
  std::vector<std::string> out;
  for (const std::string& id : s.FloatingIpsOfRouter(r.meta.id)) {
    const api::FloatingIp* f = s.FindFloatingIp(id);
    const api::Port* p = s.FindPort(f->port_id);
    bool through = subnet_id.empty();
    for (const api::FixedIp& ip : p ? p->fixed_ips : std::vector<api::FixedIp>{}) {
      through = through || (ip.subnet_id == subnet_id && ip.ip_address == f->fixed_ip_address);
    }
    if (through) out.push_back(id);
  }
  return out;
}

// Checks that floating IP `f` can map to `fixed_ip_address` ("": the port's first address) of
// port `port_id` and fills in the association: the port is a NIC of the floating IP's
// department on a subnet attached to a router whose gateway is on the floating IP's network.
Status PlanAssociation(const State& s, const Caller& c, api::FloatingIp& f, const std::string& port_id,
                       const std::string& fixed_ip_address) {
  const api::Port* p = s.FindPort(port_id);
  if (!p || !c.can_see_department(p->department_id) || p->department_id != f.department_id) {
    return Invalid("port_id", "port " + port_id + " does not exist in the floating IP's department");
  }
  if (!p->device_owner.empty()) {
    return Invalid("port_id", "port " + port_id + " belongs to a " + p->device_owner + "; give a VM's port");
  }
  const api::FixedIp* chosen = nullptr;
  for (const api::FixedIp& ip : p->fixed_ips) {
    if (fixed_ip_address.empty() ? chosen == nullptr : ip.ip_address == fixed_ip_address) chosen = &ip;
  }
  if (!chosen) {
    return fixed_ip_address.empty()
               ? Invalid("port_id", "port " + port_id + " has no address")
               : Invalid("fixed_ip_address", fixed_ip_address + " is not an address of port " + port_id);
  }
  const api::Subnet* sn = s.FindSubnet(chosen->subnet_id);
  const api::Router* r = s.RouterOfSubnet(chosen->subnet_id);
  const std::string subnet_name = sn ? "'" + sn->name + "'" : chosen->subnet_id;
  const api::Network* external = s.FindNetwork(f.floating_network_id);
  const std::string external_name = external ? "'" + external->name + "'" : f.floating_network_id;
  if (!r) {
    return FailedPrecondition("external network " + external_name + " is unreachable from port " + port_id +
                              ": its subnet " + subnet_name + " is attached to no router")
        .WithReason("EXTERNAL_NETWORK_UNREACHABLE")
        .WithDetail("subnet_id", chosen->subnet_id);
  }
  if (r->external_gateway.network_id != f.floating_network_id) {
    return FailedPrecondition("external network " + external_name + " is unreachable from port " + port_id +
                              ": router '" + r->name + "' of its subnet " + subnet_name +
                              (r->external_gateway.network_id.empty() ? " has no external gateway"
                                                                       : " has its gateway on another network"))
        .WithReason("EXTERNAL_NETWORK_UNREACHABLE")
        .WithDetail("router_id", r->meta.id);
  }
  for (const std::string& other_id : s.FloatingIpsOfPort(port_id)) {
    const api::FloatingIp* other = s.FindFloatingIp(other_id);
    if (other_id != f.meta.id && other->fixed_ip_address == chosen->ip_address) {
      return Conflict("address " + chosen->ip_address + " of port " + port_id + " already has floating IP " +
                      other->floating_ip_address)
          .WithReason("PORT_HAS_FLOATING_IP")
          .WithDetail("floating_ip_id", other_id);
    }
  }
  f.port_id = p->meta.id;
  f.fixed_ip_address = chosen->ip_address;
  f.router_id = r->meta.id;
  f.status = "active";
  return OkStatus();
}

void Disassociate(api::FloatingIp& f) {
  f.port_id.clear();
  f.fixed_ip_address.clear();
  f.router_id.clear();
  f.status = "down";
}

}  // namespace

namespace network {

Status OwnedPortInUse(const api::Port& p) {
  const std::string how = p.device_owner == kFloatingIpOwner
                              ? "DELETE /v1/floating-ips/" + p.device_id
                              : (p.device_owner == kRouterGateway ? "PATCH /v1/routers/" + p.device_id +
                                                                        " (external_gateway) or DELETE it"
                                                                  : "DELETE /v1/routers/" + p.device_id +
                                                                        "/interfaces/{subnet_id}");
  return FailedPrecondition("port " + p.meta.id + " is the " + p.device_owner + " port of " + p.device_id +
                            "; remove it with " + how)
      .WithReason("PORT_IN_USE")
      .WithDetail("port_id", p.meta.id)
      .WithDetail("device_id", p.device_id)
      .WithDetail("device_owner", p.device_owner);
}

void DisassociateFloatingIps(State& s, Txn& t, const std::string& port_id) {
  const std::set<std::string> ids = s.FloatingIpsOfPort(port_id);  // a copy: saving changes the index
  for (const std::string& id : ids) {
    api::FloatingIp f = *s.FindFloatingIp(id);
    Disassociate(f);
    s.Save(t, f);
  }
}

}  // namespace network

// ---- Routers ----

Result<api::Router> CreateRouter(State& s, Txn& t, const Caller& c, const api::CreateRouterRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) return NotFound("department " + req.department_id + " not found");
  GP_RETURN_IF_ERROR(RequireManage(c, d->meta.id, "creating routers"));
  if (s.FindRouterByName(d->meta.id, req.name)) {
    return AlreadyExists("a router named '" + req.name + "' already exists in department '" + d->name + "'")
        .WithDetail("name", req.name);
  }
  api::Router r;
  r.meta.id = NewUuid();
  r.name = req.name;
  r.department_id = d->meta.id;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(r), 1));
  std::optional<api::Port> gateway_port;
  if (!req.external_gateway.network_id.empty()) {
    GP_ASSIGN_OR_RETURN(auto planned, PlanGateway(s, d->meta.id, r.meta.id, req.external_gateway));
    r.external_gateway = planned.first;
    gateway_port = std::move(planned.second);
  }
  if (gateway_port) s.Save(t, *gateway_port);  // takes its address in the external subnet
  s.Save(t, r);
  log::Info("router created", {{"router_id", r.meta.id}, {"department_id", r.department_id},
                               {"gateway_ip", r.external_gateway.ip_address}});
  return r;
}

Result<api::Router> GetRouter(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Router* r, FindVisibleRouter(s, c, id));
  return *r;
}

Page<api::Router> ListRouters(const State& s, const Caller& c, const std::string& department_id, const ListOptions& o) {
  return PageOf(s.routers(), o, [&](const api::Router& r) {
    if (!department_id.empty() && r.department_id != department_id) return false;
    return c.can_see_department(r.department_id);
  });
}

Result<api::Router> PatchRouter(State& s, Txn& t, const Caller& c, const std::string& id,
                                const std::optional<std::int64_t>& if_match, const api::PatchRouterRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Router* found, FindVisibleRouter(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing routers"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "router " + id));
  api::Router r = *found;
  if (req.name && *req.name != r.name) {
    if (s.FindRouterByName(r.department_id, *req.name)) {
      return AlreadyExists("a router named '" + *req.name + "' already exists in the department").WithDetail("name", *req.name);
    }
    r.name = *req.name;
  }
  std::string old_gateway_port;
  std::optional<api::Port> new_gateway_port;
  if (req.external_gateway) {
    const api::RouterGatewayRequest& want = *req.external_gateway;
    if (!want.network_id.empty() && want.network_id == r.external_gateway.network_id) {
      r.external_gateway.enable_snat = want.enable_snat;  // same uplink: only SNAT changes
    } else {
      if (!r.external_gateway.network_id.empty()) {
        if (std::vector<std::string> fips = FloatingIpsThrough(s, r, ""); !fips.empty()) {
          return RouterInUse(r, "translates " + std::to_string(fips.size()) +
                                    " floating IP(s) on its gateway's network; disassociate them first")
              .WithDetail("floating_ips", fips);
        }
        old_gateway_port = r.external_gateway.port_id;
      }
      r.external_gateway = {};
      if (!want.network_id.empty()) {
        GP_ASSIGN_OR_RETURN(auto planned, PlanGateway(s, r.department_id, r.meta.id, want));
        r.external_gateway = planned.first;
        new_gateway_port = std::move(planned.second);
      }
    }
  }
  if (!old_gateway_port.empty()) s.Remove<api::Port>(t, old_gateway_port);
  if (new_gateway_port) s.Save(t, *new_gateway_port);
  s.Save(t, r);
  return r;
}

Status DeleteRouter(State& s, Txn& t, const Caller& c, const std::string& id,
                    const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::Router* r, FindVisibleRouter(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, r->department_id, "deleting routers"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, r->meta, "router " + id));
  if (!r->interfaces.empty()) {
    return RouterInUse(*r, "has " + std::to_string(r->interfaces.size()) +
                               " subnet interface(s); remove them first (DELETE /v1/routers/" + id +
                               "/interfaces/{subnet_id})");
  }
  // Floating IPs are associated only through interfaces: none is left.
  if (!r->external_gateway.port_id.empty()) s.Remove<api::Port>(t, r->external_gateway.port_id);
  s.Remove<api::Router>(t, id);
  log::Info("router deleted", {{"router_id", id}});
  return OkStatus();
}

Result<api::Router> AddRouterInterface(State& s, Txn& t, const Caller& c, const std::string& router_id,
                                       const api::RouterInterfaceRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Router* found, FindVisibleRouter(s, c, router_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing routers"));
  const api::Subnet* sn = s.FindSubnet(req.subnet_id);
  const api::Network* n = sn ? s.FindNetwork(sn->network_id) : nullptr;
  if (!n || n->department_id != found->department_id) {
    return Invalid("subnet_id", "subnet " + req.subnet_id + " is not a subnet of a network of the router's department");
  }
  if (sn->gateway_ip.empty()) {
    return Invalid("subnet_id", "subnet '" + sn->name + "' has no gateway_ip for the router to take");
  }
  if (const api::Router* holder = s.RouterOfSubnet(sn->meta.id)) {
    return Conflict("subnet '" + sn->name + "' is already attached to router '" + holder->name + "'")
        .WithReason("SUBNET_ALREADY_ATTACHED")
        .WithDetail("router_id", holder->meta.id);
  }
  GP_ASSIGN_OR_RETURN(ipam::Cidr cidr, ipam::ParseCidr(sn->cidr));
  std::vector<std::string> attached;
  for (const api::RouterInterface& i : found->interfaces) attached.push_back(i.subnet_id);
  if (!found->external_gateway.subnet_id.empty()) attached.push_back(found->external_gateway.subnet_id);
  for (const std::string& other_id : attached) {
    const api::Subnet* other = s.FindSubnet(other_id);
    auto theirs = other ? ipam::ParseCidr(other->cidr) : Result<ipam::Cidr>(NotFound(other_id));
    if (theirs.ok() && theirs->Overlaps(cidr)) {
      return Conflict(sn->cidr + " of subnet '" + sn->name + "' overlaps " + other->cidr + " (subnet '" + other->name +
                      "') already on router '" + found->name + "'")
          .WithReason("SUBNET_OVERLAP")
          .WithDetail("subnet_id", other_id);
    }
  }
  if (auto gateway = ipam::ParseIpv4(sn->gateway_ip); !gateway || s.IpamOf(sn->meta.id)->IsUsed(*gateway)) {
    return Conflict("the gateway address " + sn->gateway_ip + " of subnet '" + sn->name + "' is in use")
        .WithReason("IP_ADDRESS_IN_USE")
        .WithDetail("ip_address", sn->gateway_ip);
  }
  GP_ASSIGN_OR_RETURN(api::Port port, PlanOwnedPort(s, *n, found->department_id, kRouterInterface, found->meta.id,
                                                    {{sn->meta.id, sn->gateway_ip}}, false));
  port.status = "active";
  s.Save(t, port);  // takes the gateway address in the subnet's Ipam
  api::Router r = *found;
  r.interfaces.push_back({sn->meta.id, port.meta.id, sn->gateway_ip});
  s.Save(t, r);
  log::Info("router interface added", {{"router_id", r.meta.id}, {"subnet_id", sn->meta.id}});
  return r;
}

Result<api::Router> RemoveRouterInterface(State& s, Txn& t, const Caller& c, const std::string& router_id,
                                          const std::string& subnet_id) {
  GP_ASSIGN_OR_RETURN(const api::Router* found, FindVisibleRouter(s, c, router_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing routers"));
  api::Router r = *found;
  auto it = std::find_if(r.interfaces.begin(), r.interfaces.end(),
                         [&](const api::RouterInterface& i) { return i.subnet_id == subnet_id; });
  if (it == r.interfaces.end()) return NotFound("router '" + r.name + "' has no interface on subnet " + subnet_id);
  if (std::vector<std::string> fips = FloatingIpsThrough(s, r, subnet_id); !fips.empty()) {
    return RouterInUse(r, "translates " + std::to_string(fips.size()) +
                              " floating IP(s) for ports of this subnet; disassociate them first")
        .WithDetail("floating_ips", fips);
  }
  const std::string port_id = it->port_id;
  r.interfaces.erase(it);
  s.Remove<api::Port>(t, port_id);  // gives the gateway address back
  s.Save(t, r);
  return r;
}

// ---- Floating IPs ----

Result<api::FloatingIp> CreateFloatingIp(State& s, Txn& t, const Caller& c, const api::CreateFloatingIpRequest& req) {
  const std::string department_id = req.department_id.empty() ? c.department_id : req.department_id;
  const api::Department* d = s.FindDepartment(department_id);
  if (department_id.empty()) return Invalid("department_id", "required (the caller belongs to no department)");
  if (!d || !c.can_see_department(department_id)) return NotFound("department " + department_id + " not found");
  GP_RETURN_IF_ERROR(RequireManage(c, d->meta.id, "allocating floating IPs"));
  GP_ASSIGN_OR_RETURN(const api::Network* n, FindExternalNetwork(s, req.floating_network_id, "floating_network_id"));
  api::FloatingIp f;
  f.meta.id = NewUuid();
  f.department_id = d->meta.id;
  f.floating_network_id = n->meta.id;
  f.description = req.description;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(f), 1));
  std::vector<api::FixedIp> asked;
  if (!req.floating_ip_address.empty()) asked.push_back({"", req.floating_ip_address});
  // IP_ADDRESS_IN_USE for a taken floating_ip_address, SUBNET_FULL when none is left.
  GP_ASSIGN_OR_RETURN(api::Port port, PlanOwnedPort(s, *n, d->meta.id, kFloatingIpOwner, f.meta.id, asked, true));
  port.status = "active";
  port.meta.id = NewUuid();
  f.floating_port_id = port.meta.id;
  f.floating_subnet_id = port.fixed_ips.front().subnet_id;
  f.floating_ip_address = port.fixed_ips.front().ip_address;
  if (!req.port_id.empty()) GP_RETURN_IF_ERROR(PlanAssociation(s, c, f, req.port_id, req.fixed_ip_address));
  s.Save(t, port);  // takes the address in the external subnet's Ipam
  s.Save(t, f);
  log::Info("floating IP allocated", {{"floating_ip_id", f.meta.id}, {"address", f.floating_ip_address},
                                      {"port_id", f.port_id}});
  return f;
}

Result<api::FloatingIp> GetFloatingIp(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::FloatingIp* f, FindVisibleFloatingIp(s, c, id));
  return *f;
}

Page<api::FloatingIp> ListFloatingIps(const State& s, const Caller& c, const FloatingIpFilter& filter,
                                      const ListOptions& o) {
  return PageOf(s.floating_ips(), o, [&](const api::FloatingIp& f) {
    if (!filter.department_id.empty() && f.department_id != filter.department_id) return false;
    if (!filter.port_id.empty() && f.port_id != filter.port_id) return false;
    if (!filter.floating_network_id.empty() && f.floating_network_id != filter.floating_network_id) return false;
    return c.can_see_department(f.department_id);
  });
}

Result<api::FloatingIp> PatchFloatingIp(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchFloatingIpRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::FloatingIp* found, FindVisibleFloatingIp(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing floating IPs"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "floating IP " + id));
  api::FloatingIp f = *found;
  Disassociate(f);
  if (!req.port_id.empty()) {
    GP_RETURN_IF_ERROR(PlanAssociation(s, c, f, req.port_id, req.fixed_ip_address));
  } else if (!req.fixed_ip_address.empty()) {
    return Invalid("fixed_ip_address", "applies only with port_id");
  }
  s.Save(t, f);
  log::Info("floating IP changed", {{"floating_ip_id", f.meta.id}, {"port_id", f.port_id}});
  return f;
}

Status DeleteFloatingIp(State& s, Txn& t, const Caller& c, const std::string& id,
                        const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::FloatingIp* f, FindVisibleFloatingIp(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, f->department_id, "releasing floating IPs"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, f->meta, "floating IP " + id));
  const std::string port_id = f->floating_port_id;
  s.Remove<api::FloatingIp>(t, id);
  s.Remove<api::Port>(t, port_id);  // gives the address back
  log::Info("floating IP released", {{"floating_ip_id", id}});
  return OkStatus();
}

}  // namespace govpool::controller
