// Capacity requests (docs/departments.md, "Capacity requests"): the approval walk up the tree,
// every refused transition, VMs that no longer fit at approval (approved, unfulfilled, retried),
// and time-limited grants returning on a fake clock.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "controller/db.h"
#include "controller/housekeeper.h"
#include "controller/services/services.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/instances_departments.h"

namespace govpool::controller {
namespace {

using api::CapacityRequestState;

class CapacityRequestsTest : public ::testing::Test {
 protected:
  template <typename Fn>
  auto W(Fn fn) {
    return db_->Write([&](State& s, Txn& t) { return fn(s, t); });
  }
  CapacityRequestsTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    platform_ = Caller{"u-admin", "admin", api::Role::kSystemAdmin, ""};
    api::CreateFlavorRequest flavor;
    flavor.name = "small";
    flavor.vcpus = 2;
    flavor.memory_mib = 1024;
    flavor.disk_gib = 10;
    EXPECT_TRUE(W([&](State& s, Txn& t) { return CreateFlavor(s, t, platform_, flavor); }).ok());
    province_ = Department("province", "", 100);
    bureau_ = Department("bureau", "province", 60);
    tax_ = Department("tax", "bureau", 30);
    bureau_admin_ = Caller{"u-b", "bureau-admin", api::Role::kDeptAdmin, bureau_};
    province_admin_ = Caller{"u-p", "province-admin", api::Role::kDeptAdmin, province_};
    tax_member_ = Caller{"u-t", "tax-member", api::Role::kDeptMember, tax_};
  }

  std::string Department(const std::string& name, const std::string& parent, std::int64_t instances) {
    return testing::CreateInstancesOnlyDepartment(*db_, name, parent, instances);
  }
  std::string Host(const std::string& name, std::int64_t cpus) {
    api::RegisterHostRequest req;
    req.name = name;
    req.capacity.cpus = cpus;
    req.capacity.memory_mib = 65536;
    req.capacity.disk_gib = 1000;
    auto h = W([&](State& s, Txn& t) { return RegisterHost(s, t, platform_, req); });
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->meta.id : "";
  }
  Result<api::CapacityRequest> AskQuota(std::int64_t instances, std::int64_t end_at_ms = 0) {
    api::CreateCapacityRequest req;
    req.department_id = "tax";
    req.reason = "the tax season";
    req.quota = api::QuotaPatch{};
    req.quota->instances = instances;
    req.end_at_ms = end_at_ms;
    return W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, req); });
  }
  Result<api::CapacityRequest> Approve(const Caller& by, const std::string& id) {
    return W([&](State& s, Txn& t) { return ApproveCapacityRequest(s, t, by, id); });
  }
  std::int64_t TaxInstances() { return db_->Read([&](const State& s) { return s.FindDepartment(tax_)->quota.instances; }); }
  std::int64_t Events(const std::string& kind) {
    return db_->Read([&](const State& s) {
      auto it = s.event_counts().find(kind);
      return it == s.event_counts().end() ? std::int64_t{0} : it->second;
    });
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller platform_, bureau_admin_, province_admin_, tax_member_;
  std::string province_, bureau_, tax_;
};

TEST_F(CapacityRequestsTest, AQuotaRequestWalksUpTheTreeAndTheLastApprovalGrowsTheQuota) {
  auto r = AskQuota(5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->state, CapacityRequestState::kSubmitted);
  EXPECT_EQ(r->levels, (std::vector<std::string>{bureau_, province_, "platform"})) << "nearest first, the platform last";
  EXPECT_EQ(r->next_level, bureau_);
  EXPECT_EQ(r->requested_by, "tax-member");
  // Beside it, what approvers weigh: tax's use and limit, each level's headroom, whether it fits.
  ASSERT_TRUE(r->context.has_value());
  EXPECT_EQ(r->context->usage.at("instances").limit, 30);
  ASSERT_EQ(r->context->headroom.size(), 2u);
  EXPECT_EQ(r->context->headroom[0].level, bureau_);
  EXPECT_EQ(r->context->headroom[0].headroom, 30) << "60 less tax's 30";
  EXPECT_EQ(r->context->headroom[1].headroom, 40) << "100 less the bureau's 60";
  EXPECT_TRUE(r->context->fits_now);
  auto step = Approve(bureau_admin_, r->meta.id);
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(step->next_level, province_);
  ASSERT_TRUE(Approve(province_admin_, r->meta.id).ok());
  EXPECT_EQ(TaxInstances(), 30) << "nothing applied before the platform";
  auto done = Approve(platform_, r->meta.id);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, CapacityRequestState::kFulfilled);
  EXPECT_EQ(done->approvals.size(), 3u);
  EXPECT_FALSE(done->context.has_value()) << "decided: no context";
  EXPECT_EQ(done->granted.instances, 5);
  EXPECT_EQ(TaxInstances(), 35);
  EXPECT_EQ(Events("capacity-request-submitted"), 1);
  EXPECT_EQ(Events("capacity-request-approved"), 2);
  EXPECT_EQ(Events("capacity-request-fulfilled"), 1);
  // The bureau's admin sees it (it is below); a department beside it does not.
  EXPECT_TRUE(db_->Read([&](const State& s) { return GetCapacityRequest(s, bureau_admin_, r->meta.id); }).ok());
  const std::string health = Department("health", "bureau", 10);
  const Caller health_admin{"u-h", "health-admin", api::Role::kDeptAdmin, health};
  EXPECT_EQ(db_->Read([&](const State& s) { return GetCapacityRequest(s, health_admin, r->meta.id); }).status().code(),
            StatusCode::kNotFound);
}

TEST_F(CapacityRequestsTest, EveryWrongTransitionIsRefused) {
  auto r = AskQuota(2);
  ASSERT_TRUE(r.ok());
  const std::string id = r->meta.id;
  // Wrong role and wrong level.
  EXPECT_EQ(Approve(tax_member_, id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Approve(province_admin_, id).status().code(), StatusCode::kPermissionDenied) << "the bureau comes first";
  EXPECT_EQ(Approve(platform_, id).status().code(), StatusCode::kPermissionDenied) << "the platform comes last";
  ASSERT_TRUE(Approve(bureau_admin_, id).ok());
  // Approving twice.
  EXPECT_EQ(Approve(bureau_admin_, id).status().reason(), "ALREADY_APPROVED");
  // Submitting again, rejecting without a reason or by someone done deciding.
  EXPECT_EQ(W([&](State& s, Txn& t) { return SubmitCapacityRequest(s, t, tax_member_, id); }).status().reason(),
            "REQUEST_NOT_PENDING");
  EXPECT_EQ(W([&](State& s, Txn& t) { return RejectCapacityRequest(s, t, province_admin_, id, ""); }).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(W([&](State& s, Txn& t) { return RejectCapacityRequest(s, t, bureau_admin_, id, "no"); }).status().code(),
            StatusCode::kPermissionDenied)
      << "the bureau approved already";
  // Withdrawn: no approval any more.
  auto withdrawn = W([&](State& s, Txn& t) { return WithdrawCapacityRequest(s, t, tax_member_, id); });
  ASSERT_TRUE(withdrawn.ok());
  EXPECT_EQ(withdrawn->state, CapacityRequestState::kWithdrawn);
  EXPECT_EQ(Approve(province_admin_, id).status().reason(), "REQUEST_NOT_PENDING");
  EXPECT_EQ(W([&](State& s, Txn& t) { return WithdrawCapacityRequest(s, t, tax_member_, id); }).status().reason(),
            "REQUEST_NOT_PENDING");
  // A rejection, with its reason, ends another.
  auto second = AskQuota(1);
  ASSERT_TRUE(second.ok());
  auto rejected = W([&](State& s, Txn& t) { return RejectCapacityRequest(s, t, bureau_admin_, second->meta.id, "not this year"); });
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->state, CapacityRequestState::kRejected);
  EXPECT_EQ(rejected->rejection_reason, "not this year");
  EXPECT_EQ(Approve(bureau_admin_, second->meta.id).status().reason(), "REQUEST_NOT_PENDING");
  // Bad requests: both kinds, a decrease, the platform filing, another department.
  api::CreateCapacityRequest bad;
  bad.department_id = "tax";
  bad.reason = "r";
  bad.quota = api::QuotaPatch{};
  bad.quota->instances = 0;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, bad); }).status().code(),
            StatusCode::kInvalidArgument);
  bad.quota->instances = 1;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, platform_, bad); }).status().code(),
            StatusCode::kPermissionDenied);
  bad.vms = api::CapacityVms{"v", "small", "", "", 1};
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, bad); }).status().code(),
            StatusCode::kInvalidArgument);
  // A draft waits for its submission.
  api::CreateCapacityRequest draft;
  draft.department_id = tax_;
  draft.reason = "later";
  draft.quota = api::QuotaPatch{};
  draft.quota->instances = 1;
  draft.submit = false;
  auto d = W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, draft); });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, CapacityRequestState::kDraft);
  EXPECT_EQ(Approve(bureau_admin_, d->meta.id).status().reason(), "REQUEST_NOT_PENDING");
  EXPECT_TRUE(W([&](State& s, Txn& t) { return SubmitCapacityRequest(s, t, tax_member_, d->meta.id); }).ok());
}

TEST_F(CapacityRequestsTest, VmsThatNoLongerFitStayApprovedUntilThePlatformRetries) {
  // tax is full: 30 instances on a big host; it asks for 2 more VMs.
  const std::string big = Host("big", 64);
  api::CreateVmRequest fill;
  fill.name = "old";
  fill.department_id = tax_;
  fill.flavor = "small";
  fill.count = 30;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateVms(s, t, platform_, fill).status(); }).ok());
  api::CreateCapacityRequest req;
  req.department_id = tax_;
  req.reason = "two more web servers";
  req.vms = api::CapacityVms{"web", "small", "", "", 2};
  auto r = W([&](State& s, Txn& t) { return CreateCapacityRequest(s, t, tax_member_, req); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Meanwhile the host is taken out of service: nothing can place them.
  api::PatchHostRequest maintenance;
  maintenance.maintenance = true;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, platform_, big, std::nullopt, maintenance); }).ok());
  auto seen = db_->Read([&](const State& s) { return GetCapacityRequest(s, bureau_admin_, r->meta.id); });
  ASSERT_TRUE(seen.ok() && seen->context.has_value());
  EXPECT_FALSE(seen->context->fits_now) << "the preview finds no host";
  EXPECT_NE(seen->context->fit_summary.find("no host has room"), std::string::npos) << seen->context->fit_summary;
  ASSERT_TRUE(Approve(bureau_admin_, r->meta.id).ok());
  ASSERT_TRUE(Approve(province_admin_, r->meta.id).ok());
  auto unfulfilled = Approve(platform_, r->meta.id);
  ASSERT_TRUE(unfulfilled.ok()) << unfulfilled.status().ToString();
  EXPECT_EQ(unfulfilled->state, CapacityRequestState::kApproved);
  EXPECT_FALSE(unfulfilled->unfulfilled_reason.empty());
  EXPECT_EQ(TaxInstances(), 30) << "nothing applied";
  EXPECT_EQ(db_->Read([](const State& s) { return s.vms().size(); }), 30u);
  EXPECT_EQ(Approve(bureau_admin_, r->meta.id).status().code(), StatusCode::kPermissionDenied)
      << "the retry is the platform's";
  // Back in service: the platform approves again, and the VMs come with their quota.
  maintenance.maintenance = false;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchHost(s, t, platform_, big, std::nullopt, maintenance); }).ok());
  auto done = Approve(platform_, r->meta.id);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, CapacityRequestState::kFulfilled) << done->unfulfilled_reason;
  EXPECT_EQ(done->vm_ids.size(), 2u);
  EXPECT_EQ(done->granted.instances, 2);
  EXPECT_EQ(TaxInstances(), 32);
  EXPECT_EQ(db_->Read([](const State& s) { return s.vms().size(); }), 32u);
}

TEST_F(CapacityRequestsTest, ATimeLimitedGrantIsWarnedThenReturnsAndFlagsWhatIsAbove) {
  Host("h", 64);
  const std::int64_t end = clock_.now_ms() + 7 * 24 * 3'600'000LL;
  auto r = AskQuota(5, end);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const Caller* by : {&bureau_admin_, &province_admin_, &platform_}) ASSERT_TRUE(Approve(*by, r->meta.id).ok());
  EXPECT_EQ(TaxInstances(), 35);
  api::CreateVmRequest vms;
  vms.name = "season";
  vms.department_id = tax_;
  vms.flavor = "small";
  vms.count = 33;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateVms(s, t, platform_, vms).status(); }).ok());

  HousekeeperOptions o;
  o.utilisation_sample_interval = std::chrono::milliseconds(0);
  Housekeeper keeper(*db_, clock_, o);
  clock_.Advance(std::chrono::hours(24 * 3));  // 4 days left: not yet
  EXPECT_EQ(keeper.RunOnce(clock_.MonotonicNow()).capacity_grants_warned, 0);
  clock_.Advance(std::chrono::hours(24 * 2));  // 2 days left: warned, once
  EXPECT_EQ(keeper.RunOnce(clock_.MonotonicNow()).capacity_grants_warned, 1);
  EXPECT_EQ(keeper.RunOnce(clock_.MonotonicNow()).capacity_grants_warned, 0);
  EXPECT_EQ(Events("capacity-grant-expiring"), 1);
  clock_.Advance(std::chrono::hours(24 * 2));
  EXPECT_EQ(keeper.RunOnce(clock_.MonotonicNow()).capacity_requests_expired, 1);
  EXPECT_EQ(TaxInstances(), 30) << "the quota returned";
  EXPECT_EQ(db_->Read([](const State& s) { return s.vms().size(); }), 33u) << "nothing deleted";
  EXPECT_EQ(Events("capacity-over-quota"), 1) << "33 held of 30: flagged";
  EXPECT_EQ(db_->Read([&](const State& s) { return s.FindCapacityRequest(r->meta.id)->state; }),
            CapacityRequestState::kExpired);
  // A request still waiting at its end expires without a grant.
  auto late = AskQuota(1, clock_.now_ms() + 1000);
  ASSERT_TRUE(late.ok());
  clock_.Advance(std::chrono::seconds(2));
  keeper.RunOnce(clock_.MonotonicNow());
  EXPECT_EQ(db_->Read([&](const State& s) { return s.FindCapacityRequest(late->meta.id)->state; }),
            CapacityRequestState::kExpired);
  EXPECT_EQ(Approve(bureau_admin_, late->meta.id).status().reason(), "REQUEST_NOT_PENDING");
}

}  // namespace
}  // namespace govpool::controller
