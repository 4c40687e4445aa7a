#include "cli/errors.h"

#include <sstream>
#include <type_traits>
#include <variant>

#include "common/strings.h"

namespace govpool::cli {
namespace {

constexpr std::string_view kUsageReason = "USAGE";
constexpr std::string_view kUnreachableReason = "UNREACHABLE";

std::string DetailText(const DetailValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<V, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<V, double>) {
          std::ostringstream s;
          s << v;
          return s.str();
        } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
          std::string out = "[";
          for (const std::string& item : v) out += (out.size() > 1 ? "," : "") + JsonQuote(item);
          return out + "]";
        } else {  // std::map<std::string, std::int64_t>
          std::string out = "{";
          for (const auto& [key, n] : v) {
            out += (out.size() > 1 ? "," : "") + JsonQuote(key) + ":" + std::to_string(n);
          }
          return out + "}";
        }
      },
      value);
}

}  // namespace

Status UsageError(std::string message) {
  return InvalidArgument(std::move(message)).WithReason(std::string(kUsageReason));
}

bool IsUsageError(const Status& status) { return !status.ok() && status.reason() == kUsageReason; }

Status Unreachable(std::string_view url, const Status& transport) {
  return Status(transport.code(),
                "cannot reach the controller at " + std::string(url) + ": " + transport.message())
      .WithReason(std::string(kUnreachableReason));
}

bool IsUnreachable(const Status& status) {
  return !status.ok() && status.reason() == kUnreachableReason;
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  if (IsUnreachable(status)) return kExitUnreachable;
  return kExitApiError;
}

std::string ErrorText(const Status& status) {
  if (IsUsageError(status)) return status.message();
  const std::string code =
      IsUnreachable(status) ? std::string(StatusCodeName(status.code())) : std::string(status.reason());
  std::string text = code + ": " + status.message();
  if (!status.details().empty()) {
    text += " (";
    bool first = true;
    for (const auto& [key, value] : status.details()) {
      if (!first) text += ", ";
      first = false;
      text += key + "=" + DetailText(value);
    }
    text += ")";
  }
  return text;
}

}  // namespace govpool::cli
