// PlaceVolume: storage-pool placement for volumes (storage_placement.h). One pass over the
// pools judging each with fixed checks (no allocation per pool), then the text for people.
#include "scheduler/storage_placement.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/host_state.h"  // ScaledLimit

namespace govpool::scheduler {
namespace {

// The checks, in evaluation order; the first failing one is the pool's reason.
enum Check : int {
  kNotRequested,
  kDisabled,
  kNotAllowed,
  kWrongTier,
  kUnreachable,
  kNoStats,
  kNearfull,
  kInsufficientCapacity,
  kChecks,
  kPasses = kChecks,
};

constexpr std::array<const char*, kChecks> kReasons = {
    "not_requested", "disabled",  "not_allowed", "wrong_tier",
    "unreachable",   "no_stats",  "nearfull",    "insufficient_capacity",
};

// How many pools a sentence names before "and N more".
constexpr std::size_t kNamed = 3;

bool Names(const StoragePoolCandidate& p, const std::string& ref) {
  return ref == p.id || (!p.name.empty() && ref == p.name);
}

const std::string& Label(const StoragePoolCandidate& p) { return p.name.empty() ? p.id : p.name; }

// floor(capacity_bytes x provisioning_ratio) in GiB (exact; saturates).
std::int64_t LimitGib(const StoragePoolCandidate& p) {
  return ScaledLimit(p.capacity_bytes, p.provisioning_ratio) / kBytesPerGiB;
}

bool Nearfull(const StoragePoolCandidate& p) {
  return p.ceph_full || p.ceph_nearfull || p.used_ratio >= p.nearfull_ratio;
}

Check Judge(const StoragePoolCandidate& p, const StorageRequest& req, std::int64_t size_gib) {
  if (!req.pool.empty() && !Names(p, req.pool)) return kNotRequested;
  if (!p.enabled) return kDisabled;
  if (!req.allowed.empty() &&
      std::none_of(req.allowed.begin(), req.allowed.end(),
                   [&](const std::string& a) { return Names(p, a); })) {
    return kNotAllowed;
  }
  if (!req.tier.empty() && std::find(p.tiers.begin(), p.tiers.end(), req.tier) == p.tiers.end()) {
    return kWrongTier;
  }
  if (!p.reachable) return kUnreachable;
  if (!p.stats_known) return kNoStats;
  if (Nearfull(p)) return kNearfull;
  if (p.allocated_gib > LimitGib(p) - size_gib) return kInsufficientCapacity;
  return kPasses;
}

// "87%", "85.5%": a ratio as a percentage, floored to 0.1 (so a pool below its threshold never
// reads as at it).
std::string Percent(double ratio) {
  if (!std::isfinite(ratio)) return "?%";
  const auto tenths = static_cast<std::int64_t>(std::floor(ratio * 1000 + 1e-6));
  std::string out = std::to_string(tenths / 10);
  if (tenths % 10 != 0) out += "." + std::to_string(std::llabs(tenths % 10));
  return out + "%";
}

std::string Gib(std::int64_t gib) { return std::to_string(gib) + " GiB"; }

// "storage pool " or "storage pools ", before a list of n.
std::string StoragePools(std::size_t n) { return n == 1 ? "storage pool " : "storage pools "; }

// "a, b and c", or "a, b, c and 2 more" beyond kNamed items.
template <typename Describe>
std::string List(const std::vector<std::size_t>& items, Describe describe) {
  std::string out;
  const std::size_t shown = std::min(items.size(), kNamed);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) out += (i + 1 == shown && items.size() <= kNamed) ? " and " : ", ";
    out += describe(items[i]);
  }
  if (items.size() > kNamed) out += " and " + std::to_string(items.size() - kNamed) + " more";
  return out;
}

// Why a nearfull pool takes no new volumes: "nearfull at 85%", "Ceph reports it full".
std::string NearfullWhy(const StoragePoolCandidate& p) {
  if (p.ceph_full) return "Ceph reports it full";
  if (p.used_ratio >= p.nearfull_ratio) return "nearfull at " + Percent(p.nearfull_ratio);
  return "Ceph reports it nearfull";
}

// "0 of 5 storage pools fit: 3 wrong_tier, 2 nearfull" (largest count first, ties by name, as
// Explanation::Summary does for hosts).
std::string Counts(const std::map<std::string, std::int64_t>& rejected, std::size_t total,
                   std::size_t fit) {
  std::string out = std::to_string(fit) + " of " + std::to_string(total) + " storage pool" +
                    (total == 1 ? "" : "s") + " fit";
  std::vector<std::pair<std::string_view, std::int64_t>> items(rejected.begin(), rejected.end());
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? ": " : ", ";
    out += std::to_string(items[i].second) + " ";
    out += items[i].first;
  }
  return out;
}

}  // namespace

StoragePlacement PlaceVolume(const std::vector<StoragePoolCandidate>& pools,
                             const StorageRequest& req) {
  const std::int64_t size_gib = std::max<std::int64_t>(0, req.size_gib);
  std::array<std::int64_t, kChecks> counts{};
  // Pools rejected by the checks worth naming in the summary (they nearly fit).
  std::vector<std::size_t> unreachable, no_stats, nearfull, short_of_room;
  const StoragePoolCandidate* best = nullptr;
  std::int64_t best_headroom = 0;
  std::size_t fit = 0;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const StoragePoolCandidate& p = pools[i];
    const Check check = Judge(p, req, size_gib);
    switch (check) {
      case kUnreachable: unreachable.push_back(i); break;
      case kNoStats: no_stats.push_back(i); break;
      case kNearfull: nearfull.push_back(i); break;
      case kInsufficientCapacity: short_of_room.push_back(i); break;
      default: break;
    }
    if (check != kPasses) {
      ++counts[static_cast<std::size_t>(check)];
      continue;
    }
    ++fit;
    const std::int64_t headroom = LimitGib(p) - p.allocated_gib;
    if (best == nullptr || headroom > best_headroom ||
        (headroom == best_headroom &&
         (p.used_ratio < best->used_ratio ||
          (p.used_ratio == best->used_ratio && p.id < best->id)))) {
      best = &p;
      best_headroom = headroom;
    }
  }

  StoragePlacement out;
  for (int c = 0; c < kChecks; ++c) {
    if (counts[static_cast<std::size_t>(c)] > 0) {
      out.rejected[kReasons[static_cast<std::size_t>(c)]] = counts[static_cast<std::size_t>(c)];
    }
  }
  const std::string counted = Counts(out.rejected, pools.size(), fit);
  if (best != nullptr) {
    out.placed = true;
    out.pool_id = best->id;
    out.summary = "storage pool " + Label(*best) + " has " + Gib(best_headroom) + " of " +
                  Gib(LimitGib(*best)) + " provisioned capacity left for the " + Gib(size_gib) +
                  " volume (" + counted + ")";
    return out;
  }

  // Nearfull wins the API reason only when nothing else stopped the pools that got that far.
  const bool only_nearfull = !nearfull.empty() && short_of_room.empty();
  out.reason = only_nearfull ? "STORAGE_POOL_NEARFULL" : "NO_VALID_STORAGE_POOL";
  auto at = [&](std::size_t i) -> const StoragePoolCandidate& { return pools[i]; };

  if (pools.empty()) {
    out.summary = "there is no storage pool";
    return out;
  }
  if (!req.pool.empty() && counts[kNotRequested] == static_cast<std::int64_t>(pools.size())) {
    out.summary = "there is no storage pool " + req.pool;
    return out;
  }
  // The pools that got furthest and what stopped them, then the counts.
  std::string details;
  auto add = [&](const std::string& part) { details += (details.empty() ? "" : "; ") + part; };
  auto label = [&](std::size_t i) { return Label(at(i)); };
  if (!short_of_room.empty()) {
    auto left = [&](std::size_t i) {
      const StoragePoolCandidate& p = at(i);
      return Gib(std::max<std::int64_t>(0, LimitGib(p) - p.allocated_gib)) + " of " +
             Gib(LimitGib(p));
    };
    if (short_of_room.size() == 1) {
      add("storage pool " + label(short_of_room[0]) + " has " + left(short_of_room[0]) +
          " provisioned capacity left, the volume needs " + Gib(size_gib));
    } else {
      add("storage pools " + List(short_of_room, [&](std::size_t i) {
            return label(i) + " (" + left(i) + " left)";
          }) + " lack provisioned capacity for the " + Gib(size_gib) + " volume");
    }
  }
  if (!nearfull.empty()) {
    if (nearfull.size() == 1) {
      const StoragePoolCandidate& p = at(nearfull[0]);
      add("storage pool " + Label(p) + " is " + Percent(p.used_ratio) + " used (" +
          NearfullWhy(p) + "): it takes no new volumes");
    } else {
      add("storage pools " + List(nearfull, [&](std::size_t i) {
            return label(i) + " (" + Percent(at(i).used_ratio) + " used, " + NearfullWhy(at(i)) +
                   ")";
          }) + " take no new volumes");
    }
  }
  if (!no_stats.empty()) {
    add("no agent has reported stats for " + StoragePools(no_stats.size()) +
        List(no_stats, label) + " yet");
  }
  if (!unreachable.empty()) {
    add("no up host reaches " + StoragePools(unreachable.size()) + List(unreachable, label));
  }
  // Nothing got that far: the earlier checks, when a sentence says more than the counts.
  const std::string named = req.pool.empty() ? "" : "storage pool " + req.pool;
  if (details.empty() && counts[kWrongTier] > 0) {
    add(named.empty() ? "no enabled storage pool the department may use offers tier " + req.tier
                      : named + " does not offer tier " + req.tier);
  } else if (details.empty() && counts[kNotAllowed] > 0) {
    std::vector<std::size_t> refs(req.allowed.size());
    for (std::size_t i = 0; i < refs.size(); ++i) refs[i] = i;
    add("the department may use only " + StoragePools(refs.size()) +
        List(refs, [&](std::size_t i) { return req.allowed[i]; }));
  } else if (details.empty() && counts[kDisabled] > 0 && !named.empty()) {
    add(named + " is disabled");
  }
  // The sentence about a lone pool says it all: no "(0 of 1 storage pool fit: 1 nearfull)".
  const bool counts_add_nothing =
      pools.size() == 1 && nearfull.size() + short_of_room.size() + no_stats.size() +
                                   unreachable.size() == 1;
  out.summary = details.empty() ? counted
                : counts_add_nothing ? details
                                     : details + " (" + counted + ")";
  return out;
}

}  // namespace govpool::scheduler
