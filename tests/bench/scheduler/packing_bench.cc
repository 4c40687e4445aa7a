// packing_bench: how tightly the online scheduler packs, against first-fit-decreasing (FFD).
// Prints JSON.
//
// A seeded stream of VMs from the flavor mix (bench_world.h) is fed to the scheduler (Place +
// Commit, one at a time, as users would) until the first refusal; we report the share of total
// memory and vCPU capacity then in use. FFD sees the same stream offline: we find the longest
// prefix of the stream that FFD (VMs sorted by memory, then vCPUs, descending; each into the
// first host with room) places completely, and report its shares. FFD knows the future, the
// scheduler does not, so FFD is an upper reference, not a target to beat.
//
// Usage: packing_bench [--hosts=1000] [--seeds=3] [--numa=0] [--cpu_ratio=4] [--mix=standard]
// --mix=awkward uses sizes that do not divide host sizes (see AwkwardFlavors).
// --cpu_ratio=1 (no CPU overcommit, as for dedicated-CPU workloads) makes vCPUs bind as well
// as memory: the harder, two-dimensional case.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "scheduler/scheduler.h"
#include "tests/bench/scheduler/bench_world.h"

namespace govpool::scheduler::bench {
namespace {

struct Totals {
  double memory = 0;
  double vcpus = 0;
};

Totals Capacity(const std::vector<HostSpec>& hosts) {
  Totals t;
  for (const HostSpec& h : hosts) {
    t.memory += static_cast<double>(h.capacity.memory_mib) * h.memory_ratio;
    t.vcpus += static_cast<double>(h.capacity.vcpus) * h.cpu_ratio;
  }
  return t;
}

// An adversarial mix: sizes that do not divide host sizes, CPU-heavy next to memory-heavy.
const std::vector<Resources>& AwkwardFlavors() {
  static const std::vector<Resources> kFlavors = {
      {3, 6144, 60},   {6, 12288, 120}, {10, 40960, 200}, {24, 24576, 100},
      {4, 90112, 300}, {12, 98304, 400}, {40, 61440, 500}, {1, 3072, 20},
  };
  return kFlavors;
}

std::vector<Resources> Stream(std::size_t n, std::uint32_t seed, bool awkward) {
  std::mt19937 rng(seed);
  std::vector<Resources> s;
  for (std::size_t i = 0; i < n; ++i) {
    if (awkward) {
      s.push_back(AwkwardFlavors()[rng() % AwkwardFlavors().size()]);
    } else {
      s.push_back(Flavors()[static_cast<std::size_t>(PickFlavor(rng))].r);
    }
  }
  return s;
}

struct Outcome {
  std::size_t placed = 0;
  Totals used;
};

Outcome Online(const std::vector<HostSpec>& hosts, const std::vector<Resources>& stream,
               const Config& config) {
  auto created = Scheduler::Create(config);
  if (!created.ok()) std::abort();
  auto s = std::move(created).value();
  for (const HostSpec& h : hosts) s->UpsertHost(h);
  Outcome o;
  for (const Resources& r : stream) {
    PlacementRequest req;
    req.per_vm = r;
    req.department_id = "d";
    auto p = s->Place(req);
    if (!p.ok()) break;
    if (!s->Commit(*p).ok()) std::abort();
    ++o.placed;
    o.used.memory += static_cast<double>(r.memory_mib);
    o.used.vcpus += static_cast<double>(r.vcpus);
  }
  return o;
}

bool FfdFits(const std::vector<HostSpec>& hosts, std::vector<Resources> vms) {
  std::sort(vms.begin(), vms.end(), [](const Resources& a, const Resources& b) {
    if (a.memory_mib != b.memory_mib) return a.memory_mib > b.memory_mib;
    if (a.vcpus != b.vcpus) return a.vcpus > b.vcpus;
    return a.disk_gib > b.disk_gib;
  });
  std::vector<Resources> free;
  for (const HostSpec& h : hosts) {
    free.push_back({static_cast<std::int64_t>(static_cast<double>(h.capacity.vcpus) * h.cpu_ratio),
                    static_cast<std::int64_t>(static_cast<double>(h.capacity.memory_mib) *
                                              h.memory_ratio),
                    static_cast<std::int64_t>(static_cast<double>(h.capacity.disk_gib) *
                                              h.disk_ratio)});
  }
  for (const Resources& v : vms) {
    bool placed = false;
    for (Resources& f : free) {
      if (f.vcpus >= v.vcpus && f.memory_mib >= v.memory_mib && f.disk_gib >= v.disk_gib) {
        f.vcpus -= v.vcpus;
        f.memory_mib -= v.memory_mib;
        f.disk_gib -= v.disk_gib;
        placed = true;
        break;
      }
    }
    if (!placed) return false;
  }
  return true;
}

Outcome Ffd(const std::vector<HostSpec>& hosts, const std::vector<Resources>& stream) {
  std::size_t lo = 0, hi = stream.size();  // lo fits; find the largest
  while (lo < hi) {
    std::size_t mid = (lo + hi + 1) / 2;
    if (FfdFits(hosts, std::vector<Resources>(stream.begin(), stream.begin() +
                                                                  static_cast<std::ptrdiff_t>(mid)))) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  Outcome o;
  o.placed = lo;
  for (std::size_t i = 0; i < lo; ++i) {
    o.used.memory += static_cast<double>(stream[i].memory_mib);
    o.used.vcpus += static_cast<double>(stream[i].vcpus);
  }
  return o;
}

}  // namespace
}  // namespace govpool::scheduler::bench

int main(int argc, char** argv) {
  using namespace govpool::scheduler;
  using namespace govpool::scheduler::bench;
  std::int64_t n = 1000;
  int seeds = 3;
  bool numa = false;
  double cpu_ratio = 4.0;
  bool awkward = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--hosts=", 8) == 0) n = std::atoll(argv[i] + 8);
    else if (std::strncmp(argv[i], "--seeds=", 8) == 0) seeds = std::atoi(argv[i] + 8);
    else if (std::strncmp(argv[i], "--numa=", 7) == 0) numa = std::atoi(argv[i] + 7) != 0;
    else if (std::strncmp(argv[i], "--cpu_ratio=", 12) == 0) cpu_ratio = std::atof(argv[i] + 12);
    else if (std::strcmp(argv[i], "--mix=awkward") == 0) awkward = true;
    else if (std::strcmp(argv[i], "--mix=standard") == 0) awkward = false;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  struct Variant {
    const char* name;
    Config config;
  };
  std::vector<Variant> variants;
  for (int k : {32, 8, 1, 0}) {
    Config c;
    c.max_candidates = k;
    variants.push_back({k == 0 ? "binpack_exact" : "binpack", c});
  }
  {
    Config c;
    c.score_weights = {{"binpack", 1.0}, {"balanced", 0.5}};
    variants.push_back({"binpack+balanced", c});
  }
  {
    Config c;
    c.score_weights = {{"spread", 1.0}};
    variants.push_back({"spread", c});
  }
  std::printf("[\n");
  for (int seed = 1; seed <= seeds; ++seed) {
    std::vector<HostSpec> hosts = MakeHosts(n, numa, 100 + static_cast<std::uint32_t>(seed));
    for (HostSpec& h : hosts) h.cpu_ratio = cpu_ratio;
    Totals cap = Capacity(hosts);
    std::vector<Resources> stream =
        Stream(static_cast<std::size_t>(cap.memory / 1024.0 / 2.0) + 1000,
               static_cast<std::uint32_t>(seed), awkward);
    Outcome ffd = Ffd(hosts, stream);
    for (const Variant& v : variants) {
      Outcome on = Online(hosts, stream, v.config);
      std::printf(
          "  {\"seed\": %d, \"hosts\": %lld, \"mix\": \"%s\", \"numa\": %s, \"cpu_ratio\": %.1f, "
          "\"variant\": \"%s\", "
          "\"max_candidates\": %d, \"online_vms\": %zu, \"online_memory_share\": %.4f, "
          "\"online_vcpu_share\": %.4f, \"ffd_vms\": %zu, \"ffd_memory_share\": %.4f, "
          "\"ffd_vcpu_share\": %.4f, \"gap_points\": %.2f},\n",
          // gap_points: FFD minus online, in percentage points of the binding resource (the
          // one FFD fills most); negative means the online scheduler packed more.
          seed, static_cast<long long>(n), awkward ? "awkward" : "standard",
          numa ? "true" : "false", cpu_ratio, v.name,
          v.config.max_candidates, on.placed, on.used.memory / cap.memory,
          on.used.vcpus / cap.vcpus, ffd.placed, ffd.used.memory / cap.memory,
          ffd.used.vcpus / cap.vcpus,
          ffd.used.memory / cap.memory >= ffd.used.vcpus / cap.vcpus
              ? 100.0 * (ffd.used.memory - on.used.memory) / cap.memory
              : 100.0 * (ffd.used.vcpus - on.used.vcpus) / cap.vcpus);
      std::fflush(stdout);
    }
  }
  std::printf("  {}\n]\n");
  return 0;
}
