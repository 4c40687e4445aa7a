// Small string utilities shared by every folder. Pure functions; thread-safe.
#pragma once

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

}  // namespace govpool
