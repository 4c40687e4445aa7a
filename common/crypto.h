// Secrets and digests (OpenSSL). Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace govpool {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// A fresh secret of `bytes` random bytes from the OS CSPRNG, URL-safe base64 without padding.
std::string RandomSecret(std::size_t bytes = 32);
// Constant-time equality for secrets and digests.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace govpool
