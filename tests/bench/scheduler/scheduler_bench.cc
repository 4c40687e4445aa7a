// scheduler_bench: single-thread placement throughput and decision latency at several cluster
// sizes, printed as JSON (one object per size). Not a test; see docs/performance.md.
//
// Per size: build the cluster, fill it to ~80% of memory with the flavor mix through
// Place+Commit (untimed), then run a steady state in which every step places one request
// (timed), commits it, and releases a random live VM (keeps utilisation constant).
// Requests: 70% name one of 3 pools, 5% require "ssd", 2% require "gpu" (the others forbid
// it), 30% belong to hard anti-affinity groups (up to 8 members), 5% ask for 2-4 VMs at once.
//
// Latency is measured with the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID, minus the clock's
// own calibrated cost), so time the thread spends preempted by other processes on a shared
// machine does not count; wall-clock percentiles are printed beside it for comparison.
//
// Usage: scheduler_bench [--hosts=1000,10000,100000] [--ops=200000] [--fill=0.8]
//                        [--max_candidates=8] [--numa=1]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "scheduler/scheduler.h"
#include "tests/bench/scheduler/bench_world.h"

namespace govpool::scheduler::bench {
namespace {

struct LiveVm {
  std::uint32_t host;
  std::int8_t flavor;
  std::int8_t ncells;
  std::int16_t group;  // -1: none
  std::int8_t cell_id[4];
  std::int32_t cell_cpus[4];
  std::int32_t cell_mem[4];
};

struct Group {
  std::vector<std::string> member_hosts;
};

struct Options {
  std::vector<std::int64_t> sizes = {1000, 10000, 100000};
  std::int64_t ops = 200000;
  double fill = 0.8;
  std::int32_t max_candidates = Config().max_candidates;
  bool numa = true;
};

Assignment ToAssignment(const LiveVm& vm) {
  Assignment a;
  a.host_id = HostId(vm.host);
  a.resources = Flavors()[static_cast<std::size_t>(vm.flavor)].r;
  for (int i = 0; i < vm.ncells; ++i) {
    a.numa.push_back({vm.cell_id[i], Resources{vm.cell_cpus[i], vm.cell_mem[i], 0}});
  }
  return a;
}

LiveVm FromAssignment(const Assignment& a, int flavor, int group) {
  LiveVm vm{};
  vm.host = static_cast<std::uint32_t>(std::atoi(a.host_id.c_str() + 1));
  vm.flavor = static_cast<std::int8_t>(flavor);
  vm.group = static_cast<std::int16_t>(group);
  vm.ncells = static_cast<std::int8_t>(std::min<std::size_t>(a.numa.size(), 4));
  for (int i = 0; i < vm.ncells; ++i) {
    vm.cell_id[i] = static_cast<std::int8_t>(a.numa[static_cast<std::size_t>(i)].first);
    vm.cell_cpus[i] = static_cast<std::int32_t>(a.numa[static_cast<std::size_t>(i)].second.vcpus);
    vm.cell_mem[i] =
        static_cast<std::int32_t>(a.numa[static_cast<std::size_t>(i)].second.memory_mib);
  }
  return vm;
}

class Workload {
 public:
  Workload(std::int64_t hosts, std::uint32_t seed) : rng_(seed), groups_(hosts / 20 + 1) {}

  // A request and the group it belongs to (-1: none).
  PlacementRequest Next(int* flavor, int* group) {
    PlacementRequest r;
    *flavor = PickFlavor(rng_);
    r.per_vm = Flavors()[static_cast<std::size_t>(*flavor)].r;
    r.department_id = "dept-" + std::to_string(rng_() % 40);
    int p = static_cast<int>(rng_() % 100);
    if (p < 70) r.pool = "az-" + std::to_string(1 + p % 3);
    int t = static_cast<int>(rng_() % 100);
    if (t < 2) {
      r.required_traits = {"gpu"};
    } else {
      // As in Nova deployments: GPU hosts are kept for GPU work.
      r.forbidden_traits = {"gpu"};
      if (t < 7) r.required_traits = {"ssd"};
    }
    *group = -1;
    if (rng_() % 100 < 30) {
      *group = static_cast<int>(rng_() % groups_.size());
      Group& g = groups_[static_cast<std::size_t>(*group)];
      if (g.member_hosts.size() >= 8) g.member_hosts.clear();  // group "deleted", a new one
      r.group_policy = GroupPolicy::kAntiAffinity;
      r.group_member_hosts = g.member_hosts;
    }
    if (rng_() % 100 < 5) r.count = 2 + static_cast<std::int32_t>(rng_() % 3);
    return r;
  }
  void Placed(int group, const std::string& host) {
    if (group >= 0) groups_[static_cast<std::size_t>(group)].member_hosts.push_back(host);
  }
  void Released(int group, const std::string& host) {
    if (group < 0) return;
    auto& m = groups_[static_cast<std::size_t>(group)].member_hosts;
    auto it = std::find(m.begin(), m.end(), host);
    if (it != m.end()) m.erase(it);
  }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  std::vector<Group> groups_;
};

double ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Median cost of one ThreadCpuUs() pair, subtracted from every sample.
double ClockOverheadUs() {
  std::vector<double> d;
  for (int i = 0; i < 2001; ++i) {
    double a = ThreadCpuUs();
    double b = ThreadCpuUs();
    d.push_back(b - a);
  }
  std::sort(d.begin(), d.end());
  return d[d.size() / 2];
}

void RunSize(std::int64_t n, const Options& opt, bool last) {
  using Clock = std::chrono::steady_clock;
  Config config;
  config.max_candidates = opt.max_candidates;
  auto created = Scheduler::Create(config);
  if (!created.ok()) std::abort();
  std::unique_ptr<Scheduler> s = std::move(created).value();
  std::vector<HostSpec> hosts = MakeHosts(n, opt.numa, 42);
  double total_mem = 0;
  for (const HostSpec& h : hosts) {
    s->UpsertHost(h);
    total_mem += static_cast<double>(h.capacity.memory_mib);
  }
  Workload w(n, 7);
  std::vector<LiveVm> live;
  double used_mem = 0;
  std::int64_t fill_refusals = 0;  // consecutive
  auto t_fill = Clock::now();
  while (used_mem < opt.fill * total_mem && fill_refusals < 200) {
    int flavor = 0, group = -1;
    PlacementRequest r = w.Next(&flavor, &group);
    auto p = s->Place(r);
    if (!p.ok()) {
      ++fill_refusals;
      continue;
    }
    if (!s->Commit(*p).ok()) std::abort();
    fill_refusals = 0;
    for (const Assignment& a : p->assignments) {
      live.push_back(FromAssignment(a, flavor, group));
      w.Placed(group, a.host_id);
      used_mem += static_cast<double>(a.resources.memory_mib);
    }
  }
  double fill_s = std::chrono::duration<double>(Clock::now() - t_fill).count();

  const double overhead_us = ClockOverheadUs();
  std::vector<double> place_us, wall_us, examined, refusal_us;
  place_us.reserve(static_cast<std::size_t>(opt.ops));
  wall_us.reserve(static_cast<std::size_t>(opt.ops));
  std::int64_t refused = 0, vms = 0;
  double place_total_s = 0;
  auto t_steady = Clock::now();
  for (std::int64_t i = 0; i < opt.ops; ++i) {
    int flavor = 0, group = -1;
    PlacementRequest r = w.Next(&flavor, &group);
    auto t0 = Clock::now();
    double c0 = ThreadCpuUs();
    auto p = s->Place(r);
    double c1 = ThreadCpuUs();
    auto t1 = Clock::now();
    double us = std::max(0.0, c1 - c0 - overhead_us);
    wall_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    place_us.push_back(us);
    place_total_s += us / 1e6;
    if (p.ok()) {
      examined.push_back(static_cast<double>(p->explanation.hosts_examined));
      if (getenv("SCHED_BENCH_TRACE") != nullptr && us > 50) {
        std::fprintf(stderr, "slow %.1fus count=%d flavor=%d group=%d members=%zu traits=%zu pool=%s examined=%lld fit=%lld\n",
                     us, r.count, flavor, group, r.group_member_hosts.size(), r.required_traits.size(),
                     r.pool.c_str(), static_cast<long long>(p->explanation.hosts_examined),
                     static_cast<long long>(p->explanation.hosts_fit));
      }
      if (!s->Commit(*p).ok()) std::abort();
      for (const Assignment& a : p->assignments) {
        live.push_back(FromAssignment(a, flavor, group));
        w.Placed(group, a.host_id);
        ++vms;
      }
    } else {
      ++refused;
      refusal_us.push_back(us);
      if (getenv("SCHED_BENCH_TRACE") != nullptr) {
        std::fprintf(stderr, "refused %.1fus count=%d flavor=%d members=%zu traits=%zu pool=%s: %s\n",
                     us, r.count, flavor, r.group_member_hosts.size(), r.required_traits.size(),
                     r.pool.c_str(), p.status().message().c_str());
      }
    }
    // Release as many VMs as were placed, chosen at random: steady utilisation.
    for (std::size_t k = 0; k < (p.ok() ? p->assignments.size() : 0) && !live.empty(); ++k) {
      std::size_t victim = w.rng()() % live.size();
      Assignment a = ToAssignment(live[victim]);
      if (!s->Release(a).ok()) std::abort();
      w.Released(live[victim].group, a.host_id);
      live[victim] = live.back();
      live.pop_back();
    }
  }
  double steady_s = std::chrono::duration<double>(Clock::now() - t_steady).count();
  std::sort(place_us.begin(), place_us.end());
  std::sort(wall_us.begin(), wall_us.end());
  std::sort(examined.begin(), examined.end());
  std::sort(refusal_us.begin(), refusal_us.end());
  if (refusal_us.empty()) refusal_us.push_back(0);
  auto pct_of = [](const std::vector<double>& v, double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  auto pct = [&](double q) { return pct_of(place_us, q); };
  double mem_now = 0;
  for (const LiveVm& vm : live) {
    mem_now += static_cast<double>(Flavors()[static_cast<std::size_t>(vm.flavor)].r.memory_mib);
  }
  std::printf(
      "  {\"hosts\": %lld, \"max_candidates\": %d, \"numa\": %s, \"live_vms\": %zu, "
      "\"memory_utilisation\": %.3f, \"fill_seconds\": %.2f, \"requests\": %lld, "
      "\"refused\": %lld, \"placements_per_second\": %.0f, "
      "\"cycles_per_second\": %.0f, \"place_us\": {\"mean\": %.2f, \"p50\": %.2f, "
      "\"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, \"max\": %.2f}, "
      "\"wall_place_us\": {\"p50\": %.2f, \"p99\": %.2f}, "
      "\"hosts_examined\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f}, "
      "\"refusal_us\": {\"p50\": %.1f, \"max\": %.1f}}%s\n",
      static_cast<long long>(n), opt.max_candidates, opt.numa ? "true" : "false", live.size(),
      mem_now / total_mem, fill_s, static_cast<long long>(opt.ops),
      static_cast<long long>(refused), static_cast<double>(opt.ops) / place_total_s,
      static_cast<double>(opt.ops) / steady_s, place_total_s * 1e6 / static_cast<double>(opt.ops),
      pct(0.50), pct(0.90), pct(0.99), pct(0.999), place_us.back(), pct_of(wall_us, 0.5),
      pct_of(wall_us, 0.99), pct_of(examined, 0.5), pct_of(examined, 0.99), examined.back(),
      pct_of(refusal_us, 0.5), refusal_us.back(), last ? "" : ",");
  std::fflush(stdout);
  (void)vms;
}

std::vector<std::int64_t> ParseList(const char* s) {
  std::vector<std::int64_t> out;
  while (*s != '\0') {
    char* end = nullptr;
    out.push_back(std::strtoll(s, &end, 10));
    s = *end == ',' ? end + 1 : end;
    if (end == s && *end != '\0') break;
  }
  return out;
}

}  // namespace
}  // namespace govpool::scheduler::bench

int main(int argc, char** argv) {
  using namespace govpool::scheduler::bench;
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--hosts=", 8) == 0) opt.sizes = ParseList(a + 8);
    else if (std::strncmp(a, "--ops=", 6) == 0) opt.ops = std::atoll(a + 6);
    else if (std::strncmp(a, "--fill=", 7) == 0) opt.fill = std::atof(a + 7);
    else if (std::strncmp(a, "--max_candidates=", 17) == 0) opt.max_candidates = std::atoi(a + 17);
    else if (std::strncmp(a, "--numa=", 7) == 0) opt.numa = std::atoi(a + 7) != 0;
    else {
      std::fprintf(stderr, "unknown flag %s\n", a);
      return 2;
    }
  }
  std::printf("[\n");
  for (std::size_t i = 0; i < opt.sizes.size(); ++i) {
    RunSize(opt.sizes[i], opt, i + 1 == opt.sizes.size());
  }
  std::printf("]\n");
  return 0;
}
