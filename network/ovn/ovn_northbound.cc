#include "network/ovn/ovn_northbound.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "network/ovsdb/ovsdb_values.h"

namespace govpool::network {
namespace {
namespace json = boost::json;
using ovsdb::Elements;
using ovsdb::MapValue;
using ovsdb::NamedUuid;
using ovsdb::Op;
using ovsdb::StringSet;
using ovsdb::Uuid;

constexpr char kSwitch[] = "Logical_Switch";
constexpr char kDhcp[] = "DHCP_Options";
constexpr char kPort[] = "Logical_Switch_Port";
constexpr char kPortGroup[] = "Port_Group";
constexpr char kAcl[] = "ACL";
constexpr char kRouter[] = "Logical_Router";
constexpr char kRouterPort[] = "Logical_Router_Port";
constexpr char kNat[] = "NAT";
constexpr char kRoute[] = "Logical_Router_Static_Route";
constexpr char kGatewayChassis[] = "Gateway_Chassis";

json::array WhereUuid(const std::string& uuid) { return json::array{json::array{"_uuid", "==", Uuid(uuid)}}; }

std::string AtomString(const json::value& v) { return std::string(v.as_string()); }
std::string AtomUuid(const json::value& v) { return std::string(v.as_array().at(1).as_string()); }

std::vector<std::string> ParseStrings(const json::value& v) {
  std::vector<std::string> out;
  for (const json::value& e : Elements(v)) out.push_back(AtomString(e));
  return out;
}

std::string Get(const StringMap& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

// The columns read, per table, and their kinds (for defaults and update2 diffs).
enum class Kind { kScalar, kInteger, kSet, kMap };
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
                                                {"dhcpv4_options", Kind::kSet}, {"external_ids", Kind::kMap},
                                                {"type", Kind::kScalar},         {"options", Kind::kMap}};
  static const std::vector<Column> kPortGroupColumns{
      {"name", Kind::kScalar}, {"ports", Kind::kSet}, {"acls", Kind::kSet}, {"external_ids", Kind::kMap}};
  static const std::vector<Column> kAclColumns{{"direction", Kind::kScalar}, {"priority", Kind::kInteger},
                                               {"match", Kind::kScalar},     {"action", Kind::kScalar},
                                               {"external_ids", Kind::kMap}};
  static const std::vector<Column> kRouterColumns{{"name", Kind::kScalar},
                                                  {"ports", Kind::kSet},
                                                  {"nat", Kind::kSet},
                                                  {"static_routes", Kind::kSet},
                                                  {"external_ids", Kind::kMap}};
  static const std::vector<Column> kRouterPortColumns{{"name", Kind::kScalar},
                                                      {"mac", Kind::kScalar},
                                                      {"networks", Kind::kSet},
                                                      {"gateway_chassis", Kind::kSet},
                                                      {"external_ids", Kind::kMap}};
  static const std::vector<Column> kNatColumns{{"type", Kind::kScalar},         {"external_ip", Kind::kScalar},
                                               {"logical_ip", Kind::kScalar},   {"logical_port", Kind::kSet},
                                               {"external_mac", Kind::kSet},    {"external_ids", Kind::kMap}};
  static const std::vector<Column> kRouteColumns{
      {"ip_prefix", Kind::kScalar}, {"nexthop", Kind::kScalar}, {"external_ids", Kind::kMap}};
  static const std::vector<Column> kGatewayChassisColumns{
      {"name", Kind::kScalar}, {"chassis_name", Kind::kScalar}, {"priority", Kind::kInteger}};
  if (table == kSwitch) return kSwitchColumns;
  if (table == kDhcp) return kDhcpColumns;
  if (table == kPortGroup) return kPortGroupColumns;
  if (table == kAcl) return kAclColumns;
  if (table == kRouter) return kRouterColumns;
  if (table == kRouterPort) return kRouterPortColumns;
  if (table == kNat) return kNatColumns;
  if (table == kRoute) return kRouteColumns;
  if (table == kGatewayChassis) return kGatewayChassisColumns;
  return kPortColumns;
}
const char* const kTables[] = {kSwitch, kDhcp,       kPort, kPortGroup, kAcl,
                               kRouter, kRouterPort, kNat,  kRoute,     kGatewayChassis};
constexpr int kTableCount = 10;

// An optional string column ("set" of at most one): "" when empty.
std::string OptionalString(const json::value& v) {
  for (const json::value& e : Elements(v)) return AtomString(e);
  return "";
}
json::value OptionalValue(const std::string& s) {
  return s.empty() ? json::value(json::array{"set", json::array{}}) : json::value(json::string(s));
}

// A row as the monitor's cache keeps it: every column present (defaults filled in), _uuid set.
json::object Normalized(const std::string& table, const std::string& uuid, json::object row) {
  for (const Column& c : ColumnsOf(table)) {
    if (row.contains(c.name)) continue;
    switch (c.kind) {
      case Kind::kScalar: row[c.name] = ""; break;
      case Kind::kInteger: row[c.name] = 0; break;
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
    if (c.kind == Kind::kScalar || c.kind == Kind::kInteger) {
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
  // The rows, by table: pointers into the monitor cache (read under its lock, held until the
  // state is built: no copy of the cache) or into the select's answer.
  std::vector<const json::object*> rows[kTableCount];
  std::unique_lock<std::mutex> cache_lock;
  json::array selected;
  if (cache_) {
    if (!client_.connected()) return Unavailable("ovn northbound read: the connection was lost");
    cache_lock = std::unique_lock<std::mutex>(cache_->mu);
    if (!cache_->broken.empty()) {
      return Internal("ovn northbound read: the monitor cache missed an update it could not read: " + cache_->broken);
    }
    for (int t = 0; t < kTableCount; ++t) {
      for (const auto& [uuid, row] : cache_->tables[kTables[t]]) rows[t].push_back(&row);
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
    selected = std::move(result).value();
    try {
      for (int t = 0; t < kTableCount; ++t) {
        for (const json::value& row : selected.at(t).at("rows").as_array()) rows[t].push_back(&row.as_object());
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
    for (const json::object* row_ptr : rows[0]) {
      const json::object& row = *row_ptr;
      const std::string uuid = AtomUuid(row.at("_uuid"));
      for (const json::value& p : Elements(row.at("ports"))) switch_of_port[AtomUuid(p)] = uuid;
      StringMap ids = ovsdb::ParseStringMap(row.at("external_ids"));
      if (!ours(ids, kNetworkIdKey)) continue;
      state.switches.push_back(SwitchRow{.uuid = uuid,
                                         .network_id = Get(ids, kNetworkIdKey),
                                         .name = AtomString(row.at("name")),
                                         .external_ids = std::move(ids)});
    }
    for (const json::object* row_ptr : rows[1]) {
      const json::object& row = *row_ptr;
      StringMap ids = ovsdb::ParseStringMap(row.at("external_ids"));
      if (!ours(ids, kSubnetIdKey)) continue;
      state.dhcp_options.push_back(DhcpOptionsRow{.uuid = AtomUuid(row.at("_uuid")),
                                                  .subnet_id = Get(ids, kSubnetIdKey),
                                                  .network_id = Get(ids, kNetworkIdKey),
                                                  .cidr = AtomString(row.at("cidr")),
                                                  .options = ovsdb::ParseStringMap(row.at("options")),
                                                  .external_ids = std::move(ids)});
    }
    for (const json::object* row_ptr : rows[2]) {
      const json::object& row = *row_ptr;
      StringMap ids = ovsdb::ParseStringMap(row.at("external_ids"));
      if (!ours(ids, kPortIdKey) && !ours(ids, kSwitchPortKey)) continue;
      const std::string uuid = AtomUuid(row.at("_uuid"));
      bool enabled = true;  // unset means enabled
      for (const json::value& e : Elements(row.at("enabled"))) enabled = e.as_bool();
      std::string dhcp;
      for (const json::value& e : Elements(row.at("dhcpv4_options"))) dhcp = AtomUuid(e);
      const std::string port_id = Get(ids, kPortIdKey).empty() ? Get(ids, kSwitchPortKey) : Get(ids, kPortIdKey);
      state.ports.push_back(PortRow{.uuid = uuid,
                                    .port_id = port_id,
                                    .network_id = Get(ids, kNetworkIdKey),
                                    .name = AtomString(row.at("name")),
                                    .addresses = ParseStrings(row.at("addresses")),
                                    .port_security = ParseStrings(row.at("port_security")),
                                    .enabled = enabled,
                                    .external_ids = std::move(ids),
                                    .switch_uuid = switch_of_port[uuid],
                                    .dhcpv4_options_uuid = std::move(dhcp),
                                    .dhcp_subnet_id = "",
                                    .type = AtomString(row.at("type")),
                                    .options = ovsdb::ParseStringMap(row.at("options"))});
    }
    std::map<std::string, const json::object*> acl_rows;
    for (const json::object* row : rows[4]) acl_rows[AtomUuid(row->at("_uuid"))] = row;
    for (const json::object* row_ptr : rows[3]) {
      const json::object& row = *row_ptr;
      StringMap ids = ovsdb::ParseStringMap(row.at("external_ids"));
      std::string key;
      if (ours(ids, kSecurityGroupIdKey)) {
        key = "sg:" + Get(ids, kSecurityGroupIdKey);
      } else if (ours(ids, kDropNetworkIdKey)) {
        key = "drop:" + Get(ids, kDropNetworkIdKey);
      } else {
        continue;
      }
      PortGroupRow group{.uuid = AtomUuid(row.at("_uuid")),
                         .key = std::move(key),
                         .name = AtomString(row.at("name")),
                         .external_ids = std::move(ids),
                         .port_ids = {},
                         .port_uuids = {},
                         .acls = {}};
      for (const json::value& p : Elements(row.at("ports"))) group.port_uuids.push_back(AtomUuid(p));
      std::sort(group.port_uuids.begin(), group.port_uuids.end());
      for (const json::value& a : Elements(row.at("acls"))) {
        auto acl = acl_rows.find(AtomUuid(a));
        if (acl == acl_rows.end()) continue;  // not yet in the cache (the next pass sees it)
        const json::object& r = *acl->second;
        group.acls.push_back(AclRow{.uuid = acl->first,
                                    .direction = AtomString(r.at("direction")),
                                    .priority = static_cast<int>(r.at("priority").to_number<std::int64_t>()),
                                    .match = AtomString(r.at("match")),
                                    .action = AtomString(r.at("action")),
                                    .external_ids = ovsdb::ParseStringMap(r.at("external_ids"))});
      }
      state.port_groups.push_back(std::move(group));
    }
    auto by_uuid = [&](int table) {
      std::map<std::string, const json::object*> m;
      for (const json::object* row : rows[table]) m[AtomUuid(row->at("_uuid"))] = row;
      return m;
    };
    const auto lrps = by_uuid(6), nats = by_uuid(7), routes = by_uuid(8), gcs = by_uuid(9);
    for (const json::object* row_ptr : rows[5]) {
      const json::object& row = *row_ptr;
      StringMap ids = ovsdb::ParseStringMap(row.at("external_ids"));
      if (!ours(ids, kRouterIdKey)) continue;
      RouterRow router{.uuid = AtomUuid(row.at("_uuid")),
                       .router_id = Get(ids, kRouterIdKey),
                       .name = AtomString(row.at("name")),
                       .external_ids = std::move(ids),
                       .ports = {},
                       .nat = {},
                       .static_routes = {}};
      // A child missing from the cache (its update not yet applied) is left out: the next
      // pass sees it.
      for (const json::value& ref : Elements(row.at("ports"))) {
        auto it = lrps.find(AtomUuid(ref));
        if (it == lrps.end()) continue;
        const json::object& r = *it->second;
        RouterPortRow port{.uuid = it->first,
                           .name = AtomString(r.at("name")),
                           .mac = AtomString(r.at("mac")),
                           .networks = ParseStrings(r.at("networks")),
                           .external_ids = ovsdb::ParseStringMap(r.at("external_ids")),
                           .gateway_chassis = {},
                           .changed = false};
        for (const json::value& gref : Elements(r.at("gateway_chassis"))) {
          auto g = gcs.find(AtomUuid(gref));
          if (g == gcs.end()) continue;
          port.gateway_chassis.push_back(
              GatewayChassisRow{.uuid = g->first,
                                .name = AtomString(g->second->at("name")),
                                .chassis_name = AtomString(g->second->at("chassis_name")),
                                .priority = static_cast<int>(g->second->at("priority").to_number<std::int64_t>())});
        }
        std::sort(port.gateway_chassis.begin(), port.gateway_chassis.end(),
                  [](const GatewayChassisRow& a, const GatewayChassisRow& b) { return a.name < b.name; });
        router.ports.push_back(std::move(port));
      }
      std::sort(router.ports.begin(), router.ports.end(),
                [](const RouterPortRow& a, const RouterPortRow& b) { return a.name < b.name; });
      for (const json::value& ref : Elements(row.at("nat"))) {
        auto it = nats.find(AtomUuid(ref));
        if (it == nats.end()) continue;
        const json::object& r = *it->second;
        router.nat.push_back(NatRow{.uuid = it->first,
                                    .type = AtomString(r.at("type")),
                                    .external_ip = AtomString(r.at("external_ip")),
                                    .logical_ip = AtomString(r.at("logical_ip")),
                                    .logical_port = OptionalString(r.at("logical_port")),
                                    .external_mac = OptionalString(r.at("external_mac")),
                                    .external_ids = ovsdb::ParseStringMap(r.at("external_ids"))});
      }
      for (const json::value& ref : Elements(row.at("static_routes"))) {
        auto it = routes.find(AtomUuid(ref));
        if (it == routes.end()) continue;
        router.static_routes.push_back(StaticRouteRow{.uuid = it->first,
                                                      .ip_prefix = AtomString(it->second->at("ip_prefix")),
                                                      .nexthop = AtomString(it->second->at("nexthop")),
                                                      .external_ids = ovsdb::ParseStringMap(it->second->at("external_ids"))});
      }
      state.routers.push_back(std::move(router));
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
  for (const RouterRow& r : plan.delete_routers) {  // its children are garbage collected
    json::object d = Op("delete", kRouter);
    d["where"] = WhereUuid(r.uuid);
    ops.push_back(std::move(d));
  }
  for (const PortGroupRow& g : plan.delete_port_groups) {  // its ACLs are garbage collected
    json::object d = Op("delete", kPortGroup);
    d["where"] = WhereUuid(g.uuid);
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
                        {"external_ids", with_owner(p.external_ids)},
                        {"type", p.type},
                        {"options", MapValue(p.options)}};
  };
  // New ports, grouped by the switch that will hold them: existing switches by _uuid, new
  // switches by network id.
  std::map<std::string, json::array> ports_of_existing, ports_of_new;
  std::map<std::string, std::string> new_port;  // port id -> uuid-name
  for (std::size_t i = 0; i < plan.create_ports.size(); ++i) {
    const PortRow& p = plan.create_ports[i];
    const std::string name = "port" + std::to_string(i);
    new_port[p.port_id] = name;
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
  // Port groups after the ports they name; their new ACLs first.
  int next_acl = 0;
  auto group_row = [&](const PortGroupRow& g) {
    json::array ports, acls;
    for (std::size_t i = 0; i < g.port_ids.size(); ++i) {
      if (i < g.port_uuids.size() && !g.port_uuids[i].empty()) {
        ports.push_back(Uuid(g.port_uuids[i]));
      } else if (auto it = new_port.find(g.port_ids[i]); it != new_port.end()) {
        ports.push_back(NamedUuid(it->second));
      }
    }
    for (const AclRow& a : g.acls) {
      if (!a.uuid.empty()) {
        acls.push_back(Uuid(a.uuid));
        continue;
      }
      const std::string name = "acl" + std::to_string(next_acl++);
      json::object ins = Op("insert", kAcl);
      ins["row"] = json::object{{"direction", a.direction},
                                {"priority", a.priority},
                                {"match", a.match},
                                {"action", a.action},
                                {"external_ids", MapValue(a.external_ids)}};
      ins["uuid-name"] = name;
      ops.push_back(std::move(ins));
      acls.push_back(NamedUuid(name));
    }
    return json::object{{"name", g.name},
                        {"external_ids", with_owner(g.external_ids)},
                        {"ports", json::array{"set", std::move(ports)}},
                        {"acls", json::array{"set", std::move(acls)}}};
  };
  for (const PortGroupRow& g : plan.create_port_groups) ops.push_back(ovsdb::Insert(kPortGroup, group_row(g)));
  for (const PortGroupRow& g : plan.update_port_groups) ops.push_back(ovsdb::UpdateRow(kPortGroup, g.uuid, group_row(g)));
  // Routers: new and changed children first (uuid-names), then the router row naming them all.
  int next_child = 0;
  auto insert_child = [&](const char* table, json::object row) {
    const std::string name = "child" + std::to_string(next_child++);
    json::object ins = Op("insert", table);
    ins["row"] = std::move(row);
    ins["uuid-name"] = name;
    ops.push_back(std::move(ins));
    return NamedUuid(name);
  };
  auto router_row = [&](const RouterRow& r) {
    json::array ports, nat, routes;
    for (const RouterPortRow& p : r.ports) {
      if (!p.uuid.empty() && !p.changed) {
        ports.push_back(Uuid(p.uuid));
        continue;
      }
      json::array chassis;
      for (const GatewayChassisRow& g : p.gateway_chassis) {
        chassis.push_back(g.uuid.empty() ? insert_child(kGatewayChassis, json::object{{"name", g.name},
                                                                                      {"chassis_name", g.chassis_name},
                                                                                      {"priority", g.priority}})
                                         : Uuid(g.uuid));
      }
      json::object row{{"name", p.name},
                       {"mac", p.mac},
                       {"networks", StringSet(p.networks)},
                       {"gateway_chassis", json::array{"set", std::move(chassis)}},
                       {"external_ids", MapValue(p.external_ids)}};
      if (p.uuid.empty()) {
        ports.push_back(insert_child(kRouterPort, std::move(row)));
      } else {
        json::object up = Op("update", kRouterPort);
        up["where"] = WhereUuid(p.uuid);
        up["row"] = std::move(row);
        ops.push_back(std::move(up));
        ports.push_back(Uuid(p.uuid));
      }
    }
    for (const NatRow& n : r.nat) {
      nat.push_back(!n.uuid.empty() ? Uuid(n.uuid)
                                    : insert_child(kNat, json::object{{"type", n.type},
                                                                      {"external_ip", n.external_ip},
                                                                      {"logical_ip", n.logical_ip},
                                                                      {"logical_port", OptionalValue(n.logical_port)},
                                                                      {"external_mac", OptionalValue(n.external_mac)},
                                                                      {"external_ids", MapValue(n.external_ids)}}));
    }
    for (const StaticRouteRow& s : r.static_routes) {
      routes.push_back(!s.uuid.empty() ? Uuid(s.uuid)
                                       : insert_child(kRoute, json::object{{"ip_prefix", s.ip_prefix},
                                                                           {"nexthop", s.nexthop},
                                                                           {"external_ids", MapValue(s.external_ids)}}));
    }
    return json::object{{"name", r.name},
                        {"external_ids", with_owner(r.external_ids)},
                        {"ports", json::array{"set", std::move(ports)}},
                        {"nat", json::array{"set", std::move(nat)}},
                        {"static_routes", json::array{"set", std::move(routes)}}};
  };
  for (const RouterRow& r : plan.create_routers) ops.push_back(ovsdb::Insert(kRouter, router_row(r)));
  for (const RouterRow& r : plan.update_routers) ops.push_back(ovsdb::UpdateRow(kRouter, r.uuid, router_row(r)));
  auto result = client_.Transact(options_.db, std::move(ops));
  if (!result.ok()) return result.status().Annotate("ovn northbound apply");
  return OkStatus();
}

}  // namespace govpool::network
