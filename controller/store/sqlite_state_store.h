// SqliteStateStore: StateStore on an SQLite database file in WAL mode with synchronous=FULL,
// so every committed Apply() is on disk. The schema is versioned: Open() applies any missing
// migrations in order inside a transaction (see kMigrations in the .cc). The audit trail's
// tables (audit, audit_checkpoint, audit_archive) are in the same file; its reads and the
// retention's removals use a second connection, so a long export or verify does not hold up
// commits (WAL readers see the last committed snapshot).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "controller/store/state_store.h"

struct sqlite3;

namespace govpool::controller {

class SqliteStateStore final : public StateStore {
 public:
  // Opens (creating if needed) the database at `path` and migrates it to the current schema.
  // Unavailable when the file cannot be opened; FailedPrecondition when the database was
  // written by a newer govpool (schema version ahead of this binary).
  static Result<std::unique_ptr<SqliteStateStore>> Open(const std::string& path);
  ~SqliteStateStore() override;

  Status Load(const std::function<void(const std::string&, const std::string&,
                                       const std::string&)>& record,
              std::int64_t* revision) override;
  using StateStore::Apply;
  Status Apply(const std::vector<Mutation>& batch, std::int64_t revision,
               const AuditBatch& audit) override;
  Result<AuditHead> LoadAuditHead() override;
  Status ScanAudit(const AuditFilter& filter,
                   const std::function<bool(const api::AuditRecord&)>& each) override;
  Result<std::vector<api::AuditCheckpoint>> AuditCheckpoints() override;
  Status DropAuditThrough(std::int64_t seq, const std::string& hash) override;
  // On the second connection, like the audit retention.
  Status PutUtilisation(const std::vector<UtilisationRow>& rows) override;
  Status ScanUtilisation(const std::string& group, std::int64_t from_ms, std::int64_t to_ms,
                         const std::function<void(const UtilisationRow&)>& each) override;
  Result<std::int64_t> DropUtilisationBefore(std::int64_t ms) override;
  // SQLite's online backup API over the reader connection: one snapshot (WAL), copied whole.
  Status BackupTo(const std::string& path) override;

  // Checks that `path` is a state database this binary can open (integrity_check, schema
  // version not ahead) before a restore puts it in place. InvalidArgument when it is not.
  static Status CheckRestorable(const std::string& path);
  // Puts the backup `backup` in place as the database `path` (before Open): checked with
  // CheckRestorable, copied (mode 0600, synced) and renamed over `path`; a database already
  // there is kept beside it, with its WAL, as <path>.before-restore-<unix seconds>[-wal|-shm].
  static Status Restore(const std::string& backup, const std::string& path);

  static int SchemaVersion();

 private:
  explicit SqliteStateStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Migrate();

  sqlite3* db_;
  std::mutex audit_mu_;  // guards audit_db_ (the audit trail's and the rollups' connection)
  sqlite3* audit_db_ = nullptr;
};

}  // namespace govpool::controller
