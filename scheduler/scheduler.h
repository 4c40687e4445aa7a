// Scheduler: pure placement logic (no I/O, threads, clock reads or JSON). The controller keeps
// one Scheduler per process, feeds it host facts, and calls Place() inside its create
// transaction, then Commit() the returned placement when the transaction commits. The
// Scheduler owns the allocation accounting of its host index (including NUMA cells), so the
// controller stores each VM's Assignment and hands it back to Release() on delete and to
// Commit() when rebuilding the index at start-up.
//
// Thread-compatibility: a Scheduler is NOT internally synchronised; callers serialise access
// (the controller calls it under its state lock). Concurrent schedulers are made safe by host
// revisions: every Commit() checks the revisions Place() saw (see Commit()). Distinct Scheduler
// instances share nothing and may be used on different threads. docs/scheduler.md explains
// every plugin (filters, scores, reservers) and how to add one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::scheduler {

struct Resources {
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  friend bool operator==(const Resources&, const Resources&) = default;
};

struct NumaCell {
  std::int32_t id = 0;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
  friend bool operator==(const NumaCell&, const NumaCell&) = default;
};

// Everything the scheduler needs to know about a host, except its allocations (the scheduler
// tracks those itself through Commit/Release).
struct HostSpec {
  std::string id;  // UUID, unique
  std::string name;
  std::string pool;  // availability zone; may be empty
  bool up = true;
  bool enabled = true;
  bool maintenance = false;
  Resources capacity;  // physical
  double cpu_ratio = 4.0;
  double memory_ratio = 1.0;
  double disk_ratio = 1.0;
  std::int64_t max_instances = 0;  // 0: unlimited
  std::vector<NumaCell> numa_cells;  // empty: one implicit cell holding the whole host
  std::vector<std::string> traits;       // e.g. "ssd", "gpu", "cpu:skylake"
  std::vector<std::string> aggregates;   // host aggregates the host belongs to
  // Hosts dedicated to given departments accept only those departments' VMs. Empty: shared.
  std::vector<std::string> dedicated_departments;
  // Extended resources: counted resources beyond vCPU, memory and disk, by name (e.g.
  // {"gpu", 4}); no overcommit ratio. Only a plugin that knows a name checks and claims it
  // (docs/scheduler.md, "Adding a plugin"); the scheduler's accounting keeps every name.
  std::map<std::string, std::int64_t> extended_capacity = {};
  // Storage pools (ids) the host's agent reaches: a VM whose disks live in a storage pool goes
  // only to a host that reaches it (filter "storage"). Upsert the host when the set changes.
  std::vector<std::string> storage_pools = {};
  friend bool operator==(const HostSpec&, const HostSpec&) = default;
};

enum class GroupPolicy { kNone, kAffinity, kAntiAffinity };

struct PlacementRequest {
  Resources per_vm;
  std::int32_t count = 1;  // all-or-nothing
  std::string department_id;
  std::string pool;  // empty: any pool
  // Department confinement (classified workloads): when non-empty, only these pools qualify.
  std::vector<std::string> allowed_pools;
  std::vector<std::string> required_traits;
  std::vector<std::string> forbidden_traits;
  std::vector<std::string> required_aggregates;
  // Server group: policy, whether it is hard (filter) or soft (score), and the hosts its
  // existing members already occupy (one entry per member).
  GroupPolicy group_policy = GroupPolicy::kNone;
  bool group_hard = true;
  std::vector<std::string> group_member_hosts;
  // Dry-run / preview: examine every host so that the explanation counts are complete even on
  // success (slower: O(hosts)). Failures always carry a complete explanation.
  bool explain = false;
  // Extended resources each VM needs (see HostSpec::extended_capacity), claimed by the plugin
  // that knows the name; names no enabled plugin knows are ignored.
  std::map<std::string, std::int64_t> extended_per_vm = {};
  // The storage pool (id) the VM's disks live in: only hosts listing it in
  // HostSpec::storage_pools qualify. Empty: no storage constraint.
  std::string storage_pool = {};
};

// Where one VM goes, and what it consumes there (including which NUMA cells).
struct Assignment {
  std::string host_id;
  Resources resources;
  std::vector<std::pair<std::int32_t, Resources>> numa;  // cell id -> share; may be empty
  std::map<std::string, std::int64_t> extended = {};     // extended resources claimed
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

// Why hosts were rejected: filter name -> hosts rejected by it (first failing filter counts).
// Reasons are stable snake_case strings documented in docs/scheduler.md (e.g. host_down,
// wrong_pool, insufficient_memory, anti_affinity).
struct Explanation {
  std::int64_t hosts_total = 0;
  std::int64_t hosts_fit = 0;
  std::map<std::string, std::int64_t> rejected;
  // Hosts actually examined. A successful Place() stops after enough candidates (see
  // Config::max_candidates) and skips hosts the free-capacity index rules out, so `complete` is
  // false and the counts cover only the examined hosts. Failures and PlacementRequest::explain
  // examine every host: complete == true and hosts_examined == hosts_total.
  std::int64_t hosts_examined = 0;
  bool complete = true;
  // Sentences for people that filters add about their rejections (complete explanations only),
  // e.g. "no host reaches storage pool p-1". Summary() appends them.
  std::vector<std::string> notes = {};
  // "0 of 10 hosts fit: 9 insufficient_memory, 1 anti_affinity" (largest count first; ties by
  // name), then the notes in brackets: "0 of 4 hosts fit: 4 storage_pool_unreachable (no host
  // reaches storage pool p-1)". Incomplete explanations say "12 of 40 examined hosts fit
  // (10000 hosts): ...".
  std::string Summary() const;
};

struct Placement {
  std::vector<Assignment> assignments;  // one per requested VM, in order
  Explanation explanation;
  // Host revisions observed by Place(); Commit() refuses if any changed.
  std::vector<std::pair<std::string, std::uint64_t>> observed_revisions;
};

// Which plugins run in each phase, by name (docs/scheduler.md lists them). A plugin may take part
// in several phases (numa filters hosts and reserves cells); each phase is enabled on its own.
struct Config {
  // Plugin name -> weight for scores ("binpack" default 1.0); filters enabled by name.
  // Scores: "binpack", "spread", "balanced", "soft_affinity", "soft_anti_affinity". The two
  // soft server-group scores get weight kDefaultSoftGroupWeight unless listed (0 disables).
  std::map<std::string, double> score_weights = {{"binpack", 1.0}};
  // Filters, evaluated in this order (the first failing one is blamed in explanations):
  // "status", "pool", "department", "traits", "storage", "capacity", "aggregate",
  // "server_group", "max_instances", "numa".
  std::vector<std::string> filters;  // empty: all built-in filters, in the order above
  // Reservers: what each placed VM claims, so the next VM of the request sees it and its
  // Assignment records it: "capacity" (vCPU, memory, disk), "server_group" (membership),
  // "numa" (cells). Empty: all of them. Leaving one out stops that claim (e.g. without
  // "capacity" VMs consume nothing): for tests and experiments, not for production.
  std::vector<std::string> reservers = {};
  // How many feasible hosts a placement scores before it stops. Hosts are visited in order of
  // free memory (tightest first for binpack, emptiest first for spread), so the first feasible
  // ones are already the best by memory; the scores then rank them on every dimension.
  // 0: score every feasible host (exact, O(hosts)). packing_bench shows 8 packs as tightly as 0.
  std::int32_t max_candidates = 8;
};

inline constexpr double kDefaultSoftGroupWeight = 10.0;

// What a host holds now (for the API's capacity views and for tests).
struct HostUsage {
  Resources used;
  Resources limit;  // floor(capacity x ratio) per dimension
  std::int64_t instances = 0;
  std::uint64_t revision = 0;
  std::vector<std::pair<std::int32_t, Resources>> numa_used;  // cell id -> used (disk 0)
  std::map<std::string, std::int64_t> extended_used = {};   // extended resource -> used
  std::map<std::string, std::int64_t> extended_limit = {};  // -> HostSpec::extended_capacity
};

class Scheduler {
 public:
  // InvalidArgument for unknown plugin names, a name listed twice, a plugin listed for a phase
  // it does not implement (e.g. "binpack" as a filter), and non-finite weights.
  static Result<std::unique_ptr<Scheduler>> Create(const Config& config);
  virtual ~Scheduler() = default;

  // Adds or replaces a host's facts, keeping its current allocations (NUMA use is kept for
  // cells whose id survives). Bumps the host's revision unless the facts are unchanged, so
  // repeating a heartbeat's facts costs nothing.
  virtual void UpsertHost(const HostSpec& host) = 0;
  // Forgets a host. FailedPrecondition while it still holds allocations.
  virtual Status RemoveHost(const std::string& host_id) = 0;

  // Chooses hosts for request.count VMs without changing anything.
  // OK: a placement with one assignment per VM. ResourceExhausted with reason "NO_VALID_HOST"
  // and details {"hosts_total": N, "rejected": {reason: count}, "vms_requested": count,
  // "vms_fit": VMs that fitted before the failing one} when they do not all fit (message:
  // Explanation::Summary(), plus "(VM i of n; ...)" when count > 1); InvalidArgument for
  // malformed requests (count < 1 or > 10000, negative resources).
  virtual Result<Placement> Place(const PlacementRequest& request) const = 0;

  // Consumes the placement's resources. Conflict if a host's revision changed since Place()
  // (another placement committed there first, or its facts changed), and also if the
  // placement would push a host past a limit (a stale or foreign placement): the caller
  // retries Place(). NotFound if a host is gone. InvalidArgument for negative resources. All
  // or nothing: on error nothing is applied. The limits are those of every dimension the
  // scheduler accounts: vCPU, memory, disk, instances, NUMA cells and extended resources.
  virtual Status Commit(const Placement& placement) = 0;
  // Restores one assignment without revision or capacity checks (used when rebuilding from
  // durable state: durable state wins). NotFound for unknown hosts.
  virtual Status Restore(const Assignment& assignment) = 0;
  // Gives back what an assignment consumed. Idempotent per assignment is NOT guaranteed:
  // callers release each committed assignment exactly once. NotFound if the host is gone;
  // FailedPrecondition (nothing changed) if it would release more than the host holds.
  virtual Status Release(const Assignment& assignment) = 0;

  // The host's current allocation and instance count; NotFound for unknown hosts.
  virtual Result<Resources> Allocated(const std::string& host_id) const = 0;

  // Additions (beyond the original contract).
  // Used/limit/instances/revision/NUMA usage of one host; NotFound for unknown hosts.
  virtual Result<HostUsage> Usage(const std::string& host_id) const = 0;
  // Number of known hosts.
  virtual std::int64_t HostCount() const = 0;
};

}  // namespace govpool::scheduler
