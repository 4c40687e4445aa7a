// AgentMetrics over FakeHypervisor: the per-VM series from one bulk call and the labels of the
// controller's VMs, the loop's counters, a hypervisor that cannot be asked, the list's naming
// conventions, and the /metrics answer (token, path, method).
#include "agent/agent_metrics.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/strings.h"
#include "tests/fakes/agent/fake_hypervisor.h"
#include "tests/fakes/common/fake_clock.h"

namespace govpool::agent {
namespace {

constexpr char kVmId[] = "5f0c3b9e-8a41-4c1e-9b7a-0d2f6c1e4a10";
constexpr char kForeignId[] = "0e6a4d2c-1b3f-4a5e-8c7d-9f0a1b2c3d4e";

DomainSpec Spec(const std::string& uuid, const std::string& name) {
  DomainSpec s;
  s.uuid = uuid;
  s.name = name;
  s.domain_type = "qemu";
  s.vcpus = 2;
  s.memory_mib = 512;
  return s;
}

api::RegisterHostRequest Registration() {
  api::RegisterHostRequest r;
  r.name = "h1";
  r.capacity.cpus = 8;
  r.capacity.memory_mib = 16384;
  r.capacity.disk_gib = 100;
  return r;
}

class AgentMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hv_.DefineDomain(Spec(kVmId, "govpool-vm")).ok());
    ASSERT_TRUE(hv_.StartDomain(kVmId).ok());
    DomainStats guest;
    guest.cpu_time_ns = 12'500'000'000;
    guest.vcpus = 2;
    guest.memory_bytes = 512 << 20;
    guest.memory_used_bytes = 300 << 20;
    guest.disks = {{.target = "vda", .read_bytes = 4096, .reads = 3, .write_bytes = 8192, .writes = 2}};
    guest.nics = {{.device = "tap5f0c3b9e-8a", .receive_bytes = 1000, .receive_drops = 1, .transmit_bytes = 2000,
                   .transmit_drops = 0}};
    hv_.SetGuestStats(kVmId, guest);
    ASSERT_TRUE(hv_.DefineDomain(Spec(kForeignId, "an-operators-vm")).ok());
    ASSERT_TRUE(hv_.StartDomain(kForeignId).ok());
    api::Vm vm;
    vm.meta.id = kVmId;
    vm.name = "web-1";
    vm.department_id = "dep-1";
    desired_.items.push_back(vm);
  }

  void Pass(Result<ReconcileSummary> summary, std::chrono::milliseconds took = std::chrono::milliseconds(40)) {
    metrics_.ObservePass(ReconcilePass{desired_, took, summary});
  }

  FakeHypervisor hv_;
  testing::FakeClock clock_{1'700'000'000'000};
  AgentMetrics metrics_{hv_, Registration(), clock_};
  api::WatchAnswer desired_;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST_F(AgentMetricsTest, AssignedVmsGetSeriesFromOneBulkCallOthersNone) {
  Pass(ReconcileSummary{});
  const int calls_before = hv_.CallCount(FakeHypervisor::Op::kGetDomainStats);
  const std::string text = metrics_.Render();
  EXPECT_EQ(hv_.CallCount(FakeHypervisor::Op::kGetDomainStats), calls_before + 1) << "one call per scrape";
  EXPECT_EQ(hv_.CallCount(FakeHypervisor::Op::kGetDomain), 0) << "no call per VM";
  const std::string vm = "vm_id=\"" + std::string(kVmId) + "\",vm=\"web-1\",department_id=\"dep-1\"";
  EXPECT_TRUE(Has(text, "govpool_vm_cpu_seconds_total{" + vm + "} 12.5")) << text;
  EXPECT_TRUE(Has(text, "govpool_vm_vcpus{" + vm + "} 2")) << text;
  EXPECT_TRUE(Has(text, "govpool_vm_memory_bytes{" + vm + "} 536870912")) << text;
  EXPECT_TRUE(Has(text, "govpool_vm_memory_used_bytes{" + vm + "} 314572800")) << text;
  EXPECT_TRUE(Has(text, "govpool_vm_disk_read_bytes_total{" + vm + ",device=\"vda\"} 4096"))
      << text;
  EXPECT_TRUE(Has(text, "govpool_vm_network_receive_drops_total{" + vm + ",device=\"tap5f0c3b9e-8a\"} 1"))
      << text;
  EXPECT_EQ(text.find(kForeignId), std::string::npos) << "a domain the controller did not assign has no series";
  EXPECT_TRUE(Has(text, "govpool_agent_domains{state=\"running\"} 2")) << "but it counts among the host's domains";
  EXPECT_TRUE(Has(text, "govpool_agent_host_capacity{resource=\"cpus\"} 8")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_host_memory_bytes{kind=\"total\"} 17179869184")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_hypervisor_up 1")) << text;
}

TEST_F(AgentMetricsTest, TheLoopsPassesErrorsAndDriftAreCounted) {
  EXPECT_EQ(metrics_.Render().find("\ngovpool_agent_last_reconcile_timestamp_seconds "), std::string::npos)
      << "no pass yet, no timestamp";
  ReconcileSummary first;
  first.errors = 2;
  first.drift = {{"restarted", 1}, {"orphan_removed", 3}};
  Pass(first);
  Pass(Status(StatusCode::kUnavailable, "libvirtd away"));
  clock_.Advance(std::chrono::seconds(10));
  ReconcileSummary second;
  second.drift = {{"restarted", 1}};
  Pass(second, std::chrono::milliseconds(2'000));
  const std::string text = metrics_.Render();
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_passes_total{outcome=\"ok\"} 2")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_passes_total{outcome=\"failed\"} 1")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_errors_total{code=\"unavailable\"} 1")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_errors_total{code=\"vm_error\"} 2")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_drift_repairs_total{kind=\"restarted\"} 2")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_drift_repairs_total{kind=\"orphan_removed\"} 3")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_duration_seconds_count 3")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_duration_seconds_bucket{le=\"1\"} 2")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_last_reconcile_timestamp_seconds 1700000010")) << text;
}

TEST_F(AgentMetricsTest, AHypervisorThatCannotBeAskedShowsDownAndNoVmSeries) {
  Pass(ReconcileSummary{});
  hv_.FailAlways(FakeHypervisor::Op::kGetDomainStats, Status(StatusCode::kUnavailable, "gone"));
  hv_.SetConnection({.up = false, .reconnects = 4});
  const std::string text = metrics_.Render();
  EXPECT_TRUE(Has(text, "govpool_agent_hypervisor_up 0")) << text;
  EXPECT_TRUE(Has(text, "govpool_agent_hypervisor_reconnects_total 4")) << text;
  EXPECT_EQ(text.find("govpool_vm_cpu_seconds_total{"), std::string::npos);
  EXPECT_TRUE(Has(text, "govpool_agent_reconcile_passes_total{outcome=\"ok\"} 1")) << "the loop's metrics still come";
}

TEST_F(AgentMetricsTest, AVmThatLeftTheDesiredSetLosesItsSeries) {
  Pass(ReconcileSummary{});
  ASSERT_NE(metrics_.Render().find(kVmId), std::string::npos);
  desired_.items.clear();
  Pass(ReconcileSummary{});
  EXPECT_EQ(metrics_.Render().find(kVmId), std::string::npos);
}

// The list follows the controller's conventions: the govpool_ prefix, counters in _total, base
// units in names, one label vocabulary.
TEST(AgentMetricList, NamesFollowTheConventions) {
  const std::set<std::string> vocabulary = {"resource", "kind", "state", "vm_id", "vm", "department_id",
                                            "device", "outcome", "code"};
  std::set<std::string> names;
  for (const AgentMetricDef& def : kAgentMetrics) {
    const std::string name(def.name);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(name.rfind("govpool_", 0), 0u) << name;
    EXPECT_EQ(def.type == MetricType::kCounter, name.ends_with("_total")) << name;
    EXPECT_FALSE(def.help.empty()) << name;
    for (const std::string& label : MetricLabelNames(def.labels)) EXPECT_TRUE(vocabulary.count(label)) << name << " " << label;
  }
}

api::HttpRequest Get(const std::string& path, const std::string& authorization = "") {
  api::HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.target = path;
  if (!authorization.empty()) r.headers.emplace_back("Authorization", authorization);
  return r;
}

TEST(AnswerMetricsRequest, TokenPathAndMethodAreChecked) {
  auto render = [] { return std::string("govpool_agent_hypervisor_up 1\n"); };
  EXPECT_EQ(AnswerMetricsRequest(Get("/metrics"), "", render).status, 200) << "no token configured: open";
  EXPECT_EQ(AnswerMetricsRequest(Get("/metrics"), "s3cret", render).status, 401);
  EXPECT_EQ(AnswerMetricsRequest(Get("/metrics", "Bearer wrong"), "s3cret", render).status, 401);
  EXPECT_EQ(AnswerMetricsRequest(Get("/metrics", "Basic s3cret"), "s3cret", render).status, 401);
  const api::HttpResponse ok = AnswerMetricsRequest(Get("/metrics", "Bearer s3cret"), "s3cret", render);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "govpool_agent_hypervisor_up 1\n");
  EXPECT_EQ(ok.content_type.rfind("text/plain; version=0.0.4", 0), 0u);
  const api::HttpResponse other = AnswerMetricsRequest(Get("/v1/vms", "Bearer s3cret"), "s3cret", render);
  EXPECT_EQ(other.status, 404);
  EXPECT_NE(other.body.find("ROUTE_NOT_FOUND"), std::string::npos);
  api::HttpRequest post = Get("/metrics", "Bearer s3cret");
  post.method = "POST";
  EXPECT_EQ(AnswerMetricsRequest(post, "s3cret", render).status, 405);
}

}  // namespace
}  // namespace govpool::agent
