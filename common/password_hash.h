// Password hashing for user passwords: Argon2id (RFC 9106) from libargon2, stored as the PHC
// string format ("$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>") so that the parameters and
// salt travel with the hash and can be raised later without breaking old hashes. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace govpool {

// The PHC-encoded Argon2id hash of `password` with a fresh random salt. Costs ~19 MiB of memory
// and tens of milliseconds of CPU by design. Throws std::runtime_error only when libargon2 or
// the CSPRNG fail (out of memory, no entropy), which no caller can recover from.
std::string HashPassword(std::string_view password);

// Whether `password` matches `encoded` (a string from HashPassword, with whatever parameters it
// was made with). False for a malformed or non-Argon2id `encoded`. The comparison inside
// libargon2 is constant-time.
bool VerifyPassword(std::string_view encoded, std::string_view password);

}  // namespace govpool
