// Core contract tests: Place/Commit/Release/Restore, explanations, overcommit arithmetic,
// configuration, all-or-nothing multi-VM requests.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::MakeHost;
using testing::MakeRequest;
using testing::NewScheduler;
using testing::PlaceAndCommit;
using testing::Rejected;

TEST(SchedulerCreate, RejectsUnknownPlugins) {
  Config c;
  c.filters = {"status", "no_such_filter"};
  EXPECT_EQ(Scheduler::Create(c).status().code(), StatusCode::kInvalidArgument);
  Config d;
  d.score_weights = {{"no_such_score", 1.0}};
  EXPECT_EQ(Scheduler::Create(d).status().code(), StatusCode::kInvalidArgument);
  Config e;
  e.filters = {"status", "status"};
  EXPECT_EQ(Scheduler::Create(e).status().code(), StatusCode::kInvalidArgument);
  Config f;
  f.max_candidates = -1;
  EXPECT_EQ(Scheduler::Create(f).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Scheduler::Create(Config()).ok());
}

TEST(SchedulerPlace, InvalidRequests) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 8, 1024));
  auto r = MakeRequest(1, 128);
  r.count = 0;
  EXPECT_EQ(s->Place(r).status().code(), StatusCode::kInvalidArgument);
  r = MakeRequest(-1, 128);
  EXPECT_EQ(s->Place(r).status().code(), StatusCode::kInvalidArgument);
}

TEST(SchedulerPlace, PlaceIsPureAndCommitConsumes) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 8, 1024));
  auto p = s->Place(MakeRequest(2, 512));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->assignments.size(), 1u);
  EXPECT_EQ(p->assignments[0].host_id, "h1");
  EXPECT_EQ(s->Allocated("h1").value(), Resources{});  // Place changes nothing
  ASSERT_TRUE(s->Commit(*p).ok());
  EXPECT_EQ(s->Allocated("h1").value(), (Resources{2, 512, 10}));
  EXPECT_EQ(s->Usage("h1")->instances, 1);
  ASSERT_TRUE(s->Release(p->assignments[0]).ok());
  EXPECT_EQ(s->Allocated("h1").value(), Resources{});
  EXPECT_EQ(s->Release(p->assignments[0]).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->Allocated("nope").status().code(), StatusCode::kNotFound);
}

TEST(SchedulerCommit, ConflictWhenRevisionMoved) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 8, 1024));
  auto p1 = s->Place(MakeRequest(1, 600));
  auto p2 = s->Place(MakeRequest(1, 600));
  ASSERT_TRUE(p1.ok() && p2.ok());
  ASSERT_TRUE(s->Commit(*p1).ok());
  Status st = s->Commit(*p2);
  EXPECT_EQ(st.code(), StatusCode::kConflict) << st.ToString();
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 600);  // nothing of p2 applied
  // Retrying Place now explains the refusal.
  auto again = s->Place(MakeRequest(1, 600));
  EXPECT_EQ(again.status().code(), StatusCode::kResourceExhausted);
}

TEST(SchedulerCommit, NotFoundWhenHostRemoved) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 8, 1024));
  auto p = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(s->RemoveHost("h1").ok());
  EXPECT_EQ(s->Commit(*p).code(), StatusCode::kNotFound);
}

TEST(SchedulerCommit, RejectsForeignPlacementThatNoLongerFits) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 8, 1024));
  Placement forged;
  forged.assignments.push_back({"h1", {1, 2048, 1}, {}});
  EXPECT_EQ(s->Commit(forged).code(), StatusCode::kConflict);
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 0);
}

TEST(SchedulerHosts, UpsertKeepsAllocationsAndBumpsRevisionOnlyOnChange) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 8, 1024);
  s->UpsertHost(h);
  std::uint64_t rev = s->Usage("h1")->revision;
  s->UpsertHost(h);  // heartbeat, same facts
  EXPECT_EQ(s->Usage("h1")->revision, rev);
  ASSERT_EQ(PlaceAndCommit(*s, MakeRequest(1, 512)).size(), 1u);
  h.capacity.memory_mib = 2048;
  s->UpsertHost(h);
  EXPECT_GT(s->Usage("h1")->revision, rev + 1);
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 512);
  EXPECT_EQ(s->Usage("h1")->limit.memory_mib, 2048);
  EXPECT_EQ(s->RemoveHost("h1").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->HostCount(), 1);
}

TEST(SchedulerHosts, RestoreRebuildsAccountingWithoutChecks) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 1, 1024));
  // Durable state wins even beyond capacity (e.g. ratios lowered after the VMs were placed).
  ASSERT_TRUE(s->Restore({"h1", {8, 2048, 10}, {}}).ok());
  EXPECT_EQ(s->Allocated("h1").value(), (Resources{8, 2048, 10}));
  EXPECT_EQ(s->Restore({"zz", {1, 1, 1}, {}}).code(), StatusCode::kNotFound);
  auto p = s->Place(MakeRequest(1, 1));
  EXPECT_EQ(p.status().code(), StatusCode::kResourceExhausted);
}

TEST(SchedulerExplain, NoValidHostCountsFirstFailingFilter) {
  auto s = NewScheduler();
  for (int i = 0; i < 9; ++i) s->UpsertHost(MakeHost("m" + std::to_string(i), 64, 1024));
  HostSpec down = MakeHost("down", 64, 65536);
  down.up = false;
  s->UpsertHost(down);
  auto p = s->Place(MakeRequest(2, 4096));
  ASSERT_FALSE(p.ok());
  const Status& st = p.status();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.reason(), "NO_VALID_HOST");
  EXPECT_EQ(st.message(), "0 of 10 hosts fit: 9 insufficient_memory, 1 host_down");
  auto rejected = Rejected(st);
  EXPECT_EQ(rejected["insufficient_memory"], 9);
  EXPECT_EQ(rejected["host_down"], 1);
  bool has_total = false;
  for (const auto& [k, v] : st.details()) {
    if (k == "hosts_total") {
      has_total = true;
      EXPECT_EQ(std::get<std::int64_t>(v), 10);
    }
  }
  EXPECT_TRUE(has_total);
}

TEST(SchedulerExplain, SummaryFormat) {
  Explanation e;
  e.hosts_total = 10;
  e.hosts_fit = 0;
  e.rejected = {{"anti_affinity", 1}, {"insufficient_memory", 9}};
  EXPECT_EQ(e.Summary(), "0 of 10 hosts fit: 9 insufficient_memory, 1 anti_affinity");
  Explanation none;
  none.hosts_total = 0;
  EXPECT_EQ(none.Summary(), "0 of 0 hosts fit");
}

TEST(SchedulerExplain, ExplainFlagCountsEveryHostOnSuccess) {
  auto s = NewScheduler();
  for (int i = 0; i < 5; ++i) s->UpsertHost(MakeHost("a" + std::to_string(i), 8, 1024));
  for (int i = 0; i < 3; ++i) s->UpsertHost(MakeHost("b" + std::to_string(i), 8, 8192));
  auto r = MakeRequest(1, 2048);
  r.explain = true;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->explanation.complete);
  EXPECT_EQ(p->explanation.hosts_total, 8);
  EXPECT_EQ(p->explanation.hosts_fit, 3);
  EXPECT_EQ(p->explanation.rejected.at("insufficient_memory"), 5);
  EXPECT_EQ(p->explanation.Summary(), "3 of 8 hosts fit: 5 insufficient_memory");
}

TEST(SchedulerOvercommit, LimitIsFloorOfCapacityTimesRatio) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 3, 100, 100);
  h.cpu_ratio = 1.5;      // floor(4.5) = 4 vCPUs
  h.memory_ratio = 1.15;  // exactly 115 (a naive double product gives 114.999...)
  s->UpsertHost(h);
  EXPECT_EQ(s->Usage("h1")->limit, (Resources{4, 115, 100}));
  EXPECT_EQ(PlaceAndCommit(*s, MakeRequest(4, 115, 100)).size(), 1u);
  auto p = s->Place(MakeRequest(0, 1, 0));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["insufficient_memory"], 1);
}

TEST(SchedulerOvercommit, InvalidRatiosAndHugeCapacities) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 8, 1000, 100);
  h.cpu_ratio = std::numeric_limits<double>::quiet_NaN();
  h.memory_ratio = -1.0;
  h.disk_ratio = 0.5;
  s->UpsertHost(h);
  EXPECT_EQ(s->Usage("h1")->limit, (Resources{0, 0, 50}));
  HostSpec big = MakeHost("big", std::numeric_limits<std::int64_t>::max() / 2, 1 << 30, 1);
  s->UpsertHost(big);  // 4 x (max / 2) saturates instead of overflowing
  EXPECT_EQ(s->Usage("big")->limit.vcpus, std::numeric_limits<std::int64_t>::max());
  auto p = s->Place(MakeRequest(1, 1, 1));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "big");
}

TEST(SchedulerExplain, SuccessExplanationIsPartialUnlessAsked) {
  auto s = NewScheduler();
  for (int i = 0; i < 40; ++i) s->UpsertHost(MakeHost("h" + std::to_string(100 + i), 8, 1000));
  auto p = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->explanation.complete);
  EXPECT_EQ(p->explanation.hosts_examined, 8);  // Config::max_candidates
  EXPECT_EQ(p->explanation.Summary(), "8 of 8 examined hosts fit (40 hosts)");
}

TEST(SchedulerOvercommit, DefaultCpuRatioIsFour) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 2, 100000));
  EXPECT_EQ(PlaceAndCommit(*s, MakeRequest(8, 10)).size(), 1u);
  auto p = s->Place(MakeRequest(1, 10));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["insufficient_vcpu"], 1);
}

TEST(SchedulerOvercommit, ExactlyFullAndOneOver) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 4, 1000, 50));
  EXPECT_TRUE(s->Place(MakeRequest(16, 1000, 50)).ok());
  EXPECT_FALSE(s->Place(MakeRequest(17, 1000, 50)).ok());
  EXPECT_FALSE(s->Place(MakeRequest(16, 1001, 50)).ok());
  auto p = s->Place(MakeRequest(16, 1000, 51));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["insufficient_disk"], 1);
}

TEST(SchedulerMulti, CountConsumesCapacityBeforeNextVm) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 64, 1000));
  s->UpsertHost(MakeHost("h2", 64, 1000));
  auto p = s->Place(MakeRequest(1, 400, 10, 4));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::map<std::string, int> per_host;
  for (const auto& a : p->assignments) ++per_host[a.host_id];
  EXPECT_EQ(per_host["h1"], 2);
  EXPECT_EQ(per_host["h2"], 2);
  ASSERT_TRUE(s->Commit(*p).ok());
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 800);
  EXPECT_EQ(s->Usage("h2")->instances, 2);
}

TEST(SchedulerMulti, AllOrNothingRollsBack) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 64, 1000));
  s->UpsertHost(MakeHost("h2", 64, 1000));
  auto p = s->Place(MakeRequest(1, 400, 10, 5));  // only 4 fit
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "NO_VALID_HOST");
  EXPECT_NE(p.status().message().find("VM 5 of 5"), std::string::npos) << p.status().message();
  EXPECT_EQ(Rejected(p.status())["insufficient_memory"], 2);
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 0);  // nothing consumed
  EXPECT_EQ(s->Allocated("h2")->memory_mib, 0);
  EXPECT_EQ(s->Usage("h1")->instances, 0);
  // A smaller request still fits everything.
  EXPECT_EQ(PlaceAndCommit(*s, MakeRequest(1, 400, 10, 4)).size(), 4u);
}

TEST(SchedulerCommit, MultiHostCommitIsAllOrNothing) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("h1", 64, 1000));
  s->UpsertHost(MakeHost("h2", 64, 1000));
  auto p = s->Place(MakeRequest(1, 600, 10, 2));  // one per host
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->observed_revisions.size(), 2u);
  // Another placement lands on h2 first.
  auto q = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(s->Commit(*q).ok());
  EXPECT_EQ(s->Commit(*p).code(), StatusCode::kConflict);
  Resources total{};
  for (const char* id : {"h1", "h2"}) total.memory_mib += s->Allocated(id)->memory_mib;
  EXPECT_EQ(total.memory_mib, 100);  // none of p applied
}

TEST(SchedulerScore, BinpackPrefersFullestHostAndTieBreaksById) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("b", 8, 1000));
  s->UpsertHost(MakeHost("a", 8, 1000));
  s->UpsertHost(MakeHost("c", 8, 1000));
  // Identical hosts: deterministic, lowest id.
  auto p = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "a");
  ASSERT_TRUE(s->Restore({"c", {1, 500, 10}, {}}).ok());
  p = s->Place(MakeRequest(1, 100));
  EXPECT_EQ(p->assignments[0].host_id, "c");  // fullest
}

TEST(SchedulerScore, SpreadPrefersEmptiestHost) {
  Config c;
  c.score_weights = {{"spread", 1.0}};
  auto s = NewScheduler(c);
  for (const char* id : {"a", "b", "c"}) s->UpsertHost(MakeHost(id, 8, 1000));
  ASSERT_TRUE(s->Restore({"a", {1, 500, 10}, {}}).ok());
  ASSERT_TRUE(s->Restore({"b", {1, 200, 10}, {}}).ok());
  auto p = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "c");
  // count spreads across hosts, each VM seeing the previous ones.
  auto q = s->Place(MakeRequest(1, 100, 10, 3));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->assignments[0].host_id, "c");
  EXPECT_EQ(q->assignments[1].host_id, "c");  // c at 200 ties b at 200? c is 100 -> 200
  EXPECT_EQ(q->assignments[2].host_id, "b");  // b 200 vs c 300 used
}

TEST(SchedulerScore, BalancedPrefersEvenShares) {
  Config c;
  c.score_weights = {{"balanced", 1.0}};
  auto s = NewScheduler(c);
  HostSpec cpu_heavy = MakeHost("cpu-used", 10, 1000, 1000);
  cpu_heavy.cpu_ratio = 1.0;
  HostSpec mem_heavy = MakeHost("mem-used", 10, 1000, 1000);
  mem_heavy.cpu_ratio = 1.0;
  s->UpsertHost(cpu_heavy);
  s->UpsertHost(mem_heavy);
  ASSERT_TRUE(s->Restore({"cpu-used", {8, 100, 0}, {}}).ok());
  ASSERT_TRUE(s->Restore({"mem-used", {1, 800, 0}, {}}).ok());
  // A memory-heavy VM evens out the CPU-loaded host.
  auto p = s->Place(MakeRequest(1, 600, 0));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "cpu-used");
}

TEST(SchedulerConfig, DisabledFilterIsNotApplied) {
  Config c;
  c.filters = {"capacity"};  // no status filter
  auto s = NewScheduler(c);
  HostSpec h = MakeHost("h1", 8, 1000);
  h.maintenance = true;
  s->UpsertHost(h);
  EXPECT_TRUE(s->Place(MakeRequest(1, 100)).ok());
  auto strict = NewScheduler();
  strict->UpsertHost(h);
  auto p = strict->Place(MakeRequest(1, 100));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["host_maintenance"], 1);
}

TEST(SchedulerConfig, ExactModeScoresEveryFeasibleHost) {
  Config c;
  c.max_candidates = 0;
  auto s = NewScheduler(c);
  for (int i = 0; i < 50; ++i) s->UpsertHost(MakeHost("h" + std::to_string(100 + i), 8, 1000));
  ASSERT_TRUE(s->Restore({"h149", {4, 900, 10}, {}}).ok());
  auto p = s->Place(MakeRequest(1, 50));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "h149");
}

}  // namespace
}  // namespace govpool::scheduler
