#include "network/ovn/ovn_northbound.h"

#include <boost/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace govpool::network {
namespace {
namespace json = boost::json;

constexpr char kSwitch[] = "Logical_Switch";
constexpr char kDhcp[] = "DHCP_Options";
constexpr char kPort[] = "Logical_Switch_Port";

json::value MapValue(const StringMap& m) {
  json::array pairs;
  for (const auto& [k, v] : m) pairs.push_back(json::array{json::string(k), json::string(v)});
  return json::array{"map", std::move(pairs)};
}

json::value StringSet(const std::vector<std::string>& items) {
  json::array set;
  for (const std::string& s : items) set.push_back(json::string(s));
  return json::array{"set", std::move(set)};
}

json::value Uuid(const std::string& uuid) { return json::array{"uuid", json::string(uuid)}; }
json::value NamedUuid(const std::string& name) { return json::array{"named-uuid", json::string(name)}; }

json::array WhereUuid(const std::string& uuid) { return json::array{json::array{"_uuid", "==", Uuid(uuid)}}; }

// A set column's elements: ["set",[...]] or a single atom.
std::vector<json::value> Elements(const json::value& v) {
  if (v.is_array() && v.as_array().size() == 2 && v.as_array()[0] == "set") {
    const json::array& a = v.as_array()[1].as_array();
    return {a.begin(), a.end()};
  }
  return {v};
}

std::string AtomString(const json::value& v) { return std::string(v.as_string()); }
std::string AtomUuid(const json::value& v) { return std::string(v.as_array().at(1).as_string()); }

StringMap ParseMap(const json::value& v) {
  StringMap m;
  for (const json::value& kv : v.as_array().at(1).as_array()) {
    m[AtomString(kv.as_array().at(0))] = AtomString(kv.as_array().at(1));
  }
  return m;
}

std::vector<std::string> ParseStrings(const json::value& v) {
  std::vector<std::string> out;
  for (const json::value& e : Elements(v)) out.push_back(AtomString(e));
  return out;
}

std::string Get(const StringMap& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

json::object Op(const char* op, const char* table) { return json::object{{"op", op}, {"table", table}}; }

}  // namespace

Result<NorthboundState> OvnNorthbound::Read() {
  json::array ops;
  auto select = [&](const char* table, std::initializer_list<const char*> columns) {
    json::object op = Op("select", table);
    op["where"] = json::array{};
    json::array cols;
    for (const char* c : columns) cols.push_back(json::string(c));
    op["columns"] = std::move(cols);
    ops.push_back(std::move(op));
  };
  select(kSwitch, {"_uuid", "name", "external_ids", "ports"});
  select(kDhcp, {"_uuid", "cidr", "options", "external_ids"});
  select(kPort, {"_uuid", "name", "addresses", "port_security", "enabled", "dhcpv4_options", "external_ids"});
  auto result = client_.Transact(options_.db, std::move(ops));
  if (!result.ok()) return result.status().Annotate("ovn northbound read");

  // Ours: the id key present and govpool-owner equal to options_.owner (absent == "").
  // Strips govpool-owner.
  auto ours = [&](StringMap& ids, const char* id_key) {
    if (Get(ids, id_key).empty() || Get(ids, kOwnerKey) != options_.owner) return false;
    ids.erase(kOwnerKey);
    return true;
  };
  NorthboundState state;
  try {
    std::map<std::string, std::string> switch_of_port;
    for (const json::value& row : result->at(0).at("rows").as_array()) {
      const std::string uuid = AtomUuid(row.at("_uuid"));
      for (const json::value& p : Elements(row.at("ports"))) switch_of_port[AtomUuid(p)] = uuid;
      StringMap ids = ParseMap(row.at("external_ids"));
      if (!ours(ids, kNetworkIdKey)) continue;
      state.switches.push_back(SwitchRow{.uuid = uuid,
                                         .network_id = Get(ids, kNetworkIdKey),
                                         .name = AtomString(row.at("name")),
                                         .external_ids = std::move(ids)});
    }
    for (const json::value& row : result->at(1).at("rows").as_array()) {
      StringMap ids = ParseMap(row.at("external_ids"));
      if (!ours(ids, kSubnetIdKey)) continue;
      state.dhcp_options.push_back(DhcpOptionsRow{.uuid = AtomUuid(row.at("_uuid")),
                                                  .subnet_id = Get(ids, kSubnetIdKey),
                                                  .network_id = Get(ids, kNetworkIdKey),
                                                  .cidr = AtomString(row.at("cidr")),
                                                  .options = ParseMap(row.at("options")),
                                                  .external_ids = std::move(ids)});
    }
    for (const json::value& row : result->at(2).at("rows").as_array()) {
      StringMap ids = ParseMap(row.at("external_ids"));
      if (!ours(ids, kPortIdKey)) continue;
      const std::string uuid = AtomUuid(row.at("_uuid"));
      bool enabled = true;  // unset means enabled
      for (const json::value& e : Elements(row.at("enabled"))) enabled = e.as_bool();
      std::string dhcp;
      for (const json::value& e : Elements(row.at("dhcpv4_options"))) dhcp = AtomUuid(e);
      state.ports.push_back(PortRow{.uuid = uuid,
                                    .port_id = Get(ids, kPortIdKey),
                                    .network_id = Get(ids, kNetworkIdKey),
                                    .name = AtomString(row.at("name")),
                                    .addresses = ParseStrings(row.at("addresses")),
                                    .port_security = ParseStrings(row.at("port_security")),
                                    .enabled = enabled,
                                    .external_ids = std::move(ids),
                                    .switch_uuid = switch_of_port[uuid],
                                    .dhcpv4_options_uuid = std::move(dhcp),
                                    .dhcp_subnet_id = ""});
    }
  } catch (const std::exception& e) {
    return Internal(std::string("ovn northbound read: unexpected row: ") + e.what());
  }
  return state;
}

Status OvnNorthbound::Apply(const NorthboundPlan& plan) {
  if (plan.empty()) return OkStatus();
  auto with_owner = [&](StringMap ids) {
    if (!options_.owner.empty()) ids[kOwnerKey] = options_.owner;
    return MapValue(ids);
  };
  json::array ops;
  // Deletes. A port leaves its switch's `ports` first (it is not a root table).
  for (const PortRow& p : plan.delete_ports) {
    if (!p.switch_uuid.empty()) {
      json::object m = Op("mutate", kSwitch);
      m["where"] = WhereUuid(p.switch_uuid);
      m["mutations"] = json::array{json::array{"ports", "delete", json::array{"set", json::array{Uuid(p.uuid)}}}};
      ops.push_back(std::move(m));
    }
    json::object d = Op("delete", kPort);
    d["where"] = WhereUuid(p.uuid);
    ops.push_back(std::move(d));
  }
  for (const SwitchRow& s : plan.delete_switches) {
    json::object d = Op("delete", kSwitch);
    d["where"] = WhereUuid(s.uuid);
    ops.push_back(std::move(d));
  }
  for (const DhcpOptionsRow& o : plan.delete_dhcp_options) {
    json::object d = Op("delete", kDhcp);
    d["where"] = WhereUuid(o.uuid);
    ops.push_back(std::move(d));
  }

  auto dhcp_row = [&](const DhcpOptionsRow& o) {
    return json::object{{"cidr", o.cidr}, {"options", MapValue(o.options)}, {"external_ids", with_owner(o.external_ids)}};
  };
  std::map<std::string, std::string> new_dhcp;  // subnet id -> uuid-name
  for (std::size_t i = 0; i < plan.create_dhcp_options.size(); ++i) {
    const DhcpOptionsRow& o = plan.create_dhcp_options[i];
    const std::string name = "dhcp" + std::to_string(i);
    json::object ins = Op("insert", kDhcp);
    ins["row"] = dhcp_row(o);
    ins["uuid-name"] = name;
    ops.push_back(std::move(ins));
    new_dhcp[o.subnet_id] = name;
  }
  for (const DhcpOptionsRow& o : plan.update_dhcp_options) {
    json::object up = Op("update", kDhcp);
    up["where"] = WhereUuid(o.uuid);
    up["row"] = dhcp_row(o);
    ops.push_back(std::move(up));
  }

  auto port_row = [&](const PortRow& p) {
    json::value dhcp = json::array{"set", json::array{}};
    if (!p.dhcpv4_options_uuid.empty()) {
      dhcp = Uuid(p.dhcpv4_options_uuid);
    } else if (auto it = new_dhcp.find(p.dhcp_subnet_id); !p.dhcp_subnet_id.empty() && it != new_dhcp.end()) {
      dhcp = NamedUuid(it->second);
    }
    return json::object{{"name", p.name},
                        {"addresses", StringSet(p.addresses)},
                        {"port_security", StringSet(p.port_security)},
                        {"enabled", p.enabled},
                        {"dhcpv4_options", std::move(dhcp)},
                        {"external_ids", with_owner(p.external_ids)}};
  };
  // New ports, grouped by the switch that will hold them: existing switches by _uuid, new
  // switches by network id.
  std::map<std::string, json::array> ports_of_existing, ports_of_new;
  for (std::size_t i = 0; i < plan.create_ports.size(); ++i) {
    const PortRow& p = plan.create_ports[i];
    const std::string name = "port" + std::to_string(i);
    json::object ins = Op("insert", kPort);
    ins["row"] = port_row(p);
    ins["uuid-name"] = name;
    ops.push_back(std::move(ins));
    if (p.switch_uuid.empty()) {
      ports_of_new[p.network_id].push_back(NamedUuid(name));
    } else {
      ports_of_existing[p.switch_uuid].push_back(NamedUuid(name));
    }
  }
  for (const SwitchRow& s : plan.create_switches) {
    json::object ins = Op("insert", kSwitch);
    json::array ports = std::move(ports_of_new[s.network_id]);
    ins["row"] = json::object{{"name", s.name},
                              {"external_ids", with_owner(s.external_ids)},
                              {"ports", json::array{"set", std::move(ports)}}};
    ops.push_back(std::move(ins));
  }
  for (auto& [uuid, ports] : ports_of_existing) {
    json::object m = Op("mutate", kSwitch);
    m["where"] = WhereUuid(uuid);
    m["mutations"] = json::array{json::array{"ports", "insert", json::array{"set", std::move(ports)}}};
    ops.push_back(std::move(m));
  }
  for (const SwitchRow& s : plan.update_switches) {
    json::object up = Op("update", kSwitch);
    up["where"] = WhereUuid(s.uuid);
    up["row"] = json::object{{"name", s.name}, {"external_ids", with_owner(s.external_ids)}};
    ops.push_back(std::move(up));
  }
  for (const PortRow& p : plan.update_ports) {
    json::object up = Op("update", kPort);
    up["where"] = WhereUuid(p.uuid);
    up["row"] = port_row(p);
    ops.push_back(std::move(up));
  }
  auto result = client_.Transact(options_.db, std::move(ops));
  if (!result.ok()) return result.status().Annotate("ovn northbound apply");
  return OkStatus();
}

}  // namespace govpool::network
