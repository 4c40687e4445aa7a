#include "cli/values.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "cli/errors.h"
#include "common/strings.h"

namespace govpool::cli {

Result<std::int64_t> ParseInt(std::string_view text, std::int64_t min, std::int64_t max,
                              std::string_view what) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return UsageError(std::string(what) + " must be an integer, got '" + std::string(text) + "'");
  }
  if (v < min || v > max) {
    return UsageError(std::string(what) + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + std::to_string(v));
  }
  return v;
}

Result<double> ParseDouble(std::string_view text, double min, double max, std::string_view what) {
  std::string s(text);
  char* end = nullptr;
  double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return UsageError(std::string(what) + " must be a number, got '" + s + "'");
  }
  if (v < min || v > max) {
    std::ostringstream msg;
    msg << what << " must be between " << min << " and " << max << ", got " << s;
    return UsageError(msg.str());
  }
  return v;
}

Result<bool> ParseOnOff(std::string_view text, std::string_view what) {
  if (text == "on" || text == "true" || text == "yes") return true;
  if (text == "off" || text == "false" || text == "no") return false;
  return UsageError(std::string(what) + " must be on or off, got '" + std::string(text) + "'");
}

Result<std::int64_t> ParseDurationMs(std::string_view text, std::string_view what) {
  const auto bad = [&] {
    return UsageError(std::string(what) + " must be a duration such as 30d, 12h or 90m, got '" +
                      std::string(text) + "'");
  };
  if (text.size() < 2) return bad();
  std::int64_t unit_ms = 0;
  switch (text.back()) {
    case 's': unit_ms = 1000; break;
    case 'm': unit_ms = 60 * 1000; break;
    case 'h': unit_ms = 60 * 60 * 1000; break;
    case 'd': unit_ms = 24LL * 60 * 60 * 1000; break;
    case 'w': unit_ms = 7LL * 24 * 60 * 60 * 1000; break;
    default: return bad();
  }
  auto n = ParseInt(text.substr(0, text.size() - 1), 1, 100'000, what);
  if (!n.ok()) return bad();
  return *n * unit_ms;
}

Result<api::QuotaPatch> ParseQuota(std::string_view text) {
  api::QuotaPatch patch;
  if (text.empty()) return UsageError("--quota needs RESOURCE=N pairs, e.g. instances=10");
  for (const std::string& item : SplitString(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--quota: expected RESOURCE=N, got '" + item + "'");
    }
    const std::string resource = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    const api::QuotaResource* r = api::FindQuotaResource(resource);
    if (!r) {
      std::string names;
      for (const api::QuotaResource& known : api::kQuotaResources) {
        names += (names.empty() ? "" : ", ") + std::string(known.name);
      }
      return UsageError("--quota: unknown resource '" + resource + "' (known: " + names + ")");
    }
    if ((patch.*(r->patch)).has_value()) return UsageError("--quota: '" + resource + "' given twice");
    std::int64_t limit = -1;
    if (value != "unlimited") {
      GP_ASSIGN_OR_RETURN(limit, ParseInt(value, -1, api::kMaxQuota, "--quota " + resource));
    }
    patch.*(r->patch) = limit;
  }
  return patch;
}

api::Quota ApplyQuota(api::Quota quota, const api::QuotaPatch& patch) {
  for (const api::QuotaResource& r : api::kQuotaResources) {
    if (const auto& limit = patch.*(r.patch)) quota.*(r.limit) = *limit;
  }
  return quota;
}

std::vector<std::string> ParseList(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (std::string& s : SplitString(text, ',')) {
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace govpool::cli
