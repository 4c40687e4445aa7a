// StateStore: the controller's durable state, as records (kind, id) -> JSON value plus one
// store-wide revision counter. The controller keeps the whole state in memory and uses the
// store as its durable log: Apply() commits a batch atomically and durably; Load() reads
// everything back at start-up. The embedded default is SqliteStateStore; an etcd store can
// implement the same contract for HA.
//
// The same store holds the audit trail (docs/security.md, "Audit trail"): Apply writes a
// batch's audit records in the same atomic commit as its changes.
//
// Thread-safety: Apply and Load may be called from any thread but not concurrently with each
// other (the controller has one committer thread). The audit reads (LoadAuditHead,
// ScanAudit, AuditCheckpoints) and DropAuditThrough may run concurrently with them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "common/status.h"

namespace govpool::controller {

struct Mutation {
  std::string kind;                  // "department", "vm", ...
  std::string id;
  std::optional<std::string> value;  // nullopt: delete the record
};

// What a commit adds to the audit trail: records with their seq, time and hashes already set
// (by Db's committer), and any checkpoints signed over them.
struct AuditBatch {
  std::vector<api::AuditRecord> records;
  std::vector<api::AuditCheckpoint> checkpoints;
  bool empty() const { return records.empty() && checkpoints.empty(); }
};

// Where the stored audit chain stands.
struct AuditHead {
  std::int64_t seq = 0;  // the newest record's (0: none ever)
  std::string hash;      // its hash; empty when none
  std::int64_t time_ms = 0;
  std::int64_t checkpoint_seq = 0;  // the newest checkpoint's
  std::int64_t checkpoint_time_ms = 0;
  // Records up to archived_seq were archived (to files) and removed; archived_hash is the hash
  // of record archived_seq, which the first stored record links to.
  std::int64_t archived_seq = 0;
  std::string archived_hash;
};

// Which audit records ScanAudit visits (all set conditions must hold), in seq order.
struct AuditFilter {
  std::int64_t after_seq = 0;
  std::int64_t through_seq = 0;  // 0: no upper bound
  std::int64_t from_ms = 0;      // time_ms >= from_ms
  std::int64_t to_ms = 0;        // time_ms < to_ms; 0: no bound
  std::string user;
  std::string department_id;
  std::string outcome;
  std::string kind;
  std::int64_t limit = 0;  // 0: no limit
};

// One stored hour of one department or pool (controller/utilisation.h).
struct UtilisationRow {
  std::string group;  // "department" | "pool"
  std::string key;    // the department's id, or the pool's name
  api::UtilisationHour hour;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Atomically applies `batch` and `audit` and records `revision` as the store revision. On OK
  // the batch is durable (survives SIGKILL and power loss once fsync returns). On error nothing
  // of the batch is applied. Unavailable: I/O failure (disk full...).
  virtual Status Apply(const std::vector<Mutation>& batch, std::int64_t revision,
                       const AuditBatch& audit) = 0;
  // A batch with no audit records.
  Status Apply(const std::vector<Mutation>& batch, std::int64_t revision) {
    return Apply(batch, revision, AuditBatch{});
  }

  // Calls `record` for every stored record (in no particular order) and returns the store
  // revision (0 for a new store). Internal when a record cannot be read.
  virtual Status Load(const std::function<void(const std::string& kind, const std::string& id,
                                               const std::string& value)>& record,
                      std::int64_t* revision) = 0;

  // The audit trail. A store without one (test fakes) keeps none: an empty head, no records.
  virtual Result<AuditHead> LoadAuditHead() { return AuditHead{}; }
  // Calls `each` for the records `filter` selects, in seq order, until it returns false.
  virtual Status ScanAudit(const AuditFilter& filter,
                           const std::function<bool(const api::AuditRecord&)>& each) {
    (void)filter;
    (void)each;
    return OkStatus();
  }
  virtual Result<std::vector<api::AuditCheckpoint>> AuditCheckpoints() {
    return std::vector<api::AuditCheckpoint>{};
  }
  // Removes the records up to and including `seq` (already archived and synced elsewhere),
  // whose last one has hash `hash`, and remembers both as the chain's new start.
  virtual Status DropAuditThrough(std::int64_t seq, const std::string& hash) {
    (void)seq;
    (void)hash;
    return Unimplemented("this state store keeps no audit trail");
  }

  // Utilisation rollups, kept beside the state rather than in it: the controller holds none in
  // memory. PutUtilisation inserts or replaces rows (by group, key, hour) durably;
  // ScanUtilisation visits a group's rows with hour in [from_ms, to_ms), by key then hour;
  // DropUtilisationBefore removes hours before `ms` and says how many. They may run
  // concurrently with Apply and Load. A store without them (test fakes) keeps nothing.
  virtual Status PutUtilisation(const std::vector<UtilisationRow>& rows) {
    (void)rows;
    return Unimplemented("this state store keeps no utilisation rollups");
  }
  virtual Status ScanUtilisation(const std::string& group, std::int64_t from_ms, std::int64_t to_ms,
                                 const std::function<void(const UtilisationRow&)>& each) {
    (void)group;
    (void)from_ms;
    (void)to_ms;
    (void)each;
    return OkStatus();
  }
  virtual Result<std::int64_t> DropUtilisationBefore(std::int64_t ms) {
    (void)ms;
    return std::int64_t{0};
  }

  // Writes a consistent copy of everything committed so far (records, revision, audit trail)
  // to a new file `path` (mode 0600), while commits go on. A store that cannot: Unimplemented.
  virtual Status BackupTo(const std::string& path) {
    (void)path;
    return Unimplemented("this state store cannot be backed up");
  }
};

}  // namespace govpool::controller
