// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as authenticator apps use them:
// HMAC-SHA1, 6 digits, 30-second steps; the base32 (RFC 4648) form of secrets; the otpauth://
// URI apps scan; one-time recovery codes. Pure functions but for the random ones; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace govpool {

inline constexpr std::int64_t kTotpPeriodSeconds = 30;
inline constexpr int kTotpDigits = 6;

// RFC 4648 base32, upper case, without '=' padding (what otpauth URIs carry).
std::string Base32Encode(const std::vector<unsigned char>& data);
// Decodes base32 as people type it: lower or upper case, spaces, '-' and '=' padding ignored.
// nullopt for any other character.
std::optional<std::vector<unsigned char>> Base32Decode(std::string_view text);

// The TOTP step of a Unix time: floor(unix_seconds / 30).
std::int64_t TotpStep(std::int64_t unix_seconds);
// The 6-digit code (with leading zeros) of `secret` at TOTP step `step`.
std::string TotpCode(const std::vector<unsigned char>& secret, std::int64_t step);

// The step whose code `code` is, when that step lies within `window` steps of `unix_seconds`'
// step (clock drift between the phone and the controller) AND is later than `last_used_step`
// (a code is good once: a replay, or an older code after a newer one, is refused). The caller
// stores the returned step as the new last_used_step. nullopt otherwise, and for a code that is
// not 6 digits (spaces in it, as apps show "123 456", are ignored). Every candidate is compared
// in constant time.
std::optional<std::int64_t> VerifyTotp(const std::vector<unsigned char>& secret, std::string_view code,
                                       std::int64_t unix_seconds, std::int64_t last_used_step,
                                       int window = 1);

// "otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30",
// issuer and account percent-encoded (Key Uri Format of Google Authenticator).
std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       const std::vector<unsigned char>& secret);

// A fresh TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation for HMAC-SHA1).
std::vector<unsigned char> NewTotpSecret();

// `n` fresh one-time recovery codes, e.g. "k7wq-m3zp-4xta-9bnc": 80 random bits each in lower
// case base32, in groups of four for reading aloud and typing.
std::vector<std::string> NewRecoveryCodes(int n = 10);
// A recovery code as typed reduced to its canonical form (lower case, without '-' and spaces),
// so that "K7WQ M3ZP-4xta9bnc" matches "k7wq-m3zp-4xta-9bnc". Store and compare this form.
std::string NormalizeRecoveryCode(std::string_view code);

}  // namespace govpool
