#include "tests/fakes/network/fake_northbound.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>
#include <utility>

namespace govpool::network {
namespace {

std::string Get(const StringMap& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

}  // namespace

std::string FakeNorthbound::NewUuidLocked() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", next_uuid_++);
  return buf;
}

void FakeNorthbound::CollectGarbage(Db& db) {
  std::set<std::string> referenced;
  for (const auto& [uuid, sw] : db.switches) referenced.insert(sw.ports.begin(), sw.ports.end());
  for (auto it = db.ports.begin(); it != db.ports.end();) {
    it = referenced.count(it->first) > 0 ? std::next(it) : db.ports.erase(it);
  }
  for (auto& [uuid, port] : db.ports) {
    if (!port.dhcpv4_options.empty() && db.dhcp.count(port.dhcpv4_options) == 0) port.dhcpv4_options.clear();
  }
  std::set<std::string> held_acls;
  for (auto& [uuid, pg] : db.port_groups) {
    std::erase_if(pg.ports, [&](const std::string& p) { return db.ports.count(p) == 0; });  // weak
    held_acls.insert(pg.acls.begin(), pg.acls.end());
  }
  for (auto it = db.acls.begin(); it != db.acls.end();) {
    it = held_acls.count(it->first) > 0 ? std::next(it) : db.acls.erase(it);
  }
  std::set<std::string> held;
  for (const auto& [uuid, r] : db.routers) {
    held.insert(r.ports.begin(), r.ports.end());
    held.insert(r.nat.begin(), r.nat.end());
    held.insert(r.static_routes.begin(), r.static_routes.end());
  }
  auto sweep = [&](auto& table) {
    for (auto it = table.begin(); it != table.end();) it = held.count(it->first) > 0 ? std::next(it) : table.erase(it);
  };
  sweep(db.router_ports);
  sweep(db.nat);
  sweep(db.static_routes);
  for (const auto& [uuid, lrp] : db.router_ports) {
    for (const GatewayChassisRow& g : lrp.gateway_chassis) held.insert(g.uuid);
  }
  sweep(db.gateway_chassis);
}

Result<NorthboundState> FakeNorthbound::Read() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fail_read_.ok()) return std::exchange(fail_read_, OkStatus());
  NorthboundState state;
  std::map<std::string, std::string> switch_of_port;
  for (const auto& [uuid, sw] : db_.switches) {
    for (const std::string& p : sw.ports) switch_of_port[p] = uuid;
    const std::string network_id = Get(sw.external_ids, kNetworkIdKey);
    if (network_id.empty()) continue;
    state.switches.push_back(
        SwitchRow{.uuid = uuid, .network_id = network_id, .name = sw.name, .external_ids = sw.external_ids});
  }
  for (const auto& [uuid, d] : db_.dhcp) {
    const std::string subnet_id = Get(d.external_ids, kSubnetIdKey);
    if (subnet_id.empty()) continue;
    state.dhcp_options.push_back(DhcpOptionsRow{.uuid = uuid,
                                                .subnet_id = subnet_id,
                                                .network_id = Get(d.external_ids, kNetworkIdKey),
                                                .cidr = d.cidr,
                                                .options = d.options,
                                                .external_ids = d.external_ids});
  }
  for (const auto& [uuid, p] : db_.ports) {
    std::string port_id = Get(p.external_ids, kPortIdKey);
    if (port_id.empty()) port_id = Get(p.external_ids, kSwitchPortKey);
    if (port_id.empty()) continue;
    state.ports.push_back(PortRow{.uuid = uuid,
                                  .port_id = port_id,
                                  .network_id = Get(p.external_ids, kNetworkIdKey),
                                  .name = p.name,
                                  .addresses = p.addresses,
                                  .port_security = p.port_security,
                                  .enabled = p.enabled,
                                  .external_ids = p.external_ids,
                                  .switch_uuid = switch_of_port[uuid],
                                  .dhcpv4_options_uuid = p.dhcpv4_options,
                                  .dhcp_subnet_id = "",
                                  .type = p.type,
                                  .options = p.options});
  }
  for (const auto& [uuid, pg] : db_.port_groups) {
    std::string key;
    if (const std::string sg = Get(pg.external_ids, kSecurityGroupIdKey); !sg.empty()) {
      key = "sg:" + sg;
    } else if (const std::string net = Get(pg.external_ids, kDropNetworkIdKey); !net.empty()) {
      key = "drop:" + net;
    } else {
      continue;
    }
    PortGroupRow row{.uuid = uuid, .key = key, .name = pg.name, .external_ids = pg.external_ids,
                     .port_ids = {}, .port_uuids = pg.ports, .acls = {}};
    std::sort(row.port_uuids.begin(), row.port_uuids.end());
    for (const std::string& acl : pg.acls) row.acls.push_back(db_.acls.at(acl));
    state.port_groups.push_back(std::move(row));
  }
  for (const auto& [uuid, r] : db_.routers) {
    const std::string router_id = Get(r.external_ids, kRouterIdKey);
    if (router_id.empty()) continue;
    RouterRow row{.uuid = uuid, .router_id = router_id, .name = r.name, .external_ids = r.external_ids,
                  .ports = {}, .nat = {}, .static_routes = {}};
    for (const std::string& lrp : r.ports) {
      RouterPortRow port = db_.router_ports.at(lrp);
      for (GatewayChassisRow& g : port.gateway_chassis) g = db_.gateway_chassis.at(g.uuid);
      std::sort(port.gateway_chassis.begin(), port.gateway_chassis.end(),
                [](const GatewayChassisRow& a, const GatewayChassisRow& b) { return a.name < b.name; });
      row.ports.push_back(std::move(port));
    }
    std::sort(row.ports.begin(), row.ports.end(),
              [](const RouterPortRow& a, const RouterPortRow& b) { return a.name < b.name; });
    for (const std::string& n : r.nat) row.nat.push_back(db_.nat.at(n));
    for (const std::string& n : r.static_routes) row.static_routes.push_back(db_.static_routes.at(n));
    state.routers.push_back(std::move(row));
  }
  return state;
}

Status FakeNorthbound::Apply(const NorthboundPlan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  ++apply_calls_;
  if (!fail_apply_.ok()) return std::exchange(fail_apply_, OkStatus());
  Db db = db_;  // all or nothing: work on a copy
  for (const PortRow& p : plan.delete_ports) {
    auto sw = db.switches.find(p.switch_uuid);
    if (sw != db.switches.end()) std::erase(sw->second.ports, p.uuid);
    db.ports.erase(p.uuid);
  }
  for (const SwitchRow& s : plan.delete_switches) db.switches.erase(s.uuid);
  for (const DhcpOptionsRow& d : plan.delete_dhcp_options) db.dhcp.erase(d.uuid);
  for (const PortGroupRow& g : plan.delete_port_groups) db.port_groups.erase(g.uuid);
  for (const RouterRow& r : plan.delete_routers) db.routers.erase(r.uuid);
  std::map<std::string, std::string> new_switch, new_dhcp;  // govpool id -> new _uuid
  for (const SwitchRow& s : plan.create_switches) {
    const std::string uuid = NewUuidLocked();
    db.switches[uuid] = Switch{.name = s.name, .external_ids = s.external_ids, .ports = {}};
    new_switch[s.network_id] = uuid;
  }
  for (const DhcpOptionsRow& d : plan.create_dhcp_options) {
    const std::string uuid = NewUuidLocked();
    db.dhcp[uuid] = Dhcp{.cidr = d.cidr, .options = d.options, .external_ids = d.external_ids};
    new_dhcp[d.subnet_id] = uuid;
  }
  for (const SwitchRow& s : plan.update_switches) {
    auto it = db.switches.find(s.uuid);
    if (it == db.switches.end()) continue;
    it->second.name = s.name;
    it->second.external_ids = s.external_ids;
  }
  for (const DhcpOptionsRow& d : plan.update_dhcp_options) {
    auto it = db.dhcp.find(d.uuid);
    if (it == db.dhcp.end()) continue;
    it->second = Dhcp{.cidr = d.cidr, .options = d.options, .external_ids = d.external_ids};
  }
  auto dhcp_ref = [&](const PortRow& p) -> std::string {
    if (!p.dhcpv4_options_uuid.empty()) return p.dhcpv4_options_uuid;
    if (p.dhcp_subnet_id.empty()) return "";
    auto it = new_dhcp.find(p.dhcp_subnet_id);
    return it == new_dhcp.end() ? "" : it->second;
  };
  for (const PortRow& p : plan.create_ports) {
    const std::string uuid = NewUuidLocked();
    db.ports[uuid] = Port{.name = p.name,
                          .addresses = p.addresses,
                          .port_security = p.port_security,
                          .enabled = p.enabled,
                          .external_ids = p.external_ids,
                          .dhcpv4_options = dhcp_ref(p),
                          .type = p.type,
                          .options = p.options};
    std::string sw = p.switch_uuid;
    if (sw.empty()) {
      auto it = new_switch.find(p.network_id);
      if (it != new_switch.end()) sw = it->second;
    }
    auto it = db.switches.find(sw);
    if (it != db.switches.end()) it->second.ports.push_back(uuid);
  }
  for (const PortRow& p : plan.update_ports) {
    auto it = db.ports.find(p.uuid);
    if (it == db.ports.end()) continue;
    it->second = Port{.name = p.name,
                      .addresses = p.addresses,
                      .port_security = p.port_security,
                      .enabled = p.enabled,
                      .external_ids = p.external_ids,
                      .dhcpv4_options = dhcp_ref(p),
                      .type = p.type,
                      .options = p.options};
  }
  std::map<std::string, std::string> new_port;  // port id -> new _uuid
  for (const auto& [uuid, p] : db.ports) {
    if (!Get(p.external_ids, kPortIdKey).empty()) new_port.emplace(Get(p.external_ids, kPortIdKey), uuid);
  }
  auto group_row = [&](const PortGroupRow& g) {
    PortGroup pg{.name = g.name, .external_ids = g.external_ids, .ports = {}, .acls = {}};
    for (std::size_t i = 0; i < g.port_ids.size(); ++i) {
      const std::string& uuid = i < g.port_uuids.size() && !g.port_uuids[i].empty() ? g.port_uuids[i]
                                                                                     : new_port[g.port_ids[i]];
      if (db.ports.count(uuid) > 0) pg.ports.push_back(uuid);
    }
    for (const AclRow& a : g.acls) {
      std::string uuid = a.uuid;
      if (uuid.empty()) {
        uuid = NewUuidLocked();
        AclRow row = a;
        row.uuid = uuid;
        db.acls[uuid] = std::move(row);
      }
      pg.acls.push_back(uuid);
    }
    return pg;
  };
  for (const PortGroupRow& g : plan.create_port_groups) db.port_groups[NewUuidLocked()] = group_row(g);
  for (const PortGroupRow& g : plan.update_port_groups) {
    if (db.port_groups.count(g.uuid) > 0) db.port_groups[g.uuid] = group_row(g);
  }
  auto router_row = [&](const RouterRow& r) {
    Router out{.name = r.name, .external_ids = r.external_ids, .ports = {}, .nat = {}, .static_routes = {}};
    for (const RouterPortRow& p : r.ports) {
      std::string uuid = p.uuid;
      if (uuid.empty() || p.changed) {
        if (uuid.empty()) uuid = NewUuidLocked();
        RouterPortRow row = p;
        row.uuid = uuid;
        row.changed = false;
        for (GatewayChassisRow& g : row.gateway_chassis) {
          if (g.uuid.empty()) {
            g.uuid = NewUuidLocked();
            db.gateway_chassis[g.uuid] = g;
          }
          g = GatewayChassisRow{.uuid = g.uuid, .name = "", .chassis_name = "", .priority = 0};
        }
        db.router_ports[uuid] = std::move(row);
      }
      out.ports.push_back(uuid);
    }
    auto children = [&](const auto& rows, auto& table, std::vector<std::string>& refs) {
      for (const auto& row : rows) {
        std::string uuid = row.uuid;
        if (uuid.empty()) {
          uuid = NewUuidLocked();
          auto copy = row;
          copy.uuid = uuid;
          table[uuid] = std::move(copy);
        }
        refs.push_back(uuid);
      }
    };
    children(r.nat, db.nat, out.nat);
    children(r.static_routes, db.static_routes, out.static_routes);
    return out;
  };
  for (const RouterRow& r : plan.create_routers) db.routers[NewUuidLocked()] = router_row(r);
  for (const RouterRow& r : plan.update_routers) {
    if (db.routers.count(r.uuid) > 0) db.routers[r.uuid] = router_row(r);
  }
  CollectGarbage(db);
  std::set<std::string> names;
  for (const auto& [uuid, p] : db.ports) {
    if (!names.insert(p.name).second) {
      return AlreadyExists("fake northbound: two Logical_Switch_Port rows named " + p.name);
    }
  }
  names.clear();
  for (const auto& [uuid, g] : db.port_groups) {
    if (!names.insert(g.name).second) return AlreadyExists("fake northbound: two Port_Group rows named " + g.name);
  }
  names.clear();
  for (const auto& [uuid, p] : db.router_ports) {
    if (!names.insert(p.name).second) {
      return AlreadyExists("fake northbound: two Logical_Router_Port rows named " + p.name);
    }
  }
  names.clear();
  for (const auto& [uuid, g] : db.gateway_chassis) {
    if (!names.insert(g.name).second) return AlreadyExists("fake northbound: two Gateway_Chassis rows named " + g.name);
  }
  db_ = std::move(db);
  return OkStatus();
}

void FakeNorthbound::FailNextRead(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_read_ = std::move(status);
}

void FakeNorthbound::FailNextApply(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_apply_ = std::move(status);
}

int FakeNorthbound::apply_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return apply_calls_;
}

std::string FakeNorthbound::InsertSwitch(const std::string& name, const StringMap& external_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string uuid = NewUuidLocked();
  db_.switches[uuid] = Switch{.name = name, .external_ids = external_ids, .ports = {}};
  return uuid;
}

std::string FakeNorthbound::InsertDhcpOptions(const std::string& cidr, const StringMap& external_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string uuid = NewUuidLocked();
  db_.dhcp[uuid] = Dhcp{.cidr = cidr, .options = {}, .external_ids = external_ids};
  return uuid;
}

bool FakeNorthbound::SwitchExists(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return db_.switches.count(uuid) > 0;
}

bool FakeNorthbound::DhcpOptionsExists(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return db_.dhcp.count(uuid) > 0;
}

bool FakeNorthbound::SetPortAddresses(const std::string& port_name, const std::vector<std::string>& addresses) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, p] : db_.ports) {
    if (p.name == port_name) {
      p.addresses = addresses;
      return true;
    }
  }
  return false;
}

bool FakeNorthbound::DeletePort(const std::string& port_name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = db_.ports.begin(); it != db_.ports.end(); ++it) {
    if (it->second.name != port_name) continue;
    for (auto& [uuid, sw] : db_.switches) std::erase(sw.ports, it->first);
    db_.ports.erase(it);
    return true;
  }
  return false;
}

bool FakeNorthbound::DeleteDhcpOptionsOfSubnet(const std::string& subnet_id) {
  std::lock_guard<std::mutex> lock(mu_);
  bool found = false;
  for (auto it = db_.dhcp.begin(); it != db_.dhcp.end();) {
    if (Get(it->second.external_ids, kSubnetIdKey) == subnet_id) {
      it = db_.dhcp.erase(it);
      found = true;
    } else {
      ++it;
    }
  }
  CollectGarbage(db_);
  return found;
}

}  // namespace govpool::network

namespace govpool::network {

std::vector<std::string> FakeNorthbound::PortGroupAclMatches(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> matches;
  for (const auto& [uuid, g] : db_.port_groups) {
    if (g.name != name) continue;
    for (const std::string& acl : g.acls) matches.push_back(db_.acls.at(acl).match);
  }
  std::sort(matches.begin(), matches.end());
  return matches;
}

bool FakeNorthbound::RemoveFirstAclOfPortGroup(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, g] : db_.port_groups) {
    if (g.name != name || g.acls.empty()) continue;
    auto first = std::min_element(g.acls.begin(), g.acls.end(), [&](const std::string& a, const std::string& b) {
      return db_.acls.at(a).match < db_.acls.at(b).match;
    });
    g.acls.erase(first);
    CollectGarbage(db_);
    return true;
  }
  return false;
}

bool FakeNorthbound::AddAclToPortGroup(const std::string& name, const std::string& match) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, g] : db_.port_groups) {
    if (g.name != name) continue;
    const std::string acl = NewUuidLocked();
    db_.acls[acl] = AclRow{.uuid = acl, .direction = "to-lport", .priority = 2000, .match = match,
                           .action = "drop", .external_ids = {}};
    g.acls.push_back(acl);
    return true;
  }
  return false;
}

bool FakeNorthbound::DeletePortGroup(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = db_.port_groups.begin(); it != db_.port_groups.end(); ++it) {
    if (it->second.name != name) continue;
    db_.port_groups.erase(it);
    CollectGarbage(db_);
    return true;
  }
  return false;
}

bool FakeNorthbound::RemoveFirstNatOfRouter(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, r] : db_.routers) {
    if (r.name != name || r.nat.empty()) continue;
    auto first = std::min_element(r.nat.begin(), r.nat.end(), [&](const std::string& a, const std::string& b) {
      const NatRow &x = db_.nat.at(a), &y = db_.nat.at(b);
      return std::tie(x.external_ip, x.logical_ip) < std::tie(y.external_ip, y.logical_ip);
    });
    r.nat.erase(first);
    CollectGarbage(db_);
    return true;
  }
  return false;
}

bool FakeNorthbound::DeleteRouterPort(const std::string& lrp_name) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, p] : db_.router_ports) {
    if (p.name != lrp_name) continue;
    const std::string gone = uuid;
    for (auto& [ruuid, r] : db_.routers) std::erase(r.ports, gone);
    CollectGarbage(db_);
    return true;
  }
  return false;
}

bool FakeNorthbound::SetRouterPortMac(const std::string& lrp_name, const std::string& mac) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uuid, p] : db_.router_ports) {
    if (p.name != lrp_name) continue;
    p.mac = mac;
    return true;
  }
  return false;
}

int FakeNorthbound::router_child_rows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(db_.router_ports.size() + db_.nat.size() + db_.static_routes.size() +
                          db_.gateway_chassis.size());
}

int FakeNorthbound::acl_rows() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(db_.acls.size());
}

}  // namespace govpool::network
