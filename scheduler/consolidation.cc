#include "scheduler/consolidation.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

namespace govpool::scheduler {

Result<Packing> PackTightly(std::vector<HostSpec> hosts, std::vector<VmDemand> vms) {
  Config config;
  config.score_weights = {{"binpack", 1.0}};
  config.max_candidates = 0;  // exact: score every feasible host
  GP_ASSIGN_OR_RETURN(std::unique_ptr<Scheduler> copy, Scheduler::Create(config));
  Packing out;
  for (HostSpec& h : hosts) {
    if (!h.up || !h.enabled || h.maintenance) continue;
    h.pool.clear();
    h.storage_pools.clear();
    copy->UpsertHost(h);
    ++out.hosts;
  }
  std::stable_sort(vms.begin(), vms.end(), [](const VmDemand& a, const VmDemand& b) {
    return std::tie(a.resources.memory_mib, a.resources.vcpus, a.resources.disk_gib) >
           std::tie(b.resources.memory_mib, b.resources.vcpus, b.resources.disk_gib);
  });
  std::set<std::string> used;
  for (const VmDemand& vm : vms) {
    ++out.vms;
    PlacementRequest request;
    request.per_vm = vm.resources;
    request.department_id = vm.department_id;
    auto placed = copy->Place(request);
    if (!placed.ok()) {
      if (placed.status().code() == StatusCode::kInvalidArgument) return placed.status();
      ++out.vms_unplaced;
      continue;
    }
    GP_RETURN_IF_ERROR(copy->Commit(*placed));
    for (const Assignment& a : placed->assignments) used.insert(a.host_id);
  }
  out.hosts_needed = static_cast<std::int64_t>(used.size());
  return out;
}

}  // namespace govpool::scheduler
