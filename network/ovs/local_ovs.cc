#include "network/ovs/local_ovs.h"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "network/ovsdb/ovsdb_client.h"
#include "network/ovsdb/ovsdb_values.h"

namespace govpool::network {
namespace {
namespace json = boost::json;
using ovsdb::Elements;
using ovsdb::MapValue;
using ovsdb::NamedUuid;
using ovsdb::Op;
using ovsdb::StringSet;

using StringMap = std::map<std::string, std::string>;

constexpr char kOpenVSwitch[] = "Open_vSwitch";
constexpr char kBridge[] = "Bridge";
constexpr char kPort[] = "Port";
constexpr char kInterface[] = "Interface";
constexpr char kIfaceId[] = "iface-id";
constexpr char kOvnInstalled[] = "ovn-installed";

json::value UuidSet(const std::vector<json::value>& uuids) {
  return json::array{"set", json::array(uuids.begin(), uuids.end())};
}

json::array Where(const char* column, json::value value) {
  return json::array{json::array{column, "==", std::move(value)}};
}

json::object Select(const char* table, json::array where, std::vector<std::string> columns) {
  json::object op = Op("select", table);
  op["where"] = std::move(where);
  json::array cols;
  for (auto& c : columns) cols.push_back(json::string(c));
  op["columns"] = std::move(cols);
  return op;
}

const json::value& Column(const json::object& row, const char* name) {
  static const json::value kNull;
  const json::value* v = row.if_contains(name);
  return v != nullptr ? *v : kNull;
}

// An optional string column (a set of 0..1 strings), "" when empty.
std::string OptionalString(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  for (const json::value& e : Elements(v)) {
    if (e.is_string()) return std::string(e.as_string());
  }
  return "";
}

const json::array& Rows(const json::array& results, std::size_t i) {
  return results.at(i).as_object().at("rows").as_array();
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::vector<std::string> ChassisKeys() {
  return {"system-id", "hostname", "ovn-remote", "ovn-encap-type", "ovn-encap-ip", "ovn-bridge",
          "ovn-bridge-datapath-type"};
}

LocalOvs::LocalOvs(ovsdb::Client& client, Options options) : client_(client), options_(std::move(options)) {}

LocalOvs::LocalOvs(std::unique_ptr<ovsdb::Client> client, Options options)
    : owned_client_(std::move(client)), client_(*owned_client_), options_(std::move(options)) {}

LocalOvs::~LocalOvs() = default;

Result<std::unique_ptr<LocalOvs>> LocalOvs::Connect(const std::string& remote, Options options) {
  GP_ASSIGN_OR_RETURN(std::unique_ptr<ovsdb::Client> client, ovsdb::Client::Connect(remote));
  return std::unique_ptr<LocalOvs>(new LocalOvs(std::move(client), std::move(options)));
}

bool LocalOvs::connected() const { return client_.connected(); }

Result<ChassisChange> LocalOvs::ConfigureChassis(const ChassisConfig& config) {
  if (config.system_id.empty() || config.ovn_remote.empty() || config.encap_ip.empty() ||
      config.encap_type.empty() || config.bridge.empty()) {
    return InvalidArgument("chassis config needs system_id, ovn_remote, encap_type, encap_ip and bridge");
  }
  StringMap want{{"system-id", config.system_id},
                 {"ovn-remote", config.ovn_remote},
                 {"ovn-encap-type", config.encap_type},
                 {"ovn-encap-ip", config.encap_ip},
                 {"ovn-bridge", config.bridge}};
  if (!config.hostname.empty()) want["hostname"] = config.hostname;
  if (!config.datapath_type.empty()) want["ovn-bridge-datapath-type"] = config.datapath_type;

  GP_ASSIGN_OR_RETURN(
      json::array read,
      client_.Transact(options_.db,
                       json::array{Select(kOpenVSwitch, {}, {"_uuid", "external_ids"}),
                                   Select(kBridge, Where("name", json::string(config.bridge)),
                                          {"_uuid", "fail_mode", "datapath_type"})}));
  ChassisChange change;
  json::array ops;
  try {
    const json::array& roots = Rows(read, 0);
    if (roots.empty()) {
      return FailedPrecondition("the " + options_.db + " database has no Open_vSwitch row (not initialised)");
    }
    const json::object& root = roots.at(0).as_object();
    const json::value root_uuid = Column(root, "_uuid");
    const StringMap have = ovsdb::ParseStringMap(Column(root, "external_ids"));
    StringMap differing;
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) differing[k] = v;
    }
    if (!differing.empty()) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : differing) keys.push_back(k);
      // Map mutations run in order: drop the old values of our keys, then add the new ones.
      json::object mutate = Op("mutate", kOpenVSwitch);
      mutate["where"] = Where("_uuid", root_uuid);
      mutate["mutations"] = json::array{json::array{"external_ids", "delete", StringSet(keys)},
                                        json::array{"external_ids", "insert", MapValue(differing)}};
      ops.push_back(std::move(mutate));
      change.external_ids = true;
    }

    const json::array& bridges = Rows(read, 1);
    if (bridges.empty()) {
      // Bridge, Port and Interface are not root tables: the bridge lives only while
      // Open_vSwitch.bridges holds it. The `wait` makes a concurrent creation fail this
      // transaction instead of the index check reporting a clash.
      json::object absent = Op("wait", kBridge);
      absent["where"] = Where("name", json::string(config.bridge));
      absent["columns"] = json::array{"name"};
      absent["until"] = "==";
      absent["rows"] = json::array{};
      absent["timeout"] = 0;
      ops.push_back(std::move(absent));
      json::object iface = Op("insert", kInterface);
      iface["uuid-name"] = "bridge_iface";
      iface["row"] = json::object{{"name", json::string(config.bridge)}, {"type", "internal"}};
      ops.push_back(std::move(iface));
      json::object port = Op("insert", kPort);
      port["uuid-name"] = "bridge_port";
      port["row"] = json::object{{"name", json::string(config.bridge)}, {"interfaces", NamedUuid("bridge_iface")}};
      ops.push_back(std::move(port));
      json::object bridge = Op("insert", kBridge);
      bridge["uuid-name"] = "bridge";
      json::object row{{"name", json::string(config.bridge)}, {"fail_mode", "secure"}, {"ports", NamedUuid("bridge_port")}};
      if (!config.datapath_type.empty()) row["datapath_type"] = json::string(config.datapath_type);
      bridge["row"] = std::move(row);
      ops.push_back(std::move(bridge));
      json::object attach = Op("mutate", kOpenVSwitch);
      attach["where"] = Where("_uuid", root_uuid);
      attach["mutations"] = json::array{json::array{"bridges", "insert", UuidSet({NamedUuid("bridge")})}};
      ops.push_back(std::move(attach));
      change.bridge_created = true;
    } else {
      const json::object& bridge = bridges.at(0).as_object();
      json::object row;
      if (OptionalString(Column(bridge, "fail_mode")) != "secure") row["fail_mode"] = "secure";
      if (!config.datapath_type.empty() &&
          OptionalString(Column(bridge, "datapath_type")) != config.datapath_type) {
        row["datapath_type"] = json::string(config.datapath_type);
      }
      if (!row.empty()) {
        json::object update = Op("update", kBridge);
        update["where"] = Where("_uuid", Column(bridge, "_uuid"));
        update["row"] = std::move(row);
        ops.push_back(std::move(update));
        change.bridge_updated = true;
      }
    }
  } catch (const std::exception& e) {
    return Internal(std::string("local ovs: unreadable Open_vSwitch or Bridge row: ") + e.what());
  }
  if (ops.empty()) return change;
  auto written = client_.Transact(options_.db, std::move(ops));
  if (!written.ok()) return written.status().Annotate("configuring the chassis");
  return change;
}

Result<std::vector<PortBinding>> LocalOvs::ReadBindings() {
  GP_ASSIGN_OR_RETURN(json::array read,
                      client_.Transact(options_.db, json::array{Select(kInterface, {}, {"name", "ofport", "external_ids"})}));
  std::vector<PortBinding> bindings;
  try {
    for (const json::value& r : Rows(read, 0)) {
      const json::object& row = r.as_object();
      const StringMap ids = ovsdb::ParseStringMap(Column(row, "external_ids"));
      auto iface_id = ids.find(kIfaceId);
      if (iface_id == ids.end()) continue;
      PortBinding b;
      b.iface_id = iface_id->second;
      b.interface = std::string(Column(row, "name").as_string());
      for (const json::value& e : Elements(Column(row, "ofport"))) {
        if (e.is_int64()) b.ofport = e.as_int64();
      }
      auto installed = ids.find(kOvnInstalled);
      b.ovn_installed = installed != ids.end() && installed->second == "true";
      bindings.push_back(std::move(b));
    }
  } catch (const std::exception& e) {
    return Internal(std::string("local ovs: unreadable Interface row: ") + e.what());
  }
  std::sort(bindings.begin(), bindings.end(),
            [](const PortBinding& a, const PortBinding& b) { return a.interface < b.interface; });
  return bindings;
}

Result<std::vector<std::string>> LocalOvs::ListPorts(const std::string& bridge) {
  GP_ASSIGN_OR_RETURN(json::array read,
                      client_.Transact(options_.db, json::array{Select(kBridge, Where("name", json::string(bridge)), {"ports"}),
                                                                Select(kPort, {}, {"_uuid", "name"})}));
  std::vector<std::string> names;
  try {
    const json::array& bridges = Rows(read, 0);
    if (bridges.empty()) return NotFound("no bridge " + bridge);
    std::set<std::string> ports;
    for (const json::value& e : Elements(Column(bridges.at(0).as_object(), "ports"))) {
      ports.insert(std::string(e.as_array().at(1).as_string()));
    }
    for (const json::value& r : Rows(read, 1)) {
      const json::object& row = r.as_object();
      if (ports.contains(std::string(Column(row, "_uuid").as_array().at(1).as_string()))) {
        names.emplace_back(Column(row, "name").as_string());
      }
    }
  } catch (const std::exception& e) {
    return Internal(std::string("local ovs: unreadable Bridge or Port row: ") + e.what());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status LocalOvs::AddInternalPort(const std::string& bridge, const std::string& name,
                                 const std::map<std::string, std::string>& interface_external_ids) {
  json::object exists = Op("wait", kBridge);
  exists["where"] = Where("name", json::string(bridge));
  exists["columns"] = json::array{"name"};
  exists["until"] = "!=";
  exists["rows"] = json::array{};
  exists["timeout"] = 0;
  json::object iface = Op("insert", kInterface);
  iface["uuid-name"] = "iface";
  iface["row"] = json::object{{"name", json::string(name)},
                              {"type", "internal"},
                              {"external_ids", MapValue(interface_external_ids)}};
  json::object port = Op("insert", kPort);
  port["uuid-name"] = "port";
  port["row"] = json::object{{"name", json::string(name)}, {"interfaces", NamedUuid("iface")}};
  json::object attach = Op("mutate", kBridge);
  attach["where"] = Where("name", json::string(bridge));
  attach["mutations"] = json::array{json::array{"ports", "insert", UuidSet({NamedUuid("port")})}};
  auto done = client_.Transact(options_.db, json::array{std::move(exists), std::move(iface), std::move(port), std::move(attach)});
  if (!done.ok()) {
    Status s = done.status();
    if (s.code() == StatusCode::kFailedPrecondition) {
      return FailedPrecondition("no bridge " + bridge + " for port " + name + ": " + s.message());
    }
    return s.Annotate("adding port " + name + " to " + bridge);
  }
  return OkStatus();
}

Status LocalOvs::DeletePort(const std::string& bridge, const std::string& name) {
  GP_ASSIGN_OR_RETURN(json::array read,
                      client_.Transact(options_.db, json::array{Select(kPort, Where("name", json::string(name)), {"_uuid"})}));
  std::vector<json::value> uuids;
  try {
    for (const json::value& r : Rows(read, 0)) uuids.push_back(Column(r.as_object(), "_uuid"));
  } catch (const std::exception& e) {
    return Internal(std::string("local ovs: unreadable Port row: ") + e.what());
  }
  if (uuids.empty()) return OkStatus();
  // Port and Interface are not root tables: removing the port from the bridge deletes both.
  json::object detach = Op("mutate", kBridge);
  detach["where"] = Where("name", json::string(bridge));
  detach["mutations"] = json::array{json::array{"ports", "delete", UuidSet(uuids)}};
  auto done = client_.Transact(options_.db, json::array{std::move(detach)});
  if (!done.ok()) return done.status().Annotate("deleting port " + name + " from " + bridge);
  return OkStatus();
}

Result<OvnControllerStatus> QueryOvnController(const std::string& rundir, int timeout_ms) {
  const std::string pidfile = rundir + "/ovn-controller.pid";
  std::ifstream in(pidfile);
  int pid = 0;
  if (!(in >> pid) || pid <= 0) return Unavailable("ovn-controller is not running: no pid in " + pidfile);
  const std::string socket = rundir + "/ovn-controller." + std::to_string(pid) + ".ctl";
  // The unixctl socket speaks JSON-RPC 1.0 like OVSDB: a command is a method, its arguments
  // the params, and the answer's result is the command's text.
  auto client = ovsdb::Client::Connect("unix:" + socket, {.connect_timeout_ms = timeout_ms, .call_timeout_ms = timeout_ms});
  if (!client.ok()) return Unavailable("ovn-controller (pid " + std::to_string(pid) + ") does not answer on " + socket + ": " + client.status().message());
  GP_ASSIGN_OR_RETURN(json::value answer, (*client)->Call("connection-status", {}));
  OvnControllerStatus status;
  status.pid = pid;
  status.connection = answer.is_string() ? Trimmed(std::string(answer.as_string())) : json::serialize(answer);
  return status;
}

}  // namespace govpool::network
