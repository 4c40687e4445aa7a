// Storage-pool placement for volumes: which storage pool (a Ceph pool) a new volume goes to.
// Pure logic (no I/O, no clock, no JSON), like the rest of the scheduler; the controller builds
// the candidates from its storage-pool records, its agents' reports and its volumes, and calls
// PlaceVolume inside its create transaction. Unlike hosts there are few pools (tens), so this is
// a linear pass per call with no index. docs/scheduler.md, "Storage pools".
//
// Thread-safety: PlaceVolume is a pure function; it may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace govpool::scheduler {

inline constexpr std::int64_t kBytesPerGiB = std::int64_t{1} << 30;

// One storage pool as placement sees it.
struct StoragePoolCandidate {
  std::string id, name;
  std::vector<std::string> tiers;  // e.g. "ssd", "hdd"
  bool enabled = true;
  bool reachable = false;          // some up host's agent reaches it
  bool stats_known = false;        // an agent reported stats
  std::int64_t capacity_bytes = 0; // from Ceph
  double used_ratio = 0;           // from Ceph, in [0, 1]
  bool ceph_nearfull = false, ceph_full = false;
  double nearfull_ratio = 0.85;    // at or above it the pool takes no new volumes
  double provisioning_ratio = 1.0; // thin provisioning: volumes may add up to capacity x ratio
  std::int64_t allocated_gib = 0;  // sum of the pool's volumes' sizes
};

struct StorageRequest {
  std::int64_t size_gib = 0;         // the new volume's size (negative counts as 0)
  std::string tier;                  // empty: any
  std::vector<std::string> allowed;  // pool ids or names the department is confined to; empty: any
  std::string pool;                  // a pool asked for by id or name; empty: choose
};

struct StoragePlacement {
  bool placed = false;
  std::string pool_id;                           // the chosen pool when placed
  std::map<std::string, std::int64_t> rejected;  // reason -> pools (first failing check counts)
  // One sentence for people, naming the pools and numbers that blocked the volume (or the
  // chosen pool and its headroom when placed).
  std::string summary;
  // The API reason when not placed: "STORAGE_POOL_NEARFULL" when every pool that passed the
  // other checks is nearfull or full, else "NO_VALID_STORAGE_POOL". Empty when placed.
  std::string reason;
};

// Chooses the pool for a new volume. Each pool is checked in this order, the first failure
// counting in `rejected`: "not_requested" (req.pool names another pool), "disabled",
// "not_allowed" (not in req.allowed), "wrong_tier" (lacks req.tier), "unreachable" (no up
// host's agent reaches it), "no_stats" (no agent reported its stats yet), "nearfull"
// (used_ratio >= nearfull_ratio, or Ceph flags it nearfull or full), "insufficient_capacity"
// (allocated_gib + size_gib > floor(capacity_bytes x provisioning_ratio / GiB)). Among the pools
// that pass, the one with the most provisioned headroom left (limit - allocated) wins, ties by
// lower used_ratio, then by lower id: deterministic.
StoragePlacement PlaceVolume(const std::vector<StoragePoolCandidate>& pools,
                             const StorageRequest& req);

}  // namespace govpool::scheduler
