// Utilisation rollups: the meter's integration (hour boundaries, gaps, the restart's seed, the
// memory bound), what a sample counts (placed VMs, volumes, agents' measurements, pools'
// capacity), the report's query, confinement and CSV, and the housekeeper writing the hours.
#include "controller/utilisation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "controller/housekeeper.h"
#include "controller/services/services.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::int64_t kHour0 = 1'699'999'200'000;  // 2023-11-14T22:00:00Z, the FakeClock's hour

UtilisationRates Rates(double vms, double vcpus_allocated, double vcpus_used) {
  UtilisationRates r;
  r.vms = vms;
  r.vcpus_allocated = vcpus_allocated;
  r.vcpus_used = vcpus_used;
  return r;
}

const api::UtilisationFigures* Find(const std::vector<UtilisationRow>& rows, const std::string& key, std::int64_t hour) {
  for (const UtilisationRow& r : rows) {
    if (r.key == key && r.hour.hour_ms == hour) return &r.hour.figures;
  }
  return nullptr;
}

TEST(UtilisationMeterTest, HoldsEachSampleUntilTheNextAndSplitsIntervalsAtTheHour) {
  UtilisationMeter meter(/*max_gap_ms=*/180'000);
  const UtilisationKey tax{kByDepartment, "d-tax"};
  meter.Add({{tax, Rates(2, 4, 1)}}, kHour0 + kHourMs - 30'000);  // 22:59:30
  EXPECT_TRUE(meter.Changed().empty()) << "one sample covers no time yet";
  meter.Add({{tax, Rates(3, 6, 3)}}, kHour0 + kHourMs + 30'000);  // 23:00:30
  std::vector<UtilisationRow> rows = meter.Changed();
  ASSERT_EQ(rows.size(), 2u);
  const api::UtilisationFigures* before = Find(rows, "d-tax", kHour0);
  const api::UtilisationFigures* after = Find(rows, "d-tax", kHour0 + kHourMs);
  ASSERT_TRUE(before && after);
  // The first sample's figures held for 30 s in each hour.
  EXPECT_DOUBLE_EQ(before->sampled_hours, 30.0 / 3600);
  EXPECT_DOUBLE_EQ(before->vm_hours, 2 * 30.0 / 3600);
  EXPECT_DOUBLE_EQ(before->vcpu_hours_allocated, 4 * 30.0 / 3600);
  EXPECT_DOUBLE_EQ(after->vcpu_hours_used, 1 * 30.0 / 3600);
  // Written: the ended hour leaves memory, the current one stays.
  meter.Written();
  EXPECT_TRUE(meter.Changed().empty());
  EXPECT_EQ(meter.open_hours(), 1u);
  // The second sample's figures over the next minute.
  meter.Add({{tax, Rates(3, 6, 3)}}, kHour0 + kHourMs + 90'000);
  rows = meter.Changed();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].hour.figures.vcpu_hours_used, 30.0 / 3600 + 3 * 60.0 / 3600);
}

TEST(UtilisationMeterTest, AGapLongerThanTheLimitIsNotCounted) {
  UtilisationMeter meter(/*max_gap_ms=*/180'000);
  const UtilisationKey tax{kByDepartment, "d-tax"};
  meter.Add({{tax, Rates(1, 2, 1)}}, kHour0);
  meter.Add({{tax, Rates(1, 2, 1)}}, kHour0 + 600'000);  // the controller was away for 10 minutes
  EXPECT_TRUE(meter.Changed().empty());
  meter.Add({{tax, Rates(1, 2, 1)}}, kHour0 + 660'000);
  ASSERT_EQ(meter.Changed().size(), 1u);
  EXPECT_DOUBLE_EQ(meter.Changed()[0].hour.figures.sampled_hours, 60.0 / 3600);
}

TEST(UtilisationMeterTest, ASeedFromTheStoreIsAddedTo) {
  UtilisationMeter meter(/*max_gap_ms=*/180'000);
  api::UtilisationFigures stored;
  stored.sampled_hours = 0.5;
  stored.vcpu_hours_allocated = 2;
  meter.Seed({UtilisationRow{kByDepartment, "d-tax", {kHour0, stored}}});
  const UtilisationKey tax{kByDepartment, "d-tax"};
  meter.Add({{tax, Rates(1, 4, 0)}}, kHour0 + 1'800'000);
  meter.Add({{tax, Rates(1, 4, 0)}}, kHour0 + 1'860'000);
  const auto rows = meter.Changed();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].hour.figures.sampled_hours, 0.5 + 60.0 / 3600);
  EXPECT_DOUBLE_EQ(rows[0].hour.figures.vcpu_hours_allocated, 2 + 4 * 60.0 / 3600);
}

TEST(UtilisationQueryTest, DefaultsDatesAndRefusals) {
  const std::int64_t now = kHour0 + 800'000;
  auto q = ParseUtilisationQuery("", "", "", now);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->group_by, "department");
  EXPECT_EQ(q->to_ms, kHour0 + kHourMs) << "up to the end of the current hour";
  EXPECT_EQ(q->from_ms, kHour0 + kHourMs - 24 * kHourMs);
  q = ParseUtilisationQuery("pool", "2023-11-14", "2023-11-14T22:30:00Z", now);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->from_ms, 1'699'920'000'000);      // midnight UTC
  EXPECT_EQ(q->to_ms, kHour0 + kHourMs) << "a partial last hour counts whole";
  EXPECT_EQ(ParseUtilisationQuery("host", "", "", now).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUtilisationQuery("", "yesterday", "", now).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUtilisationQuery("", "2023-11-15", "2023-11-14", now).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUtilisationQuery("", "2020-01-01", "2023-11-14", now).status().code(), StatusCode::kInvalidArgument)
      << "more than 366 days";
}

class UtilisationTest : public ::testing::Test {
 protected:
  UtilisationTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    admin_ = Caller{"u-admin", "admin", api::Role::kSystemAdmin, ""};
    tax_ = MakeDepartment("tax");
    health_ = MakeDepartment("health");
    api::CreateFlavorRequest flavor;
    flavor.name = "small";
    flavor.vcpus = 2;
    flavor.memory_mib = 2048;
    flavor.disk_gib = 10;
    EXPECT_TRUE(db_->Write([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, flavor); }).ok());
    h1_ = MakeHost("h1", "gold");
    h2_ = MakeHost("h2", "gold");
  }
  std::string MakeDepartment(const std::string& name) {
    api::CreateDepartmentRequest req;
    req.name = name;
    auto d = db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, req); });
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? d->meta.id : "";
  }
  std::string MakeHost(const std::string& name, const std::string& pool) {
    api::RegisterHostRequest req;
    req.name = name;
    req.pool = pool;
    req.capacity.cpus = 16;
    req.capacity.memory_mib = 32768;
    req.capacity.disk_gib = 500;
    auto h = db_->Write([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, req); });
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->meta.id : "";
  }
  api::Vm MakeVm(const std::string& name, const std::string& department_id) {
    api::CreateVmRequest req;
    req.name = name;
    req.department_id = department_id;
    req.flavor = "small";
    auto vm = db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, req); });
    EXPECT_TRUE(vm.ok()) << vm.status().ToString();
    return vm.ok() ? *vm : api::Vm{};
  }
  void Report(const std::string& host_id, std::vector<api::VmActualUsage> vms) {
    api::HostActualUsage usage;
    usage.cpu_busy_millicores = 3000;
    usage.memory_used_mib = 4096;
    ASSERT_TRUE(db_->Write([&](State& s, Txn& t) { return Heartbeat(s, t, admin_, host_id, &usage, &vms); }).ok());
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller admin_;
  std::string tax_, health_, h1_, h2_;
};

TEST_F(UtilisationTest, ASampleCountsPlacedVmsVolumesMeasuredUseAndPoolCapacity) {
  const api::Vm a = MakeVm("a", tax_);
  const api::Vm b = MakeVm("b", tax_);
  // Each VM reported by its own host; a report naming a VM another host runs counts nothing.
  std::map<std::string, std::vector<api::VmActualUsage>> by_host;
  by_host[a.host_id].push_back({a.meta.id, 1500, 1024});
  by_host[b.host_id].push_back({b.meta.id, 250, 512});
  by_host[a.host_id == h1_ ? h2_ : h1_].push_back({a.meta.id, 9000, 9000});
  for (const auto& [host_id, vms] : by_host) Report(host_id, vms);

  const UtilisationSample sample = db_->Read([](const State& s) { return SampleUtilisation(s); });
  const UtilisationRates& tax = sample.at({kByDepartment, tax_});
  EXPECT_EQ(tax.vms, 2);
  EXPECT_EQ(tax.vcpus_allocated, 4);
  EXPECT_EQ(tax.memory_gib_allocated, 4);
  EXPECT_EQ(tax.disk_gib_allocated, 20);
  EXPECT_DOUBLE_EQ(tax.vcpus_used, 1.75);
  EXPECT_DOUBLE_EQ(tax.memory_gib_used, 1.5);
  const UtilisationRates& health = sample.at({kByDepartment, health_});
  EXPECT_EQ(health.vms, 0) << "an idle department is sampled with zeros";
  const UtilisationRates& gold = sample.at({kByPool, "gold"});
  EXPECT_EQ(gold.vms, 2);
  EXPECT_EQ(gold.vcpus_allocated, 4);
  EXPECT_EQ(gold.vcpus_capacity, 32);
  EXPECT_EQ(gold.memory_gib_capacity, 64);
  EXPECT_DOUBLE_EQ(gold.vcpus_used, 6) << "the hosts' own measured use, 3 CPUs each";

  // The same measured use reaches the controller's per-department figures.
  const auto measured = db_->Read([](const State& s) { return s.MeasuredUseByDepartment(); });
  EXPECT_EQ(measured.at(tax_).cpu_busy_millicores, 1750);
  EXPECT_EQ(measured.at(tax_).vms, 2);
}

TEST_F(UtilisationTest, TheHousekeeperWritesHoursAndARestartGoesOnFromThem) {
  const api::Vm a = MakeVm("a", tax_);
  Report(a.host_id, {{a.meta.id, 1000, 1024}});
  HousekeeperOptions o;
  o.utilisation_sample_interval = seconds(60);
  o.utilisation_flush_interval = minutes(5);
  {
    Housekeeper keeper(*db_, clock_, o);
    for (int i = 0; i < 10; ++i) {
      keeper.RunOnce(clock_.MonotonicNow());
      clock_.Advance(seconds(60));
      Report(a.host_id, {{a.meta.id, 1000, 1024}});  // agents go on heartbeating
    }
    EXPECT_GE(data_->utilisation_puts, 1) << "written every 5 minutes";
  }  // Stop() writes the rest
  const api::UtilisationFigures written = data_->utilisation.at({kByDepartment, tax_, kHour0});
  EXPECT_NEAR(written.sampled_hours, 9 * 60.0 / 3600, 1e-9);
  EXPECT_NEAR(written.vcpu_hours_allocated, 2 * 9 * 60.0 / 3600, 1e-9);
  EXPECT_NEAR(written.vcpu_hours_used, 1 * 9 * 60.0 / 3600, 1e-9);

  // A restart within the hour: the new housekeeper starts from what was written.
  Housekeeper keeper(*db_, clock_, o);
  keeper.RunOnce(clock_.MonotonicNow());
  clock_.Advance(seconds(60));
  keeper.RunOnce(clock_.MonotonicNow());
  EXPECT_EQ(keeper.FlushUtilisation(), 3) << "tax, health and the pool";
  EXPECT_NEAR(data_->utilisation.at({kByDepartment, tax_, kHour0}).sampled_hours, 10 * 60.0 / 3600, 1e-9);
}

TEST_F(UtilisationTest, TheReportConfinesDepartmentsAndDerivesRatiosAndCsv) {
  api::UtilisationFigures tax_hour;
  tax_hour.sampled_hours = 1;
  tax_hour.vcpu_hours_allocated = 4;
  tax_hour.vcpu_hours_used = 1;
  api::UtilisationFigures health_hour;
  health_hour.sampled_hours = 1;
  api::UtilisationFigures gold_hour;
  gold_hour.sampled_hours = 1;
  gold_hour.vcpu_hours_capacity = 32;
  gold_hour.vcpu_hours_used = 8;
  ASSERT_TRUE(db_->store().PutUtilisation({{kByDepartment, tax_, {kHour0, tax_hour}},
                                           {kByDepartment, tax_, {kHour0 - kHourMs, tax_hour}},
                                           {kByDepartment, health_, {kHour0, health_hour}},
                                           {kByDepartment, "d-gone", {kHour0, health_hour}},
                                           {kByPool, "gold", {kHour0, gold_hour}}}).ok());
  auto query = ParseUtilisationQuery("", "", "", clock_.now_ms());
  ASSERT_TRUE(query.ok());

  // A member of tax sees tax alone.
  const Caller member{"u-m", "member", api::Role::kDeptMember, tax_};
  auto subjects = db_->Read([&](const State& s) { return UtilisationSubjectsOf(s, member, kByDepartment); });
  ASSERT_TRUE(subjects.ok());
  auto report = BuildUtilisationReport(db_->store(), *subjects, false, *query);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->series.size(), 1u);
  EXPECT_EQ(report->series[0].name, "tax");
  ASSERT_EQ(report->series[0].hours.size(), 2u);
  EXPECT_EQ(report->series[0].hours[0].hour_ms, kHour0 - kHourMs);
  EXPECT_DOUBLE_EQ(report->series[0].total.vcpu_hours_allocated, 8);
  EXPECT_DOUBLE_EQ(report->series[0].total.cpu_utilisation, 0.25) << "used / allocated";
  // Nor may it see pools.
  EXPECT_EQ(db_->Read([&](const State& s) { return UtilisationSubjectsOf(s, member, kByPool); }).status().code(),
            StatusCode::kPermissionDenied);

  // The system-admin sees every department, one that is gone under its key.
  subjects = db_->Read([&](const State& s) { return UtilisationSubjectsOf(s, admin_, kByDepartment); });
  report = BuildUtilisationReport(db_->store(), *subjects, true, *query);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->series.size(), 3u);
  EXPECT_EQ(report->series[0].name, "d-gone");
  EXPECT_EQ(report->series[1].name, "health");

  // Pools: used / capacity.
  query->group_by = kByPool;
  subjects = db_->Read([&](const State& s) { return UtilisationSubjectsOf(s, admin_, kByPool); });
  report = BuildUtilisationReport(db_->store(), *subjects, true, *query);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->series.size(), 1u);
  EXPECT_DOUBLE_EQ(report->series[0].hours[0].figures.cpu_utilisation, 0.25);
  const std::string csv = UtilisationCsv(*report);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "group,key,name,hour,sampled_hours,vm_hours,vcpu_hours_allocated,vcpu_hours_used,"
            "memory_gib_hours_allocated,memory_gib_hours_used,disk_gib_hours_allocated,vcpu_hours_capacity,"
            "memory_gib_hours_capacity,cpu_utilisation,memory_utilisation");
  EXPECT_NE(csv.find("\npool,gold,gold,2023-11-14T22:00:00.000Z,1.000,0.000,0.000,8.000,0.000,0.000,0.000,32.000,0.000,0.250,0.000\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\npool,gold,gold,total,"), std::string::npos);
}

}  // namespace
}  // namespace govpool::controller
