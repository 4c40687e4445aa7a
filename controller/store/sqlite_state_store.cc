#include "controller/store/sqlite_state_store.h"

#include <sqlite3.h>

#include <iterator>

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
};

Status SqliteError(sqlite3* db, const std::string& what) {
  return Unavailable(what + ": " + sqlite3_errmsg(db));
}

// Finalizes a prepared statement on scope exit.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

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
  GP_RETURN_IF_ERROR(store->Migrate());
  return store;
}

SqliteStateStore::~SqliteStateStore() { sqlite3_close(db_); }

Status SqliteStateStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Unavailable(std::string("sqlite: ") + msg);
  }
  return OkStatus();
}

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

Status SqliteStateStore::Apply(const std::vector<Mutation>& batch, std::int64_t revision) {
  GP_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status status;
  {
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
    if (status.ok()) {
      sqlite3_bind_int64(rev.s, 1, revision);
      if (sqlite3_step(rev.s) != SQLITE_DONE) status = SqliteError(db_, "writing revision");
    }
  }
  if (!status.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return status;
  }
  Status commit = Exec("COMMIT");
  if (!commit.ok()) Exec("ROLLBACK").IgnoreError();
  return commit;
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

}  // namespace govpool::controller
