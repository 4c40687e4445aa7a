#include "network/ovn/ovn_northbound.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
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

// The columns read, per table, and their kinds (for defaults and update2 diffs).
enum class Kind { kScalar, kSet, kMap };
struct Column {
  const char* name;
  Kind kind;
};
const std::vector<Column>& ColumnsOf(const std::string& table) {
  static const std::vector<Column> kSwitchColumns{
      {"name", Kind::kScalar}, {"external_ids", Kind::kMap}, {"ports", Kind::kSet}};
  static const std::vector<Column> kDhcpColumns{
      {"cidr", Kind::kScalar}, {"options", Kind::kMap}, {"external_ids", Kind::kMap}};
  static const std::vector<Column> kPortColumns{{"name", Kind::kScalar},         {"addresses", Kind::kSet},
                                                {"port_security", Kind::kSet},   {"enabled", Kind::kSet},
                                                {"dhcpv4_options", Kind::kSet}, {"external_ids", Kind::kMap}};
  if (table == kSwitch) return kSwitchColumns;
  if (table == kDhcp) return kDhcpColumns;
  return kPortColumns;
}
const char* const kTables[] = {kSwitch, kDhcp, kPort};

// A row as the monitor's cache keeps it: every column present (defaults filled in), _uuid set.
json::object Normalized(const std::string& table, const std::string& uuid, json::object row) {
  for (const Column& c : ColumnsOf(table)) {
    if (row.contains(c.name)) continue;
    switch (c.kind) {
      case Kind::kScalar: row[c.name] = ""; break;
      case Kind::kSet: row[c.name] = json::array{"set", json::array{}}; break;
      case Kind::kMap: row[c.name] = json::array{"map", json::array{}}; break;
    }
  }
  row["_uuid"] = Uuid(uuid);
  return row;
}

// update2 "modify": sets toggle the diff's elements (symmetric difference); maps add absent
// keys, remove pairs given with their current value, replace the others; scalars are replaced.
void ApplyDiff(const std::string& table, json::object& row, const json::object& diff) {
  for (const Column& c : ColumnsOf(table)) {
    const json::value* d = diff.if_contains(c.name);
    if (d == nullptr) continue;
    if (c.kind == Kind::kScalar) {
      row[c.name] = *d;
    } else if (c.kind == Kind::kSet) {
      std::vector<json::value> elems = Elements(row[c.name]);
      for (const json::value& e : Elements(*d)) {
        auto it = std::find(elems.begin(), elems.end(), e);
        if (it == elems.end()) {
          elems.push_back(e);
        } else {
          elems.erase(it);
        }
      }
      row[c.name] = json::array{"set", json::array(elems.begin(), elems.end())};
    } else {
      json::array pairs = row[c.name].as_array().at(1).as_array();
      for (const json::value& kv : d->as_array().at(1).as_array()) {
        const json::value& key = kv.as_array().at(0);
        auto it = std::find_if(pairs.begin(), pairs.end(), [&](const json::value& p) { return p.as_array().at(0) == key; });
        if (it == pairs.end()) {
          pairs.push_back(kv);
        } else if (it->as_array().at(1) == kv.as_array().at(1)) {
          pairs.erase(it);
        } else {
          *it = kv;
        }
      }
      row[c.name] = json::array{"map", std::move(pairs)};
    }
  }
}

}  // namespace

struct OvnNorthbound::Cache {
  std::mutex mu;
  std::map<std::string, std::map<std::string, json::object>> tables;  // table -> uuid -> row
  std::string broken;  // set by an update the cache could not apply: Read fails from then on
};

OvnNorthbound::OvnNorthbound(ovsdb::Client& client, Options options)
    : client_(client), options_(std::move(options)) {}

OvnNorthbound::~OvnNorthbound() {
  if (!monitor_id_.empty() && client_.connected()) client_.MonitorCancel(monitor_id_).IgnoreError();
}

Status OvnNorthbound::StartMonitor() {
  if (cache_) return FailedPrecondition("ovn northbound: monitor already started");
  static std::atomic<int> next_id{0};
  monitor_id_ = "govpool-northbound-" + std::to_string(next_id++);
  cache_ = std::make_unique<Cache>();
  std::vector<ovsdb::MonitorRequest> requests;
  for (const char* table : kTables) {
    ovsdb::MonitorRequest r{.table = table, .columns = {}, .where = {}};
    for (const Column& c : ColumnsOf(table)) r.columns.push_back(c.name);
    requests.push_back(std::move(r));
  }
  Status s = client_.MonitorCond(options_.db, monitor_id_, requests,
                                 [this](const ovsdb::TableUpdates& u) { OnUpdate(u); });
  if (!s.ok()) {
    monitor_id_.clear();
    cache_.reset();
    return s.Annotate("ovn northbound monitor");
  }
  return OkStatus();
}

void OvnNorthbound::OnUpdate(const ovsdb::TableUpdates& updates) {
  std::lock_guard<std::mutex> lock(cache_->mu);
  try {
    for (const auto& [table_name, rows] : updates.tables) {
      const std::string table(table_name);
      auto& cached = cache_->tables[table];
      for (const auto& [uuid_key, change] : rows.as_object()) {
        const std::string uuid(uuid_key);
        const json::object& c = change.as_object();
        if (const json::value* row = c.if_contains("initial")) {
          cached[uuid] = Normalized(table, uuid, row->as_object());
        } else if (const json::value* ins = c.if_contains("insert")) {
          cached[uuid] = Normalized(table, uuid, ins->as_object());
        } else if (c.contains("delete")) {
          cached.erase(uuid);
        } else if (const json::value* mod = c.if_contains("modify")) {
          auto it = cached.find(uuid);
          if (it != cached.end()) ApplyDiff(table, it->second, mod->as_object());
        }
      }
    }
  } catch (const std::exception& e) {
    // A malformed update (ovsdb-server does not send these): the cache can no longer be
    // trusted, Read fails and the owner starts over. Nothing may throw out of a callback.
    cache_->broken = e.what();
  }
}

Result<NorthboundState> OvnNorthbound::Read() {
  std::vector<json::object> rows[3];
  if (cache_) {
    if (!client_.connected()) return Unavailable("ovn northbound read: the connection was lost");
    std::lock_guard<std::mutex> lock(cache_->mu);
    if (!cache_->broken.empty()) {
      return Internal("ovn northbound read: the monitor cache missed an update it could not read: " + cache_->broken);
    }
    for (int t = 0; t < 3; ++t) {
      for (const auto& [uuid, row] : cache_->tables[kTables[t]]) rows[t].push_back(row);
    }
  } else {
    json::array ops;
    for (const char* table : kTables) {
      json::array cols{"_uuid"};
      for (const Column& c : ColumnsOf(table)) cols.push_back(json::string(c.name));
      ops.push_back(json::object{{"op", "select"}, {"table", table}, {"where", json::array{}}, {"columns", cols}});
    }
    auto result = client_.Transact(options_.db, std::move(ops));
    if (!result.ok()) return result.status().Annotate("ovn northbound read");
    try {
      for (int t = 0; t < 3; ++t) {
        for (const json::value& row : result->at(t).at("rows").as_array()) rows[t].push_back(row.as_object());
      }
    } catch (const std::exception& e) {
      return Internal(std::string("ovn northbound read: unexpected answer: ") + e.what());
    }
  }

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
    for (const json::object& row : rows[0]) {
      const std::string uuid = AtomUuid(row.at("_uuid"));
      for (const json::value& p : Elements(row.at("ports"))) switch_of_port[AtomUuid(p)] = uuid;
      StringMap ids = ParseMap(row.at("external_ids"));
      if (!ours(ids, kNetworkIdKey)) continue;
      state.switches.push_back(SwitchRow{.uuid = uuid,
                                         .network_id = Get(ids, kNetworkIdKey),
                                         .name = AtomString(row.at("name")),
                                         .external_ids = std::move(ids)});
    }
    for (const json::object& row : rows[1]) {
      StringMap ids = ParseMap(row.at("external_ids"));
      if (!ours(ids, kSubnetIdKey)) continue;
      state.dhcp_options.push_back(DhcpOptionsRow{.uuid = AtomUuid(row.at("_uuid")),
                                                  .subnet_id = Get(ids, kSubnetIdKey),
                                                  .network_id = Get(ids, kNetworkIdKey),
                                                  .cidr = AtomString(row.at("cidr")),
                                                  .options = ParseMap(row.at("options")),
                                                  .external_ids = std::move(ids)});
    }
    for (const json::object& row : rows[2]) {
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
