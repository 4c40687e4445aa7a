// The scheduler engine: host table, free-capacity index, the filter/score pipeline and the
// allocation accounting behind Commit/Restore/Release. See scheduler.h for the contract and
// docs/scheduler.md for the design.
//
// Index: hosts are grouped into classes (equal pool, status flags, traits and dedicated
// departments); each class keeps its hosts sorted by (free memory, host id). A placement
// judges each class once with the class-level filters (status, pool, department, traits) and
// skips rejected classes wholesale; it then merges the surviving classes in free-memory order,
// starting at the first host with enough free memory (binpack: ascending, tightest first;
// spread: descending), and stops after Config::max_candidates feasible hosts. Explicit
// candidates (hosts used earlier in the same request, and server-group member hosts) are
// always examined too. When nothing fits, a full pass rebuilds a complete explanation
// (whole classes counted at once where a class-level filter decides), so refusals always
// account for every host.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include "scheduler/host_state.h"
#include "scheduler/plugin.h"
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

// The scratch overlay of one multi-VM request: what earlier VMs of the request consume.
struct OverlayEntry {
  std::uint32_t host = 0;
  Resources used;
  std::int64_t instances = 0;
  std::vector<CellExtra> cells;
};

struct Scratch {
  std::vector<OverlayEntry> overlay;
  // Server-group members per host slot, sorted by slot.
  std::vector<std::pair<std::uint32_t, std::int64_t>> members;
  std::int64_t members_total = 0;

  const OverlayEntry* FindOverlay(std::uint32_t host) const {
    for (const OverlayEntry& e : overlay) {
      if (e.host == host) return &e;
    }
    return nullptr;
  }
  std::int64_t MembersOn(std::uint32_t host) const {
    if (members.empty()) return 0;
    auto it = std::lower_bound(members.begin(), members.end(), host,
                               [](const auto& m, std::uint32_t h) { return m.first < h; });
    return it != members.end() && it->first == host ? it->second : 0;
  }
  void AddMember(std::uint32_t host) {
    auto it = std::lower_bound(members.begin(), members.end(), host,
                               [](const auto& m, std::uint32_t h) { return m.first < h; });
    if (it != members.end() && it->first == host) {
      ++it->second;
    } else {
      members.insert(it, {host, 1});
    }
    ++members_total;
  }
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

class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(std::vector<std::unique_ptr<FilterPlugin>> filters,
                std::vector<std::pair<std::unique_ptr<ScorePlugin>, double>> scores,
                std::int32_t max_candidates, bool descending)
      : filters_(std::move(filters)),
        scores_(std::move(scores)),
        max_candidates_(max_candidates),
        descending_(descending) {
    for (const auto& f : filters_) {
      std::string_view n = f->Name();
      if (n == "pool") pool_filter_ = true;
      if (n == "department") department_filter_ = true;
      if (n == "capacity") capacity_filter_ = true;
      if (n == "server_group") server_group_filter_ = true;
      if (n == "numa") numa_filter_ = true;
      if (!f->ClassLevel()) host_filters_.push_back(f.get());
    }
    // Refusals count the hosts of an admitted class that lack free memory without visiting
    // them when capacity is the first host-level filter (it checks memory first).
    capacity_first_ = !host_filters_.empty() && host_filters_.front()->Name() == "capacity";
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
  HostView MakeView(const HostState& h, const Scratch& scratch) const;
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
  void ScanAll(const RequestContext& ctx, const Scratch& scratch, Tally& tally,
               Best& best) const;
  void ScanIndexed(const RequestContext& ctx, const Scratch& scratch, Tally& tally,
                   Best& best) const;

  std::vector<std::unique_ptr<FilterPlugin>> filters_;
  std::vector<std::pair<std::unique_ptr<ScorePlugin>, double>> scores_;
  std::int32_t max_candidates_;
  bool descending_;
  bool pool_filter_ = false;
  bool department_filter_ = false;
  bool capacity_filter_ = false;
  bool server_group_filter_ = false;
  bool numa_filter_ = false;
  bool capacity_first_ = false;
  std::vector<const FilterPlugin*> host_filters_;  // filters_ minus the class-level ones

  std::vector<std::unique_ptr<HostState>> hosts_;  // slot -> host; null slots are free
  std::vector<std::uint32_t> free_slots_;
  std::unordered_map<std::string, std::uint32_t> by_id_;
  std::unordered_map<std::string, std::int32_t> pool_ids_;
  std::unordered_map<std::string, std::int32_t> trait_ids_;
  std::unordered_map<std::string, std::int32_t> aggregate_ids_;
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
  h.trait_ids.clear();
  for (const std::string& t : s.traits) h.trait_ids.push_back(Intern(trait_ids_, t));
  std::sort(h.trait_ids.begin(), h.trait_ids.end());
  h.trait_ids.erase(std::unique(h.trait_ids.begin(), h.trait_ids.end()), h.trait_ids.end());
  h.aggregate_ids.clear();
  for (const std::string& a : s.aggregates) h.aggregate_ids.push_back(Intern(aggregate_ids_, a));
  std::sort(h.aggregate_ids.begin(), h.aggregate_ids.end());
  h.aggregate_ids.erase(std::unique(h.aggregate_ids.begin(), h.aggregate_ids.end()),
                        h.aggregate_ids.end());
  ClassKey key;
  key.pool_id = h.pool_id;
  key.status = static_cast<std::uint8_t>((s.up ? 1 : 0) | (s.enabled ? 2 : 0) |
                                         (s.maintenance ? 4 : 0));
  key.trait_ids = h.trait_ids;
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
  if (h->instances > 0 || h->used != Resources{}) {
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
  ++h.revision;
  Index(h);
}

RequestContext SchedulerImpl::Resolve(const PlacementRequest& r) const {
  RequestContext ctx;
  ctx.request = &r;
  ctx.demand = r.per_vm;
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
  return ctx;
}

HostView SchedulerImpl::MakeView(const HostState& h, const Scratch& scratch) const {
  HostView v;
  v.host = &h;
  v.used = h.used;
  v.instances = h.instances;
  if (const OverlayEntry* e = scratch.FindOverlay(h.index)) {
    v.used.vcpus += e->used.vcpus;
    v.used.memory_mib += e->used.memory_mib;
    v.used.disk_gib += e->used.disk_gib;
    v.instances += e->instances;
    if (!e->cells.empty()) v.cell_extra = &e->cells;
  }
  v.group_members = scratch.MembersOn(h.index);
  return v;
}

bool SchedulerImpl::Consider(const RequestContext& ctx, const HostState& h,
                             const Scratch& scratch, Tally& tally, Best& best,
                             bool admitted) const {
  HostView view = MakeView(h, scratch);
  ++tally.examined;
  if (admitted) {
    for (const FilterPlugin* f : host_filters_) {
      if (const char* reason = f->Filter(ctx, view)) {
        tally.Reject(reason);
        return false;
      }
    }
  } else {
    for (const auto& f : filters_) {
      if (const char* reason = f->Filter(ctx, view)) {
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
  HostView view = MakeView(*hosts_[c.index.begin()->index], scratch);
  bool only_class_level_before = true;
  for (const auto& f : filters_) {
    if (!f->ClassLevel()) {
      only_class_level_before = false;
      continue;
    }
    if (const char* reason = f->Filter(ctx, view)) return {reason, only_class_level_before};
  }
  return {};
}

void SchedulerImpl::ScanAll(const RequestContext& ctx, const Scratch& scratch, Tally& tally,
                            Best& best) const {
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
    if (admitted && capacity_first_) {
      // Hosts below the request's memory fail capacity first; their index keys say so.
      static const std::string kLowestId;
      auto first_roomy = c.index.lower_bound({ctx.demand.memory_mib, 0, &kLowestId, 0});
      const std::int64_t short_of_memory = c.CountBelow(ctx.demand.memory_mib);
      if (short_of_memory > 0) {
        tally.Reject("insufficient_memory", short_of_memory);
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

void SchedulerImpl::ScanIndexed(const RequestContext& ctx, const Scratch& scratch,
                                Tally& tally, Best& best) const {
  // Explicit candidates first: hosts the request already uses and, for affinity, the group
  // members' hosts (the best answers, wherever the free-memory order puts them). Anti-affinity
  // members are not added: they can only lose, and large groups would cost O(members).
  std::vector<std::uint32_t> seen;
  for (const OverlayEntry& e : scratch.overlay) seen.push_back(e.host);
  if (ctx.request->group_policy == GroupPolicy::kAffinity) {
    for (const auto& [slot, n] : scratch.members) seen.push_back(slot);
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (std::uint32_t slot : seen) Consider(ctx, *hosts_[slot], scratch, tally, best);

  // Hard affinity with members: only members' hosts qualify, all already examined.
  if (server_group_filter_ && ctx.request->group_hard &&
      ctx.request->group_policy == GroupPolicy::kAffinity && ctx.group_members_total > 0) {
    return;
  }

  const std::int64_t min_free =
      capacity_filter_ ? ctx.demand.memory_mib : std::numeric_limits<std::int64_t>::min();
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

Result<Placement> SchedulerImpl::Place(const PlacementRequest& request) const {
  if (request.count < 1 || request.count > kMaxCount) {
    return InvalidArgument("count must be between 1 and " + std::to_string(kMaxCount));
  }
  GP_RETURN_IF_ERROR(ValidateResources(request.per_vm, "per_vm"));

  RequestContext ctx = Resolve(request);
  Scratch scratch;
  if (request.group_policy != GroupPolicy::kNone) {
    for (const std::string& id : request.group_member_hosts) {
      auto it = by_id_.find(id);
      if (it != by_id_.end()) {
        scratch.AddMember(it->second);
      } else {
        ++scratch.members_total;  // a member on a host we no longer know still counts
      }
    }
  }
  const bool hard_affinity =
      request.group_hard && request.group_policy == GroupPolicy::kAffinity && server_group_filter_;

  Placement placement;
  placement.assignments.reserve(static_cast<std::size_t>(request.count));
  std::vector<CellShare> shares;
  for (std::int32_t i = 0; i < request.count; ++i) {
    ctx.group_members_total = scratch.members_total;
    // The first VM of a hard-affinity group fixes the host for all of them.
    const std::int64_t together = hard_affinity && scratch.members_total == 0 ? request.count : 1;
    ctx.demand = {request.per_vm.vcpus * together, request.per_vm.memory_mib * together,
                  request.per_vm.disk_gib * together};
    ctx.instances_demand = together;

    Tally tally;
    Best best;
    bool complete = request.explain;
    if (request.explain) {
      ScanAll(ctx, scratch, tally, best);
    } else {
      ScanIndexed(ctx, scratch, tally, best);
    }
    if (best.host == nullptr) {
      if (!complete) {  // recount over every host so the refusal explains itself fully
        tally = Tally();
        ScanAll(ctx, scratch, tally, best);
      }
      Explanation ex = tally.ToExplanation(HostCount(), /*complete=*/true);
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
    if (i == 0) placement.explanation = tally.ToExplanation(HostCount(), complete);

    // Reserve in the scratch overlay so the next VM sees this one.
    const HostState& host = *best.host;
    Assignment a;
    a.host_id = host.spec.id;
    a.resources = request.per_vm;
    OverlayEntry* entry = nullptr;
    for (OverlayEntry& e : scratch.overlay) {
      if (e.host == host.index) entry = &e;
    }
    if (entry == nullptr) {
      scratch.overlay.push_back({host.index, {}, 0, {}});
      entry = &scratch.overlay.back();
      entry->cells.resize(host.cells.size());
    }
    if (numa_filter_ && !host.cells.empty()) {
      HostView view = MakeView(host, scratch);
      if (PlanNuma(view, request.per_vm.vcpus, request.per_vm.memory_mib, &shares)) {
        for (const CellShare& s : shares) {
          a.numa.push_back({host.cells[s.cell].id, Resources{s.cpus, s.memory_mib, 0}});
          entry->cells[s.cell].cpus += s.cpus;
          entry->cells[s.cell].memory_mib += s.memory_mib;
        }
      }
    }
    entry->used.vcpus += request.per_vm.vcpus;
    entry->used.memory_mib += request.per_vm.memory_mib;
    entry->used.disk_gib += request.per_vm.disk_gib;
    ++entry->instances;
    if (request.group_policy != GroupPolicy::kNone) scratch.AddMember(host.index);
    placement.assignments.push_back(std::move(a));
  }
  for (const OverlayEntry& e : scratch.overlay) {
    placement.observed_revisions.emplace_back(hosts_[e.host]->spec.id, hosts_[e.host]->revision);
  }
  return placement;
}

Status SchedulerImpl::Commit(const Placement& placement) {
  for (const auto& [id, revision] : placement.observed_revisions) {
    const HostState* h = Find(id);
    if (h == nullptr) return NotFound("host " + id + " not found");
    if (h->revision != revision) {
      return Conflict("host " + id + " changed since placement (revision " +
                      std::to_string(revision) + " -> " + std::to_string(h->revision) + ")");
    }
  }
  // Re-check capacity with everything the placement adds, so a stale or foreign placement can
  // never push a host past capacity x ratio, even if revisions happened to match.
  std::vector<std::pair<HostState*, Resources>> adds;
  std::vector<std::int64_t> add_instances;
  for (const Assignment& a : placement.assignments) {
    GP_RETURN_IF_ERROR(ValidateResources(a.resources, "assignment"));
    HostState* h = Find(a.host_id);
    if (h == nullptr) return NotFound("host " + a.host_id + " not found");
    std::size_t k = 0;
    while (k < adds.size() && adds[k].first != h) ++k;
    if (k == adds.size()) {
      adds.push_back({h, {}});
      add_instances.push_back(0);
    }
    adds[k].second.vcpus += a.resources.vcpus;
    adds[k].second.memory_mib += a.resources.memory_mib;
    adds[k].second.disk_gib += a.resources.disk_gib;
    ++add_instances[k];
  }
  for (std::size_t k = 0; k < adds.size(); ++k) {
    const HostState& h = *adds[k].first;
    const Resources& add = adds[k].second;
    auto over = [](std::int64_t used, std::int64_t more, std::int64_t limit) {
      return more > 0 && used + more > limit;
    };
    if (over(h.used.vcpus, add.vcpus, h.limit.vcpus) ||
        over(h.used.memory_mib, add.memory_mib, h.limit.memory_mib) ||
        over(h.used.disk_gib, add.disk_gib, h.limit.disk_gib) ||
        (h.spec.max_instances > 0 && h.instances + add_instances[k] > h.spec.max_instances)) {
      return Conflict("host " + h.spec.id + " no longer has room for the placement");
    }
  }
  for (const Assignment& a : placement.assignments) Apply(*Find(a.host_id), a, +1);
  return OkStatus();
}

Status SchedulerImpl::Restore(const Assignment& assignment) {
  GP_RETURN_IF_ERROR(ValidateResources(assignment.resources, "assignment"));
  HostState* h = Find(assignment.host_id);
  if (h == nullptr) return NotFound("host " + assignment.host_id + " not found");
  // No capacity check: durable state wins (a host may be over capacity after its ratios were
  // lowered; it then simply takes no new VMs).
  Apply(*h, assignment, +1);
  return OkStatus();
}

Status SchedulerImpl::Release(const Assignment& assignment) {
  GP_RETURN_IF_ERROR(ValidateResources(assignment.resources, "assignment"));
  HostState* h = Find(assignment.host_id);
  if (h == nullptr) return NotFound("host " + assignment.host_id + " not found");
  const Resources& r = assignment.resources;
  if (h->instances < 1 || h->used.vcpus < r.vcpus || h->used.memory_mib < r.memory_mib ||
      h->used.disk_gib < r.disk_gib) {
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
  return u;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Config& config) {
  std::vector<std::unique_ptr<FilterPlugin>> filters;
  const std::vector<std::string>& names =
      config.filters.empty() ? BuiltinFilterNames() : config.filters;
  for (const std::string& name : names) {
    for (const auto& f : filters) {
      if (f->Name() == name) return InvalidArgument("filter " + name + " listed twice");
    }
    auto f = NewFilter(name);
    if (f == nullptr) return InvalidArgument("unknown scheduler filter: " + name);
    filters.push_back(std::move(f));
  }
  std::map<std::string, double> weights = config.score_weights;
  weights.emplace("soft_affinity", kDefaultSoftGroupWeight);
  weights.emplace("soft_anti_affinity", kDefaultSoftGroupWeight);
  std::vector<std::pair<std::unique_ptr<ScorePlugin>, double>> scores;
  for (const auto& [name, weight] : weights) {
    auto s = NewScore(name);
    if (s == nullptr) return InvalidArgument("unknown scheduler score: " + name);
    if (!std::isfinite(weight)) return InvalidArgument("score weight of " + name + " not finite");
    if (weight != 0) scores.emplace_back(std::move(s), weight);
  }
  if (config.max_candidates < 0) return InvalidArgument("max_candidates must be >= 0");
  auto weight_of = [&](const char* n) {
    auto it = weights.find(n);
    return it == weights.end() ? 0.0 : it->second;
  };
  const bool descending = weight_of("spread") > weight_of("binpack");
  return std::unique_ptr<Scheduler>(std::make_unique<SchedulerImpl>(
      std::move(filters), std::move(scores), config.max_candidates, descending));
}

}  // namespace govpool::scheduler
