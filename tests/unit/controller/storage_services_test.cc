// Unit tests of the storage services over an in-memory State: placement in pools by reach,
// tier and headroom; nearfull refusals; quotas (volumes, volume_gib, snapshots) with no drift;
// the work handed to agents; attach/detach; dependents on delete; VMs booted from an image.
#include <gtest/gtest.h>

#include "controller/services/services.h"
#include "scheduler/scheduler.h"
#include "tests/unit/controller/pre_registered_host.h"
#include "tests/unit/controller/vm_create.h"

namespace govpool::controller {
namespace {

constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;

class StorageServicesTest : public ::testing::Test {
 protected:
  StorageServicesTest() : s_(std::move(scheduler::Scheduler::Create(scheduler::Config{})).value()) {
    admin_ = {"u-admin", "admin", api::Role::kSystemAdmin, ""};
    agent_ = {"u-agent", "agent", api::Role::kAgent, ""};
    api::Quota q;
    q.volumes = 3;
    q.volume_gib = 100;
    q.snapshots = 2;
    dept_ = Create<api::Department>([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "tax";
      req.quota = q;
      return CreateDepartment(s, t, admin_, req);
    });
    host_ = Create<api::Host>([&](State& s, Txn& t) {
      api::RegisterHostRequest req;
      req.name = "h1";
      req.capacity = {16, 65536, 100, {}};
      req.storage_clusters = {"ceph"};
      return testing::RegisterPreRegisteredHost(s, t, agent_, req);
    });
    pool_ = Create<api::StoragePool>([&](State& s, Txn& t) {
      api::CreateStoragePoolRequest req;
      req.name = "fast";
      req.cluster = "ceph";
      req.tiers = {"ssd"};
      return CreateStoragePool(s, t, admin_, req);
    });
    member_ = {"u-m", "m", api::Role::kDeptAdmin, dept_.meta.id};
  }

  template <typename Fn>
  auto W(Fn fn) {
    Txn t(s_.revision() + 1, now_ms_);
    auto r = fn(s_, t);
    if (!t.mutations().empty()) s_.set_revision(t.revision());
    return r;
  }
  template <typename T, typename Fn>
  T Create(Fn fn) {
    auto r = W(fn);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : T{};
  }

  // The agent of h1 reports the pool with `capacity_gib` and `used_ratio`.
  void ReportPool(std::int64_t capacity_gib, double used_ratio, bool reachable = true) {
    api::StoragePoolReport r;
    r.pool_id = pool_.meta.id;
    r.reachable = reachable;
    r.stats.capacity_bytes = capacity_gib * kGiB;
    r.stats.used_ratio = used_ratio;
    r.stats.used_bytes = static_cast<std::int64_t>(used_ratio * static_cast<double>(r.stats.capacity_bytes));
    Status st = W([&](State& s, Txn& t) { return ReportStoragePools(s, t, agent_, host_.meta.id, {r}); });
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Result<api::Volume> MakeVolume(const std::string& name, std::int64_t gib, const std::string& extra_pool = "") {
    api::CreateVolumeRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    req.size_gib = gib;
    req.pool = extra_pool;
    return W([&](State& s, Txn& t) { return CreateVolume(s, t, member_, req); });
  }
  Result<api::Volume> Report(const std::string& id, api::VolumeState state, std::int64_t generation,
                             bool flattened = false) {
    api::VolumeStatusReport r;
    r.state = state;
    r.observed_generation = generation;
    r.flattened = flattened;
    return W([&](State& s, Txn& t) { return ReportVolumeStatus(s, t, agent_, id, r); });
  }
  std::int64_t Used(const char* resource) {
    return s_.Usage(dept_.meta.id).*(api::FindQuotaResource(resource)->limit);
  }

  State s_;
  std::int64_t now_ms_ = 1'700'000'000'000;
  Caller admin_, agent_, member_;
  api::Department dept_;
  api::Host host_;
  api::StoragePool pool_;
};

TEST_F(StorageServicesTest, NoVolumeUntilAnAgentReachesThePool) {
  auto v = MakeVolume("data", 10);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().reason(), "NO_VALID_STORAGE_POOL");
  EXPECT_EQ(Used("volumes"), 0);
  ReportPool(100, 0.1, /*reachable=*/false);
  EXPECT_EQ(MakeVolume("data", 10).status().reason(), "NO_VALID_STORAGE_POOL");
}

TEST_F(StorageServicesTest, VolumeGoesToTheReachingAgentAndCountsAgainstQuota) {
  ReportPool(100, 0.1);
  auto v = MakeVolume("data", 10);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->pool_id, pool_.meta.id);
  EXPECT_EQ(v->host_id, host_.meta.id);
  EXPECT_EQ(v->state, api::VolumeState::kCreating);
  EXPECT_EQ(Used("volumes"), 1);
  EXPECT_EQ(Used("volume_gib"), 10);
  api::StoragePool shown = s_.RenderStoragePool(*s_.FindStoragePool(pool_.meta.id));
  EXPECT_EQ(shown.allocated_gib, 10);
  EXPECT_EQ(shown.volumes, 1);
  EXPECT_EQ(shown.hosts, 1);
  EXPECT_EQ(shown.status, "ok");
  // The host's watch answer carries the work and the pool.
  api::WatchAnswer w;
  AddStorageWork(s_, host_.meta.id, w);
  ASSERT_EQ(w.volumes.size(), 1u);
  EXPECT_EQ(w.volumes[0].meta.id, v->meta.id);
  ASSERT_EQ(w.storage_pools.size(), 1u);
}

TEST_F(StorageServicesTest, QuotaRefusesAndNothingDrifts) {
  ReportPool(1000, 0.1);
  ASSERT_TRUE(MakeVolume("a", 60).ok());
  auto big = MakeVolume("b", 50);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(Used("volume_gib"), 60);
  ASSERT_TRUE(MakeVolume("b", 20).ok());
  ASSERT_TRUE(MakeVolume("c", 1).ok());
  EXPECT_EQ(MakeVolume("d", 1).status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(Used("volumes"), 3);
}

// Confinement for classified workloads: a department's allowed storage pools, set at creation
// or later, keep its volumes out of every other pool.
TEST_F(StorageServicesTest, AllowedStoragePoolsConfineTheDepartmentsVolumes) {
  ReportPool(1000, 0.1);
  api::PatchDepartmentRequest elsewhere;
  elsewhere.allowed_storage_pools = std::vector<std::string>{"secret-pool"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, dept_.meta.id, std::nullopt, elsewhere); }).ok());
  EXPECT_EQ(s_.FindDepartment(dept_.meta.id)->allowed_storage_pools, std::vector<std::string>{"secret-pool"});
  EXPECT_FALSE(MakeVolume("data", 10).ok()) << "fast is not one of its pools";
  EXPECT_EQ(Used("volumes"), 0);
  elsewhere.allowed_storage_pools = std::vector<std::string>{"fast"};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchDepartment(s, t, admin_, dept_.meta.id, std::nullopt, elsewhere); }).ok());
  EXPECT_TRUE(MakeVolume("data", 10).ok());
  api::CreateDepartmentRequest confined;
  confined.name = "defence";
  confined.allowed_storage_pools = {"secret-pool"};
  auto d = W([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, confined); });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->allowed_storage_pools, std::vector<std::string>{"secret-pool"});
}

TEST_F(StorageServicesTest, NearfullPoolTakesNoNewVolumes) {
  ReportPool(100, 0.9);
  auto v = MakeVolume("data", 1);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().reason(), "STORAGE_POOL_NEARFULL");
  EXPECT_NE(v.status().message().find("fast"), std::string::npos) << v.status().message();
  EXPECT_EQ(s_.RenderStoragePool(*s_.FindStoragePool(pool_.meta.id)).status, "nearfull");
  EXPECT_EQ(Used("volumes"), 0);
}

TEST_F(StorageServicesTest, ThinProvisioningBoundsAllocation) {
  ReportPool(50, 0.1);
  ASSERT_TRUE(MakeVolume("a", 40).ok());
  auto v = MakeVolume("b", 20);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().reason(), "NO_VALID_STORAGE_POOL");
}

TEST_F(StorageServicesTest, DeleteWaitsForTheAgentThenReleasesQuota) {
  ReportPool(100, 0.1);
  auto v = *MakeVolume("data", 10);
  ASSERT_TRUE(Report(v.meta.id, api::VolumeState::kAvailable, 1).ok());
  auto d = W([&](State& s, Txn& t) { return DeleteVolume(s, t, member_, v.meta.id, std::nullopt, false); });
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->deleting);
  EXPECT_EQ(Used("volumes"), 1);  // until the agent confirms
  EXPECT_FALSE(Report(v.meta.id, api::VolumeState::kDeleted, 1).ok());  // older generation
  ASSERT_TRUE(Report(v.meta.id, api::VolumeState::kDeleted, d->generation).ok());
  EXPECT_EQ(s_.FindVolume(v.meta.id), nullptr);
  EXPECT_EQ(Used("volumes"), 0);
  EXPECT_EQ(Used("volume_gib"), 0);
}

TEST_F(StorageServicesTest, ResizeGrowsOnlyWithinQuota) {
  ReportPool(1000, 0.1);
  auto v = *MakeVolume("data", 10);
  auto resize = [&](std::int64_t gib) {
    return W([&](State& s, Txn& t) {
      return ResizeVolume(s, t, member_, v.meta.id, api::ResizeVolumeRequest{gib});
    });
  };
  EXPECT_EQ(resize(5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(resize(200).status().reason(), "QUOTA_EXCEEDED");
  auto grown = resize(30);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  EXPECT_EQ(grown->generation, v.generation + 1);
  EXPECT_EQ(Used("volume_gib"), 30);
  EXPECT_EQ(Used("volumes"), 1);
}

TEST_F(StorageServicesTest, SnapshotsCountAndClonesBlockDeletionUntilFlattened) {
  ReportPool(1000, 0.1);
  auto v = *MakeVolume("data", 10);
  ASSERT_TRUE(Report(v.meta.id, api::VolumeState::kAvailable, 1).ok());
  auto snap = W([&](State& s, Txn& t) {
    return CreateSnapshot(s, t, member_, v.meta.id, api::CreateSnapshotRequest{"s1"});
  });
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(Used("snapshots"), 1);
  EXPECT_EQ(snap->host_id, host_.meta.id);
  api::SnapshotStatusReport ok{api::SnapshotState::kAvailable, ""};
  ASSERT_TRUE(W([&](State& s, Txn& t) {
                return ReportSnapshotStatus(s, t, agent_, v.meta.id, snap->meta.id, ok);
              }).ok());
  api::CreateVolumeRequest clone_req;
  clone_req.name = "clone";
  clone_req.department_id = dept_.meta.id;
  clone_req.snapshot = snap->meta.id;
  auto clone = W([&](State& s, Txn& t) { return CreateVolume(s, t, member_, clone_req); });
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  EXPECT_EQ(clone->size_gib, 10);
  EXPECT_EQ(clone->source_snapshot_id, snap->meta.id);

  auto refused = W([&](State& s, Txn& t) { return DeleteVolume(s, t, member_, v.meta.id, std::nullopt, false); });
  EXPECT_EQ(refused.status().reason(), "HAS_DEPENDENTS");
  auto snap_refused = W([&](State& s, Txn& t) {
    return DeleteSnapshot(s, t, member_, v.meta.id, snap->meta.id, false);
  });
  EXPECT_EQ(snap_refused.status().reason(), "HAS_DEPENDENTS");
  // With flatten the clone is asked to flatten and the volume goes once the agent confirms.
  auto d = W([&](State& s, Txn& t) { return DeleteVolume(s, t, member_, v.meta.id, std::nullopt, true); });
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(s_.FindVolume(clone->meta.id)->flatten);
  ASSERT_TRUE(Report(v.meta.id, api::VolumeState::kDeleted, d->generation).ok());
  EXPECT_EQ(s_.FindSnapshot(snap->meta.id), nullptr);  // went with its volume
  EXPECT_EQ(Used("snapshots"), 0);
  EXPECT_EQ(Used("volumes"), 1);
}

TEST_F(StorageServicesTest, AttachNeedsAReachingHostAndBlocksDelete) {
  ReportPool(1000, 0.1);
  api::CreateFlavorRequest f;
  f.name = "small";
  f.vcpus = 1;
  f.memory_mib = 512;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, f); }).ok());
  api::CreateVmRequest vm_req;
  vm_req.name = "web";
  vm_req.department_id = dept_.meta.id;
  vm_req.flavor = "small";
  auto vm = W([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, member_, vm_req); });
  ASSERT_TRUE(vm.ok()) << vm.status().ToString();
  auto v = *MakeVolume("data", 10);
  auto attach = [&] {
    return W([&](State& s, Txn& t) { return AttachVolume(s, t, member_, v.meta.id, api::AttachVolumeRequest{vm->meta.id}); });
  };
  EXPECT_EQ(attach().status().code(), StatusCode::kFailedPrecondition);  // still creating
  ASSERT_TRUE(Report(v.meta.id, api::VolumeState::kAvailable, 1).ok());
  auto attached = attach();
  ASSERT_TRUE(attached.ok()) << attached.status().ToString();
  EXPECT_EQ(attached->device, "vdb");
  EXPECT_EQ(attached->host_id, vm->host_id);
  auto del = W([&](State& s, Txn& t) { return DeleteVolume(s, t, member_, v.meta.id, std::nullopt, false); });
  EXPECT_EQ(del.status().reason(), "VOLUME_IN_USE");
  auto rollback = W([&](State& s, Txn& t) { return RollbackVolume(s, t, member_, v.meta.id, "x"); });
  EXPECT_FALSE(rollback.ok());
  auto detached = W([&](State& s, Txn& t) { return DetachVolume(s, t, member_, v.meta.id); });
  ASSERT_TRUE(detached.ok());
  EXPECT_TRUE(detached->vm_id.empty());
}

TEST_F(StorageServicesTest, VmFromImageGetsAnRbdRootCloneAndReleasesIt) {
  ReportPool(1000, 0.1);
  api::CreateFlavorRequest f;
  f.name = "small";
  f.vcpus = 1;
  f.memory_mib = 512;
  f.disk_gib = 5;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return CreateFlavor(s, t, admin_, f); }).ok());
  api::CreateImageRequest ir;
  ir.name = "debian";
  auto image = W([&](State& s, Txn& t) { return CreateImage(s, t, admin_, ir); });
  ASSERT_TRUE(image.ok()) << image.status().ToString();

  api::CreateVmRequest req;
  req.name = "web";
  req.department_id = dept_.meta.id;
  req.flavor = "small";
  req.image = "debian";
  auto early = W([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, member_, req); });
  EXPECT_EQ(early.status().reason(), "IMAGE_NOT_READY");

  ASSERT_TRUE(W([&](State& s, Txn& t) { return BeginImageUpload(s, t, admin_, image->meta.id); }).ok());
  const std::string sha(64, 'a');
  auto up = W([&](State& s, Txn& t) { return FinishImageUpload(s, t, admin_, image->meta.id, 3 * kGiB, sha); });
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->state, api::ImageState::kImporting);
  EXPECT_EQ(up->host_id, host_.meta.id);
  api::ImageStatusReport done;
  done.state = api::ImageState::kAvailable;
  done.virtual_size_bytes = 3 * kGiB;
  done.content_sha256 = sha;
  done.observed_generation = 1;
  auto avail = W([&](State& s, Txn& t) { return ReportImageStatus(s, t, agent_, image->meta.id, done); });
  ASSERT_TRUE(avail.ok()) << avail.status().ToString();
  ASSERT_EQ(avail->state, api::ImageState::kAvailable);

  auto vm = W([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, member_, req); });
  ASSERT_TRUE(vm.ok()) << vm.status().ToString();
  EXPECT_EQ(vm->disk_gib, 0);
  ASSERT_FALSE(vm->root_volume_id.empty());
  const api::Volume* root = s_.FindVolume(vm->root_volume_id);
  ASSERT_NE(root, nullptr);
  EXPECT_TRUE(root->boot);
  EXPECT_EQ(root->device, "vda");
  EXPECT_EQ(root->size_gib, 5);
  EXPECT_EQ(root->source_image_id, image->meta.id);
  EXPECT_EQ(root->host_id, vm->host_id);
  EXPECT_EQ(Used("volumes"), 1);
  EXPECT_EQ(Used("volume_gib"), 5);
  // The image cannot go while the clone depends on it.
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteImage(s, t, admin_, image->meta.id); }).status().reason(),
            "HAS_DEPENDENTS");
  // A content mismatch makes the image unusable for new VMs.
  done.content_sha256 = std::string(64, 'b');
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ReportImageStatus(s, t, agent_, image->meta.id, done); }).ok());
  req.name = "web2";
  EXPECT_EQ(W([&](State& s, Txn& t) { return testing::CreateOneVm(s, t, member_, req); }).status().reason(),
            "IMAGE_CHECKSUM_MISMATCH");
  // Deleting the VM (the host has an agent: it confirms) turns its root disk deleting.
  auto del = W([&](State& s, Txn& t) { return DeleteVm(s, t, member_, vm->meta.id, std::nullopt, false); });
  ASSERT_TRUE(del.ok());
  api::VmStatusReport gone{api::VmState::kDeleted, "", del->generation};
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ReportVmStatus(s, t, agent_, vm->meta.id, gone); }).ok());
  root = s_.FindVolume(vm->root_volume_id);
  ASSERT_NE(root, nullptr);
  EXPECT_TRUE(root->deleting);
  EXPECT_TRUE(root->vm_id.empty());
}

TEST_F(StorageServicesTest, UploadWithAWrongChecksumIsRefused) {
  ReportPool(1000, 0.1);
  api::CreateImageRequest ir;
  ir.name = "img";
  ir.sha256 = std::string(64, 'c');
  auto image = *W([&](State& s, Txn& t) { return CreateImage(s, t, admin_, ir); });
  ASSERT_TRUE(W([&](State& s, Txn& t) { return BeginImageUpload(s, t, admin_, image.meta.id); }).ok());
  auto up = W([&](State& s, Txn& t) {
    return FinishImageUpload(s, t, admin_, image.meta.id, 100, std::string(64, 'd'));
  });
  EXPECT_EQ(up.status().reason(), "IMAGE_CHECKSUM_MISMATCH");
  EXPECT_EQ(s_.FindImage(image.meta.id)->state, api::ImageState::kError);
}

TEST_F(StorageServicesTest, WorkOfASilentAgentMovesToAnotherThatReachesThePool) {
  ReportPool(100, 0.1);
  auto v = *MakeVolume("data", 1);
  Caller agent2{"u-agent2", "agent2", api::Role::kAgent, ""};
  api::RegisterHostRequest req;
  req.name = "h2";
  req.capacity = {16, 65536, 100, {}};
  req.storage_clusters = {"ceph"};
  auto h2 = *W([&](State& s, Txn& t) { return testing::RegisterPreRegisteredHost(s, t, agent2, req); });
  api::StoragePoolReport r;
  r.pool_id = pool_.meta.id;
  r.reachable = true;
  r.stats.capacity_bytes = 100 * kGiB;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ReportStoragePools(s, t, agent2, h2.meta.id, {r}); }).ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 0);  // h1 is up
  now_ms_ += 60'000;
  W([&](State& s, Txn& t) {
    s.TouchHeartbeat(h2.meta.id, t.now_ms());
    return MarkSilentHostsDown(s, t, 30'000);
  });
  ASSERT_EQ(s_.FindHost(host_.meta.id)->status, api::HostStatus::kDown);
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 1);
  EXPECT_EQ(s_.FindVolume(v.meta.id)->host_id, h2.meta.id);
}

TEST_F(StorageServicesTest, WorkNoAgentTookIsHandedToTheFirstThatReachesThePool) {
  ReportPool(1000, 0.1);
  api::CreateImageRequest ir;
  ir.name = "img";
  auto image = *W([&](State& s, Txn& t) { return CreateImage(s, t, admin_, ir); });
  ASSERT_TRUE(W([&](State& s, Txn& t) { return BeginImageUpload(s, t, admin_, image.meta.id); }).ok());
  ReportPool(1000, 0.1, /*reachable=*/false);  // the upload ends while no agent reaches the pool
  auto up = W([&](State& s, Txn& t) { return FinishImageUpload(s, t, admin_, image.meta.id, 100, ""); });
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->host_id, "");
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 0);
  ReportPool(1000, 0.1);
  EXPECT_EQ(W([&](State& s, Txn& t) { return ReassignStorageWork(s, t); }), 1);
  EXPECT_EQ(s_.FindImage(image.meta.id)->host_id, host_.meta.id) << "the import waited for an agent";
  EXPECT_TRUE(s_.ImagesOfHost("").empty());
}

TEST_F(StorageServicesTest, UploadsCutByARestartCanBeRetried) {
  ReportPool(1000, 0.1);
  api::CreateImageRequest ir;
  ir.name = "img";
  auto image = *W([&](State& s, Txn& t) { return CreateImage(s, t, admin_, ir); });
  ASSERT_TRUE(W([&](State& s, Txn& t) { return BeginImageUpload(s, t, admin_, image.meta.id); }).ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return FailInterruptedUploads(s, t); }), 1);
  EXPECT_EQ(s_.FindImage(image.meta.id)->state, api::ImageState::kError);
  EXPECT_TRUE(W([&](State& s, Txn& t) { return BeginImageUpload(s, t, admin_, image.meta.id); }).ok());
}

TEST_F(StorageServicesTest, AdminsFindADepartmentsImageByName) {
  ReportPool(1000, 0.1);
  api::CreateImageRequest ir;
  ir.name = "private-disk";
  ir.department_id = dept_.meta.id;
  auto image = W([&](State& s, Txn& t) { return CreateImage(s, t, member_, ir); });
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto found = GetImage(s_, admin_, "private-disk");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->meta.id, image->meta.id);
  Caller other{"u-o", "o", api::Role::kDeptAdmin, "another-department"};
  EXPECT_EQ(GetImage(s_, other, "private-disk").status().code(), StatusCode::kNotFound);
}

TEST_F(StorageServicesTest, DepartmentsCannotSeeOthersVolumes) {
  ReportPool(100, 0.1);
  auto v = *MakeVolume("data", 1);
  Caller other{"u-o", "o", api::Role::kDeptAdmin, "another-department"};
  EXPECT_EQ(GetVolume(s_, other, v.meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(ListVolumes(s_, other, {}, {}).items.empty());
  EXPECT_EQ(ListVolumes(s_, member_, {}, {}).items.size(), 1u);
}

}  // namespace
}  // namespace govpool::controller
