// What the agent accepts from the controller's watch before anything touches the host
// (docs/security.md, "Hostile input"): the agent trusts nothing it is sent.
#pragma once

#include <string>

#include "api/types.h"
#include "common/status.h"

namespace govpool::agent {

// Bounds of a VM the agent will run (generous: they stop nonsense, not policy).
inline constexpr std::int64_t kMaxVmVcpus = 1024;
inline constexpr std::int64_t kMaxVmMemoryMib = std::int64_t{16} * 1024 * 1024;  // 16 TiB
inline constexpr std::int64_t kMaxVmDiskGib = 64 * 1024;

// OK when `vm` may become a domain, disks and files on host `host_id`: its id is a UUID (it
// names the domain and every file the agent makes for it), the controller placed it on this
// host, and its sizes are in range. InvalidArgument naming the first problem otherwise; the
// message quotes at most 64 bytes of what was sent.
Status CheckWatchedVm(const api::Vm& vm, const std::string& host_id);

}  // namespace govpool::agent
