// Builders and readers of OVSDB's JSON value forms (RFC 7047 section 5.1: atoms, sets, maps,
// uuids) and of transact operations, shared by the drivers that build operations over an
// ovsdb::Client (network/ovn/ovn_northbound.cc, network/ovs/local_ovs.cc). Include only from
// those .cc files: it is part of the few translation units that compile Boost.JSON.
//
// The readers take values as OVSDB sends them and throw std::exception (Boost.JSON's) on
// another shape; the drivers turn that into an Internal status.
#pragma once

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace govpool::ovsdb {

// ["map", [[k, v], ...]] of strings.
inline boost::json::value MapValue(const std::map<std::string, std::string>& m) {
  boost::json::array pairs;
  for (const auto& [k, v] : m) pairs.push_back(boost::json::array{boost::json::string(k), boost::json::string(v)});
  return boost::json::array{"map", std::move(pairs)};
}

// ["set", [s, ...]] of strings.
inline boost::json::value StringSet(const std::vector<std::string>& items) {
  boost::json::array set;
  for (const std::string& s : items) set.push_back(boost::json::string(s));
  return boost::json::array{"set", std::move(set)};
}

inline boost::json::value Uuid(const std::string& uuid) { return boost::json::array{"uuid", boost::json::string(uuid)}; }
inline boost::json::value NamedUuid(const std::string& name) {
  return boost::json::array{"named-uuid", boost::json::string(name)};
}

// {"op": op, "table": table}: the start of every operation.
inline boost::json::object Op(const char* op, const char* table) {
  return boost::json::object{{"op", op}, {"table", table}};
}

// An `insert` of `row` into `table`.
inline boost::json::object Insert(const char* table, boost::json::object row) {
  boost::json::object op = Op("insert", table);
  op["row"] = std::move(row);
  return op;
}

// An `update` of the row with _uuid `uuid` in `table` to `row`'s columns.
inline boost::json::object UpdateRow(const char* table, const std::string& uuid, boost::json::object row) {
  boost::json::object op = Op("update", table);
  op["where"] = boost::json::array{boost::json::array{"_uuid", "==", Uuid(uuid)}};
  op["row"] = std::move(row);
  return op;
}

// A set column's elements: ["set", [...]], or a single atom (a one-element set).
inline std::vector<boost::json::value> Elements(const boost::json::value& v) {
  if (v.is_array() && v.as_array().size() == 2 && v.as_array()[0] == "set") {
    const boost::json::array& a = v.as_array()[1].as_array();
    return {a.begin(), a.end()};
  }
  return {v};
}

// A ["map", [[k, v], ...]] of strings; an absent column (null) is an empty map.
inline std::map<std::string, std::string> ParseStringMap(const boost::json::value& v) {
  std::map<std::string, std::string> m;
  if (v.is_null()) return m;
  for (const boost::json::value& kv : v.as_array().at(1).as_array()) {
    m[std::string(kv.as_array().at(0).as_string())] = std::string(kv.as_array().at(1).as_string());
  }
  return m;
}

}  // namespace govpool::ovsdb
