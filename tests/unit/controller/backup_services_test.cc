// Unit tests of the backup services over an in-memory State (docs/storage.md, "Backups"):
// on-demand backups (the worker reaches both pools, one at a time per volume), the backup_gib
// quota, agents' reports (results, retries up to kMaxBackupAttempts, stale generations,
// deletion), incremental parents, restores, policies (schedule checks, runs when due,
// retention), the agents' watch answer, moving work off a down host, and RBAC.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "controller/services/services.h"
#include "scheduler/scheduler.h"
#include "tests/unit/controller/pre_registered_host.h"

namespace govpool::controller {
namespace {

constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

std::int64_t Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date = year{y} / month{mo} / day{d};
  return duration_cast<milliseconds>(date.time_since_epoch()).count() + h * kHour + mi * kMinute;
}

std::string DetailString(const Status& s, const std::string& key) {
  for (const auto& [k, v] : s.details()) {
    if (k == key && std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  }
  return "";
}

std::vector<std::string> DetailList(const Status& s, const std::string& key) {
  for (const auto& [k, v] : s.details()) {
    if (k == key && std::holds_alternative<std::vector<std::string>>(v)) {
      return std::get<std::vector<std::string>>(v);
    }
  }
  return {};
}

template <typename T>
std::vector<std::string> IdsOf(const std::vector<T>& items) {
  std::vector<std::string> ids;
  for (const T& x : items) ids.push_back(x.meta.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

class BackupServicesTest : public ::testing::Test {
 protected:
  BackupServicesTest() : s_(std::move(scheduler::Scheduler::Create(scheduler::Config{})).value()) {
    admin_ = {"u-admin", "admin", api::Role::kSystemAdmin, ""};
    api::Quota q;
    q.volumes = 5;
    q.volume_gib = 200;
    q.backup_gib = 1000;
    dept_ = Create<api::Department>([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "tax";
      req.quota = q;
      return CreateDepartment(s, t, admin_, req);
    });
    other_dept_ = Create<api::Department>([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "audit";
      return CreateDepartment(s, t, admin_, req);
    });
    dept_admin_ = {"u-da", "da", api::Role::kDeptAdmin, dept_.meta.id};
    member_ = {"u-m", "m", api::Role::kDeptMember, dept_.meta.id};
    outsider_ = {"u-o", "o", api::Role::kDeptAdmin, other_dept_.meta.id};
    fast_ = MakePool("fast", "ceph");
    vault_ = MakePool("vault", "ceph-dr");  // another cluster
    h1_ = MakeHost("h1", {"ceph", "ceph-dr"});
    h2_ = MakeHost("h2", {"ceph", "ceph-dr"});
    // Only h1 reaches the volumes' pool when `data` is created: its work is h1's. Then h2
    // reaches both pools (h1 does not reach the vault: its reports leave it out).
    Reach(h1_, {fast_});
    auto v = MakeVolume("data", 40);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    vol_ = v.ok() ? *v : api::Volume{};
    EXPECT_EQ(vol_.host_id, h1_.meta.id);
    MakeAvailable(vol_.meta.id);
    Reach(h2_, {fast_, vault_});
  }

  template <typename Fn>
  auto W(Fn fn) {
    Txn t(s_.revision() + 1, now_ms_);
    auto r = fn(s_, t);
    if (!t.mutations().empty()) s_.set_revision(t.revision());
    return r;
  }
  template <typename T, typename Fn>
  T Create(Fn fn) {
    auto r = W(fn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : T{};
  }

  api::StoragePool MakePool(const std::string& name, const std::string& cluster) {
    return Create<api::StoragePool>([&](State& s, Txn& t) {
      api::CreateStoragePoolRequest req;
      req.name = name;
      req.cluster = cluster;
      return CreateStoragePool(s, t, admin_, req);
    });
  }
  // A host registered by its own agent (user "u-agent-<name>").
  api::Host MakeHost(const std::string& name, const std::vector<std::string>& clusters) {
    Caller agent{"u-agent-" + name, "agent-" + name, api::Role::kAgent, ""};
    api::Host h = Create<api::Host>([&](State& s, Txn& t) {
      api::RegisterHostRequest req;
      req.name = name;
      req.capacity = {16, 65536, 100, {}};
      req.storage_clusters = clusters;
      return testing::RegisterPreRegisteredHost(s, t, agent, req);
    });
    agents_[h.meta.id] = agent;
    return h;
  }
  // The agent of `host` reports that it reaches `pools` (1000 GiB each, 10% used).
  void Reach(const api::Host& host, const std::vector<api::StoragePool>& pools) {
    std::vector<api::StoragePoolReport> reports;
    for (const api::StoragePool& p : pools) {
      api::StoragePoolReport r;
      r.pool_id = p.meta.id;
      r.reachable = true;
      r.stats.capacity_bytes = 1000 * kGiB;
      r.stats.used_ratio = 0.1;
      r.stats.used_bytes = 100 * kGiB;
      reports.push_back(r);
    }
    Status st = W([&](State& s, Txn& t) { return ReportStoragePools(s, t, AgentOf(host.meta.id), host.meta.id, reports); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Caller AgentOf(const std::string& host_id) {
    auto it = agents_.find(host_id);
    EXPECT_NE(it, agents_.end()) << "no agent for host '" << host_id << "'";
    return it == agents_.end() ? Caller{} : it->second;
  }

  Result<api::Volume> MakeVolume(const std::string& name, std::int64_t gib, const std::string& pool = "fast") {
    api::CreateVolumeRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    req.size_gib = gib;
    req.pool = pool;
    return W([&](State& s, Txn& t) { return CreateVolume(s, t, dept_admin_, req); });
  }
  // The volume's agent reports it created.
  void MakeAvailable(const std::string& volume_id) {
    const api::Volume* v = s_.FindVolume(volume_id);
    ASSERT_NE(v, nullptr);
    api::VolumeStatusReport r;
    r.state = api::VolumeState::kAvailable;
    r.observed_generation = v->generation;
    const Caller agent = AgentOf(v->host_id);
    auto done = W([&](State& s, Txn& t) { return ReportVolumeStatus(s, t, agent, volume_id, r); });
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  }

  Result<api::Backup> Backup(const std::string& volume, const std::string& target = "vault",
                             const Caller* by = nullptr, const std::string& name = "") {
    api::CreateBackupRequest req;
    req.volume = volume;
    req.department_id = dept_.meta.id;
    req.target_pool = target;
    req.name = name;
    return W([&](State& s, Txn& t) { return CreateBackup(s, t, by ? *by : dept_admin_, req); });
  }
  // The agent holding the backup's work reports on it.
  Result<api::Backup> Report(const std::string& id, api::BackupState state, std::int64_t generation,
                             const std::string& reason = "", bool incremental = false, std::int64_t bytes = 0) {
    const api::Backup* b = s_.FindBackup(id);
    EXPECT_NE(b, nullptr) << id;
    if (!b) return NotFound(id);
    api::BackupStatusReport r;
    r.state = state;
    r.state_reason = reason;
    r.observed_generation = generation;
    r.incremental = incremental;
    r.transferred_bytes = bytes;
    const Caller agent = AgentOf(b->host_id);
    return W([&](State& s, Txn& t) { return ReportBackupStatus(s, t, agent, id, r); });
  }
  // The current attempt succeeds.
  void Complete(const std::string& id, bool incremental = false, std::int64_t bytes = 1) {
    const api::Backup* b = s_.FindBackup(id);
    ASSERT_NE(b, nullptr);
    auto r = Report(id, api::BackupState::kAvailable, b->generation, "", incremental, bytes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(s_.FindBackup(id)->state, api::BackupState::kAvailable);
  }
  // Every attempt fails.
  void FailForGood(const std::string& id) {
    for (std::int64_t i = 0; i < kMaxBackupAttempts; ++i) {
      auto r = Report(id, api::BackupState::kError, s_.FindBackup(id)->generation, "rbd: I/O error");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    ASSERT_EQ(s_.FindBackup(id)->state, api::BackupState::kError);
  }
  Result<api::Volume> Restore(const std::string& backup_id, const std::string& name, const std::string& pool = "fast") {
    api::RestoreBackupRequest req;
    req.name = name;
    req.pool = pool;
    return W([&](State& s, Txn& t) { return RestoreBackup(s, t, dept_admin_, backup_id, req); });
  }
  Result<api::Backup> Delete(const std::string& id, const Caller* by = nullptr) {
    return W([&](State& s, Txn& t) { return DeleteBackup(s, t, by ? *by : dept_admin_, id); });
  }
  Result<api::BackupPolicy> MakePolicy(const std::string& name, const std::string& schedule, std::int64_t keep,
                                       const std::string& volume = "", const std::string& target = "vault",
                                       const Caller* by = nullptr) {
    api::CreateBackupPolicyRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    req.schedule = schedule;
    req.keep = keep;
    req.volume = volume;
    req.target_pool = target;
    return W([&](State& s, Txn& t) { return CreateBackupPolicy(s, t, by ? *by : dept_admin_, req); });
  }
  void PatchQuota(const api::QuotaPatch& q) {
    api::PatchDepartmentRequest req;
    req.quota = q;
    auto d = W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, dept_.meta.id, std::nullopt, req); });
    ASSERT_TRUE(d.ok()) << d.status().ToString();
  }
  std::int64_t RunPolicies() {
    return W([&](State& s, Txn& t) { return RunBackupPolicies(s, t); });
  }
  std::int64_t Used(const char* resource) {
    return s_.Usage(dept_.meta.id).*(api::FindQuotaResource(resource)->limit);
  }
  std::int64_t EventCount(const std::string& kind) {
    auto it = s_.event_counts().find(kind);
    return it == s_.event_counts().end() ? 0 : it->second;
  }
  std::vector<api::Backup> BackupsOf(const std::string& volume_id) {
    BackupFilter f;
    f.volume_id = volume_id;
    return ListBackups(s_, admin_, f, {}).items;
  }
  // Hosts other than `silent` heartbeat; `silent` ones are marked down.
  void TakeDown(const std::vector<api::Host>& silent) {
    auto is_silent = [&](const std::string& id) {
      return std::any_of(silent.begin(), silent.end(), [&](const api::Host& h) { return h.meta.id == id; });
    };
    now_ms_ += kMinute;
    W([&](State& s, Txn& t) {
      for (const auto& [id, h] : s.hosts()) {
        if (!is_silent(id)) s.TouchHeartbeat(id, t.now_ms());
      }
      return MarkSilentHostsDown(s, t, 30'000);
    });
    for (const api::Host& h : silent) ASSERT_EQ(s_.FindHost(h.meta.id)->status, api::HostStatus::kDown);
  }

  State s_;
  std::int64_t now_ms_ = Utc(2026, 12, 1, 10, 30);
  Caller admin_, dept_admin_, member_, outsider_;
  std::map<std::string, Caller> agents_;  // host id -> its agent
  api::Department dept_, other_dept_;
  api::StoragePool fast_, vault_;
  api::Host h1_, h2_;
  api::Volume vol_;  // "data", 40 GiB in "fast", available; its work is h1's
};

// ---------------- On demand ----------------

TEST_F(BackupServicesTest, OnDemandBackupGoesToAnAgentReachingBothPools) {
  auto b = Backup(vol_.meta.id);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // h1 holds the volume but cannot reach the vault: h2 reaches both.
  EXPECT_EQ(b->host_id, h2_.meta.id);
  EXPECT_EQ(b->state, api::BackupState::kCreating);
  EXPECT_EQ(b->generation, 1);
  EXPECT_EQ(b->attempts, 0);
  EXPECT_EQ(b->department_id, dept_.meta.id);
  EXPECT_EQ(b->volume_id, vol_.meta.id);
  EXPECT_EQ(b->volume_name, "data");
  EXPECT_EQ(b->source_pool_id, fast_.meta.id);
  EXPECT_EQ(b->target_pool_id, vault_.meta.id);
  EXPECT_EQ(b->size_gib, 40);
  EXPECT_TRUE(b->policy_id.empty());
  EXPECT_TRUE(b->parent_backup_id.empty());
  EXPECT_EQ(b->name, "data-20261201t103000z");  // "<volume>-<UTC time>" by default
  EXPECT_EQ(Used("backup_gib"), 40);
  ASSERT_NE(s_.FindBackup(b->meta.id), nullptr);
  // The worker's watch answer carries it; the volume's host's does not.
  api::WatchAnswer w2, w1;
  AddStorageWork(s_, h2_.meta.id, w2);
  AddStorageWork(s_, h1_.meta.id, w1);
  EXPECT_EQ(IdsOf(w2.backups), std::vector<std::string>{b->meta.id});
  EXPECT_TRUE(w1.backups.empty());
}

TEST_F(BackupServicesTest, TheVolumesOwnAgentDoesTheBackupWhenItReachesBothPools) {
  Reach(h1_, {fast_, vault_});
  // By name within the department, and into the target given by name.
  auto b = Backup("data", "vault", nullptr, "before-upgrade");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->host_id, h1_.meta.id);
  EXPECT_EQ(b->name, "before-upgrade");
  EXPECT_EQ(b->volume_id, vol_.meta.id);
  Complete(b->meta.id);
  auto dup = Backup("data", "vault", nullptr, "before-upgrade");
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(BackupServicesTest, TheTargetMustBeAnotherExistingPool) {
  auto same = Backup(vol_.meta.id, "fast");
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(same.status(), "field"), "target_pool");
  auto same_by_id = Backup(vol_.meta.id, fast_.meta.id);
  EXPECT_EQ(same_by_id.status().code(), StatusCode::kInvalidArgument);
  auto unknown = Backup(vol_.meta.id, "nowhere");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(unknown.status(), "field"), "target_pool");
  auto no_volume = Backup("missing");
  EXPECT_EQ(no_volume.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(no_volume.status(), "field"), "volume");
  EXPECT_TRUE(s_.backups().empty());
  EXPECT_EQ(Used("backup_gib"), 0);
}

TEST_F(BackupServicesTest, VolumesThatAreNotReadyCannotBeBackedUp) {
  auto creating = *MakeVolume("new", 1);
  auto b = Backup(creating.meta.id);
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(s_.BackupsOfVolume(creating.meta.id).empty());
}

TEST_F(BackupServicesTest, OneBackupOfAVolumeAtATime) {
  auto first = Backup(vol_.meta.id);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Backup(vol_.meta.id);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().reason(), "BACKUP_IN_PROGRESS");
  EXPECT_EQ(DetailString(second.status(), "backup_id"), first->meta.id);
  EXPECT_EQ(BackupsOf(vol_.meta.id).size(), 1u);
  // The volume cannot go while the backup runs (retries included).
  auto del = W([&](State& s, Txn& t) { return DeleteVolume(s, t, dept_admin_, vol_.meta.id, std::nullopt, false); });
  EXPECT_EQ(del.status().reason(), "BACKUP_IN_PROGRESS");
  ASSERT_TRUE(Report(first->meta.id, api::BackupState::kError, 1, "timeout").ok());
  EXPECT_EQ(Backup(vol_.meta.id).status().reason(), "BACKUP_IN_PROGRESS");
  del = W([&](State& s, Txn& t) { return DeleteVolume(s, t, dept_admin_, vol_.meta.id, std::nullopt, false); });
  EXPECT_EQ(del.status().reason(), "BACKUP_IN_PROGRESS");
  EXPECT_FALSE(s_.FindVolume(vol_.meta.id)->deleting);
  // Once it is over, another can start, and the volume can go (its backups stay).
  Complete(first->meta.id);
  auto next = Backup(vol_.meta.id);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  Complete(next->meta.id);
  del = W([&](State& s, Txn& t) { return DeleteVolume(s, t, dept_admin_, vol_.meta.id, std::nullopt, false); });
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_TRUE(del->deleting);
  EXPECT_NE(s_.FindBackup(first->meta.id), nullptr);
}

// ---------------- Quota ----------------

TEST_F(BackupServicesTest, BackupGibIsEnforcedAndReleased) {
  api::QuotaPatch q;
  q.backup_gib = 100;  // each backup of the 40 GiB volume counts 40
  PatchQuota(q);
  auto b1 = *Backup(vol_.meta.id);
  Complete(b1.meta.id);
  auto b2 = *Backup(vol_.meta.id);
  EXPECT_EQ(Used("backup_gib"), 80);
  Complete(b2.meta.id);
  auto b3 = Backup(vol_.meta.id);
  ASSERT_FALSE(b3.ok());
  EXPECT_EQ(b3.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b3.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(b3.status(), "resource"), "backup_gib");
  EXPECT_EQ(Used("backup_gib"), 80);
  EXPECT_EQ(BackupsOf(vol_.meta.id).size(), 2u);

  // Deleting counts until the agent confirms.
  auto d = Delete(b2.meta.id);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Used("backup_gib"), 80);
  EXPECT_EQ(Backup(vol_.meta.id).status().reason(), "QUOTA_EXCEEDED");
  ASSERT_TRUE(Report(b2.meta.id, api::BackupState::kDeleted, s_.FindBackup(b2.meta.id)->generation).ok());
  EXPECT_EQ(Used("backup_gib"), 40);

  // A backup that fails for good counts nothing.
  auto b4 = Backup(vol_.meta.id);
  ASSERT_TRUE(b4.ok()) << b4.status().ToString();
  EXPECT_EQ(Used("backup_gib"), 80);
  FailForGood(b4->meta.id);
  EXPECT_EQ(Used("backup_gib"), 40);
  ASSERT_TRUE(Delete(b4->meta.id).ok());
  EXPECT_EQ(Used("backup_gib"), 40) << "deleting what a failed backup left counts nothing either";
  auto b5 = Backup(vol_.meta.id);
  ASSERT_TRUE(b5.ok()) << b5.status().ToString();
  EXPECT_EQ(Used("backup_gib"), 80);
  // The usage the API shows agrees.
  auto usage = GetUsage(s_, admin_, dept_.meta.id);
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  ASSERT_TRUE(usage->usage.count("backup_gib"));
  EXPECT_EQ(usage->usage.at("backup_gib").used, 80);
  EXPECT_EQ(usage->usage.at("backup_gib").limit, 100);
  EXPECT_TRUE(usage->usage.at("backup_gib").enforced);
}

// ---------------- Agents' reports ----------------

TEST_F(BackupServicesTest, AvailableRecordsTheResultAndTheNextBackupIsIncremental) {
  auto b1 = *Backup(vol_.meta.id);
  now_ms_ += 5 * kMinute;
  auto done = Report(b1.meta.id, api::BackupState::kAvailable, 1, "", false, 40 * kGiB);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, api::BackupState::kAvailable);
  const api::Backup* stored = s_.FindBackup(b1.meta.id);
  EXPECT_EQ(stored->state, api::BackupState::kAvailable);
  EXPECT_EQ(stored->completed_at_ms, now_ms_);
  EXPECT_EQ(stored->observed_generation, 1);
  EXPECT_FALSE(stored->incremental);
  EXPECT_EQ(stored->transferred_bytes, 40 * kGiB);
  EXPECT_EQ(GetBackup(s_, dept_admin_, b1.meta.id)->completed_at_ms, now_ms_);

  now_ms_ += kHour;
  auto b2 = Backup(vol_.meta.id);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  EXPECT_EQ(b2->parent_backup_id, b1.meta.id);
  ASSERT_TRUE(Report(b2->meta.id, api::BackupState::kAvailable, 1, "", true, 3 * kGiB).ok());
  EXPECT_TRUE(s_.FindBackup(b2->meta.id)->incremental);
  EXPECT_EQ(s_.FindBackup(b2->meta.id)->transferred_bytes, 3 * kGiB);
  // The newest available one is the parent; a deleting one never is.
  now_ms_ += kHour;
  auto b3 = *Backup(vol_.meta.id);
  EXPECT_EQ(b3.parent_backup_id, b2->meta.id);
  Complete(b3.meta.id);
  ASSERT_TRUE(Delete(b3.meta.id).ok());
  auto b4 = *Backup(vol_.meta.id);
  EXPECT_EQ(b4.parent_backup_id, b2->meta.id);
  // A report of a finished backup changes nothing.
  ASSERT_TRUE(Report(b1.meta.id, api::BackupState::kError, 1, "late").ok());
  EXPECT_EQ(s_.FindBackup(b1.meta.id)->state, api::BackupState::kAvailable);
  EXPECT_EQ(s_.FindBackup(b1.meta.id)->attempts, 0);
}

TEST_F(BackupServicesTest, ParentsAreCountedPerTargetPool) {
  api::StoragePool cold = MakePool("cold", "ceph-dr");
  Reach(h2_, {fast_, vault_, cold});
  auto b1 = *Backup(vol_.meta.id);
  Complete(b1.meta.id);
  auto b2 = Backup(vol_.meta.id, "cold");
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  EXPECT_TRUE(b2->parent_backup_id.empty());  // nothing in "cold" to diff against
}

TEST_F(BackupServicesTest, FailedAttemptsAreRetriedUntilTheLimitThenError) {
  auto b = *Backup(vol_.meta.id);
  auto r1 = Report(b.meta.id, api::BackupState::kError, 1, "rbd: connection reset");
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  const api::Backup* stored = s_.FindBackup(b.meta.id);
  EXPECT_EQ(stored->state, api::BackupState::kCreating);
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_EQ(stored->generation, 2);  // the agent tries again
  EXPECT_NE(stored->state_reason.find("attempt 1 of 3"), std::string::npos) << stored->state_reason;
  EXPECT_EQ(Used("backup_gib"), 40);  // still counts while retried
  EXPECT_EQ(EventCount("backup-failed"), 1);
  ASSERT_FALSE(s_.events().empty());
  const api::Event& e = s_.events().back();
  EXPECT_EQ(e.kind, "backup-failed");
  EXPECT_EQ(e.department_id, dept_.meta.id);
  EXPECT_EQ(e.host_id, h2_.meta.id);
  EXPECT_EQ(e.at_ms, now_ms_);
  EXPECT_NE(e.message.find(b.meta.id), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("rbd: connection reset"), std::string::npos) << e.message;
  // The watch answer carries the new generation.
  api::WatchAnswer w;
  AddStorageWork(s_, h2_.meta.id, w);
  ASSERT_EQ(w.backups.size(), 1u);
  EXPECT_EQ(w.backups[0].generation, 2);

  // Stale reports (about attempt 1) are ignored: neither an error nor a success counts.
  ASSERT_TRUE(Report(b.meta.id, api::BackupState::kError, 1, "again").ok());
  ASSERT_TRUE(Report(b.meta.id, api::BackupState::kAvailable, 1).ok());
  stored = s_.FindBackup(b.meta.id);
  EXPECT_EQ(stored->state, api::BackupState::kCreating);
  EXPECT_EQ(stored->attempts, 1);
  EXPECT_EQ(stored->generation, 2);
  EXPECT_EQ(EventCount("backup-failed"), 1);

  ASSERT_TRUE(Report(b.meta.id, api::BackupState::kError, 2, "rbd: timeout").ok());
  EXPECT_EQ(s_.FindBackup(b.meta.id)->attempts, 2);
  EXPECT_EQ(s_.FindBackup(b.meta.id)->generation, 3);
  EXPECT_EQ(s_.FindBackup(b.meta.id)->state, api::BackupState::kCreating);
  auto last = Report(b.meta.id, api::BackupState::kError, 3, "rbd: no space");
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->state, api::BackupState::kError);
  stored = s_.FindBackup(b.meta.id);
  EXPECT_EQ(stored->state, api::BackupState::kError);
  EXPECT_EQ(stored->attempts, kMaxBackupAttempts);
  EXPECT_EQ(stored->generation, 3);  // no retry after the last attempt
  EXPECT_NE(stored->state_reason.find("rbd: no space"), std::string::npos) << stored->state_reason;
  EXPECT_EQ(EventCount("backup-failed"), kMaxBackupAttempts);
  EXPECT_EQ(Used("backup_gib"), 0);
  // Over: later reports change nothing, and the volume may be backed up again.
  ASSERT_TRUE(Report(b.meta.id, api::BackupState::kAvailable, 3).ok());
  EXPECT_EQ(s_.FindBackup(b.meta.id)->state, api::BackupState::kError);
  auto again = Backup(vol_.meta.id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->parent_backup_id.empty());  // a failed backup is no parent
}

TEST_F(BackupServicesTest, OnlyTheWorkersAgentReports) {
  auto b = *Backup(vol_.meta.id);
  api::BackupStatusReport r;
  r.state = api::BackupState::kAvailable;
  r.observed_generation = 1;
  auto by_h1 = W([&](State& s, Txn& t) { return ReportBackupStatus(s, t, AgentOf(h1_.meta.id), b.meta.id, r); });
  EXPECT_EQ(by_h1.status().code(), StatusCode::kNotFound);
  auto by_user = W([&](State& s, Txn& t) { return ReportBackupStatus(s, t, dept_admin_, b.meta.id, r); });
  EXPECT_EQ(by_user.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s_.FindBackup(b.meta.id)->state, api::BackupState::kCreating);
}

TEST_F(BackupServicesTest, DeletedRemovesADeletingBackup) {
  auto b = *Backup(vol_.meta.id);
  Complete(b.meta.id);
  // Not asked to delete it: refused.
  auto early = Report(b.meta.id, api::BackupState::kDeleted, 1);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_NE(s_.FindBackup(b.meta.id), nullptr);

  auto d = Delete(b.meta.id);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->deleting);
  EXPECT_EQ(d->state, api::BackupState::kDeleting);
  EXPECT_EQ(d->host_id, h2_.meta.id);
  EXPECT_TRUE(GetBackup(s_, dept_admin_, b.meta.id)->deleting);
  EXPECT_TRUE(Delete(b.meta.id).ok());  // again: the same answer
  // It can no longer be restored.
  EXPECT_EQ(Restore(b.meta.id, "back").status().reason(), "BACKUP_NOT_READY");
  // A failed removal is recorded; the record stays.
  ASSERT_TRUE(Report(b.meta.id, api::BackupState::kError, 1, "rbd: busy").ok());
  EXPECT_EQ(s_.FindBackup(b.meta.id)->state_reason, "rbd: busy");
  EXPECT_TRUE(s_.FindBackup(b.meta.id)->deleting);

  auto gone = Report(b.meta.id, api::BackupState::kDeleted, 1);
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->state, api::BackupState::kDeleted);
  EXPECT_EQ(s_.FindBackup(b.meta.id), nullptr);
  EXPECT_EQ(GetBackup(s_, dept_admin_, b.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(BackupsOf(vol_.meta.id).empty());
  EXPECT_EQ(Used("backup_gib"), 0);
}

TEST_F(BackupServicesTest, ABackupNoAgentCanDoIsRefusedAndReservesNothing) {
  // No agent reaches "cold": nobody could write the backup, so it is refused at once.
  api::StoragePool cold = MakePool("cold", "tape");
  auto b = Backup(vol_.meta.id, "cold");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(b.status().message().find("no up agent reaches both"), std::string::npos) << b.status().ToString();
  EXPECT_EQ(Used("backup_gib"), 0);
}

// ---------------- Restore ----------------

TEST_F(BackupServicesTest, RestoreCreatesAVolumeFromAnAvailableBackup) {
  auto b = *Backup(vol_.meta.id);
  // Not before the backup is available.
  auto early = Restore(b.meta.id, "back");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(early.status().reason(), "BACKUP_NOT_READY");
  Complete(b.meta.id);
  // h3 reaches both pools and holds no work: the restore is its.
  api::Host h3 = MakeHost("h3", {"ceph", "ceph-dr"});
  Reach(h3, {fast_, vault_});
  auto r = Restore(b.meta.id, "back");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_backup_id, b.meta.id);
  EXPECT_EQ(r->size_gib, 40);
  EXPECT_EQ(r->pool_id, fast_.meta.id);
  EXPECT_EQ(r->department_id, dept_.meta.id);
  EXPECT_EQ(r->state, api::VolumeState::kCreating);
  EXPECT_EQ(r->host_id, h3.meta.id);
  EXPECT_EQ(Used("volumes"), 2);
  EXPECT_EQ(Used("volume_gib"), 80);
  // The restoring host's watch answer carries the volume and its source backup (whose own
  // work is h2's); h1's carries no backup.
  api::WatchAnswer w3, w2, w1;
  AddStorageWork(s_, h3.meta.id, w3);
  AddStorageWork(s_, h2_.meta.id, w2);
  AddStorageWork(s_, h1_.meta.id, w1);
  EXPECT_EQ(IdsOf(w3.volumes), std::vector<std::string>{r->meta.id});
  EXPECT_EQ(IdsOf(w3.backups), std::vector<std::string>{b.meta.id});
  EXPECT_EQ(IdsOf(w2.backups), std::vector<std::string>{b.meta.id});
  EXPECT_TRUE(w1.backups.empty());

  // The backup cannot go while the restore runs.
  auto del = Delete(b.meta.id);
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.status().reason(), "HAS_DEPENDENTS");
  EXPECT_EQ(DetailList(del.status(), "volumes"), std::vector<std::string>{r->meta.id});
  EXPECT_FALSE(s_.FindBackup(b.meta.id)->deleting);
  MakeAvailable(r->meta.id);
  auto later = Delete(b.meta.id);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_TRUE(later->deleting);
}

TEST_F(BackupServicesTest, RestoreChecksTheVolumeQuotas) {
  auto b = *Backup(vol_.meta.id);
  Complete(b.meta.id);
  EXPECT_EQ(Restore(b.meta.id, "data").status().code(), StatusCode::kAlreadyExists);
  auto patch = [&](std::optional<std::int64_t> volumes, std::optional<std::int64_t> gib) {
    api::QuotaPatch q;
    q.volumes = volumes;
    q.volume_gib = gib;
    PatchQuota(q);
  };
  patch(1, std::nullopt);
  auto r = Restore(b.meta.id, "back");
  EXPECT_EQ(r.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(r.status(), "resource"), "volumes");
  patch(5, 70);  // 40 used + 40 restored > 70
  r = Restore(b.meta.id, "back");
  EXPECT_EQ(r.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(r.status(), "resource"), "volume_gib");
  EXPECT_EQ(Used("volumes"), 1);
  EXPECT_EQ(Used("volume_gib"), 40);
  patch(std::nullopt, 80);
  r = Restore(b.meta.id, "back");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Used("volume_gib"), 80);
}

// ---------------- Policies ----------------

TEST_F(BackupServicesTest, ADepartmentHoldsAtMostItsLimitOfBackupPolicies) {
  for (int i = 0; i < kMaxBackupPoliciesPerDepartment; ++i) {
    ASSERT_TRUE(MakePolicy("p" + std::to_string(i), "hourly", 1).ok()) << i;
  }
  auto over = MakePolicy("one-too-many", "hourly", 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(over.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(over.status(), "resource"), "backup_policies");
  const std::string first = ListBackupPolicies(s_, admin_, "", {}).items.front().meta.id;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteBackupPolicy(s, t, dept_admin_, first, std::nullopt); }).ok());
  EXPECT_TRUE(MakePolicy("one-too-many", "hourly", 1).ok()) << "a deletion frees a place";
}

TEST_F(BackupServicesTest, PolicySchedulesAreChecked) {
  auto bad = MakePolicy("nightly", "daily 25:00", 7);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(bad.status(), "field"), "schedule");
  EXPECT_NE(bad.status().message().find("daily HH:MM"), std::string::npos) << bad.status().message();
  EXPECT_EQ(DetailString(MakePolicy("nightly", "sometimes", 7).status(), "field"), "schedule");
  // A per-volume policy into the volume's own pool is refused too.
  auto same_pool = MakePolicy("nightly", "daily 02:00", 7, "data", "fast");
  EXPECT_EQ(same_pool.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(same_pool.status(), "field"), "target_pool");
  EXPECT_TRUE(ListBackupPolicies(s_, admin_, "", {}).items.empty());

  auto p = MakePolicy("nightly", "daily 02:00", 7);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->next_run_at_ms, Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(MakePolicy("nightly", "hourly", 7).status().code(), StatusCode::kAlreadyExists);
  api::PatchBackupPolicyRequest patch;
  patch.schedule = "weekly someday 02:00";
  auto patched = W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p->meta.id, std::nullopt, patch); });
  EXPECT_EQ(patched.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(patched.status(), "field"), "schedule");
  EXPECT_EQ(s_.FindBackupPolicy(p->meta.id)->schedule, "daily 02:00");
  patch.schedule = "weekly sun 02:00";
  patched = W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p->meta.id, std::nullopt, patch); });
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->next_run_at_ms, Utc(2026, 12, 6, 2, 0));  // the Sunday
  // Changes based on an older revision are refused; the current one is taken.
  patch.schedule = "hourly";
  const std::int64_t stale = p->meta.revision;
  auto refused = W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p->meta.id, stale, patch); });
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(s_.FindBackupPolicy(p->meta.id)->schedule, "weekly sun 02:00");
  EXPECT_FALSE(W([&](State& s, Txn& t) { return DeleteBackupPolicy(s, t, dept_admin_, p->meta.id, stale); }).ok());
  const std::int64_t current = patched->meta.revision;
  EXPECT_TRUE(W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p->meta.id, current, patch); }).ok());
}

TEST_F(BackupServicesTest, PoliciesRunWhenDueForEveryVolumeOfTheDepartment) {
  auto v2 = *MakeVolume("logs", 10);
  MakeAvailable(v2.meta.id);
  auto v3 = *MakeVolume("scratch", 5);  // still creating: skipped
  auto in_target = *MakeVolume("archive", 5, "vault");  // lives in the target pool: not backed up
  MakeAvailable(in_target.meta.id);
  auto p = MakePolicy("nightly", "daily 02:00", 7);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->last_run_at_ms, 0);

  now_ms_ = Utc(2026, 12, 2, 1, 59);
  EXPECT_EQ(RunPolicies(), 0);
  EXPECT_TRUE(s_.backups().empty());
  EXPECT_EQ(s_.FindBackupPolicy(p->meta.id)->last_run_at_ms, 0);

  now_ms_ = Utc(2026, 12, 2, 2, 0);
  EXPECT_EQ(RunPolicies(), 2);
  EXPECT_EQ(s_.FindBackupPolicy(p->meta.id)->last_run_at_ms, Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(GetBackupPolicy(s_, dept_admin_, p->meta.id)->next_run_at_ms, Utc(2026, 12, 3, 2, 0));
  for (const api::Volume* v : {&vol_, &v2}) {
    auto backups = BackupsOf(v->meta.id);
    ASSERT_EQ(backups.size(), 1u) << v->name;
    EXPECT_EQ(backups[0].policy_id, p->meta.id);
    EXPECT_EQ(backups[0].target_pool_id, vault_.meta.id);
    EXPECT_EQ(backups[0].host_id, h2_.meta.id);
  }
  EXPECT_TRUE(BackupsOf(v3.meta.id).empty());
  EXPECT_TRUE(BackupsOf(in_target.meta.id).empty());
  EXPECT_EQ(EventCount("backup-skipped"), 1);
  const api::Event& skipped = s_.events().back();
  EXPECT_EQ(skipped.kind, "backup-skipped");
  EXPECT_EQ(skipped.department_id, dept_.meta.id);
  EXPECT_NE(skipped.message.find("scratch"), std::string::npos) << skipped.message;
  EXPECT_NE(skipped.message.find("nightly"), std::string::npos) << skipped.message;
  BackupFilter by_policy;
  by_policy.policy_id = p->meta.id;
  EXPECT_EQ(ListBackups(s_, dept_admin_, by_policy, {}).items.size(), 2u);

  // Later the same day: nothing more (not even a second skip).
  now_ms_ = Utc(2026, 12, 2, 13, 0);
  EXPECT_EQ(RunPolicies(), 0);
  EXPECT_EQ(s_.backups().size(), 2u);
  EXPECT_EQ(EventCount("backup-skipped"), 1);

  // The controller was down for days: the missed slots run once.
  for (const auto& [id, b] : std::map<std::string, api::Backup>(s_.backups())) Complete(id);
  MakeAvailable(v3.meta.id);
  now_ms_ = Utc(2026, 12, 5, 13, 0);
  EXPECT_EQ(RunPolicies(), 3);
  EXPECT_EQ(s_.FindBackupPolicy(p->meta.id)->last_run_at_ms, Utc(2026, 12, 5, 2, 0));
  EXPECT_EQ(BackupsOf(vol_.meta.id).size(), 2u);
  EXPECT_EQ(BackupsOf(v3.meta.id).size(), 1u);
  EXPECT_EQ(RunPolicies(), 0);
}

TEST_F(BackupServicesTest, BackupsStillRunningAreSkippedAndDisabledPoliciesDoNotRun) {
  auto p = *MakePolicy("hourly", "hourly", 7, "data");
  EXPECT_EQ(p.volume_id, vol_.meta.id);
  auto manual = *Backup(vol_.meta.id);
  now_ms_ = Utc(2026, 12, 1, 11, 0);
  EXPECT_EQ(RunPolicies(), 0);  // the manual one still runs
  EXPECT_EQ(EventCount("backup-skipped"), 1);
  EXPECT_NE(s_.events().back().message.find("backup in progress"), std::string::npos) << s_.events().back().message;
  EXPECT_EQ(s_.FindBackupPolicy(p.meta.id)->last_run_at_ms, Utc(2026, 12, 1, 11, 0));
  Complete(manual.meta.id);

  api::PatchBackupPolicyRequest off;
  off.enabled = false;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p.meta.id, std::nullopt, off); }).ok());
  EXPECT_EQ(GetBackupPolicy(s_, dept_admin_, p.meta.id)->next_run_at_ms, 0);
  now_ms_ = Utc(2026, 12, 1, 12, 0);
  EXPECT_EQ(RunPolicies(), 0);
  EXPECT_EQ(BackupsOf(vol_.meta.id).size(), 1u);
  api::PatchBackupPolicyRequest on;
  on.enabled = true;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p.meta.id, std::nullopt, on); }).ok());
  EXPECT_EQ(RunPolicies(), 1);
  auto backups = BackupsOf(vol_.meta.id);
  ASSERT_EQ(backups.size(), 2u);
  // Deleting the policy keeps its backups.
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteBackupPolicy(s, t, dept_admin_, p.meta.id, std::nullopt); }).ok());
  EXPECT_EQ(s_.FindBackupPolicy(p.meta.id), nullptr);
  EXPECT_EQ(BackupsOf(vol_.meta.id).size(), 2u);
}

TEST_F(BackupServicesTest, RetentionKeepsTheNewestBackupsOfItsPolicy) {
  // An on-demand backup is no policy's: retention leaves it alone.
  auto manual = *Backup(vol_.meta.id);
  Complete(manual.meta.id);
  auto p = MakePolicy("hourly", "hourly", 2, vol_.meta.id);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<std::string> made;
  for (int hour = 11; hour <= 13; ++hour) {
    now_ms_ = Utc(2026, 12, 1, hour, 0);
    ASSERT_EQ(RunPolicies(), 1) << hour;
    std::string id;
    for (const auto& [bid, b] : s_.backups()) {
      if (b.state == api::BackupState::kCreating && !b.deleting) id = bid;
    }
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(s_.FindBackup(id)->parent_backup_id, made.empty() ? manual.meta.id : made.back());
    now_ms_ += 10 * kMinute;
    Complete(id);
    made.push_back(id);
  }
  // keep=2: the third completed backup retires the first.
  const api::Backup* oldest = s_.FindBackup(made[0]);
  ASSERT_NE(oldest, nullptr);
  EXPECT_TRUE(oldest->deleting);
  EXPECT_EQ(oldest->state, api::BackupState::kDeleting);
  EXPECT_EQ(s_.FindBackup(made[1])->state, api::BackupState::kAvailable);
  EXPECT_EQ(s_.FindBackup(made[2])->state, api::BackupState::kAvailable);
  EXPECT_FALSE(s_.FindBackup(manual.meta.id)->deleting);
  ASSERT_TRUE(Report(made[0], api::BackupState::kDeleted, 1).ok());
  EXPECT_EQ(s_.FindBackup(made[0]), nullptr);

  // A smaller keep retires the excess at once.
  api::PatchBackupPolicyRequest keep1;
  keep1.keep = 1;
  auto patched = W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, dept_admin_, p->meta.id, std::nullopt, keep1); });
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->keep, 1);
  EXPECT_TRUE(s_.FindBackup(made[1])->deleting);
  EXPECT_FALSE(s_.FindBackup(made[2])->deleting);
  EXPECT_FALSE(s_.FindBackup(manual.meta.id)->deleting);
}

TEST_F(BackupServicesTest, RetentionDropsFailedBackupsOlderThanTheNewestKept) {
  auto p = *MakePolicy("hourly", "hourly", 1, vol_.meta.id);
  now_ms_ = Utc(2026, 12, 1, 11, 0);
  ASSERT_EQ(RunPolicies(), 1);
  const std::string failed = BackupsOf(vol_.meta.id)[0].meta.id;
  FailForGood(failed);
  EXPECT_FALSE(s_.FindBackup(failed)->deleting);  // nothing newer succeeded yet
  now_ms_ = Utc(2026, 12, 1, 12, 0);
  ASSERT_EQ(RunPolicies(), 1);
  std::string ok;
  for (const auto& b : BackupsOf(vol_.meta.id)) {
    if (b.meta.id != failed) ok = b.meta.id;
  }
  Complete(ok);
  EXPECT_TRUE(s_.FindBackup(failed)->deleting);
  EXPECT_FALSE(s_.FindBackup(ok)->deleting);
  EXPECT_EQ(s_.FindBackupPolicy(p.meta.id)->keep, 1);
}

// ---------------- Moving work ----------------

TEST_F(BackupServicesTest, ACreatingBackupOfADownHostMovesToAHostReachingBothPools) {
  auto v2 = *MakeVolume("logs", 10);
  MakeAvailable(v2.meta.id);
  auto done = *Backup(vol_.meta.id);
  Complete(done.meta.id);
  // h2 held less work than h1 when "logs" was created: the volume and its backup are h2's.
  ASSERT_EQ(s_.FindVolume(v2.meta.id)->host_id, h2_.meta.id);
  auto running = *Backup(v2.meta.id);
  ASSERT_EQ(running.host_id, h2_.meta.id);
  api::Host h4 = MakeHost("h4", {"ceph-dr"});
  Reach(h4, {vault_});  // the target only
  TakeDown({h2_});
  // h1 reaches only the source, h4 only the target: the volume moves to h1, the backup waits.
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 1);
  EXPECT_EQ(s_.FindVolume(v2.meta.id)->host_id, h1_.meta.id);
  EXPECT_EQ(s_.FindBackup(running.meta.id)->host_id, h2_.meta.id);
  EXPECT_EQ(s_.FindBackup(done.meta.id)->host_id, h2_.meta.id);
  api::Host h3 = MakeHost("h3", {"ceph", "ceph-dr"});
  Reach(h3, {fast_, vault_});
  const std::int64_t moved = W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); });
  EXPECT_EQ(moved, 1);  // the running backup; the finished one has no work left
  EXPECT_EQ(s_.FindBackup(running.meta.id)->host_id, h3.meta.id);
  EXPECT_EQ(s_.FindBackup(done.meta.id)->host_id, h2_.meta.id);
  // The new worker reports; the old one no longer may.
  api::BackupStatusReport r;
  r.state = api::BackupState::kAvailable;
  r.observed_generation = 1;
  auto by_old = W([&](State& s, Txn& t) { return ReportBackupStatus(s, t, AgentOf(h2_.meta.id), running.meta.id, r); });
  EXPECT_EQ(by_old.status().code(), StatusCode::kNotFound);
  Complete(running.meta.id);
  api::WatchAnswer w3;
  AddStorageWork(s_, h3.meta.id, w3);
  EXPECT_EQ(IdsOf(w3.backups), std::vector<std::string>{running.meta.id});
}

TEST_F(BackupServicesTest, ARestoreMovesOnlyToAnAgentReachingTheBackupsPool) {
  auto b = *Backup(vol_.meta.id);
  Complete(b.meta.id);
  api::Host h3 = MakeHost("h3", {"ceph", "ceph-dr"});
  Reach(h3, {fast_, vault_});
  auto r = Restore(b.meta.id, "back");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->host_id, h3.meta.id);  // reaches both and holds no work
  // Both agents reaching the vault fall silent before the restore is done: h1 reaches the
  // volume's pool but not the backup's, so the restore is not handed to it.
  TakeDown({h2_, h3});
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 0);
  EXPECT_EQ(s_.FindVolume(r->meta.id)->host_id, h3.meta.id);
  api::WatchAnswer w1;
  AddStorageWork(s_, h1_.meta.id, w1);
  EXPECT_TRUE(w1.backups.empty());
  api::Host h4 = MakeHost("h4", {"ceph", "ceph-dr"});
  Reach(h4, {fast_, vault_});
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 1);
  EXPECT_EQ(s_.FindVolume(r->meta.id)->host_id, h4.meta.id);
  api::WatchAnswer w4;
  AddStorageWork(s_, h4.meta.id, w4);
  EXPECT_EQ(IdsOf(w4.volumes), std::vector<std::string>{r->meta.id});
  EXPECT_EQ(IdsOf(w4.backups), std::vector<std::string>{b.meta.id});
  // Once restored, the volume needs only its own pool.
  MakeAvailable(r->meta.id);
  TakeDown({h2_, h3, h4});
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 1);
  EXPECT_EQ(s_.FindVolume(r->meta.id)->host_id, h1_.meta.id);
}

// ---------------- RBAC ----------------

TEST_F(BackupServicesTest, MembersCannotWriteAndOtherDepartmentsSeeNothing) {
  auto b = *Backup(vol_.meta.id);
  Complete(b.meta.id);
  auto p = *MakePolicy("nightly", "daily 02:00", 7);

  // A department member (not its admin) reads but cannot write.
  auto by_member = Backup(vol_.meta.id, "vault", &member_);
  EXPECT_EQ(by_member.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(MakePolicy("other", "hourly", 1, "", "vault", &member_).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Delete(b.meta.id, &member_).status().code(), StatusCode::kPermissionDenied);
  api::RestoreBackupRequest rr;
  rr.name = "back";
  EXPECT_EQ(W([&](State& s, Txn& t) { return RestoreBackup(s, t, member_, b.meta.id, rr); }).status().code(),
            StatusCode::kPermissionDenied);
  api::PatchBackupPolicyRequest keep1;
  keep1.keep = 1;
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchBackupPolicy(s, t, member_, p.meta.id, std::nullopt, keep1); }).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteBackupPolicy(s, t, member_, p.meta.id, std::nullopt); }).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(GetBackup(s_, member_, b.meta.id).ok());
  EXPECT_EQ(ListBackups(s_, member_, {}, {}).items.size(), 1u);
  EXPECT_TRUE(GetBackupPolicy(s_, member_, p.meta.id).ok());
  EXPECT_EQ(s_.backups().size(), 1u);
  EXPECT_EQ(s_.FindBackupPolicy(p.meta.id)->keep, 7);

  // Another department's admin sees none of it.
  EXPECT_EQ(GetBackup(s_, outsider_, b.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(ListBackups(s_, outsider_, {}, {}).items.empty());
  BackupFilter theirs;
  theirs.department_id = dept_.meta.id;
  EXPECT_TRUE(ListBackups(s_, outsider_, theirs, {}).items.empty());
  EXPECT_EQ(Delete(b.meta.id, &outsider_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(W([&](State& s, Txn& t) { return RestoreBackup(s, t, outsider_, b.meta.id, rr); }).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(GetBackupPolicy(s_, outsider_, p.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(ListBackupPolicies(s_, outsider_, "", {}).items.empty());
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteBackupPolicy(s, t, outsider_, p.meta.id, std::nullopt); }).code(),
            StatusCode::kNotFound);
  // Nor can it back up the volume: refused as if it did not exist.
  api::CreateBackupRequest req;
  req.volume = vol_.meta.id;
  req.target_pool = "vault";
  auto theirs_by_id = W([&](State& s, Txn& t) { return CreateBackup(s, t, outsider_, req); });
  req.volume = "00000000-0000-0000-0000-000000000000";
  auto missing = W([&](State& s, Txn& t) { return CreateBackup(s, t, outsider_, req); });
  ASSERT_FALSE(theirs_by_id.ok());
  EXPECT_EQ(theirs_by_id.status().code(), missing.status().code());
  EXPECT_EQ(theirs_by_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_.backups().size(), 1u);
  EXPECT_FALSE(s_.FindBackup(b.meta.id)->deleting);
  EXPECT_NE(s_.FindBackupPolicy(p.meta.id), nullptr);
}

}  // namespace
}  // namespace govpool::controller
