// NUMA planning and overcommit arithmetic shared by the capacity/NUMA filters and the engine.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "scheduler/host_state.h"

namespace govpool::scheduler {

std::int64_t ScaledLimit(std::int64_t capacity, double ratio) {
  if (capacity <= 0 || !(ratio > 0)) return 0;  // also catches NaN
  constexpr std::int64_t kScale = 1'000'000;
  if (ratio > 1e6) ratio = 1e6;  // absurd ratios: keep the product in range
  const std::int64_t micro = std::llround(ratio * static_cast<double>(kScale));  // <= 1e12
  // capacity x micro / kScale without overflow: split capacity = q x kScale + r.
  const std::int64_t q = capacity / kScale, r = capacity % kScale;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (q > 0 && micro > kMax / q) return kMax;
  const std::int64_t whole = q * micro;       // exact
  const std::int64_t part = r * micro / kScale;  // r x micro < 1e18: exact
  return whole > kMax - part ? kMax : whole + part;
}

namespace {

struct FreeCell {
  std::size_t cell;
  std::int64_t cpus;
  std::int64_t memory_mib;
};

// Splits `want` over cells as evenly as their free room allows (water filling): visit cells in
// ascending free room, give each min(free, ceil(remaining / cells left)).
void EvenSplit(std::vector<FreeCell>& cells, std::int64_t want, bool memory,
               std::vector<CellShare>* out) {
  std::sort(cells.begin(), cells.end(), [memory](const FreeCell& a, const FreeCell& b) {
    std::int64_t fa = memory ? a.memory_mib : a.cpus, fb = memory ? b.memory_mib : b.cpus;
    return fa != fb ? fa < fb : a.cell < b.cell;
  });
  std::int64_t remaining = want;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::int64_t left = static_cast<std::int64_t>(cells.size() - i);
    std::int64_t fair = (remaining + left - 1) / left;
    std::int64_t free = memory ? cells[i].memory_mib : cells[i].cpus;
    std::int64_t give = std::min(free, fair);
    remaining -= give;
    for (CellShare& share : *out) {
      if (share.cell == cells[i].cell) (memory ? share.memory_mib : share.cpus) = give;
    }
  }
}

}  // namespace

bool PlanNuma(const HostView& view, std::int64_t vcpus, std::int64_t memory_mib,
              std::vector<CellShare>* out) {
  const HostState& host = *view.host;
  if (out != nullptr) out->clear();
  if (host.cells.empty()) return true;
  const std::size_t n = host.cells.size();

  // Free room per cell (committed + overlay).
  FreeCell stack_cells[16];
  std::vector<FreeCell> heap_cells;
  FreeCell* free = stack_cells;
  if (n > 16) {
    heap_cells.resize(n);
    free = heap_cells.data();
  }
  for (std::size_t i = 0; i < n; ++i) {
    const CellState& c = host.cells[i];
    std::int64_t cpu_used = c.cpu_used, mem_used = c.memory_used;
    if (view.cell_extra != nullptr) {
      cpu_used += (*view.cell_extra)[i].cpus;
      mem_used += (*view.cell_extra)[i].memory_mib;
    }
    free[i] = {i, std::max<std::int64_t>(0, c.cpu_limit - cpu_used),
               std::max<std::int64_t>(0, c.memory_limit - mem_used)};
  }

  // One cell: the tightest fit (least free memory, then least free vCPU, then lowest index).
  std::size_t best = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (free[i].cpus < vcpus || free[i].memory_mib < memory_mib) continue;
    if (best == n || free[i].memory_mib < free[best].memory_mib ||
        (free[i].memory_mib == free[best].memory_mib && free[i].cpus < free[best].cpus)) {
      best = i;
    }
  }
  if (best != n) {
    if (out != nullptr) out->push_back({best, vcpus, memory_mib});
    return true;
  }

  // Several cells: the smallest set that holds the VM; among those, the least free memory
  // (tightest), then the lowest mask. Exhaustive for up to 12 cells (4096 subsets, only for
  // VMs larger than any cell); greedy by free memory beyond.
  std::vector<FreeCell> chosen;
  if (n <= 12) {
    std::uint32_t best_mask = 0;
    int best_count = 0;
    std::int64_t best_mem = 0;
    for (std::uint32_t mask = 1; mask < (1u << n); ++mask) {
      int count = std::popcount(mask);
      if (best_mask != 0 && count > best_count) continue;
      std::int64_t cpu = 0, mem = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (mask & (1u << i)) {
          cpu += free[i].cpus;
          mem += free[i].memory_mib;
        }
      }
      if (cpu < vcpus || mem < memory_mib) continue;
      if (best_mask == 0 || count < best_count || (count == best_count && mem < best_mem)) {
        best_mask = mask;
        best_count = count;
        best_mem = mem;
      }
    }
    if (best_mask == 0) return false;
    for (std::size_t i = 0; i < n; ++i) {
      if (best_mask & (1u << i)) chosen.push_back(free[i]);
    }
  } else {
    std::vector<FreeCell> all(free, free + n);
    std::sort(all.begin(), all.end(), [](const FreeCell& a, const FreeCell& b) {
      return a.memory_mib != b.memory_mib ? a.memory_mib > b.memory_mib : a.cell < b.cell;
    });
    std::int64_t cpu = 0, mem = 0;
    for (const FreeCell& c : all) {
      if (cpu >= vcpus && mem >= memory_mib) break;
      chosen.push_back(c);
      cpu += c.cpus;
      mem += c.memory_mib;
    }
    if (cpu < vcpus || mem < memory_mib) return false;
  }
  if (out != nullptr) {
    std::sort(chosen.begin(), chosen.end(),
              [](const FreeCell& a, const FreeCell& b) { return a.cell < b.cell; });
    for (const FreeCell& c : chosen) out->push_back({c.cell, 0, 0});
    EvenSplit(chosen, vcpus, /*memory=*/false, out);
    EvenSplit(chosen, memory_mib, /*memory=*/true, out);
  }
  return true;
}

}  // namespace govpool::scheduler
