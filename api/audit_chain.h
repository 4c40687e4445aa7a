// The audit trail's hash chain (docs/security.md, "Audit trail"): how a record's hash is
// computed and how a sequence of records is checked. Here in api/ because the chain is part of
// the exported format: `govpoolctl audit verify --file` checks an export or an archive offline
// with the same code the controller uses.
//
// hash = hex(SHA-256(prev_hash "\n" canonical)), or "sm3:" hex(SM3(prev_hash "\n" canonical))
// for a controller that chains with SM3 (--audit-hash sm3, for the commercial-cryptography
// assessment), where canonical is every other field of the record (seq and time_ms included),
// each written as <decimal byte length> ":" <bytes> "\n" in a fixed order, so no two different
// records encode alike. The first record's prev_hash is kAuditGenesisHash. A record's hash
// names its algorithm, so a chain may change algorithms between two records and still verify
// (the hashes are unkeyed either way; the checkpoints' MAC is what an attacker cannot forge).
//
// Thread-safety: the functions are pure; one AuditChainVerifier per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "api/types.h"

namespace govpool::api {

inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The canonical encoding of `r` without prev_hash and hash.
std::string AuditCanonical(const AuditRecord& r);
enum class AuditHash { kSha256, kSm3 };
// The hash `r` must carry with `algorithm`, from its prev_hash and other fields; "" when this
// OpenSSL does not offer SM3.
std::string AuditRecordHash(const AuditRecord& r, AuditHash algorithm);
// The same with the algorithm r.hash names (what the verifier checks).
std::string AuditRecordHash(const AuditRecord& r);

// Checks records fed in seq order (as stored or exported), streaming: memory does not grow
// with the number of records. Problems found, the first (lowest seq) one wins:
//   removed:   a seq is missing (a gap), or a checkpoint names a record past the end;
//   reordered: a record's prev_hash is not its predecessor's hash but a later record links to
//              the predecessor (two records swapped places);
//   changed:   a record's hash does not match its fields, or its prev_hash was rewritten;
//   checkpoint: a checkpoint's MAC is wrong, or its record's hash is not the one it signed.
class AuditChainVerifier {
 public:
  // Starts after the record (`after_seq`, `after_hash`): (0, genesis) for a whole chain; the
  // last archived record's seq and hash for a table whose older records were archived.
  explicit AuditChainVerifier(std::int64_t after_seq = 0,
                              std::string after_hash = std::string(kAuditGenesisHash));
  // Checkpoints to check against the records (seq -> checkpoint); `mac_ok` says whether a
  // checkpoint's MAC holds (only the controller has the key). Call before the first Add.
  void SetCheckpoints(std::map<std::int64_t, AuditCheckpoint> checkpoints,
                      std::function<bool(const AuditCheckpoint&)> mac_ok);
  void Add(const AuditRecord& r);
  // The verdict once every record was added.
  AuditVerifyAnswer Finish();

 private:
  void Fail(std::int64_t seq, std::string problem, std::string message);

  std::int64_t last_seq_;
  std::string last_hash_;
  std::int64_t first_seq_ = 0;  // of the first record added, 0 before
  std::int64_t records_ = 0;
  std::map<std::int64_t, AuditCheckpoint> checkpoints_;
  std::function<bool(const AuditCheckpoint&)> mac_ok_;
  AuditVerifyAnswer verdict_;
  // After a broken link without a gap: the hash the true successor links to. A later record
  // carrying it makes the break a reorder; none makes it a change.
  std::string broken_link_hash_;
  std::int64_t broken_link_seq_ = 0;
  bool link_found_later_ = false;
};

}  // namespace govpool::api
