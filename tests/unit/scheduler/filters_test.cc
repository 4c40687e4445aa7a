// One test group per filter plugin: status, pool, department, aggregate, traits,
// server_group (hard), max_instances, numa (capacity is covered in scheduler_test.cc).
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::MakeHost;
using testing::MakeRequest;
using testing::NewScheduler;
using testing::PlaceAndCommit;
using testing::Rejected;

TEST(StatusFilter, RejectsDownDisabledMaintenance) {
  auto s = NewScheduler();
  HostSpec down = MakeHost("down", 8, 1000);
  down.up = false;
  HostSpec disabled = MakeHost("disabled", 8, 1000);
  disabled.enabled = false;
  HostSpec maint = MakeHost("maint", 8, 1000);
  maint.maintenance = true;
  for (const auto& h : {down, disabled, maint}) s->UpsertHost(h);
  auto p = s->Place(MakeRequest(1, 100));
  ASSERT_FALSE(p.ok());
  auto r = Rejected(p.status());
  EXPECT_EQ(r["host_down"], 1);
  EXPECT_EQ(r["host_disabled"], 1);
  EXPECT_EQ(r["host_maintenance"], 1);
  s->UpsertHost(MakeHost("ok", 8, 1000));
  EXPECT_EQ(PlaceAndCommit(*s, MakeRequest(1, 100)), std::vector<std::string>{"ok"});
  // Marking a host down bumps its revision, so a placement made before fails to commit.
  auto q = s->Place(MakeRequest(1, 100));
  ASSERT_TRUE(q.ok());
  HostSpec now_down = MakeHost("ok", 8, 1000);
  now_down.up = false;
  s->UpsertHost(now_down);
  EXPECT_EQ(s->Commit(*q).code(), StatusCode::kConflict);
}

TEST(PoolFilter, OnlyRequestedPool) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("a1", 8, 1000, 100, "az-a"));
  s->UpsertHost(MakeHost("b1", 8, 1000, 100, "az-b"));
  auto r = MakeRequest(1, 100);
  r.pool = "az-b";
  EXPECT_EQ(PlaceAndCommit(*s, r), std::vector<std::string>{"b1"});
  r.pool = "az-none";
  auto p = s->Place(r);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["wrong_pool"], 2);
  r.pool = "";  // any pool
  EXPECT_TRUE(s->Place(r).ok());
}

TEST(PoolFilter, ExplanationBlamesPoolBeforeCapacity) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("a1", 8, 100, 100, "az-a"));
  s->UpsertHost(MakeHost("b1", 8, 100, 100, "az-b"));
  auto r = MakeRequest(1, 500);
  r.pool = "az-a";
  auto p = s->Place(r);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "0 of 2 hosts fit: 1 insufficient_memory, 1 wrong_pool");
}

TEST(DepartmentFilter, DedicatedHostsOnlyForTheirDepartments) {
  auto s = NewScheduler();
  HostSpec secret = MakeHost("secret", 8, 1000);
  secret.dedicated_departments = {"defence"};
  s->UpsertHost(secret);
  auto r = MakeRequest(1, 100);
  r.department_id = "tourism";
  auto p = s->Place(r);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["dedicated_host"], 1);
  r.department_id = "defence";
  EXPECT_EQ(PlaceAndCommit(*s, r), std::vector<std::string>{"secret"});
}

TEST(DepartmentFilter, ConfinedDepartmentStaysInAllowedPools) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("open", 8, 1000, 100, "general"));
  s->UpsertHost(MakeHost("vault", 8, 1000, 100, "classified"));
  // binpack would prefer "open" (fuller) but the department is confined.
  ASSERT_TRUE(s->Restore({"open", {1, 500, 1}, {}}).ok());
  auto r = MakeRequest(1, 100);
  r.allowed_pools = {"classified"};
  EXPECT_EQ(PlaceAndCommit(*s, r), std::vector<std::string>{"vault"});
  r.allowed_pools = {"no-such-pool"};
  auto p = s->Place(r);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["pool_not_allowed"], 2);
  // Asking for a pool outside the allowed ones finds nothing.
  r.allowed_pools = {"classified"};
  r.pool = "general";
  EXPECT_FALSE(s->Place(r).ok());
}

TEST(AggregateFilter, RequiresEveryAggregate) {
  auto s = NewScheduler();
  HostSpec both = MakeHost("both", 8, 1000);
  both.aggregates = {"rack-1", "fast-net"};
  HostSpec one = MakeHost("one", 8, 1000);
  one.aggregates = {"rack-1"};
  s->UpsertHost(both);
  s->UpsertHost(one);
  ASSERT_TRUE(s->Restore({"one", {1, 900, 1}, {}}).ok());
  auto r = MakeRequest(1, 50);
  r.required_aggregates = {"fast-net", "rack-1"};
  EXPECT_EQ(PlaceAndCommit(*s, r), std::vector<std::string>{"both"});
  r.required_aggregates = {"unknown-agg"};
  auto p = s->Place(r);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["missing_aggregate"], 2);
}

TEST(TraitsFilter, RequiredAndForbidden) {
  auto s = NewScheduler();
  HostSpec gpu = MakeHost("gpu", 8, 1000);
  gpu.traits = {"gpu", "ssd"};
  HostSpec ssd = MakeHost("ssd", 8, 1000);
  ssd.traits = {"ssd"};
  HostSpec plain = MakeHost("plain", 8, 1000);
  for (const auto& h : {gpu, ssd, plain}) s->UpsertHost(h);
  auto r = MakeRequest(1, 100);
  r.required_traits = {"ssd"};
  r.forbidden_traits = {"gpu"};  // keep GPU hosts for GPU work
  r.explain = true;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "ssd");
  EXPECT_EQ(p->explanation.rejected.at("forbidden_trait"), 1);
  EXPECT_EQ(p->explanation.rejected.at("missing_trait"), 1);
  r.required_traits = {"tpu"};  // no host has it
  r.forbidden_traits = {"never-seen"};
  auto q = s->Place(r);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(Rejected(q.status())["missing_trait"], 3);
}

TEST(MaxInstancesFilter, CapsVmsPerHost) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 64, 100000);
  h.max_instances = 2;
  s->UpsertHost(h);
  EXPECT_FALSE(s->Place(MakeRequest(1, 10, 1, 3)).ok());
  EXPECT_EQ(PlaceAndCommit(*s, MakeRequest(1, 10, 1, 2)).size(), 2u);
  auto p = s->Place(MakeRequest(1, 10));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["max_instances"], 1);
}

TEST(ServerGroupFilter, HardAntiAffinityOneMemberPerHost) {
  auto s = NewScheduler();
  for (const char* id : {"h1", "h2", "h3"}) s->UpsertHost(MakeHost(id, 64, 10000));
  auto r = MakeRequest(1, 100, 1, 3);
  r.group_policy = GroupPolicy::kAntiAffinity;
  auto hosts = PlaceAndCommit(*s, r);
  ASSERT_EQ(hosts.size(), 3u);
  EXPECT_EQ(std::set<std::string>(hosts.begin(), hosts.end()).size(), 3u);
  // A fourth member has nowhere to go.
  auto one = MakeRequest(1, 100);
  one.group_policy = GroupPolicy::kAntiAffinity;
  one.group_member_hosts = hosts;
  auto p = s->Place(one);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "0 of 3 hosts fit: 3 anti_affinity");
  // Four in one request: all or nothing.
  auto four = MakeRequest(1, 100, 1, 4);
  four.group_policy = GroupPolicy::kAntiAffinity;
  auto q = s->Place(four);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(Rejected(q.status())["anti_affinity"], 3);
}

TEST(ServerGroupFilter, SoftAntiAffinityStacksOnlyWhenItMust) {
  auto s = NewScheduler();
  for (const char* id : {"h1", "h2"}) s->UpsertHost(MakeHost(id, 64, 10000));
  auto r = MakeRequest(1, 100, 1, 3);
  r.group_policy = GroupPolicy::kAntiAffinity;
  r.group_hard = false;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok()) << p.status().ToString();  // hard would refuse: 3 VMs, 2 hosts
  std::map<std::string, int> per_host;
  for (const auto& a : p->assignments) ++per_host[a.host_id];
  EXPECT_EQ(per_host.size(), 2u);  // spread over both, despite binpack
  EXPECT_EQ(per_host["h1"] + per_host["h2"], 3);
}

TEST(ServerGroupFilter, SoftAntiAffinityPrefersHostsWithoutMembersOverBinpack) {
  auto s = NewScheduler();
  for (const char* id : {"full", "empty"}) s->UpsertHost(MakeHost(id, 64, 10000));
  ASSERT_TRUE(s->Restore({"full", {8, 8000, 10}, {}}).ok());
  auto r = MakeRequest(1, 100);
  r.group_policy = GroupPolicy::kAntiAffinity;
  r.group_hard = false;
  r.group_member_hosts = {"full"};
  EXPECT_EQ(s->Place(r)->assignments[0].host_id, "empty");
  r.group_policy = GroupPolicy::kNone;  // without the group, binpack picks the fuller host
  EXPECT_EQ(s->Place(r)->assignments[0].host_id, "full");
}

TEST(ServerGroupFilter, HardAffinityFollowsMembersAndFitsWholeRequest) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("small", 64, 250));
  s->UpsertHost(MakeHost("big", 64, 1000));
  ASSERT_TRUE(s->Restore({"small", {1, 50, 1}, {}}).ok());  // binpack favours "small"
  auto r = MakeRequest(1, 100, 1, 3);
  r.group_policy = GroupPolicy::kAffinity;
  // No members yet: the first host must hold all three (small holds only two).
  auto hosts = PlaceAndCommit(*s, r);
  EXPECT_EQ(hosts, (std::vector<std::string>{"big", "big", "big"}));
  auto next = MakeRequest(1, 100);
  next.group_policy = GroupPolicy::kAffinity;
  next.group_member_hosts = hosts;
  EXPECT_EQ(PlaceAndCommit(*s, next), std::vector<std::string>{"big"});
  // "big" has 256 - 4 vCPUs left, "small" 255 but no member: each is refused for its reason.
  auto too_big = MakeRequest(253, 100);
  too_big.group_policy = GroupPolicy::kAffinity;
  too_big.group_member_hosts = {"big"};
  auto p = s->Place(too_big);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "0 of 2 hosts fit: 1 affinity, 1 insufficient_vcpu");
}

TEST(ServerGroupFilter, SoftAffinityPrefersMembersButFallsBack) {
  auto s = NewScheduler();
  s->UpsertHost(MakeHost("member", 64, 300));
  s->UpsertHost(MakeHost("other", 64, 1000));
  ASSERT_TRUE(s->Restore({"other", {1, 500, 1}, {}}).ok());  // binpack favours "other"
  auto r = MakeRequest(1, 100, 1, 4);
  r.group_policy = GroupPolicy::kAffinity;
  r.group_hard = false;
  r.group_member_hosts = {"member"};
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  std::map<std::string, int> per_host;
  for (const auto& a : p->assignments) ++per_host[a.host_id];
  EXPECT_EQ(per_host["member"], 3);  // as many as fit with the members
  EXPECT_EQ(per_host["other"], 1);   // then anywhere (hard affinity would refuse)
}

TEST(NumaFilter, SmallVmInsideOneCellTightestFirst) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 16, 2000);
  h.cpu_ratio = 1.0;
  h.numa_cells = {{0, 8, 1000}, {1, 8, 1000}};
  s->UpsertHost(h);
  auto p = s->Place(MakeRequest(4, 600));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->assignments[0].numa.size(), 1u);
  EXPECT_EQ(p->assignments[0].numa[0].first, 0);
  ASSERT_TRUE(s->Commit(*p).ok());
  // Next small VM: cell 0 is tighter and still fits -> cell 0.
  auto q = s->Place(MakeRequest(2, 300));
  ASSERT_EQ(q->assignments[0].numa.size(), 1u);
  EXPECT_EQ(q->assignments[0].numa[0].first, 0);
  // Does not fit cell 0's remaining 400 MiB: goes inside cell 1, not split.
  auto r = s->Place(MakeRequest(2, 500));
  ASSERT_EQ(r->assignments[0].numa.size(), 1u);
  EXPECT_EQ(r->assignments[0].numa[0].first, 1);
}

TEST(NumaFilter, LargeVmSplitsAcrossFewestCells) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 32, 4000);
  h.cpu_ratio = 1.0;
  h.numa_cells = {{0, 8, 1000}, {1, 8, 1000}, {2, 8, 1000}, {3, 8, 1000}};
  s->UpsertHost(h);
  ASSERT_TRUE(s->Restore({"h1", {2, 600, 0}, {{0, {2, 600, 0}}}}).ok());
  auto p = s->Place(MakeRequest(12, 1800));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto& numa = p->assignments[0].numa;
  ASSERT_EQ(numa.size(), 2u);  // two whole cells suffice; cell 0 (partly used) avoided
  Resources sum{};
  for (const auto& [cell, share] : numa) {
    EXPECT_NE(cell, 0);
    sum.vcpus += share.vcpus;
    sum.memory_mib += share.memory_mib;
    EXPECT_EQ(share.vcpus, 6);  // even split
    EXPECT_EQ(share.memory_mib, 900);
  }
  EXPECT_EQ(sum, (Resources{12, 1800, 0}));
  ASSERT_TRUE(s->Commit(*p).ok());
  auto usage = s->Usage("h1");
  std::int64_t cell_mem = 0;
  for (const auto& [cell, used] : usage->numa_used) cell_mem += used.memory_mib;
  EXPECT_EQ(cell_mem, 2400);
  // Release gives the cells back.
  ASSERT_TRUE(s->Release(p->assignments[0]).ok());
  cell_mem = 0;
  auto after = s->Usage("h1");
  for (const auto& [cell, used] : after->numa_used) cell_mem += used.memory_mib;
  EXPECT_EQ(cell_mem, 600);
}

TEST(NumaFilter, RejectsWhenCellsAreFragmented) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 16, 2000);
  h.cpu_ratio = 1.0;
  h.numa_cells = {{0, 8, 1000}, {1, 8, 1000}};
  s->UpsertHost(h);
  // 8 vCPUs used in cell 0, 700 MiB in cell 1: 8 vCPUs + 1000 MiB free in total, but a VM of
  // 8 vCPUs and 1000 MiB needs 8 vCPUs from cell 1 and memory from both: that is a 2-cell fit.
  ASSERT_TRUE(s->Restore({"h1", {8, 700, 0}, {{0, {8, 0, 0}}, {1, {0, 700, 0}}}}).ok());
  auto split = s->Place(MakeRequest(8, 1000, 0));
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->assignments[0].numa.size(), 2u);
  // Host totals fit (8 of 16 vCPUs, 1300 of 2000 MiB free) but the cells cannot: cell 1 has
  // 8 vCPUs and 300 MiB, cell 0 has 0 vCPUs and 1000 MiB: 9 vCPUs impossible.
  auto p = s->Place(MakeRequest(9, 100, 0));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(Rejected(p.status())["insufficient_vcpu"], 1);
  ASSERT_TRUE(s->Restore({"h1", {0, 0, 0}, {{1, {1, 0, 0}}}}).ok());  // cell 1: 7 vCPUs left
  auto q = s->Place(MakeRequest(8, 100, 0));  // host: 16-9=7 < 8 -> capacity
  ASSERT_FALSE(q.ok());
  HostSpec wide = h;
  wide.capacity.vcpus = 32;  // host-level room, cells still full
  s->UpsertHost(wide);
  auto w = s->Place(MakeRequest(8, 100, 0));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(Rejected(w.status())["numa_no_fit"], 1);
}

TEST(NumaFilter, MultiVmRequestSeesEarlierCells) {
  auto s = NewScheduler();
  HostSpec h = MakeHost("h1", 16, 2000);
  h.cpu_ratio = 1.0;
  h.numa_cells = {{0, 8, 1000}, {1, 8, 1000}};
  s->UpsertHost(h);
  auto p = s->Place(MakeRequest(4, 800, 0, 2));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->assignments.size(), 2u);
  EXPECT_NE(p->assignments[0].numa[0].first, p->assignments[1].numa[0].first);
  EXPECT_FALSE(s->Place(MakeRequest(4, 800, 0, 3)).ok());  // a third needs a split that fails
}

}  // namespace
}  // namespace govpool::scheduler
