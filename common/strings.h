// Small string utilities shared by every folder. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace govpool {

// Appends `s` to `out` as the body of a JSON string (without quotes), escaping per RFC 8259.
void AppendJsonEscaped(std::string& out, std::string_view s);
// `s` as a quoted JSON string.
std::string JsonQuote(std::string_view s);

std::vector<std::string> SplitString(std::string_view s, char sep);
bool IsValidName(std::string_view name);  // 1-63 chars: [A-Za-z0-9][A-Za-z0-9._-]*

// "HOST:PORT" or "[IPV6]:PORT": the host (brackets removed) and a port of 1-65535. nullopt for
// anything else: no port, a port out of range or not all digits, an empty host, an IPv6
// address without brackets. The host's characters are the caller's to check.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<HostPort> SplitHostPort(std::string_view address);

}  // namespace govpool
