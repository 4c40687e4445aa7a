// Schema: how a wire type is declared once. Each type in api/types.h lists its fields in one
// `Fields<T>` specialisation: JSON name, member, validation rule and flags, side by side. The
// codec (api/codec.cc) walks that list to encode, to decode stored records and answers
// (lenient), and to parse requests (strict); the OpenAPI conformance test walks it to compare
// the document's schemas with the code. Nothing here knows JSON: plain C++ only, so every
// folder may include it.
//
// Enums that travel as strings declare their one string table in `EnumNames<E>`.
// Thread-safety: constants and pure functions only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace govpool::api::schema {

// ---- Field flags ----
inline constexpr unsigned kRequired = 1u;       // must be present (requests and stored records)
inline constexpr unsigned kDerived = 2u;        // computed by the server: in answers only, never
                                                // stored, never accepted in requests
inline constexpr unsigned kStorageOnly = 4u;    // stored, never on the wire (e.g. a secret's digest)
inline constexpr unsigned kEmptyWhenZero = 8u;  // Time: "" while the instant is 0 (never happened)

// ---- Rules: bounds hold everywhere; name syntax is checked when a request is parsed ----
struct Any {};                                // no rule beyond the member's type
struct Text { std::size_t max_len = 255; };   // a string of at most max_len bytes
struct Name {};                               // 1-63 of [A-Za-z0-9._-], starting alphanumeric
struct Range { std::int64_t min; std::int64_t max; };  // an integer in [min, max]
struct Real { double min; double max; };      // a finite number in [min, max]
struct Names { std::size_t max_items = 64; };  // a list of Name; duplicates dropped
struct Time {};                               // an int64 of ms since the epoch, as RFC 3339 text
struct Items { std::size_t max_items = 64; };  // a list of declared objects

// One field: JSON name, member pointer, rule, flags.
template <class T, class M, class Rule = Any>
struct Field {
  using Owner = T;
  using Member = M;
  std::string_view name;
  M T::*member;
  Rule rule{};
  unsigned flags = 0;
};
template <class T, class M, class Rule = Any>
Field(std::string_view, M T::*, Rule = {}, unsigned = 0) -> Field<T, M, Rule>;

// The fields of a declared member struct shown at this level (Meta's id, revision, ...).
template <class T, class M>
struct Flatten {
  using Owner = T;
  using Member = M;
  M T::*member;
};
template <class T, class M>
Flatten(M T::*) -> Flatten<T, M>;

// Specialise for each wire type: `static constexpr auto kAll = std::tuple{Field{...}, ...};`
// and optionally `static Status Check(const T&)` for rules across fields (strict parse only;
// declared in types.h, so this header need not know Status).
template <class T>
struct Fields;

// What a `Check` found wrong: the field (relative to the checked object) and why.
struct Violation {
  std::string field;
  std::string message;
};

template <class T>
concept Declared = requires { Fields<T>::kAll; };

// A request body: declared with `static constexpr bool kRequest = true;` in its Fields.
template <class T>
concept Request = Declared<T> && requires { requires Fields<T>::kRequest; };

// ---- Enums as strings ----
// Specialise: `static constexpr std::array<std::pair<E, std::string_view>, N> kNames{{...}};`
template <class E>
struct EnumNames;

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires { EnumNames<E>::kNames; };

template <NamedEnum E>
constexpr std::string_view ToString(E value) {
  for (const auto& [e, name] : EnumNames<E>::kNames) {
    if (e == value) return name;
  }
  return {};
}

template <NamedEnum E>
constexpr std::optional<E> FromString(std::string_view text) {
  for (const auto& [e, name] : EnumNames<E>::kNames) {
    if (name == text) return e;
  }
  return std::nullopt;
}

// "a, b or c": for error messages and the OpenAPI comparison.
template <NamedEnum E>
std::string Choices() {
  std::string out;
  const auto& names = EnumNames<E>::kNames;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i].second;
  }
  return out;
}

// Calls f(field) for each entry of T's declaration (Field or Flatten).
template <Declared T, class F>
constexpr void ForEachField(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, Fields<T>::kAll);
}

// ---- Shapes: what a declared type looks like as JSON (for the OpenAPI comparison) ----
// A field as the API shows it: JSON type ("string", "integer", "number", "boolean", "array",
// "object"), whether it is required (in requests), its enum values, and for arrays and
// objects the shape of the items / properties (empty when they are plain values).
struct Shape {
  std::string name;
  std::string type;
  bool required = false;
  std::vector<std::string> enum_values;
  std::string items_type;              // arrays and maps: the JSON type of each item / value
  std::vector<Shape> properties;       // declared objects (also the items of arrays of them)
};

// Traits over member types, for code that walks declarations (the codec, the CLI).
template <class F> struct IsFlattenOf : std::false_type {};
template <class T, class M> struct IsFlattenOf<Flatten<T, M>> : std::true_type {};
template <class M> struct IsVectorOf : std::false_type {};
template <class E> struct IsVectorOf<std::vector<E>> : std::true_type { using Item = E; };
template <class M> struct IsOptionalOf : std::false_type {};
template <class E> struct IsOptionalOf<std::optional<E>> : std::true_type { using Inner = E; };
template <class M> struct IsMapOf : std::false_type {};
template <class V> struct IsMapOf<std::map<std::string, V>> : std::true_type { using Value = V; };

template <Declared T>
std::vector<Shape> ShapeOf(bool request = Request<T>);

// The JSON shape of a member of type M under `rule` (name and required are set by the caller).
template <class M, class Rule>
Shape ShapeOfMember(bool request) {
  Shape s;
  if constexpr (IsOptionalOf<M>::value) {
    return ShapeOfMember<typename IsOptionalOf<M>::Inner, Rule>(request);
  } else if constexpr (std::is_same_v<Rule, Time> || std::is_same_v<M, std::string>) {
    s.type = "string";
  } else if constexpr (std::is_same_v<M, bool>) {
    s.type = "boolean";
  } else if constexpr (std::is_integral_v<M>) {
    s.type = "integer";
  } else if constexpr (std::is_floating_point_v<M>) {
    s.type = "number";
  } else if constexpr (NamedEnum<M>) {
    s.type = "string";
    for (const auto& [e, name] : EnumNames<M>::kNames) s.enum_values.emplace_back(name);
  } else if constexpr (IsVectorOf<M>::value) {
    s.type = "array";
    Shape item = ShapeOfMember<typename IsVectorOf<M>::Item, Any>(request);
    s.items_type = item.type;
    s.properties = std::move(item.properties);
  } else if constexpr (IsMapOf<M>::value) {
    s.type = "object";
    Shape value = ShapeOfMember<typename IsMapOf<M>::Value, Any>(request);
    s.items_type = value.type;
    s.properties = std::move(value.properties);
  } else {
    static_assert(Declared<M>, "a member type the schema does not know");
    s.type = "object";
    s.properties = ShapeOf<M>(request);
  }
  return s;
}

// The properties of T as the API shows them (storage-only fields left out; in a request,
// derived fields too).
template <Declared T>
std::vector<Shape> ShapeOf(bool request) {
  std::vector<Shape> out;
  ForEachField<T>([&](const auto& field) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (requires { field.name; }) {
      if (field.flags & kStorageOnly) return;
      if (request && (field.flags & kDerived)) return;
      Shape s = ShapeOfMember<typename F::Member, std::decay_t<decltype(field.rule)>>(request);
      s.name = std::string(field.name);
      s.required = (field.flags & kRequired) != 0;
      out.push_back(std::move(s));
    } else {
      for (Shape& s : ShapeOf<typename F::Member>(request)) out.push_back(std::move(s));
    }
  });
  return out;
}

}  // namespace govpool::api::schema
