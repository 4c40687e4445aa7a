// Helpers shared by the storage services (storage_pools.cc, volumes.cc, images.cc, vms.cc):
// visibility, placement of a volume in a pool, and which agent does a record's work.
// Internal to controller/services.
#pragma once

#include <cstdint>
#include <string>

#include "api/types.h"
#include "common/result.h"
#include "controller/caller.h"
#include "controller/state.h"
#include "controller/txn.h"

namespace govpool::controller::storage {

inline constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;

// Whole GiB needed to hold `bytes` (at least 1).
std::int64_t GibFor(std::int64_t bytes);

// The agent (host id) that should do storage work in `pool_id`: an up host whose agent
// reaches the pool, preferring `preferred` when it qualifies, else the one holding the least
// storage work (ties by id). Empty when no agent reaches the pool. With `also_pool`, the host
// must reach that pool too (a backup's source and target, a restore's backup and volume).
std::string ChooseStorageHost(const State& s, const std::string& pool_id,
                              const std::string& preferred = "", const std::string& also_pool = "");

// Places `size_gib` more in a pool for department `d`: `pool` (id or name) when given, else
// by tier, confinement, reach and headroom. NO_VALID_STORAGE_POOL or STORAGE_POOL_NEARFULL
// (details: pools_total, rejected) when nothing fits. Returns the pool id.
Result<std::string> PlaceInPool(const State& s, const api::Department& d, std::int64_t size_gib,
                                const std::string& pool, const std::string& tier);

// Records visible to the caller (NotFound otherwise, so existence does not leak). Agents see
// the records whose work their hosts do.
Result<const api::Volume*> FindVisibleVolume(const State& s, const Caller& c, const std::string& id);
Result<const api::Image*> FindVisibleImage(const State& s, const Caller& c, const std::string& id_or_name,
                                           const std::string& department_id = "");
// The caller is the agent of host `host_id` (or an admin).
bool IsAgentOf(const State& s, const Caller& c, const std::string& host_id);

// Hands a volume (and its snapshots) to `host_id`'s agent, bumping nothing else.
void MoveVolumeWork(State& s, Txn& t, api::Volume& v, const std::string& host_id);

// When a VM's record goes: its root volume turns deleting, its data volumes are detached.
void ReleaseVmVolumes(State& s, Txn& t, const std::string& vm_id);

// The image may seed new disks: available, and its content matched at the last check.
// IMAGE_NOT_READY / IMAGE_CHECKSUM_MISMATCH otherwise.
Status CheckImageUsable(const api::Image& image);

}  // namespace govpool::controller::storage
