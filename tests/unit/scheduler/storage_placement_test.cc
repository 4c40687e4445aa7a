// PlaceVolume (scheduler/storage_placement.h): every rejection reason, the check order, the
// choice among fitting pools, the API reason (nearfull vs no valid pool) and the summaries.
#include "scheduler/storage_placement.h"

#include <gtest/gtest.h>

#include <limits>

namespace govpool::scheduler {
namespace {

constexpr std::int64_t kGiB = kBytesPerGiB;

// A usable pool: enabled, reached, reported, 1000 GiB, 10% used, nothing allocated.
StoragePoolCandidate Pool(const std::string& id, std::int64_t capacity_gib = 1000) {
  StoragePoolCandidate p;
  p.id = id;
  p.name = id + "-name";
  p.tiers = {"ssd"};
  p.reachable = true;
  p.stats_known = true;
  p.capacity_bytes = capacity_gib * kGiB;
  p.used_ratio = 0.10;
  return p;
}

StorageRequest Volume(std::int64_t size_gib) {
  StorageRequest r;
  r.size_gib = size_gib;
  return r;
}

using Counts = std::map<std::string, std::int64_t>;

TEST(PlaceVolume, EveryRejectionReason) {
  std::vector<StoragePoolCandidate> pools;
  auto add = [&](const std::string& id, auto change) {
    StoragePoolCandidate p = Pool(id);
    change(p);
    pools.push_back(p);
  };
  add("disabled", [](auto& p) { p.enabled = false; });
  add("elsewhere", [](auto& p) { p.name = "elsewhere"; });  // not in `allowed`
  add("hdd", [](auto& p) { p.tiers = {"hdd"}; });
  add("unreached", [](auto& p) { p.reachable = false; });
  add("unreported", [](auto& p) { p.stats_known = false; });
  add("used", [](auto& p) { p.used_ratio = 0.85; });  // at the threshold
  add("ceph-nearfull", [](auto& p) { p.ceph_nearfull = true; });
  add("ceph-full", [](auto& p) { p.ceph_full = true; });
  add("small", [](auto& p) { p.allocated_gib = 950; });
  StorageRequest r = Volume(100);
  r.tier = "ssd";
  for (const auto& p : pools) {
    if (p.id != "elsewhere") r.allowed.push_back(p.id);
  }
  StoragePlacement out = PlaceVolume(pools, r);
  EXPECT_FALSE(out.placed);
  EXPECT_EQ(out.pool_id, "");
  EXPECT_EQ(out.rejected, (Counts{{"disabled", 1},
                                  {"not_allowed", 1},
                                  {"wrong_tier", 1},
                                  {"unreachable", 1},
                                  {"no_stats", 1},
                                  {"nearfull", 3},
                                  {"insufficient_capacity", 1}}));
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");  // "small" passed the nearfull check

  // Naming a pool: every other pool is "not_requested", the named one is judged as usual.
  r.pool = "hdd";
  out = PlaceVolume(pools, r);
  EXPECT_EQ(out.rejected, (Counts{{"not_requested", 8}, {"wrong_tier", 1}}));
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");
  EXPECT_EQ(out.summary,
            "storage pool hdd does not offer tier ssd (0 of 9 storage pools fit: "
            "8 not_requested, 1 wrong_tier)");
}

TEST(PlaceVolume, ChecksInOrderFirstFailureCounts) {
  // Disabled, not allowed, wrong tier, unreachable, no stats, nearfull and short of room all
  // at once: "disabled" is blamed; peel them off one by one.
  StoragePoolCandidate p = Pool("p");
  p.enabled = false;
  p.tiers = {"hdd"};
  p.reachable = false;
  p.stats_known = false;
  p.used_ratio = 0.99;
  p.allocated_gib = 1000;
  StorageRequest r = Volume(10);
  r.tier = "ssd";
  r.allowed = {"q"};
  const std::vector<std::string> expected = {"disabled",    "not_allowed", "wrong_tier",
                                             "unreachable", "no_stats",    "nearfull",
                                             "insufficient_capacity"};
  for (const std::string& reason : expected) {
    StoragePlacement out = PlaceVolume({p}, r);
    ASSERT_FALSE(out.placed);
    EXPECT_EQ(out.rejected, (Counts{{reason, 1}})) << reason;
    if (reason == "disabled") p.enabled = true;
    if (reason == "not_allowed") r.allowed = {"p"};
    if (reason == "wrong_tier") p.tiers = {"hdd", "ssd"};
    if (reason == "unreachable") p.reachable = true;
    if (reason == "no_stats") p.stats_known = true;
    if (reason == "nearfull") p.used_ratio = 0.5;
    if (reason == "insufficient_capacity") p.allocated_gib = 990;  // 990 + 10 = 1000: fits
  }
  StoragePlacement out = PlaceVolume({p}, r);
  EXPECT_TRUE(out.placed);
  EXPECT_EQ(out.pool_id, "p");
  EXPECT_TRUE(out.rejected.empty());
  EXPECT_EQ(out.reason, "");
  // A pool asked for by another name is "not_requested" before anything else.
  r.pool = "other";
  EXPECT_EQ(PlaceVolume({p}, r).rejected, (Counts{{"not_requested", 1}}));
}

TEST(PlaceVolume, PoolsMatchByIdOrName) {
  std::vector<StoragePoolCandidate> pools = {Pool("a"), Pool("b")};
  StorageRequest r = Volume(1);
  r.pool = "b-name";
  EXPECT_EQ(PlaceVolume(pools, r).pool_id, "b");
  r.pool = "a";
  EXPECT_EQ(PlaceVolume(pools, r).pool_id, "a");
  r.pool = "";
  r.allowed = {"nothing", "b-name"};
  EXPECT_EQ(PlaceVolume(pools, r).pool_id, "b");
  r.allowed = {"b"};
  EXPECT_EQ(PlaceVolume(pools, r).pool_id, "b");
  StorageRequest any_tier = Volume(1);  // empty tier: any, even a pool with no tiers
  pools[0].tiers.clear();
  pools[1].tiers.clear();
  EXPECT_TRUE(PlaceVolume(pools, any_tier).placed);
}

TEST(PlaceVolume, MostProvisionedHeadroomThenLeastUsedThenId) {
  StoragePoolCandidate big = Pool("big", 1000);   // 1000 - 500 = 500 left
  big.allocated_gib = 500;
  StoragePoolCandidate thin = Pool("thin", 400);  // 400 x 2 = 800 left
  thin.provisioning_ratio = 2.0;
  StoragePoolCandidate small = Pool("small", 300);
  StoragePlacement out = PlaceVolume({big, small, thin}, Volume(10));
  ASSERT_TRUE(out.placed);
  EXPECT_EQ(out.pool_id, "thin");
  EXPECT_EQ(out.summary,
            "storage pool thin-name has 800 GiB of 800 GiB provisioned capacity left for the "
            "10 GiB volume (3 of 3 storage pools fit)");
  // Equal headroom: the less used pool, then the lower id.
  StoragePoolCandidate c = Pool("c"), a = Pool("a"), b = Pool("b");
  c.used_ratio = 0.2;
  a.used_ratio = 0.3;
  b.used_ratio = 0.2;
  EXPECT_EQ(PlaceVolume({c, a, b}, Volume(10)).pool_id, "b");
  b.used_ratio = 0.25;
  EXPECT_EQ(PlaceVolume({c, a, b}, Volume(10)).pool_id, "c");
  // Same answer whatever the input order.
  EXPECT_EQ(PlaceVolume({b, a, c}, Volume(10)).pool_id, "c");
}

TEST(PlaceVolume, ProvisionedCapacityIsExact) {
  StoragePoolCandidate p = Pool("p", 100);
  p.provisioning_ratio = 1.15;  // exactly 115 GiB (a double product gives 114.99...)
  p.allocated_gib = 15;
  EXPECT_TRUE(PlaceVolume({p}, Volume(100)).placed);
  EXPECT_FALSE(PlaceVolume({p}, Volume(101)).placed);
  p.capacity_bytes = 100 * kGiB + kGiB / 2;  // 100.5 GiB x 2 = 201 GiB
  p.provisioning_ratio = 2.0;
  p.allocated_gib = 0;
  EXPECT_TRUE(PlaceVolume({p}, Volume(201)).placed);
  EXPECT_FALSE(PlaceVolume({p}, Volume(202)).placed);
  p.provisioning_ratio = std::numeric_limits<double>::quiet_NaN();  // counts as 0
  EXPECT_EQ(PlaceVolume({p}, Volume(1)).rejected, (Counts{{"insufficient_capacity", 1}}));
  EXPECT_TRUE(PlaceVolume({p}, Volume(0)).placed);
  p.capacity_bytes = std::numeric_limits<std::int64_t>::max();  // saturates, no overflow
  p.provisioning_ratio = 4.0;
  EXPECT_TRUE(PlaceVolume({p}, Volume(1'000'000)).placed);
  EXPECT_FALSE(PlaceVolume({p}, Volume(std::numeric_limits<std::int64_t>::max())).placed);
}

TEST(PlaceVolume, NearfullReasonOnlyWhenNothingElseGotThatFar) {
  StoragePoolCandidate fast = Pool("fast");
  fast.name = "fast";
  fast.used_ratio = 0.87;
  StoragePoolCandidate slow = Pool("slow");
  slow.name = "slow";
  slow.tiers = {"hdd"};
  StorageRequest r = Volume(10);
  r.tier = "ssd";
  // One pool: the sentence alone.
  StoragePlacement out = PlaceVolume({fast}, r);
  EXPECT_EQ(out.reason, "STORAGE_POOL_NEARFULL");
  EXPECT_EQ(out.summary,
            "storage pool fast is 87% used (nearfull at 85%): it takes no new volumes");
  // Others rejected earlier (tier) do not change the reason; the counts follow.
  out = PlaceVolume({fast, slow}, r);
  EXPECT_EQ(out.reason, "STORAGE_POOL_NEARFULL");
  EXPECT_EQ(out.summary,
            "storage pool fast is 87% used (nearfull at 85%): it takes no new volumes (0 of 2 "
            "storage pools fit: 1 nearfull, 1 wrong_tier)");
  // A pool that passed the nearfull check but lacks room: not only nearfull any more.
  StoragePoolCandidate tight = Pool("tight", 100);
  tight.name = "tight";
  tight.allocated_gib = 95;
  out = PlaceVolume({fast, tight}, r);
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");
  EXPECT_EQ(out.summary,
            "storage pool tight has 5 GiB of 100 GiB provisioned capacity left, the volume "
            "needs 10 GiB; storage pool fast is 87% used (nearfull at 85%): it takes no new "
            "volumes (0 of 2 storage pools fit: 1 insufficient_capacity, 1 nearfull)");
  // Capacity alone.
  out = PlaceVolume({tight}, r);
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");
  EXPECT_EQ(out.rejected, (Counts{{"insufficient_capacity", 1}}));
  EXPECT_EQ(out.summary,
            "storage pool tight has 5 GiB of 100 GiB provisioned capacity left, the volume "
            "needs 10 GiB");
  // Nothing got as far as the nearfull check: no valid pool.
  out = PlaceVolume({slow}, r);
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");
}

TEST(PlaceVolume, NearfullSummaries) {
  StoragePoolCandidate a = Pool("a"), b = Pool("b"), c = Pool("c"), d = Pool("d");
  a.name = "fast";
  a.used_ratio = 0.873;
  b.name = "";  // unnamed: its id is shown
  b.used_ratio = 0.5;
  b.ceph_nearfull = true;
  c.name = "cold";
  c.used_ratio = 0.97;
  c.ceph_full = true;
  d.name = "deep";
  d.used_ratio = 0.9;
  d.nearfull_ratio = 0.855;
  StoragePlacement out = PlaceVolume({b}, Volume(1));
  EXPECT_EQ(out.summary,
            "storage pool b is 50% used (Ceph reports it nearfull): it takes no new volumes");
  out = PlaceVolume({c}, Volume(1));
  EXPECT_EQ(out.summary,
            "storage pool cold is 97% used (Ceph reports it full): it takes no new volumes");
  out = PlaceVolume({a, b, c}, Volume(1));
  EXPECT_EQ(out.reason, "STORAGE_POOL_NEARFULL");
  EXPECT_EQ(out.summary,
            "storage pools fast (87.3% used, nearfull at 85%), b (50% used, Ceph reports it "
            "nearfull) and cold (97% used, Ceph reports it full) take no new volumes (0 of 3 "
            "storage pools fit: 3 nearfull)");
  out = PlaceVolume({a, b, c, d}, Volume(1));
  EXPECT_EQ(out.summary,
            "storage pools fast (87.3% used, nearfull at 85%), b (50% used, Ceph reports it "
            "nearfull), cold (97% used, Ceph reports it full) and 1 more take no new volumes "
            "(0 of 4 storage pools fit: 4 nearfull)");
  EXPECT_EQ(out.rejected, (Counts{{"nearfull", 4}}));
  // Just below the threshold is not nearfull (and never reads as at it).
  a.used_ratio = 0.8499;
  EXPECT_TRUE(PlaceVolume({a}, Volume(1)).placed);
}

TEST(PlaceVolume, OtherSummaries) {
  EXPECT_EQ(PlaceVolume({}, Volume(1)).summary, "there is no storage pool");
  EXPECT_EQ(PlaceVolume({}, Volume(1)).reason, "NO_VALID_STORAGE_POOL");
  StorageRequest named = Volume(1);
  named.pool = "ghost";
  EXPECT_EQ(PlaceVolume({Pool("a")}, named).summary, "there is no storage pool ghost");

  StoragePoolCandidate u = Pool("u"), v = Pool("v"), w = Pool("w");
  u.reachable = false;
  v.reachable = false;
  w.stats_known = false;
  StoragePlacement out = PlaceVolume({u, v, w}, Volume(1));
  EXPECT_EQ(out.reason, "NO_VALID_STORAGE_POOL");
  EXPECT_EQ(out.summary,
            "no agent has reported stats for storage pool w-name yet; no up host reaches "
            "storage pools u-name and v-name (0 of 3 storage pools fit: 2 unreachable, "
            "1 no_stats)");

  StoragePoolCandidate x = Pool("x", 100), y = Pool("y", 50);
  x.allocated_gib = 100;
  y.allocated_gib = 20;
  out = PlaceVolume({x, y}, Volume(40));
  EXPECT_EQ(out.summary,
            "storage pools x-name (0 GiB of 100 GiB left) and y-name (30 GiB of 50 GiB left) "
            "lack provisioned capacity for the 40 GiB volume (0 of 2 storage pools fit: "
            "2 insufficient_capacity)");

  StorageRequest confined = Volume(1);
  confined.allowed = {"secret-1", "secret-2"};
  out = PlaceVolume({Pool("a")}, confined);
  EXPECT_EQ(out.summary,
            "the department may use only storage pools secret-1 and secret-2 (0 of 1 storage "
            "pool fit: 1 not_allowed)");
  StoragePoolCandidate off = Pool("off");
  off.enabled = false;
  EXPECT_EQ(PlaceVolume({off}, Volume(1)).summary, "0 of 1 storage pool fit: 1 disabled");
}

TEST(PlaceVolume, ThousandsOfPoolsStayCheap) {
  std::vector<StoragePoolCandidate> pools;
  for (int i = 0; i < 5000; ++i) {
    std::string id = "p";
    id += std::to_string(10000 + i);
    StoragePoolCandidate p = Pool(id, 1000 + i % 7);
    p.used_ratio = (i % 100) / 100.0;
    pools.push_back(std::move(p));
  }
  StoragePlacement out = PlaceVolume(pools, Volume(10));
  ASSERT_TRUE(out.placed);
  // Headroom 1006 GiB (i % 7 == 6), least used among those (i % 100 == 0: i = 300, 1000, ...),
  // lowest id: p10300.
  EXPECT_EQ(out.pool_id, "p10300");
  EXPECT_EQ(out.rejected.at("nearfull"), 5000 / 100 * 15);  // i % 100 >= 85
}

}  // namespace
}  // namespace govpool::scheduler
