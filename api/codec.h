// JSON codecs for the wire types, driven by each type's one declaration (api/types.h,
// api/fields.h, api/schema.h). Boost.JSON stays inside api/.
//
// Encode: the API JSON of a value (derived fields included, storage-only fields left out).
// EncodeRecord: the stored JSON of a record (derived fields left out, storage-only included).
// Decode: reads a stored record or an API answer; unknown fields are ignored so that older
// binaries read newer records; types, required fields and bounds are checked, name syntax
// is not.
// Parse: reads a request body strictly: malformed JSON, unknown fields, wrong types, missing
// required fields and values outside their rule are InvalidArgument with details
// {"field": "<path>"} naming the offending field. ParseOrDefault: the same, but an empty body
// is the type's default (for requests whose body is optional).
//
// The functions are defined for the types listed in GOVPOOL_API_WIRE_TYPES (api/wire_types.h);
// using one with another type is a compile error. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "api/types.h"
#include "api/wire_types.h"
#include "common/result.h"
#include "common/status.h"

namespace govpool::api {

template <WireType T>
std::string Encode(const T& value);
template <WireType T>
std::string EncodeRecord(const T& value);
template <WireType T>
Result<T> Decode(std::string_view json);
template <WireType T>
Result<T> Parse(std::string_view body);
template <WireType T>
Result<T> ParseOrDefault(std::string_view body);

// {"error":{"code":"...","message":"...","details":{...}}}
std::string EncodeError(const Status& status);
// [{"targets":[...],"labels":{...}},...]: Prometheus' http_sd_configs format.
std::string EncodeMetricsTargets(const std::vector<MetricsTargetGroup>& groups);
// Accepts an empty body or "{}" (for action endpoints); anything else is InvalidArgument.
Status ParseEmptyBody(std::string_view body);

}  // namespace govpool::api
