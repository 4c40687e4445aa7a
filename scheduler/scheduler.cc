// The scheduler engine: host table, free-capacity index, the phase pipeline (plugin.h) and the
// accounting ("ledger") behind Commit/Restore/Release. See scheduler.h for the contract and
// docs/scheduler.md for the design. The engine knows no plugin by name: it runs whatever the
// Config enables from the registry, and uses only what plugins declare through their hooks.
//
// Index: hosts are grouped into classes (equal pool, status flags, traits, storage pools and
// dedicated departments); each class keeps its hosts sorted by (free memory, host id). A placement
// judges each class once with the class-level filters and skips rejected classes wholesale; it
// then merges the surviving classes in free-memory order, starting at the first host with as
// much free memory as the filters' bounds ask (FilterPlugin::FreeMemoryBound; tightest first,
// or emptiest first when the scores lean that way), and stops after Config::max_candidates
// feasible hosts. Listed hosts (those the request already claimed on, and those filters or
// scores name) are always examined too. When nothing fits, a full pass rebuilds a complete
// explanation (whole classes counted at once where a class-level filter decides, hosts below
// the first host-level filter's bound counted from the index), so refusals always account for
// every host.
//
// Per VM: PreFilter, search (Filter + Score), then Reserve on the best host. A reserver that
// refuses excludes the host for this VM and the search runs again; a VM that finds no host
// fails the request, and every reservation of its earlier VMs is given back (Unreserve).
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "scheduler/host_state.h"
#include "scheduler/plugin.h"
#include "scheduler/registry.h"
#include "scheduler/scheduler.h"

namespace govpool::scheduler {
namespace {

constexpr std::int32_t kMaxCount = 10000;

struct IndexKey {
  std::int64_t free_memory;
  std::uint64_t id_prefix;  // first 8 bytes of the id, big-endian: most ties end here
  const std::string* id;
  std::uint32_t index;
};

// Orders like (free_memory, id) but compares ids as integers first (hosts with equal free
// memory are common: every empty host of a shape).
std::uint64_t IdPrefix(const std::string& id) {
  std::uint64_t p = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    p = (p << 8) | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
  }
  return p;
}

struct IndexLess {
  bool operator()(const IndexKey& a, const IndexKey& b) const {
    if (a.free_memory != b.free_memory) return a.free_memory < b.free_memory;
    if (a.id_prefix != b.id_prefix) return a.id_prefix < b.id_prefix;
    return *a.id < *b.id;
  }
};

using ClassIndex = std::set<IndexKey, IndexLess>;

struct ClassKey {
  std::int32_t pool_id = 0;
  std::uint8_t status = 0;  // bit 0 up, bit 1 enabled, bit 2 maintenance
  std::vector<std::int32_t> trait_ids;
  std::vector<std::int32_t> storage_pool_ids;
  std::vector<std::string> dedicated;  // sorted
  auto operator<=>(const ClassKey&) const = default;
};

// A class's hosts by free memory, plus a Fenwick tree of how many hosts fall in each 1 GiB
// free-memory bucket, so a refusal counts the hosts short of memory in O(log) instead of
// walking them.
struct HostClass {
  static constexpr std::int64_t kBuckets = 4096;  // 1 GiB each; the last one is open-ended
  ClassIndex index;
  std::vector<std::int64_t> fenwick = std::vector<std::int64_t>(kBuckets + 1, 0);

  static std::int64_t Bucket(std::int64_t free_mib) {
    return free_mib <= 0 ? 0 : std::min(free_mib >> 10, kBuckets - 1);
  }
  void Insert(const IndexKey& key) {
    index.insert(key);
    for (std::int64_t i = Bucket(key.free_memory) + 1; i <= kBuckets; i += i & -i) ++fenwick[i];
  }
  void Erase(const IndexKey& key) {
    index.erase(key);
    for (std::int64_t i = Bucket(key.free_memory) + 1; i <= kBuckets; i += i & -i) --fenwick[i];
  }
  // Hosts whose free memory is below `bound`.
  std::int64_t CountBelow(std::int64_t bound) const {
    static const std::string kLowestId;
    const std::int64_t b = Bucket(bound);
    std::int64_t n = 0;
    for (std::int64_t i = b; i > 0; i -= i & -i) n += fenwick[i];  // buckets [0, b)
    // Hosts in bound's own bucket but below it: walk them (few, the bucket is 1 GiB wide).
    const std::int64_t bucket_start =
        b == 0 ? std::numeric_limits<std::int64_t>::min() : b << 10;
    auto it = index.lower_bound({bucket_start, 0, &kLowestId, 0});
    for (; it != index.end() && it->free_memory < bound; ++it) ++n;
    return n;
  }
};

// One Place() call: the plugins' cycle state plus the engine's note of the hosts a reserver
// refused for the current VM (examined, blamed with the reserver's reason, never chosen).
struct Scratch {
  CycleState cycle;
  std::vector<std::pair<std::uint32_t, const char*>> excluded;

  const char* Excluded(std::uint32_t slot) const {
    for (const auto& [s, reason] : excluded) {
      if (s == slot) return reason;
    }
    return nullptr;
  }
};

// What the search for one VM uses, gathered from the filters' and scores' hooks.
struct VmPlan {
  // Hosts with less free memory cannot pass (the largest FilterPlugin::FreeMemoryBound).
  std::int64_t min_free = std::numeric_limits<std::int64_t>::min();
  // The first host-level filter's bound: hosts below it are counted, not visited, in ScanAll.
  std::optional<MemoryBound> bulk;
  // Examined before the index scan (or instead of it when only_listed): hosts the request
  // already claimed on, hosts filters' OnlyHosts or scores' Nominate name. Sorted, unique.
  std::vector<std::uint32_t> listed;
  bool only_listed = false;
};

// Rejection counts keyed by the filters' reason literals (pointer identity: cheap to bump).
struct Tally {
  std::vector<std::pair<const char*, std::int64_t>> counts;
  std::int64_t examined = 0;
  std::int64_t fit = 0;

  void Reject(const char* reason, std::int64_t hosts = 1) {
    for (auto& [r, n] : counts) {
      if (r == reason) {
        n += hosts;
        return;
      }
    }
    counts.emplace_back(reason, hosts);
  }
  Explanation ToExplanation(std::int64_t hosts_total, bool complete) const {
    Explanation ex;
    ex.hosts_total = hosts_total;
    ex.hosts_fit = fit;
    ex.hosts_examined = examined;
    ex.complete = complete;
    for (const auto& [r, n] : counts) ex.rejected[r] += n;
    return ex;
  }
};

struct Best {
  const HostState* host = nullptr;
  double score = 0;

  void Offer(const HostState* candidate, double s) {
    if (host == nullptr || s > score || (s == score && candidate->spec.id < host->spec.id)) {
      host = candidate;
      score = s;
    }
  }
};

Status ValidateResources(const Resources& r, std::string_view what) {
  if (r.vcpus < 0 || r.memory_mib < 0 || r.disk_gib < 0) {
    return InvalidArgument(std::string(what) + ": resources must not be negative");
  }
  return OkStatus();
}

Status ValidateExtended(const std::map<std::string, std::int64_t>& extended,
                        std::string_view what) {
  for (const auto& [name, amount] : extended) {
    if (amount < 0) {
      return InvalidArgument(std::string(what) + ": extended resource " + name +
                             " must not be negative");
    }
  }
  return OkStatus();
}

Status ValidateAssignment(const Assignment& a) {
  GP_RETURN_IF_ERROR(ValidateResources(a.resources, "assignment"));
  return a.extended.empty() ? OkStatus() : ValidateExtended(a.extended, "assignment");
}

// A filter of the configuration, with its class-level flag read once.
struct EnabledFilter {
  const FilterPlugin* plugin = nullptr;
  bool class_level = false;
};

class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(std::vector<std::unique_ptr<Plugin>> plugins, std::vector<EnabledFilter> filters,
                std::vector<std::pair<const ScorePlugin*, double>> scores,
                std::vector<const ReservePlugin*> reservers, std::int32_t max_candidates,
                bool descending)
      : plugins_(std::move(plugins)),
        filters_(std::move(filters)),
        scores_(std::move(scores)),
        reservers_(std::move(reservers)),
        max_candidates_(max_candidates),
        descending_(descending) {
    for (const EnabledFilter& f : filters_) {
      if (!f.class_level) host_filters_.push_back(f.plugin);
    }
  }

  void UpsertHost(const HostSpec& spec) override;
  Status RemoveHost(const std::string& host_id) override;
  Result<Placement> Place(const PlacementRequest& request) const override;
  Status Commit(const Placement& placement) override;
  Status Restore(const Assignment& assignment) override;
  Status Release(const Assignment& assignment) override;
  Result<Resources> Allocated(const std::string& host_id) const override;
  Result<HostUsage> Usage(const std::string& host_id) const override;
  std::int64_t HostCount() const override { return static_cast<std::int64_t>(by_id_.size()); }

 private:
  HostState* Find(const std::string& id) {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : hosts_[it->second].get();
  }
  const HostState* Find(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : hosts_[it->second].get();
  }

  std::int32_t Intern(std::unordered_map<std::string, std::int32_t>& table,
                      const std::string& name) {
    auto [it, inserted] = table.emplace(name, static_cast<std::int32_t>(table.size()));
    return it->second;
  }
  void Recompute(HostState& h);
  void Index(const HostState& h) {
    classes_[static_cast<std::size_t>(h.class_id)].Insert(
        {h.FreeMemory(), IdPrefix(h.spec.id), &h.spec.id, h.index});
  }
  void Unindex(const HostState& h) {
    classes_[static_cast<std::size_t>(h.class_id)].Erase(
        {h.FreeMemory(), IdPrefix(h.spec.id), &h.spec.id, h.index});
  }
  // Adds (sign +1) or removes (-1) an assignment's consumption; bumps the revision.
  void Apply(HostState& h, const Assignment& a, int sign);

  RequestContext Resolve(const PlacementRequest& request) const;
  // Asks every enabled filter for its sentence about a complete explanation (FilterPlugin::
  // Explain) and adds the non-empty ones to ex.notes.
  void AddNotes(const RequestContext& ctx, Explanation& ex) const {
    for (const EnabledFilter& f : filters_) {
      if (std::string note = f.plugin->Explain(ctx, ex); !note.empty()) {
        ex.notes.push_back(std::move(note));
      }
    }
  }
  // Runs the filters' PreFilter for the next VM and gathers their and the scores' hooks.
  VmPlan PlanVm(RequestContext& ctx, const CycleState& cycle) const;
  // Runs the filters (first failure is tallied) and, when the host fits, the scores.
  // `admitted`: the host's class already passed the class-level filters, skip them.
  bool Consider(const RequestContext& ctx, const HostState& h, const Scratch& scratch,
                Tally& tally, Best& best, bool admitted = false) const;
  // The class-level filters' verdict on a non-empty class: the reason it is rejected (null:
  // admitted) and whether the verdict is the first failure of every host in it (no
  // host-level filter runs before the rejecting one).
  struct ClassVerdict {
    const char* reason = nullptr;
    bool whole_class = false;
  };
  ClassVerdict JudgeClass(const RequestContext& ctx, const HostClass& c,
                          const Scratch& scratch) const;
  void ScanAll(const RequestContext& ctx, const VmPlan& plan, const Scratch& scratch,
               Tally& tally, Best& best) const;
  void ScanIndexed(const RequestContext& ctx, const VmPlan& plan, const Scratch& scratch,
                   Tally& tally, Best& best) const;
  // Runs every reserver for a VM on `host`. Null on success (the VM then counts as one more
  // instance there); else the refusing reserver's reason, after every reserver's Unreserve.
  const char* ReserveAll(const RequestContext& ctx, const HostState& host, CycleState& cycle,
                         Assignment& vm, Claim* claims) const;
  // Gives back every reservation of `vms` (last first); claims[i * reservers + j] is VM i's
  // claim of reserver j.
  void UnreserveAll(CycleState& cycle, const std::vector<Assignment>& vms, Claim* claims) const;

  std::vector<std::unique_ptr<Plugin>> plugins_;  // owns every phase's plugin
  std::vector<EnabledFilter> filters_;             // in evaluation order
  std::vector<std::pair<const ScorePlugin*, double>> scores_;  // weight != 0
  std::vector<const ReservePlugin*> reservers_;
  std::int32_t max_candidates_;
  bool descending_;
  std::vector<const FilterPlugin*> host_filters_;  // filters_ minus the class-level ones

  std::vector<std::unique_ptr<HostState>> hosts_;  // slot -> host; null slots are free
  std::vector<std::uint32_t> free_slots_;
  std::unordered_map<std::string, std::uint32_t> by_id_;
  std::unordered_map<std::string, std::int32_t> pool_ids_;
  std::unordered_map<std::string, std::int32_t> trait_ids_;
  std::unordered_map<std::string, std::int32_t> aggregate_ids_;
  std::unordered_map<std::string, std::int32_t> storage_pool_ids_;
  std::map<ClassKey, std::int32_t> class_ids_;
  std::vector<HostClass> classes_;  // class id -> its hosts by free memory
};

void SchedulerImpl::Recompute(HostState& h) {
  const HostSpec& s = h.spec;
  h.pool_id = Intern(pool_ids_, s.pool);
  h.max_instances = s.max_instances;
  h.limit = {ScaledLimit(s.capacity.vcpus, s.cpu_ratio),
             ScaledLimit(s.capacity.memory_mib, s.memory_ratio),
             ScaledLimit(s.capacity.disk_gib, s.disk_ratio)};
  // Keep the use of cells that survive (same id); use of vanished cells is forgotten.
  std::vector<CellState> cells;
  cells.reserve(s.numa_cells.size());
  for (const NumaCell& c : s.numa_cells) {
    CellState cs{c.id, ScaledLimit(c.cpus, s.cpu_ratio), ScaledLimit(c.memory_mib, s.memory_ratio),
                 0, 0};
    for (const CellState& old : h.cells) {
      if (old.id == c.id) {
        cs.cpu_used = old.cpu_used;
        cs.memory_used = old.memory_used;
      }
    }
    cells.push_back(cs);
  }
  h.cells = std::move(cells);
  // Extended resources: limits from the spec; use is kept, even of a name the spec no longer
  // lists (limit 0), so releasing what was committed there still balances.
  if (!s.extended_capacity.empty() || !h.extended.empty()) {
    std::vector<ExtendedCounter> extended;
    for (const auto& [name, capacity] : s.extended_capacity) {
      const ExtendedCounter* old = h.FindExtended(name);
      extended.push_back({name, std::max<std::int64_t>(0, capacity), old ? old->used : 0});
    }
    for (const ExtendedCounter& old : h.extended) {
      if (old.used != 0 && !s.extended_capacity.contains(old.name)) {
        extended.push_back({old.name, 0, old.used});
      }
    }
    std::sort(extended.begin(), extended.end(),
              [](const ExtendedCounter& a, const ExtendedCounter& b) { return a.name < b.name; });
    h.extended = std::move(extended);
  }
  h.trait_ids.clear();
  for (const std::string& t : s.traits) h.trait_ids.push_back(Intern(trait_ids_, t));
  std::sort(h.trait_ids.begin(), h.trait_ids.end());
  h.trait_ids.erase(std::unique(h.trait_ids.begin(), h.trait_ids.end()), h.trait_ids.end());
  h.aggregate_ids.clear();
  for (const std::string& a : s.aggregates) h.aggregate_ids.push_back(Intern(aggregate_ids_, a));
  std::sort(h.aggregate_ids.begin(), h.aggregate_ids.end());
  h.aggregate_ids.erase(std::unique(h.aggregate_ids.begin(), h.aggregate_ids.end()),
                        h.aggregate_ids.end());
  h.storage_pool_ids.clear();
  for (const std::string& p : s.storage_pools) {
    h.storage_pool_ids.push_back(Intern(storage_pool_ids_, p));
  }
  std::sort(h.storage_pool_ids.begin(), h.storage_pool_ids.end());
  h.storage_pool_ids.erase(std::unique(h.storage_pool_ids.begin(), h.storage_pool_ids.end()),
                           h.storage_pool_ids.end());
  ClassKey key;
  key.pool_id = h.pool_id;
  key.status = static_cast<std::uint8_t>((s.up ? 1 : 0) | (s.enabled ? 2 : 0) |
                                         (s.maintenance ? 4 : 0));
  key.trait_ids = h.trait_ids;
  key.storage_pool_ids = h.storage_pool_ids;
  key.dedicated = s.dedicated_departments;
  std::sort(key.dedicated.begin(), key.dedicated.end());
  auto [it, inserted] = class_ids_.emplace(std::move(key), static_cast<std::int32_t>(classes_.size()));
  if (inserted) classes_.emplace_back();
  h.class_id = it->second;
}

void SchedulerImpl::UpsertHost(const HostSpec& spec) {
  if (HostState* h = Find(spec.id)) {
    if (h->spec == spec) return;  // heartbeats with unchanged facts keep the revision
    Unindex(*h);
    h->spec = spec;
    Recompute(*h);
    ++h->revision;
    Index(*h);
    return;
  }
  auto h = std::make_unique<HostState>();
  h->spec = spec;
  if (!free_slots_.empty()) {
    h->index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    h->index = static_cast<std::uint32_t>(hosts_.size());
    hosts_.emplace_back();
  }
  Recompute(*h);
  h->revision = 1;
  Index(*h);
  by_id_[spec.id] = h->index;
  hosts_[h->index] = std::move(h);
}

Status SchedulerImpl::RemoveHost(const std::string& host_id) {
  HostState* h = Find(host_id);
  if (h == nullptr) return NotFound("host " + host_id + " not found");
  const bool extended_used = std::any_of(h->extended.begin(), h->extended.end(),
                                         [](const ExtendedCounter& c) { return c.used != 0; });
  if (h->instances > 0 || h->used != Resources{} || extended_used) {
    return FailedPrecondition("host " + host_id + " still holds " +
                              std::to_string(h->instances) + " allocations");
  }
  Unindex(*h);
  std::uint32_t slot = h->index;
  by_id_.erase(host_id);
  hosts_[slot].reset();
  free_slots_.push_back(slot);
  return OkStatus();
}

void SchedulerImpl::Apply(HostState& h, const Assignment& a, int sign) {
  Unindex(h);
  h.used.vcpus += sign * a.resources.vcpus;
  h.used.memory_mib += sign * a.resources.memory_mib;
  h.used.disk_gib += sign * a.resources.disk_gib;
  h.instances += sign;
  for (const auto& [cell_id, share] : a.numa) {
    for (CellState& c : h.cells) {
      if (c.id != cell_id) continue;
      c.cpu_used = std::max<std::int64_t>(0, c.cpu_used + sign * share.vcpus);
      c.memory_used = std::max<std::int64_t>(0, c.memory_used + sign * share.memory_mib);
    }
  }
  for (const auto& [name, amount] : a.extended) {
    auto it = std::lower_bound(h.extended.begin(), h.extended.end(), name,
                               [](const ExtendedCounter& c, const std::string& n) {
                                 return c.name < n;
                               });
    if (it == h.extended.end() || it->name != name) it = h.extended.insert(it, {name, 0, 0});
    it->used += sign * amount;
  }
  ++h.revision;
  Index(h);
}

RequestContext SchedulerImpl::Resolve(const PlacementRequest& r) const {
  RequestContext ctx;
  ctx.request = &r;
  if (!r.pool.empty()) {
    auto it = pool_ids_.find(r.pool);
    ctx.pool_id = it == pool_ids_.end() ? -2 : it->second;
  }
  ctx.confined = !r.allowed_pools.empty();
  for (const std::string& p : r.allowed_pools) {
    auto it = pool_ids_.find(p);
    if (it != pool_ids_.end()) ctx.allowed_pool_ids.push_back(it->second);
  }
  std::sort(ctx.allowed_pool_ids.begin(), ctx.allowed_pool_ids.end());
  auto resolve = [](const std::unordered_map<std::string, std::int32_t>& table,
                    const std::vector<std::string>& names, std::vector<std::int32_t>& out) {
    bool unknown = false;
    for (const std::string& n : names) {
      auto it = table.find(n);
      if (it == table.end()) {
        unknown = true;
      } else {
        out.push_back(it->second);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return unknown;
  };
  ctx.required_trait_unknown = resolve(trait_ids_, r.required_traits, ctx.required_trait_ids);
  // An unknown forbidden trait is on no host: nothing to exclude.
  (void)resolve(trait_ids_, r.forbidden_traits, ctx.forbidden_trait_ids);
  ctx.required_aggregate_unknown =
      resolve(aggregate_ids_, r.required_aggregates, ctx.required_aggregate_ids);
  if (!r.storage_pool.empty()) {
    auto it = storage_pool_ids_.find(r.storage_pool);
    ctx.storage_pool_id = it == storage_pool_ids_.end() ? -2 : it->second;
  }
  return ctx;
}

VmPlan SchedulerImpl::PlanVm(RequestContext& ctx, const CycleState& cycle) const {
  ctx.together = 1;
  for (const EnabledFilter& f : filters_) f.plugin->PreFilter(ctx, cycle);
  VmPlan plan;
  for (const HostDelta& d : cycle.deltas()) {
    if (d.instances > 0) plan.listed.push_back(d.slot);
  }
  for (const FilterPlugin* f : host_filters_) {
    if (std::optional<MemoryBound> bound = f->FreeMemoryBound(ctx)) {
      plan.min_free = std::max(plan.min_free, bound->min_free_mib);
      if (f == host_filters_.front()) plan.bulk = bound;
    }
    if (f->OnlyHosts(ctx, cycle, plan.listed)) plan.only_listed = true;
  }
  for (const auto& [score, weight] : scores_) score->Nominate(ctx, cycle, plan.listed);
  if (plan.listed.size() > 1) {
    std::sort(plan.listed.begin(), plan.listed.end());
    plan.listed.erase(std::unique(plan.listed.begin(), plan.listed.end()), plan.listed.end());
  }
  return plan;
}

bool SchedulerImpl::Consider(const RequestContext& ctx, const HostState& h,
                             const Scratch& scratch, Tally& tally, Best& best,
                             bool admitted) const {
  ++tally.examined;
  if (!scratch.excluded.empty()) {
    if (const char* reason = scratch.Excluded(h.index)) {
      tally.Reject(reason);
      return false;
    }
  }
  HostView view = MakeView(h, scratch.cycle);
  if (admitted) {
    for (const FilterPlugin* f : host_filters_) {
      if (const char* reason = f->Filter(ctx, view)) {
        tally.Reject(reason);
        return false;
      }
    }
  } else {
    for (const EnabledFilter& f : filters_) {
      if (const char* reason = f.plugin->Filter(ctx, view)) {
        tally.Reject(reason);
        return false;
      }
    }
  }
  ++tally.fit;
  double score = 0;
  for (const auto& [plugin, weight] : scores_) score += weight * plugin->Score(ctx, view);
  best.Offer(&h, score);
  return true;
}

SchedulerImpl::ClassVerdict SchedulerImpl::JudgeClass(const RequestContext& ctx,
                                                      const HostClass& c,
                                                      const Scratch& scratch) const {
  HostView view = MakeView(*hosts_[c.index.begin()->index], scratch.cycle);
  bool only_class_level_before = true;
  for (const EnabledFilter& f : filters_) {
    if (!f.class_level) {
      only_class_level_before = false;
      continue;
    }
    if (const char* reason = f.plugin->Filter(ctx, view)) return {reason, only_class_level_before};
  }
  return {};
}

void SchedulerImpl::ScanAll(const RequestContext& ctx, const VmPlan& plan, const Scratch& scratch,
                            Tally& tally, Best& best) const {
  for (const HostClass& c : classes_) {
    if (c.index.empty()) continue;
    ClassVerdict verdict = JudgeClass(ctx, c, scratch);
    if (verdict.reason != nullptr && verdict.whole_class) {
      const auto n = static_cast<std::int64_t>(c.index.size());
      tally.Reject(verdict.reason, n);
      tally.examined += n;
      continue;
    }
    const bool admitted = verdict.reason == nullptr;
    auto it = c.index.begin();
    if (admitted && plan.bulk) {
      // Hosts below the first host-level filter's bound fail it first; their keys say so.
      static const std::string kLowestId;
      const std::int64_t bound = plan.bulk->min_free_mib;
      auto first_roomy = c.index.lower_bound({bound, 0, &kLowestId, 0});
      const std::int64_t short_of_memory = c.CountBelow(bound);
      if (short_of_memory > 0) {
        tally.Reject(plan.bulk->reason, short_of_memory);
        tally.examined += short_of_memory;
      }
      it = first_roomy;
    }
    for (; it != c.index.end(); ++it) {
      Consider(ctx, *hosts_[it->index], scratch, tally, best, admitted);
    }
  }
}

namespace {

// Visits the union of several sorted class indexes in order (a k-way merge; k is the number
// of admitted classes, small), calling visit(key) until it returns false.
template <typename Iter, typename Before, typename Visit>
void MergeVisit(std::vector<std::pair<Iter, Iter>>& cursors, Before before, Visit visit) {
  while (true) {
    std::size_t pick = cursors.size();
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      if (cursors[i].first == cursors[i].second) continue;
      if (pick == cursors.size() || before(*cursors[i].first, *cursors[pick].first)) pick = i;
    }
    if (pick == cursors.size()) return;
    if (!visit(*cursors[pick].first)) return;
    ++cursors[pick].first;
  }
}

}  // namespace

void SchedulerImpl::ScanIndexed(const RequestContext& ctx, const VmPlan& plan,
                                const Scratch& scratch, Tally& tally, Best& best) const {
  // Listed hosts first: the ones the request already claimed on and the ones plugins name
  // (the best answers, wherever the free-memory order puts them).
  for (std::uint32_t slot : plan.listed) Consider(ctx, *hosts_[slot], scratch, tally, best);
  if (plan.only_listed) return;  // a filter admits no other host

  const std::int64_t min_free = plan.min_free;
  const std::vector<std::uint32_t>& seen = plan.listed;
  static const std::string kLowestId;
  std::int32_t found = 0;
  auto visit = [&](const IndexKey& key) {
    if (key.free_memory < min_free) return false;  // descending scans end here
    if (!seen.empty() && std::binary_search(seen.begin(), seen.end(), key.index)) return true;
    if (Consider(ctx, *hosts_[key.index], scratch, tally, best, /*admitted=*/true) &&
        ++found == max_candidates_) {
      return false;
    }
    return true;
  };
  const IndexLess less;
  if (!descending_) {
    std::vector<std::pair<ClassIndex::const_iterator, ClassIndex::const_iterator>> cursors;
    for (const HostClass& c : classes_) {
      if (c.index.empty() || JudgeClass(ctx, c, scratch).reason != nullptr) continue;
      cursors.emplace_back(c.index.lower_bound({min_free, 0, &kLowestId, 0}), c.index.end());
    }
    MergeVisit(cursors, less, visit);
  } else {
    std::vector<std::pair<ClassIndex::const_reverse_iterator, ClassIndex::const_reverse_iterator>>
        cursors;
    for (const HostClass& c : classes_) {
      if (c.index.empty() || JudgeClass(ctx, c, scratch).reason != nullptr) continue;
      cursors.emplace_back(c.index.rbegin(), c.index.rend());
    }
    MergeVisit(cursors, [&](const IndexKey& a, const IndexKey& b) { return less(b, a); }, visit);
  }
}

const char* SchedulerImpl::ReserveAll(const RequestContext& ctx, const HostState& host,
                                      CycleState& cycle, Assignment& vm, Claim* claims) const {
  const HostView view = MakeView(host, cycle);
  for (std::size_t k = 0; k < reservers_.size(); ++k) {
    if (const char* reason = reservers_[k]->Reserve(ctx, view, cycle, vm, claims[k])) {
      for (std::size_t j = reservers_.size(); j-- > 0;) {
        reservers_[j]->Unreserve(cycle, vm, claims[j]);
      }
      return reason;
    }
  }
  ++cycle.Delta(host).instances;
  return nullptr;
}

void SchedulerImpl::UnreserveAll(CycleState& cycle, const std::vector<Assignment>& vms,
                                 Claim* claims) const {
  const std::size_t r = reservers_.size();
  for (std::size_t i = vms.size(); i-- > 0;) {
    for (std::size_t j = r; j-- > 0;) reservers_[j]->Unreserve(cycle, vms[i], claims[i * r + j]);
    if (HostDelta* d = cycle.FindDelta(by_id_.at(vms[i].host_id))) --d->instances;
  }
}

Result<Placement> SchedulerImpl::Place(const PlacementRequest& request) const {
  if (request.count < 1 || request.count > kMaxCount) {
    return InvalidArgument("count must be between 1 and " + std::to_string(kMaxCount));
  }
  GP_RETURN_IF_ERROR(ValidateResources(request.per_vm, "per_vm"));
  if (!request.extended_per_vm.empty()) {
    GP_RETURN_IF_ERROR(ValidateExtended(request.extended_per_vm, "extended_per_vm"));
  }

  RequestContext ctx = Resolve(request);
  Scratch scratch;
  for (const std::string& id : request.group_member_hosts) {
    auto it = by_id_.find(id);
    if (it != by_id_.end()) {
      scratch.cycle.AddMember(it->second);
    } else {
      scratch.cycle.AddMemberElsewhere();  // a member on a host we no longer know still counts
    }
  }

  Placement placement;
  placement.assignments.reserve(static_cast<std::size_t>(request.count));
  // One claim per (VM, reserver); small requests keep them on the stack.
  const std::size_t claim_count = static_cast<std::size_t>(request.count) * reservers_.size();
  Claim inline_claims[16];
  std::vector<Claim> heap_claims;
  Claim* claims = inline_claims;
  if (claim_count > std::size(inline_claims)) {
    heap_claims.resize(claim_count);
    claims = heap_claims.data();
  }
  for (std::int32_t i = 0; i < request.count; ++i) {
    const VmPlan plan = PlanVm(ctx, scratch.cycle);
    scratch.excluded.clear();
    while (true) {
      Tally tally;
      Best best;
      bool complete = request.explain;
      if (request.explain) {
        ScanAll(ctx, plan, scratch, tally, best);
      } else {
        ScanIndexed(ctx, plan, scratch, tally, best);
      }
      if (best.host == nullptr) {
        if (!complete) {  // recount over every host so the refusal explains itself fully
          tally = Tally();
          ScanAll(ctx, plan, scratch, tally, best);
        }
        UnreserveAll(scratch.cycle, placement.assignments, claims);  // all or nothing
        Explanation ex = tally.ToExplanation(HostCount(), /*complete=*/true);
        AddNotes(ctx, ex);
        std::string message = ex.Summary();
        if (request.count > 1) {
          message += " (VM " + std::to_string(i + 1) + " of " + std::to_string(request.count) +
                     "; all or nothing, none placed)";
        }
        return ResourceExhausted(std::move(message))
            .WithReason("NO_VALID_HOST")
            .WithDetail("hosts_total", ex.hosts_total)
            .WithDetail("rejected", ex.rejected)
            .WithDetail("vms_requested", static_cast<std::int64_t>(request.count))
            .WithDetail("vms_fit", static_cast<std::int64_t>(i));
      }
      const HostState& host = *best.host;
      Assignment a;
      a.host_id = host.spec.id;
      Claim* vm_claims = claims + static_cast<std::size_t>(i) * reservers_.size();
      if (const char* refused = ReserveAll(ctx, host, scratch.cycle, a, vm_claims)) {
        scratch.excluded.emplace_back(host.index, refused);  // search again without it
        continue;
      }
      if (i == 0) {
        placement.explanation = tally.ToExplanation(HostCount(), complete);
        if (complete) AddNotes(ctx, placement.explanation);
      }
      placement.assignments.push_back(std::move(a));
      break;
    }
  }
  for (const HostDelta& d : scratch.cycle.deltas()) {
    if (d.instances > 0) placement.observed_revisions.emplace_back(d.host->spec.id, d.host->revision);
  }
  return placement;
}

namespace {

// What a placement adds to one host, summed over its assignments there.
struct HostAdd {
  HostState* host = nullptr;
  Resources resources;
  std::int64_t instances = 0;
  std::vector<std::pair<std::int32_t, Resources>> cells;         // cell id -> added
  std::vector<std::pair<std::string, std::int64_t>> extended;    // name -> added
};

template <typename K, typename V>
V& Slot(std::vector<std::pair<K, V>>& items, const K& key) {
  for (auto& [k, v] : items) {
    if (k == key) return v;
  }
  return items.emplace_back(key, V{}).second;
}

// True when adding `more` to `used` passes `limit` (adding nothing never does).
bool Over(std::int64_t used, std::int64_t more, std::int64_t limit) {
  return more > 0 && used + more > limit;
}

// Whether `add` fits the limits of every dimension of its host's ledger.
bool Fits(const HostAdd& add) {
  const HostState& h = *add.host;
  const Resources& r = add.resources;
  if (Over(h.used.vcpus, r.vcpus, h.limit.vcpus) ||
      Over(h.used.memory_mib, r.memory_mib, h.limit.memory_mib) ||
      Over(h.used.disk_gib, r.disk_gib, h.limit.disk_gib)) {
    return false;
  }
  if (h.max_instances > 0 && h.instances + add.instances > h.max_instances) return false;
  for (const auto& [cell_id, share] : add.cells) {
    for (const CellState& c : h.cells) {
      if (c.id == cell_id && (Over(c.cpu_used, share.vcpus, c.cpu_limit) ||
                              Over(c.memory_used, share.memory_mib, c.memory_limit))) {
        return false;
      }
    }
  }
  for (const auto& [name, amount] : add.extended) {
    const ExtendedCounter* c = h.FindExtended(name);
    if (Over(c == nullptr ? 0 : c->used, amount, c == nullptr ? 0 : c->limit)) return false;
  }
  return true;
}

}  // namespace

Status SchedulerImpl::Commit(const Placement& placement) {
  for (const auto& [id, revision] : placement.observed_revisions) {
    const HostState* h = Find(id);
    if (h == nullptr) return NotFound("host " + id + " not found");
    if (h->revision != revision) {
      return Conflict("host " + id + " changed since placement (revision " +
                      std::to_string(revision) + " -> " + std::to_string(h->revision) + ")");
    }
  }
  // Re-check every limit with everything the placement adds, so a stale or foreign placement
  // can never push a host past capacity x ratio, even if revisions happened to match.
  std::vector<HostAdd> adds;
  for (const Assignment& a : placement.assignments) {
    GP_RETURN_IF_ERROR(ValidateAssignment(a));
    HostState* h = Find(a.host_id);
    if (h == nullptr) return NotFound("host " + a.host_id + " not found");
    auto it = std::find_if(adds.begin(), adds.end(), [h](const HostAdd& x) { return x.host == h; });
    HostAdd& add = it != adds.end() ? *it : adds.emplace_back();
    add.host = h;
    add.resources.vcpus += a.resources.vcpus;
    add.resources.memory_mib += a.resources.memory_mib;
    add.resources.disk_gib += a.resources.disk_gib;
    ++add.instances;
    for (const auto& [cell_id, share] : a.numa) {
      Resources& cell = Slot(add.cells, cell_id);
      cell.vcpus += share.vcpus;
      cell.memory_mib += share.memory_mib;
    }
    for (const auto& [name, amount] : a.extended) Slot(add.extended, name) += amount;
  }
  for (const HostAdd& add : adds) {
    if (!Fits(add)) {
      return Conflict("host " + add.host->spec.id + " no longer has room for the placement");
    }
  }
  for (const Assignment& a : placement.assignments) Apply(*Find(a.host_id), a, +1);
  return OkStatus();
}

Status SchedulerImpl::Restore(const Assignment& assignment) {
  GP_RETURN_IF_ERROR(ValidateAssignment(assignment));
  HostState* h = Find(assignment.host_id);
  if (h == nullptr) return NotFound("host " + assignment.host_id + " not found");
  // No capacity check: durable state wins (a host may be over capacity after its ratios were
  // lowered; it then simply takes no new VMs).
  Apply(*h, assignment, +1);
  return OkStatus();
}

Status SchedulerImpl::Release(const Assignment& assignment) {
  GP_RETURN_IF_ERROR(ValidateAssignment(assignment));
  HostState* h = Find(assignment.host_id);
  if (h == nullptr) return NotFound("host " + assignment.host_id + " not found");
  const Resources& r = assignment.resources;
  bool more_than_held = h->instances < 1 || h->used.vcpus < r.vcpus ||
                        h->used.memory_mib < r.memory_mib || h->used.disk_gib < r.disk_gib;
  for (const auto& [name, amount] : assignment.extended) {
    const ExtendedCounter* c = h->FindExtended(name);
    if ((c == nullptr ? 0 : c->used) < amount) more_than_held = true;
  }
  if (more_than_held) {
    return FailedPrecondition("release of more than host " + assignment.host_id +
                              " holds (released twice?)");
  }
  Apply(*h, assignment, -1);
  return OkStatus();
}

Result<Resources> SchedulerImpl::Allocated(const std::string& host_id) const {
  const HostState* h = Find(host_id);
  if (h == nullptr) return NotFound("host " + host_id + " not found");
  return h->used;
}

Result<HostUsage> SchedulerImpl::Usage(const std::string& host_id) const {
  const HostState* h = Find(host_id);
  if (h == nullptr) return NotFound("host " + host_id + " not found");
  HostUsage u;
  u.used = h->used;
  u.limit = h->limit;
  u.instances = h->instances;
  u.revision = h->revision;
  for (const CellState& c : h->cells) {
    u.numa_used.push_back({c.id, Resources{c.cpu_used, c.memory_used, 0}});
  }
  for (const ExtendedCounter& c : h->extended) {
    u.extended_used[c.name] = c.used;
    u.extended_limit[c.name] = c.limit;
  }
  return u;
}

// The names a phase runs, in order: the configured list, or every registered plugin that
// implements the phase. InvalidArgument for unknown names, duplicates and plugins that do not
// implement the phase.
template <typename Phase>
Result<std::vector<const Phase*>> Enabled(
    const std::vector<std::pair<std::string, std::unique_ptr<Plugin>>>& plugins,
    const std::vector<std::string>& configured, const char* phase) {
  std::vector<const Phase*> out;
  if (configured.empty()) {
    for (const auto& [name, plugin] : plugins) {
      if (const auto* p = dynamic_cast<const Phase*>(plugin.get())) out.push_back(p);
    }
    return out;
  }
  for (std::size_t i = 0; i < configured.size(); ++i) {
    const std::string& name = configured[i];
    if (std::find(configured.begin(), configured.begin() + static_cast<std::ptrdiff_t>(i), name) !=
        configured.begin() + static_cast<std::ptrdiff_t>(i)) {
      return InvalidArgument(std::string(phase) + " " + name + " listed twice");
    }
    auto it = std::find_if(plugins.begin(), plugins.end(),
                           [&](const auto& p) { return p.first == name; });
    if (it == plugins.end()) return InvalidArgument("unknown scheduler " + std::string(phase) + ": " + name);
    const auto* p = dynamic_cast<const Phase*>(it->second.get());
    if (p == nullptr) {
      return InvalidArgument("scheduler plugin " + name + " is not a " + std::string(phase));
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> CreateScheduler(const Config& config, const Registry& registry) {
  // One instance of every registered plugin; the phases take what the configuration enables.
  std::vector<std::pair<std::string, std::unique_ptr<Plugin>>> plugins;
  for (const std::string& name : registry.Names()) {
    std::unique_ptr<Plugin> plugin = registry.New(name);
    if (plugin == nullptr || plugin->Name() != name) {
      return InvalidArgument("scheduler plugin registered as " + name + " names itself " +
                             (plugin ? std::string(plugin->Name()) : std::string("nothing")));
    }
    plugins.emplace_back(name, std::move(plugin));
  }

  GP_ASSIGN_OR_RETURN(std::vector<const FilterPlugin*> filter_plugins,
                      Enabled<FilterPlugin>(plugins, config.filters, "filter"));
  std::vector<EnabledFilter> filters;
  for (const FilterPlugin* f : filter_plugins) filters.push_back({f, f->ClassLevel()});

  // Scores in name order (the order of the weighted sum), each plugin's default weight
  // applying when the configuration does not list it.
  std::map<std::string, double> weights = config.score_weights;
  for (const auto& [name, plugin] : plugins) {
    if (const auto* s = dynamic_cast<const ScorePlugin*>(plugin.get())) {
      if (s->DefaultWeight() != 0) weights.emplace(name, s->DefaultWeight());
    }
  }
  std::vector<std::pair<const ScorePlugin*, double>> scores;
  double lean = 0;
  for (const auto& [name, weight] : weights) {
    GP_ASSIGN_OR_RETURN(std::vector<const ScorePlugin*> s,
                        Enabled<ScorePlugin>(plugins, {name}, "score"));
    if (!std::isfinite(weight)) return InvalidArgument("score weight of " + name + " not finite");
    if (weight == 0) continue;
    scores.emplace_back(s.front(), weight);
    lean += weight * s.front()->FreeMemoryLean();
  }

  GP_ASSIGN_OR_RETURN(std::vector<const ReservePlugin*> reservers,
                      Enabled<ReservePlugin>(plugins, config.reservers, "reserver"));
  if (config.max_candidates < 0) return InvalidArgument("max_candidates must be >= 0");

  std::vector<std::unique_ptr<Plugin>> owned;
  for (auto& [name, plugin] : plugins) owned.push_back(std::move(plugin));
  return std::unique_ptr<Scheduler>(std::make_unique<SchedulerImpl>(
      std::move(owned), std::move(filters), std::move(scores), std::move(reservers),
      config.max_candidates, /*descending=*/lean < 0));
}

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Config& config) {
  return CreateScheduler(config, Registry::Builtin());
}

}  // namespace govpool::scheduler
