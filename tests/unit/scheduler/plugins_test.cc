// The plugin framework's phases and registry (scheduler/plugin.h, scheduler/registry.h):
//  - a counted resource the scheduler has never heard of (GPUs), added as one test plugin
//    registered here, with no engine change: filtered, reserved within a multi-VM request,
//    committed, checked on commit, released, explained;
//  - Unreserve is idempotent for every built-in reserver and the test one (twice, or for a
//    claim never reserved, changes nothing);
//  - a reserver that refuses a host makes the engine unreserve and choose another host; a
//    request that fails gives back every earlier VM's reservations;
//  - the engine's hooks (free-memory bound, OnlyHosts, scan lean, default weights) work for
//    any plugin, not only the built-ins that use them;
//  - registry and configuration errors.
#include <gtest/gtest.h>

#include <memory>

#include "scheduler/host_state.h"
#include "scheduler/plugin.h"
#include "scheduler/registry.h"
#include "tests/unit/scheduler/test_util.h"

namespace govpool::scheduler {
namespace {

using testing::MakeHost;
using testing::MakeRequest;
using testing::PlaceAndCommit;
using testing::Rejected;

// ---- test plugins --------------------------------------------------------------------------

std::int64_t GpusPerVm(const PlacementRequest& r) {
  auto it = r.extended_per_vm.find("gpu");
  return it == r.extended_per_vm.end() ? 0 : it->second;
}

// A counted resource written the way docs/scheduler.md's checklist says: one Filter + Reserve
// plugin over an extended resource. Nothing in the engine knows "gpu".
class GpuPlugin final : public FilterPlugin, public ReservePlugin {
 public:
  std::string_view Name() const override { return "gpu"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const std::int64_t want = GpusPerVm(*ctx.request) * ctx.together;
    if (want == 0) return nullptr;
    return view.ExtendedUsed("gpu") + want > view.ExtendedLimit("gpu") ? "insufficient_gpu"
                                                                       : nullptr;
  }
  const char* Reserve(const RequestContext& ctx, const HostView& view, CycleState& cycle,
                      Assignment& vm, Claim& claim) const override {
    const std::int64_t want = GpusPerVm(*ctx.request);
    if (want == 0) return nullptr;
    cycle.Delta(*view.host).AddExtended("gpu", want);
    vm.extended["gpu"] = want;
    claim = {true, view.host->index};
    return nullptr;
  }
  void Unreserve(CycleState& cycle, const Assignment& vm, Claim& claim) const override {
    if (!claim.held) return;
    claim.held = false;
    if (HostDelta* d = cycle.FindDelta(claim.host)) d->AddExtended("gpu", -vm.extended.at("gpu"));
  }
};

Registry WithGpus() {
  Registry r = Registry::Builtin();
  EXPECT_TRUE(r.Add("gpu", [] { return std::make_unique<GpuPlugin>(); }).ok());
  return r;
}

std::unique_ptr<Scheduler> Build(const Registry& registry, const Config& config = Config()) {
  auto s = CreateScheduler(config, registry);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

HostSpec GpuHost(const std::string& id, std::int64_t gpus) {
  HostSpec h = MakeHost(id, 64, 65536);
  if (gpus > 0) h.extended_capacity = {{"gpu", gpus}};
  return h;
}

PlacementRequest GpuRequest(std::int64_t gpus, std::int32_t count = 1) {
  PlacementRequest r = MakeRequest(1, 1024, 10, count);
  r.extended_per_vm = {{"gpu", gpus}};
  return r;
}

// Counts the calls a reserver gets; refuses the hosts named in `refuse`.
struct ProbeCounters {
  int reserves = 0;
  int unreserves = 0;        // every call
  int released_claims = 0;   // calls that found a held claim
};

class ProbeReserver final : public ReservePlugin {
 public:
  ProbeReserver(std::shared_ptr<ProbeCounters> counters, std::vector<std::string> refuse)
      : counters_(std::move(counters)), refuse_(std::move(refuse)) {}
  std::string_view Name() const override { return "probe"; }
  const char* Reserve(const RequestContext&, const HostView& view, CycleState&, Assignment&,
                      Claim& claim) const override {
    ++counters_->reserves;
    for (const std::string& id : refuse_) {
      if (view.host->spec.id == id) return "probe_refused";
    }
    claim = {true, view.host->index};
    return nullptr;
  }
  void Unreserve(CycleState&, const Assignment&, Claim& claim) const override {
    ++counters_->unreserves;
    if (!claim.held) return;
    claim.held = false;
    ++counters_->released_claims;
  }

 private:
  std::shared_ptr<ProbeCounters> counters_;
  std::vector<std::string> refuse_;
};

Registry WithProbe(std::shared_ptr<ProbeCounters> counters, std::vector<std::string> refuse = {}) {
  Registry r = Registry::Builtin();
  EXPECT_TRUE(r.Add("probe", [counters, refuse] {
                 return std::make_unique<ProbeReserver>(counters, refuse);
               }).ok());
  return r;
}

// ---- a counted resource is one plugin ------------------------------------------------------

TEST(CountedResourcePlugin, GpusNeedNoEngineChange) {
  auto s = Build(WithGpus());
  s->UpsertHost(GpuHost("g2", 2));
  s->UpsertHost(GpuHost("g1", 1));
  s->UpsertHost(GpuHost("plain", 0));

  // Three one-GPU VMs, all or nothing: each VM sees the GPUs the earlier ones reserved.
  auto p = s->Place(GpuRequest(1, 3));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::map<std::string, int> per_host;
  for (const Assignment& a : p->assignments) {
    ++per_host[a.host_id];
    EXPECT_EQ(a.extended.at("gpu"), 1);
  }
  EXPECT_EQ(per_host["g2"], 2);
  EXPECT_EQ(per_host["g1"], 1);
  ASSERT_TRUE(s->Commit(*p).ok());
  EXPECT_EQ(s->Usage("g2")->extended_used.at("gpu"), 2);
  EXPECT_EQ(s->Usage("g2")->extended_limit.at("gpu"), 2);

  // Every GPU is taken: refused, and the explanation names the new reason.
  auto full = s->Place(GpuRequest(1));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().message(), "0 of 3 hosts fit: 3 insufficient_gpu");
  // VMs without GPUs are unaffected.
  EXPECT_TRUE(s->Place(MakeRequest(1, 1024)).ok());

  // Releasing gives the GPU back; releasing more than held is refused.
  ASSERT_TRUE(s->Release(p->assignments[2]).ok());
  auto again = s->Place(GpuRequest(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->assignments[0].host_id, p->assignments[2].host_id);
  Assignment too_much = p->assignments[0];
  too_much.extended["gpu"] = 5;
  EXPECT_EQ(s->Release(too_much).code(), StatusCode::kFailedPrecondition);

  // Commit re-checks the new resource like the built-in ones: a forged placement is refused.
  const std::int64_t g2_used = s->Usage("g2")->extended_used.at("gpu");
  Placement forged;
  forged.assignments.push_back({"g2", {1, 1, 1}, {}, {{"gpu", 3 - g2_used}}});
  EXPECT_EQ(s->Commit(forged).code(), StatusCode::kConflict);
  EXPECT_EQ(s->Usage("g2")->extended_used.at("gpu"), g2_used);

  // Facts change (a GPU added): use is kept. A host holding GPUs cannot be removed.
  s->UpsertHost(GpuHost("g2", 3));
  EXPECT_EQ(s->Usage("g2")->extended_used.at("gpu"), g2_used);
  EXPECT_EQ(s->Usage("g2")->extended_limit.at("gpu"), 3);
  EXPECT_EQ(s->RemoveHost("g2").code(), StatusCode::kFailedPrecondition);
}

TEST(CountedResourcePlugin, NegativeAmountsAreInvalid) {
  auto s = Build(WithGpus());
  s->UpsertHost(GpuHost("g1", 1));
  EXPECT_EQ(s->Place(GpuRequest(-1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Restore({"g1", {1, 1, 1}, {}, {{"gpu", -1}}}).code(),
            StatusCode::kInvalidArgument);
}

TEST(CountedResourcePlugin, WithoutThePluginTheRequestClaimsNothing) {
  auto s = testing::NewScheduler();  // built-ins only
  s->UpsertHost(GpuHost("g1", 1));
  auto p = s->Place(GpuRequest(4));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->assignments[0].extended.empty());
}

TEST(CountedResourcePlugin, HardAffinityFirstVmNeedsRoomForAll) {
  // The test plugin multiplies by ctx.together, which server_group's PreFilter sets: the
  // first VM of a hard affinity group must find GPUs for the whole request on one host.
  auto s = Build(WithGpus());
  s->UpsertHost(GpuHost("g1", 1));
  s->UpsertHost(GpuHost("g2", 2));
  PlacementRequest r = GpuRequest(1, 2);
  r.group_policy = GroupPolicy::kAffinity;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "g2");
  EXPECT_EQ(p->assignments[1].host_id, "g2");
  r.count = 3;
  auto q = s->Place(r);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(Rejected(q.status())["insufficient_gpu"], 2);
}

// ---- Unreserve is idempotent ---------------------------------------------------------------

// What a reservation can change, as plugins see it through the view.
struct Seen {
  Resources used;
  std::int64_t instances = 0;
  std::vector<std::int64_t> cell_cpus, cell_mem;
  std::int64_t members = 0;
  std::int64_t members_total = 0;
  std::int64_t gpus = 0;
  friend bool operator==(const Seen&, const Seen&) = default;
};

Seen Observe(const HostState& h, const CycleState& cycle) {
  HostView v = MakeView(h, cycle);
  Seen s;
  s.used = v.used;
  s.instances = v.instances;
  for (std::size_t i = 0; i < h.cells.size(); ++i) {
    s.cell_cpus.push_back(v.cell_extra ? (*v.cell_extra)[i].cpus : 0);
    s.cell_mem.push_back(v.cell_extra ? (*v.cell_extra)[i].memory_mib : 0);
  }
  s.members = v.group_members;
  s.members_total = cycle.members_total();
  s.gpus = v.ExtendedUsed("gpu");
  return s;
}

TEST(ReservePhase, UnreserveIsIdempotentForEveryReserver) {
  HostState host;
  host.index = 3;
  host.spec.id = "h3";
  host.limit = {64, 8192, 100};
  host.cells = {{0, 32, 4096, 0, 0}, {1, 32, 4096, 0, 0}};
  host.extended = {{"gpu", 2, 0}};
  PlacementRequest request = MakeRequest(4, 1024, 10);
  request.group_policy = GroupPolicy::kAntiAffinity;
  request.extended_per_vm = {{"gpu", 1}};
  RequestContext ctx;
  ctx.request = &request;

  const Registry registry = WithGpus();
  int reservers = 0;
  for (const std::string& name : registry.Names()) {
    std::unique_ptr<Plugin> plugin = registry.New(name);
    const auto* reserver = dynamic_cast<const ReservePlugin*>(plugin.get());
    if (reserver == nullptr) continue;
    ++reservers;
    SCOPED_TRACE(name);
    CycleState cycle;
    cycle.AddMember(host.index);  // an existing member, as the engine resolves them
    const Seen before = Observe(host, cycle);

    // Never reserved: harmless, with a default claim and with a claim of another host.
    Assignment vm;
    vm.host_id = host.spec.id;
    Claim never;
    reserver->Unreserve(cycle, vm, never);
    EXPECT_EQ(Observe(host, cycle), before);
    EXPECT_FALSE(never.held);

    Claim claim;
    ASSERT_EQ(reserver->Reserve(ctx, MakeView(host, cycle), cycle, vm, claim), nullptr);
    EXPECT_TRUE(claim.held);
    EXPECT_NE(Observe(host, cycle), before) << "the reservation is visible to the next VM";

    reserver->Unreserve(cycle, vm, claim);
    EXPECT_EQ(Observe(host, cycle), before);
    EXPECT_FALSE(claim.held);
    reserver->Unreserve(cycle, vm, claim);  // twice: nothing more given back
    EXPECT_EQ(Observe(host, cycle), before);
  }
  EXPECT_EQ(reservers, 4);  // capacity, server_group, numa, gpu
}

TEST(ReservePhase, RefusedHostIsUnreservedAndAnotherChosen) {
  auto counters = std::make_shared<ProbeCounters>();
  auto s = Build(WithProbe(counters, {"a"}));
  // "a" is the fullest: binpack's favourite, but the probe reserver refuses it.
  s->UpsertHost(MakeHost("a", 8, 1000));
  s->UpsertHost(MakeHost("b", 8, 1000));
  ASSERT_TRUE(s->Restore({"a", {1, 500, 10}, {}}).ok());
  auto p = s->Place(MakeRequest(1, 100, 10, 2));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->assignments[0].host_id, "b");
  EXPECT_EQ(p->assignments[1].host_id, "b");
  // Every reserver was unreserved for the refused attempt, including the probe itself,
  // which never held a claim there, and nothing of it stayed behind: b holds both VMs.
  EXPECT_EQ(counters->reserves, 4);  // 2 VMs x (a refused, then b)
  EXPECT_EQ(counters->unreserves, 2);
  EXPECT_EQ(counters->released_claims, 0);
  EXPECT_EQ(p->observed_revisions.size(), 1u);  // only b is used
  ASSERT_TRUE(s->Commit(*p).ok());
  EXPECT_EQ(s->Allocated("a")->memory_mib, 500);
  EXPECT_EQ(s->Allocated("b")->memory_mib, 200);

  // When only refused hosts remain, the refusal names the reserver's reason.
  auto q = s->Place(MakeRequest(1, 900));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), "0 of 2 hosts fit: 2 insufficient_memory");
  s->UpsertHost(MakeHost("b", 8, 100));
  auto r = s->Place(MakeRequest(1, 300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Rejected(r.status())["probe_refused"], 1);
  EXPECT_EQ(Rejected(r.status())["insufficient_memory"], 1);
}

TEST(ReservePhase, FailedRequestGivesBackEveryEarlierReservation) {
  auto counters = std::make_shared<ProbeCounters>();
  auto s = Build(WithProbe(counters));
  s->UpsertHost(MakeHost("h1", 64, 1000));
  s->UpsertHost(MakeHost("h2", 64, 1000));
  auto p = s->Place(MakeRequest(1, 400, 10, 5));  // 4 fit, the 5th does not: all or nothing
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(counters->reserves, 4);
  EXPECT_EQ(counters->released_claims, 4);
  EXPECT_EQ(s->Allocated("h1")->memory_mib, 0);
}

// ---- reservers are enabled by configuration ------------------------------------------------

TEST(ReservePhase, NumaCellsRecordedWhereTheyFitEvenWithoutTheNumaFilter) {
  Config c;
  c.filters = {"status", "capacity"};  // cells not enforced; the numa reserver still records
  auto s = testing::NewScheduler(c);
  HostSpec h = MakeHost("h1", 16, 2000);
  h.cpu_ratio = 1.0;
  h.numa_cells = {{0, 8, 1000}, {1, 8, 1000}};
  s->UpsertHost(h);
  auto p = s->Place(MakeRequest(4, 600));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].numa.size(), 1u);
  // Cells full but the host not (vCPUs added without cells): the VM fits no set of cells;
  // with the filter off it is placed, without cells.
  ASSERT_TRUE(s->Restore({"h1", {8, 700, 0}, {{0, {8, 0, 0}}, {1, {0, 700, 0}}}}).ok());
  HostSpec wide = h;
  wide.capacity.vcpus = 32;
  s->UpsertHost(wide);
  auto q = s->Place(MakeRequest(9, 100, 0));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->assignments[0].numa.empty());
  // Leaving numa out of the reservers stops recording cells.
  Config no_numa;
  no_numa.filters = {"status", "capacity"};
  no_numa.reservers = {"capacity", "server_group"};
  auto t = testing::NewScheduler(no_numa);
  t->UpsertHost(h);
  auto u = t->Place(MakeRequest(4, 600));
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->assignments[0].numa.empty());
  EXPECT_EQ(u->assignments[0].resources, (Resources{4, 600, 10}));
}

TEST(ReservePhase, WithoutTheCapacityReserverVmsConsumeNothing) {
  Config c;
  c.reservers = {"numa"};
  auto s = testing::NewScheduler(c);
  s->UpsertHost(MakeHost("h1", 8, 1000));
  auto p = s->Place(MakeRequest(1, 600, 10, 2));  // each VM fits alone; neither claims
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[1].resources, Resources{});
}

// ---- the engine's hooks serve any plugin ---------------------------------------------------

// Rates hosts by free memory after placement, leaning to the emptiest end (like spread).
class EmptiestScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "emptiest"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    return 1.0 - ShareAfter(ctx, view, 1);
  }
  double FreeMemoryLean() const override { return -1.0; }
};

// Admits only the host named "chosen", and says so.
class OnlyChosenFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "only_chosen"; }
  const char* Filter(const RequestContext&, const HostView& view) const override {
    return view.host->spec.id == "chosen" ? nullptr : "not_chosen";
  }
  bool OnlyHosts(const RequestContext&, const CycleState&,
                 std::vector<std::uint32_t>& hosts) const override {
    hosts.push_back(chosen_slot);
    return true;
  }
  static inline std::uint32_t chosen_slot = 0;
};

// Wants twice the request's memory free, declared as a bound.
class RoomyFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "roomy"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const std::int64_t free = view.host->limit.memory_mib - view.used.memory_mib;
    return free < 2 * ctx.request->per_vm.memory_mib ? "not_roomy" : nullptr;
  }
  std::optional<MemoryBound> FreeMemoryBound(const RequestContext& ctx) const override {
    return MemoryBound{2 * ctx.request->per_vm.memory_mib, "not_roomy"};
  }
};

Registry WithHookPlugins() {
  Registry r = Registry::Builtin();
  EXPECT_TRUE(r.Add("emptiest", [] { return std::make_unique<EmptiestScore>(); }).ok());
  EXPECT_TRUE(r.Add("only_chosen", [] { return std::make_unique<OnlyChosenFilter>(); }).ok());
  EXPECT_TRUE(r.Add("roomy", [] { return std::make_unique<RoomyFilter>(); }).ok());
  return r;
}

TEST(EngineHooks, ScoreLeanChoosesScanOrder) {
  Config c;
  c.filters = {"status", "capacity"};
  c.score_weights = {{"emptiest", 1.0}};
  c.max_candidates = 1;  // the first feasible host in scan order wins
  auto s = Build(WithHookPlugins(), c);
  for (int i = 0; i < 10; ++i) {
    s->UpsertHost(MakeHost("h" + std::to_string(i), 8, 1000));
    ASSERT_TRUE(s->Restore({"h" + std::to_string(i), {1, 90 * (i + 1), 1}, {}}).ok());
  }
  auto p = s->Place(MakeRequest(1, 10));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "h0");  // the emptiest, found first
  c.score_weights = {{"emptiest", 1.0}, {"binpack", 2.0}};  // the lean sums to tightest
  auto t = Build(WithHookPlugins(), c);
  for (int i = 0; i < 10; ++i) {
    t->UpsertHost(MakeHost("h" + std::to_string(i), 8, 1000));
    ASSERT_TRUE(t->Restore({"h" + std::to_string(i), {1, 90 * (i + 1), 1}, {}}).ok());
  }
  EXPECT_EQ(t->Place(MakeRequest(1, 10))->assignments[0].host_id, "h9");
}

TEST(EngineHooks, OnlyHostsSkipsTheScan) {
  Config c;
  c.filters = {"status", "capacity", "only_chosen"};
  auto s = Build(WithHookPlugins(), c);
  for (int i = 0; i < 20; ++i) s->UpsertHost(MakeHost("h" + std::to_string(100 + i), 8, 1000));
  s->UpsertHost(MakeHost("chosen", 8, 1000));
  OnlyChosenFilter::chosen_slot = 20;  // slots are given in insertion order
  auto p = s->Place(MakeRequest(1, 10));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->assignments[0].host_id, "chosen");
  EXPECT_EQ(p->explanation.hosts_examined, 1);
  PlacementRequest all = MakeRequest(1, 10);
  all.explain = true;  // the full scan agrees
  auto q = s->Place(all);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->explanation.Summary(), "1 of 21 hosts fit: 20 not_chosen");
}

TEST(EngineHooks, FirstFilterBoundCountsRefusalsWithItsReason) {
  Config c;
  c.filters = {"status", "roomy", "capacity"};
  auto s = Build(WithHookPlugins(), c);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "h" + std::to_string(i);
    s->UpsertHost(MakeHost(id, 8, 1000));
    ASSERT_TRUE(s->Restore({id, {1, 100 * i, 1}, {}}).ok());  // free: 1000 .. 500
  }
  // 300 MiB: roomy wants 600 free: h0..h4 qualify.
  PlacementRequest r = MakeRequest(1, 300);
  r.explain = true;
  auto p = s->Place(r);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->explanation.Summary(), "5 of 6 hosts fit: 1 not_roomy");
  // 600 MiB: roomy wants 1200 free, no host has it: the refusal counts every host below the
  // bound as not_roomy, from the index. 450 MiB: h0 (1000 free) and h1 (900) qualify.
  auto q = s->Place(MakeRequest(1, 600));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), "0 of 6 hosts fit: 6 not_roomy");
  auto fits = s->Place(MakeRequest(1, 450));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->assignments[0].host_id, "h1");  // binpack: the fuller of the two
}

TEST(EngineHooks, DefaultWeightsComeFromThePlugins) {
  // soft_anti_affinity is not listed but weighs kDefaultSoftGroupWeight by its own default;
  // listing it with 0 disables it.
  auto s = testing::NewScheduler();
  s->UpsertHost(MakeHost("a", 8, 1000));
  s->UpsertHost(MakeHost("b", 8, 1000));
  ASSERT_TRUE(s->Restore({"a", {1, 500, 10}, {}}).ok());
  PlacementRequest r = MakeRequest(1, 100);
  r.group_policy = GroupPolicy::kAntiAffinity;
  r.group_hard = false;
  r.group_member_hosts = {"a"};
  EXPECT_EQ(s->Place(r)->assignments[0].host_id, "b");
  Config off;
  off.score_weights = {{"binpack", 1.0}, {"soft_anti_affinity", 0.0}};
  auto t = testing::NewScheduler(off);
  t->UpsertHost(MakeHost("a", 8, 1000));
  t->UpsertHost(MakeHost("b", 8, 1000));
  ASSERT_TRUE(t->Restore({"a", {1, 500, 10}, {}}).ok());
  EXPECT_EQ(t->Place(r)->assignments[0].host_id, "a");
}

// ---- registry and configuration ------------------------------------------------------------

TEST(Registry, BuiltinsByPhaseInDefaultOrder) {
  const Registry& r = Registry::Builtin();
  std::vector<std::string> filters, scores, reservers;
  for (const std::string& name : r.Names()) {
    std::unique_ptr<Plugin> p = r.New(name);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->Name(), name);
    if (dynamic_cast<const FilterPlugin*>(p.get())) filters.push_back(name);
    if (dynamic_cast<const ScorePlugin*>(p.get())) scores.push_back(name);
    if (dynamic_cast<const ReservePlugin*>(p.get())) reservers.push_back(name);
  }
  EXPECT_EQ(filters, (std::vector<std::string>{"status", "pool", "department", "traits",
                                               "storage", "capacity", "aggregate",
                                               "server_group", "max_instances", "numa"}));
  EXPECT_EQ(scores, (std::vector<std::string>{"binpack", "spread", "balanced", "soft_affinity",
                                              "soft_anti_affinity"}));
  EXPECT_EQ(reservers, (std::vector<std::string>{"capacity", "server_group", "numa"}));
  EXPECT_EQ(r.New("no_such_plugin"), nullptr);
}

TEST(Registry, ConfigurationErrors) {
  Registry r = Registry::Builtin();
  EXPECT_EQ(r.Add("numa", [] { return std::make_unique<GpuPlugin>(); }).code(),
            StatusCode::kInvalidArgument);
  auto code = [&](const Config& c) { return CreateScheduler(c, r).status().code(); };
  Config not_a_filter;
  not_a_filter.filters = {"binpack"};
  EXPECT_EQ(code(not_a_filter), StatusCode::kInvalidArgument);
  Config not_a_score;
  not_a_score.score_weights = {{"status", 1.0}};
  EXPECT_EQ(code(not_a_score), StatusCode::kInvalidArgument);
  Config not_a_reserver;
  not_a_reserver.reservers = {"pool"};
  EXPECT_EQ(code(not_a_reserver), StatusCode::kInvalidArgument);
  Config twice;
  twice.reservers = {"numa", "numa"};
  EXPECT_EQ(code(twice), StatusCode::kInvalidArgument);
  Config unknown;
  unknown.reservers = {"gpu"};  // not registered here
  EXPECT_EQ(code(unknown), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateScheduler(unknown, WithGpus()).status().code(), StatusCode::kOk);
  // A factory whose plugin names itself differently is a registration bug.
  Registry misnamed = Registry::Builtin();
  ASSERT_TRUE(misnamed.Add("gpus", [] { return std::make_unique<GpuPlugin>(); }).ok());
  EXPECT_EQ(CreateScheduler(Config(), misnamed).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace govpool::scheduler
