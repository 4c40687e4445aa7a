// SqliteStateStore: apply/load, reopen, atomic batches, schema migrations and versions.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "controller/store/sqlite_state_store.h"

namespace govpool::controller {
namespace {

using Records = std::map<std::pair<std::string, std::string>, std::string>;

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/govpool-sqlite-test-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStateStore> OpenStore() {
    auto s = SqliteStateStore::Open(path_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static Records LoadAll(StateStore& store, std::int64_t* revision) {
    Records out;
    Status s = store.Load([&](const std::string& k, const std::string& id, const std::string& v) {
      EXPECT_TRUE(out.emplace(std::make_pair(k, id), v).second) << "record loaded twice";
    }, revision);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  // Runs SQL on the database file with a separate connection.
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  std::string RawQuery(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      out = t ? t : "";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStateStoreTest, NewStoreIsEmptyAtRevisionZero) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::int64_t revision = -1;
  EXPECT_TRUE(LoadAll(*store, &revision).empty());
  EXPECT_EQ(revision, 0);
}

TEST_F(SqliteStateStoreTest, ApplyPutsReplacesAndDeletes) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Apply({{"vm", "1", "{\"a\":1}"}, {"vm", "2", "{\"b\":2}"}, {"department", "1", "{}"}}, 5).ok());
  ASSERT_TRUE(store->Apply({{"vm", "1", "{\"a\":9}"}, {"vm", "2", std::nullopt}}, 6).ok());
  std::int64_t revision = 0;
  Records r = LoadAll(*store, &revision);
  EXPECT_EQ(revision, 6);
  const Records want = {{{"vm", "1"}, "{\"a\":9}"}, {{"department", "1"}, "{}"}};
  EXPECT_EQ(r, want);
  // Deleting what does not exist is fine; an empty batch still records the revision.
  ASSERT_TRUE(store->Apply({{"vm", "nope", std::nullopt}}, 7).ok());
  ASSERT_TRUE(store->Apply({}, 8).ok());
  LoadAll(*store, &revision);
  EXPECT_EQ(revision, 8);
}

// MLPS 8.1.4.9 (residual information): a deleted record's bytes do not stay in the file.
TEST_F(SqliteStateStoreTest, ADeletedRecordLeavesNoBytesInTheFile) {
  const std::string secret = "residual-" + std::string(64, 'Q') + "-marker";
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Apply({{"token", "1", "{\"secret\":\"" + secret + "\"}"}, {"vm", "2", "{}"}}, 1).ok());
    ASSERT_TRUE(store->Apply({{"token", "1", std::nullopt}}, 2).ok());
  }  // closing the last connection checkpoints the WAL into the file and removes the WAL
  RawExec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::ifstream in(path_, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos) << "secure_delete overwrites freed cells";
}

TEST_F(SqliteStateStoreTest, EverythingSurvivesAReopen) {
  std::string big(200 * 1024, 'x');
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    std::vector<Mutation> batch;
    for (int i = 0; i < 2000; ++i) batch.push_back({"vm", "id-" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}"});
    batch.push_back({"blob", "big", big});
    batch.push_back({"odd", "quote'\"id", "{\"s\":\"ü \\u0000\"}"});
    ASSERT_TRUE(store->Apply(batch, 42).ok());
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::int64_t revision = 0;
  Records r = LoadAll(*store, &revision);
  EXPECT_EQ(revision, 42);
  EXPECT_EQ(r.size(), 2002u);
  EXPECT_EQ((r[{"vm", "id-1999"}]), "{\"i\":1999}");
  EXPECT_EQ((r[{"blob", "big"}]), big);
  EXPECT_EQ((r[{"odd", "quote'\"id"}]), "{\"s\":\"ü \\u0000\"}");
}

TEST_F(SqliteStateStoreTest, AFailedBatchAppliesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Apply({{"vm", "before", "{}"}}, 1).ok());
  // Make any write of id 'boom' fail inside the transaction.
  RawExec("CREATE TRIGGER boom BEFORE INSERT ON objects WHEN NEW.id = 'boom' "
          "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  Status s = store->Apply({{"vm", "a", "{}"}, {"vm", "before", std::nullopt}, {"vm", "boom", "{}"},
                           {"vm", "z", "{}"}},
                          2);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  std::int64_t revision = 0;
  Records r = LoadAll(*store, &revision);
  EXPECT_EQ(revision, 1) << "the revision of a failed batch is not recorded";
  const Records want = {{{"vm", "before"}, "{}"}};
  EXPECT_EQ(r, want);
  // The store still works afterwards.
  ASSERT_TRUE(store->Apply({{"vm", "a", "{}"}}, 3).ok());
  r = LoadAll(*store, &revision);
  EXPECT_EQ(revision, 3);
  EXPECT_EQ(r.size(), 2u);
}

TEST_F(SqliteStateStoreTest, UsesWalAndRecordsTheSchemaVersion) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteStateStore::SchemaVersion()));
  EXPECT_GE(SqliteStateStore::SchemaVersion(), 1);
}

TEST_F(SqliteStateStoreTest, ReopeningDoesNotRerunMigrations) {
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Apply({{"vm", "1", "{}"}}, 9).ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    std::int64_t revision = 0;
    EXPECT_EQ(LoadAll(*store, &revision).size(), 1u);
    EXPECT_EQ(revision, 9) << "the migration's initial revision row must not be re-inserted";
  }
}

TEST_F(SqliteStateStoreTest, RefusesADatabaseFromANewerVersion) {
  { ASSERT_NE(OpenStore(), nullptr); }
  RawExec("PRAGMA user_version = " + std::to_string(SqliteStateStore::SchemaVersion() + 1));
  auto store = SqliteStateStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST_F(SqliteStateStoreTest, AFailedMigrationLeavesTheVersionUnchanged) {
  // A version-0 database that already has a table the first migration creates: the migration
  // fails, is rolled back, and the version stays 0.
  RawExec("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);");
  auto store = SqliteStateStore::Open(path_);
  EXPECT_FALSE(store.ok());
  EXPECT_EQ(RawQuery("PRAGMA user_version"), "0");
  EXPECT_EQ(RawQuery("SELECT count(*) FROM sqlite_master WHERE name = 'objects'"), "0");
}

TEST_F(SqliteStateStoreTest, UtilisationRowsAreUpsertedScannedInOrderAndDroppedByAge) {
  constexpr std::int64_t kHour = 3'600'000;
  auto row = [](std::string group, std::string key, std::int64_t hour, double vm_hours) {
    UtilisationRow r{std::move(group), std::move(key), {}};
    r.hour.hour_ms = hour;
    r.hour.figures.sampled_hours = 1;
    r.hour.figures.vm_hours = vm_hours;
    return r;
  };
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutUtilisation({row("department", "b", 2 * kHour, 1), row("department", "a", 2 * kHour, 2),
                                       row("department", "a", kHour, 3), row("pool", "gold", kHour, 4)}).ok());
    // The current hour written again: replaced, not added.
    ASSERT_TRUE(store->PutUtilisation({row("department", "a", 2 * kHour, 5)}).ok());
  }
  auto store = OpenStore();  // durable across a reopen
  ASSERT_NE(store, nullptr);
  std::vector<std::string> seen;
  ASSERT_TRUE(store->ScanUtilisation("department", kHour, 3 * kHour, [&](const UtilisationRow& r) {
    seen.push_back(r.key + "@" + std::to_string(r.hour.hour_ms / kHour) + "=" + std::to_string(static_cast<int>(r.hour.figures.vm_hours)));
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a@1=3", "a@2=5", "b@2=1"}));
  seen.clear();
  ASSERT_TRUE(store->ScanUtilisation("department", 2 * kHour, 3 * kHour, [&](const UtilisationRow& r) { seen.push_back(r.key); }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"})) << "from is inclusive";
  auto dropped = store->DropUtilisationBefore(2 * kHour);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 2) << "a@1 and the pool's hour 1";
  EXPECT_EQ(RawQuery("SELECT count(*) FROM utilisation"), "2");
}

TEST_F(SqliteStateStoreTest, UnopenablePathIsUnavailable) {
  auto store = SqliteStateStore::Open(dir_ + "/no/such/dir/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace govpool::controller
