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

}  // namespace

NorthboundChanges NorthboundPlan::Changes() const {
  NorthboundChanges c;
  c.switches = {static_cast<int>(create_switches.size()), static_cast<int>(update_switches.size()),
                static_cast<int>(delete_switches.size())};
  c.dhcp_options = {static_cast<int>(create_dhcp_options.size()), static_cast<int>(update_dhcp_options.size()),
                    static_cast<int>(delete_dhcp_options.size())};
  c.ports = {static_cast<int>(create_ports.size()), static_cast<int>(update_ports.size()),
             static_cast<int>(delete_ports.size())};
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
  std::set<std::string> seen_ports;
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
                .dhcp_subnet_id = ""};
    for (const LogicalSubnet& s : net->second->subnets) {
      if (!s.enable_dhcp) continue;
      if (std::any_of(p.ips.begin(), p.ips.end(), [&](const std::string& ip) { return Ipv4InCidr(ip, s.cidr); })) {
        row.dhcp_subnet_id = s.id;
        break;
      }
    }
    rows.ports.push_back(std::move(row));
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

  // Logical_Switch_Port, by port id.
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
        plan.create_ports.push_back(std::move(want));
        continue;
      }
      const PortRow& have = *it->second.front();
      const bool dhcp_differs = want.dhcpv4_options_uuid.empty()
                                    ? (!want.dhcp_subnet_id.empty() || !have.dhcpv4_options_uuid.empty())
                                    : have.dhcpv4_options_uuid != want.dhcpv4_options_uuid;
      if (have.name != want.name || have.addresses != want.addresses || have.port_security != want.port_security ||
          have.enabled != want.enabled || have.external_ids != want.external_ids ||
          have.network_id != want.network_id || dhcp_differs) {
        want.uuid = have.uuid;
        plan.update_ports.push_back(std::move(want));
      }
    }
    for (const auto& [id, group] : groups) {
      const bool keep_first = wanted.count(id) > 0 && recreated.count(id) == 0;
      for (std::size_t i = keep_first ? 1 : 0; i < group.size(); ++i) plan.delete_ports.push_back(*group[i]);
    }
  }
  return plan;
}

}  // namespace govpool::network
