#include "common/password_policy.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>

#include "common/password_hash.h"

namespace govpool {

namespace {

Status PolicyError(std::string message, std::string rule) {
  return InvalidArgument(std::move(message)).WithReason("PASSWORD_POLICY").WithDetail("rule", std::move(rule));
}

// UTF-8 code points: every byte that is not a continuation byte (10xxxxxx) starts one.
int CountCharacters(std::string_view s) {
  return static_cast<int>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

int CountClasses(std::string_view s) {
  bool lower = false, upper = false, digit = false, other = false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 'a' && u <= 'z') lower = true;
    else if (u >= 'A' && u <= 'Z') upper = true;
    else if (u >= '0' && u <= '9') digit = true;
    else other = true;
  }
  return int{lower} + int{upper} + int{digit} + int{other};
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status CheckPassword(const PasswordPolicy& policy, std::string_view user_name,
                     std::string_view password, const std::vector<std::string>& previous_hashes) {
  const int length = CountCharacters(password);
  if (length < policy.min_length) {
    return PolicyError("password is too short: at least " + std::to_string(policy.min_length) +
                           " characters are required",
                       "min_length");
  }
  if (length > kMaxPasswordLength) {
    return PolicyError("password is too long: at most " + std::to_string(kMaxPasswordLength) +
                           " characters are allowed",
                       "max_length");
  }
  if (CountClasses(password) < policy.min_classes) {
    return PolicyError("password has too few character classes: at least " +
                           std::to_string(policy.min_classes) +
                           " of lower case, upper case, digits and other characters are required",
                       "min_classes");
  }
  if (!user_name.empty() && AsciiLower(password).find(AsciiLower(user_name)) != std::string::npos) {
    return PolicyError("password must not contain the user name", "user_name");
  }
  const std::size_t checked =
      std::min(previous_hashes.size(), static_cast<std::size_t>(std::max(policy.history, 0)));
  for (std::size_t i = previous_hashes.size() - checked; i < previous_hashes.size(); ++i) {
    if (VerifyPassword(previous_hashes[i], password)) {
      return PolicyError("password must differ from the last " + std::to_string(policy.history) +
                             " passwords",
                         "history");
    }
  }
  return OkStatus();
}

}  // namespace govpool
