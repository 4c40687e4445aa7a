// The "field  value" view of one object, driven by its declaration in api/types.h: every wire
// field in declaration order (the order of the API's JSON), nested objects flattened with dots
// ("quota.instances"), lists of names joined with commas, lists of objects indexed
// ("numa[0].vcpus"), times as RFC 3339 text, enums by their API name. No JSON involved.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/fields.h"
#include "api/schema.h"
#include "cli/table.h"
#include "common/clock.h"

namespace govpool::cli {

using FieldLines = std::vector<std::pair<std::string, std::string>>;

template <api::schema::Declared T>
FieldLines FieldsOf(const T& value);

namespace fields_internal {

using api::schema::IsFlattenOf;
using api::schema::IsMapOf;
using api::schema::IsOptionalOf;
using api::schema::IsVectorOf;

template <api::schema::Declared T>
void AddObject(const std::string& prefix, const T& value, FieldLines& out);

// Adds the line(s) for one value at `key`; `time` marks an RFC 3339 field.
template <class M>
void AddValue(const std::string& key, const M& v, bool time, bool empty_when_zero, FieldLines& out) {
  if constexpr (IsOptionalOf<M>::value) {
    if (v) AddValue(key, *v, time, empty_when_zero, out);
  } else if constexpr (api::schema::Declared<M>) {
    AddObject(key + ".", v, out);
  } else if constexpr (std::is_same_v<M, std::string>) {
    out.emplace_back(key, v);
  } else if constexpr (std::is_same_v<M, bool>) {
    out.emplace_back(key, v ? "true" : "false");
  } else if constexpr (api::schema::NamedEnum<M>) {
    out.emplace_back(key, std::string(api::ToString(v)));
  } else if constexpr (std::is_integral_v<M>) {
    if (time) {
      out.emplace_back(key, v == 0 && empty_when_zero
                                ? std::string()
                                : FormatRfc3339(std::chrono::system_clock::time_point(
                                      std::chrono::milliseconds(v))));
    } else {
      out.emplace_back(key, std::to_string(v));
    }
  } else if constexpr (std::is_floating_point_v<M>) {
    std::ostringstream s;
    s << v;
    out.emplace_back(key, s.str());
  } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
    out.emplace_back(key, JoinList(v));
  } else if constexpr (IsVectorOf<M>::value) {
    if (v.empty()) out.emplace_back(key, "");
    for (std::size_t i = 0; i < v.size(); ++i) {
      AddValue(key + "[" + std::to_string(i) + "]", v[i], time, empty_when_zero, out);
    }
  } else if constexpr (IsMapOf<M>::value) {
    if (v.empty()) out.emplace_back(key, "");
    for (const auto& [k, item] : v) AddValue(key + "." + k, item, time, empty_when_zero, out);
  } else {
    static_assert(sizeof(M) == 0, "FieldsOf: a member type without a text form");
  }
}

template <api::schema::Declared T>
void AddObject(const std::string& prefix, const T& value, FieldLines& out) {
  api::schema::ForEachField<T>([&](const auto& field) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (IsFlattenOf<F>::value) {
      AddObject(prefix, value.*(field.member), out);
    } else {
      if (field.flags & api::schema::kStorageOnly) return;
      constexpr bool kTime = std::is_same_v<std::decay_t<decltype(field.rule)>, api::schema::Time>;
      AddValue(prefix + std::string(field.name), value.*(field.member), kTime,
               (field.flags & api::schema::kEmptyWhenZero) != 0, out);
    }
  });
}

}  // namespace fields_internal

template <api::schema::Declared T>
FieldLines FieldsOf(const T& value) {
  FieldLines out;
  fields_internal::AddObject("", value, out);
  return out;
}

}  // namespace govpool::cli
