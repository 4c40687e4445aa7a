#include "api/codec.h"
#include "api/fields.h"
#include "api/wire_types.h"

#include <boost/json.hpp>

#include <cmath>
#include <map>
#include <set>
#include <type_traits>

#include "api/errors.h"
#include "common/clock.h"
#include "common/strings.h"

namespace govpool::api {
namespace json = boost::json;
namespace sc = schema;

namespace {

// ---- Type traits over member types (schema.h has the containers') ----
template <class M> using IsVector = sc::IsVectorOf<M>;
template <class M> using IsOptional = sc::IsOptionalOf<M>;
template <class M> using IsStringMap = sc::IsMapOf<M>;
template <class F> using IsFlatten = sc::IsFlattenOf<F>;

template <class T>
concept Checked = requires(const T& v) { sc::Fields<T>::Check(v); };

// Which JSON a value becomes: an answer's (wire), a request's, or the stored record's.
enum class Audience { kWire, kRequest, kStorage };

std::string Iso(std::int64_t ms) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// ---------------- Encoding ----------------

template <class T>
json::object ToObject(const T& value, Audience audience);

template <class M, class Rule>
json::value ToValue(const M& m, [[maybe_unused]] const Rule& rule, [[maybe_unused]] unsigned flags,
                    Audience audience) {
  if constexpr (std::is_same_v<Rule, sc::Time>) {
    if ((flags & sc::kEmptyWhenZero) && m == 0) return json::string();
    return json::string(Iso(m));
  } else if constexpr (std::is_same_v<M, bool>) {
    return m;
  } else if constexpr (std::is_integral_v<M>) {
    return static_cast<std::int64_t>(m);
  } else if constexpr (std::is_floating_point_v<M>) {
    return static_cast<double>(m);
  } else if constexpr (std::is_same_v<M, std::string>) {
    return json::string(m);
  } else if constexpr (sc::NamedEnum<M>) {
    return json::string(sc::ToString(m));
  } else if constexpr (IsVector<M>::value) {
    json::array a;
    a.reserve(m.size());
    for (const auto& item : m) a.push_back(ToValue(item, sc::Any{}, 0, audience));
    return a;
  } else if constexpr (IsStringMap<M>::value) {
    json::object o;
    for (const auto& [k, v] : m) o[k] = ToValue(v, sc::Any{}, 0, audience);
    return o;
  } else {
    static_assert(sc::Declared<M>, "a member type the codec does not know");
    return ToObject(m, audience);
  }
}

template <class T>
void PutFields(json::object& o, const T& value, Audience audience) {
  sc::ForEachField<T>([&](const auto& field) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (IsFlatten<F>::value) {
      PutFields(o, value.*(field.member), audience);
    } else {
      if (audience != Audience::kWire && (field.flags & sc::kDerived)) return;
      if (audience == Audience::kWire && (field.flags & sc::kStorageOnly)) return;
      const auto& m = value.*(field.member);
      if constexpr (IsOptional<typename F::Member>::value) {
        if (m) o[field.name] = ToValue(*m, field.rule, field.flags, audience);
      } else {
        o[field.name] = ToValue(m, field.rule, field.flags, audience);
      }
    }
  });
}

template <class T>
json::object ToObject(const T& value, Audience audience) {
  json::object o;
  PutFields(o, value, audience);
  return o;
}

// ---------------- Decoding ----------------

Status FieldError(const std::string& field, std::string message) {
  return InvalidArgument(field.empty() ? message : field + ": " + message).WithDetail("field", field);
}

// Reads one JSON object's fields, remembering the first error and which keys were consumed,
// so that Finish() can refuse unknown fields (strict mode).
class ObjectReader {
 public:
  ObjectReader(const json::object& obj, std::string prefix, bool strict, Status& status)
      : obj_(obj), prefix_(std::move(prefix)), strict_(strict), status_(status) {}

  std::string Path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }
  const std::string& prefix() const { return prefix_; }
  bool strict() const { return strict_; }
  bool ok() const { return status_.ok(); }
  Status& status() { return status_; }
  void Fail(const std::string& path, std::string message) {
    if (status_.ok()) status_ = FieldError(path, std::move(message));
  }

  // The value under `key` (nullptr when absent or null); marks the key consumed.
  const json::value* Take(std::string_view key) {
    consumed_.insert(key);
    auto it = obj_.find(key);
    if (it == obj_.end() || it->value().is_null()) return nullptr;
    return &it->value();
  }

  void Finish() {
    if (!status_.ok() || !strict_) return;
    for (const auto& kv : obj_) {
      if (!consumed_.count(kv.key())) return Fail(Path(kv.key()), "unknown field");
    }
  }

 private:
  const json::object& obj_;
  std::string prefix_;
  bool strict_;
  Status& status_;
  std::set<std::string_view> consumed_;
};

template <class T>
void ReadObject(const json::object& obj, const std::string& path, bool strict, Status& status, T& out);

const char* kNameRule =
    "must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";

// Reads `v` into `m` under `rule`; errors name `path`. Bounds (Range, Real, Text, Items,
// Names) hold for stored records too; name syntax (Name, Names items) is checked in requests.
template <class M, class Rule>
void ReadValue(ObjectReader& r, const std::string& path, const json::value& v, M& m,
               [[maybe_unused]] const Rule& rule, [[maybe_unused]] unsigned flags) {
  const bool strict = r.strict();
  if constexpr (std::is_same_v<Rule, sc::Time>) {
    if (!v.is_string()) return r.Fail(path, "must be an RFC 3339 time");
    const auto& s = v.get_string();
    m = 0;
    if (s.empty()) return;
    auto t = ParseRfc3339(std::string_view(s.data(), s.size()));
    if (!t.ok()) {
      if (strict) r.Fail(path, "must be an RFC 3339 time");
      return;
    }
    m = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  } else if constexpr (std::is_same_v<M, bool>) {
    if (!v.is_bool()) return r.Fail(path, "must be true or false");
    m = v.get_bool();
  } else if constexpr (std::is_integral_v<M>) {
    std::int64_t value = 0;
    if (v.is_int64()) {
      value = v.get_int64();
    } else if (v.is_uint64()) {
      return r.Fail(path, "must be at most " + std::to_string(INT64_MAX));
    } else {
      return r.Fail(path, "must be an integer");
    }
    if constexpr (std::is_same_v<Rule, sc::Range>) {
      if (value < rule.min) return r.Fail(path, "must be at least " + std::to_string(rule.min));
      if (value > rule.max) return r.Fail(path, "must be at most " + std::to_string(rule.max));
    }
    m = static_cast<M>(value);
  } else if constexpr (std::is_floating_point_v<M>) {
    double value = 0;
    if (v.is_double()) value = v.get_double();
    else if (v.is_int64()) value = static_cast<double>(v.get_int64());
    else if (v.is_uint64()) value = static_cast<double>(v.get_uint64());
    else return r.Fail(path, "must be a number");
    if constexpr (std::is_same_v<Rule, sc::Real>) {
      if (!std::isfinite(value) || value < rule.min || value > rule.max) {
        return r.Fail(path, "must be between " + std::to_string(rule.min) + " and " +
                                std::to_string(rule.max));
      }
    }
    m = value;
  } else if constexpr (std::is_same_v<M, std::string>) {
    if (!v.is_string()) return r.Fail(path, "must be a string");
    const auto& s = v.get_string();
    if constexpr (std::is_same_v<Rule, sc::Text>) {
      if (s.size() > rule.max_len) {
        return r.Fail(path, "must be at most " + std::to_string(rule.max_len) + " characters");
      }
    } else if constexpr (std::is_same_v<Rule, sc::Name>) {
      if (strict && s.size() > 63) return r.Fail(path, "must be at most 63 characters");
      if (strict && ((flags & sc::kRequired) || !s.empty()) &&
          !IsValidName(std::string_view(s.data(), s.size()))) {
        return r.Fail(path, kNameRule);
      }
    }
    m.assign(s.data(), s.size());
  } else if constexpr (sc::NamedEnum<M>) {
    if (!v.is_string()) return r.Fail(path, "must be a string");
    const auto& s = v.get_string();
    auto e = sc::FromString<M>(std::string_view(s.data(), s.size()));
    if (!e) return r.Fail(path, "must be one of " + sc::Choices<M>());
    m = *e;
  } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
    if (!v.is_array()) return r.Fail(path, "must be an array of strings");
    const auto& a = v.get_array();
    if constexpr (std::is_same_v<Rule, sc::Names>) {
      if (a.size() > rule.max_items) {
        return r.Fail(path, "must have at most " + std::to_string(rule.max_items) + " items");
      }
    }
    m.clear();
    std::set<std::string> seen;
    for (const auto& item : a) {
      if (!item.is_string()) return r.Fail(path, "must be an array of strings");
      std::string s(item.get_string());
      if (strict && std::is_same_v<Rule, sc::Names> && !IsValidName(s)) {
        return r.Fail(path, "item '" + s + "' is not a valid name");
      }
      if (seen.insert(s).second) m.push_back(std::move(s));
    }
  } else if constexpr (IsVector<M>::value) {
    if (!v.is_array()) return r.Fail(path, "must be an array");
    const auto& a = v.get_array();
    if constexpr (std::is_same_v<Rule, sc::Items>) {
      if (a.size() > rule.max_items) {
        return r.Fail(path, "must have at most " + std::to_string(rule.max_items) + " items");
      }
    }
    m.clear();
    m.reserve(a.size());
    for (std::size_t i = 0; i < a.size() && r.ok(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      typename M::value_type item{};
      ReadValue(r, item_path, a[i], item, sc::Any{}, 0);
      m.push_back(std::move(item));
    }
  } else if constexpr (IsStringMap<M>::value) {
    if (!v.is_object()) return r.Fail(path, "must be an object");
    m.clear();
    for (const auto& kv : v.get_object()) {
      typename M::mapped_type item{};
      ReadValue(r, path + "." + std::string(kv.key()), kv.value(), item, sc::Any{}, 0);
      if (!r.ok()) return;
      m.emplace(std::string(kv.key()), std::move(item));
    }
  } else if constexpr (IsOptional<M>::value) {
    typename M::value_type inner{};
    ReadValue(r, path, v, inner, rule, flags);
    m = std::move(inner);
  } else {
    static_assert(sc::Declared<M>, "a member type the codec does not know");
    if (!v.is_object()) return r.Fail(path, "must be an object");
    ReadObject(v.get_object(), path, strict, r.status(), m);
  }
}

template <class T>
void ReadFields(ObjectReader& r, T& out) {
  sc::ForEachField<T>([&](const auto& field) {
    using F = std::decay_t<decltype(field)>;
    if (!r.ok()) return;
    if constexpr (IsFlatten<F>::value) {
      ReadFields(r, out.*(field.member));
    } else {
      // Derived fields are the server's to compute: a request naming one is refused.
      if (r.strict() && (field.flags & sc::kDerived)) return;
      const std::string path = r.Path(field.name);
      const json::value* v = r.Take(field.name);
      if (!v) {
        if (field.flags & sc::kRequired) r.Fail(path, "is required");
        return;
      }
      ReadValue(r, path, *v, out.*(field.member), field.rule, field.flags);
    }
  });
  if constexpr (Checked<T>) {
    if (r.ok() && r.strict()) {
      if (auto violation = sc::Fields<T>::Check(out)) r.Fail(r.Path(violation->field), violation->message);
    }
  }
}

template <class T>
void ReadObject(const json::object& obj, const std::string& path, bool strict, Status& status, T& out) {
  ObjectReader r(obj, path, strict, status);
  ReadFields(r, out);
  r.Finish();
}

Result<json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return InvalidArgument("malformed JSON: " + ec.message()).WithReason("MALFORMED_JSON");
  return v;
}

template <class T>
Result<T> ReadRoot(std::string_view text, bool strict) {
  if (text.empty()) return InvalidArgument(strict ? "request body is required" : "empty document");
  GP_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
  if (!root.is_object()) return InvalidArgument("request body must be a JSON object");
  Status status;
  T out{};
  ReadObject(root.get_object(), "", strict, status, out);
  if (!status.ok()) return status;
  return out;
}

}  // namespace

// ---------------- The typed entry points ----------------

template <WireType T>
std::string Encode(const T& value) {
  return json::serialize(ToObject(value, sc::Request<T> ? Audience::kRequest : Audience::kWire));
}
template <WireType T>
std::string EncodeRecord(const T& value) {
  return json::serialize(ToObject(value, Audience::kStorage));
}
template <WireType T>
Result<T> Decode(std::string_view text) {
  return ReadRoot<T>(text, /*strict=*/false);
}
template <WireType T>
Result<T> Parse(std::string_view body) {
  return ReadRoot<T>(body, /*strict=*/true);
}
template <WireType T>
Result<T> ParseOrDefault(std::string_view body) {
  if (body.empty()) return T{};
  return Parse<T>(body);
}

#define GOVPOOL_INSTANTIATE(T)                                  \
  template std::string Encode<T>(const T&);                     \
  template std::string EncodeRecord<T>(const T&);               \
  template Result<T> Decode<T>(std::string_view);               \
  template Result<T> Parse<T>(std::string_view);                \
  template Result<T> ParseOrDefault<T>(std::string_view);
GOVPOOL_API_WIRE_TYPES(GOVPOOL_INSTANTIATE)
#undef GOVPOOL_INSTANTIATE

std::string EncodeMetricsTargets(const std::vector<MetricsTargetGroup>& groups) {
  json::array out;
  for (const MetricsTargetGroup& g : groups) {
    json::array targets;
    for (const std::string& t : g.targets) targets.emplace_back(t);
    json::object labels;
    for (const auto& [k, v] : g.labels) labels[k] = v;
    out.emplace_back(json::object{{"targets", std::move(targets)}, {"labels", std::move(labels)}});
  }
  return json::serialize(out);
}

// ---------------- Errors ----------------

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
            json::array a;
            for (const auto& s : v) a.emplace_back(s);
            details[k] = std::move(a);
          } else {
            details[k] = v;
          }
        },
        value);
  }
  json::object err{{"code", std::string(status.reason())},
                   {"message", status.message()},
                   {"details", std::move(details)}};
  return json::serialize(json::object{{"error", std::move(err)}});
}

Status StatusFromResponse(const HttpResponse& response) {
  std::string code_text, message;
  Details details;
  boost::system::error_code ec;
  json::value v = json::parse(response.body, ec);
  const json::object* err = nullptr;
  if (!ec && v.is_object()) {
    if (const json::value* e = v.get_object().if_contains("error"); e && e->is_object()) {
      err = &e->get_object();
    }
  }
  if (err) {
    if (const json::value* c = err->if_contains("code"); c && c->is_string()) code_text = c->get_string();
    if (const json::value* m = err->if_contains("message"); m && m->is_string()) message = m->get_string();
    if (const json::value* d = err->if_contains("details"); d && d->is_object()) {
      for (const auto& kv : d->get_object()) {
        const json::value& x = kv.value();
        std::string key(kv.key());
        if (x.is_string()) {
          details.emplace_back(key, std::string(x.get_string()));
        } else if (x.is_int64()) {
          details.emplace_back(key, x.get_int64());
        } else if (x.is_double()) {
          details.emplace_back(key, x.get_double());
        } else if (x.is_bool()) {
          details.emplace_back(key, x.get_bool());
        } else if (x.is_array()) {
          std::vector<std::string> items;
          for (const auto& i : x.get_array()) {
            if (i.is_string()) items.emplace_back(i.get_string());
          }
          details.emplace_back(key, std::move(items));
        } else if (x.is_object()) {
          std::map<std::string, std::int64_t> m;
          for (const auto& mk : x.get_object()) {
            if (mk.value().is_int64()) m[std::string(mk.key())] = mk.value().get_int64();
          }
          details.emplace_back(key, std::move(m));
        }
      }
    }
  }
  if (message.empty()) message = "HTTP " + std::to_string(response.status);
  Status s = StatusForHttp(response.status, code_text, std::move(message));
  for (auto& [k, val] : details) s = std::move(s).WithDetail(k, std::move(val));
  return s;
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
