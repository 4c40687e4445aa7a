#include "common/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <stdexcept>

#include "common/crypto.h"

namespace govpool {

namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kTotpSecretBytes = 20;
constexpr std::size_t kRecoveryCodeBytes = 10;  // 80 bits: 16 base32 characters
constexpr std::size_t kRecoveryGroup = 4;

// Percent-encodes everything but RFC 3986's unreserved characters (for a URI's label and query
// values). api/ has its own for request targets; common may not depend on api.
std::string PercentEncodeComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace

std::string Base32Encode(const std::vector<unsigned char>& data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  unsigned int acc = 0;
  int bits = 0;
  for (unsigned char b : data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Alphabet[(acc >> bits) & 0x1F];
    }
  }
  if (bits > 0) out += kBase32Alphabet[(acc << (5 - bits)) & 0x1F];
  return out;
}

std::optional<std::vector<unsigned char>> Base32Decode(std::string_view text) {
  std::vector<unsigned char> out;
  unsigned int acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ' || c == '-' || c == '=') continue;
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    unsigned int value = 0;
    if (upper >= 'A' && upper <= 'Z') {
      value = static_cast<unsigned int>(upper - 'A');
    } else if (upper >= '2' && upper <= '7') {
      value = static_cast<unsigned int>(upper - '2') + 26;
    } else {
      return std::nullopt;
    }
    acc = ((acc << 5) | value) & 0xFFFF;  // at most 12 bits are pending: keep it bounded
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((acc >> bits) & 0xFF));
    }
  }
  return out;  // the fewer than 8 bits left over are the encoder's zero fill
}

std::int64_t TotpStep(std::int64_t unix_seconds) {
  // Floor division, so that a time before 1970 does not share step 0 with the first 30 s.
  std::int64_t step = unix_seconds / kTotpPeriodSeconds;
  if (unix_seconds % kTotpPeriodSeconds < 0) --step;
  return step;
}

std::string TotpCode(const std::vector<unsigned char>& secret, std::int64_t step) {
  unsigned char counter[8];
  auto value = static_cast<std::uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(value & 0xFF);
    value >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter, sizeof counter, mac,
           &mac_len) == nullptr ||
      mac_len < 20) {
    throw std::runtime_error("HMAC-SHA1 failed");  // only when OpenSSL itself is broken
  }
  // RFC 4226 5.3 dynamic truncation.
  const unsigned int offset = mac[mac_len - 1] & 0x0F;
  const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7F) << 24) |
                               (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                               (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                               static_cast<std::uint32_t>(mac[offset + 3]);
  std::string code = std::to_string(binary % 1'000'000);
  return std::string(kTotpDigits - code.size(), '0') + code;
}

std::optional<std::int64_t> VerifyTotp(const std::vector<unsigned char>& secret, std::string_view code,
                                       std::int64_t unix_seconds, std::int64_t last_used_step,
                                       int window) {
  std::string digits;
  for (char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9') return std::nullopt;
    digits += c;
  }
  if (digits.size() != static_cast<std::size_t>(kTotpDigits)) return std::nullopt;
  const std::int64_t now = TotpStep(unix_seconds);
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared, matched or not, so the time taken says nothing
  // about which step (if any) matched.
  for (std::int64_t step = now - window; step <= now + window; ++step) {
    const bool equal = ConstantTimeEquals(TotpCode(secret, step), digits);
    if (equal && step > last_used_step && !matched) matched = step;
  }
  return matched;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       const std::vector<unsigned char>& secret) {
  return "otpauth://totp/" + PercentEncodeComponent(issuer) + ":" + PercentEncodeComponent(account) +
         "?secret=" + Base32Encode(secret) + "&issuer=" + PercentEncodeComponent(issuer) +
         "&algorithm=SHA1&digits=" + std::to_string(kTotpDigits) +
         "&period=" + std::to_string(kTotpPeriodSeconds);
}

std::vector<unsigned char> NewTotpSecret() { return RandomBytes(kTotpSecretBytes); }

std::vector<std::string> NewRecoveryCodes(int n) {
  std::vector<std::string> codes;
  for (int i = 0; i < n; ++i) {
    std::string plain = Base32Encode(RandomBytes(kRecoveryCodeBytes));
    std::string code;
    for (std::size_t at = 0; at < plain.size(); ++at) {
      if (at > 0 && at % kRecoveryGroup == 0) code += '-';
      code += static_cast<char>(std::tolower(static_cast<unsigned char>(plain[at])));
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace govpool
