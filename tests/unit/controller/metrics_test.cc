// The controller's metrics: the one list follows Prometheus conventions (prefix, base units,
// _total counters, one vocabulary of label names), the exposition shows exactly the listed
// metrics with their declared types and label names, and values are in base units.
#include "controller/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "controller/db.h"
#include "controller/services/services.h"
#include "scheduler/scheduler.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/pre_registered_host.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Units that are not base units, as a name or label-value suffix.
bool HasNonBaseUnit(std::string_view s) {
  for (std::string_view unit : {"_ms", "_us", "_ns", "_minutes", "_hours", "_kib", "_mib", "_gib",
                                "_kb", "_mb", "_gb", "_percent"}) {
    if (EndsWith(s, unit) || s.find(std::string(unit) + "_") != std::string_view::npos) return true;
  }
  return false;
}

TEST(MetricListTest, FollowsPrometheusConventions) {
  // The label names every metric draws from: one name per concept.
  const std::set<std::string> vocabulary = {"route",   "method", "code", "department", "department_id",
                                            "host",    "host_id", "pool", "resource",  "outcome",
                                            "state", "reason",   "kind", "storage_pool", "storage_pool_id"};
  std::set<std::string_view> names;
  for (const MetricDef& def : kControllerMetrics) {
    SCOPED_TRACE(std::string(def.name));
    EXPECT_TRUE(names.insert(def.name).second) << "declared twice";
    EXPECT_EQ(def.name.rfind("govpool_", 0), 0u);
    EXPECT_FALSE(HasNonBaseUnit(def.name));
    EXPECT_EQ(EndsWith(def.name, "_total"), def.type == MetricType::kCounter);
    if (def.type == MetricType::kHistogram) {
      EXPECT_TRUE(EndsWith(def.name, "_seconds"));
    }
    EXPECT_FALSE(def.help.empty());
    if (!def.labels.empty()) {
      for (const std::string& label : SplitString(std::string(def.labels), ',')) {
        EXPECT_TRUE(vocabulary.count(label)) << "label " << label;
      }
    }
  }
}

// One sample of the text exposition.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> type
  std::vector<Sample> samples;

  // The value of the sample with exactly these labels; NaN when absent.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nan("");
  }
};

Exposition Parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      e.types[name] = type;
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    const size_t brace = line.find('{');
    const size_t space = line.rfind(' ');
    s.name = line.substr(0, std::min(brace, space));
    if (brace != std::string::npos) {
      const size_t close = line.rfind('}');
      std::string labels = line.substr(brace + 1, close - brace - 1);
      size_t pos = 0;
      while (pos < labels.size()) {
        const size_t eq = labels.find('=', pos);
        const size_t end = labels.find('"', eq + 2);
        s.labels[labels.substr(pos, eq - pos)] = labels.substr(eq + 2, end - eq - 2);
        pos = end + 2;  // past `",`
      }
    }
    const std::string value = line.substr(space + 1);
    s.value = value == "+Inf" ? INFINITY : std::stod(value);
    e.samples.push_back(std::move(s));
  }
  return e;
}

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    admin_.user_id = "u-admin";
    admin_.name = "admin";
    admin_.role = api::Role::kSystemAdmin;
  }
  void MakeFlavor(const std::string& name, std::int64_t vcpus, std::int64_t memory_mib, std::int64_t disk_gib) {
    api::CreateFlavorRequest flavor;
    flavor.name = name;
    flavor.vcpus = vcpus;
    flavor.memory_mib = memory_mib;
    flavor.disk_gib = disk_gib;
    ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, flavor); }).ok());
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller admin_;
  ControllerMetrics metrics_;
};

TEST_F(MetricsTest, ExposesExactlyTheListedMetricsInBaseUnits) {
  api::CreateDepartmentRequest dept;
  dept.name = "research";
  dept.quota.instances = -1;
  dept.quota.vcpus = 16;
  dept.quota.memory_mib = 4096;
  auto d = db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, dept); });
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  MakeFlavor("small", 2, 512, 10);
  api::RegisterHostRequest host;
  host.name = "h1";
  host.pool = "p1";
  host.capacity.cpus = 8;
  host.capacity.memory_mib = 16384;
  host.capacity.disk_gib = 100;
  auto h = db_->Write([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, host); });
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  api::CreateVmRequest vm;
  vm.name = "v1";
  vm.department_id = d->meta.id;
  vm.flavor = "small";
  auto placed = db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, vm); });
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  api::CreateStoragePoolRequest pool;
  pool.name = "fast";
  pool.cluster = "ceph";
  auto sp = db_->Write([&](State& s, Txn& t) { return CreateStoragePool(s, t, admin_, pool); });
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  api::StoragePoolReport report;
  report.pool_id = sp->meta.id;
  report.reachable = true;
  report.stats.capacity_bytes = 1000;
  report.stats.used_bytes = 900;
  report.stats.available_bytes = 100;
  report.stats.used_ratio = 0.9;
  ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return ReportStoragePools(s, t, admin_, h->meta.id, {report}); }).ok());
  // What the host's agent measured, and a VM no host can take.
  api::HostActualUsage measured;
  measured.cpu_busy_millicores = 2500;
  measured.memory_used_mib = 3072;
  const std::vector<api::VmActualUsage> vms_measured = {{placed->meta.id, 750, 384}};
  ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return Heartbeat(s, t, admin_, h->meta.id, &measured, &vms_measured); }).ok());
  MakeFlavor("huge", 1, 256, 500);  // more disk than the host has
  vm.name = "too-big";
  vm.flavor = "huge";
  auto refused = db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, vm); });
  ASSERT_EQ(refused.status().reason(), "NO_VALID_HOST") << refused.status().ToString();
  ASSERT_TRUE(db_->Sync().ok());
  metrics_.ObserveRequest("/v1/vms", "POST", 201, 0.004);
  metrics_.SetServerCertificateNotAfter(1'893'456'000'000);  // 2030-01-01
  metrics_.SetWatchesHeld([] { return std::int64_t{3}; });
  metrics_.SetAuditChainVerdict(false, 1'700'000'000'000);

  const Exposition e = Parse(metrics_.Render(*db_));

  // Exactly the listed families, with their declared types.
  std::map<std::string, std::string> want_types;
  for (const MetricDef& def : kControllerMetrics) {
    want_types[std::string(def.name)] = def.type == MetricType::kCounter ? "counter"
                                        : def.type == MetricType::kGauge ? "gauge"
                                                                         : "histogram";
  }
  EXPECT_EQ(e.types, want_types);
  // Every sample carries exactly its metric's declared labels (histograms add `le`).
  for (const Sample& s : e.samples) {
    const MetricDef* def = nullptr;
    for (const MetricDef& d2 : kControllerMetrics) {
      if (s.name == d2.name || (d2.type == MetricType::kHistogram && s.name.rfind(std::string(d2.name) + "_", 0) == 0)) {
        def = &d2;
      }
    }
    ASSERT_NE(def, nullptr) << s.name;
    std::set<std::string> want = {};
    if (!def->labels.empty()) {
      for (const std::string& l : SplitString(std::string(def->labels), ',')) want.insert(l);
    }
    if (def->type == MetricType::kHistogram && EndsWith(s.name, "_bucket")) want.insert("le");
    std::set<std::string> got;
    for (const auto& [k, v] : s.labels) got.insert(k);
    EXPECT_EQ(got, want) << s.name;
    if (s.labels.count("resource")) {
      EXPECT_FALSE(HasNonBaseUnit(s.labels.at("resource"))) << s.name;
    }
  }

  const std::string dept_id = d->meta.id;
  const std::string host_id = h->meta.id;
  auto quota = [&](const char* resource) {
    return std::map<std::string, std::string>{{"department", "research"}, {"department_id", dept_id},
                                              {"resource", resource}};
  };
  EXPECT_EQ(e.Value("govpool_department_quota_limit", quota("memory_bytes")), 4096.0 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_department_quota_used", quota("memory_bytes")), 512.0 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_department_quota_limit", quota("vcpus")), 16);
  EXPECT_EQ(e.Value("govpool_department_quota_used", quota("vcpus")), 2);
  EXPECT_EQ(e.Value("govpool_department_quota_limit", quota("instances")), INFINITY);  // unlimited
  EXPECT_EQ(e.Value("govpool_department_quota_used", quota("instances")), 1);
  EXPECT_EQ(e.Value("govpool_department_used", quota("cpus")), 0.75);
  EXPECT_EQ(e.Value("govpool_department_used", quota("memory_bytes")), 384.0 * 1024 * 1024);
  auto on_host = [&](const char* resource) {
    return std::map<std::string, std::string>{{"host", "h1"}, {"host_id", host_id}, {"pool", "p1"},
                                              {"resource", resource}};
  };
  EXPECT_EQ(e.Value("govpool_host_capacity", on_host("cpus")), 8);
  EXPECT_EQ(e.Value("govpool_host_capacity", on_host("memory_bytes")), 16384.0 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_host_capacity", on_host("disk_bytes")), 100.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_host_allocated", on_host("cpus")), 2);
  EXPECT_EQ(e.Value("govpool_host_allocated", on_host("memory_bytes")), 512.0 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_host_allocated", on_host("disk_bytes")), 10.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_host_up", {{"host", "h1"}, {"host_id", host_id}, {"pool", "p1"}}), 1);
  EXPECT_EQ(e.Value("govpool_vms", {{"state", "scheduled"}}), 1);
  EXPECT_EQ(e.Value("govpool_placements_total", {{"outcome", "placed"}}), 1);
  EXPECT_EQ(e.Value("govpool_http_requests_total", {{"route", "/v1/vms"}, {"method", "POST"}, {"code", "201"}}), 1);
  EXPECT_EQ(e.Value("govpool_http_request_duration_seconds_count", {{"route", "/v1/vms"}, {"method", "POST"}}), 1);
  EXPECT_GE(e.Value("govpool_store_commit_batches_total", {}), 1);
  EXPECT_EQ(e.Value("govpool_store_commit_failures_total", {}), 0);
  EXPECT_GT(e.Value("govpool_state_revision", {}), 0);
  EXPECT_EQ(e.Value("govpool_host_used", on_host("cpus")), 2.5);
  EXPECT_EQ(e.Value("govpool_host_used", on_host("memory_bytes")), 3072.0 * 1024 * 1024);
  EXPECT_EQ(e.Value("govpool_placement_refusals_total", {{"reason", "insufficient_disk"}}), 1);
  EXPECT_EQ(e.Value("govpool_watches_held", {}), 3);
  EXPECT_EQ(e.Value("govpool_audit_chain_intact", {}), 0);
  EXPECT_EQ(e.Value("govpool_audit_chain_verified_timestamp_seconds", {}), 1'700'000'000);
  // Every commit in the histogram, in one of its buckets.
  EXPECT_EQ(e.Value("govpool_store_commit_duration_seconds_count", {}), e.Value("govpool_store_commit_batches_total", {}));
  EXPECT_EQ(e.Value("govpool_store_commit_duration_seconds_bucket", {{"le", "+Inf"}}),
            e.Value("govpool_store_commit_duration_seconds_count", {}));
  EXPECT_EQ(e.Value("govpool_server_certificate_expiry_timestamp_seconds", {}), 1'893'456'000);
  const std::map<std::string, std::string> fast{{"storage_pool", "fast"}, {"storage_pool_id", sp->meta.id}};
  auto bytes = [&](const char* kind) {
    auto labels = fast;
    labels["kind"] = kind;
    return e.Value("govpool_storage_pool_bytes", labels);
  };
  EXPECT_EQ(bytes("capacity"), 1000);
  EXPECT_EQ(bytes("used"), 900);
  EXPECT_EQ(bytes("allocated"), 0);
  EXPECT_EQ(e.Value("govpool_storage_pool_nearfull", fast), 1);  // 90% >= 85%
}

TEST_F(MetricsTest, ClientsCannotMintSeriesWithMethodsTheyMakeUp) {
  for (int i = 0; i < 50; ++i) metrics_.ObserveRequest("unmatched", "FLOOD" + std::to_string(i), 405, 0.001);
  metrics_.ObserveRequest("unmatched", "get", 404, 0.001);  // methods are case-sensitive
  const Exposition e = Parse(metrics_.Render(*db_));
  std::set<std::string> methods;
  for (const Sample& s : e.samples) {
    if (s.name == "govpool_http_requests_total") methods.insert(s.labels.at("method"));
  }
  EXPECT_EQ(methods, std::set<std::string>{"other"});
  EXPECT_EQ(e.Value("govpool_http_requests_total", {{"route", "unmatched"}, {"method", "other"}, {"code", "405"}}), 50);
}

// A VM an agent has not moved on from `scheduled` for 20 minutes shows as 1,200 s; a VM on a
// host without an agent (a simulation: it stays scheduled) is not counted.
TEST_F(MetricsTest, TheOldestTransitionalVmOnAnAgentsHostIsMeasured) {
  api::CreateDepartmentRequest dept;
  dept.name = "ops";
  dept.quota.instances = dept.quota.vcpus = dept.quota.memory_mib = -1;
  auto d = db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, dept); });
  ASSERT_TRUE(d.ok());
  MakeFlavor("small", 1, 512, 1);
  api::RegisterHostRequest host;
  host.name = "simulated";
  host.capacity = {1, 512, 10, {}};  // full with one VM
  ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, host); }).ok());
  api::CreateVmRequest vm;
  vm.name = "on-simulated";
  vm.department_id = d->meta.id;
  vm.flavor = "small";
  ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, vm); }).ok());
  clock_.Advance(std::chrono::minutes(10));
  const Caller agent{"u-agent", "agent", api::Role::kAgent, ""};
  host.name = "real";
  host.capacity = {8, 8192, 100, {}};
  ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return testing::RegisterPreRegisteredHost(s, t, agent, host); }).ok());
  vm.name = "on-real";
  auto placed = db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, vm); });
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  clock_.Advance(std::chrono::minutes(20));

  const Exposition e = Parse(metrics_.Render(*db_));
  EXPECT_EQ(e.Value("govpool_vm_oldest_transitional_age_seconds", {{"state", "scheduled"}}), 1200)
      << "20 minutes, not the simulated host's 30";
  EXPECT_EQ(e.Value("govpool_vm_oldest_transitional_age_seconds", {{"state", "building"}}), 0);
  EXPECT_EQ(e.Value("govpool_vm_oldest_transitional_age_seconds", {{"state", "deleting"}}), 0);
}

}  // namespace
}  // namespace govpool::controller
