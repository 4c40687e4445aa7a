#include "tests/fakes/network/fake_northbound.h"

#include <cstdio>
#include <set>
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
    const std::string port_id = Get(p.external_ids, kPortIdKey);
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
                                  .dhcp_subnet_id = ""});
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
                          .dhcpv4_options = dhcp_ref(p)};
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
                      .dhcpv4_options = dhcp_ref(p)};
  }
  CollectGarbage(db);
  std::set<std::string> names;
  for (const auto& [uuid, p] : db.ports) {
    if (!names.insert(p.name).second) {
      return AlreadyExists("fake northbound: two Logical_Switch_Port rows named " + p.name);
    }
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
