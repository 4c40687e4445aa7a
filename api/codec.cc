#include "api/codec.h"

#include <boost/json.hpp>

#include <cmath>
#include <set>

#include "common/clock.h"
#include "common/strings.h"

namespace govpool::api {
namespace json = boost::json;

std::int64_t* QuotaField(Quota& q, std::string_view r) {
  if (r == "instances") return &q.instances;
  if (r == "vcpus") return &q.vcpus;
  if (r == "memory_mib") return &q.memory_mib;
  if (r == "volumes") return &q.volumes;
  if (r == "volume_gib") return &q.volume_gib;
  if (r == "snapshots") return &q.snapshots;
  if (r == "networks") return &q.networks;
  return nullptr;
}

std::int64_t QuotaValue(const Quota& q, std::string_view r) {
  Quota copy = q;
  const std::int64_t* f = QuotaField(copy, r);
  return f ? *f : 0;
}

namespace {

std::string Iso(std::int64_t ms) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

void PutMeta(json::object& o, const Meta& m) {
  o["id"] = m.id;
  o["revision"] = m.revision;
  o["created_at"] = Iso(m.created_at_ms);
  o["updated_at"] = Iso(m.updated_at_ms);
}

json::object QuotaJson(const Quota& q) {
  json::object o;
  for (const char* r : kQuotaResources) o[r] = QuotaValue(q, r);
  return o;
}

json::object AmountsJson(const ResourceAmounts& a) {
  return {{"vcpus", a.vcpus}, {"memory_mib", a.memory_mib}, {"disk_gib", a.disk_gib}};
}

json::array StringArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string Serialize(const json::value& v) { return json::serialize(v); }

Status FieldError(const std::string& field, std::string message) {
  return InvalidArgument(field.empty() ? message : field + ": " + message)
      .WithDetail("field", field);
}

// Reads one JSON object field by field, remembering the first error and which keys were
// consumed, so that Finish() can reject unknown fields (strict mode).
class Reader {
 public:
  Reader(const json::object& obj, std::string prefix, bool strict)
      : obj_(obj), prefix_(std::move(prefix)), strict_(strict) {}

  std::string Path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  const json::value* Take(std::string_view key, bool required) {
    consumed_.insert(std::string(key));
    auto it = obj_.find(key);
    if (it == obj_.end() || (it->value().is_null() && !required)) {
      if (required) Fail(FieldError(Path(key), "is required"));
      return nullptr;
    }
    return &it->value();
  }

  void String(std::string_view key, std::string& out, bool required, size_t max_len = 255) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return;
    if (!v->is_string()) return Fail(FieldError(Path(key), "must be a string"));
    const auto& s = v->get_string();
    if (s.size() > max_len) {
      return Fail(FieldError(Path(key), "must be at most " + std::to_string(max_len) + " characters"));
    }
    out.assign(s.data(), s.size());
  }

  void Name(std::string_view key, std::string& out, bool required) {
    String(key, out, required, 63);
    if (status_.ok() && (required || !out.empty()) && !IsValidName(out)) {
      Fail(FieldError(Path(key),
                      "must be 1-63 characters of letters, digits, '.', '_' or '-', "
                      "starting with a letter or digit"));
    }
  }

  void Int(std::string_view key, std::int64_t& out, bool required, std::int64_t min,
           std::int64_t max) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return;
    std::int64_t value = 0;
    if (v->is_int64()) {
      value = v->get_int64();
    } else if (v->is_uint64()) {
      return Fail(FieldError(Path(key), "must be at most " + std::to_string(max)));
    } else if (v->is_double()) {
      return Fail(FieldError(Path(key), "must be an integer"));
    } else {
      return Fail(FieldError(Path(key), "must be an integer"));
    }
    if (value < min) return Fail(FieldError(Path(key), "must be at least " + std::to_string(min)));
    if (value > max) return Fail(FieldError(Path(key), "must be at most " + std::to_string(max)));
    out = value;
  }

  void Double(std::string_view key, double& out, bool required, double min, double max) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return;
    double value = 0;
    if (v->is_double()) value = v->get_double();
    else if (v->is_int64()) value = static_cast<double>(v->get_int64());
    else if (v->is_uint64()) value = static_cast<double>(v->get_uint64());
    else return Fail(FieldError(Path(key), "must be a number"));
    if (!std::isfinite(value) || value < min || value > max) {
      return Fail(FieldError(Path(key), "must be between " + std::to_string(min) + " and " +
                                            std::to_string(max)));
    }
    out = value;
  }

  void Bool(std::string_view key, bool& out, bool required) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return;
    if (!v->is_bool()) return Fail(FieldError(Path(key), "must be true or false"));
    out = v->get_bool();
  }

  void StringList(std::string_view key, std::vector<std::string>& out, bool required,
                  size_t max_items = 64) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return;
    if (!v->is_array()) return Fail(FieldError(Path(key), "must be an array of strings"));
    const auto& a = v->get_array();
    if (a.size() > max_items) {
      return Fail(FieldError(Path(key), "must have at most " + std::to_string(max_items) + " items"));
    }
    out.clear();
    std::set<std::string> seen;
    for (const auto& item : a) {
      if (!item.is_string()) return Fail(FieldError(Path(key), "must be an array of strings"));
      std::string s(item.get_string());
      if (strict_ && !IsValidName(s)) {
        return Fail(FieldError(Path(key), "item '" + s + "' is not a valid name"));
      }
      if (seen.insert(s).second) out.push_back(std::move(s));
    }
  }

  // Returns the nested object reader's source, or nullptr (missing or error).
  const json::object* Object(std::string_view key, bool required) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return nullptr;
    if (!v->is_object()) {
      Fail(FieldError(Path(key), "must be an object"));
      return nullptr;
    }
    return &v->get_object();
  }

  const json::array* Array(std::string_view key, bool required) {
    const json::value* v = Take(key, required);
    if (!v || !status_.ok()) return nullptr;
    if (!v->is_array()) {
      Fail(FieldError(Path(key), "must be an array"));
      return nullptr;
    }
    return &v->get_array();
  }

  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

  Status Finish() {
    if (status_.ok() && strict_) {
      for (const auto& kv : obj_) {
        if (!consumed_.count(std::string(kv.key()))) {
          return FieldError(Path(kv.key()), "unknown field");
        }
      }
    }
    return status_;
  }

  bool strict() const { return strict_; }

 private:
  const json::object& obj_;
  std::string prefix_;
  bool strict_;
  std::set<std::string> consumed_;
  Status status_;
};

Result<json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("malformed JSON: " + ec.message()).WithReason("MALFORMED_JSON");
  return v;
}

Result<const json::object*> RootObject(const json::value& v) {
  if (!v.is_object()) return InvalidArgument("request body must be a JSON object");
  return &v.get_object();
}

// Parses `text` as an object and runs `fill(reader)`; the reader is strict for requests.
template <typename T, typename Fill>
Result<T> ReadObject(std::string_view text, bool strict, Fill fill) {
  if (text.empty()) return InvalidArgument("request body is required");
  GP_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
  GP_ASSIGN_OR_RETURN(const json::object* obj, RootObject(root));
  Reader r(*obj, "", strict);
  T out{};
  fill(r, out);
  GP_RETURN_IF_ERROR(r.Finish());
  return out;
}

void ReadMeta(Reader& r, Meta& m) {
  r.String("id", m.id, true, 64);
  r.Int("revision", m.revision, false, 0, INT64_MAX);
  std::string created, updated;
  r.String("created_at", created, false);
  r.String("updated_at", updated, false);
  auto to_ms = [](const std::string& s) -> std::int64_t {
    if (s.empty()) return 0;
    auto t = ParseRfc3339(s);
    if (!t.ok()) return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  };
  m.created_at_ms = to_ms(created);
  m.updated_at_ms = to_ms(updated);
}

void ReadQuota(Reader& r, const json::object& obj, Quota& q, bool strict) {
  Reader qr(obj, r.Path("quota"), strict);
  for (const char* res : kQuotaResources) qr.Int(res, *QuotaField(q, res), false, -1, kMaxQuota);
  r.Fail(qr.Finish());
}

void ReadNumaCells(Reader& r, const json::array& cells, std::vector<NumaCell>& out) {
  if (cells.size() > 64) return r.Fail(FieldError(r.Path("capacity.numa_cells"), "at most 64 cells"));
  std::set<std::int32_t> ids;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string path = r.Path("capacity.numa_cells[" + std::to_string(i) + "]");
    if (!cells[i].is_object()) return r.Fail(FieldError(path, "must be an object"));
    Reader cr(cells[i].get_object(), path, r.strict());
    NumaCell c;
    std::int64_t id = 0;
    cr.Int("id", id, true, 0, 1023);
    cr.Int("cpus", c.cpus, true, 1, kMaxVcpus);
    cr.Int("memory_mib", c.memory_mib, true, 1, kMaxMemoryMib);
    c.id = static_cast<std::int32_t>(id);
    Status s = cr.Finish();
    if (!s.ok()) return r.Fail(s);
    if (!ids.insert(c.id).second) return r.Fail(FieldError(path + ".id", "duplicate cell id"));
    out.push_back(c);
  }
}

void ReadCapacity(Reader& r, const json::object& obj, HostCapacity& cap) {
  Reader cr(obj, r.Path("capacity"), r.strict());
  cr.Int("cpus", cap.cpus, true, 1, kMaxVcpus);
  cr.Int("memory_mib", cap.memory_mib, true, 1, kMaxMemoryMib);
  cr.Int("disk_gib", cap.disk_gib, true, 0, kMaxDiskGib);
  if (const json::array* cells = cr.Array("numa_cells", false)) {
    ReadNumaCells(r, *cells, cap.numa_cells);
  }
  r.Fail(cr.Finish());
  if (!cap.numa_cells.empty()) {
    std::int64_t cpus = 0, mem = 0;
    for (const auto& c : cap.numa_cells) {
      cpus += c.cpus;
      mem += c.memory_mib;
    }
    if (cpus != cap.cpus || mem != cap.memory_mib) {
      r.Fail(FieldError(r.Path("capacity.numa_cells"),
                        "cells must add up to the host's cpus and memory_mib"));
    }
  }
}

void ValidateRole(Reader& r, const std::string& role) {
  if (role != "admin" && role != "dept-admin" && role != "dept-member" && role != "agent") {
    r.Fail(FieldError("role", "must be one of admin, dept-admin, dept-member, agent"));
  }
}

}  // namespace

// ---------------- Encoders ----------------

std::string EncodeDepartment(const Department& d) {
  json::object o;
  PutMeta(o, d.meta);
  o["name"] = d.name;
  o["description"] = d.description;
  o["quota"] = QuotaJson(d.quota);
  o["allowed_pools"] = StringArray(d.allowed_pools);
  return Serialize(o);
}

std::string EncodeFlavor(const Flavor& f) {
  json::object o;
  PutMeta(o, f.meta);
  o["name"] = f.name;
  o["description"] = f.description;
  o["vcpus"] = f.vcpus;
  o["memory_mib"] = f.memory_mib;
  o["disk_gib"] = f.disk_gib;
  o["required_traits"] = StringArray(f.required_traits);
  o["forbidden_traits"] = StringArray(f.forbidden_traits);
  o["required_aggregates"] = StringArray(f.required_aggregates);
  return Serialize(o);
}

std::string EncodeHost(const Host& h) {
  json::object o;
  PutMeta(o, h.meta);
  o["name"] = h.name;
  o["pool"] = h.pool;
  o["status"] = h.status;
  o["enabled"] = h.enabled;
  o["maintenance"] = h.maintenance;
  json::array cells;
  for (const auto& c : h.capacity.numa_cells) {
    cells.push_back(json::object{{"id", c.id}, {"cpus", c.cpus}, {"memory_mib", c.memory_mib}});
  }
  o["capacity"] = json::object{{"cpus", h.capacity.cpus},
                               {"memory_mib", h.capacity.memory_mib},
                               {"disk_gib", h.capacity.disk_gib},
                               {"numa_cells", std::move(cells)}};
  o["cpu_allocation_ratio"] = h.cpu_allocation_ratio;
  o["memory_allocation_ratio"] = h.memory_allocation_ratio;
  o["disk_allocation_ratio"] = h.disk_allocation_ratio;
  o["traits"] = StringArray(h.traits);
  o["aggregates"] = StringArray(h.aggregates);
  o["dedicated_departments"] = StringArray(h.dedicated_departments);
  o["max_instances"] = h.max_instances;
  o["last_heartbeat_at"] = h.last_heartbeat_ms ? Iso(h.last_heartbeat_ms) : "";
  o["agent_user_id"] = h.agent_user_id;
  o["allocated"] = AmountsJson(h.allocated);
  o["free"] = AmountsJson(h.free);
  o["instances"] = h.instances;
  o["actual_usage"] = json::object{{"domains", h.actual.domains},
                                   {"govpool_domains", h.actual.govpool_domains},
                                   {"running", h.actual.running},
                                   {"vcpus", h.actual.vcpus},
                                   {"memory_mib", h.actual.memory_mib},
                                   {"reported_at", h.actual.reported_at_ms ? Iso(h.actual.reported_at_ms) : ""}};
  return Serialize(o);
}

std::string EncodeVm(const Vm& v) {
  json::object o;
  PutMeta(o, v.meta);
  o["name"] = v.name;
  o["department_id"] = v.department_id;
  o["flavor_id"] = v.flavor_id;
  o["flavor_name"] = v.flavor_name;
  o["vcpus"] = v.vcpus;
  o["memory_mib"] = v.memory_mib;
  o["disk_gib"] = v.disk_gib;
  o["pool"] = v.pool;
  o["server_group_id"] = v.server_group_id;
  o["host_id"] = v.host_id;
  json::array numa;
  for (const auto& n : v.numa) {
    json::object share = AmountsJson(n.resources);
    share["cell"] = n.cell;
    numa.push_back(std::move(share));
  }
  o["numa"] = std::move(numa);
  o["power"] = v.power;
  o["deleting"] = v.deleting;
  o["generation"] = v.generation;
  o["reboot_count"] = v.reboot_count;
  o["state"] = v.state;
  o["state_reason"] = v.state_reason;
  o["observed_generation"] = v.observed_generation;
  return Serialize(o);
}

std::string EncodeUser(const User& u) {
  json::object o;
  PutMeta(o, u.meta);
  o["name"] = u.name;
  o["role"] = u.role;
  o["department_id"] = u.department_id;
  return Serialize(o);
}

std::string EncodeServerGroup(const ServerGroup& g) {
  json::object o;
  PutMeta(o, g.meta);
  o["name"] = g.name;
  o["department_id"] = g.department_id;
  o["policy"] = g.policy;
  o["hard"] = g.hard;
  return Serialize(o);
}

std::string EncodePreview(bool fits, const std::vector<PreviewAssignment>& assignments,
                          std::int64_t hosts_total, std::int64_t hosts_fit,
                          const std::map<std::string, std::int64_t>& rejected,
                          const std::string& summary) {
  json::array a;
  for (const auto& x : assignments) a.push_back(json::object{{"host_id", x.host_id}, {"host_name", x.host_name}});
  json::object rej;
  for (const auto& [k, v] : rejected) rej[k] = v;
  return Serialize(json::object{
      {"fits", fits},
      {"assignments", std::move(a)},
      {"explanation", json::object{{"hosts_total", hosts_total},
                                   {"hosts_fit", hosts_fit},
                                   {"rejected", std::move(rej)},
                                   {"summary", summary}}}});
}

std::string EncodeToken(const Token& t) {
  json::object o;
  PutMeta(o, t.meta);
  o["user_id"] = t.user_id;
  o["name"] = t.name;
  o["secret_sha256"] = t.secret_sha256;
  return Serialize(o);
}

std::string EncodeIdempotencyRecord(const IdempotencyRecord& r) {
  return Serialize(json::object{{"id", r.id},
                                {"request_hash", r.request_hash},
                                {"status", r.status},
                                {"body", r.body},
                                {"created_at_ms", r.created_at_ms}});
}

std::string EncodeList(const std::vector<std::string>& items, std::string_view next_page_token) {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i];
  }
  out += "],\"next_page_token\":";
  out += JsonQuote(next_page_token);
  out += '}';
  return out;
}

std::string EncodeUsage(const std::string& department_id, const Quota& used, const Quota& limit) {
  json::object usage;
  for (const char* r : kQuotaResources) {
    usage[r] = json::object{{"used", QuotaValue(used, r)}, {"limit", QuotaValue(limit, r)}};
  }
  return Serialize(json::object{{"department_id", department_id}, {"usage", std::move(usage)}});
}

std::string EncodeError(const Status& status) {
  json::object details;
  for (const auto& [key, value] : status.details()) {
    std::visit(
        [&, k = key](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::map<std::string, std::int64_t>>) {
            json::object m;
            for (const auto& [mk, mv] : v) m[mk] = mv;
            details[k] = std::move(m);
          } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
            details[k] = StringArray(v);
          } else {
            details[k] = v;
          }
        },
        value);
  }
  json::object err{{"code", std::string(status.reason())},
                   {"message", status.message()},
                   {"details", std::move(details)}};
  return Serialize(json::object{{"error", std::move(err)}});
}

std::string EncodeNewToken(const User& user, const Token& token, std::string_view secret) {
  json::value u = json::parse(EncodeUser(user));
  return Serialize(json::object{{"user", std::move(u)},
                                {"token_id", token.meta.id},
                                {"name", token.name},
                                {"token", secret}});
}

// ---------------- Storage decoders (lenient about unknown fields) ----------------

Result<Department> DecodeDepartment(std::string_view text) {
  return ReadObject<Department>(text, false, [](Reader& r, Department& d) {
    ReadMeta(r, d.meta);
    r.String("name", d.name, true);
    r.String("description", d.description, false, 4096);
    if (const json::object* q = r.Object("quota", false)) ReadQuota(r, *q, d.quota, false);
    r.StringList("allowed_pools", d.allowed_pools, false, 1024);
  });
}

Result<Flavor> DecodeFlavor(std::string_view text) {
  return ReadObject<Flavor>(text, false, [](Reader& r, Flavor& f) {
    ReadMeta(r, f.meta);
    r.String("name", f.name, true);
    r.String("description", f.description, false, 4096);
    r.Int("vcpus", f.vcpus, true, 0, INT64_MAX);
    r.Int("memory_mib", f.memory_mib, true, 0, INT64_MAX);
    r.Int("disk_gib", f.disk_gib, true, 0, INT64_MAX);
    r.StringList("required_traits", f.required_traits, false, 1024);
    r.StringList("forbidden_traits", f.forbidden_traits, false, 1024);
    r.StringList("required_aggregates", f.required_aggregates, false, 1024);
  });
}

Result<Host> DecodeHost(std::string_view text) {
  return ReadObject<Host>(text, false, [](Reader& r, Host& h) {
    ReadMeta(r, h.meta);
    r.String("name", h.name, true);
    r.String("pool", h.pool, false);
    r.String("status", h.status, false);
    r.Bool("enabled", h.enabled, false);
    r.Bool("maintenance", h.maintenance, false);
    if (const json::object* c = r.Object("capacity", true)) ReadCapacity(r, *c, h.capacity);
    r.Double("cpu_allocation_ratio", h.cpu_allocation_ratio, false, 0, 1e9);
    r.Double("memory_allocation_ratio", h.memory_allocation_ratio, false, 0, 1e9);
    r.Double("disk_allocation_ratio", h.disk_allocation_ratio, false, 0, 1e9);
    r.StringList("traits", h.traits, false, 1024);
    r.StringList("aggregates", h.aggregates, false, 1024);
    r.StringList("dedicated_departments", h.dedicated_departments, false, 1024);
    r.Int("max_instances", h.max_instances, false, 0, INT64_MAX);
    std::string hb;
    r.String("last_heartbeat_at", hb, false);
    if (!hb.empty()) {
      auto t = ParseRfc3339(hb);
      if (t.ok()) {
        h.last_heartbeat_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
      }
    }
    r.String("agent_user_id", h.agent_user_id, false, 64);
  });
}

Result<Vm> DecodeVm(std::string_view text) {
  return ReadObject<Vm>(text, false, [](Reader& r, Vm& v) {
    ReadMeta(r, v.meta);
    r.String("name", v.name, true);
    r.String("department_id", v.department_id, true);
    r.String("flavor_id", v.flavor_id, false);
    r.String("flavor_name", v.flavor_name, false);
    r.Int("vcpus", v.vcpus, true, 0, INT64_MAX);
    r.Int("memory_mib", v.memory_mib, true, 0, INT64_MAX);
    r.Int("disk_gib", v.disk_gib, true, 0, INT64_MAX);
    r.String("pool", v.pool, false);
    r.String("server_group_id", v.server_group_id, false);
    r.String("host_id", v.host_id, false);
    if (const json::array* numa = r.Array("numa", false)) {
      for (const auto& item : *numa) {
        if (!item.is_object()) continue;
        Reader nr(item.get_object(), "numa", false);
        NumaShare s;
        std::int64_t cell = 0;
        nr.Int("cell", cell, true, 0, 1023);
        nr.Int("vcpus", s.resources.vcpus, false, 0, INT64_MAX);
        nr.Int("memory_mib", s.resources.memory_mib, false, 0, INT64_MAX);
        nr.Int("disk_gib", s.resources.disk_gib, false, 0, INT64_MAX);
        s.cell = static_cast<std::int32_t>(cell);
        r.Fail(nr.Finish());
        v.numa.push_back(s);
      }
    }
    r.String("power", v.power, false);
    r.Bool("deleting", v.deleting, false);
    r.Int("generation", v.generation, false, 0, INT64_MAX);
    r.Int("reboot_count", v.reboot_count, false, 0, INT64_MAX);
    r.String("state", v.state, false);
    r.String("state_reason", v.state_reason, false, 4096);
    r.Int("observed_generation", v.observed_generation, false, 0, INT64_MAX);
  });
}

Result<User> DecodeUser(std::string_view text) {
  return ReadObject<User>(text, false, [](Reader& r, User& u) {
    ReadMeta(r, u.meta);
    r.String("name", u.name, true);
    r.String("role", u.role, true);
    r.String("department_id", u.department_id, false);
  });
}

Result<ServerGroup> DecodeServerGroup(std::string_view text) {
  return ReadObject<ServerGroup>(text, false, [](Reader& r, ServerGroup& g) {
    ReadMeta(r, g.meta);
    r.String("name", g.name, true);
    r.String("department_id", g.department_id, true);
    r.String("policy", g.policy, true);
    r.Bool("hard", g.hard, false);
  });
}

Result<Token> DecodeToken(std::string_view text) {
  return ReadObject<Token>(text, false, [](Reader& r, Token& t) {
    ReadMeta(r, t.meta);
    r.String("user_id", t.user_id, true);
    r.String("name", t.name, false);
    r.String("secret_sha256", t.secret_sha256, true, 64);
  });
}

Result<IdempotencyRecord> DecodeIdempotencyRecord(std::string_view text) {
  return ReadObject<IdempotencyRecord>(text, false, [](Reader& r, IdempotencyRecord& rec) {
    r.String("id", rec.id, true, 64);
    r.String("request_hash", rec.request_hash, true, 64);
    std::int64_t status = 0;
    r.Int("status", status, true, 100, 599);
    rec.status = static_cast<int>(status);
    r.String("body", rec.body, false, 16 * 1024 * 1024);
    r.Int("created_at_ms", rec.created_at_ms, false, 0, INT64_MAX);
  });
}

// ---------------- Request parsers (strict) ----------------

Result<CreateDepartmentRequest> ParseCreateDepartmentRequest(std::string_view body) {
  return ReadObject<CreateDepartmentRequest>(body, true, [](Reader& r, CreateDepartmentRequest& d) {
    r.Name("name", d.name, true);
    r.String("description", d.description, false, 1024);
    if (const json::object* q = r.Object("quota", false)) ReadQuota(r, *q, d.quota, true);
    r.StringList("allowed_pools", d.allowed_pools, false);
  });
}

Result<PatchDepartmentRequest> ParsePatchDepartmentRequest(std::string_view body) {
  return ReadObject<PatchDepartmentRequest>(body, true, [](Reader& r, PatchDepartmentRequest& p) {
    std::string name, description;
    if (r.Take("name", false)) {
      r.Name("name", name, true);
      p.name = name;
    }
    if (r.Take("description", false)) {
      r.String("description", description, true, 1024);
      p.description = description;
    }
    if (r.Take("allowed_pools", false)) {
      std::vector<std::string> pools;
      r.StringList("allowed_pools", pools, true);
      p.allowed_pools = pools;
    }
    if (const json::object* q = r.Object("quota", false)) {
      Reader qr(*q, "quota", true);
      for (const char* res : kQuotaResources) {
        if (qr.Take(res, false)) {
          std::int64_t v = 0;
          qr.Int(res, v, true, -1, kMaxQuota);
          p.quota.emplace_back(res, v);
        }
      }
      r.Fail(qr.Finish());
    }
  });
}

Result<CreateFlavorRequest> ParseCreateFlavorRequest(std::string_view body) {
  return ReadObject<CreateFlavorRequest>(body, true, [](Reader& r, CreateFlavorRequest& f) {
    r.Name("name", f.name, true);
    r.String("description", f.description, false, 1024);
    r.Int("vcpus", f.vcpus, true, 1, kMaxVcpus);
    r.Int("memory_mib", f.memory_mib, true, 64, kMaxMemoryMib);
    r.Int("disk_gib", f.disk_gib, true, 0, kMaxDiskGib);
    r.StringList("required_traits", f.required_traits, false);
    r.StringList("forbidden_traits", f.forbidden_traits, false);
    r.StringList("required_aggregates", f.required_aggregates, false);
    for (const auto& t : f.required_traits) {
      for (const auto& u : f.forbidden_traits) {
        if (t == u) r.Fail(FieldError("forbidden_traits", "trait '" + t + "' is both required and forbidden"));
      }
    }
  });
}

Result<RegisterHostRequest> ParseRegisterHostRequest(std::string_view body) {
  return ReadObject<RegisterHostRequest>(body, true, [](Reader& r, RegisterHostRequest& h) {
    r.Name("name", h.name, true);
    r.Name("pool", h.pool, false);
    if (const json::object* c = r.Object("capacity", true)) ReadCapacity(r, *c, h.capacity);
    r.StringList("traits", h.traits, false);
  });
}

Result<PatchHostRequest> ParsePatchHostRequest(std::string_view body) {
  return ReadObject<PatchHostRequest>(body, true, [](Reader& r, PatchHostRequest& p) {
    auto opt_bool = [&](std::string_view key, std::optional<bool>& out) {
      if (r.Take(key, false)) {
        bool v = false;
        r.Bool(key, v, true);
        out = v;
      }
    };
    auto opt_ratio = [&](std::string_view key, std::optional<double>& out) {
      if (r.Take(key, false)) {
        double v = 0;
        r.Double(key, v, true, 0.1, kMaxAllocationRatio);
        out = v;
      }
    };
    opt_bool("enabled", p.enabled);
    opt_bool("maintenance", p.maintenance);
    if (r.Take("pool", false)) {
      std::string pool;
      r.Name("pool", pool, false);
      p.pool = pool;
    }
    opt_ratio("cpu_allocation_ratio", p.cpu_allocation_ratio);
    opt_ratio("memory_allocation_ratio", p.memory_allocation_ratio);
    opt_ratio("disk_allocation_ratio", p.disk_allocation_ratio);
    if (r.Take("traits", false)) {
      std::vector<std::string> v;
      r.StringList("traits", v, true);
      p.traits = v;
    }
    if (r.Take("aggregates", false)) {
      std::vector<std::string> v;
      r.StringList("aggregates", v, true);
      p.aggregates = v;
    }
    if (r.Take("dedicated_departments", false)) {
      std::vector<std::string> v;
      r.StringList("dedicated_departments", v, true);
      p.dedicated_departments = v;
    }
    if (r.Take("max_instances", false)) {
      std::int64_t v = 0;
      r.Int("max_instances", v, true, 0, 100000);
      p.max_instances = v;
    }
  });
}

Result<HeartbeatRequest> ParseHeartbeatRequest(std::string_view body) {
  if (body.empty()) return HeartbeatRequest{};
  return ReadObject<HeartbeatRequest>(body, true, [](Reader& r, HeartbeatRequest& h) {
    if (const json::object* u = r.Object("usage", false)) {
      Reader ur(*u, "usage", true);
      HostActualUsage usage;
      ur.Int("domains", usage.domains, true, 0, 1'000'000);
      ur.Int("govpool_domains", usage.govpool_domains, true, 0, 1'000'000);
      ur.Int("running", usage.running, true, 0, 1'000'000);
      ur.Int("vcpus", usage.vcpus, true, 0, kMaxVcpus * 1024);
      ur.Int("memory_mib", usage.memory_mib, true, 0, kMaxMemoryMib);
      r.Fail(ur.Finish());
      h.usage = usage;
    }
  });
}

std::string EncodeHeartbeatRequest(const HeartbeatRequest& req) {
  if (!req.usage) return "{}";
  const HostActualUsage& u = *req.usage;
  return Serialize(json::object{{"usage", json::object{{"domains", u.domains},
                                                       {"govpool_domains", u.govpool_domains},
                                                       {"running", u.running},
                                                       {"vcpus", u.vcpus},
                                                       {"memory_mib", u.memory_mib}}}});
}

Result<CreateVmRequest> ParseCreateVmRequest(std::string_view body) {
  return ReadObject<CreateVmRequest>(body, true, [](Reader& r, CreateVmRequest& v) {
    r.Name("name", v.name, true);
    r.String("department_id", v.department_id, true, 64);
    r.String("flavor", v.flavor, true, 64);
    r.Name("pool", v.pool, false);
    r.String("power", v.power, false, 16);
    if (v.power != "running" && v.power != "stopped") {
      r.Fail(FieldError("power", "must be \"running\" or \"stopped\""));
    }
    r.String("server_group", v.server_group, false, 64);
    r.Int("count", v.count, false, 1, 100);
  });
}

Result<CreateServerGroupRequest> ParseCreateServerGroupRequest(std::string_view body) {
  return ReadObject<CreateServerGroupRequest>(body, true, [](Reader& r, CreateServerGroupRequest& g) {
    r.Name("name", g.name, true);
    r.String("department_id", g.department_id, true, 64);
    r.String("policy", g.policy, true, 32);
    if (g.policy != "affinity" && g.policy != "anti-affinity") {
      r.Fail(FieldError("policy", "must be \"affinity\" or \"anti-affinity\""));
    }
    r.Bool("hard", g.hard, false);
  });
}

Result<PreviewRequest> ParsePreviewRequest(std::string_view body) {
  return ReadObject<PreviewRequest>(body, true, [](Reader& r, PreviewRequest& p) {
    r.String("department_id", p.department_id, true, 64);
    r.String("flavor", p.flavor, true, 64);
    r.Name("pool", p.pool, false);
    r.String("server_group", p.server_group, false, 64);
    r.Int("count", p.count, false, 1, 100);
  });
}

Result<CreateUserRequest> ParseCreateUserRequest(std::string_view body) {
  return ReadObject<CreateUserRequest>(body, true, [](Reader& r, CreateUserRequest& u) {
    r.Name("name", u.name, true);
    r.String("role", u.role, true, 32);
    ValidateRole(r, u.role);
    r.String("department_id", u.department_id, false, 64);
  });
}

Result<CreateTokenRequest> ParseCreateTokenRequest(std::string_view body) {
  if (body.empty()) return CreateTokenRequest{};
  return ReadObject<CreateTokenRequest>(body, true, [](Reader& r, CreateTokenRequest& t) {
    r.Name("name", t.name, false);
  });
}

Result<ReportEventsRequest> ParseReportEventsRequest(std::string_view body) {
  return ReadObject<ReportEventsRequest>(body, true, [](Reader& r, ReportEventsRequest& req) {
    const json::array* events = r.Array("events", true);
    if (!events) return;
    if (events->size() > 100) return r.Fail(FieldError("events", "at most 100 events per request"));
    for (size_t i = 0; i < events->size(); ++i) {
      const std::string path = "events[" + std::to_string(i) + "]";
      if (!(*events)[i].is_object()) return r.Fail(FieldError(path, "must be an object"));
      Reader er((*events)[i].get_object(), path, true);
      Event e;
      er.String("vm_id", e.vm_id, false, 64);
      er.Name("kind", e.kind, true);
      er.String("message", e.message, true, 1024);
      Status s = er.Finish();
      if (!s.ok()) return r.Fail(s);
      req.events.push_back(std::move(e));
    }
  });
}

std::string EncodeReportEventsRequest(const ReportEventsRequest& req) {
  json::array events;
  for (const Event& e : req.events) {
    events.push_back(json::object{{"vm_id", e.vm_id}, {"kind", e.kind}, {"message", e.message}});
  }
  return Serialize(json::object{{"events", std::move(events)}});
}

std::string EncodeEvent(const Event& e) {
  return Serialize(json::object{{"id", e.id},
                                {"host_id", e.host_id},
                                {"vm_id", e.vm_id},
                                {"department_id", e.department_id},
                                {"kind", e.kind},
                                {"message", e.message},
                                {"at", Iso(e.at_ms)}});
}

Result<VmStatusReport> ParseVmStatusReport(std::string_view body) {
  return ReadObject<VmStatusReport>(body, true, [](Reader& r, VmStatusReport& s) {
    r.String("state", s.state, true, 32);
    static const std::set<std::string> kStates = {"building", "running", "stopped",
                                                  "deleting", "deleted", "error"};
    if (!kStates.count(s.state)) {
      r.Fail(FieldError("state", "must be one of building, running, stopped, deleting, deleted, error"));
    }
    r.String("state_reason", s.state_reason, false, 4096);
    r.Int("observed_generation", s.observed_generation, true, 0, INT64_MAX);
  });
}

Status ParseEmptyBody(std::string_view body) {
  if (body.empty()) return OkStatus();
  GP_ASSIGN_OR_RETURN(json::value root, ParseJson(body));
  if (!root.is_object() || !root.get_object().empty()) {
    return InvalidArgument("this action takes no body (or {})");
  }
  return OkStatus();
}

}  // namespace govpool::api
