// Internal: the scheduler's per-host state, the per-request scratch (CycleState) and the views
// that plugins read. Not part of the public API (the controller includes scheduler.h only).
// Thread-compatible.
//
// The engine owns the accounting ("the ledger"): per host the used vCPU/memory/disk, the
// instance count, the use of each NUMA cell and of each extended resource, applied from
// Assignments by Commit/Restore/Release and checked against the limits by Commit. Plugins own
// the policy: filters decide whether a host fits, reservers decide what a VM claims (and record
// it in its Assignment), scores rank. See plugin.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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

// One extended resource of a host (HostSpec::extended_capacity): limit and committed use.
struct ExtendedCounter {
  std::string name;
  std::int64_t limit = 0;
  std::int64_t used = 0;
};

// Hot fields first: a placement touches the first two cache lines of each examined host.
struct HostState {
  std::uint32_t index = 0;  // slot in the scheduler's host table
  std::int32_t pool_id = -1;
  std::int32_t class_id = -1;  // equal pool, status, traits, storage pools, dedicated departments
  Resources limit;  // ScaledLimit per dimension
  Resources used;
  std::int64_t instances = 0;
  std::int64_t max_instances = 0;  // copy of spec.max_instances
  std::uint64_t revision = 0;
  std::vector<CellState> cells;  // empty: one implicit cell = the whole host
  std::vector<std::int32_t> trait_ids;      // sorted, interned
  std::vector<std::int32_t> aggregate_ids;  // sorted, interned
  std::vector<ExtendedCounter> extended;    // sorted by name; usually empty
  std::vector<std::int32_t> storage_pool_ids;  // sorted, interned (part of the class)
  HostSpec spec;

  std::int64_t FreeMemory() const { return limit.memory_mib - used.memory_mib; }
  // Null when the host has no counter of that name (no capacity, nothing used).
  const ExtendedCounter* FindExtended(std::string_view name) const;
};

// The request, pre-resolved once per Place() (names interned to ids) so filters compare ints.
// Filters' PreFilter may adjust the per-VM fields before each VM's search.
struct RequestContext {
  const PlacementRequest* request = nullptr;
  // Per VM: how many VMs of the request must fit on the host chosen for this VM (counted
  // filters multiply the per-VM demand by it). 1, except for the first VM of a hard affinity
  // group without members, whose host must take them all (set by server_group's PreFilter).
  std::int64_t together = 1;
  // Per VM: the group's members, existing + placed earlier in this request (server_group's
  // PreFilter; 0 when that filter is off).
  std::int64_t group_members_total = 0;
  std::int32_t pool_id = -1;             // -1: any pool; -2: a pool no host has
  std::vector<std::int32_t> allowed_pool_ids;  // sorted; meaningful when confined
  bool confined = false;
  std::vector<std::int32_t> required_trait_ids;  // sorted
  bool required_trait_unknown = false;           // no host has one of the required traits
  std::vector<std::int32_t> forbidden_trait_ids;
  std::vector<std::int32_t> required_aggregate_ids;
  bool required_aggregate_unknown = false;
  std::int32_t storage_pool_id = -1;  // -1: no storage constraint; -2: a pool no host reaches
};

// What the VMs placed so far by one request claim on one host (Nova's consume_from_request).
struct HostDelta {
  const HostState* host = nullptr;
  std::uint32_t slot = 0;  // host->index
  Resources used;
  std::int64_t instances = 0;
  std::vector<CellExtra> cells;  // aligned with host->cells
  std::vector<std::pair<std::string, std::int64_t>> extended;  // name -> claimed; usually empty

  std::int64_t Extended(std::string_view name) const;
  void AddExtended(std::string_view name, std::int64_t amount);
};

// The scratch state of one Place() call (kube-scheduler's CycleState): each host's delta, and
// the server-group members per host (the request's existing members, resolved by the engine,
// plus the VMs placed so far, added by the server_group reserver). Reservers write it; the
// engine folds it into every HostView, so filters and scores see earlier VMs of the request.
// Place() discards it: nothing here is ever committed.
class CycleState {
 public:
  // The delta of `host`, created empty on first use. References stay valid until the next
  // Delta() call that creates one.
  HostDelta& Delta(const HostState& host);
  // The delta of the host in `slot`; null when the request has claimed nothing there.
  const HostDelta* FindDelta(std::uint32_t slot) const;
  HostDelta* FindDelta(std::uint32_t slot);
  // Hosts claimed on so far, in first-claim order.
  const std::vector<HostDelta>& deltas() const { return deltas_; }

  std::int64_t MembersOn(std::uint32_t slot) const;
  std::int64_t members_total() const { return members_total_; }
  // (slot, members) sorted by slot.
  const std::vector<std::pair<std::uint32_t, std::int64_t>>& members() const { return members_; }
  void AddMember(std::uint32_t slot);
  // A member on a host the scheduler does not know: counts in members_total() only.
  void AddMemberElsewhere() { ++members_total_; }
  // Undoes one AddMember(slot); no-op when the host has no member.
  void RemoveMember(std::uint32_t slot);

 private:
  std::vector<HostDelta> deltas_;
  std::vector<std::pair<std::uint32_t, std::int64_t>> members_;
  std::int64_t members_total_ = 0;
};

// One host as a plugin sees it during one placement: committed state plus the request's delta.
struct HostView {
  const HostState* host = nullptr;
  Resources used;                // committed + delta
  std::int64_t instances = 0;    // committed + delta
  const std::vector<CellExtra>* cell_extra = nullptr;  // aligned with host->cells, or null
  std::int64_t group_members = 0;  // members of the request's server group on this host
  const HostDelta* delta = nullptr;  // this request's claims on the host, or null

  // Extended resource `name` on this host: limit (0 when the host has none) and use (committed
  // + this request's claims).
  std::int64_t ExtendedLimit(std::string_view name) const;
  std::int64_t ExtendedUsed(std::string_view name) const;
};

// The view of `host` under `cycle` (what filters, scores and reservers are given).
HostView MakeView(const HostState& host, const CycleState& cycle);

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
