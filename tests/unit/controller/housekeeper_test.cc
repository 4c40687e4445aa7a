// Housekeeper over Db on FakeStateStore and FakeClock: the silent-host sweep (agent hosts
// only, exactly after the timeout, once), idempotency expiry (after the TTL, every sweep
// interval, durably), and the thread loop started and stopped as main does.
#include "controller/housekeeper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "common/pki.h"
#include "common/private_file.h"
#include "controller/services/services.h"
#include "controller/tls_files.h"
#include "scheduler/scheduler.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"

namespace govpool::controller {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

class HousekeeperTest : public ::testing::Test {
 protected:
  HousekeeperTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    admin_.user_id = "u-admin";
    admin_.name = "admin";
    admin_.role = api::Role::kSystemAdmin;
    agent_.user_id = "u-agent";
    agent_.name = "agent";
    agent_.role = api::Role::kAgent;
  }

  std::string RegisterHost(const std::string& name, const Caller& by) {
    api::RegisterHostRequest req;
    req.name = name;
    req.capacity.cpus = 8;
    req.capacity.memory_mib = 8192;
    req.capacity.disk_gib = 100;
    auto h = db_->Write([&](State& s, Txn& t) { return controller::RegisterHost(s, t, by, req); });
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->meta.id : "";
  }
  api::HostStatus HostStatus(const std::string& id) {
    return db_->Read([&](const State& s) { return s.FindHost(id)->status; });
  }
  void SaveIdempotencyRecord(const std::string& id) {
    db_->Write([&](State& s, Txn& t) {
      IdempotencyRecord r{id, "request-hash", 201, "{}", t.now_ms()};
      s.Save(t, r);
      return 0;
    });
  }
  bool HasIdempotencyRecord(const std::string& id) {
    return db_->Read([&](const State& s) { return s.FindIdempotency(id) != nullptr; });
  }
  std::chrono::steady_clock::time_point Now() const { return clock_.MonotonicNow(); }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller admin_;
  Caller agent_;
};

TEST_F(HousekeeperTest, MarksSilentAgentHostsDownOnceTheTimeoutHasPassed) {
  HousekeeperOptions options;
  options.heartbeat_timeout = seconds(30);
  Housekeeper housekeeper(*db_, clock_, options);
  const std::string agent_host = RegisterHost("h1", agent_);
  const std::string static_host = RegisterHost("static", admin_);  // no agent: never judged

  clock_.Advance(seconds(30));  // exactly at the limit: still up
  EXPECT_TRUE(housekeeper.RunOnce(Now()).hosts_marked_down.empty());
  EXPECT_EQ(HostStatus(agent_host), api::HostStatus::kUp);

  clock_.Advance(milliseconds(1));
  EXPECT_EQ(housekeeper.RunOnce(Now()).hosts_marked_down, std::vector<std::string>{agent_host});
  EXPECT_EQ(HostStatus(agent_host), api::HostStatus::kDown);
  EXPECT_EQ(HostStatus(static_host), api::HostStatus::kUp);
  ASSERT_TRUE(db_->Sync().ok());  // the change of status is durable

  clock_.Advance(hours(1));  // already down: not again
  EXPECT_TRUE(housekeeper.RunOnce(Now()).hosts_marked_down.empty());
}

TEST_F(HousekeeperTest, HeartbeatsKeepAHostUp) {
  HousekeeperOptions options;
  options.heartbeat_timeout = seconds(30);
  Housekeeper housekeeper(*db_, clock_, options);
  const std::string id = RegisterHost("h1", agent_);
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(seconds(20));
    ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return Heartbeat(s, t, agent_, id); }).ok());
    EXPECT_TRUE(housekeeper.RunOnce(Now()).hosts_marked_down.empty());
  }
  clock_.Advance(seconds(31));
  EXPECT_EQ(housekeeper.RunOnce(Now()).hosts_marked_down.size(), 1u);
}

TEST_F(HousekeeperTest, ForgetsIdempotencyRecordsAfterTheTtlEverySweepInterval) {
  HousekeeperOptions options;
  options.idempotency_ttl = hours(24);
  options.idempotency_sweep_interval = seconds(60);
  Housekeeper housekeeper(*db_, clock_, options);
  SaveIdempotencyRecord("old");
  clock_.Advance(hours(1));
  SaveIdempotencyRecord("newer");

  clock_.Advance(hours(23));  // "old" is exactly 24 h old: kept
  HousekeepingResult first = housekeeper.RunOnce(Now());
  EXPECT_TRUE(first.idempotency_swept);  // the first pass sweeps
  EXPECT_EQ(first.idempotency_records_expired, 0);

  clock_.Advance(milliseconds(1));  // now older than the TTL, but the next sweep is not due
  HousekeepingResult second = housekeeper.RunOnce(Now());
  EXPECT_FALSE(second.idempotency_swept);
  EXPECT_TRUE(HasIdempotencyRecord("old"));

  clock_.Advance(seconds(60));
  HousekeepingResult third = housekeeper.RunOnce(Now());
  EXPECT_TRUE(third.idempotency_swept);
  EXPECT_EQ(third.idempotency_records_expired, 1);
  EXPECT_FALSE(HasIdempotencyRecord("old"));
  EXPECT_TRUE(HasIdempotencyRecord("newer"));

  // The removal is durable: a reload from the store no longer has the record.
  ASSERT_TRUE(db_->Sync().ok());
  db_.reset();
  auto reopened = testing::OpenFakeDb(data_, clock_);
  ASSERT_TRUE(reopened.ok());
  db_ = std::move(reopened).value();
  EXPECT_FALSE(HasIdempotencyRecord("old"));
  EXPECT_TRUE(HasIdempotencyRecord("newer"));
}

TEST_F(HousekeeperTest, ExpireIdempotencyRecordsCountsWhatItRemoves) {
  SaveIdempotencyRecord("a");
  SaveIdempotencyRecord("b");
  clock_.Advance(seconds(2));
  EXPECT_EQ(db_->Write([](State& s, Txn& t) { return ExpireIdempotencyRecords(s, t, 2'000); }), 0);
  EXPECT_EQ(db_->Write([](State& s, Txn& t) { return ExpireIdempotencyRecords(s, t, 1'999); }), 2);
  EXPECT_EQ(db_->Write([](State& s, Txn& t) { return ExpireIdempotencyRecords(s, t, 0); }), 0);
}

TEST_F(HousekeeperTest, StartRunsTheSweepOnAThreadUntilStop) {
  HousekeeperOptions options;
  options.heartbeat_timeout = seconds(30);
  options.sweep_interval = milliseconds(5);
  Housekeeper housekeeper(*db_, clock_, options);
  housekeeper.Stop();  // not running: returns at once
  const std::string id = RegisterHost("h1", agent_);
  clock_.Advance(seconds(31));
  housekeeper.Start();
  housekeeper.Start();  // already running: no second thread
  for (int i = 0; i < 2000 && HostStatus(id) != api::HostStatus::kDown; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(HostStatus(id), api::HostStatus::kDown);
  housekeeper.Stop();
  housekeeper.Stop();
  // Stopped: a host going silent now stays up.
  const std::string later = RegisterHost("h2", agent_);
  clock_.Advance(seconds(31));
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(HostStatus(later), api::HostStatus::kUp);
}

// ---- The served certificate renewed or replaced without a restart (TlsRotation) ----

class TlsRotationTest : public ::testing::Test {
 protected:
  TlsRotationTest() {
    char pattern[] = "/tmp/govpool-tls-rotation-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    tls_dir_ = dir_ + "/tls";
    auto first = LoadOrCreateControllerTls(tls_dir_, names_, "", "", NowMs());
    EXPECT_TRUE(first.ok()) << first.status().ToString();
    if (first.ok()) ca_ = first->ca;
  }
  ~TlsRotationTest() override { std::filesystem::remove_all(dir_); }

  std::int64_t NowMs() const {
    return std::chrono::duration_cast<milliseconds>(clock_.Now().time_since_epoch()).count();
  }
  // The serial of the certificate in `path`.
  static std::string Serial(const std::string& path) {
    std::ifstream in(path);
    std::stringstream pem;
    pem << in.rdbuf();
    auto info = pki::ReadCertificate(pem.str());
    return info.ok() ? info->serial_hex : "";
  }
  std::function<Status()> CountingReload() {
    return [this] {
      ++reloads_;
      return next_reload_;
    };
  }

  testing::FakeClock clock_;
  std::string dir_;
  std::string tls_dir_;
  const std::vector<std::string> names_{"controller.example", "127.0.0.1"};
  pki::KeyAndCertificate ca_;
  int reloads_ = 0;
  Status next_reload_ = OkStatus();
};

TEST_F(TlsRotationTest, TheOwnCertificateIsIssuedAnewNearItsEndAndServedWithoutARestart) {
  std::vector<std::int64_t> not_after_ms;  // as the metric is told
  TlsRotation rotation({tls_dir_, names_, "", "", [&](std::int64_t t) { not_after_ms.push_back(t); }}, clock_,
                       CountingReload());
  ASSERT_EQ(not_after_ms.size(), 1u);
  EXPECT_EQ(not_after_ms[0], NowMs() + kServerCertificateLifetimeMs);
  const std::string first = Serial(tls_dir_ + "/server.crt");
  ASSERT_FALSE(first.empty());
  auto nothing_due = rotation.CheckOnce();
  ASSERT_TRUE(nothing_due.ok());
  EXPECT_FALSE(*nothing_due);
  EXPECT_EQ(reloads_, 0);
  EXPECT_EQ(Serial(tls_dir_ + "/server.crt"), first);

  // 340 of its 365 days later it is within the 30-day renewal window.
  clock_.Advance(hours(24 * 340));
  auto renewed = rotation.CheckOnce();
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_TRUE(*renewed);
  EXPECT_EQ(reloads_, 1);
  const std::string second = Serial(tls_dir_ + "/server.crt");
  EXPECT_NE(second, first);
  ASSERT_EQ(not_after_ms.size(), 2u);
  EXPECT_EQ(not_after_ms[1], NowMs() + kServerCertificateLifetimeMs) << "a year from the renewal";
  EXPECT_FALSE(*rotation.CheckOnce()) << "renewed once, not at every check";
  EXPECT_EQ(reloads_, 1);
  // SIGHUP reloads whatever is there.
  EXPECT_TRUE(*rotation.CheckOnce(/*force=*/true));
  EXPECT_EQ(reloads_, 2);
}

TEST_F(TlsRotationTest, AnOperatorsReplacedFilesAreServedAndAFailedReloadIsTriedAgain) {
  auto write_pair = [&](const std::string& stem) {
    auto pair = pki::IssueServerCertificate(ca_, names_, NowMs(), hours(24 * 90).count());
    EXPECT_TRUE(pair.ok()) << pair.status().ToString();
    EXPECT_TRUE(WritePrivateFile(dir_ + "/op.key", pair->key_pem).ok());
    EXPECT_TRUE(WritePrivateFile(dir_ + "/op.crt", pair->certificate_pem).ok());
    return Serial(dir_ + "/op.crt") + stem;
  };
  write_pair("");
  TlsRotation rotation({tls_dir_, names_, dir_ + "/op.crt", dir_ + "/op.key", {}}, clock_, CountingReload());
  EXPECT_FALSE(*rotation.CheckOnce());
  // Even a year on, the operator's files are the operator's to renew: nothing is issued.
  clock_.Advance(hours(24 * 365));
  EXPECT_FALSE(*rotation.CheckOnce());
  EXPECT_EQ(reloads_, 0);

  write_pair("");  // a renewal tool replaced them
  next_reload_ = InvalidArgument("the key does not match the certificate");
  auto failed = rotation.CheckOnce();
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(reloads_, 1);
  next_reload_ = OkStatus();
  auto served = rotation.CheckOnce();
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(*served) << "tried again after the failure";
  EXPECT_EQ(reloads_, 2);
  EXPECT_FALSE(*rotation.CheckOnce());
}

TEST_F(TlsRotationTest, TheHousekeeperChecksEveryIntervalButNotAtItsFirstPass) {
  auto data = std::make_shared<testing::FakeStoreData>();
  auto db = testing::OpenFakeDb(data, clock_);
  ASSERT_TRUE(db.ok());
  TlsRotation rotation({tls_dir_, names_, "", "", {}}, clock_, CountingReload());
  HousekeeperOptions options;
  options.tls_rotation = &rotation;
  options.tls_check_interval = hours(1);
  Housekeeper housekeeper(**db, clock_, options);
  clock_.Advance(hours(24 * 340));  // due, but the server has just loaded the files
  EXPECT_FALSE(housekeeper.RunOnce(clock_.MonotonicNow()).tls_reloaded);
  clock_.Advance(milliseconds(59 * 60 * 1000));
  EXPECT_FALSE(housekeeper.RunOnce(clock_.MonotonicNow()).tls_reloaded);
  clock_.Advance(hours(1));
  EXPECT_TRUE(housekeeper.RunOnce(clock_.MonotonicNow()).tls_reloaded);
  EXPECT_EQ(reloads_, 1);
}

}  // namespace
}  // namespace govpool::controller
