// The password complexity rules (MLPS 8.1.4.1 a): length, character classes, not the user's
// name, not one of the user's last N passwords. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace govpool {

struct PasswordPolicy {
  int min_length = 12;  // in characters (UTF-8 code points)
  int min_classes = 3;  // of: lower case, upper case, digit, other (punctuation, space, non-ASCII)
  int history = 5;      // a new password may not equal any of the last `history` ones
};

// Passwords longer than this are refused whatever the policy: Argon2 accepts any length, but
// an unbounded one lets a caller make the controller hash megabytes per login attempt.
inline constexpr int kMaxPasswordLength = 256;

// OK when `password` satisfies `policy` for the user `user_name`. Otherwise InvalidArgument with
// reason PASSWORD_POLICY, a message naming the rule that failed (never echoing the password),
// and detail "rule": "min_length" | "max_length" | "min_classes" | "user_name" | "history".
// `previous_hashes` are the user's earlier password hashes (HashPassword's output), most recent
// last; only the last `policy.history` of them are checked (with VerifyPassword, so this costs
// one Argon2 hash each and runs only when the cheap rules pass).
Status CheckPassword(const PasswordPolicy& policy, std::string_view user_name,
                     std::string_view password, const std::vector<std::string>& previous_hashes);

}  // namespace govpool
