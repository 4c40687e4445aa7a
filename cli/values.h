// The small value parsers behind govpoolctl's options: integers and numbers within bounds,
// on/off, comma lists and quota lists ("instances=10,vcpus=20"). Each returns a UsageError
// naming the option when the text is not acceptable. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "common/result.h"

namespace govpool::cli {

Result<std::int64_t> ParseInt(std::string_view text, std::int64_t min, std::int64_t max,
                              std::string_view what);
Result<double> ParseDouble(std::string_view text, double min, double max, std::string_view what);
// on/off, true/false, yes/no.
Result<bool> ParseOnOff(std::string_view text, std::string_view what);
// "instances=10,vcpus=20": resources from api::kQuotaResources, each at most once; values are
// integers from -1 to api::kMaxQuota or "unlimited" (-1). Only the resources given are set.
Result<api::QuotaPatch> ParseQuota(std::string_view text);
// `quota` with the limits that `patch` sets replaced.
api::Quota ApplyQuota(api::Quota quota, const api::QuotaPatch& patch);
// "a,b,c" -> {"a","b","c"}; empty items are dropped; empty text -> {}.
std::vector<std::string> ParseList(std::string_view text);
// A duration as "<N><unit>" with unit s, m (minutes), h, d or w ("30d", "12h"), in ms; N is
// 1..100000. UsageError naming `what` otherwise.
Result<std::int64_t> ParseDurationMs(std::string_view text, std::string_view what);

}  // namespace govpool::cli
