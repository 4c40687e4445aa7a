// Two schedulers race to place 1,000 VMs onto scarce hosts. Each thread owns a Scheduler (its
// own index, like two controller processes) and commits through a shared, mutex-protected
// "authoritative" allocation table that does compare-and-swap on per-host revisions, as the
// state store does. On a conflict the loser catches up from the table's per-host log
// (Restore) and places again. The table itself never checks capacity: the guarantee that no
// host exceeds capacity x ratio must come from placement + CAS alone.
#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::MakeHost;
using testing::NewScheduler;

struct Authority {
  std::mutex mu;
  // host -> every assignment committed there, in order; the revision is the log length.
  std::map<std::string, std::vector<Assignment>> log;
};

struct Outcome {
  int placed_vms = 0;
  int refused_vms = 0;
  int conflicts = 0;
  std::vector<std::string> refusal_reasons;
};

std::vector<HostSpec> ScarceHosts() {
  std::vector<HostSpec> hosts;
  for (int i = 0; i < 24; ++i) {
    HostSpec h = MakeHost("host-" + std::to_string(100 + i), 4, 16384, 400, i % 2 ? "a" : "b");
    h.numa_cells = {{0, 2, 8192}, {1, 2, 8192}};
    h.max_instances = i % 5 == 0 ? 6 : 0;
    hosts.push_back(h);
  }
  return hosts;
}

// Applies log entries this worker has not seen yet. Caller holds auth.mu.
void CatchUp(Authority& auth, Scheduler& s, std::map<std::string, std::size_t>& seen) {
  for (const auto& [host, entries] : auth.log) {
    std::size_t& n = seen[host];
    for (; n < entries.size(); ++n) ASSERT_TRUE(s.Restore(entries[n]).ok());
  }
}

void Worker(int worker, int vms, Authority& auth, std::latch& start, Outcome& out) {
  auto s = NewScheduler();
  for (const HostSpec& h : ScarceHosts()) s->UpsertHost(h);
  start.arrive_and_wait();  // both race from the first VM
  std::map<std::string, std::size_t> seen;
  std::mt19937 rng(static_cast<unsigned>(worker) + 7);
  const Resources flavors[] = {{1, 1024, 10}, {2, 2048, 20}, {2, 4096, 40}, {4, 8192, 80}};
  int i = 0;
  while (i < vms) {
    PlacementRequest r;
    r.per_vm = flavors[rng() % 4];
    r.count = std::min<int>(vms - i, rng() % 4 == 0 ? 2 : 1);
    r.department_id = "d" + std::to_string(worker);
    i += r.count;
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 10000) << "livelock";
      auto p = s->Place(r);
      if (!p.ok()) {
        // Refuse only on an up-to-date view: other workers' commits may make a stale index
        // look emptier, never fuller (there are no releases here), but re-check anyway.
        std::lock_guard lock(auth.mu);
        std::size_t before = 0, after = 0;
        for (const auto& [h, n] : seen) before += n;
        CatchUp(auth, *s, seen);
        for (const auto& [h, n] : seen) after += n;
        if (after != before) continue;
        EXPECT_EQ(p.status().reason(), "NO_VALID_HOST");
        out.refused_vms += r.count;
        out.refusal_reasons.push_back(p.status().message());
        break;
      }
      std::lock_guard lock(auth.mu);
      bool fresh = true;
      for (const auto& a : p->assignments) {
        if (auth.log[a.host_id].size() != seen[a.host_id]) fresh = false;
      }
      if (!fresh) {  // CAS failed: someone committed there first
        ++out.conflicts;
        CatchUp(auth, *s, seen);
        continue;
      }
      ASSERT_TRUE(s->Commit(*p).ok());  // local index: nothing changed since Place
      for (const auto& a : p->assignments) {
        auth.log[a.host_id].push_back(a);
        seen[a.host_id] = auth.log[a.host_id].size();
      }
      out.placed_vms += r.count;
      break;
    }
    std::this_thread::yield();  // interleave the two workers as much as possible
  }
  std::lock_guard lock(auth.mu);
  CatchUp(auth, *s, seen);
}

TEST(SchedulerRace, TwoSchedulersNeverOvercommit) {
  Authority auth;
  Outcome out[2];
  std::latch start(2);
  std::thread t0(Worker, 0, 500, std::ref(auth), std::ref(start), std::ref(out[0]));
  std::thread t1(Worker, 1, 500, std::ref(auth), std::ref(start), std::ref(out[1]));
  t0.join();
  t1.join();

  const int placed = out[0].placed_vms + out[1].placed_vms;
  const int refused = out[0].refused_vms + out[1].refused_vms;
  EXPECT_EQ(placed + refused, 1000);  // every VM placed or refused
  EXPECT_GT(placed, 50);
  EXPECT_GT(refused, 0);  // the hosts are scarce
  for (const Outcome& o : out) {
    for (const std::string& reason : o.refusal_reasons) {
      EXPECT_NE(reason.find("hosts fit:"), std::string::npos) << reason;
    }
  }
  // Independent check from the authoritative log: nothing above capacity x ratio.
  int logged = 0;
  for (const HostSpec& h : ScarceHosts()) {
    Resources used{};
    std::map<std::int32_t, Resources> cells;
    const auto& entries = auth.log[h.id];
    for (const Assignment& a : entries) {
      used.vcpus += a.resources.vcpus;
      used.memory_mib += a.resources.memory_mib;
      used.disk_gib += a.resources.disk_gib;
      for (const auto& [cell, share] : a.numa) {
        cells[cell].vcpus += share.vcpus;
        cells[cell].memory_mib += share.memory_mib;
      }
    }
    logged += static_cast<int>(entries.size());
    EXPECT_LE(used.vcpus, h.capacity.vcpus * 4) << h.id;
    EXPECT_LE(used.memory_mib, h.capacity.memory_mib) << h.id;
    EXPECT_LE(used.disk_gib, h.capacity.disk_gib) << h.id;
    for (const auto& [cell, u] : cells) {
      EXPECT_LE(u.vcpus, 2 * 4) << h.id << " cell " << cell;
      EXPECT_LE(u.memory_mib, 8192) << h.id << " cell " << cell;
    }
    if (h.max_instances > 0) {
      EXPECT_LE(static_cast<std::int64_t>(entries.size()), h.max_instances);
    }
  }
  EXPECT_EQ(logged, placed);
  // A scheduler rebuilt from durable state (controller restart) agrees with the log.
  auto rebuilt = NewScheduler();
  for (const HostSpec& h : ScarceHosts()) rebuilt->UpsertHost(h);
  for (const auto& [host, entries] : auth.log) {
    Resources used{};
    for (const Assignment& a : entries) {
      ASSERT_TRUE(rebuilt->Restore(a).ok());
      used.vcpus += a.resources.vcpus;
      used.memory_mib += a.resources.memory_mib;
      used.disk_gib += a.resources.disk_gib;
    }
    EXPECT_EQ(rebuilt->Allocated(host).value(), used);
  }
  std::printf("placed %d refused %d conflicts %d+%d\n", placed, refused, out[0].conflicts,
              out[1].conflicts);
}

}  // namespace
}  // namespace govpool::scheduler
