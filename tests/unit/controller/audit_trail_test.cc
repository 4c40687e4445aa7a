// The audit trail: the hash chain and its verifier (a record changed, removed or swapped in
// the SQLite file is named by seq), signed checkpoints, the audit key file, retention's
// archive, and Db's commit queue (a request's record commits with the change it describes,
// audit-only records are group-committed and waited for).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "api/audit_chain.h"
#include "api/codec.h"
#include "common/crypto.h"
#include "controller/audit_trail.h"
#include "controller/db.h"
#include "controller/housekeeper.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"
#include "tests/fakes/controller/fake_state_store.h"

namespace govpool::controller {
namespace {

using testing::FakeClock;
using testing::FakeStateStore;
using testing::FakeStoreData;

const Caller kAdmin{"u-admin", "admin", api::Role::kSystemAdmin, ""};
const std::string kKey(32, 'k');

SchedulerFactory Schedulers() {
  return [] { return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value(); };
}

AuditEntry Entry(const std::string& user, int status = 200) {
  AuditEntry e;
  e.user = user;
  e.method = "GET";
  e.route = "/v1/vms";
  e.outcome = status < 400 ? "allowed" : "denied";
  e.status = status;
  return e;
}

// ---- The chain, in memory ----

std::vector<api::AuditRecord> Chain(int n, AuditOptions options = {}, AuditBatch* batch_out = nullptr) {
  AuditSealer sealer(options, AuditHead{});
  AuditBatch batch;
  std::vector<AuditEntry> entries;
  for (int i = 0; i < n; ++i) entries.push_back(Entry("user" + std::to_string(i)));
  sealer.Seal(entries, 1000, &batch);
  if (batch_out) *batch_out = batch;
  return batch.records;
}

api::AuditVerifyAnswer Verify(const std::vector<api::AuditRecord>& records) {
  api::AuditChainVerifier v;
  for (const auto& r : records) v.Add(r);
  return v.Finish();
}

TEST(AuditChainTest, AnIntactChainVerifies) {
  auto records = Chain(5);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].seq, 1);
  EXPECT_EQ(records[0].prev_hash, api::kAuditGenesisHash);
  EXPECT_EQ(records[1].prev_hash, records[0].hash);
  auto v = Verify(records);
  EXPECT_TRUE(v.ok) << v.message;
  EXPECT_EQ(v.records, 5);
}

TEST(AuditChainTest, EveryFieldIsCovered) {
  auto base = Chain(1)[0];
  auto change = [&](auto mutate) {
    api::AuditRecord r = base;
    mutate(r);
    return api::AuditRecordHash(r) != base.hash;
  };
  EXPECT_TRUE(change([](auto& r) { r.seq = 2; }));
  EXPECT_TRUE(change([](auto& r) { r.time_ms += 1; }));
  EXPECT_TRUE(change([](auto& r) { r.kind = "login"; }));
  EXPECT_TRUE(change([](auto& r) { r.user = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.user_id = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.role = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.source = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.method = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.route = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.object_id = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.department_id = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.outcome = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.status = 500; }));
  EXPECT_TRUE(change([](auto& r) { r.body_sha256 = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.detail = "x"; }));
  EXPECT_TRUE(change([](auto& r) { r.prev_hash = "x"; }));
  // Moving bytes between adjacent fields changes the encoding too.
  api::AuditRecord a = base, b = base;
  a.user = "ab";
  a.user_id = "";
  b.user = "a";
  b.user_id = "b";
  EXPECT_NE(api::AuditRecordHash(a), api::AuditRecordHash(b));
}

TEST(AuditChainTest, NamesTheFirstChangedRemovedOrReorderedRecord) {
  auto records = Chain(6);
  auto changed = records;
  changed[2].user = "mallory";
  auto v = Verify(changed);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problem, "changed");
  EXPECT_EQ(v.first_bad_seq, 3);

  auto removed = records;
  removed.erase(removed.begin() + 3);
  v = Verify(removed);
  EXPECT_EQ(v.problem, "removed");
  EXPECT_EQ(v.first_bad_seq, 4);

  // Two records swap places (each keeps its fields and hashes; the seq is the place).
  auto swapped = records;
  std::swap(swapped[1], swapped[2]);
  swapped[1].seq = 2;
  swapped[2].seq = 3;
  v = Verify(swapped);
  EXPECT_EQ(v.problem, "reordered");
  EXPECT_EQ(v.first_bad_seq, 2);

  // A rewritten prev_hash with nothing else linking there is a change.
  auto relinked = records;
  relinked[4].prev_hash = std::string(64, 'f');
  v = Verify(relinked);
  EXPECT_EQ(v.problem, "changed");
  EXPECT_EQ(v.first_bad_seq, 5);
}

TEST(AuditChainTest, AnSm3ChainVerifiesFindsTamperingAndMayFollowASha256One) {
  ASSERT_EQ(Sm3Hex("abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
      << "GB/T 32905's example (Debian's OpenSSL offers SM3)";
  AuditOptions sm3;
  sm3.hash = api::AuditHash::kSm3;
  sm3.key = kKey;
  AuditBatch batch;
  auto records = Chain(4, sm3, &batch);
  for (const auto& r : records) EXPECT_TRUE(r.hash.starts_with("sm3:")) << r.hash;
  EXPECT_EQ(records[1].hash, api::AuditRecordHash(records[1], api::AuditHash::kSm3));
  EXPECT_NE(records[1].hash, "sm3:" + api::AuditRecordHash(records[1], api::AuditHash::kSha256));
  auto v = Verify(records);
  EXPECT_TRUE(v.ok) << v.message;
  auto changed = records;
  changed[2].detail = "edited";
  v = Verify(changed);
  EXPECT_EQ(v.problem, "changed");
  EXPECT_EQ(v.first_bad_seq, 3);

  // A controller restarted with --audit-hash sm3 continues a SHA-256 chain.
  AuditSealer first(AuditOptions{}, AuditHead{});
  AuditBatch older;
  const AuditHead head = first.Seal({Entry("a"), Entry("b")}, 1000, &older);
  AuditSealer second(sm3, head);
  AuditBatch newer;
  second.Seal({Entry("c"), Entry("d")}, 2000, &newer);
  auto mixed = older.records;
  mixed.insert(mixed.end(), newer.records.begin(), newer.records.end());
  EXPECT_FALSE(mixed[1].hash.starts_with("sm3:"));
  EXPECT_TRUE(mixed[2].hash.starts_with("sm3:"));
  v = Verify(mixed);
  EXPECT_TRUE(v.ok) << v.message;
  // Relabelling a record's algorithm is a change like any other.
  mixed[3].hash = mixed[3].hash.substr(4);
  EXPECT_FALSE(Verify(mixed).ok);
}

TEST(AuditChainTest, CheckpointsAreSignedAndChecked) {
  AuditOptions options;
  options.key = kKey;
  options.checkpoint_every_records = 3;
  AuditBatch batch;
  auto records = Chain(4, options, &batch);
  ASSERT_EQ(batch.checkpoints.size(), 1u);  // one per commit at most
  const auto cp = batch.checkpoints[0];
  EXPECT_EQ(cp.seq, 4);
  EXPECT_EQ(cp.hash, records[3].hash);
  EXPECT_EQ(cp.mac, AuditCheckpointMac(kKey, cp));
  EXPECT_NE(cp.mac, AuditCheckpointMac(std::string(32, 'x'), cp));

  auto verify = [&](std::vector<api::AuditRecord> rs, api::AuditCheckpoint c, std::string key) {
    api::AuditChainVerifier v;
    v.SetCheckpoints({{c.seq, c}}, [key](const api::AuditCheckpoint& x) { return AuditCheckpointMac(key, x) == x.mac; });
    for (const auto& r : rs) v.Add(r);
    return v.Finish();
  };
  EXPECT_TRUE(verify(records, cp, kKey).ok);
  auto v = verify(records, cp, std::string(32, 'x'));
  EXPECT_EQ(v.problem, "checkpoint");
  EXPECT_EQ(v.first_bad_seq, 4);
  // The tail cut off after the checkpoint's record: the checkpoint names a missing record.
  v = verify({records.begin(), records.begin() + 2}, cp, kKey);
  EXPECT_EQ(v.problem, "removed");
  EXPECT_EQ(v.first_bad_seq, 3);
  // The whole chain recomputed after a change (by someone without the key): the checkpoint
  // no longer matches.
  auto forged = records;
  forged[1].user = "mallory";
  for (std::size_t i = 1; i < forged.size(); ++i) {
    forged[i].prev_hash = forged[i - 1].hash;
    forged[i].hash = api::AuditRecordHash(forged[i]);
  }
  v = verify(forged, cp, kKey);
  EXPECT_EQ(v.problem, "checkpoint");
  EXPECT_EQ(v.first_bad_seq, 4);
}

// ---- The key file ----

class AuditFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/govpool-audit-test-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AuditFilesTest, TheKeyIsCreatedPrivateAndReadBack) {
  const std::string path = dir_ + "/audit-key";
  auto key = LoadOrCreateAuditKey(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = LoadOrCreateAuditKey(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *key);
  ::chmod(path.c_str(), 0640);
  auto readable = LoadOrCreateAuditKey(path);
  EXPECT_EQ(readable.status().code(), StatusCode::kFailedPrecondition);
}

// ---- Over SQLite, through Db ----

class AuditStoreTest : public AuditFilesTest {
 protected:
  std::unique_ptr<Db> OpenDb(AuditOptions options = {}) {
    auto store = SqliteStateStore::Open(dir_ + "/state.db");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    auto db = Db::Open(std::move(store).value(), clock_, Schedulers(), std::move(options));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(db).value();
  }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/state.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  void WriteRecords(Db& db, int n) {
    for (int i = 0; i < n; ++i) db.Audit({Entry("user" + std::to_string(i))});
    ASSERT_TRUE(db.Sync().ok());
  }
  FakeClock clock_;
};

TEST_F(AuditStoreTest, RecordsSurviveReopenAndTheChainContinues) {
  {
    auto db = OpenDb();
    WriteRecords(*db, 3);
  }
  auto db = OpenDb();
  WriteRecords(*db, 2);
  std::vector<api::AuditRecord> all;
  ASSERT_TRUE(db->store().ScanAudit({}, [&](const api::AuditRecord& r) { all.push_back(r); return true; }).ok());
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].seq, 4);
  EXPECT_EQ(all[3].prev_hash, all[2].hash);
  auto v = VerifyAuditTrail(db->store(), "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 5);
}

TEST_F(AuditStoreTest, VerifyNamesARecordEditedDeletedOrSwappedInTheDatabase) {
  AuditOptions options;
  options.key = kKey;
  options.checkpoint_every_records = 1'000'000;
  options.checkpoint_every = std::chrono::hours(1);
  auto db = OpenDb(options);
  WriteRecords(*db, 10);
  auto check = [&] {
    auto v = VerifyAuditTrail(db->store(), kKey);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : api::AuditVerifyAnswer{};
  };
  ASSERT_TRUE(check().ok);

  Sql("UPDATE audit SET user = 'mallory' WHERE seq = 4");
  auto v = check();
  EXPECT_EQ(v.problem, "changed");
  EXPECT_EQ(v.first_bad_seq, 4);
  Sql("UPDATE audit SET user = 'user3' WHERE seq = 4");
  ASSERT_TRUE(check().ok);

  // Two records swap places: their rows' contents exchanged, seq kept as the place.
  Sql("UPDATE audit SET seq = -6 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7;"
      " UPDATE audit SET seq = 7 WHERE seq = -6");
  v = check();
  EXPECT_EQ(v.problem, "reordered");
  EXPECT_EQ(v.first_bad_seq, 6);
  Sql("UPDATE audit SET seq = -6 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7;"
      " UPDATE audit SET seq = 7 WHERE seq = -6");
  ASSERT_TRUE(check().ok);

  Sql("DELETE FROM audit WHERE seq = 8");
  v = check();
  EXPECT_EQ(v.problem, "removed");
  EXPECT_EQ(v.first_bad_seq, 8);
}

// The housekeeper verifies the chain at its first pass and then every audit_verify_interval;
// each verdict reaches on_audit_verified (the metrics), an edited record as broken.
TEST_F(AuditStoreTest, TheHousekeeperVerifiesTheChainHourlyAndReportsABrokenOne) {
  auto db = OpenDb();
  WriteRecords(*db, 5);
  std::vector<std::pair<bool, std::int64_t>> verdicts;
  HousekeeperOptions options;
  options.on_audit_verified = [&](bool intact, std::int64_t at_ms) { verdicts.emplace_back(intact, at_ms); };
  Housekeeper housekeeper(*db, clock_, options);
  EXPECT_EQ(housekeeper.RunOnce(clock_.MonotonicNow()).audit_chain_intact, true);
  Sql("UPDATE audit SET user = 'mallory' WHERE seq = 3");
  clock_.Advance(std::chrono::minutes(30));
  EXPECT_EQ(housekeeper.RunOnce(clock_.MonotonicNow()).audit_chain_intact, std::nullopt) << "not due yet";
  clock_.Advance(std::chrono::minutes(31));
  EXPECT_EQ(housekeeper.RunOnce(clock_.MonotonicNow()).audit_chain_intact, false);
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_TRUE(verdicts[0].first);
  EXPECT_FALSE(verdicts[1].first);
  EXPECT_EQ(verdicts[1].second, clock_.now_ms());
}

TEST_F(AuditStoreTest, ACheckpointSignedWithAnotherKeyIsFound) {
  AuditOptions options;
  options.key = kKey;
  options.checkpoint_every_records = 2;
  auto db = OpenDb(options);
  WriteRecords(*db, 6);
  auto v = VerifyAuditTrail(db->store(), kKey);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_GE(v->checkpoints, 1);
  Sql("UPDATE audit_checkpoint SET mac = '" + std::string(64, '0') + "'");
  v = VerifyAuditTrail(db->store(), kKey);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->problem, "checkpoint");
}

TEST_F(AuditStoreTest, ArchivedRecordsLeaveTheTableAndBothStillVerify) {
  auto db = OpenDb();
  WriteRecords(*db, 4);
  clock_.Advance(std::chrono::hours(24));
  WriteRecords(*db, 3);
  const std::int64_t cutoff = db->NowMs() - 1000;
  auto archived = ArchiveAuditRecords(db->store(), dir_ + "/audit-archive", cutoff);
  ASSERT_TRUE(archived.ok()) << archived.status().ToString();
  EXPECT_EQ(*archived, 4);
  // The archive holds records 1-4 with their chain fields; it verifies alone.
  std::ifstream in(dir_ + "/audit-archive/1-4.jsonl");
  ASSERT_TRUE(in.good());
  api::AuditChainVerifier archive;
  std::string line;
  while (std::getline(in, line)) {
    auto r = api::Decode<api::AuditRecord>(line);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    archive.Add(*r);
  }
  auto a = archive.Finish();
  EXPECT_TRUE(a.ok) << a.message;
  EXPECT_EQ(a.records, 4);
  // The table starts at 5, linked to the archive's last record; new records continue.
  WriteRecords(*db, 1);
  auto v = VerifyAuditTrail(db->store(), "");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 4);
  EXPECT_EQ(v->archived_through_seq, 4);
  // Nothing old enough: nothing archived.
  auto none = ArchiveAuditRecords(db->store(), dir_ + "/audit-archive", cutoff);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

// ---- Db's queue ----

class AuditQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(std::make_unique<FakeStateStore>(data_), clock_, Schedulers());
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
  }
  Result<api::Department> CreateDept(const std::string& name) {
    api::CreateDepartmentRequest req;
    req.name = name;
    return db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, kAdmin, req); });
  }
  std::shared_ptr<FakeStoreData> data_ = std::make_shared<FakeStoreData>();
  FakeClock clock_;
  std::unique_ptr<Db> db_;
};

TEST_F(AuditQueueTest, ARequestsRecordCommitsInTheBatchOfItsChange) {
  RequestAudit audit(*db_);
  {
    RequestAudit::Scope bind(audit);
    ASSERT_TRUE(CreateDept("d1").ok());
  }
  EXPECT_TRUE(audit.has_slot());
  // Queued behind the slot: nothing of it may commit before the slot is filled.
  db_->Audit({Entry("behind")});
  audit.Finish(Entry("creator"));
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_FALSE(data_->batch_sizes.empty());
  // The first batch holds the department AND its request's record, then the later one.
  EXPECT_GE(data_->batch_sizes[0], 1u);
  ASSERT_GE(data_->batch_audit_sizes[0], 1u);
  ASSERT_EQ(data_->audit.size(), 2u);
  EXPECT_EQ(data_->audit[0].user, "creator");
  EXPECT_EQ(data_->audit[1].user, "behind");
  EXPECT_EQ(data_->audit[1].prev_hash, data_->audit[0].hash);
}

TEST_F(AuditQueueTest, ARequestThatChangesNothingQueuesItsRecordAlone) {
  RequestAudit audit(*db_);
  {
    RequestAudit::Scope bind(audit);
    db_->Read([](const State&) { return 0; });
  }
  EXPECT_FALSE(audit.has_slot());
  audit.Finish(Entry("reader", 403));
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_EQ(data_->audit.size(), 1u);
  EXPECT_EQ(data_->audit[0].outcome, "denied");
  EXPECT_EQ(data_->audit[0].status, 403);
  EXPECT_EQ(data_->revision, 0);  // an audit-only commit moves no revision
}

TEST_F(AuditQueueTest, AnUnfinishedRequestStillLeavesAFailedRecord) {
  {
    RequestAudit audit(*db_);
    audit.draft() = Entry("quitter");
    RequestAudit::Scope bind(audit);
    ASSERT_TRUE(CreateDept("d2").ok());
  }
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_EQ(data_->audit.size(), 1u);
  EXPECT_EQ(data_->audit[0].user, "quitter");
  EXPECT_EQ(data_->records.size() >= 1, true);
}

TEST_F(AuditQueueTest, RoutineTrafficIsRecordedOnlyWhenItChangedSomething) {
  {
    RequestAudit poll(*db_);
    poll.FinishUnlessUnchanged(Entry("agent-poll"));
  }
  RequestAudit beat(*db_);
  {
    RequestAudit::Scope bind(beat);
    ASSERT_TRUE(CreateDept("d5").ok());
  }
  beat.FinishUnlessUnchanged(Entry("agent-change"));
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_EQ(data_->audit.size(), 1u);
  EXPECT_EQ(data_->audit[0].user, "agent-change");
}

TEST_F(AuditQueueTest, TxnAuditEntriesCommitWithTheTransaction) {
  db_->Write([](State&, Txn& t) {
    t.Put("thing", "1", "{}");
    AuditEntry e = Entry("svc");
    e.kind = "vm_delete";
    t.Audit(e);
    return 0;
  });
  db_->Write([](State&, Txn& t) {
    t.Audit(Entry("alone"));
    return 0;
  });
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_EQ(data_->audit.size(), 2u);
  EXPECT_EQ(data_->audit[0].kind, "vm_delete");
  EXPECT_EQ(data_->audit[1].user, "alone");
  EXPECT_EQ(data_->audit[1].seq, 2);
}

TEST_F(AuditQueueTest, AFailedCommitFailsTheWaitersOfAFilledSlot) {
  data_->fail_next_applies = 1;
  RequestAudit audit(*db_);
  {
    RequestAudit::Scope bind(audit);
    ASSERT_TRUE(CreateDept("d3").ok());
  }
  audit.Finish(Entry("lost"));
  // The change and its record fail together (ApiHandler then records the 503 it answers).
  EXPECT_EQ(db_->Sync().code(), StatusCode::kUnavailable);
  EXPECT_EQ(data_->RecordCount("department"), 0u);
  std::lock_guard lock(data_->mu);
  EXPECT_TRUE(data_->audit.empty());
}

TEST_F(AuditQueueTest, ASlotDiscardedBeforeItWasFilledQueuesTheRecordAlone) {
  data_->Hold();
  db_->Write([](State&, Txn& t) {
    t.Put("thing", "1", "{}");
    return 0;
  });
  ASSERT_TRUE(data_->WaitForHeldApply());
  {
    std::lock_guard lock(data_->mu);
    data_->fail_next_applies = 1;  // the held commit fails: the queue behind it is discarded
  }
  RequestAudit audit(*db_);
  {
    RequestAudit::Scope bind(audit);
    ASSERT_TRUE(CreateDept("d4").ok());
  }
  std::promise<Status> failed;
  db_->WhenDurable([&](Status s) { failed.set_value(s); });
  data_->Release();
  EXPECT_EQ(failed.get_future().get().code(), StatusCode::kUnavailable);
  audit.Finish(Entry("late"));
  ASSERT_TRUE(db_->Sync().ok());
  std::lock_guard lock(data_->mu);
  ASSERT_EQ(data_->audit.size(), 1u);
  EXPECT_EQ(data_->audit[0].user, "late");
}

}  // namespace
}  // namespace govpool::controller
