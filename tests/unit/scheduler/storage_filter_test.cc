// Filter "storage" (scheduler/filters/storage_filter.cc): a VM whose disks live in a storage
// pool only goes to a host that reaches the pool; its place in the filter order, its class-level
// verdicts, revisions when a host's pools change, and the sentence it adds to explanations.
#include <gtest/gtest.h>

#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::MakeHost;
using testing::MakeRequest;
using testing::NewScheduler;
using testing::PlaceAndCommit;
using testing::Rejected;

HostSpec Reaching(const std::string& id, std::vector<std::string> pools,
                  std::int64_t memory_mib = 8192) {
  HostSpec h = MakeHost(id, 16, memory_mib);
  h.storage_pools = std::move(pools);
  return h;
}

PlacementRequest OnPool(const std::string& pool, std::int64_t memory_mib = 1024) {
  PlacementRequest r = MakeRequest(1, memory_mib);
  r.storage_pool = pool;
  return r;
}

TEST(StorageFilter, OnlyHostsThatReachThePool) {
  auto s = NewScheduler();
  s->UpsertHost(Reaching("a", {"p1"}));
  s->UpsertHost(Reaching("b", {"p2", "p1"}));
  s->UpsertHost(Reaching("c", {}));
  EXPECT_EQ(PlaceAndCommit(*s, OnPool("p2")), std::vector<std::string>{"b"});
  // p1: a and b qualify; binpack prefers b, which now holds a VM.
  EXPECT_EQ(PlaceAndCommit(*s, OnPool("p1")), std::vector<std::string>{"b"});
  for (int i = 0; i < 3; ++i) {
    auto p = s->Place(OnPool("p1", 4096));  // b has 6144 MiB left, then less
    ASSERT_TRUE(p.ok());
    EXPECT_NE(p->assignments[0].host_id, "c");
    ASSERT_TRUE(s->Commit(*p).ok());
  }
  // No storage constraint: any host, including c (the only one with room left).
  auto any = MakeRequest(1, 8192);
  EXPECT_EQ(PlaceAndCommit(*s, any), std::vector<std::string>{"c"});
}

TEST(StorageFilter, UnknownPoolIsRefusedWithASentence) {
  auto s = NewScheduler();
  s->UpsertHost(Reaching("a", {"p1"}));
  s->UpsertHost(Reaching("b", {}));
  auto p = s->Place(OnPool("p9"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().reason(), "NO_VALID_HOST");
  EXPECT_EQ(Rejected(p.status())["storage_pool_unreachable"], 2);
  EXPECT_EQ(p.status().message(),
            "0 of 2 hosts fit: 2 storage_pool_unreachable (no host reaches storage pool p9)");
}

TEST(StorageFilter, BlamedAfterStatusAndBeforeCapacity) {
  auto s = NewScheduler();
  HostSpec down = Reaching("down", {});
  down.up = false;
  s->UpsertHost(down);
  s->UpsertHost(Reaching("small", {}, 512));   // lacks both pool and memory: pool is blamed
  s->UpsertHost(Reaching("full", {"p1"}, 512));  // reaches p1, lacks memory
  auto p = s->Place(OnPool("p1"));
  ASSERT_FALSE(p.ok());
  auto rejected = Rejected(p.status());
  EXPECT_EQ(rejected["host_down"], 1);
  EXPECT_EQ(rejected["storage_pool_unreachable"], 1);
  EXPECT_EQ(rejected["insufficient_memory"], 1);
  EXPECT_EQ(p.status().message(),
            "0 of 3 hosts fit: 1 host_down, 1 insufficient_memory, 1 storage_pool_unreachable "
            "(1 host does not reach storage pool p1)");
}

TEST(StorageFilter, PoolsArePartOfTheHostClass) {
  // Hosts equal in everything but their pools: the filter (class-level) must tell them apart,
  // whole classes counted at once in refusals.
  auto s = NewScheduler();
  for (int i = 0; i < 5; ++i) s->UpsertHost(Reaching("x" + std::to_string(i), {"p1"}));
  for (int i = 0; i < 3; ++i) s->UpsertHost(Reaching("y" + std::to_string(i), {"p2"}));
  auto r = OnPool("p2");
  r.explain = true;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "y0");
  EXPECT_EQ(p->explanation.hosts_fit, 3);
  EXPECT_EQ(p->explanation.rejected.at("storage_pool_unreachable"), 5);
  EXPECT_EQ(p->explanation.Summary(),
            "3 of 8 hosts fit: 5 storage_pool_unreachable (5 hosts do not reach storage pool p2)");
  // Order and duplicates in the host's list do not matter.
  s->UpsertHost(Reaching("z", {"p2", "p1", "p2"}));
  r.per_vm.memory_mib = 8192;
  r.count = 4;
  auto all = s->Place(r);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->assignments.back().host_id, "z");
}

TEST(StorageFilter, ChangingAHostsPoolsBumpsItsRevision) {
  auto s = NewScheduler();
  s->UpsertHost(Reaching("a", {"p1"}));
  auto p = s->Place(OnPool("p1"));
  ASSERT_TRUE(p.ok());
  const std::uint64_t before = s->Usage("a")->revision;
  s->UpsertHost(Reaching("a", {"p1"}));  // same facts: free
  EXPECT_EQ(s->Usage("a")->revision, before);
  s->UpsertHost(Reaching("a", {"p2"}));  // lost p1
  EXPECT_GT(s->Usage("a")->revision, before);
  EXPECT_EQ(s->Commit(*p).code(), StatusCode::kConflict);
  auto q = s->Place(OnPool("p1"));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(Rejected(q.status())["storage_pool_unreachable"], 1);
  EXPECT_EQ(PlaceAndCommit(*s, OnPool("p2")), std::vector<std::string>{"a"});
}

TEST(StorageFilter, LeftOutOfTheConfigurationItConstrainsNothing) {
  Config config;
  config.filters = {"status", "pool", "department", "traits", "capacity"};
  auto s = NewScheduler(config);
  s->UpsertHost(Reaching("a", {}));
  EXPECT_EQ(PlaceAndCommit(*s, OnPool("p1")), std::vector<std::string>{"a"});
}

TEST(StorageFilter, MultiVmRequestAllOrNothing) {
  auto s = NewScheduler();
  s->UpsertHost(Reaching("a", {"p1"}, 2048));
  s->UpsertHost(Reaching("b", {}, 65536));
  auto p = s->Place([] {
    PlacementRequest r = OnPool("p1");
    r.count = 3;  // a holds two
    return r;
  }());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "0 of 2 hosts fit: 1 insufficient_memory, 1 storage_pool_unreachable (1 host does "
            "not reach storage pool p1) (VM 3 of 3; all or nothing, none placed)");
  EXPECT_EQ(s->Usage("a")->instances, 0);
}

TEST(StorageFilter, SummaryShowsNotes) {
  Explanation e;
  e.hosts_total = 4;
  e.rejected = {{"storage_pool_unreachable", 3}, {"host_down", 1}};
  e.notes = {"3 hosts do not reach storage pool p1", "another note"};
  EXPECT_EQ(e.Summary(),
            "0 of 4 hosts fit: 3 storage_pool_unreachable, 1 host_down (3 hosts do not reach "
            "storage pool p1; another note)");
}

}  // namespace
}  // namespace govpool::scheduler
