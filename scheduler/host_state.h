// Internal: the scheduler's per-host state and the per-request views that plugins read.
// Not part of the public API (the controller includes scheduler.h only). Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/scheduler.h"

namespace govpool::scheduler {

// floor(capacity x ratio) with exact integer arithmetic: the ratio is taken as a decimal with
// six fractional digits, so 1.15 x 100 is 115 (a plain double product gives 114.999...).
// Negative or NaN ratios and negative capacities count as 0.
std::int64_t ScaledLimit(std::int64_t capacity, double ratio);

struct CellState {
  std::int32_t id = 0;
  std::int64_t cpu_limit = 0;
  std::int64_t memory_limit = 0;
  std::int64_t cpu_used = 0;
  std::int64_t memory_used = 0;
};

// Extra per-cell use from earlier VMs of the same multi-VM request (scratch overlay).
struct CellExtra {
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
};

// Hot fields first: a placement touches the first two cache lines of each examined host.
struct HostState {
  std::uint32_t index = 0;  // slot in the scheduler's host table
  std::int32_t pool_id = -1;
  std::int32_t class_id = -1;  // hosts with equal pool, status, traits, dedicated departments
  Resources limit;  // ScaledLimit per dimension
  Resources used;
  std::int64_t instances = 0;
  std::int64_t max_instances = 0;  // copy of spec.max_instances
  std::uint64_t revision = 0;
  std::vector<CellState> cells;  // empty: one implicit cell = the whole host
  std::vector<std::int32_t> trait_ids;      // sorted, interned
  std::vector<std::int32_t> aggregate_ids;  // sorted, interned
  HostSpec spec;

  std::int64_t FreeMemory() const { return limit.memory_mib - used.memory_mib; }
};

// The request, pre-resolved once per Place() (names interned to ids) so filters compare ints.
struct RequestContext {
  const PlacementRequest* request = nullptr;
  // Resources the capacity filters demand. Usually request->per_vm; the first VM of a hard
  // affinity request without existing members demands room for all `count` VMs (they must
  // share its host).
  Resources demand;
  std::int64_t instances_demand = 1;
  std::int32_t pool_id = -1;             // -1: any pool; -2: a pool no host has
  std::vector<std::int32_t> allowed_pool_ids;  // sorted; meaningful when confined
  bool confined = false;
  std::vector<std::int32_t> required_trait_ids;  // sorted
  bool required_trait_unknown = false;           // no host has one of the required traits
  std::vector<std::int32_t> forbidden_trait_ids;
  std::vector<std::int32_t> required_aggregate_ids;
  bool required_aggregate_unknown = false;
  std::int64_t group_members_total = 0;  // existing + placed earlier in this request
};

// One host as a plugin sees it during one placement: committed state plus the scratch overlay.
struct HostView {
  const HostState* host = nullptr;
  Resources used;                // committed + overlay
  std::int64_t instances = 0;    // committed + overlay
  const std::vector<CellExtra>* cell_extra = nullptr;  // aligned with host->cells, or null
  std::int64_t group_members = 0;  // members of the request's server group on this host
};

// NUMA: cells chosen for one VM, as (index into HostState::cells, share).
struct CellShare {
  std::size_t cell = 0;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
};

// Plans where a VM of `vcpus`/`memory_mib` goes on `view`'s host: inside the single cell that
// fits most tightly, else split across the fewest cells (as evenly as their free room allows).
// Returns false when it does not fit. Hosts without cells always fit (the capacity filter
// checks totals). `out` may be null when only the answer is needed.
bool PlanNuma(const HostView& view, std::int64_t vcpus, std::int64_t memory_mib,
              std::vector<CellShare>* out);

}  // namespace govpool::scheduler
