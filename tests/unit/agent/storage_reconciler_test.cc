// StorageReconciler over FakeBlockStorage, FakeHypervisor and the in-memory controller:
// volumes (empty, cloned from an image or a snapshot, grown, flattened, rolled back, deleted),
// snapshots, image imports (raw, qcow2 through the converter seam, SHA-256 mismatch, a crash
// mid-import), pool reports, errors, "absent records never delete anything" and "a converged
// pass writes nothing"; with the VM Reconciler, volumes reported in-use / available as they
// are plugged and unplugged. Also the ceph.conf and keyring parsers.
#include "agent/storage_reconciler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/reconciler.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "tests/fakes/agent/fake_block_storage.h"
#include "tests/fakes/agent/fake_controller_client.h"
#include "tests/fakes/agent/fake_hypervisor.h"
#include "tests/fakes/common/fake_clock.h"

namespace govpool::agent {
namespace {

using Op = FakeBlockStorage::Op;
constexpr std::int64_t kGiB = std::int64_t{1} << 30;
constexpr const char* kCephPool = "rbd-ssd";

std::string Vol(const std::string& id) { return StorageReconciler::VolumeImage(id); }
std::string Img(const std::string& id) { return StorageReconciler::ImageImage(id); }
std::string Snap(const std::string& id) { return StorageReconciler::SnapshotName(id); }

class StorageReconcilerTest : public ::testing::Test {
 protected:
  StorageReconcilerTest() {
    EXPECT_TRUE(storage_.AddPool(kCephPool, 100 * kGiB).ok());
    api::StoragePool p;
    p.meta.id = "pool-1";
    p.name = "ssd";
    p.cluster = "ceph";
    p.ceph_pool = kCephPool;
    controller_.storage_pools[p.meta.id] = p;
    staging_ = (std::filesystem::temp_directory_path() / ("govpool-staging-" + NewUuid())).string();
    reconciler_ = Make();
  }
  ~StorageReconcilerTest() override { std::filesystem::remove_all(staging_); }

  std::unique_ptr<StorageReconciler> Make() {
    StorageReconcilerOptions o;
    o.host_id = "host-1";
    o.cluster = "ceph";
    o.staging_dir = staging_;
    o.hypervisor = &hv_;
    o.chunk_bytes = 64 * 1024;
    o.convert_qcow2 = [this](const std::string& in, const std::string& out) -> Status {
      converted_from_ = in;
      std::ofstream(out, std::ios::binary) << converted_;
      return OkStatus();
    };
    o.progress_interval = progress_interval_;
    return std::make_unique<StorageReconciler>(storage_, controller_, o, clock_);
  }
  Result<StorageSummary> Pass(const VolumeAttachments& attached = {}) {
    return reconciler_->Reconcile(controller_.Answer(), attached);
  }
  int Writes() const {
    int n = 0;
    for (Op op : {Op::kCreateImage, Op::kResizeImage, Op::kRemoveImage, Op::kCloneImage, Op::kFlattenImage,
                  Op::kCreateSnapshot, Op::kRemoveSnapshot, Op::kRollbackSnapshot, Op::kWrite}) {
      n += storage_.CallCount(op);
    }
    return n;
  }
  std::size_t Reports() const {
    return controller_.volume_reports.size() + controller_.snapshot_reports.size() +
           controller_.image_reports.size();
  }

  api::Volume& AddVolume(std::int64_t size_gib = 1) {
    api::Volume v;
    v.meta.id = NewUuid();
    v.name = "vol-" + std::to_string(controller_.volumes.size());
    v.department_id = "dept-1";
    v.pool_id = "pool-1";
    v.size_gib = size_gib;
    v.host_id = "host-1";
    return controller_.volumes[v.meta.id] = v;
  }
  api::VolumeSnapshot& AddSnapshot(const std::string& volume_id) {
    api::VolumeSnapshot s;
    s.meta.id = NewUuid();
    s.name = "snap-" + std::to_string(controller_.snapshots.size());
    s.volume_id = volume_id;
    s.department_id = "dept-1";
    s.pool_id = "pool-1";
    s.size_gib = controller_.volumes.at(volume_id).size_gib;
    s.host_id = "host-1";
    return controller_.snapshots[s.meta.id] = s;
  }
  // An uploaded image handed to this host for import.
  api::Image& AddImage(const std::string& data, api::ImageFormat format = api::ImageFormat::kRaw) {
    api::Image i;
    i.meta.id = NewUuid();
    i.name = "img-" + std::to_string(controller_.images.size());
    i.format = format;
    i.pool_id = "pool-1";
    i.host_id = "host-1";
    i.size_bytes = static_cast<std::int64_t>(data.size());
    i.sha256 = Sha256Hex(data);
    i.uploaded_bytes = i.size_bytes;
    i.state = api::ImageState::kImporting;
    controller_.image_data[i.meta.id] = data;
    return controller_.images[i.meta.id] = i;
  }
  // An image already imported (as another agent would have left it).
  api::Image& AddImportedImage(const std::string& data) {
    api::Image& i = AddImage(data);
    EXPECT_TRUE(storage_.CreateImage(kCephPool, Img(i.meta.id), static_cast<std::int64_t>(data.size())).ok());
    Write(Img(i.meta.id), 0, data);
    EXPECT_TRUE(storage_.CreateSnapshot(kCephPool, Img(i.meta.id), "base", true).ok());
    i.state = api::ImageState::kAvailable;
    i.virtual_size_bytes = static_cast<std::int64_t>(data.size());
    i.content_sha256 = i.sha256;
    i.observed_generation = i.generation;
    i.host_id = "host-9";
    return i;
  }
  void Write(const std::string& image, std::int64_t offset, const std::string& data) {
    auto h = storage_.OpenImage(kCephPool, image);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Write(offset, data).ok());
    ASSERT_TRUE((*h)->Close().ok());
  }
  std::string Read(const std::string& image, std::int64_t offset, std::int64_t n) {
    auto h = storage_.OpenImage(kCephPool, image);
    if (!h.ok()) return "<" + h.status().ToString() + ">";
    auto data = (*h)->Read(offset, n);
    (void)(*h)->Close();
    return data.ok() ? *data : "<" + data.status().ToString() + ">";
  }
  bool Exists(const std::string& image) { return storage_.GetImage(kCephPool, image).ok(); }
  std::vector<std::string> Images() { return storage_.ListImages(kCephPool).value(); }

  FakeBlockStorage storage_;
  FakeHypervisor hv_;
  FakeControllerClient controller_;
  testing::FakeClock clock_;
  std::string staging_;
  std::string converted_;       // what the fake qcow2 converter writes
  std::string converted_from_;  // the file it was given
  std::chrono::milliseconds progress_interval_{2'000};
  std::unique_ptr<StorageReconciler> reconciler_;
};

TEST_F(StorageReconcilerTest, ReportsThisClustersPoolsReachableOrNotWithCephsText) {
  api::StoragePool missing;
  missing.meta.id = "pool-2";
  missing.cluster = "ceph";
  missing.ceph_pool = "no-such-pool";
  controller_.storage_pools[missing.meta.id] = missing;
  api::StoragePool other;
  other.meta.id = "pool-3";
  other.cluster = "backup";
  other.ceph_pool = kCephPool;
  controller_.storage_pools[other.meta.id] = other;
  EXPECT_FALSE(reconciler_->pool_reports().has_value());
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(reconciler_->pool_reports().has_value());
  const auto& reports = *reconciler_->pool_reports();
  ASSERT_EQ(reports.size(), 2u);  // not the other cluster's
  EXPECT_EQ(reports[0].pool_id, "pool-1");
  EXPECT_TRUE(reports[0].reachable);
  EXPECT_EQ(reports[0].stats.capacity_bytes, 100 * kGiB);
  EXPECT_EQ(reports[1].pool_id, "pool-2");
  EXPECT_FALSE(reports[1].reachable);
  EXPECT_NE(reports[1].reason.find("no-such-pool"), std::string::npos) << reports[1].reason;
}

TEST_F(StorageReconcilerTest, CreatesAnEmptyVolumeAndReportsItAvailable) {
  const std::string id = AddVolume(2).meta.id;
  ASSERT_TRUE(Pass().ok());
  auto info = storage_.GetImage(kCephPool, Vol(id));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size_bytes, 2 * kGiB);
  EXPECT_TRUE(info->parent.empty());
  const api::Volume& v = controller_.volumes.at(id);
  EXPECT_EQ(v.state, api::VolumeState::kAvailable);
  EXPECT_EQ(v.observed_generation, 1);
  EXPECT_EQ(controller_.volume_reports.size(), 1u);
}

TEST_F(StorageReconcilerTest, ClonesAVolumeFromAnImageAndGrowsItToItsSize) {
  const std::string image = AddImportedImage("BOOT-SECTOR" + std::string(5000, 'x')).meta.id;
  api::Volume& v = AddVolume(3);
  v.source_image_id = image;
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  auto info = storage_.GetImage(kCephPool, Vol(id));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, std::string(kCephPool) + "/" + Img(image) + "@base");
  EXPECT_EQ(info->size_bytes, 3 * kGiB);
  EXPECT_EQ(Read(Vol(id), 0, 11), "BOOT-SECTOR");
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kAvailable);
  EXPECT_FALSE(controller_.volumes.at(id).flattened);
  // The image belongs to another host: this one never re-imports or reports it.
  EXPECT_TRUE(controller_.image_reports.empty());
}

TEST_F(StorageReconcilerTest, ClonesAVolumeFromASnapshot) {
  const std::string source = AddVolume(1).meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(source), 0, "SNAPSHOT-DATA");
  const std::string snap = AddSnapshot(source).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.snapshots.at(snap).state, api::SnapshotState::kAvailable);
  Write(Vol(source), 0, "CHANGED-LATER");
  api::Volume& clone = AddVolume(1);
  clone.source_snapshot_id = snap;
  const std::string id = clone.meta.id;
  ASSERT_TRUE(Pass().ok());
  auto info = storage_.GetImage(kCephPool, Vol(id));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, std::string(kCephPool) + "/" + Vol(source) + "@" + Snap(snap));
  EXPECT_EQ(Read(Vol(id), 0, 13), "SNAPSHOT-DATA");
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kAvailable);
}

TEST_F(StorageReconcilerTest, GrowsAVolumeAndTellsTheRunningGuest) {
  api::Volume& v = AddVolume(1);
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  // Plugged into a running domain at vdb.
  const std::string vm = NewUuid();
  DomainSpec spec;
  spec.uuid = vm;
  spec.name = "govpool-" + vm;
  spec.disks.push_back(DiskSpec::File("/var/lib/govpool/disks/root.qcow2", "qcow2", "vda"));
  spec.disks.push_back(DiskSpec::Rbd(kCephPool, Vol(id), {"127.0.0.1:6789"}, "", "", "vdb"));
  spec.metadata = {{"vm_id", vm}};
  ASSERT_TRUE(hv_.DefineDomain(spec).ok());
  ASSERT_TRUE(hv_.StartDomain(vm).ok());
  v.vm_id = vm;
  v.device = "vdb";
  v.size_gib = 4;
  ++v.generation;
  ASSERT_TRUE(Pass({{id, vm}}).ok());
  EXPECT_EQ(storage_.GetImage(kCephPool, Vol(id))->size_bytes, 4 * kGiB);
  EXPECT_EQ(hv_.GuestDiskSizeBytes(vm, "vdb"), 4 * kGiB);
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kInUse);
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 2);
}

TEST_F(StorageReconcilerTest, FlattensWhenAskedAndReportsFlattened) {
  const std::string image = AddImportedImage(std::string(8192, 'i')).meta.id;
  api::Volume& v = AddVolume(1);
  v.source_image_id = image;
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  v.flatten = true;
  ++v.generation;
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(storage_.GetImage(kCephPool, Vol(id))->parent.empty());
  EXPECT_EQ(Read(Vol(id), 0, 4), "iiii");
  EXPECT_TRUE(controller_.volumes.at(id).flattened);
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 2);
  EXPECT_EQ(storage_.CallCount(Op::kFlattenImage), 1);
}

TEST_F(StorageReconcilerTest, RollsBackADetachedVolumeOncePerGeneration) {
  api::Volume& v = AddVolume(1);
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(id), 0, "BEFORE");
  const std::string snap = AddSnapshot(id).meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(id), 0, "AFTER!");
  v.rollback_snapshot_id = snap;
  ++v.generation;
  controller_.fail_reports = Unavailable("controller away");  // the report is lost once
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Read(Vol(id), 0, 6), "BEFORE");
  Write(Vol(id), 0, "AGAIN!");  // (nobody writes a detached volume; this proves no second rollback)
  controller_.fail_reports = OkStatus();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(storage_.CallCount(Op::kRollbackSnapshot), 1);
  EXPECT_EQ(Read(Vol(id), 0, 6), "AGAIN!");
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 2);
  EXPECT_TRUE(controller_.volumes.at(id).rollback_snapshot_id.empty());
}

TEST_F(StorageReconcilerTest, SnapshotsAreProtectedAndDeletedAfterFlatteningTheirClones) {
  const std::string source = AddVolume(1).meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(source), 0, "ORIGINAL");
  api::VolumeSnapshot& s = AddSnapshot(source);
  const std::string snap = s.meta.id;
  ASSERT_TRUE(Pass().ok());
  auto snaps = storage_.ListSnapshots(kCephPool, Vol(source));
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_EQ((*snaps)[0].name, Snap(snap));
  EXPECT_TRUE((*snaps)[0].is_protected);
  api::Volume& clone = AddVolume(1);
  clone.source_snapshot_id = snap;
  clone.host_id = "host-2";  // another agent's volume: flattened here all the same
  const std::string clone_id = clone.meta.id;
  ASSERT_TRUE(storage_.CloneImage(kCephPool, Vol(source), Snap(snap), kCephPool, Vol(clone_id)).ok());

  s.deleting = true;
  s.flatten_children = true;
  s.state = api::SnapshotState::kDeleting;
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(storage_.ListSnapshots(kCephPool, Vol(source))->empty());
  EXPECT_TRUE(storage_.GetImage(kCephPool, Vol(clone_id))->parent.empty());
  EXPECT_EQ(Read(Vol(clone_id), 0, 8), "ORIGINAL");
  EXPECT_EQ(controller_.snapshots.count(snap), 0u);
}

TEST_F(StorageReconcilerTest, DeletingAVolumeLeavesNothingBehind) {
  api::Volume& v = AddVolume(1);
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(id), 0, "DATA");
  AddSnapshot(id);
  ASSERT_TRUE(Pass().ok());
  v.deleting = true;
  v.state = api::VolumeState::kDeleting;
  ++v.generation;
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(Images().empty());
  EXPECT_TRUE(storage_.ListTrash(kCephPool)->empty());
  EXPECT_EQ(controller_.volumes.count(id), 0u);
  EXPECT_TRUE(controller_.snapshots.empty());
  ASSERT_FALSE(controller_.volume_reports.empty());
  EXPECT_EQ(controller_.volume_reports.back().second.state, api::VolumeState::kDeleted);
  EXPECT_EQ(controller_.volume_reports.back().second.observed_generation, 2);
  EXPECT_EQ(storage_.GetPoolStats(kCephPool)->used_bytes, 0);
}

TEST_F(StorageReconcilerTest, DeleteIsRefusedWhileClonesExistThenSucceedsOnceFlattened) {
  api::Volume& v = AddVolume(1);
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  const std::string snap = AddSnapshot(id).meta.id;
  ASSERT_TRUE(Pass().ok());
  api::Volume& clone = AddVolume(1);
  clone.source_snapshot_id = snap;
  const std::string clone_id = clone.meta.id;
  ASSERT_TRUE(Pass().ok());

  // Deleted with flatten=true: the controller asks the clone to flatten, the volume to go.
  controller_.volumes.at(id).deleting = true;
  controller_.volumes.at(id).generation++;
  // This pass sees the delete before the clone's flatten (answers can be in any order).
  ASSERT_TRUE(Pass().ok());
  const api::Volume& refused = controller_.volumes.at(id);
  EXPECT_EQ(refused.state, api::VolumeState::kError);
  EXPECT_NE(refused.state_reason.find("clones"), std::string::npos) << refused.state_reason;
  EXPECT_TRUE(Exists(Vol(id)));

  controller_.volumes.at(clone_id).flatten = true;
  controller_.volumes.at(clone_id).generation++;
  ASSERT_TRUE(Pass().ok());  // the clone flattens; the volume goes (volumes are in id order)
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.volumes.count(id), 0u);
  EXPECT_FALSE(Exists(Vol(id)));
  EXPECT_TRUE(controller_.volumes.at(clone_id).flattened);
}

TEST_F(StorageReconcilerTest, AbsentRecordsNeverDeleteAnything) {
  // Images of the cluster that this host's answer does not list (other agents', other
  // installations'): left alone, as are records of other hosts, even deleting ones.
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Vol("someone-else"), kGiB).ok());
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Img("orphan"), kGiB).ok());
  api::Volume& other = AddVolume(1);
  other.host_id = "host-2";
  other.deleting = true;
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Vol(other.meta.id), kGiB).ok());
  const std::string mine = AddVolume(1).meta.id;
  ASSERT_TRUE(Pass().ok());
  controller_.volumes.erase(mine);  // the record vanished (a restored controller backup...)
  ASSERT_TRUE(Pass().ok());
  controller_.volumes.clear();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(storage_.CallCount(Op::kRemoveImage), 0);
  EXPECT_EQ(storage_.CallCount(Op::kRemoveSnapshot), 0);
  EXPECT_EQ(Images().size(), 4u);
}

TEST_F(StorageReconcilerTest, ImportsARawImageThinlyAndReportsItsContentHash) {
  std::string data(200 * 1024, 'a');
  data += std::string(1024 * 1024, '\0');  // 16 all-zero chunks: never written
  data += "TAIL";
  const std::string id = AddImage(data).meta.id;
  ASSERT_TRUE(Pass().ok());
  const api::Image& i = controller_.images.at(id);
  EXPECT_EQ(i.state, api::ImageState::kAvailable) << i.state_reason;
  EXPECT_EQ(i.virtual_size_bytes, static_cast<std::int64_t>(data.size()));
  EXPECT_EQ(i.imported_bytes, static_cast<std::int64_t>(data.size()));
  EXPECT_EQ(i.content_sha256, Sha256Hex(data));  // raw: the upload's own hash
  EXPECT_EQ(i.observed_generation, 1);
  auto snaps = storage_.ListSnapshots(kCephPool, Img(id));
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_EQ((*snaps)[0].name, "base");
  EXPECT_TRUE((*snaps)[0].is_protected);
  EXPECT_EQ(Read(Img(id), static_cast<std::int64_t>(data.size()) - 4, 4), "TAIL");
  EXPECT_LT(storage_.GetPoolStats(kCephPool)->used_bytes, 300 * 1024);  // thin
  EXPECT_EQ(storage_.CallCount(Op::kWrite), 5);  // 4 chunks of 'a' (64 KiB each) + the tail
  EXPECT_TRUE(std::filesystem::is_empty(staging_));  // staging files removed
}

TEST_F(StorageReconcilerTest, ImportsAQcow2ImageThroughTheConverter) {
  converted_ = "RAW-DISK" + std::string(70000, 'r');
  const std::string id = AddImage("QFI\xfb pretend qcow2", api::ImageFormat::kQcow2).meta.id;
  ASSERT_TRUE(Pass().ok());
  const api::Image& i = controller_.images.at(id);
  EXPECT_EQ(i.state, api::ImageState::kAvailable) << i.state_reason;
  EXPECT_EQ(i.virtual_size_bytes, static_cast<std::int64_t>(converted_.size()));
  EXPECT_EQ(i.content_sha256, Sha256Hex(converted_));
  EXPECT_EQ(converted_from_, staging_ + "/" + Img(id) + ".download");
  EXPECT_EQ(Read(Img(id), 0, 8), "RAW-DISK");
}

TEST_F(StorageReconcilerTest, ReportsASha256MismatchAndImportsNothing) {
  api::Image& i = AddImage("the bytes that arrived");
  i.sha256 = Sha256Hex("the bytes that were sent");
  const std::string id = i.meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.images.at(id).state, api::ImageState::kError);
  EXPECT_EQ(controller_.images.at(id).state_reason.rfind("SHA-256 mismatch", 0), 0u)
      << controller_.images.at(id).state_reason;
  EXPECT_FALSE(Exists(Img(id)));
  ASSERT_TRUE(Pass().ok());  // in error: not tried again
  EXPECT_EQ(controller_.downloads.size(), 1u);
}

TEST_F(StorageReconcilerTest, ACrashMidImportConverges) {
  const std::string data = "IMAGE" + std::string(100000, 'z');
  const std::string id = AddImage(data).meta.id;
  // A previous agent died while writing: the RBD image exists without its "base" snapshot.
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Img(id), static_cast<std::int64_t>(data.size())).ok());
  Write(Img(id), 0, "GARBAGE");
  ASSERT_TRUE(Pass().ok());
  const api::Image& i = controller_.images.at(id);
  EXPECT_EQ(i.state, api::ImageState::kAvailable) << i.state_reason;
  EXPECT_EQ(i.content_sha256, Sha256Hex(data));
  EXPECT_EQ(Read(Img(id), 0, 5), "IMAGE");

  // One that died after the snapshot but before its report: read back, not downloaded again.
  const std::string data2 = std::string(5000, 'q');
  api::Image& done = AddImage(data2);
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Img(done.meta.id), 5000).ok());
  Write(Img(done.meta.id), 0, data2);
  ASSERT_TRUE(storage_.CreateSnapshot(kCephPool, Img(done.meta.id), "base", true).ok());
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.images.at(done.meta.id).state, api::ImageState::kAvailable);
  EXPECT_EQ(controller_.images.at(done.meta.id).content_sha256, Sha256Hex(data2));
  EXPECT_EQ(controller_.downloads.size(), 1u);
}

// An agent killed while writing an image leaves it open: Ceph keeps the dead client's watch
// until it times out (~30 s), and RBD refuses to remove a watched image. The restarted agent
// waits (the image stays importing, with the reason), then imports it again: never `error`.
TEST_F(StorageReconcilerTest, AHalfImportedImageStillOpenByADeadImporterIsRetried) {
  const std::string data = "IMAGE" + std::string(100000, 'z');
  const std::string id = AddImage(data).meta.id;
  ASSERT_TRUE(storage_.CreateImage(kCephPool, Img(id), static_cast<std::int64_t>(data.size())).ok());
  auto dead_importer = storage_.OpenImage(kCephPool, Img(id));
  ASSERT_TRUE(dead_importer.ok());
  ASSERT_TRUE((*dead_importer)->Write(0, "GARBAGE").ok());
  ASSERT_TRUE(Pass().ok());
  {
    const api::Image& i = controller_.images.at(id);
    EXPECT_EQ(i.state, api::ImageState::kImporting) << i.state_reason;
    EXPECT_NE(i.state_reason.find("still open elsewhere"), std::string::npos) << i.state_reason;
    EXPECT_TRUE(controller_.downloads.empty());
  }
  ASSERT_TRUE(Pass().ok());  // still watched: still waiting
  EXPECT_EQ(controller_.images.at(id).state, api::ImageState::kImporting);

  ASSERT_TRUE((*dead_importer)->Close().ok());  // the watch expired
  dead_importer->reset();
  ASSERT_TRUE(Pass().ok());
  const api::Image& i = controller_.images.at(id);
  EXPECT_EQ(i.state, api::ImageState::kAvailable) << i.state_reason;
  EXPECT_EQ(i.state_reason, "");
  EXPECT_EQ(i.content_sha256, Sha256Hex(data));
  EXPECT_EQ(Read(Img(id), 0, 5), "IMAGE");
}

TEST_F(StorageReconcilerTest, ReportsImportProgress) {
  progress_interval_ = std::chrono::milliseconds(0);
  reconciler_ = Make();
  const std::string id = AddImage(std::string(300 * 1024, 'p')).meta.id;
  ASSERT_TRUE(Pass().ok());
  std::vector<std::int64_t> written;
  for (const auto& [image, r] : controller_.image_reports) {
    if (image == id && r.state == api::ImageState::kImporting && r.imported_bytes > 0) {
      written.push_back(r.imported_bytes);
    }
  }
  ASSERT_GE(written.size(), 4u);
  EXPECT_TRUE(std::is_sorted(written.begin(), written.end()));
  EXPECT_EQ(controller_.images.at(id).state, api::ImageState::kAvailable);
}

TEST_F(StorageReconcilerTest, VerifiesAnImageWhenItsGenerationMovesOn) {
  api::Image& i = AddImportedImage("VERIFY-ME" + std::string(3000, 'v'));
  i.host_id = "host-1";
  i.generation = 2;  // POST /v1/images/{id}/verify
  const std::string id = i.meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.images.at(id).observed_generation, 2);
  ASSERT_EQ(controller_.image_reports.size(), 1u);
  EXPECT_EQ(controller_.image_reports[0].second.content_sha256, i.sha256);
  EXPECT_TRUE(controller_.downloads.empty());
}

TEST_F(StorageReconcilerTest, DeletingAnImageWaitsForItsClones) {
  api::Image& i = AddImportedImage(std::string(4096, 'c'));
  i.host_id = "host-1";
  const std::string id = i.meta.id;
  api::Volume& v = AddVolume(1);
  v.source_image_id = id;
  ASSERT_TRUE(Pass().ok());
  i.deleting = true;
  i.state = api::ImageState::kDeleting;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.images.at(id).state, api::ImageState::kError);
  EXPECT_TRUE(Exists(Img(id)));
  v.flatten = true;
  ++v.generation;
  ASSERT_TRUE(Pass().ok());  // images come before volumes: still refused in this pass
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.images.count(id), 0u);
  EXPECT_FALSE(Exists(Img(id)));
  EXPECT_TRUE(Exists(Vol(v.meta.id)));
}

TEST_F(StorageReconcilerTest, CephErrorsAreReportedAndRetried) {
  storage_.FailNext(Op::kCreateImage, ResourceExhausted("rbd create: No space left on device"));
  const std::string id = AddVolume(1).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kError);
  EXPECT_NE(controller_.volumes.at(id).state_reason.find("No space left"), std::string::npos);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kAvailable);
}

TEST_F(StorageReconcilerTest, AnUnavailableClusterSkipsThePass) {
  AddVolume(1);
  storage_.FailNext(Op::kGetPoolStats, Unavailable("rados: connection timed out"));
  auto r = Pass();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Reports(), 0u);
  EXPECT_EQ(Writes(), 0);
  ASSERT_TRUE(reconciler_->pool_reports().has_value());
  EXPECT_FALSE((*reconciler_->pool_reports())[0].reachable);
  // Mid-pass too: nothing reported for what was not done.
  storage_.FailNext(Op::kGetImage, Unavailable("rados: connection timed out"));
  EXPECT_EQ(Pass().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Reports(), 0u);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Reports(), 1u);
}

TEST_F(StorageReconcilerTest, AConvergedPassWritesNothingAndReportsNothing) {
  const std::string image = AddImage("IMG" + std::string(9000, 'k')).meta.id;
  ASSERT_TRUE(Pass().ok());
  api::Volume& v = AddVolume(2);
  v.source_image_id = image;
  ASSERT_TRUE(Pass().ok());
  AddSnapshot(v.meta.id);
  AddVolume(1);
  ASSERT_TRUE(Pass().ok());
  const int writes = Writes();
  const std::size_t reports = Reports();
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(Reports(), reports);
  // A restarted agent too.
  reconciler_ = Make();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(Reports(), reports);
}

// ---- with the VM Reconciler: root volumes and hot-plugged volumes

class VolumesOnVmsTest : public StorageReconcilerTest {
 protected:
  VolumesOnVmsTest() {
    ReconcilerOptions o;
    o.host_id = "host-1";
    o.disk_dir = "/var/lib/govpool/disks";
    o.ceph_monitors = {"10.0.0.1:6789"};
    o.ceph_auth_user = "govpool";
    o.ceph_secret_uuid = "5b3c9c0e-0000-4000-8000-000000000001";
    vms_ = std::make_unique<Reconciler>(hv_, controller_, o, clock_);
  }
  // One agent pass: VMs first, then storage with their findings.
  void AgentPass() {
    ASSERT_TRUE(vms_->Reconcile(controller_.Answer()).ok());
    ASSERT_TRUE(reconciler_->Reconcile(controller_.Answer(), vms_->attached_volumes()).ok());
  }
  int HvWrites() {
    int n = 0;
    using H = FakeHypervisor::Op;
    for (H op : {H::kDefineDomain, H::kStartDomain, H::kShutdownDomain, H::kDestroyDomain, H::kRebootDomain,
                 H::kUndefineDomain, H::kCreateDisk, H::kDeleteDisk, H::kAttachDisk, H::kDetachDisk,
                 H::kResizeDisk}) {
      n += hv_.CallCount(op);
    }
    return n;
  }
  std::unique_ptr<Reconciler> vms_;
};

TEST_F(VolumesOnVmsTest, AVmBootsFromItsRootVolumeOnceItExists) {
  const std::string image = AddImportedImage("KERNEL" + std::string(7000, 'b')).meta.id;
  api::Vm& vm = controller_.Add();
  const std::string vm_id = vm.meta.id;
  vm.disk_gib = 0;
  vm.image_id = image;
  api::Volume& root = AddVolume(5);
  root.source_image_id = image;
  root.vm_id = vm_id;
  root.device = "vda";
  root.boot = true;
  vm.root_volume_id = root.meta.id;
  const std::string root_id = root.meta.id;

  // The VM pass runs first and waits; the storage pass makes the clone.
  ASSERT_TRUE(vms_->Reconcile(controller_.Answer()).ok());
  EXPECT_FALSE(hv_.GetSpec(vm_id).has_value());
  EXPECT_EQ(controller_.vms.at(vm_id).state, api::VmState::kBuilding);
  EXPECT_EQ(controller_.vms.at(vm_id).state_reason, "waiting for root volume");
  ASSERT_TRUE(reconciler_->Reconcile(controller_.Answer(), vms_->attached_volumes()).ok());
  EXPECT_EQ(controller_.volumes.at(root_id).state, api::VolumeState::kAvailable);

  AgentPass();
  auto spec = hv_.GetSpec(vm_id);
  ASSERT_TRUE(spec.has_value());
  ASSERT_EQ(spec->disks.size(), 1u);
  const DiskSpec& d = spec->disks[0];
  EXPECT_EQ(d.kind(), DiskSourceKind::kRbd);
  EXPECT_EQ(d.rbd_pool, kCephPool);
  EXPECT_EQ(d.rbd_image, Vol(root_id));
  EXPECT_EQ(d.rbd_hosts, std::vector<std::string>{"10.0.0.1:6789"});
  EXPECT_EQ(d.auth_user, "govpool");
  EXPECT_EQ(d.secret_uuid, "5b3c9c0e-0000-4000-8000-000000000001");
  EXPECT_EQ(d.target_dev, "vda");
  EXPECT_EQ(d.serial, root_id);
  EXPECT_EQ(hv_.CallCount(FakeHypervisor::Op::kCreateDisk), 0);  // no local disk
  EXPECT_EQ(controller_.vms.at(vm_id).state, api::VmState::kRunning);
  EXPECT_EQ(controller_.volumes.at(root_id).state, api::VolumeState::kInUse);

  const int hv_writes = HvWrites();
  const int writes = Writes();
  const std::size_t reports = Reports() + controller_.reports.size();
  AgentPass();
  AgentPass();
  EXPECT_EQ(HvWrites(), hv_writes);
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(Reports() + controller_.reports.size(), reports);
}

TEST_F(VolumesOnVmsTest, DataVolumesAreHotPluggedAndUnplugged) {
  const std::string vm_id = controller_.Add().meta.id;
  api::Volume& v = AddVolume(1);
  const std::string id = v.meta.id;
  AgentPass();
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kAvailable);
  ASSERT_EQ(hv_.GetDomain(vm_id)->state, PowerState::kRunning);

  // POST /v1/volumes/{id}/attach
  v.vm_id = vm_id;
  v.device = "vdb";
  ++v.generation;
  AgentPass();
  auto info = hv_.GetDomain(vm_id);
  ASSERT_EQ(info->disks.size(), 2u);
  EXPECT_EQ(info->disks[1].rbd_image, Vol(id));
  EXPECT_EQ(info->disks[1].target_dev, "vdb");
  EXPECT_EQ(hv_.CallCount(FakeHypervisor::Op::kAttachDisk), 1);
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kInUse);
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 2);
  const int hv_writes = HvWrites();
  AgentPass();
  EXPECT_EQ(HvWrites(), hv_writes);

  // Detached while the guest holds on to the disk: in-use until it lets go.
  hv_.SetGuestsHoldDisks(true);
  v.vm_id.clear();
  v.device.clear();
  ++v.generation;
  AgentPass();
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kInUse);
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 2);
  EXPECT_NE(controller_.vms.at(vm_id).state_reason.find("release"), std::string::npos);
  hv_.SetGuestsHoldDisks(false);
  AgentPass();
  EXPECT_EQ(hv_.GetDomain(vm_id)->disks.size(), 1u);
  EXPECT_EQ(controller_.volumes.at(id).state, api::VolumeState::kAvailable);
  EXPECT_EQ(controller_.volumes.at(id).state_reason, "");
  EXPECT_EQ(controller_.volumes.at(id).observed_generation, 3);
  EXPECT_EQ(controller_.vms.at(vm_id).state_reason, "");
}

// ---- configuration helpers

TEST(CephConfTest, MonHostsTakeTheV1AddressOfEachGroup) {
  EXPECT_EQ(ParseMonHosts("[global]\n\tfsid = 1234\n\tmon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]\n").value(),
            std::vector<std::string>{"127.0.0.1:6789"});
  EXPECT_EQ(ParseMonHosts("mon_host = 10.0.0.1:6789,10.0.0.2:6789 10.0.0.3\n").value(),
            (std::vector<std::string>{"10.0.0.1:6789", "10.0.0.2:6789", "10.0.0.3"}));
  EXPECT_EQ(ParseMonHosts("mon host = [v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0] [v2:10.0.0.2:3300,v1:10.0.0.2:6789]")
                .value(),
            (std::vector<std::string>{"10.0.0.1:6789", "10.0.0.2:6789"}));
  EXPECT_EQ(ParseMonHosts("mon host = [v2:[::1]:3300,v1:[::1]:6789]  # local\n").value(),
            std::vector<std::string>{"[::1]:6789"});
  EXPECT_EQ(ParseMonHosts("mon host = [v2:10.0.0.9:3300]\n").value(), std::vector<std::string>{"10.0.0.9:3300"});
  EXPECT_EQ(ParseMonHosts("[global]\nfsid = x\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMonHosts("mon host = ; none\n").status().code(), StatusCode::kInvalidArgument);
}

TEST(CephConfTest, KeyringKeyOfTheClient) {
  const std::string keyring =
      "[client.admin]\n\tkey = AQBvaBFZAAAAABAA9VHgwCgMaKZ+bcLa1Ex1Kw==\n\tcaps mon = \"allow *\"\n"
      "[client.govpool]\n    key=AQCgovpoolkeygovpoolkeygovpoolkeyAA==\n";
  EXPECT_EQ(ParseKeyringKey(keyring, "admin").value(), "AQBvaBFZAAAAABAA9VHgwCgMaKZ+bcLa1Ex1Kw==");
  EXPECT_EQ(ParseKeyringKey(keyring, "govpool").value(), "AQCgovpoolkeygovpoolkeygovpoolkeyAA==");
  EXPECT_EQ(ParseKeyringKey(keyring, "nobody").status().code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------- backups

class BackupReconcilerTest : public StorageReconcilerTest {
 protected:
  static constexpr const char* kBackupPool = "rbd-backups";
  BackupReconcilerTest() {
    EXPECT_TRUE(storage_.AddPool(kBackupPool, 100 * kGiB).ok());
    api::StoragePool p;
    p.meta.id = "pool-bak";
    p.name = "backups";
    p.cluster = "ceph";
    p.ceph_pool = kBackupPool;
    p.enabled = false;
    controller_.storage_pools[p.meta.id] = p;
  }
  api::Backup& AddBackup(const api::Volume& v, const std::string& parent = "",
                         const std::string& target = "pool-bak") {
    api::Backup b;
    b.meta.id = NewUuid();
    b.name = "bak-" + std::to_string(controller_.backups.size());
    b.department_id = v.department_id;
    b.volume_id = v.meta.id;
    b.source_pool_id = v.pool_id;
    b.target_pool_id = target;
    b.parent_backup_id = parent;
    b.size_gib = v.size_gib;
    b.host_id = "host-1";
    return controller_.backups[b.meta.id] = b;
  }
  api::Volume& AddRestore(const std::string& backup_id) {
    api::Volume& v = AddVolume(controller_.backups.at(backup_id).size_gib);
    v.source_backup_id = backup_id;
    return v;
  }
  std::vector<std::string> SnapNames(const std::string& pool, const std::string& image) {
    std::vector<std::string> out;
    auto snaps = storage_.ListSnapshots(pool, image);
    for (const SnapshotInfo& s : snaps.ok() ? *snaps : std::vector<SnapshotInfo>{}) out.push_back(s.name);
    return out;
  }
  std::string ReadVolume(const std::string& volume_id, std::int64_t offset, std::int64_t n) {
    return Read(Vol(volume_id), offset, n);
  }
  static std::string BakImg(const std::string& volume_id) { return StorageReconciler::BackupImage(volume_id); }
  static std::string BakSnap(const std::string& backup_id) { return StorageReconciler::BackupSnapshot(backup_id); }
};

TEST_F(BackupReconcilerTest, FullThenIncrementalBackupsRestoreToTheirOwnPointInTime) {
  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());  // the volume's image
  const std::string marker_a(8192, 'A'), marker_b(8192, 'B');
  Write(Vol(vid), 0, marker_a);

  const std::string b1 = AddBackup(controller_.volumes.at(vid)).meta.id;
  auto summary = Pass();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->backups, 1);
  ASSERT_EQ(controller_.backups.at(b1).state, api::BackupState::kAvailable) << controller_.backups.at(b1).state_reason;
  EXPECT_FALSE(controller_.backups.at(b1).incremental);
  EXPECT_GE(controller_.backups.at(b1).transferred_bytes, 8192);
  EXPECT_EQ(SnapNames(kBackupPool, BakImg(vid)), std::vector<std::string>{BakSnap(b1)});
  EXPECT_EQ(SnapNames(kCephPool, Vol(vid)), std::vector<std::string>{BakSnap(b1)});

  Write(Vol(vid), 64 << 20, marker_b);
  const std::string b2 = AddBackup(controller_.volumes.at(vid), b1).meta.id;
  ASSERT_TRUE(Pass().ok());
  const api::Backup& second = controller_.backups.at(b2);
  ASSERT_EQ(second.state, api::BackupState::kAvailable) << second.state_reason;
  EXPECT_TRUE(second.incremental);
  EXPECT_GE(second.transferred_bytes, 8192);
  EXPECT_LT(second.transferred_bytes, 1 << 20) << "only the change is carried";
  // The volume keeps only the newest backup's snapshot; the target keeps both.
  EXPECT_EQ(SnapNames(kCephPool, Vol(vid)), std::vector<std::string>{BakSnap(b2)});
  EXPECT_EQ(SnapNames(kBackupPool, BakImg(vid)), (std::vector<std::string>{BakSnap(b1), BakSnap(b2)}));

  const std::string r1 = AddRestore(b1).meta.id;
  const std::string r2 = AddRestore(b2).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.volumes.at(r1).state, api::VolumeState::kAvailable) << controller_.volumes.at(r1).state_reason;
  EXPECT_EQ(controller_.volumes.at(r2).state, api::VolumeState::kAvailable) << controller_.volumes.at(r2).state_reason;
  EXPECT_EQ(ReadVolume(r1, 0, 8192), marker_a);
  EXPECT_EQ(ReadVolume(r1, 64 << 20, 8192), std::string(8192, '\0'));
  EXPECT_EQ(ReadVolume(r2, 0, 8192), marker_a);
  EXPECT_EQ(ReadVolume(r2, 64 << 20, 8192), marker_b);
  for (const std::string& name : Images()) EXPECT_EQ(name.find("-restoring"), std::string::npos) << name;

  // A converged pass writes nothing.
  const int writes = Writes();
  const std::size_t reports = controller_.backup_reports.size();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(controller_.backup_reports.size(), reports);
}

TEST_F(BackupReconcilerTest, AFullBackupOverAnOldHeadLeavesNothingOfItShowing) {
  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(vid), 1 << 20, std::string(4096, 'X'));
  const std::string b1 = AddBackup(controller_.volumes.at(vid)).meta.id;
  ASSERT_TRUE(Pass().ok());
  // The volume is rewritten elsewhere and its backup snapshot is lost (say, rolled back by
  // hand): the next backup cannot be incremental and must not keep X from the target's head.
  auto h = storage_.OpenImage(kCephPool, Vol(vid));
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE((*h)->Discard(0, 2 << 20).ok());
  ASSERT_TRUE((*h)->Write(0, std::string(4096, 'Y')).ok());
  ASSERT_TRUE((*h)->Close().ok());
  ASSERT_TRUE(storage_.RemoveSnapshot(kCephPool, Vol(vid), BakSnap(b1)).ok());
  const std::string b2 = AddBackup(controller_.volumes.at(vid), b1).meta.id;
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(controller_.backups.at(b2).state, api::BackupState::kAvailable);
  EXPECT_FALSE(controller_.backups.at(b2).incremental);
  const std::string r = AddRestore(b2).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(ReadVolume(r, 0, 4096), std::string(4096, 'Y'));
  EXPECT_EQ(ReadVolume(r, 1 << 20, 4096), std::string(4096, '\0'));
}

TEST_F(BackupReconcilerTest, AFailedAttemptIsReportedAndTheRetryStartsOver) {
  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(vid), 0, std::string(4096, 'A'));
  const std::string b = AddBackup(controller_.volumes.at(vid)).meta.id;
  storage_.FailNext(Op::kWrite, Internal("disk on fire"));
  ASSERT_TRUE(Pass().ok());
  ASSERT_FALSE(controller_.backup_reports.empty());
  EXPECT_EQ(controller_.backup_reports.back().second.state, api::BackupState::kError);
  EXPECT_NE(controller_.backup_reports.back().second.state_reason.find("disk on fire"), std::string::npos);
  // The controller counted the attempt and asked for another (generation 2).
  EXPECT_EQ(controller_.backups.at(b).attempts, 1);
  EXPECT_EQ(controller_.backups.at(b).generation, 2);
  EXPECT_EQ(controller_.backups.at(b).state, api::BackupState::kCreating);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.backups.at(b).state, api::BackupState::kAvailable) << controller_.backups.at(b).state_reason;
  EXPECT_EQ(controller_.backups.at(b).observed_generation, 2);
  const std::string r = AddRestore(b).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(ReadVolume(r, 0, 4096), std::string(4096, 'A'));
}

TEST_F(BackupReconcilerTest, AnAgentRestartedMidBackupFinishesIt) {
  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(vid), 0, std::string(4096, 'A'));
  const std::string b = AddBackup(controller_.volumes.at(vid)).meta.id;
  // The "crash": the point-in-time snapshot and part of the target exist, nothing was reported.
  ASSERT_TRUE(storage_.CreateSnapshot(kCephPool, Vol(vid), BakSnap(b), false).ok());
  Write(Vol(vid), 0, std::string(4096, 'Z'));  // written after the snapshot: not in the backup
  ASSERT_TRUE(storage_.CreateImage(kBackupPool, BakImg(vid), kGiB).ok());
  reconciler_ = Make();  // a new agent process: nothing in memory
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(controller_.backups.at(b).state, api::BackupState::kAvailable) << controller_.backups.at(b).state_reason;
  EXPECT_EQ(controller_.backups.at(b).attempts, 0);
  const std::string r = AddRestore(b).meta.id;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(ReadVolume(r, 0, 4096), std::string(4096, 'A')) << "the backup is of the snapshot's point in time";
}

TEST_F(BackupReconcilerTest, DeletingBackupsRemovesTheirSnapshotsAndTheLastOneTheImage) {
  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());
  const std::string b1 = AddBackup(controller_.volumes.at(vid)).meta.id;
  ASSERT_TRUE(Pass().ok());
  const std::string b2 = AddBackup(controller_.volumes.at(vid), b1).meta.id;
  ASSERT_TRUE(Pass().ok());
  controller_.backups.at(b1).deleting = true;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.backups.count(b1), 0u);
  EXPECT_EQ(SnapNames(kBackupPool, BakImg(vid)), std::vector<std::string>{BakSnap(b2)});
  controller_.backups.at(b2).deleting = true;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.backups.count(b2), 0u);
  EXPECT_FALSE(storage_.GetImage(kBackupPool, BakImg(vid)).ok()) << "the target image goes with its last backup";
  EXPECT_TRUE(SnapNames(kCephPool, Vol(vid)).empty()) << "the volume keeps no backup snapshot";
  EXPECT_TRUE(storage_.ListTrash(kBackupPool)->empty());
}

TEST_F(BackupReconcilerTest, BacksUpIntoAnotherClusterAndReportsItsPools) {
  FakeBlockStorage offsite;
  ASSERT_TRUE(offsite.AddPool("far", 10 * kGiB).ok());
  api::StoragePool p;
  p.meta.id = "pool-far";
  p.cluster = "offsite";
  p.ceph_pool = "far";
  controller_.storage_pools[p.meta.id] = p;
  StorageReconcilerOptions o;
  o.host_id = "host-1";
  o.cluster = "ceph";
  o.staging_dir = staging_;
  o.other_clusters["offsite"] = &offsite;
  reconciler_ = std::make_unique<StorageReconciler>(storage_, controller_, o, clock_);

  api::Volume& vol = AddVolume(1);
  const std::string vid = vol.meta.id;
  ASSERT_TRUE(Pass().ok());
  Write(Vol(vid), 0, std::string(4096, 'A'));
  const std::string b = AddBackup(controller_.volumes.at(vid), "", "pool-far").meta.id;
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(controller_.backups.at(b).state, api::BackupState::kAvailable) << controller_.backups.at(b).state_reason;
  EXPECT_TRUE(offsite.GetImage("far", BakImg(vid)).ok());
  EXPECT_FALSE(storage_.GetImage(kBackupPool, BakImg(vid)).ok());
  bool reported = false;
  for (const auto& r : *reconciler_->pool_reports()) reported = reported || (r.pool_id == "pool-far" && r.reachable);
  EXPECT_TRUE(reported) << "the backup cluster's pool is reported";

  // The backup cluster away: only the backup fails; the rest of the pass goes on.
  offsite.FailNext(Op::kGetPoolStats, Unavailable("no monitors"));
  offsite.FailNext(Op::kListSnapshots, Unavailable("no monitors"));
  const std::string b2 = AddBackup(controller_.volumes.at(vid), b, "pool-far").meta.id;
  api::Volume& other = AddVolume(1);
  auto summary = Pass();
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(controller_.volumes.at(other.meta.id).state, api::VolumeState::kAvailable);
  EXPECT_EQ(controller_.backups.at(b2).attempts, 1) << controller_.backups.at(b2).state_reason;
}

}  // namespace
}  // namespace govpool::agent
