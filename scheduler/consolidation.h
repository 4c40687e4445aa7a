// Consolidation: how many hosts a pool's current allocation would need if the scheduler packed
// it from scratch (the e-government programme's "raise utilisation" goal is measured by it).
// PackTightly places the VMs, largest first (memory, then vCPUs, then disk), one at a time on an
// empty copy of the hosts with the binpack score alone, and counts the hosts that received any.
// It keeps what the scheduler's filters keep for each VM: capacity with the hosts'
// overcommit ratios, NUMA fit, dedicated hosts (by department); it does not know server groups
// or traits, so anti-affinity may need more hosts than it says: read hosts_needed as what the
// allocation needs at least. Pure logic, deterministic for the same input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "scheduler/scheduler.h"

namespace govpool::scheduler {

struct VmDemand {
  Resources resources;
  std::string department_id;
};

struct Packing {
  std::int64_t hosts = 0;         // hosts given (up, enabled, not in maintenance)
  std::int64_t hosts_needed = 0;  // hosts holding a VM after packing
  std::int64_t vms = 0;
  std::int64_t vms_unplaced = 0;  // VMs that found no host in the packed copy (0 in practice)
};

// InvalidArgument for negative resources; otherwise the packing of `vms` onto `hosts` (whose
// own pools are ignored: pass one pool's hosts).
Result<Packing> PackTightly(std::vector<HostSpec> hosts, std::vector<VmDemand> vms);

}  // namespace govpool::scheduler
