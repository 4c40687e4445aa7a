// Randomised properties of the indexed fast path against the exhaustive scan: the index may
// only skip hosts that cannot fit, so a request fits via Place() exactly when it fits via
// Place(explain) (which examines every host), refusals explain every host, and committed
// placements never exceed any limit. Also checks that hosts changing class (pool, traits,
// status) move in the index.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::NewScheduler;
using testing::Rejected;

HostSpec RandomHost(std::mt19937& rng, int i) {
  HostSpec h;
  h.id = "host-" + std::to_string(i);
  h.pool = "p" + std::to_string(rng() % 3);
  h.capacity = {static_cast<std::int64_t>(8 + rng() % 24),
                static_cast<std::int64_t>(4096 + 1024 * (rng() % 28)),
                static_cast<std::int64_t>(100 + rng() % 400)};
  h.cpu_ratio = (rng() % 2) ? 4.0 : 1.5;
  h.up = rng() % 10 != 0;
  h.maintenance = rng() % 15 == 0;
  h.max_instances = rng() % 4 == 0 ? 3 : 0;
  if (rng() % 3 == 0) h.traits = {"ssd"};
  if (rng() % 7 == 0) h.traits.push_back("gpu");
  if (rng() % 9 == 0) h.dedicated_departments = {"secret"};
  if (rng() % 4 == 0) h.aggregates = {"rack-" + std::to_string(rng() % 2)};
  if (rng() % 2 == 0) {
    std::int64_t half_cpu = h.capacity.vcpus / 2, half_mem = h.capacity.memory_mib / 2;
    h.numa_cells = {{0, half_cpu, half_mem}, {1, h.capacity.vcpus - half_cpu,
                                              h.capacity.memory_mib - half_mem}};
  }
  return h;
}

PlacementRequest RandomRequest(std::mt19937& rng, const std::vector<std::string>& ids) {
  PlacementRequest r;
  r.per_vm = {static_cast<std::int64_t>(1 + rng() % 8),
              static_cast<std::int64_t>(512 * (1 + rng() % 16)),
              static_cast<std::int64_t>(10 * (1 + rng() % 8))};
  r.count = rng() % 5 == 0 ? 2 + static_cast<std::int32_t>(rng() % 3) : 1;
  r.department_id = rng() % 6 == 0 ? "secret" : "public";
  if (rng() % 2) r.pool = "p" + std::to_string(rng() % 4);  // p3 does not exist
  if (rng() % 8 == 0) r.allowed_pools = {"p0", "p1"};
  if (rng() % 5 == 0) r.required_traits = {"ssd"};
  if (rng() % 4 == 0) r.forbidden_traits = {"gpu"};
  if (rng() % 10 == 0) r.required_aggregates = {"rack-0"};
  int g = static_cast<int>(rng() % 6);
  if (g < 2) {
    r.group_policy = g == 0 ? GroupPolicy::kAntiAffinity : GroupPolicy::kAffinity;
    r.group_hard = rng() % 3 != 0;
    for (unsigned k = rng() % 3; k > 0; --k) r.group_member_hosts.push_back(ids[rng() % ids.size()]);
  }
  return r;
}

TEST(SchedulerProperty, IndexedPlacementAgreesWithExhaustiveScan) {
  for (std::uint32_t seed = 1; seed <= 6; ++seed) {
    std::mt19937 rng(seed);
    Config config;
    config.max_candidates = static_cast<std::int32_t>(seed % 3);  // 0 (exact), 1, 2
    auto s = NewScheduler(config);
    std::vector<HostSpec> hosts;
    std::vector<std::string> ids;
    for (int i = 0; i < 60; ++i) {
      hosts.push_back(RandomHost(rng, i));
      ids.push_back(hosts.back().id);
      s->UpsertHost(hosts.back());
    }
    std::vector<Assignment> live;
    int placed = 0, refused = 0;
    for (int step = 0; step < 1500; ++step) {
      if (step % 50 == 0) {  // a host changes class: pool, traits, status
        HostSpec& h = hosts[rng() % hosts.size()];
        h.pool = "p" + std::to_string(rng() % 3);
        h.traits = rng() % 2 ? std::vector<std::string>{"ssd"} : std::vector<std::string>{};
        h.up = rng() % 5 != 0;
        s->UpsertHost(h);
      }
      PlacementRequest r = RandomRequest(rng, ids);
      PlacementRequest exhaustive = r;
      exhaustive.explain = true;
      auto fast = s->Place(r);
      auto full = s->Place(exhaustive);
      ASSERT_EQ(fast.ok(), full.ok()) << "seed " << seed << " step " << step << ": "
                                      << fast.status().ToString() << " vs "
                                      << full.status().ToString();
      if (!fast.ok()) {
        ++refused;
        EXPECT_EQ(Rejected(fast.status()), Rejected(full.status()));
        std::int64_t total = 0;
        for (const auto& [reason, n] : Rejected(fast.status())) total += n;
        EXPECT_EQ(total, static_cast<std::int64_t>(hosts.size()));  // every host explained
        continue;
      }
      EXPECT_EQ(full->explanation.hosts_examined, static_cast<std::int64_t>(hosts.size()));
      ASSERT_TRUE(s->Commit(*fast).ok());
      ++placed;
      for (const Assignment& a : fast->assignments) live.push_back(a);
      while (live.size() > 150) {  // churn
        std::size_t k = rng() % live.size();
        ASSERT_TRUE(s->Release(live[k]).ok());
        live[k] = live.back();
        live.pop_back();
      }
    }
    EXPECT_GT(placed, 100);
    EXPECT_GT(refused, 10);
    for (const HostSpec& h : hosts) {
      auto u = s->Usage(h.id);
      ASSERT_TRUE(u.ok());
      EXPECT_LE(u->used.vcpus, u->limit.vcpus);
      EXPECT_LE(u->used.memory_mib, u->limit.memory_mib);
      EXPECT_LE(u->used.disk_gib, u->limit.disk_gib);
      if (h.max_instances > 0) {
        EXPECT_LE(u->instances, h.max_instances);
      }
    }
  }
}

TEST(SchedulerProperty, HostsMoveBetweenClassesAndCanBeRemoved) {
  auto s = NewScheduler();
  HostSpec h;
  h.id = "h1";
  h.pool = "a";
  h.capacity = {8, 1000, 100};
  s->UpsertHost(h);
  PlacementRequest r;
  r.per_vm = {1, 100, 1};
  r.pool = "b";
  r.required_traits = {"ssd"};
  EXPECT_FALSE(s->Place(r).ok());
  h.pool = "b";
  h.traits = {"ssd"};
  s->UpsertHost(h);
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(s->Commit(*p).ok());
  h.enabled = false;
  s->UpsertHost(h);
  auto q = s->Place(r);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(Rejected(q.status())["host_disabled"], 1);
  ASSERT_TRUE(s->Release(p->assignments[0]).ok());
  ASSERT_TRUE(s->RemoveHost("h1").ok());
  EXPECT_EQ(s->HostCount(), 0);
  EXPECT_EQ(s->RemoveHost("h1").code(), StatusCode::kNotFound);
  auto none = s->Place(r);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "0 of 0 hosts fit");
  h.enabled = true;
  s->UpsertHost(h);  // the slot is reused
  EXPECT_TRUE(s->Place(r).ok());
}

}  // namespace
}  // namespace govpool::scheduler
