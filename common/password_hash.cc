#include "common/password_hash.h"

#include <argon2.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/crypto.h"

namespace govpool {

namespace {

// The parameters of new hashes, in one place. OWASP's Password Storage Cheat Sheet gives
// m=19 MiB, t=2, p=1 as the minimum Argon2id configuration: memory-hard enough that a GPU farm
// gains little, while a login costs the controller ~20 MB for tens of milliseconds (several
// logins at once stay affordable on a small controller). Raising them later is safe: each hash
// carries its own parameters, so VerifyPassword keeps accepting old ones.
constexpr std::uint32_t kMemoryKiB = 19 * 1024;
constexpr std::uint32_t kIterations = 2;
constexpr std::uint32_t kParallelism = 1;
constexpr std::uint32_t kSaltBytes = 16;  // RFC 9106's recommendation
constexpr std::uint32_t kHashBytes = 32;

}  // namespace

std::string HashPassword(std::string_view password) {
  const std::vector<unsigned char> salt = RandomBytes(kSaltBytes);
  const std::size_t encoded_len =
      argon2_encodedlen(kIterations, kMemoryKiB, kParallelism, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(encoded_len, '\0');  // includes the terminating NUL
  const int rc = argon2id_hash_encoded(kIterations, kMemoryKiB, kParallelism, password.data(),
                                       password.size(), salt.data(), salt.size(), kHashBytes,
                                       encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    throw std::runtime_error(std::string("argon2id_hash_encoded: ") + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
  // libargon2 reads `encoded` as a C string; a string_view may hold an inner NUL (never valid).
  if (encoded.find('\0') != std::string_view::npos) return false;
  if (!encoded.starts_with("$argon2id$")) return false;
  const std::string encoded_c(encoded);
  return argon2id_verify(encoded_c.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace govpool
