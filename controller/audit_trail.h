// The audit trail's controller side (docs/security.md, "Audit trail"): sealing records into the
// hash chain with signed checkpoints (Db's committer), the key that signs them, verifying what
// the store holds, and archiving old records to files (the housekeeper's retention).
// The chain's format itself is api/audit_chain.h.
//
// Thread-safety: AuditSealer is used by one thread (the committer); the free functions are
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/audit_chain.h"
#include "api/types.h"
#include "common/result.h"
#include "controller/store/state_store.h"
#include "controller/txn.h"

namespace govpool::controller {

struct AuditOptions {
  // HMAC-SHA256 key of the checkpoints; empty: no checkpoints (tests of other things).
  std::string key;
  // A checkpoint after this many records or this much time since the last one, whichever
  // comes first (checked at each commit that adds records).
  std::int64_t checkpoint_every_records = 1000;
  std::chrono::milliseconds checkpoint_every{60'000};
  // The records' hash (api/audit_chain.h); SM3 only where OpenSSL offers it (the caller checks).
  api::AuditHash hash = api::AuditHash::kSha256;
};

// Reads the key at `path`, or creates it (32 random bytes, mode 0600) when missing.
// FailedPrecondition when the file is readable or writable by anyone but its owner, or is not
// 32 bytes; Unavailable on I/O errors.
Result<std::string> LoadOrCreateAuditKey(const std::string& path);

// hex HMAC-SHA256(key, "govpool-audit-checkpoint-v1\n" seq "\n" hash "\n" algorithm).
std::string AuditCheckpointMac(std::string_view key, const api::AuditCheckpoint& cp);

// Turns entries into chained records, continuing from a stored head.
class AuditSealer {
 public:
  AuditSealer(AuditOptions options, AuditHead head);
  // Seals `entries` committed at `now_ms` into `out` (records and any checkpoint) without
  // moving the head; Advance() moves it once the batch is durable.
  AuditHead Seal(std::vector<AuditEntry> entries, std::int64_t now_ms, AuditBatch* out) const;
  void Advance(AuditHead head) { head_ = std::move(head); }
  const AuditHead& head() const { return head_; }

 private:
  AuditOptions options_;
  AuditHead head_;
};

// Verifies the store's trail: the chain from the last archive on, and every checkpoint's MAC
// with `key` (empty: MACs not checked).
Result<api::AuditVerifyAnswer> VerifyAuditTrail(StateStore& store, std::string_view key);

// Retention: writes the records older than `older_than_ms` to
// <archive_dir>/<first seq>-<last seq>.jsonl (one api::AuditRecord per line, chain fields
// included), fsyncs it and its directory, then removes them from the store. Returns how many
// records were archived (0: none old enough).
Result<std::int64_t> ArchiveAuditRecords(StateStore& store, const std::string& archive_dir,
                                         std::int64_t older_than_ms);

}  // namespace govpool::controller
