#include "controller/store/sqlite_state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <iterator>

#include "api/codec.h"

namespace govpool::controller {
namespace {

// Ordered schema migrations; index + 1 is the schema version. Never edit a released entry:
// append a new one.
constexpr const char* kMigrations[] = {
    // 1: records and the store revision.
    "CREATE TABLE objects (kind TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (kind, id)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta (key, value) VALUES ('revision', 0);",
    // 2: the audit trail (docs/security.md, "Audit trail"): records in commit order with their
    // hash chain, signed checkpoints, and where archived records end.
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL, user TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,"
    " source TEXT NOT NULL, method TEXT NOT NULL, route TEXT NOT NULL,"
    " object_id TEXT NOT NULL, department_id TEXT NOT NULL, outcome TEXT NOT NULL,"
    " status INTEGER NOT NULL, body_sha256 TEXT NOT NULL, detail TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_by_time ON audit (time_ms);"
    "CREATE TABLE audit_checkpoint (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL,"
    " algorithm TEXT NOT NULL, mac TEXT NOT NULL, time_ms INTEGER NOT NULL);"
    "CREATE TABLE audit_archive (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL);",
    // 3: utilisation rollups (docs/operations.md, "Utilisation reports"): one row per group,
    // key and hour; the figures as JSON (api::UtilisationFigures).
    "CREATE TABLE utilisation (grp TEXT NOT NULL, key TEXT NOT NULL, hour_ms INTEGER NOT NULL,"
    " figures TEXT NOT NULL, PRIMARY KEY (grp, key, hour_ms)) WITHOUT ROWID;"
    "CREATE INDEX utilisation_by_hour ON utilisation (hour_ms);",
};

constexpr const char* kAuditColumns =
    "seq, time_ms, kind, user, user_id, role, source, method, route, object_id, department_id,"
    " outcome, status, body_sha256, detail, prev_hash, hash";

Status SqliteError(sqlite3* db, const std::string& what) {
  return Unavailable(what + ": " + sqlite3_errmsg(db));
}

Status ExecOn(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Unavailable(std::string("sqlite: ") + msg);
  }
  return OkStatus();
}

// Runs `body` in one write transaction on `db`: committed when it succeeds, rolled back (and its
// error returned) when it or the commit fails.
Status InWriteTransaction(sqlite3* db, const std::function<Status()>& body) {
  GP_RETURN_IF_ERROR(ExecOn(db, "BEGIN IMMEDIATE"));
  Status status = body();
  if (status.ok()) status = ExecOn(db, "COMMIT");
  if (!status.ok()) ExecOn(db, "ROLLBACK").IgnoreError();
  return status;
}

// Finalizes a prepared statement on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

void BindText(sqlite3_stmt* s, int col, const std::string& text) {
  sqlite3_bind_text(s, col, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string ColumnText(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, col)));
}

// Writes the batch's audit records and checkpoints inside the caller's transaction.
Status InsertAudit(sqlite3* db, const AuditBatch& audit) {
  if (audit.empty()) return OkStatus();
  Stmt rec, cp;
  const std::string insert = std::string("INSERT INTO audit (") + kAuditColumns +
                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  if (sqlite3_prepare_v2(db, insert.c_str(), -1, &rec.s, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "INSERT INTO audit_checkpoint (seq, hash, algorithm, mac, time_ms)"
                         " VALUES (?, ?, ?, ?, ?)",
                         -1, &cp.s, nullptr) != SQLITE_OK) {
    return SqliteError(db, "preparing audit writes");
  }
  for (const api::AuditRecord& r : audit.records) {
    sqlite3_reset(rec.s);
    sqlite3_bind_int64(rec.s, 1, r.seq);
    sqlite3_bind_int64(rec.s, 2, r.time_ms);
    BindText(rec.s, 3, r.kind);
    BindText(rec.s, 4, r.user);
    BindText(rec.s, 5, r.user_id);
    BindText(rec.s, 6, r.role);
    BindText(rec.s, 7, r.source);
    BindText(rec.s, 8, r.method);
    BindText(rec.s, 9, r.route);
    BindText(rec.s, 10, r.object_id);
    BindText(rec.s, 11, r.department_id);
    BindText(rec.s, 12, r.outcome);
    sqlite3_bind_int64(rec.s, 13, r.status);
    BindText(rec.s, 14, r.body_sha256);
    BindText(rec.s, 15, r.detail);
    BindText(rec.s, 16, r.prev_hash);
    BindText(rec.s, 17, r.hash);
    if (sqlite3_step(rec.s) != SQLITE_DONE) {
      return SqliteError(db, "writing audit record " + std::to_string(r.seq));
    }
  }
  for (const api::AuditCheckpoint& c : audit.checkpoints) {
    sqlite3_reset(cp.s);
    sqlite3_bind_int64(cp.s, 1, c.seq);
    BindText(cp.s, 2, c.hash);
    BindText(cp.s, 3, c.algorithm);
    BindText(cp.s, 4, c.mac);
    sqlite3_bind_int64(cp.s, 5, c.time_ms);
    if (sqlite3_step(cp.s) != SQLITE_DONE) {
      return SqliteError(db, "writing audit checkpoint " + std::to_string(c.seq));
    }
  }
  return OkStatus();
}

api::AuditRecord ReadAuditRow(sqlite3_stmt* s) {
  api::AuditRecord r;
  r.seq = sqlite3_column_int64(s, 0);
  r.time_ms = sqlite3_column_int64(s, 1);
  r.kind = ColumnText(s, 2);
  r.user = ColumnText(s, 3);
  r.user_id = ColumnText(s, 4);
  r.role = ColumnText(s, 5);
  r.source = ColumnText(s, 6);
  r.method = ColumnText(s, 7);
  r.route = ColumnText(s, 8);
  r.object_id = ColumnText(s, 9);
  r.department_id = ColumnText(s, 10);
  r.outcome = ColumnText(s, 11);
  r.status = sqlite3_column_int64(s, 12);
  r.body_sha256 = ColumnText(s, 13);
  r.detail = ColumnText(s, 14);
  r.prev_hash = ColumnText(s, 15);
  r.hash = ColumnText(s, 16);
  return r;
}

}  // namespace

int SqliteStateStore::SchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

Result<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    Status s = Unavailable("opening state database " + path + ": " +
                           (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteStateStore> store(new SqliteStateStore(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL + FULL: a commit returns only after the WAL is fsync'ed, so acknowledged writes
  // survive SIGKILL and power loss.
  GP_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  GP_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  GP_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  // Residual information (MLPS 8.1.4.9): freed cells are zeroed, so a deleted token digest or
  // user record does not linger in the file (Debian's SQLite defaults to it; other builds may not).
  GP_RETURN_IF_ERROR(store->Exec("PRAGMA secure_delete=ON"));
  GP_RETURN_IF_ERROR(store->Migrate());
  if (sqlite3_open_v2(path.c_str(), &store->audit_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Unavailable("opening state database " + path + " for the audit trail: " +
                       sqlite3_errmsg(store->audit_db_));
  }
  sqlite3_busy_timeout(store->audit_db_, 5000);
  // The retention's removals commit on this connection: as durable as the state's commits.
  if (sqlite3_exec(store->audit_db_, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return SqliteError(store->audit_db_, "configuring the audit connection");
  }
  return store;
}

SqliteStateStore::~SqliteStateStore() {
  sqlite3_close(audit_db_);
  sqlite3_close(db_);
}

Status SqliteStateStore::Exec(const char* sql) { return ExecOn(db_, sql); }

Status SqliteStateStore::Migrate() {
  int version = 0;
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st.s, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "reading schema version");
    }
    if (sqlite3_step(st.s) == SQLITE_ROW) version = sqlite3_column_int(st.s, 0);
  }
  if (version > SchemaVersion()) {
    return FailedPrecondition("state database schema version " + std::to_string(version) +
                              " is newer than this controller supports (" +
                              std::to_string(SchemaVersion()) + ")");
  }
  for (int v = version; v < SchemaVersion(); ++v) {
    GP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = Exec(kMigrations[v]);
    if (s.ok()) s = Exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
    if (!s.ok()) {
      Exec("ROLLBACK").IgnoreError();
      return s.Annotate("migrating state database to version " + std::to_string(v + 1));
    }
    GP_RETURN_IF_ERROR(Exec("COMMIT"));
  }
  return OkStatus();
}

Status SqliteStateStore::Apply(const std::vector<Mutation>& batch, std::int64_t revision,
                               const AuditBatch& audit) {
  return InWriteTransaction(db_, [&]() -> Status {
    Status status;
    Stmt put, del, rev;
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO objects (kind, id, value) VALUES (?, ?, ?)",
                           -1, &put.s, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "DELETE FROM objects WHERE kind = ? AND id = ?", -1, &del.s,
                           nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "UPDATE meta SET value = ? WHERE key = 'revision'", -1, &rev.s,
                           nullptr) != SQLITE_OK) {
      status = SqliteError(db_, "preparing state writes");
    }
    for (const Mutation& m : batch) {
      if (!status.ok()) break;
      sqlite3_stmt* s = m.value ? put.s : del.s;
      sqlite3_reset(s);
      sqlite3_bind_text(s, 1, m.kind.data(), static_cast<int>(m.kind.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, 2, m.id.data(), static_cast<int>(m.id.size()), SQLITE_STATIC);
      if (m.value) {
        sqlite3_bind_text(s, 3, m.value->data(), static_cast<int>(m.value->size()), SQLITE_STATIC);
      }
      if (sqlite3_step(s) != SQLITE_DONE) status = SqliteError(db_, "writing " + m.kind + " " + m.id);
    }
    if (status.ok()) status = InsertAudit(db_, audit);
    if (status.ok()) {
      sqlite3_bind_int64(rev.s, 1, revision);
      if (sqlite3_step(rev.s) != SQLITE_DONE) status = SqliteError(db_, "writing revision");
    }
    return status;
  });
}

Status SqliteStateStore::Load(
    const std::function<void(const std::string&, const std::string&, const std::string&)>& record,
    std::int64_t* revision) {
  Stmt rev;
  if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'revision'", -1, &rev.s,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "reading revision");
  }
  *revision = sqlite3_step(rev.s) == SQLITE_ROW ? sqlite3_column_int64(rev.s, 0) : 0;
  Stmt all;
  if (sqlite3_prepare_v2(db_, "SELECT kind, id, value FROM objects", -1, &all.s, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, "reading records");
  }
  int rc;
  while ((rc = sqlite3_step(all.s)) == SQLITE_ROW) {
    auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(all.s, col));
      return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(all.s, col)));
    };
    record(text(0), text(1), text(2));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading records");
  return OkStatus();
}

Result<AuditHead> SqliteStateStore::LoadAuditHead() {
  std::lock_guard lock(audit_mu_);
  AuditHead head;
  Stmt last, cp, archived;
  if (sqlite3_prepare_v2(audit_db_, "SELECT seq, hash, time_ms FROM audit ORDER BY seq DESC LIMIT 1",
                         -1, &last.s, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(audit_db_,
                         "SELECT seq, time_ms FROM audit_checkpoint ORDER BY seq DESC LIMIT 1", -1,
                         &cp.s, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(audit_db_, "SELECT seq, hash FROM audit_archive ORDER BY seq DESC LIMIT 1",
                         -1, &archived.s, nullptr) != SQLITE_OK) {
    return SqliteError(audit_db_, "reading the audit head");
  }
  if (sqlite3_step(archived.s) == SQLITE_ROW) {
    head.archived_seq = sqlite3_column_int64(archived.s, 0);
    head.archived_hash = ColumnText(archived.s, 1);
    head.seq = head.archived_seq;
    head.hash = head.archived_hash;
  }
  if (sqlite3_step(last.s) == SQLITE_ROW) {
    head.seq = sqlite3_column_int64(last.s, 0);
    head.hash = ColumnText(last.s, 1);
    head.time_ms = sqlite3_column_int64(last.s, 2);
  }
  if (sqlite3_step(cp.s) == SQLITE_ROW) {
    head.checkpoint_seq = sqlite3_column_int64(cp.s, 0);
    head.checkpoint_time_ms = sqlite3_column_int64(cp.s, 1);
  }
  return head;
}

Status SqliteStateStore::ScanAudit(const AuditFilter& f,
                                   const std::function<bool(const api::AuditRecord&)>& each) {
  std::lock_guard lock(audit_mu_);
  std::string sql = std::string("SELECT ") + kAuditColumns + " FROM audit WHERE seq > ?1";
  if (f.through_seq > 0) sql += " AND seq <= ?2";
  if (f.from_ms > 0) sql += " AND time_ms >= ?3";
  if (f.to_ms > 0) sql += " AND time_ms < ?4";
  if (!f.user.empty()) sql += " AND user = ?5";
  if (!f.department_id.empty()) sql += " AND department_id = ?6";
  if (!f.outcome.empty()) sql += " AND outcome = ?7";
  if (!f.kind.empty()) sql += " AND kind = ?8";
  sql += " ORDER BY seq";
  if (f.limit > 0) sql += " LIMIT ?9";
  Stmt st;
  if (sqlite3_prepare_v2(audit_db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    return SqliteError(audit_db_, "reading the audit trail");
  }
  sqlite3_bind_int64(st.s, 1, f.after_seq);
  if (f.through_seq > 0) sqlite3_bind_int64(st.s, 2, f.through_seq);
  if (f.from_ms > 0) sqlite3_bind_int64(st.s, 3, f.from_ms);
  if (f.to_ms > 0) sqlite3_bind_int64(st.s, 4, f.to_ms);
  if (!f.user.empty()) BindText(st.s, 5, f.user);
  if (!f.department_id.empty()) BindText(st.s, 6, f.department_id);
  if (!f.outcome.empty()) BindText(st.s, 7, f.outcome);
  if (!f.kind.empty()) BindText(st.s, 8, f.kind);
  if (f.limit > 0) sqlite3_bind_int64(st.s, 9, f.limit);
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    if (!each(ReadAuditRow(st.s))) return OkStatus();
  }
  if (rc != SQLITE_DONE) return SqliteError(audit_db_, "reading the audit trail");
  return OkStatus();
}

Result<std::vector<api::AuditCheckpoint>> SqliteStateStore::AuditCheckpoints() {
  std::lock_guard lock(audit_mu_);
  Stmt st;
  if (sqlite3_prepare_v2(audit_db_,
                         "SELECT seq, hash, algorithm, mac, time_ms FROM audit_checkpoint ORDER BY seq",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return SqliteError(audit_db_, "reading audit checkpoints");
  }
  std::vector<api::AuditCheckpoint> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(st.s, 0), ColumnText(st.s, 1), ColumnText(st.s, 2),
                   ColumnText(st.s, 3), sqlite3_column_int64(st.s, 4)});
  }
  if (rc != SQLITE_DONE) return SqliteError(audit_db_, "reading audit checkpoints");
  return out;
}

Status SqliteStateStore::DropAuditThrough(std::int64_t seq, const std::string& hash) {
  std::lock_guard lock(audit_mu_);
  return InWriteTransaction(audit_db_, [&]() -> Status {
    Stmt del, mark;
    if (sqlite3_prepare_v2(audit_db_, "DELETE FROM audit WHERE seq <= ?", -1, &del.s, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(audit_db_, "INSERT OR REPLACE INTO audit_archive (seq, hash) VALUES (?, ?)", -1,
                           &mark.s, nullptr) != SQLITE_OK) {
      return SqliteError(audit_db_, "preparing the audit archive");
    }
    sqlite3_bind_int64(del.s, 1, seq);
    sqlite3_bind_int64(mark.s, 1, seq);
    BindText(mark.s, 2, hash);
    if (sqlite3_step(del.s) != SQLITE_DONE || sqlite3_step(mark.s) != SQLITE_DONE) {
      return SqliteError(audit_db_, "removing archived audit records");
    }
    return OkStatus();
  });
}

Status SqliteStateStore::PutUtilisation(const std::vector<UtilisationRow>& rows) {
  if (rows.empty()) return OkStatus();
  std::lock_guard lock(audit_mu_);
  return InWriteTransaction(audit_db_, [&]() -> Status {
    Stmt put;
    if (sqlite3_prepare_v2(audit_db_,
                           "INSERT OR REPLACE INTO utilisation (grp, key, hour_ms, figures) VALUES (?, ?, ?, ?)",
                           -1, &put.s, nullptr) != SQLITE_OK) {
      return SqliteError(audit_db_, "preparing the utilisation rollups' write");
    }
    for (const UtilisationRow& row : rows) {
      const std::string figures = api::Encode(row.hour.figures);
      sqlite3_reset(put.s);
      BindText(put.s, 1, row.group);
      BindText(put.s, 2, row.key);
      sqlite3_bind_int64(put.s, 3, row.hour.hour_ms);
      BindText(put.s, 4, figures);
      if (sqlite3_step(put.s) != SQLITE_DONE) return SqliteError(audit_db_, "writing utilisation rollups");
    }
    return OkStatus();
  });
}

Status SqliteStateStore::ScanUtilisation(const std::string& group, std::int64_t from_ms, std::int64_t to_ms,
                                         const std::function<void(const UtilisationRow&)>& each) {
  std::lock_guard lock(audit_mu_);
  Stmt st;
  if (sqlite3_prepare_v2(audit_db_,
                         "SELECT key, hour_ms, figures FROM utilisation WHERE grp = ? AND hour_ms >= ?"
                         " AND hour_ms < ? ORDER BY key, hour_ms",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    return SqliteError(audit_db_, "reading utilisation rollups");
  }
  BindText(st.s, 1, group);
  sqlite3_bind_int64(st.s, 2, from_ms);
  sqlite3_bind_int64(st.s, 3, to_ms);
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    UtilisationRow row;
    row.group = group;
    row.key = ColumnText(st.s, 0);
    row.hour.hour_ms = sqlite3_column_int64(st.s, 1);
    auto figures = api::Decode<api::UtilisationFigures>(ColumnText(st.s, 2));
    if (!figures.ok()) {
      return Internal("corrupt utilisation row " + group + "/" + row.key + "/" +
                      std::to_string(row.hour.hour_ms) + ": " + figures.status().message());
    }
    row.hour.figures = *figures;
    each(row);
  }
  return rc == SQLITE_DONE ? OkStatus() : SqliteError(audit_db_, "reading utilisation rollups");
}

Result<std::int64_t> SqliteStateStore::DropUtilisationBefore(std::int64_t ms) {
  std::lock_guard lock(audit_mu_);
  Stmt del;
  if (sqlite3_prepare_v2(audit_db_, "DELETE FROM utilisation WHERE hour_ms < ?", -1, &del.s, nullptr) !=
      SQLITE_OK) {
    return SqliteError(audit_db_, "preparing the utilisation retention");
  }
  sqlite3_bind_int64(del.s, 1, ms);
  if (sqlite3_step(del.s) != SQLITE_DONE) return SqliteError(audit_db_, "removing old utilisation rollups");
  return static_cast<std::int64_t>(sqlite3_changes(audit_db_));
}

}  // namespace govpool::controller

namespace govpool::controller {

Status SqliteStateStore::BackupTo(const std::string& path) {
  // Created here with 0600 (whatever the umask), never over an existing file.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create the backup " + path + ": " + std::strerror(errno));
  ::close(fd);
  sqlite3* target = nullptr;
  if (sqlite3_open_v2(path.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    Status s = Unavailable("cannot open the backup " + path + ": " + (target ? sqlite3_errmsg(target) : "out of memory"));
    sqlite3_close(target);
    ::unlink(path.c_str());
    return s;
  }
  Status status;
  {
    std::lock_guard lock(audit_mu_);
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", audit_db_, "main");
    if (!backup) {
      status = SqliteError(target, "starting the backup");
    } else {
      // One step copies every page under one read transaction: one consistent snapshot.
      const int rc = sqlite3_backup_step(backup, -1);
      if (rc != SQLITE_DONE) status = Unavailable(std::string("sqlite: backup: ") + sqlite3_errstr(rc));
      sqlite3_backup_finish(backup);
    }
  }
  // A plain rollback-journal file: one file to carry away, complete once this returns.
  if (status.ok() && sqlite3_exec(target, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = SqliteError(target, "finishing the backup");
  }
  sqlite3_close(target);
  if (status.ok()) {
    const int sync_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (sync_fd < 0 || ::fsync(sync_fd) != 0) status = Unavailable("cannot sync the backup " + path);
    if (sync_fd >= 0) ::close(sync_fd);
  }
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

Status SqliteStateStore::CheckRestorable(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return InvalidArgument("cannot open " + path + " as an SQLite database");
  }
  std::string verdict;
  std::int64_t version = -1;
  auto first_text = [&](const char* sql, std::string* text, std::int64_t* number) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      if (text && sqlite3_column_text(st, 0)) *text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      if (number) *number = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  };
  first_text("PRAGMA integrity_check", &verdict, nullptr);
  first_text("PRAGMA user_version", nullptr, &version);
  std::int64_t records = -1;
  first_text("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='objects'", nullptr, &records);
  sqlite3_close(db);
  if (verdict != "ok") return InvalidArgument(path + " is damaged (integrity_check: " + verdict + ")");
  if (records != 1) return InvalidArgument(path + " is not a govpool state database");
  if (version > SchemaVersion()) {
    return InvalidArgument(path + " was written by a newer govpool (schema " + std::to_string(version) +
                           ", this binary knows " + std::to_string(SchemaVersion()) + ")");
  }
  return OkStatus();
}

Status SqliteStateStore::Restore(const std::string& backup, const std::string& path) {
  GP_RETURN_IF_ERROR(CheckRestorable(backup));
  const int in = ::open(backup.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return InvalidArgument("cannot read " + backup + ": " + std::strerror(errno));
  const std::string temp = path + ".restoring";
  ::unlink(temp.c_str());
  const int out = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    return Unavailable("cannot write " + temp + ": " + std::strerror(errno));
  }
  bool ok = true;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    for (ssize_t done = 0; ok && done < n;) {
      const ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      if (ok) done += w;
    }
    if (!ok) break;
  }
  ok = ok && ::fsync(out) == 0;
  ::close(in);
  ok = ::close(out) == 0 && ok;
  if (!ok) {
    ::unlink(temp.c_str());
    return Unavailable("cannot copy " + backup + " to " + temp + ": " + std::strerror(errno));
  }
  // What was there stays, beside it: a restore is never the only copy of anything.
  const std::string aside = path + ".before-restore-" + std::to_string(::time(nullptr));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string from = path + suffix;
    if (::access(from.c_str(), F_OK) == 0 && ::rename(from.c_str(), (aside + suffix).c_str()) != 0) {
      ::unlink(temp.c_str());
      return Unavailable("cannot move " + from + " aside: " + std::strerror(errno));
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Unavailable("cannot put the backup in place as " + path + ": " + std::strerror(errno));
  }
  return OkStatus();
}

}  // namespace govpool::controller
