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
inline constexpr unsigned kDerived = 2u;        // computed when read: on the wire, never stored
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

}  // namespace govpool::api::schema
