// SqliteStateStore: StateStore on an SQLite database file in WAL mode with synchronous=FULL,
// so every committed Apply() is on disk. The schema is versioned: Open() applies any missing
// migrations in order inside a transaction (see kMigrations in the .cc).
#pragma once

#include <memory>
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

  Status Apply(const std::vector<Mutation>& batch, std::int64_t revision) override;
  Status Load(const std::function<void(const std::string&, const std::string&,
                                       const std::string&)>& record,
              std::int64_t* revision) override;

  static int SchemaVersion();

 private:
  explicit SqliteStateStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Migrate();

  sqlite3* db_;
};

}  // namespace govpool::controller
