// Secrets and digests (OpenSSL). Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace govpool {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// SM3 (GB/T 32905, China's commercial-cryptography hash) as lower-case hex; nullopt when this
// OpenSSL build does not offer it.
std::optional<std::string> Sm3Hex(std::string_view data);
// Lower-case hex HMAC-SHA256 of `data` keyed with `key` (RFC 2104; webhook signatures).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// SHA-256 of a stream of bytes fed in pieces (uploads, images read back from storage).
// Not thread-safe; one per stream.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  // Lower-case hex of everything fed so far; the stream then starts over.
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};
// `count` random bytes from the OS CSPRNG (salts, TOTP secrets). Throws std::runtime_error when
// the CSPRNG fails: without entropy no secret is safe to hand out.
std::vector<unsigned char> RandomBytes(std::size_t count);
// A fresh secret of `bytes` random bytes from the OS CSPRNG, URL-safe base64 without padding.
std::string RandomSecret(std::size_t bytes = 32);
// Constant-time equality for secrets and digests.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace govpool
