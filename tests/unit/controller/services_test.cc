// Unit tests of the controller's services over an in-memory State: quota edges, RBAC between
// departments and for agents, If-Match, department deletion, heartbeat timeouts, tokens.
#include <gtest/gtest.h>

#include "controller/services/services.h"
#include "scheduler/scheduler.h"
#include "tests/unit/controller/pre_registered_host.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

constexpr std::int64_t kStartMs = 1'700'000'000'000;

class ServicesTest : public ::testing::Test {
 protected:
  ServicesTest() : s_(std::move(scheduler::Scheduler::Create(scheduler::Config{})).value()) {
    admin_ = {"u-admin", "admin", api::Role::kSystemAdmin, ""};
  }

  // Runs fn(State&, Txn&) as Db::Write does: one transaction at the next revision.
  template <typename Fn>
  auto W(Fn fn) {
    Txn t(s_.revision() + 1, now_ms_);
    auto r = fn(s_, t);
    if (!t.mutations().empty()) s_.set_revision(t.revision());
    return r;
  }

  api::Department MakeDepartment(const std::string& name, api::Quota quota = {}) {
    api::CreateDepartmentRequest req;
    req.name = name;
    req.quota = quota;
    auto d = W([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, req); });
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return *d;
  }
  api::Flavor MakeFlavor(const std::string& name, std::int64_t vcpus, std::int64_t memory_mib) {
    api::CreateFlavorRequest req;
    req.name = name;
    req.vcpus = vcpus;
    req.memory_mib = memory_mib;
    req.disk_gib = 1;
    auto f = W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, req); });
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return *f;
  }
  api::Host MakeHost(const std::string& name, std::int64_t cpus, std::int64_t memory_mib,
                     const Caller* by = nullptr) {
    api::RegisterHostRequest req;
    req.name = name;
    req.capacity = {cpus, memory_mib, 1000, {}};
    // An agent's host is pre-registered, so it takes VMs at once (not pending).
    auto h = W([&](State& s, Txn& t) {
      return by ? testing::RegisterPreRegisteredHost(s, t, *by, req) : RegisterHost(s, t, admin_, req);
    });
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return *h;
  }
  Result<api::Vm> MakeVm(const Caller& c, const std::string& name, const std::string& dept,
                         const std::string& flavor = "small") {
    api::CreateVmRequest req;
    req.name = name;
    req.department_id = dept;
    req.flavor = flavor;
    return W([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, c, req); });
  }
  Status RemoveVm(const Caller& c, const std::string& id) {
    return W([&](State& s, Txn& t) { return DeleteVm(s, t, c, id, std::nullopt, false); }).status();
  }
  Caller DeptUser(const std::string& role, const api::Department& d) {
    return {"u-" + role + "-" + d.name, role + "-" + d.name, *api::FromString<api::Role>(role), d.meta.id};
  }
  Caller Agent(const std::string& name) { return {"u-agent-" + name, name, api::Role::kAgent, ""}; }
  std::int64_t Used(const std::string& dept, const char* resource = "instances") {
    return s_.Usage(dept).*(api::FindQuotaResource(resource)->limit);
  }
  static api::Quota Quota(std::int64_t instances, std::int64_t vcpus = -1, std::int64_t memory = -1) {
    api::Quota q;
    q.instances = instances;
    q.vcpus = vcpus;
    q.memory_mib = memory;
    return q;
  }

  // Department "a", two agents with a host each, and a VM placed on the first host (made
  // before the second host exists).
  struct TwoAgents {
    api::Department department;
    Caller agent1, agent2;
    api::Host h1, h2;
    api::Vm vm;
  };
  TwoAgents MakeTwoAgentsWithAVmOnTheFirst() {
    TwoAgents two;
    two.department = MakeDepartment("a", Quota(10));
    MakeFlavor("small", 1, 512);
    two.agent1 = Agent("a1");
    two.agent2 = Agent("a2");
    two.h1 = MakeHost("h1", 4, 4096, &two.agent1);
    auto vm = MakeVm(admin_, "v", two.department.meta.id);
    EXPECT_TRUE(vm.ok()) << vm.status().ToString();
    if (vm.ok()) two.vm = *vm;
    EXPECT_EQ(two.vm.host_id, two.h1.meta.id);
    two.h2 = MakeHost("h2", 4, 4096, &two.agent2);
    return two;
  }

  State s_;
  Caller admin_;
  std::int64_t now_ms_ = kStartMs;
};

std::string DetailString(const Status& s, const std::string& key) {
  for (const auto& [k, v] : s.details()) {
    if (k == key && std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  }
  return "";
}
std::int64_t DetailInt(const Status& s, const std::string& key) {
  for (const auto& [k, v] : s.details()) {
    if (k == key && std::holds_alternative<std::int64_t>(v)) return std::get<std::int64_t>(v);
  }
  return -999;
}

// ---------------- Metrics targets ----------------

// Prometheus finds agents through the controller: every host whose agent registered a metrics
// address, labelled for joins and relabelling; a bad address is refused at registration; only
// the scrape roles read the list.
TEST_F(ServicesTest, HostsWithAMetricsAddressAreListedForPrometheus) {
  api::RegisterHostRequest req;
  req.name = "h1";
  req.pool = "east";
  req.capacity = {4, 4096, 100, {}};
  req.metrics_address = "h1.dc.example:9478";
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, req); }).ok());
  req.name = "h2";
  req.metrics_address = "";
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, req); }).ok());
  for (const char* bad : {"h1", "h1:0", "h1:65536", "-h:1", "fd00::1:9478", "h1.:80", "a b:1"}) {
    req.metrics_address = bad;
    auto refused = W([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, req); });
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(DetailString(refused.status(), "field"), "metrics_address") << bad;
  }
  req.metrics_address = "[fd00::1]:9478";
  EXPECT_TRUE(W([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, req); }).ok());

  const Caller reader{"u-prom", "prometheus", api::Role::kMetricsReader, ""};
  auto groups = ListMetricsTargets(s_, reader);
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  ASSERT_EQ(groups->size(), 2u);
  const api::MetricsTargetGroup& h1 = (*groups)[0].labels.at("host") == "h1" ? (*groups)[0] : (*groups)[1];
  EXPECT_EQ(h1.targets, std::vector<std::string>{"h1.dc.example:9478"});
  EXPECT_EQ(h1.labels.at("pool"), "east");
  EXPECT_FALSE(h1.labels.at("host_id").empty());
  EXPECT_EQ(h1.labels.at("__meta_govpool_host_status"), "up");
  EXPECT_EQ(h1.labels.at("__meta_govpool_host_enabled"), "true");
  EXPECT_EQ(ListMetricsTargets(s_, Agent("a1")).status().code(), StatusCode::kPermissionDenied);
  const api::Department d = MakeDepartment("d");
  EXPECT_EQ(ListMetricsTargets(s_, DeptUser("dept-admin", d)).status().code(), StatusCode::kPermissionDenied);
}

// The consolidation report: VMs spread over two hosts fit on one; a pending host is no room.
TEST_F(ServicesTest, ConsolidationCountsTheHostsThePackedAllocationNeeds) {
  const api::Department d = MakeDepartment("d", Quota(-1));
  MakeFlavor("small", 1, 1024);
  const api::Host h1 = MakeHost("h1", 4, 4096);
  ASSERT_TRUE(MakeVm(admin_, "v1", d.meta.id).ok());
  MakeHost("h2", 4, 4096);
  api::PatchHostRequest off;
  off.enabled = false;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, h1.meta.id, std::nullopt, off); }).ok());
  ASSERT_TRUE(MakeVm(admin_, "v2", d.meta.id).ok());  // to h2: h1 takes nothing now
  api::PatchHostRequest on;
  on.enabled = true;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, h1.meta.id, std::nullopt, on); }).ok());
  api::RegisterHostRequest pending;
  pending.name = "h3";
  pending.capacity = {64, 65536, 1000, {}};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("a3"), pending); }).ok());

  auto input = CollectConsolidation(s_, admin_);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  auto report = PackConsolidation(std::move(*input), now_ms_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->pools.size(), 1u);
  const api::PoolConsolidation& p = report->pools[0];
  EXPECT_EQ(p.hosts, 2) << "the pending host is left out";
  EXPECT_EQ(p.hosts_in_use, 2);
  EXPECT_EQ(p.vms, 2);
  EXPECT_EQ(p.hosts_needed, 1);
  EXPECT_EQ(p.hosts_freeable, 1);
  EXPECT_EQ(p.vms_unplaced, 0);
  EXPECT_EQ(CollectConsolidation(s_, DeptUser("dept-admin", d)).status().code(), StatusCode::kPermissionDenied);
}

// ---------------- Quota ----------------

TEST_F(ServicesTest, ServerGroupQuotaRefusesTheOneTooManyAndADeletionFreesIt) {
  api::Quota quota;
  quota.server_groups = 2;
  const auto d = MakeDepartment("a", quota);
  auto create = [&](const std::string& name) {
    api::CreateServerGroupRequest req;
    req.name = name;
    req.department_id = d.meta.id;
    return W([&](State& s, Txn& t) { return CreateServerGroup(s, t, admin_, req); });
  };
  ASSERT_TRUE(create("g1").ok());
  auto second = create("g2");
  ASSERT_TRUE(second.ok());
  auto third = create("g3");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(third.status(), "resource"), "server_groups");
  EXPECT_EQ(DetailInt(third.status(), "used"), 2);
  EXPECT_EQ(s_.Usage(d.meta.id).server_groups, 2);
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteServerGroup(s, t, admin_, second->meta.id); }).ok());
  EXPECT_EQ(s_.Usage(d.meta.id).server_groups, 1);
  EXPECT_TRUE(create("g3").ok());
}

TEST_F(ServicesTest, InstanceQuotaRefusesTheOneTooMany) {
  const auto d = MakeDepartment("a", Quota(2));
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  ASSERT_TRUE(MakeVm(admin_, "v1", d.meta.id).ok());
  ASSERT_TRUE(MakeVm(admin_, "v2", d.meta.id).ok());
  auto third = MakeVm(admin_, "v3", d.meta.id);
  ASSERT_FALSE(third.ok());
  const Status st = third.status();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailString(st, "resource"), "instances");
  EXPECT_EQ(DetailInt(st, "requested"), 1);
  EXPECT_EQ(DetailInt(st, "used"), 2);
  EXPECT_EQ(DetailInt(st, "limit"), 2);
  EXPECT_EQ(Used(d.meta.id), 2);
  EXPECT_EQ(s_.vms().size(), 2u);
}

// Guest configuration (cloud-init): the host name defaults to the VM's name made a label, a
// given one is numbered with count; the record keeps keys and user_data; lists leave user_data
// out.
TEST_F(ServicesTest, VmsKeepTheirGuestConfiguration) {
  const auto d = MakeDepartment("a", Quota(10));
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  auto plain = MakeVm(admin_, "Web_01", d.meta.id);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->hostname, "web-01");

  api::CreateVmRequest req;
  req.name = "db";
  req.department_id = d.meta.id;
  req.flavor = "small";
  req.count = 2;
  req.hostname = "store";
  req.ssh_authorized_keys = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmP3bTRzJzK1iTb4tz9HkNmC6nY6c0u8C8s7rVYJjXh a@b"};
  req.user_data = "#cloud-config\npackages: [nginx]\n";
  auto vms = W([&](State& s, Txn& t) { return CreateVms(s, t, admin_, req); });
  ASSERT_TRUE(vms.ok()) << vms.status().ToString();
  ASSERT_EQ(vms->size(), 2u);
  EXPECT_EQ((*vms)[0].hostname, "store-1");
  EXPECT_EQ((*vms)[1].hostname, "store-2");
  EXPECT_EQ((*vms)[1].ssh_authorized_keys, req.ssh_authorized_keys);
  EXPECT_EQ(s_.FindVm((*vms)[0].meta.id)->user_data, req.user_data);
  auto got = GetVm(s_, admin_, (*vms)[0].meta.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->user_data, req.user_data);
  for (const api::Vm& listed : ListVms(s_, admin_, {}, {}).items) {
    EXPECT_TRUE(listed.user_data.empty()) << listed.name;
    if (listed.name == "db-1") {
      EXPECT_EQ(listed.hostname, "store-1");
    }
  }

  req.count = 1;
  req.name = "long";
  req.hostname = std::string(63, 'x');
  EXPECT_TRUE(W([&](State& s, Txn& t) { return CreateVms(s, t, admin_, req); }).ok()) << "63 is fine alone";
  req.name = "longer";
  req.count = 2;
  auto too_long = W([&](State& s, Txn& t) { return CreateVms(s, t, admin_, req); });
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(too_long.status(), "field"), "hostname");
}

TEST_F(ServicesTest, VcpuAndMemoryQuotasNameTheirResource) {
  const auto d = MakeDepartment("a", Quota(100, 6, 100000));
  const auto m = MakeDepartment("m", Quota(100, -1, 3000));
  MakeFlavor("small", 4, 1024);
  MakeHost("h", 64, 65536);
  ASSERT_TRUE(MakeVm(admin_, "v1", d.meta.id).ok());
  auto over = MakeVm(admin_, "v2", d.meta.id);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(DetailString(over.status(), "resource"), "vcpus");
  EXPECT_EQ(DetailInt(over.status(), "used"), 4);
  EXPECT_EQ(DetailInt(over.status(), "requested"), 4);
  ASSERT_TRUE(MakeVm(admin_, "v1", m.meta.id).ok());
  ASSERT_TRUE(MakeVm(admin_, "v2", m.meta.id).ok());
  auto mem = MakeVm(admin_, "v3", m.meta.id);
  ASSERT_FALSE(mem.ok());
  EXPECT_EQ(DetailString(mem.status(), "resource"), "memory_mib");
  EXPECT_EQ(Used(m.meta.id, "memory_mib"), 2048);
}

TEST_F(ServicesTest, MinusOneIsUnlimitedAndZeroAllowsNothing) {
  const auto unlimited = MakeDepartment("u", Quota(-1, -1, -1));
  const auto none = MakeDepartment("z", Quota(0));
  MakeFlavor("small", 1, 64);
  MakeHost("h", 1024, 1 << 20);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(MakeVm(admin_, "v" + std::to_string(i), unlimited.meta.id).ok()) << i;
  }
  EXPECT_EQ(Used(unlimited.meta.id), 60);
  auto refused = MakeVm(admin_, "v", none.meta.id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(DetailInt(refused.status(), "limit"), 0);
}

// Lowering a limit below what is held is refused with the numbers (docs/departments.md): no
// quota takes a running VM away, and none claims a bound the usage already breaks.
TEST_F(ServicesTest, LoweringALimitBelowUsageIsRefusedWithTheNumbers) {
  const auto d = MakeDepartment("a", Quota(5));
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(MakeVm(admin_, "v" + std::to_string(i), d.meta.id)->meta.id);
  api::PatchDepartmentRequest patch;
  patch.quota = api::QuotaPatch{};
  patch.quota->instances = 1;
  auto refused = W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, d.meta.id, std::nullopt, patch); });
  ASSERT_EQ(refused.status().reason(), "QUOTA_BELOW_USAGE") << refused.status().ToString();
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(DetailInt(refused.status(), "used"), 3);
  EXPECT_EQ(DetailInt(refused.status(), "requested"), 1);
  EXPECT_EQ(s_.FindDepartment(d.meta.id)->quota.instances, 5) << "nothing changed";
  ASSERT_TRUE(RemoveVm(admin_, ids[0]).ok());
  ASSERT_TRUE(RemoveVm(admin_, ids[1]).ok());
  auto patched = W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, d.meta.id, std::nullopt, patch); });
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->quota.instances, 1);
  auto usage = GetUsage(s_, admin_, d.meta.id);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->usage.at("instances").used, 1);
  EXPECT_EQ(usage->usage.at("instances").subtree_used, 1);
  EXPECT_EQ(usage->usage.at("instances").limit, 1);
  EXPECT_FALSE(MakeVm(admin_, "new", d.meta.id).ok()) << "1 in use, limit 1";
  ASSERT_TRUE(RemoveVm(admin_, ids[2]).ok());
  EXPECT_TRUE(MakeVm(admin_, "new", d.meta.id).ok());
}

TEST_F(ServicesTest, DeletingAVmFreesQuotaAndHostAllocation) {
  const auto d = MakeDepartment("a", Quota(1));
  MakeFlavor("small", 2, 2048);
  const auto h = MakeHost("h", 8, 8192);
  auto vm = MakeVm(admin_, "v", d.meta.id);
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->host_id, h.meta.id);
  EXPECT_EQ(s_.RenderHost(*s_.FindHost(h.meta.id)).allocated.memory_mib, 2048);
  EXPECT_EQ(s_.RenderHost(*s_.FindHost(h.meta.id)).instances, 1);
  ASSERT_TRUE(RemoveVm(admin_, vm->meta.id).ok());
  EXPECT_EQ(s_.RenderHost(*s_.FindHost(h.meta.id)).allocated.memory_mib, 0);
  EXPECT_EQ(s_.RenderHost(*s_.FindHost(h.meta.id)).instances, 0);
  EXPECT_EQ(Used(d.meta.id), 0);
  EXPECT_EQ(Used(d.meta.id, "vcpus"), 0);
  EXPECT_TRUE(MakeVm(admin_, "v", d.meta.id).ok()) << "the name and the quota are free again";
}

TEST_F(ServicesTest, FlavorTraitsAndAggregatesSteerPlacement) {
  const auto d = MakeDepartment("a", Quota(100));
  MakeFlavor("small", 1, 512);
  const auto plain = MakeHost("plain", 8, 8192);
  const auto secure = MakeHost("secure", 8, 4096);  // tighter: binpack would prefer it anyway
  api::PatchHostRequest patch;
  patch.aggregates = std::vector<std::string>{"classified"};
  patch.traits = std::vector<std::string>{"ssd"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, secure.meta.id, std::nullopt, patch); }).ok());
  api::CreateFlavorRequest req;
  req.name = "classified";
  req.vcpus = 1;
  req.memory_mib = 512;
  req.required_aggregates = {"classified"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, req); }).ok());
  req.name = "no-ssd";
  req.required_aggregates = {};
  req.forbidden_traits = {"ssd"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, req); }).ok());
  for (int i = 0; i < 3; ++i) {
    auto vm = MakeVm(admin_, "c" + std::to_string(i), d.meta.id, "classified");
    ASSERT_TRUE(vm.ok()) << vm.status().ToString();
    EXPECT_EQ(vm->host_id, secure.meta.id);
    auto other = MakeVm(admin_, "n" + std::to_string(i), d.meta.id, "no-ssd");
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_EQ(other->host_id, plain.meta.id);
  }
  patch.aggregates = std::vector<std::string>{};
  patch.traits.reset();
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, secure.meta.id, std::nullopt, patch); }).ok());
  auto refused = MakeVm(admin_, "c9", d.meta.id, "classified");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().reason(), "NO_VALID_HOST");
}

TEST_F(ServicesTest, NoValidHostExplainsTheRejections) {
  const auto d = MakeDepartment("a", Quota(100));
  MakeFlavor("small", 1, 4096);
  MakeHost("h1", 8, 8192);
  MakeHost("h2", 8, 4096);
  int placed = 0;
  for (int i = 0; i < 10; ++i) placed += MakeVm(admin_, "v" + std::to_string(i), d.meta.id).ok();
  EXPECT_EQ(placed, 3);
  auto refused = MakeVm(admin_, "x", d.meta.id);
  ASSERT_FALSE(refused.ok());
  const Status st = refused.status();
  EXPECT_EQ(st.reason(), "NO_VALID_HOST");
  EXPECT_EQ(DetailInt(st, "hosts_total"), 2);
  bool has_rejected = false;
  for (const auto& [k, v] : st.details()) {
    if (k != "rejected") continue;
    has_rejected = true;
    std::int64_t total = 0;
    for (const auto& [reason, n] : std::get<std::map<std::string, std::int64_t>>(v)) total += n;
    EXPECT_EQ(total, 2);
  }
  EXPECT_TRUE(has_rejected);
  EXPECT_EQ(Used(d.meta.id), 3) << "a refused create takes no quota";
  for (const auto& [id, h] : s_.hosts()) {
    const api::Host r = s_.RenderHost(h);
    EXPECT_LE(r.allocated.memory_mib, r.capacity.memory_mib);
  }
}

// ---------------- RBAC ----------------

TEST_F(ServicesTest, DepartmentUsersSeeOnlyTheirDepartment) {
  const auto a = MakeDepartment("a", Quota(10));
  const auto b = MakeDepartment("b", Quota(10));
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  const auto vm_b = MakeVm(admin_, "vb", b.meta.id);
  ASSERT_TRUE(vm_b.ok());
  const Caller a_admin = DeptUser("dept-admin", a);
  const Caller a_member = DeptUser("dept-member", a);
  const auto vm_a = MakeVm(a_admin, "va", a.meta.id);
  ASSERT_TRUE(vm_a.ok()) << vm_a.status().ToString();

  for (const Caller& c : {a_admin, a_member}) {
    EXPECT_EQ(GetDepartment(s_, c, b.meta.id).status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(GetDepartment(s_, c, a.meta.id).ok());
    EXPECT_EQ(GetUsage(s_, c, b.meta.id).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(GetVm(s_, c, vm_b->meta.id).status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(GetVm(s_, c, vm_a->meta.id).ok());
    auto depts = ListDepartments(s_, c, {});
    ASSERT_EQ(depts.items.size(), 1u);
    EXPECT_EQ(depts.items[0].meta.id, a.meta.id);
    auto vms = ListVms(s_, c, {}, {});
    ASSERT_EQ(vms.items.size(), 1u);
    EXPECT_EQ(vms.items[0].meta.id, vm_a->meta.id);
    VmFilter other;
    other.department_id = b.meta.id;
    EXPECT_TRUE(ListVms(s_, c, other, {}).items.empty());
  }
  // Writes into another department are NOT_FOUND, never PERMISSION_DENIED (no leak).
  EXPECT_EQ(MakeVm(a_admin, "x", b.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RemoveVm(a_admin, vm_b->meta.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(W([&](State& s, Txn& t) { return VmAction(s, t, a_admin, vm_b->meta.id, "stop"); }).status().code(),
            StatusCode::kNotFound);
  // A member reads but does not create or delete.
  EXPECT_EQ(MakeVm(a_member, "m", a.meta.id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(RemoveVm(a_member, vm_a->meta.id).code(), StatusCode::kPermissionDenied);
  // Department roles cannot administer.
  api::CreateDepartmentRequest req;
  req.name = "c";
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateDepartment(s, t, a_admin, req); }).status().code(),
            StatusCode::kPermissionDenied);
  api::CreateFlavorRequest freq;
  freq.name = "f";
  freq.vcpus = 1;
  freq.memory_mib = 64;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateFlavor(s, t, a_admin, freq); }).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(GetFlavor(s_, a_member, "small").ok()) << "flavors are readable by all";
  EXPECT_TRUE(ListHosts(s_, a_admin, {}, {}).items.empty());
  EXPECT_EQ(s_.vms().size(), 2u);
}

TEST_F(ServicesTest, MembersPowerActionsFollowTheirDepartmentsSetting) {
  const auto a = MakeDepartment("a");
  const auto b = MakeDepartment("b");
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  const Caller a_admin = DeptUser("dept-admin", a);
  const Caller a_member = DeptUser("dept-member", a);
  const auto vm = MakeVm(a_admin, "va", a.meta.id);
  ASSERT_TRUE(vm.ok()) << vm.status().ToString();
  auto act = [&](const Caller& c, const std::string& action) {
    return W([&](State& s, Txn& t) { return VmAction(s, t, c, vm->meta.id, action); }).status();
  };
  auto allow = [&](const Caller& c, const std::string& department_id, bool allowed) {
    api::PatchDepartmentRequest req;
    req.member_power_actions = allowed;
    return W([&](State& s, Txn& t) { return PatchDepartment(s, t, c, department_id, std::nullopt, req); }).status();
  };

  // Off by default: the member is refused, its dept-admin is not.
  EXPECT_FALSE(s_.FindDepartment(a.meta.id)->member_power_actions);
  const Status refused = act(a_member, "stop");
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("member_power_actions"), std::string::npos) << refused.message();
  EXPECT_EQ(s_.FindVm(vm->meta.id)->power, api::PowerState::kRunning);
  EXPECT_TRUE(act(a_admin, "reboot").ok());

  // The department's dept-admin switches it on (that field only, its department only).
  EXPECT_TRUE(allow(a_admin, a.meta.id, true).ok());
  EXPECT_TRUE(act(a_member, "stop").ok());
  EXPECT_EQ(s_.FindVm(vm->meta.id)->power, api::PowerState::kStopped);
  EXPECT_TRUE(act(a_member, "start").ok());
  EXPECT_EQ(allow(a_admin, b.meta.id, true).code(), StatusCode::kNotFound);
  EXPECT_EQ(allow(a_member, a.meta.id, false).code(), StatusCode::kPermissionDenied);
  api::PatchDepartmentRequest quota_too;
  quota_too.member_power_actions = true;
  quota_too.quota = api::QuotaPatch{};
  quota_too.quota->instances = 1000;
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchDepartment(s, t, a_admin, a.meta.id, std::nullopt, quota_too); })
                .status()
                .code(),
            StatusCode::kPermissionDenied)
      << "a dept-admin changes no quota";

  // The system-admin switches it off again.
  EXPECT_TRUE(allow(admin_, a.meta.id, false).ok());
  EXPECT_EQ(act(a_member, "stop").code(), StatusCode::kPermissionDenied);
}

TEST_F(ServicesTest, AgentsActOnlyOnTheirOwnHosts) {
  const TwoAgents two = MakeTwoAgentsWithAVmOnTheFirst();
  // References, not a structured binding: Clang 14 cannot capture those in lambdas.
  const api::Department& d = two.department;
  const Caller& agent1 = two.agent1;
  const Caller& agent2 = two.agent2;
  const api::Host& h1 = two.h1;
  const api::Host& h2 = two.h2;
  const api::Vm& vm = two.vm;
  ASSERT_EQ(h1.agent_user_id, agent1.user_id);

  EXPECT_TRUE(GetHost(s_, agent1, h1.meta.id).ok());
  EXPECT_EQ(GetHost(s_, agent1, h2.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ListHosts(s_, agent1, {}, {}).items.size(), 1u);
  EXPECT_TRUE(W([&](State& s, Txn& t) { return Heartbeat(s, t, agent1, h1.meta.id); }).ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return Heartbeat(s, t, agent2, h1.meta.id); }).status().code(),
            StatusCode::kNotFound);
  // Re-registering another agent's host is refused; its own is idempotent by name.
  api::RegisterHostRequest again;
  again.name = "h1";
  again.capacity = {8, 8192, 1000, {}};
  EXPECT_EQ(W([&](State& s, Txn& t) { return RegisterHost(s, t, agent2, again); }).status().code(),
            StatusCode::kPermissionDenied);
  auto re = W([&](State& s, Txn& t) { return RegisterHost(s, t, agent1, again); });
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(re->meta.id, h1.meta.id);
  EXPECT_EQ(re->capacity.cpus, 8);
  EXPECT_EQ(s_.hosts().size(), 2u);
  // VMs: the agent of the VM's host sees and reports it; another agent does not.
  EXPECT_TRUE(GetVm(s_, agent1, vm.meta.id).ok());
  EXPECT_EQ(GetVm(s_, agent2, vm.meta.id).status().code(), StatusCode::kNotFound);
  api::VmStatusReport report{api::VmState::kRunning, "", 1};
  auto reported = W([&](State& s, Txn& t) { return ReportVmStatus(s, t, agent1, vm.meta.id, report); });
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_EQ(reported->state, api::VmState::kRunning);
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReportVmStatus(s, t, agent2, vm.meta.id, report); }).status().code(),
            StatusCode::kNotFound);
  const Caller dept_admin = DeptUser("dept-admin", d);
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReportVmStatus(s, t, dept_admin, vm.meta.id, report); }).status().code(),
            StatusCode::kPermissionDenied);
  // Agents cannot create VMs or departments.
  EXPECT_FALSE(MakeVm(agent1, "x", d.meta.id).ok());
  // Department users cannot register hosts.
  EXPECT_EQ(W([&](State& s, Txn& t) { return RegisterHost(s, t, dept_admin, again); }).status().code(),
            StatusCode::kPermissionDenied);
}

// The review's finding: an agent token registered a host straight into a confined
// department's pool, and that department's VMs went there. Now every new host a token agent
// registers on its own waits, pending, for a system-admin.
TEST_F(ServicesTest, ATokenAgentsNewHostIsPendingUntilASystemAdminApprovesIt) {
  MakeFlavor("small", 1, 512);
  api::CreateDepartmentRequest dreq;
  dreq.name = "secret";
  dreq.allowed_pools = {"secure"};
  auto d = W([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, dreq); });
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const api::Department shared = MakeDepartment("shared", Quota(10));
  api::RegisterHostRequest req;
  req.name = "rogue";
  req.pool = "secure";
  req.capacity = {8, 8192, 1000, {}};
  auto rogue = W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("rogue"), req); });
  ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
  EXPECT_TRUE(rogue->pending);
  EXPECT_FALSE(rogue->enabled);
  EXPECT_FALSE(MakeVm(admin_, "v1", d->meta.id).ok()) << "no VM of the confined department goes there";
  // In a shared pool just the same: no VM before the approval.
  req.name = "plain";
  req.pool = "general";
  auto plain = W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("plain"), req); });
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->pending);
  EXPECT_EQ(MakeVm(admin_, "v2", shared.meta.id).status().reason(), "NO_VALID_HOST") << "no host takes it";
  // Re-registering approves nothing; neither does an administrator's other change.
  req.name = "rogue";
  req.pool = "secure";
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("rogue"), req); }).ok());
  api::PatchHostRequest traits;
  traits.traits = std::vector<std::string>{"ssd"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, rogue->meta.id, {}, traits); }).ok());
  EXPECT_TRUE(s_.FindHost(rogue->meta.id)->pending);
  EXPECT_FALSE(s_.FindHost(rogue->meta.id)->enabled);
  // Enabling it is the approval.
  api::PatchHostRequest enable;
  enable.enabled = true;
  auto approved = W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, rogue->meta.id, {}, enable); });
  ASSERT_TRUE(approved.ok());
  EXPECT_FALSE(approved->pending);
  EXPECT_TRUE(MakeVm(admin_, "v3", d->meta.id).ok());
  // Disabling it later is an administrator's choice, not a new approval to wait for.
  enable.enabled = false;
  EXPECT_FALSE(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, rogue->meta.id, {}, enable); })->pending);
}

TEST_F(ServicesTest, APreRegisteredHostIsTakenOverByItsAgentAsTheAdministratorSetIt) {
  const api::Department d = MakeDepartment("a", Quota(10));
  MakeFlavor("small", 1, 512);
  api::RegisterHostRequest pre;
  pre.name = "node-7";
  pre.pool = "core";
  pre.traits = {"ssd"};
  pre.capacity = {8, 8192, 1000, {}};
  auto registered = W([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, pre); });
  ASSERT_TRUE(registered.ok());
  EXPECT_TRUE(registered->agent_user_id.empty());
  // The agent says another pool and no traits: the administrator's stay.
  api::RegisterHostRequest from_agent;
  from_agent.name = "node-7";
  from_agent.pool = "edge";
  from_agent.capacity = {16, 16384, 1000, {}};
  auto taken = W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("a7"), from_agent); });
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->meta.id, registered->meta.id);
  EXPECT_EQ(taken->agent_user_id, Agent("a7").user_id);
  EXPECT_EQ(taken->pool, "core");
  EXPECT_EQ(taken->traits, std::vector<std::string>{"ssd"});
  EXPECT_EQ(taken->capacity.cpus, 16) << "capacity is the agent's";
  EXPECT_FALSE(taken->pending);
  EXPECT_TRUE(taken->enabled);
  auto vm = MakeVm(admin_, "v", d.meta.id);
  ASSERT_TRUE(vm.ok()) << vm.status().ToString();
  EXPECT_EQ(vm->host_id, taken->meta.id);
  // Once taken, it is that agent's: another one is refused.
  EXPECT_EQ(W([&](State& s, Txn& t) { return RegisterHost(s, t, Agent("a8"), from_agent); }).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ServicesTest, AgentEventsNameOnlyTheirHostsVmsAndKnownKinds) {
  const TwoAgents two = MakeTwoAgentsWithAVmOnTheFirst();
  // References, not a structured binding: Clang 14 cannot capture those in lambdas.
  const api::Department& d = two.department;
  const Caller& agent1 = two.agent1;
  const Caller& agent2 = two.agent2;
  const api::Host& h1 = two.h1;
  const api::Host& h2 = two.h2;
  const api::Vm& vm = two.vm;
  auto report = [&](const Caller& agent, const std::string& host, std::vector<api::EventReport> events) {
    return W([&](State& s, Txn& t) { return ReportEvents(s, t, agent, host, api::ReportEventsRequest{events}); });
  };
  const Caller member = DeptUser("dept-member", d);
  auto seen_by_department = [&] { return ListEvents(s_, member, EventFilter{"", "", 100}).size(); };

  ASSERT_TRUE(report(agent1, h1.meta.id, {{vm.meta.id, "restarted", "domain restarted"}}).ok());
  EXPECT_EQ(seen_by_department(), 1u);
  // Another host's agent cannot write into this VM's history (its event is not kept), nor mint
  // kinds (the report is refused, and nothing of it kept).
  const std::size_t before = s_.events().size();
  ASSERT_TRUE(report(agent2, h2.meta.id, {{vm.meta.id, "restarted", "forged"}}).ok()) << "answered, not kept";
  EXPECT_EQ(s_.events().size(), before);
  Status kind = report(agent1, h1.meta.id, {{vm.meta.id, "restarted", "fine"}, {vm.meta.id, "kind-" + std::string(40, 'x'), "new series"}});
  EXPECT_EQ(kind.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DetailString(kind, "field"), "events[1].kind");
  EXPECT_EQ(report(agent1, h1.meta.id, {{"../../etc", "restarted", "path"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_.events().size(), before);
  // An orphan's removal may name any VM, but only the system-admin sees it then.
  ASSERT_TRUE(report(agent2, h2.meta.id, {{vm.meta.id, "orphan_removed", "stray domain removed"}}).ok());
  EXPECT_EQ(seen_by_department(), 1u);
  EXPECT_EQ(ListEvents(s_, admin_, EventFilter{"", "", 100}).size(), 2u);
}

// ---------------- If-Match, names, deletion ----------------

TEST_F(ServicesTest, IfMatchConflictsWhenStale) {
  const auto d = MakeDepartment("a", Quota(10));
  api::PatchDepartmentRequest p;
  p.description = "one";
  auto ok = W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, d.meta.id, d.meta.revision, p); });
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_GT(ok->meta.revision, d.meta.revision);
  EXPECT_EQ(ok->meta.created_at_ms, d.meta.created_at_ms);
  auto stale = W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, d.meta.id, d.meta.revision, p); });
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_EQ(stale.status().reason(), "CONFLICT");
  EXPECT_EQ(DetailInt(stale.status(), "current_revision"), ok->meta.revision);
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteDepartment(s, t, admin_, d.meta.id, d.meta.revision); }).code(),
            StatusCode::kConflict);
  EXPECT_NE(s_.FindDepartment(d.meta.id), nullptr);

  MakeFlavor("small", 1, 512);
  const auto h = MakeHost("h", 8, 8192);
  api::PatchHostRequest hp;
  hp.enabled = false;
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchHost(s, t, admin_, h.meta.id, h.meta.revision + 100, hp); })
                .status().code(),
            StatusCode::kConflict);
  auto vm = MakeVm(admin_, "v", d.meta.id);
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteVm(s, t, admin_, vm->meta.id, vm->meta.revision - 1, false); })
                .status().code(),
            StatusCode::kConflict);
  EXPECT_TRUE(W([&](State& s, Txn& t) { return DeleteVm(s, t, admin_, vm->meta.id, vm->meta.revision, false); }).ok());
}

TEST_F(ServicesTest, NamesAreUniqueWhereTheyMustBe) {
  const auto a = MakeDepartment("a", Quota(10));
  const auto b = MakeDepartment("b", Quota(10));
  api::CreateDepartmentRequest dup;
  dup.name = "a";
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, dup); }).status().code(),
            StatusCode::kAlreadyExists);
  api::PatchDepartmentRequest rename;
  rename.name = "a";
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, b.meta.id, std::nullopt, rename); })
                .status().code(),
            StatusCode::kAlreadyExists);
  MakeFlavor("small", 1, 512);
  api::CreateFlavorRequest fdup;
  fdup.name = "small";
  fdup.vcpus = 2;
  fdup.memory_mib = 512;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, fdup); }).status().code(),
            StatusCode::kAlreadyExists);
  MakeHost("h", 64, 65536);
  ASSERT_TRUE(MakeVm(admin_, "web", a.meta.id).ok());
  EXPECT_EQ(MakeVm(admin_, "web", a.meta.id).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(MakeVm(admin_, "web", b.meta.id).ok()) << "VM names are unique per department only";
  EXPECT_EQ(MakeVm(admin_, "x", a.meta.id, "no-such-flavor").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeVm(admin_, "x", "00000000-0000-0000-0000-000000000000").status().code(), StatusCode::kNotFound);
}

TEST_F(ServicesTest, DeletingADepartmentIsRefusedWhileItOwnsVmsOrUsers) {
  const auto d = MakeDepartment("a", Quota(10));
  MakeFlavor("small", 1, 512);
  MakeHost("h", 64, 65536);
  auto vm = MakeVm(admin_, "v", d.meta.id);
  ASSERT_TRUE(vm.ok());
  auto del = [&] { return W([&](State& s, Txn& t) { return DeleteDepartment(s, t, admin_, d.meta.id, std::nullopt); }); };
  Status refused = del();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.reason(), "DEPARTMENT_NOT_EMPTY");
  EXPECT_EQ(DetailInt(refused, "instances"), 1);
  ASSERT_TRUE(RemoveVm(admin_, vm->meta.id).ok());

  api::CreateUserRequest ureq{"member", api::Role::kDeptMember, d.meta.id};
  const Caller sec{"u-sec", "secadmin", api::Role::kSecurityAdmin, ""};
  auto user = W([&](State& s, Txn& t) { return CreateUser(s, t, sec, ureq); });
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(del().code(), StatusCode::kFailedPrecondition) << "a department user still belongs to it";
  EXPECT_NE(s_.FindDepartment(d.meta.id), nullptr);
  // Non-admins cannot delete departments (and other departments do not exist for them).
  const Caller member = DeptUser("dept-admin", d);
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteDepartment(s, t, member, d.meta.id, std::nullopt); }).code(),
            StatusCode::kPermissionDenied);

  const auto empty = MakeDepartment("empty", Quota(10));
  EXPECT_TRUE(W([&](State& s, Txn& t) { return DeleteDepartment(s, t, admin_, empty.meta.id, std::nullopt); }).ok());
  EXPECT_EQ(s_.FindDepartment(empty.meta.id), nullptr);
  EXPECT_EQ(GetDepartment(s_, admin_, empty.meta.id).status().code(), StatusCode::kNotFound);
}

TEST_F(ServicesTest, UsersNeedAValidDepartmentForDepartmentRoles) {
  const auto d = MakeDepartment("a", Quota(10));
  const Caller sec{"u-sec", "secadmin", api::Role::kSecurityAdmin, ""};
  api::CreateUserRequest no_dept{"x", api::Role::kDeptAdmin, ""};
  EXPECT_FALSE(W([&](State& s, Txn& t) { return CreateUser(s, t, sec, no_dept); }).ok());
  api::CreateUserRequest bad_dept{"y", api::Role::kDeptMember, "00000000-0000-0000-0000-000000000000"};
  EXPECT_FALSE(W([&](State& s, Txn& t) { return CreateUser(s, t, sec, bad_dept); }).ok());
  api::CreateUserRequest ok{"z", api::Role::kDeptMember, d.meta.id};
  EXPECT_TRUE(W([&](State& s, Txn& t) { return CreateUser(s, t, sec, ok); }).ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateUser(s, t, sec, ok); }).status().code(),
            StatusCode::kAlreadyExists);
  const Caller dept_admin = DeptUser("dept-admin", d);
  api::CreateUserRequest by_dept{"w", api::Role::kDeptMember, d.meta.id};
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateUser(s, t, dept_admin, by_dept); }).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateUser(s, t, admin_, by_dept); }).status().code(),
            StatusCode::kPermissionDenied)
      << "users are the security-admin's, not the system-admin's";
}

// ---------------- Heartbeats ----------------

TEST_F(ServicesTest, SilentHostGoesDownAndItsVmsRenderUnknown) {
  const auto d = MakeDepartment("a", Quota(10));
  MakeFlavor("small", 1, 512);
  const Caller agent = Agent("a1");
  const auto h = MakeHost("h1", 8, 8192, &agent);
  const auto admin_host = MakeHost("sim", 1, 64);  // no agent: never judged by heartbeats
  auto vm = MakeVm(admin_, "v", d.meta.id);
  ASSERT_TRUE(vm.ok());
  ASSERT_EQ(vm->host_id, h.meta.id);
  EXPECT_EQ(vm->state, api::VmState::kScheduled);

  constexpr std::int64_t kTimeout = 30'000;
  now_ms_ += kTimeout;  // exactly at the limit: still up
  EXPECT_TRUE(W([&](State& s, Txn& t) { return MarkSilentHostsDown(s, t, kTimeout); }).empty());
  now_ms_ += 1;
  auto down = W([&](State& s, Txn& t) { return MarkSilentHostsDown(s, t, kTimeout); });
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0], h.meta.id);
  EXPECT_EQ(s_.FindHost(h.meta.id)->status, api::HostStatus::kDown);
  EXPECT_EQ(s_.FindHost(admin_host.meta.id)->status, api::HostStatus::kUp);
  auto seen = GetVm(s_, admin_, vm->meta.id);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state, api::VmState::kUnknown);
  EXPECT_FALSE(seen->state_reason.empty());
  VmFilter unknown;
  unknown.state = api::VmState::kUnknown;
  EXPECT_EQ(ListVms(s_, admin_, unknown, {}).items.size(), 1u);
  // A down host gets no new VMs (the agent-less host is too small).
  EXPECT_EQ(MakeVm(admin_, "v2", d.meta.id).status().reason(), "NO_VALID_HOST");
  // Already down: not reported again.
  EXPECT_TRUE(W([&](State& s, Txn& t) { return MarkSilentHostsDown(s, t, kTimeout); }).empty());
  // A heartbeat brings it back up.
  auto hb = W([&](State& s, Txn& t) { return Heartbeat(s, t, agent, h.meta.id); });
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->status, api::HostStatus::kUp);
  EXPECT_EQ(GetVm(s_, admin_, vm->meta.id)->state, api::VmState::kScheduled);
  EXPECT_TRUE(MakeVm(admin_, "v2", d.meta.id).ok());
  // Heartbeats of a live host keep it up without a durable write.
  now_ms_ += kTimeout - 1;
  Txn t(s_.revision() + 1, now_ms_);
  api::HostActualUsage usage;
  usage.domains = 3;
  usage.running = 2;
  usage.memory_mib = 256;
  auto reported = Heartbeat(s_, t, agent, h.meta.id, &usage);
  ASSERT_TRUE(reported.ok());
  EXPECT_TRUE(t.mutations().empty());
  EXPECT_EQ(reported->actual.running, 2);
  EXPECT_EQ(reported->actual.memory_mib, 256);
  EXPECT_EQ(reported->actual.reported_at_ms, now_ms_);
  EXPECT_EQ(GetHost(s_, admin_, h.meta.id)->actual.domains, 3);
  now_ms_ += kTimeout;
  EXPECT_TRUE(W([&](State& s, Txn& tx) { return MarkSilentHostsDown(s, tx, kTimeout); }).empty());
}

// ---------------- Tokens ----------------
// (Identity at large: tests/unit/controller/identity_test.cc.)

TEST_F(ServicesTest, TokensAuthenticateWithTheirScope) {
  EXPECT_EQ(Authenticate(s_, "wrong", now_ms_).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(s_, "", now_ms_).status().code(), StatusCode::kUnauthenticated);
  const auto d = MakeDepartment("a", Quota(10));
  const Caller sec{"u-sec", "secadmin", api::Role::kSecurityAdmin, ""};
  api::CreateUserRequest ureq{"alice", api::Role::kDeptAdmin, d.meta.id};
  auto user = W([&](State& s, Txn& t) { return CreateUser(s, t, sec, ureq); });
  ASSERT_TRUE(user.ok());
  api::CreateTokenRequest treq;
  treq.name = "laptop";
  treq.expires_at_ms = now_ms_ + 3'600'000;
  auto tok = W([&](State& s, Txn& t) { return CreateToken(s, t, sec, user->meta.id, treq); });
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // Only the digest is stored.
  for (const auto& [id, t] : s_.tokens()) EXPECT_EQ(t.secret_sha256.find(tok->secret), std::string::npos);
  auto alice = Authenticate(s_, tok->secret, now_ms_);
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->role, api::Role::kDeptAdmin);
  EXPECT_EQ(alice->department_id, d.meta.id);
  // Her own tokens she may issue; not wider than her role.
  EXPECT_TRUE(W([&](State& s, Txn& t) { return CreateToken(s, t, *alice, user->meta.id, treq); }).ok());
  treq.role = api::Role::kSystemAdmin;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateToken(s, t, *alice, user->meta.id, treq); }).status().code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace govpool::controller
