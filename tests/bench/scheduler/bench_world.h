// A synthetic but realistic cloud for the scheduler benchmarks: host shapes, a flavor mix,
// three pools, 20% of hosts with traits, anti-affinity groups. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "scheduler/scheduler.h"

namespace govpool::scheduler::bench {

inline std::string HostId(std::int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "h%07lld", static_cast<long long>(i));
  return buf;
}

// Host shapes of a typical government data centre refresh cycle.
//   50%: 48 cores, 256 GiB, 2 NUMA cells      35%: 64 cores, 512 GiB, 2 cells
//   15%: 96 cores, 768 GiB, 4 cells
// cpu_ratio 4, memory 1, disk 1; local disk 16 GiB per GiB of memory (4-12 TiB). Traits: 15% "ssd", 5% "gpu" (20% in all).
inline std::vector<HostSpec> MakeHosts(std::int64_t n, bool numa, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<HostSpec> hosts;
  hosts.reserve(static_cast<std::size_t>(n));
  const char* pools[] = {"az-1", "az-2", "az-3"};
  for (std::int64_t i = 0; i < n; ++i) {
    HostSpec h;
    h.id = HostId(i);
    h.name = h.id;
    h.pool = pools[i % 3];
    int shape = static_cast<int>(rng() % 100);
    std::int64_t cores = 48, mem_gib = 256, cells = 2;
    if (shape >= 50 && shape < 85) {
      cores = 64;
      mem_gib = 512;
    } else if (shape >= 85) {
      cores = 96;
      mem_gib = 768;
      cells = 4;
    }
    h.capacity = {cores, mem_gib * 1024, mem_gib * 16};  // local disk: 16 GiB per GiB RAM
    if (numa) {
      for (std::int64_t c = 0; c < cells; ++c) {
        h.numa_cells.push_back({static_cast<std::int32_t>(c), cores / cells,
                                mem_gib * 1024 / cells});
      }
    }
    int t = static_cast<int>(rng() % 100);
    if (t < 15) {
      h.traits = {"ssd"};
    } else if (t < 20) {
      h.traits = {"gpu", "ssd"};
    }
    hosts.push_back(std::move(h));
  }
  return hosts;
}

struct Flavor {
  const char* name;
  Resources r;
  int weight;  // share of requests, percent
};

// A general-purpose mix (t-shirt sizes), weighted towards small VMs as real clouds are.
inline const std::vector<Flavor>& Flavors() {
  static const std::vector<Flavor> kFlavors = {
      {"small", {1, 2048, 20}, 30},       {"medium", {2, 4096, 40}, 25},
      {"large", {4, 8192, 80}, 20},       {"xlarge", {8, 16384, 160}, 12},
      {"2xlarge", {16, 32768, 320}, 8},   {"4xlarge", {32, 65536, 640}, 4},
      {"mem-8x64", {8, 65536, 200}, 1},
  };
  return kFlavors;
}

inline int PickFlavor(std::mt19937& rng) {
  int x = static_cast<int>(rng() % 100);
  const auto& f = Flavors();
  for (std::size_t i = 0; i < f.size(); ++i) {
    x -= f[i].weight;
    if (x < 0) return static_cast<int>(i);
  }
  return 0;
}

}  // namespace govpool::scheduler::bench
