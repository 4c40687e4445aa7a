// Db: group commit (many transactions, few durable batches), WhenDurable ordering and
// waiting, and commit failure (state reloaded from the store, waiters get Unavailable),
// over FakeStateStore with fault injection; plus a reload over the real SqliteStateStore.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "controller/db.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

using testing::FakeClock;
using testing::FakeStateStore;
using testing::FakeStoreData;

const Caller kAdmin{"u-admin", "admin", api::Role::kSystemAdmin, ""};

SchedulerFactory Schedulers() {
  return [] { return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value(); };
}

template <typename Cond>
bool PollUntil(Cond cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::Open(std::make_unique<FakeStateStore>(data_), clock_, Schedulers());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  void TearDown() override {
    data_->Release();
    db_.reset();
  }

  Result<api::Department> CreateDept(const std::string& name) {
    api::CreateDepartmentRequest req;
    req.name = name;
    return db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, kAdmin, req); });
  }
  bool HasDept(const std::string& name) {
    return db_->Read([&](const State& s) { return s.FindDepartmentByName(name) != nullptr; });
  }

  std::shared_ptr<FakeStoreData> data_ = std::make_shared<FakeStoreData>();
  FakeClock clock_;
  std::unique_ptr<Db> db_;
};

TEST_F(DbTest, WhenDurableRunsAtOnceWhenNothingIsPending) {
  bool called = false;
  db_->WhenDurable([&](Status s) {
    EXPECT_TRUE(s.ok());
    called = true;
  });
  EXPECT_TRUE(called);
  EXPECT_TRUE(db_->Sync().ok());
  // A write that changes nothing commits nothing.
  db_->Write([](State&, Txn&) { return 0; });
  EXPECT_TRUE(db_->Sync().ok());
  EXPECT_EQ(data_->applies, 0);
}

TEST_F(DbTest, AWriteIsAcknowledgedOnlyOnceItIsInTheStore) {
  data_->Hold();
  ASSERT_TRUE(CreateDept("a").ok());
  ASSERT_TRUE(data_->WaitForHeldApply());
  std::atomic<bool> durable{false};
  db_->WhenDurable([&](Status s) {
    EXPECT_TRUE(s.ok());
    durable = true;
  });
  // Reads wait too: the change is visible in memory but not yet acknowledged.
  std::atomic<bool> read_acked{false};
  db_->WhenDurable([&](Status) { read_acked = true; });
  EXPECT_FALSE(durable);
  EXPECT_FALSE(read_acked);
  EXPECT_EQ(data_->RecordCount("department"), 0u);
  data_->Release();
  ASSERT_TRUE(PollUntil([&] { return durable && read_acked; }));
  EXPECT_EQ(data_->RecordCount("department"), 1u);
  EXPECT_EQ(data_->revision, db_->Read([](const State& s) { return s.revision(); }));
}

TEST_F(DbTest, GroupCommitBatchesConcurrentWrites) {
  // Hold the first commit; every write made meanwhile must go in one later batch.
  data_->Hold();
  ASSERT_TRUE(CreateDept("first").ok());
  ASSERT_TRUE(data_->WaitForHeldApply());
  constexpr int kWriters = 8, kPerWriter = 25;
  std::vector<std::thread> writers;
  std::mutex mu;
  std::vector<std::int64_t> ack_order;  // revisions in the order WhenDurable fired
  std::atomic<int> acked{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        auto d = CreateDept("d-" + std::to_string(w) + "-" + std::to_string(i));
        ASSERT_TRUE(d.ok());
        const std::int64_t rev = d->meta.revision;
        db_->WhenDurable([&, rev](Status s) {
          EXPECT_TRUE(s.ok());
          std::lock_guard lock(mu);
          ack_order.push_back(rev);
          ++acked;
        });
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(acked, 0) << "nothing is acknowledged while the commit is held";
  data_->Release();
  ASSERT_TRUE(PollUntil([&] { return acked == kWriters * kPerWriter; }));
  ASSERT_TRUE(db_->Sync().ok());
  // 1 held batch + the rest in (almost always) one batch; never one batch per write.
  EXPECT_LE(data_->applies, 3);
  EXPECT_EQ(data_->RecordCount("department"), static_cast<size_t>(kWriters * kPerWriter + 1));
  const CommitStats stats = db_->commit_stats();
  EXPECT_EQ(stats.batches, data_->applies);
  EXPECT_EQ(stats.failures, 0);
  // Store revisions only go up, and the last one is the state's.
  for (size_t i = 1; i < data_->batch_revisions.size(); ++i) {
    EXPECT_GT(data_->batch_revisions[i], data_->batch_revisions[i - 1]);
  }
  EXPECT_EQ(data_->batch_revisions.back(), db_->Read([](const State& s) { return s.revision(); }));
  // Each revision is acknowledged once; all of them were.
  std::sort(ack_order.begin(), ack_order.end());
  EXPECT_EQ(std::unique(ack_order.begin(), ack_order.end()), ack_order.end());
}

TEST_F(DbTest, WhenDurableFiresInRevisionOrder) {
  data_->Hold();
  std::vector<int> fired;
  std::mutex mu;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(CreateDept("o-" + std::to_string(i)).ok());
    db_->WhenDurable([&, i](Status s) {
      EXPECT_TRUE(s.ok());
      std::lock_guard lock(mu);
      fired.push_back(i);
    });
    if (i == 0) {
      ASSERT_TRUE(data_->WaitForHeldApply());
    }
  }
  data_->Release();
  ASSERT_TRUE(db_->Sync().ok());
  ASSERT_TRUE(PollUntil([&] {
    std::lock_guard lock(mu);
    return fired.size() == 20;
  }));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fired[i], i);
}

TEST_F(DbTest, CommitFailureReloadsStateAndFailsWaiters) {
  ASSERT_TRUE(CreateDept("kept").ok());
  ASSERT_TRUE(db_->Sync().ok());
  const std::int64_t durable_revision = data_->revision;

  data_->fail_next_applies = 1;
  // The epoch before the write, as ApiHandler takes it: the commit may fail (and be discarded)
  // before WhenDurable is called, and the waiter must still hear of it.
  const std::uint64_t epoch = db_->FailureEpoch();
  ASSERT_TRUE(CreateDept("lost").ok());
  std::promise<Status> outcome;
  db_->WhenDurable([&](Status s) { outcome.set_value(s); }, epoch);
  const Status s = outcome.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  // Memory was rebuilt from the store: the unacknowledged change is gone, the old one stays.
  EXPECT_FALSE(HasDept("lost"));
  EXPECT_TRUE(HasDept("kept"));
  EXPECT_EQ(db_->Read([](const State& st) { return st.revision(); }), durable_revision);
  // (The failure is counted just after the waiters are told.)
  EXPECT_TRUE(PollUntil([&] { return db_->commit_stats().failures == 1; }));
  EXPECT_EQ(data_->RecordCount("department"), 1u);

  // The Db keeps working: the same name can be created now, and it is durable.
  auto again = CreateDept("lost");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(db_->Sync().ok());
  EXPECT_EQ(data_->RecordCount("department"), 2u);
  EXPECT_GT(data_->revision, durable_revision);
}

TEST_F(DbTest, AWaiterThatComesAfterTheFailureOfItsChangeIsToldSo) {
  // A request takes the epoch before it writes; its change fails to commit (and is discarded)
  // before it asks to be told: it must not hear OK.
  const std::uint64_t epoch = db_->FailureEpoch();
  data_->fail_next_applies = 1;
  ASSERT_TRUE(CreateDept("lost").ok());
  // Unavailable, or OK when the failure came first: the race this test is about.
  db_->Sync().IgnoreError();
  EXPECT_EQ(db_->FailureEpoch(), epoch + 1);
  std::promise<Status> late;
  db_->WhenDurable([&](Status s) { late.set_value(s); }, epoch);
  EXPECT_EQ(late.get_future().get().code(), StatusCode::kUnavailable);
  // A request that began after the failure is answered as usual.
  const std::uint64_t now = db_->FailureEpoch();
  ASSERT_TRUE(CreateDept("kept").ok());
  std::promise<Status> fresh;
  db_->WhenDurable([&](Status s) { fresh.set_value(s); }, now);
  EXPECT_TRUE(fresh.get_future().get().ok());
}

TEST_F(DbTest, CommitFailureFailsEveryWaiterOfTheDiscardedChanges) {
  ASSERT_TRUE(CreateDept("kept").ok());
  ASSERT_TRUE(db_->Sync().ok());
  data_->Hold();
  ASSERT_TRUE(CreateDept("held").ok());
  ASSERT_TRUE(data_->WaitForHeldApply());
  std::atomic<int> ok{0}, failed{0};
  auto count = [&](Status s) { ++(s.ok() ? ok : failed); };
  db_->WhenDurable(count);
  // Queued behind the held batch; they depend on its changes.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(CreateDept("doomed-" + std::to_string(i)).ok());
    db_->WhenDurable(count);
  }
  {
    std::lock_guard lock(data_->mu);
    data_->fail_next_applies = 1;  // the held batch fails
  }
  data_->Release();
  ASSERT_TRUE(PollUntil([&] { return ok + failed == 11; }));
  EXPECT_EQ(ok, 0);
  EXPECT_EQ(failed, 11);
  EXPECT_EQ(data_->RecordCount("department"), 1u);
  EXPECT_EQ(db_->Read([](const State& s) { return s.departments().size(); }), 1u);
  EXPECT_TRUE(HasDept("kept"));
  EXPECT_FALSE(HasDept("doomed-0"));
  ASSERT_TRUE(db_->Sync().ok());
  EXPECT_EQ(data_->RecordCount("department"), 1u) << "discarded changes never reach the store";
}

TEST_F(DbTest, DestructorDrainsPendingCommits) {
  data_->Hold();
  ASSERT_TRUE(CreateDept("a").ok());
  ASSERT_TRUE(data_->WaitForHeldApply());
  ASSERT_TRUE(CreateDept("b").ok());
  std::thread releaser([&] { data_->Release(); });
  db_.reset();
  releaser.join();
  EXPECT_EQ(data_->RecordCount("department"), 2u);
}

TEST(DbOpenTest, LoadFailureAndCorruptRecordsAreReported) {
  auto data = std::make_shared<FakeStoreData>();
  FakeClock clock;
  data->fail_next_loads = 1;
  EXPECT_FALSE(Db::Open(std::make_unique<FakeStateStore>(data), clock, Schedulers()).ok());
  data->records[{"department", "x"}] = "{not json";
  EXPECT_EQ(Db::Open(std::make_unique<FakeStateStore>(data), clock, Schedulers()).status().code(),
            StatusCode::kInternal);
  data->records.clear();
  data->records[{"spaceship", "x"}] = "{}";
  EXPECT_FALSE(Db::Open(std::make_unique<FakeStateStore>(data), clock, Schedulers()).ok());
}

// The real store: a Db reopened on the same file has everything, with the same revisions,
// usage and host allocations.
TEST(DbSqliteTest, ReopenRestoresStateUsageAndAllocations) {
  const std::string dir = ::testing::TempDir() + "/govpool-db-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.db";
  FakeClock clock;
  std::string dept_id, vm_id, host_id;
  std::int64_t revision = 0, vm_revision = 0;
  {
    auto store = SqliteStateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto db = Db::Open(std::move(store).value(), clock, Schedulers());
    ASSERT_TRUE(db.ok());
    auto d = (*db)->Write([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "a";
      req.quota.instances = 3;
      return CreateDepartment(s, t, kAdmin, req);
    });
    ASSERT_TRUE(d.ok());
    dept_id = d->meta.id;
    api::CreateFlavorRequest flavor;
    flavor.name = "small";
    flavor.vcpus = 2;
    flavor.memory_mib = 1024;
    flavor.disk_gib = 5;
    ASSERT_TRUE((*db)->Write([&](State& s, Txn& t) { return CreateFlavor(s, t, kAdmin, flavor); }).ok());
    auto h = (*db)->Write([&](State& s, Txn& t) {
      api::RegisterHostRequest req;
      req.name = "h";
      req.capacity = {8, 8192, 100, {}};
      return RegisterHost(s, t, kAdmin, req);
    });
    ASSERT_TRUE(h.ok());
    host_id = h->meta.id;
    api::CreateVmRequest vm_req;
    vm_req.name = "v";
    vm_req.department_id = dept_id;
    vm_req.flavor = "small";
    auto vm = (*db)->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, kAdmin, vm_req); });
    ASSERT_TRUE(vm.ok()) << vm.status().ToString();
    vm_id = vm->meta.id;
    vm_revision = vm->meta.revision;
    ASSERT_TRUE((*db)->Sync().ok());
    revision = (*db)->Read([](const State& s) { return s.revision(); });
  }
  auto store = SqliteStateStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto db = Db::Open(std::move(store).value(), clock, Schedulers());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  (*db)->Read([&](const State& s) {
    EXPECT_EQ(s.revision(), revision);
    ASSERT_NE(s.FindVm(vm_id), nullptr);
    EXPECT_EQ(s.FindVm(vm_id)->meta.revision, vm_revision);
    EXPECT_EQ(s.Usage(dept_id).instances, 1);
    EXPECT_EQ(s.Usage(dept_id).vcpus, 2);
    const api::Host h = s.RenderHost(*s.FindHost(host_id));
    EXPECT_EQ(h.allocated.vcpus, 2);
    EXPECT_EQ(h.allocated.memory_mib, 1024);
    EXPECT_EQ(h.instances, 1);
    EXPECT_NE(s.FindFlavor("small"), nullptr);
    EXPECT_NE(s.FindDepartmentByName("a"), nullptr);
  });
  // Revisions keep growing after a reopen (no reuse).
  auto d2 = (*db)->Write([&](State& s, Txn& t) {
    api::CreateDepartmentRequest req;
    req.name = "b";
    return CreateDepartment(s, t, kAdmin, req);
  });
  ASSERT_TRUE(d2.ok());
  EXPECT_GT(d2->meta.revision, revision);
  db->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace govpool::controller
