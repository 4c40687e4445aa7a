// The organisation tree (docs/departments.md): three levels of departments whose quotas bound
// their children's and their subtree's usage; creates checked against every ancestor (also 200
// at once from threads); lowering and moving refused with the numbers that block them; a
// bureau's dept-admin managing its sub-departments' quotas and nothing else.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controller/db.h"
#include "controller/services/services.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"
#include "tests/unit/controller/instances_quota.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

class DepartmentTreeTest : public ::testing::Test {
 protected:
  DepartmentTreeTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    admin_ = Caller{"u-admin", "admin", api::Role::kSystemAdmin, ""};
    api::CreateFlavorRequest flavor;
    flavor.name = "tiny";
    flavor.vcpus = 1;
    flavor.memory_mib = 256;
    flavor.disk_gib = 1;
    EXPECT_TRUE(db_->Write([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, flavor); }).ok());
    api::RegisterHostRequest host;
    host.name = "h1";
    host.capacity.cpus = 1024;
    host.capacity.memory_mib = 1 << 20;
    host.capacity.disk_gib = 100'000;
    EXPECT_TRUE(db_->Write([&](State& s, Txn& t) { return RegisterHost(s, t, admin_, host); }).ok());
    // province (100) -> bureau (60) -> tax (30), health (20)
    province_ = Make("province", "", testing::InstancesOnly(100)).value().meta.id;
    bureau_ = Make("bureau", "province", testing::InstancesOnly(60)).value().meta.id;
    tax_ = Make("tax", bureau_, testing::InstancesOnly(30)).value().meta.id;
    health_ = Make("health", "bureau", testing::InstancesOnly(20)).value().meta.id;
  }

  Result<api::Department> Make(const std::string& name, const std::string& parent, const api::Quota& quota) {
    api::CreateDepartmentRequest req;
    req.name = name;
    req.parent = parent;
    req.quota = quota;
    return db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, req); });
  }
  Result<api::Department> Patch(const std::string& id, const api::PatchDepartmentRequest& req, const Caller& by) {
    return db_->Write([&](State& s, Txn& t) { return PatchDepartment(s, t, by, id, std::nullopt, req); });
  }
  Result<api::Department> SetInstances(const std::string& id, std::int64_t limit, const Caller& by) {
    api::PatchDepartmentRequest req;
    req.quota = api::QuotaPatch{};
    req.quota->instances = limit;
    return Patch(id, req, by);
  }
  Result<api::Department> Move(const std::string& id, const std::string& parent) {
    api::PatchDepartmentRequest req;
    req.parent = parent;
    return Patch(id, req, admin_);
  }
  Status CreateVms(const std::string& department_id, std::int64_t count) {
    api::CreateVmRequest req;
    req.name = "vm-" + std::to_string(next_vm_++);
    req.department_id = department_id;
    req.flavor = "tiny";
    req.count = count;
    return db_->Write([&](State& s, Txn& t) { return controller::CreateVms(s, t, admin_, req).status(); });
  }
  std::int64_t SubtreeInstances(const std::string& id) {
    return db_->Read([&](const State& s) { return s.SubtreeUsage(id).instances; });
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller admin_;
  std::string province_, bureau_, tax_, health_;
  int next_vm_ = 0;
};

TEST_F(DepartmentTreeTest, ChildrensQuotasFitInTheParentsWithTheNumbers) {
  // 30 + 20 of the bureau's 60 are given: 10 are left.
  auto over = Make("culture", "bureau", testing::InstancesOnly(11));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), "PARENT_QUOTA_EXCEEDED");
  EXPECT_NE(over.status().message().find("its limit is 60 and its other children's limits take 50"), std::string::npos)
      << over.status().message();
  auto unlimited = Make("culture", "bureau", testing::InstancesOnly(-1));
  EXPECT_EQ(unlimited.status().reason(), "PARENT_QUOTA_EXCEEDED") << "no unlimited child under a limited parent";
  auto fits = Make("culture", "bureau", testing::InstancesOnly(10));
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->parent_id, bureau_);
  EXPECT_EQ(Make("nowhere", "no-such-department", testing::InstancesOnly(1)).status().code(), StatusCode::kInvalidArgument);
  // Raising a child's limit past what its parent has left is refused too.
  EXPECT_EQ(SetInstances(tax_, 31, admin_).status().reason(), "PARENT_QUOTA_EXCEEDED");
  EXPECT_TRUE(SetInstances(tax_, 25, admin_).ok());
}

TEST_F(DepartmentTreeTest, CreatesAreCheckedAgainstEveryAncestorCountingTheSubtree) {
  ASSERT_TRUE(CreateVms(tax_, 30).ok());
  EXPECT_EQ(CreateVms(tax_, 1).code(), StatusCode::kResourceExhausted) << "tax's own 30";
  ASSERT_TRUE(CreateVms(health_, 20).ok());
  // The bureau's own VMs count in its subtree: 50 held below it, 10 left of its 60.
  ASSERT_TRUE(CreateVms(bureau_, 10).ok());
  Status over = CreateVms(bureau_, 1);
  ASSERT_EQ(over.reason(), "QUOTA_EXCEEDED");
  EXPECT_NE(over.message().find("in use 60, limit 60"), std::string::npos) << over.message();
  EXPECT_EQ(SubtreeInstances(bureau_), 60);
  EXPECT_EQ(SubtreeInstances(province_), 60);
  // Lowering the province below what its subtree holds is refused.
  EXPECT_EQ(SetInstances(province_, 59, admin_).status().reason(), "QUOTA_BELOW_USAGE");
}

TEST_F(DepartmentTreeTest, LoweringBelowUsageOrChildrenIsRefusedWithTheNumbers) {
  ASSERT_TRUE(CreateVms(tax_, 12).ok());
  auto below_usage = SetInstances(tax_, 11, admin_);
  ASSERT_EQ(below_usage.status().reason(), "QUOTA_BELOW_USAGE");
  EXPECT_NE(below_usage.status().message().find("cannot be 11: its departments use 12"), std::string::npos)
      << below_usage.status().message();
  auto below_children = SetInstances(bureau_, 49, admin_);
  ASSERT_EQ(below_children.status().reason(), "QUOTA_BELOW_CHILDREN");
  EXPECT_NE(below_children.status().message().find("its children's limits take 50"), std::string::npos);
  EXPECT_TRUE(SetInstances(bureau_, 50, admin_).ok());
  EXPECT_TRUE(SetInstances(tax_, 12, admin_).ok()) << "down to exactly what is held";
}

TEST_F(DepartmentTreeTest, MovesAreRefusedIntoTheOwnSubtreeOrBeyondTheNewAncestors) {
  EXPECT_EQ(Move(bureau_, "tax").status().code(), StatusCode::kInvalidArgument) << "under its own child";
  EXPECT_EQ(Move(bureau_, bureau_).status().code(), StatusCode::kInvalidArgument);
  // A top-level department with 25 instances in use does not fit under the bureau (10 left).
  auto water = Make("water", "", testing::InstancesOnly(25));
  ASSERT_TRUE(water.ok());
  ASSERT_TRUE(CreateVms(water->meta.id, 5).ok());
  auto refused = Move(water->meta.id, "bureau");
  ASSERT_EQ(refused.status().reason(), "PARENT_QUOTA_EXCEEDED");
  EXPECT_NE(refused.status().message().find("its limit is 60 and its other children's limits take 50"), std::string::npos)
      << refused.status().message();
  ASSERT_TRUE(SetInstances(water->meta.id, 10, admin_).ok());
  auto moved = Move(water->meta.id, "bureau");
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(SubtreeInstances(bureau_), 5);
  EXPECT_EQ(SubtreeInstances(province_), 5);
  // Back to the top, and the department with sub-departments is not deleted.
  ASSERT_TRUE(Move(water->meta.id, "").ok());
  EXPECT_EQ(SubtreeInstances(bureau_), 0);
  Status not_empty = db_->Write([&](State& s, Txn& t) { return DeleteDepartment(s, t, admin_, bureau_, std::nullopt); });
  EXPECT_EQ(not_empty.reason(), "DEPARTMENT_NOT_EMPTY");
}

TEST_F(DepartmentTreeTest, ABureauAdminManagesItsSubDepartmentsQuotasWithinItsOwn) {
  const Caller bureau_admin{"u-b", "bureau-admin", api::Role::kDeptAdmin, bureau_};
  ASSERT_TRUE(SetInstances(health_, 30, bureau_admin).ok()) << "30 + 30 = the bureau's 60";
  EXPECT_EQ(SetInstances(health_, 31, bureau_admin).status().reason(), "PARENT_QUOTA_EXCEEDED");
  EXPECT_EQ(SetInstances(bureau_, 70, bureau_admin).status().code(), StatusCode::kPermissionDenied)
      << "not its own quota";
  EXPECT_EQ(SetInstances(province_, 200, bureau_admin).status().code(), StatusCode::kNotFound)
      << "nor what is above it, which it cannot see";
  api::PatchDepartmentRequest rename;
  rename.name = "renamed";
  EXPECT_EQ(Patch(tax_, rename, bureau_admin).status().code(), StatusCode::kPermissionDenied) << "quotas only";
  // It sees its sub-departments; a tax member does not see the bureau.
  EXPECT_TRUE(db_->Read([&](const State& s) { return GetDepartment(s, bureau_admin, tax_); }).ok());
  const Caller tax_member{"u-t", "tax-member", api::Role::kDeptMember, tax_};
  EXPECT_EQ(db_->Read([&](const State& s) { return GetDepartment(s, tax_member, bureau_); }).status().code(),
            StatusCode::kNotFound);
  const Caller tax_admin{"u-ta", "tax-admin", api::Role::kDeptAdmin, tax_};
  EXPECT_EQ(SetInstances(tax_, 10, tax_admin).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(DepartmentTreeTest, TwoHundredConcurrentCreatesNeverTakeTheSubtreeOverItsParent) {
  // The bureau (60) holds its own VMs beside tax (30) and health (20): creates race from 200
  // threads across the three; the bureau's subtree never passes 60, nor a child its own.
  std::vector<std::string> targets = {bureau_, tax_, health_};
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&, i] {
      api::CreateVmRequest req;
      req.name = "race-" + std::to_string(i);
      req.department_id = targets[static_cast<std::size_t>(i) % targets.size()];
      req.flavor = "tiny";
      auto vm = db_->Write([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, admin_, req); });
      if (vm.ok()) ++created;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(created.load(), 60) << "the bureau's whole limit, and not one more";
  EXPECT_EQ(SubtreeInstances(bureau_), 60);
  EXPECT_LE(SubtreeInstances(tax_), 30);
  EXPECT_LE(SubtreeInstances(health_), 20);
  EXPECT_TRUE(db_->Sync().ok());
}

}  // namespace
}  // namespace govpool::controller
