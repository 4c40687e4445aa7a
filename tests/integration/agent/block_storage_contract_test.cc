// The BlockStorage contract (agent/drivers/block_storage.h), one parameterised suite run
// against every implementation:
//   fake  FakeBlockStorage (in memory)
//   rbd   RbdBlockStorage on a real Ceph 16 cluster: the one scripts/start-ceph.sh starts, whose
//         ceph.conf the environment variable GOVPOOL_TEST_CEPH_CONF names (scripts/test.sh sets
//         it). Without it the rbd case FAILS: CI always has Ceph, and a suite that skips its
//         real half would let the fake drift unnoticed.
// The rbd case creates its own pool ("govpool-test-<random>", 8 PGs) on first use and deletes
// it when the process ends; the quota test makes a second, small pool and deletes it. Every
// test names its images "t-<random>-..." and removes what it made in TearDown, also on failure.
//
// How "nearfull" and "full" are observed (Ceph 16, checked here against the real cluster):
//   - A pool quota (`ceph osd pool set-quota POOL max_bytes N`) is enforced by the monitor from
//     the manager's usage digest: once the pool holds >= N bytes the OSD map's pool flags gain
//     "full_quota" and "full" (`ceph osd dump`: pools[].flags_names), `ceph health` says
//     POOL_FULL "pool 'x' is full (running out of quota)", and further writes are paused by
//     the clients (not failed). The flag shows up ~1-3 s after the writes (mgr stats period).
//   - Ceph sets "nearfull" on a pool only when one of its OSDs passes mon_osd_nearfull_ratio;
//     there is no nearfull flag for a quota. RbdBlockStorage therefore also reports nearfull
//     when a pool with a quota holds >= nearfull_ratio (the OSD map's, 0.85 by default) of it,
//     which is what this test fills a 16 MiB pool to (14 MiB), then to 16 MiB for "full".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/drivers/block_storage.h"
#include "agent/drivers/ceph/rbd_block_storage.h"
#include "common/ids.h"
#include "tests/fakes/agent/fake_block_storage.h"

namespace govpool::agent {
namespace {

using ::testing::HasSubstr;
constexpr std::int64_t kMiB = 1024 * 1024;

std::string RandomTag() { return NewUuid().substr(0, 8); }

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return done();
}

// The real cluster, shared by every test of the process: one connection and one pool.
class Ceph {
 public:
  static Ceph& Get() {
    static Ceph* ceph = new Ceph();  // deliberately leaked: Environment tears it down
    return *ceph;
  }

  // "" when connected and the shared pool exists; else why not.
  std::string Prepare() {
    std::call_once(once_, [this] {
      const char* conf = std::getenv("GOVPOOL_TEST_CEPH_CONF");
      if (conf == nullptr || *conf == '\0') {
        error_ =
            "GOVPOOL_TEST_CEPH_CONF is not set. The rbd case needs a Ceph cluster: run "
            "scripts/start-ceph.sh and export GOVPOOL_TEST_CEPH_CONF=<its dir>/ceph.conf "
            "(default /var/tmp/govpool/ceph/ceph.conf; scripts/test.sh does both)";
        return;
      }
      RbdOptions options;
      options.conf_path = conf;
      auto connected = RbdBlockStorage::Connect(options);
      if (!connected.ok()) {
        error_ = "connecting to Ceph: " + connected.status().ToString();
        return;
      }
      storage_ = std::move(*connected);
      const std::string pool = "govpool-test-" + RandomTag();
      if (Status s = CreatePool(pool); !s.ok()) {
        error_ = s.ToString();
        return;
      }
      pool_ = pool;
    });
    return error_;
  }

  Status CreatePool(const std::string& pool) {
    auto r = storage_->MonCommand(R"({"prefix":"osd pool create","pool":")" + pool +
                                  R"(","pg_num":8,"pgp_num":8})");
    if (!r.ok()) return r.status();
    r = storage_->MonCommand(R"({"prefix":"osd pool application enable","pool":")" + pool +
                             R"(","app":"rbd"})");
    return r.status();
  }

  Status DeletePool(const std::string& pool) {
    return storage_
        ->MonCommand(R"({"prefix":"osd pool delete","pool":")" + pool + R"(","pool2":")" +
                     pool + R"(","yes_i_really_really_mean_it":true})")
        .status();
  }

  void TearDown() {
    if (storage_ != nullptr && !pool_.empty()) {
      Status s = DeletePool(pool_);
      if (!s.ok()) ADD_FAILURE() << "deleting test pool " << pool_ << ": " << s.ToString();
      pool_.clear();
    }
    storage_.reset();
  }

  RbdBlockStorage* storage() { return storage_.get(); }
  const std::string& pool() const { return pool_; }

 private:
  std::once_flag once_;
  std::string error_;
  std::unique_ptr<RbdBlockStorage> storage_;
  std::string pool_;
};

class CephEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { Ceph::Get().TearDown(); }
};
[[maybe_unused]] ::testing::Environment* const kCephEnvironment =
    ::testing::AddGlobalTestEnvironment(new CephEnvironment);

class BlockStorageContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool real() const { return GetParam() == "rbd"; }

  void SetUp() override {
    tag_ = "t-" + RandomTag();
    if (!real()) {
      fake_ = std::make_unique<FakeBlockStorage>();
      pool_ = "rbd";
      ASSERT_TRUE(fake_->AddPool(pool_, 1024 * kMiB).ok());
      bs_ = fake_.get();
      return;
    }
    const std::string error = Ceph::Get().Prepare();
    ASSERT_EQ(error, "") << "the real-Ceph case cannot run";
    bs_ = Ceph::Get().storage();
    pool_ = Ceph::Get().pool();
  }

  void TearDown() override {
    if (bs_ == nullptr) return;
    for (const auto& pool : scratch_pools_) {
      Status s = fake_ != nullptr ? fake_->RemovePool(pool) : Ceph::Get().DeletePool(pool);
      EXPECT_TRUE(s.ok()) << "deleting " << pool << ": " << s.ToString();
    }
    // Everything this test made, clones before their parents (a few passes).
    for (int pass = 0; pass < 4; ++pass) {
      auto images = bs_->ListImages(pool_);
      if (!images.ok()) break;
      bool left = false;
      for (const auto& image : *images) {
        if (image.rfind(tag_, 0) != 0) continue;
        if (!bs_->RemoveImage(pool_, image).ok()) left = true;
      }
      if (!left) break;
    }
    auto images = bs_->ListImages(pool_);
    ASSERT_TRUE(images.ok()) << images.status().ToString();
    for (const auto& image : *images) {
      EXPECT_NE(image.rfind(tag_, 0), 0u) << "image " << image << " left behind";
    }
    auto trash = bs_->ListTrash(pool_);
    ASSERT_TRUE(trash.ok()) << trash.status().ToString();
    EXPECT_TRUE(trash->empty()) << "the RBD trash holds " << trash->size() << " image(s)";
  }

  std::string Name(const std::string& what) const { return tag_ + "-" + what; }

  // A pool of this test's own, deleted in TearDown: for the fake one of quota_bytes (1 GiB when
  // 0), for Ceph a new pool with that quota (none when 0). Its name, or "" after a failure.
  std::string MakeScratchPool(std::int64_t quota_bytes) {
    const std::string pool = "govpool-test-" + RandomTag();
    if (fake_ != nullptr) {
      EXPECT_TRUE(fake_->AddPool(pool, quota_bytes > 0 ? quota_bytes : 1024 * kMiB).ok());
      scratch_pools_.push_back(pool);
      return pool;
    }
    Status s = Ceph::Get().CreatePool(pool);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return "";
    scratch_pools_.push_back(pool);
    if (quota_bytes > 0) {
      auto r = Ceph::Get().storage()->MonCommand(
          R"({"prefix":"osd pool set-quota","pool":")" + pool +
          R"(","field":"max_bytes","val":")" + std::to_string(quota_bytes) + R"("})");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return "";
    }
    return pool;
  }

  // Writes `data` at `offset` through a handle and closes it.
  void WriteAt(const std::string& image, std::int64_t offset, const std::string& data,
               const std::string& pool = "") {
    auto h = bs_->OpenImage(pool.empty() ? pool_ : pool, image);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    Status s = (*h)->Write(offset, data);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = (*h)->Close();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string ReadAt(const std::string& image, std::int64_t offset, std::int64_t length) {
    auto h = bs_->OpenImage(pool_, image);
    if (!h.ok()) return "<" + h.status().ToString() + ">";
    auto data = (*h)->Read(offset, length);
    if (!data.ok()) return "<" + data.status().ToString() + ">";
    return *data;
  }

  // Reads image@snapshot through OpenSnapshot.
  std::string ReadSnapshotAt(const std::string& image, const std::string& snapshot,
                             std::int64_t offset, std::int64_t length) {
    auto h = bs_->OpenSnapshot(pool_, image, snapshot);
    if (!h.ok()) return "<" + h.status().ToString() + ">";
    auto data = (*h)->Read(offset, length);
    if (!data.ok()) return "<" + data.status().ToString() + ">";
    return *data;
  }

  std::vector<Extent> Diff(const std::string& image, const std::string& from,
                           const std::string& to) {
    std::vector<Extent> out;
    Status s = bs_->DiffIterate(pool_, image, from, to, [&](const Extent& e) {
      out.push_back(e);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> SnapshotNames(const std::string& image) {
    std::vector<std::string> names;
    auto snaps = bs_->ListSnapshots(pool_, image);
    EXPECT_TRUE(snaps.ok()) << snaps.status().ToString();
    if (snaps.ok()) {
      for (const auto& s : *snaps) names.push_back(s.name);
    }
    return names;
  }

  std::string tag_;
  std::string pool_;
  std::unique_ptr<FakeBlockStorage> fake_;
  BlockStorage* bs_ = nullptr;
  std::vector<std::string> scratch_pools_;
};

TEST_P(BlockStorageContractTest, CreateGetListResizeRemove) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 64 * kMiB).ok());
  auto info = bs_->GetImage(pool_, img);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, img);
  EXPECT_EQ(info->size_bytes, 64 * kMiB);
  EXPECT_EQ(info->parent, "");
  auto images = bs_->ListImages(pool_);
  ASSERT_TRUE(images.ok());
  EXPECT_NE(std::find(images->begin(), images->end(), img), images->end());

  Status again = bs_->CreateImage(pool_, img, kMiB);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_THAT(again.message(), HasSubstr(pool_ + "/" + img));

  ASSERT_TRUE(bs_->ResizeImage(pool_, img, 128 * kMiB).ok());
  EXPECT_EQ(bs_->GetImage(pool_, img)->size_bytes, 128 * kMiB);
  EXPECT_TRUE(bs_->ResizeImage(pool_, img, 128 * kMiB).ok()) << "the same size is OK";
  Status shrink = bs_->ResizeImage(pool_, img, 32 * kMiB);
  EXPECT_EQ(shrink.code(), StatusCode::kFailedPrecondition) << shrink.ToString();
  EXPECT_EQ(bs_->GetImage(pool_, img)->size_bytes, 128 * kMiB);

  ASSERT_TRUE(bs_->RemoveImage(pool_, img).ok());
  EXPECT_EQ(bs_->GetImage(pool_, img).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->RemoveImage(pool_, img).code(), StatusCode::kNotFound);
}

TEST_P(BlockStorageContractTest, MissingPoolsImagesAndSnapshotsAreNotFound) {
  const std::string no_pool = "govpool-no-such-pool-" + RandomTag();
  const std::string img = Name("disk");
  EXPECT_EQ(bs_->PoolExists(no_pool).value(), false);
  EXPECT_EQ(bs_->PoolExists(pool_).value(), true);
  EXPECT_EQ(bs_->GetPoolStats(no_pool).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->ListImages(no_pool).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->ListTrash(no_pool).status().code(), StatusCode::kNotFound);
  Status create = bs_->CreateImage(no_pool, img, kMiB);
  EXPECT_EQ(create.code(), StatusCode::kNotFound) << create.ToString();
  EXPECT_THAT(create.message(), HasSubstr(no_pool));

  Status s = bs_->GetImage(pool_, img).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(pool_ + "/" + img));
  EXPECT_EQ(bs_->ResizeImage(pool_, img, kMiB).code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->OpenImage(pool_, img).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->ListSnapshots(pool_, img).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->CreateSnapshot(pool_, img, "s", false).code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->FlattenImage(pool_, img).code(), StatusCode::kNotFound);

  ASSERT_TRUE(bs_->CreateImage(pool_, img, kMiB).ok());
  EXPECT_EQ(bs_->RemoveSnapshot(pool_, img, "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->RollbackSnapshot(pool_, img, "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->ListChildren(pool_, img, "nope").status().code(), StatusCode::kNotFound);
  Status clone = bs_->CloneImage(pool_, img, "nope", pool_, Name("clone"));
  EXPECT_EQ(clone.code(), StatusCode::kNotFound) << clone.ToString();
  EXPECT_THAT(clone.message(), HasSubstr(pool_ + "/" + img + "@nope -> " + pool_ + "/"));
  EXPECT_EQ(bs_->DiffIterate(pool_, img, "", "nope", [](const Extent&) { return OkStatus(); })
                .code(),
            StatusCode::kNotFound);
}

TEST_P(BlockStorageContractTest, WriteAndReadThroughAHandle) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 8 * kMiB).ok());
  auto h = bs_->OpenImage(pool_, img);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_TRUE((*h)->Write(0, "hello, block storage").ok());
  ASSERT_TRUE((*h)->Write(4 * kMiB - 3, "straddles an object").ok());
  EXPECT_EQ((*h)->Read(0, 5).value(), "hello");
  EXPECT_EQ((*h)->Read(4 * kMiB - 3, 19).value(), "straddles an object");
  EXPECT_EQ((*h)->Read(kMiB, 4).value(), std::string(4, '\0')) << "never written: zeros";
  EXPECT_EQ((*h)->Write(8 * kMiB - 2, "past the end").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*h)->Read(8 * kMiB - 2, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*h)->Close().ok());
  EXPECT_TRUE((*h)->Close().ok()) << "closing twice is harmless";
  EXPECT_EQ(ReadAt(img, 7, 5), "block") << "another handle sees the data";
}

TEST_P(BlockStorageContractTest, SnapshotsCreateListRollbackRemove) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 4 * kMiB).ok());
  WriteAt(img, 0, "one");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s1", /*protect=*/false).ok());
  WriteAt(img, 0, "two");
  ASSERT_TRUE(bs_->ResizeImage(pool_, img, 8 * kMiB).ok());
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s2", /*protect=*/true).ok());
  EXPECT_EQ(bs_->CreateSnapshot(pool_, img, "s1", false).code(), StatusCode::kAlreadyExists);

  auto snaps = bs_->ListSnapshots(pool_, img);
  ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
  ASSERT_EQ(snaps->size(), 2u);
  EXPECT_EQ((*snaps)[0].name, "s1");
  EXPECT_EQ((*snaps)[0].size_bytes, 4 * kMiB);
  EXPECT_FALSE((*snaps)[0].is_protected);
  EXPECT_EQ((*snaps)[1].name, "s2");
  EXPECT_EQ((*snaps)[1].size_bytes, 8 * kMiB);
  EXPECT_TRUE((*snaps)[1].is_protected);

  {
    auto in_use = bs_->OpenImage(pool_, img);
    ASSERT_TRUE(in_use.ok());
    Status busy = bs_->RollbackSnapshot(pool_, img, "s1");
    EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition) << busy.ToString();
  }
  Status rolled = bs_->RollbackSnapshot(pool_, img, "s1");
  ASSERT_TRUE(rolled.ok()) << rolled.ToString();
  EXPECT_EQ(ReadAt(img, 0, 3), "one");
  EXPECT_EQ(bs_->GetImage(pool_, img)->size_bytes, 4 * kMiB) << "the snapshot's size comes back";

  Status removed = bs_->RemoveSnapshot(pool_, img, "s2");  // protected, no clones
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(SnapshotNames(img), std::vector<std::string>{"s1"});
  EXPECT_EQ(bs_->RemoveSnapshot(pool_, img, "s2").code(), StatusCode::kNotFound);
}

TEST_P(BlockStorageContractTest, CloneOfAProtectedSnapshotReadsThroughItsParent) {
  const std::string base = Name("base"), child = Name("child");
  ASSERT_TRUE(bs_->CreateImage(pool_, base, 16 * kMiB).ok());
  WriteAt(base, 0, "golden image");
  WriteAt(base, 9 * kMiB, "deep in the parent");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, base, "plain", /*protect=*/false).ok());
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, base, "gold", /*protect=*/true).ok());

  Status unprotected = bs_->CloneImage(pool_, base, "plain", pool_, child);
  EXPECT_EQ(unprotected.code(), StatusCode::kFailedPrecondition) << unprotected.ToString();

  Status cloned = bs_->CloneImage(pool_, base, "gold", pool_, child);
  ASSERT_TRUE(cloned.ok()) << cloned.ToString();
  Status twice = bs_->CloneImage(pool_, base, "gold", pool_, child);
  EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists) << twice.ToString();
  EXPECT_THAT(twice.message(),
              HasSubstr("rbd clone " + pool_ + "/" + base + "@gold -> " + pool_ + "/" + child));

  auto info = bs_->GetImage(pool_, child);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, pool_ + "/" + base + "@gold");
  EXPECT_EQ(info->size_bytes, 16 * kMiB);
  EXPECT_EQ(ReadAt(child, 0, 12), "golden image");
  EXPECT_EQ(ReadAt(child, 9 * kMiB, 18), "deep in the parent");

  WriteAt(child, 0, "GOLDEN");
  EXPECT_EQ(ReadAt(child, 0, 12), "GOLDEN image") << "copy-on-write keeps the rest";
  EXPECT_EQ(ReadAt(base, 0, 12), "golden image") << "the parent is untouched";

  auto children = bs_->ListChildren(pool_, base, "gold");
  ASSERT_TRUE(children.ok()) << children.status().ToString();
  EXPECT_EQ(*children, std::vector<std::string>{pool_ + "/" + child});
  EXPECT_TRUE(bs_->ListChildren(pool_, base, "plain")->empty());
}

TEST_P(BlockStorageContractTest, AParentWithClonesIsKeptUntilTheyAreFlattened) {
  const std::string base = Name("base"), child = Name("child");
  ASSERT_TRUE(bs_->CreateImage(pool_, base, 8 * kMiB).ok());
  WriteAt(base, 4096, "parent data");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, base, "gold", true).ok());
  ASSERT_TRUE(bs_->CloneImage(pool_, base, "gold", pool_, child).ok());

  Status refused = bs_->RemoveImage(pool_, base);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_THAT(refused.message(), HasSubstr(pool_ + "/" + child));
  EXPECT_EQ(SnapshotNames(base), std::vector<std::string>{"gold"}) << "nothing was removed";
  EXPECT_EQ(bs_->RemoveSnapshot(pool_, base, "gold").code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(bs_->ListSnapshots(pool_, base)->at(0).is_protected);

  Status flat = bs_->FlattenImage(pool_, child);
  ASSERT_TRUE(flat.ok()) << flat.ToString();
  EXPECT_EQ(bs_->GetImage(pool_, child)->parent, "");
  EXPECT_TRUE(bs_->ListChildren(pool_, base, "gold")->empty());
  EXPECT_TRUE(bs_->FlattenImage(pool_, child).ok()) << "flattening a non-clone does nothing";

  Status removed = bs_->RemoveImage(pool_, base);
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(bs_->GetImage(pool_, base).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadAt(child, 4096, 11), "parent data") << "the flattened clone kept the data";
  EXPECT_TRUE(bs_->ListTrash(pool_)->empty());
}

TEST_P(BlockStorageContractTest, RemoveImageLeavesNoSnapshotsAndNothingInTheTrash) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 4 * kMiB).ok());
  WriteAt(img, 0, "data");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "a", false).ok());
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "b", true).ok());

  {
    auto in_use = bs_->OpenImage(pool_, img);
    ASSERT_TRUE(in_use.ok());
    Status busy = bs_->RemoveImage(pool_, img);
    EXPECT_EQ(busy.code(), StatusCode::kFailedPrecondition) << busy.ToString();
    EXPECT_EQ(SnapshotNames(img).size(), 2u) << "a refused remove changes nothing";
  }
  Status removed = bs_->RemoveImage(pool_, img);
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(bs_->GetImage(pool_, img).status().code(), StatusCode::kNotFound);
  auto trash = bs_->ListTrash(pool_);
  ASSERT_TRUE(trash.ok());
  EXPECT_TRUE(trash->empty());
  // The name is free again, with no snapshot history.
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 4 * kMiB).ok());
  EXPECT_TRUE(SnapshotNames(img).empty());
  EXPECT_EQ(ReadAt(img, 0, 4), std::string(4, '\0'));
}

// Residual information (docs/security.md, "Hostile input"): a removed image's data is gone, not
// hidden. A new image, under the same name or another, reads zeros over all of it; on Ceph no
// RADOS data object of the removed image is left (RBD removes every object it wrote: there is no
// block to overwrite through RBD, see docs/storage.md).
TEST_P(BlockStorageContractTest, ARemovedImagesDataIsGoneNotHidden) {
  constexpr std::int64_t kSize = 12 * kMiB;
  const std::string img = Name("secret");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, kSize).ok());
  const std::string secret(64 * 1024, 'S');
  for (std::int64_t offset : {std::int64_t{0}, 4 * kMiB - 100, 9 * kMiB}) WriteAt(img, offset, secret);
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "before", false).ok());
  WriteAt(img, 5 * kMiB, secret);  // after the snapshot: the object is copied on write
  // The image's RADOS data objects, as `rados ls` lists them (Ceph only).
  auto data_objects = [&](const std::string& prefix) {
    const char* conf = std::getenv("GOVPOOL_TEST_CEPH_CONF");
    const std::string command = std::string("rados -c ") + conf + " -p " + pool_ + " ls 2>/dev/null";
    FILE* p = ::popen(command.c_str(), "r");
    int count = 0;
    char line[512];
    while (p && std::fgets(line, sizeof line, p)) count += std::string_view(line).rfind(prefix, 0) == 0 ? 1 : 0;
    if (p) ::pclose(p);
    return count;
  };
  std::string prefix;
  if (real()) {
    const char* conf = std::getenv("GOVPOOL_TEST_CEPH_CONF");
    const std::string command = std::string("rbd -c ") + conf + " info " + pool_ + "/" + img + " --format json 2>/dev/null";
    FILE* p = ::popen(command.c_str(), "r");
    std::string info;
    char buf[4096];
    for (size_t n; p && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) info.append(buf, n);
    if (p) ::pclose(p);
    const std::string key = "\"block_name_prefix\":\"";
    const auto at = info.find(key);
    ASSERT_NE(at, std::string::npos) << info;
    prefix = info.substr(at + key.size(), info.find('"', at + key.size()) - at - key.size()) + ".";
    EXPECT_EQ(data_objects(prefix), 3) << "objects 0, 1 and 2 of 4 MiB were written";
  }
  ASSERT_TRUE(bs_->RemoveImage(pool_, img).ok());
  if (real()) {
    EXPECT_EQ(data_objects(prefix), 0) << "no object of the removed image is left";
  }
  for (const std::string& next : {img, Name("next-tenant")}) {
    ASSERT_TRUE(bs_->CreateImage(pool_, next, kSize).ok()) << next;
    for (std::int64_t offset = 0; offset < kSize; offset += kMiB) {
      const std::string read = ReadAt(next, offset, kMiB);
      ASSERT_EQ(read.size(), static_cast<std::size_t>(kMiB));
      EXPECT_EQ(read.find('S'), std::string::npos) << next << " at " << offset << " reads the removed image's data";
    }
    ASSERT_TRUE(bs_->RemoveImage(pool_, next).ok());
  }
}

// Ceph tracks changes per 4 MiB RADOS object: overwrites of data that existed at the older
// snapshot come back exactly; writes into an object that did not exist then come back from the
// object's old end (a superset, holes included). So the exact checks overwrite filled objects,
// and the sparse check asks for coverage only.
TEST_P(BlockStorageContractTest, DiffIterateFromCreationOfACloneIncludesItsParentsData) {
  // A full backup of a VM's root disk (a clone of an image) must carry the image's data too.
  const std::string base = Name("base"), child = Name("child");
  ASSERT_TRUE(bs_->CreateImage(pool_, base, 16 * kMiB).ok());
  WriteAt(base, 4 * kMiB, std::string(4096, 'p'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, base, "base", true).ok());
  ASSERT_TRUE(bs_->CloneImage(pool_, base, "base", pool_, child).ok());
  WriteAt(child, 12 * kMiB, std::string(4096, 'c'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, child, "s1", false).ok());
  WriteAt(child, 8 * kMiB, std::string(4096, 'd'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, child, "s2", false).ok());
  const auto covered = [&](const std::string& from, const std::string& to, std::int64_t offset) {
    bool found = false;
    Status s = bs_->DiffIterate(pool_, child, from, to, [&](const Extent& e) {
      found = found || (e.exists && e.offset <= offset && offset + 4096 <= e.offset + e.length);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return found;
  };
  EXPECT_TRUE(covered("", "s1", 4 * kMiB)) << "the parent's data, from the clone's creation";
  EXPECT_TRUE(covered("", "s1", 12 * kMiB)) << "the clone's own data";
  EXPECT_FALSE(covered("s1", "s2", 4 * kMiB)) << "between two snapshots: only what the clone changed";
  EXPECT_TRUE(covered("s1", "s2", 8 * kMiB));
  for (const std::string& img : {child, base}) ASSERT_TRUE(bs_->RemoveImage(pool_, img).ok()) << img;
}

TEST_P(BlockStorageContractTest, DiffIterateReportsTheWrittenExtents) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 16 * kMiB).ok());
  WriteAt(img, 0, std::string(12 * kMiB, 'a'));  // objects 0-2 exist from here on
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s1", false).ok());
  WriteAt(img, 12288, std::string(4096, 'b'));
  WriteAt(img, 5 * kMiB + 4096, std::string(8192, 'c'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s2", false).ok());
  WriteAt(img, 10 * kMiB, std::string(4096, 'd'));  // after s2: not in s1..s2

  const auto diff = [&](const std::string& from, const std::string& to) {
    std::vector<Extent> out;
    Status s = bs_->DiffIterate(pool_, img, from, to, [&](const Extent& e) {
      out.push_back(e);
      return OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  const auto text = [](const std::vector<Extent>& extents) {
    std::vector<std::string> out;
    for (const auto& e : extents) {
      out.push_back(std::to_string(e.offset) + "+" + std::to_string(e.length) +
                    (e.exists ? "" : " zero"));
    }
    return out;
  };
  EXPECT_EQ(text(diff("s1", "s2")),
            (std::vector<std::string>{"12288+4096", std::to_string(5 * kMiB + 4096) + "+8192"}));
  EXPECT_EQ(text(diff("", "s1")), (std::vector<std::string>{"0+" + std::to_string(12 * kMiB)}));
  EXPECT_EQ(text(diff("s2", "")), (std::vector<std::string>{std::to_string(10 * kMiB) + "+4096"}));

  // A sparse write into an object that did not exist at s2: covered, and nothing before it.
  WriteAt(img, 14 * kMiB + 4096, std::string(4096, 'e'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s3", false).ok());
  const auto extents = diff("s2", "s3");
  const auto covered = [&](std::int64_t offset, std::int64_t length) {
    for (const auto& e : extents) {
      if (e.exists && e.offset <= offset && offset + length <= e.offset + e.length) return true;
    }
    return false;
  };
  EXPECT_TRUE(covered(10 * kMiB, 4096)) << ::testing::PrintToString(text(extents));
  EXPECT_TRUE(covered(14 * kMiB + 4096, 4096)) << ::testing::PrintToString(text(extents));
  for (const auto& e : extents) EXPECT_GE(e.offset, 8 * kMiB) << "object 2 onwards only";

  // The visitor's error stops the walk and is returned.
  int visits = 0;
  Status stopped = bs_->DiffIterate(pool_, img, "s1", "s2", [&](const Extent&) {
    ++visits;
    return Internal("stop here");
  });
  EXPECT_EQ(stopped.code(), StatusCode::kInternal);
  EXPECT_EQ(visits, 1);
}

std::string ExtentsText(const std::vector<Extent>& extents) {
  std::string out;
  for (const auto& e : extents) {
    out += (out.empty() ? "" : ", ") + std::to_string(e.offset) + "+" +
           std::to_string(e.length) + (e.exists ? "" : " zero");
  }
  return "[" + out + "]";
}

TEST_P(BlockStorageContractTest, OpenSnapshotReadsTheDataAsOfTheSnapshot) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 8 * kMiB).ok());
  WriteAt(img, 0, "before");
  WriteAt(img, 5 * kMiB, "deep data");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s1", /*protect=*/false).ok());
  WriteAt(img, 0, "AFTER!");
  {
    auto h = bs_->OpenImage(pool_, img);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Discard(5 * kMiB, 4096).ok());
  }
  ASSERT_TRUE(bs_->ResizeImage(pool_, img, 12 * kMiB).ok());
  EXPECT_EQ(ReadAt(img, 0, 6), "AFTER!");
  EXPECT_EQ(ReadAt(img, 5 * kMiB, 9), std::string(9, '\0'));

  auto snap = bs_->OpenSnapshot(pool_, img, "s1");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->Read(0, 6).value(), "before");
  EXPECT_EQ((*snap)->Read(5 * kMiB, 9).value(), "deep data");
  EXPECT_EQ((*snap)->Read(kMiB, 4).value(), std::string(4, '\0'));
  Status past = (*snap)->Read(8 * kMiB, 1).status();
  EXPECT_EQ(past.code(), StatusCode::kInvalidArgument)
      << "the snapshot's size bounds it: " << past.ToString();

  // Read-only: nothing reaches the snapshot (or the head) through it.
  Status write = (*snap)->Write(0, "nope");
  EXPECT_EQ(write.code(), StatusCode::kFailedPrecondition) << write.ToString();
  EXPECT_THAT(write.message(), HasSubstr(pool_ + "/" + img + "@s1"));
  Status discard = (*snap)->Discard(0, 4096);
  EXPECT_EQ(discard.code(), StatusCode::kFailedPrecondition) << discard.ToString();
  EXPECT_EQ((*snap)->Read(0, 6).value(), "before");
  EXPECT_EQ(ReadAt(img, 0, 6), "AFTER!");

  // Not a watcher: the image can be rolled back under it, and it keeps reading the snapshot.
  Status rolled = bs_->RollbackSnapshot(pool_, img, "s1");
  ASSERT_TRUE(rolled.ok()) << rolled.ToString();
  EXPECT_EQ(ReadAt(img, 0, 6), "before");
  EXPECT_EQ((*snap)->Read(5 * kMiB, 9).value(), "deep data");
  EXPECT_TRUE((*snap)->Close().ok());
  EXPECT_EQ((*snap)->Read(0, 1).status().code(), StatusCode::kFailedPrecondition)
      << "closed";
}

TEST_P(BlockStorageContractTest, OpenSnapshotOfAMissingPoolImageOrSnapshotIsNotFound) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, kMiB).ok());
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s1", false).ok());
  auto missing_snap = bs_->OpenSnapshot(pool_, img, "nope");
  EXPECT_EQ(missing_snap.status().code(), StatusCode::kNotFound)
      << missing_snap.status().ToString();
  EXPECT_THAT(missing_snap.status().message(), HasSubstr(pool_ + "/" + img + "@nope"));
  EXPECT_EQ(bs_->OpenSnapshot(pool_, Name("none"), "s1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->OpenSnapshot("govpool-no-such-pool-" + RandomTag(), img, "s1").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(bs_->OpenSnapshot(pool_, img, "").status().code(), StatusCode::kInvalidArgument)
      << "an empty name would be the head";
  EXPECT_TRUE(bs_->OpenSnapshot(pool_, img, "s1").ok());
}

TEST_P(BlockStorageContractTest, DiscardReadsAsZerosAndDiffIterateReportsTheRange) {
  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool_, img, 12 * kMiB).ok());
  WriteAt(img, 0, std::string(8 * kMiB, 'a'));  // objects 0 and 1
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s1", false).ok());
  {
    auto h = bs_->OpenImage(pool_, img);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    // Smaller than librbd's discard granularity (64 KiB): must not be skipped.
    Status partial = (*h)->Discard(4096, 4096);
    ASSERT_TRUE(partial.ok()) << partial.ToString();
    Status whole = (*h)->Discard(4 * kMiB, 4 * kMiB);  // all of object 1
    ASSERT_TRUE(whole.ok()) << whole.ToString();
    EXPECT_TRUE((*h)->Discard(9 * kMiB, 4096).ok()) << "never written";
    EXPECT_TRUE((*h)->Discard(100, 0).ok()) << "empty";
    EXPECT_EQ((*h)->Discard(12 * kMiB - 2, 10).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*h)->Discard(-1, 10).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ((*h)->Read(0, 3 * 4096).value(),
              std::string(4096, 'a') + std::string(4096, '\0') + std::string(4096, 'a'));
    EXPECT_EQ((*h)->Read(4 * kMiB - 1, 2).value(), std::string("a") + '\0');
    EXPECT_EQ((*h)->Read(4 * kMiB, 4 * kMiB).value(), std::string(4 * kMiB, '\0'));
    EXPECT_TRUE((*h)->Close().ok());
  }
  EXPECT_EQ(ReadAt(img, 4096, 4096), std::string(4096, '\0')) << "another handle sees zeros";
  EXPECT_EQ(ReadSnapshotAt(img, "s1", 4096, 4096), std::string(4096, 'a')) << "s1 keeps its data";
  EXPECT_EQ(ReadSnapshotAt(img, "s1", 6 * kMiB, 4), "aaaa");

  ASSERT_TRUE(bs_->CreateSnapshot(pool_, img, "s2", false).ok());
  const auto extents = Diff(img, "s1", "s2");
  const auto covered = [&](std::int64_t offset, std::int64_t length, bool any, bool exists) {
    for (const auto& e : extents) {
      if ((any || e.exists == exists) && e.offset <= offset &&
          offset + length <= e.offset + e.length) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(covered(4096, 4096, /*any=*/true, false)) << ExtentsText(extents);
  EXPECT_TRUE(covered(4 * kMiB, 4 * kMiB, /*any=*/false, /*exists=*/false))
      << "a freed object is reported as gone: " << ExtentsText(extents);
  for (const auto& e : extents) {
    const bool in_partial = e.offset >= 4096 && e.offset + e.length <= 8192;
    const bool in_whole = e.offset >= 4 * kMiB && e.offset + e.length <= 8 * kMiB;
    EXPECT_TRUE(in_partial || in_whole) << "beyond the discards: " << ExtentsText(extents);
  }
}

TEST_P(BlockStorageContractTest, DiscardInACloneHidesTheParent) {
  const std::string base = Name("base"), child = Name("child");
  ASSERT_TRUE(bs_->CreateImage(pool_, base, 8 * kMiB).ok());
  WriteAt(base, 0, std::string(8 * kMiB, 'p'));
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, base, "gold", true).ok());
  ASSERT_TRUE(bs_->CloneImage(pool_, base, "gold", pool_, child).ok());
  {
    auto h = bs_->OpenImage(pool_, child);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Discard(0, 4 * kMiB).ok());   // a whole object
    ASSERT_TRUE((*h)->Discard(5 * kMiB, 100).ok());  // part of one
  }
  EXPECT_EQ(ReadAt(child, 0, 4 * kMiB), std::string(4 * kMiB, '\0'));
  EXPECT_EQ(ReadAt(child, 5 * kMiB - 1, 102), "p" + std::string(100, '\0') + "p");
  EXPECT_EQ(ReadAt(child, 7 * kMiB, 2), "pp") << "the rest still reads through";
  EXPECT_EQ(ReadAt(base, 0, 2), "pp") << "the parent is untouched";
}

TEST_P(BlockStorageContractTest, RenameImageMovesDataSnapshotsClonesAndOpenHandles) {
  const std::string from = Name("from"), to = Name("to"), child = Name("child");
  ASSERT_TRUE(bs_->CreateImage(pool_, from, 8 * kMiB).ok());
  WriteAt(from, 0, "renamed data");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, from, "gold", /*protect=*/true).ok());
  ASSERT_TRUE(bs_->CloneImage(pool_, from, "gold", pool_, child).ok());
  auto h = bs_->OpenImage(pool_, from);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_TRUE((*h)->Write(100, "open").ok());

  Status renamed = bs_->RenameImage(pool_, from, to);
  ASSERT_TRUE(renamed.ok()) << renamed.ToString();
  EXPECT_EQ(bs_->GetImage(pool_, from).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->OpenImage(pool_, from).status().code(), StatusCode::kNotFound);
  auto images = bs_->ListImages(pool_);
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(std::find(images->begin(), images->end(), from), images->end());
  EXPECT_NE(std::find(images->begin(), images->end(), to), images->end());
  auto info = bs_->GetImage(pool_, to);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size_bytes, 8 * kMiB);
  EXPECT_EQ(ReadAt(to, 0, 12), "renamed data");
  EXPECT_EQ(SnapshotNames(to), std::vector<std::string>{"gold"});
  EXPECT_EQ(ReadSnapshotAt(to, "gold", 0, 12), "renamed data");
  EXPECT_EQ(bs_->GetImage(pool_, child)->parent, pool_ + "/" + to + "@gold");
  EXPECT_EQ(ReadAt(child, 0, 12), "renamed data");
  EXPECT_EQ(*bs_->ListChildren(pool_, to, "gold"), std::vector<std::string>{pool_ + "/" + child});

  // The handle opened before the rename still reaches the image.
  EXPECT_EQ((*h)->Read(100, 4).value(), "open");
  ASSERT_TRUE((*h)->Write(200, "still open").ok());
  EXPECT_TRUE((*h)->Close().ok());
  EXPECT_EQ(ReadAt(to, 200, 10), "still open");
}

TEST_P(BlockStorageContractTest, RenameImageRefusesAMissingSourceAndAnExistingTarget) {
  const std::string a = Name("a"), b = Name("b");
  Status missing = bs_->RenameImage(pool_, Name("none"), Name("x"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_THAT(missing.message(), HasSubstr(pool_ + "/" + Name("none")));
  EXPECT_EQ(bs_->GetImage(pool_, Name("x")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bs_->RenameImage("govpool-no-such-pool-" + RandomTag(), a, b).code(),
            StatusCode::kNotFound);

  ASSERT_TRUE(bs_->CreateImage(pool_, a, kMiB).ok());
  ASSERT_TRUE(bs_->CreateImage(pool_, b, 2 * kMiB).ok());
  WriteAt(a, 0, "AAAA");
  WriteAt(b, 0, "BBBB");
  Status taken = bs_->RenameImage(pool_, a, b);
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists) << taken.ToString();
  EXPECT_THAT(taken.message(), HasSubstr(pool_ + "/" + b));
  EXPECT_EQ(ReadAt(a, 0, 4), "AAAA") << "both stay as they were";
  EXPECT_EQ(ReadAt(b, 0, 4), "BBBB");
  EXPECT_EQ(bs_->GetImage(pool_, b)->size_bytes, 2 * kMiB);
}

// What backups do (`rbd export-diff` / `rbd import-diff` through the seam): a full diff up to s1
// copied into an empty image, then the incremental s1..s2 on top, each followed by a snapshot
// of the copy. Each snapshot of the copy must equal the source's at the matching snapshot.
TEST_P(BlockStorageContractTest, ExportDiffImportDiffRoundTrip) {
  const std::string x = Name("x"), y = Name("y");
  constexpr std::int64_t kSize = 16 * kMiB;
  ASSERT_TRUE(bs_->CreateImage(pool_, x, kSize).ok());
  ASSERT_TRUE(bs_->CreateImage(pool_, y, kSize).ok());
  const std::string marker_a = std::string(8192, 'A');
  const std::string marker_b = std::string(4096, 'B');
  WriteAt(x, 0, marker_a);
  WriteAt(x, 8 * kMiB, std::string(4 * kMiB, 'C'));  // all of object 2
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, x, "s1", false).ok());
  WriteAt(x, 5 * kMiB, marker_b);  // an object that did not exist at s1
  {
    auto h = bs_->OpenImage(pool_, x);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Discard(4096, 4096).ok());       // half of marker A
    ASSERT_TRUE((*h)->Discard(8 * kMiB, 4 * kMiB).ok());  // object 2 freed
  }
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, x, "s2", false).ok());
  WriteAt(x, 0, "after s2: in no backup");

  int zero_extents = 0;
  // Applies DiffIterate(x, from, to) to y, reading the data from x@to.
  const auto apply = [&](const std::string& from, const std::string& to) {
    auto source = bs_->OpenSnapshot(pool_, x, to);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    auto target = bs_->OpenImage(pool_, y);
    ASSERT_TRUE(target.ok()) << target.status().ToString();
    Status s = bs_->DiffIterate(pool_, x, from, to, [&](const Extent& e) -> Status {
      if (!e.exists) {
        ++zero_extents;
        return (*target)->Discard(e.offset, e.length);
      }
      for (std::int64_t pos = e.offset; pos < e.offset + e.length;) {
        const std::int64_t n = std::min<std::int64_t>(4 * kMiB, e.offset + e.length - pos);
        GP_ASSIGN_OR_RETURN(std::string data, (*source)->Read(pos, n));
        GP_RETURN_IF_ERROR((*target)->Write(pos, data));
        pos += n;
      }
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE((*target)->Close().ok());
  };

  apply("", "s1");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, y, "b1", false).ok());
  apply("s1", "s2");
  ASSERT_TRUE(bs_->CreateSnapshot(pool_, y, "b2", false).ok());
  EXPECT_GT(zero_extents, 0) << "the freed object came as exists=false";

  EXPECT_EQ(ReadSnapshotAt(y, "b1", 0, 8192), marker_a);
  EXPECT_EQ(ReadSnapshotAt(y, "b1", 5 * kMiB, 4096), std::string(4096, '\0')) << "no B yet";
  EXPECT_EQ(ReadSnapshotAt(y, "b1", 8 * kMiB, 4 * kMiB), std::string(4 * kMiB, 'C'));
  EXPECT_EQ(ReadSnapshotAt(y, "b2", 0, 8192), std::string(4096, 'A') + std::string(4096, '\0'));
  EXPECT_EQ(ReadSnapshotAt(y, "b2", 5 * kMiB, 4096), marker_b);
  EXPECT_EQ(ReadSnapshotAt(y, "b2", 8 * kMiB, 4 * kMiB), std::string(4 * kMiB, '\0'));
  // Byte for byte, the whole image.
  EXPECT_TRUE(ReadSnapshotAt(y, "b1", 0, kSize) == ReadSnapshotAt(x, "s1", 0, kSize));
  EXPECT_TRUE(ReadSnapshotAt(y, "b2", 0, kSize) == ReadSnapshotAt(x, "s2", 0, kSize));
  EXPECT_EQ(ReadAt(y, 0, 8), std::string(8, 'A')) << "y's head is b2's data";
}

TEST_P(BlockStorageContractTest, PoolStatsAreSaneAndUsageGrowsAfterWriting) {
  // A pool of its own: in the shared one, usage still falls while earlier tests' removals reach
  // Ceph's statistics.
  const std::string pool = MakeScratchPool(0);
  ASSERT_NE(pool, "");
  PoolStats before;
  // A new pool shows up in Ceph's usage digest within a few seconds.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = bs_->GetPoolStats(pool);
        if (s.ok()) before = *s;
        return s.ok() && s->capacity_bytes > 0;
      },
      std::chrono::seconds(30)))
      << "capacity stayed 0";
  EXPECT_GE(before.used_bytes, 0);
  EXPECT_LT(before.used_bytes, kMiB);
  EXPECT_GT(before.available_bytes, 0);
  EXPECT_LE(before.used_bytes + before.available_bytes, before.capacity_bytes);
  EXPECT_FALSE(before.nearfull);
  EXPECT_FALSE(before.full);

  const std::string img = Name("disk");
  ASSERT_TRUE(bs_->CreateImage(pool, img, 16 * kMiB).ok());
  WriteAt(img, 0, std::string(8 * kMiB, 'x'), pool);
  PoolStats after;
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto s = bs_->GetPoolStats(pool);
        if (s.ok()) after = *s;
        return s.ok() && s->used_bytes >= before.used_bytes + 8 * kMiB;
      },
      std::chrono::seconds(30)))
      << "used stayed " << after.used_bytes << " (was " << before.used_bytes << ")";
  EXPECT_GT(after.used_ratio, 0.0);
  EXPECT_LT(after.used_ratio, 1.0);
  EXPECT_FALSE(after.nearfull);
}

TEST_P(BlockStorageContractTest, ASmallPoolFilledPastNearfullAndThenToItsQuota) {
  constexpr std::int64_t kQuota = 16 * kMiB;
  // The small pool: a fake pool of 16 MiB, or a Ceph pool with a 16 MiB quota.
  const std::string pool = MakeScratchPool(kQuota);
  ASSERT_NE(pool, "");
  auto stats = bs_->GetPoolStats(pool);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->capacity_bytes, kQuota) << "a quota bounds the capacity";
  EXPECT_FALSE(stats->nearfull);
  EXPECT_FALSE(stats->full);

  const std::string img = Name("fill");
  ASSERT_TRUE(bs_->CreateImage(pool, img, 32 * kMiB).ok());
  WriteAt(img, 0, std::string(14 * kMiB, 'n'), pool);  // 87.5 % of the quota
  PoolStats seen;
  const auto wait_for = [&](const std::function<bool(const PoolStats&)>& done) {
    return WaitUntil(
        [&] {
          auto s = bs_->GetPoolStats(pool);
          if (s.ok()) seen = *s;
          return s.ok() && done(*s);
        },
        std::chrono::seconds(30));
  };
  EXPECT_TRUE(wait_for([](const PoolStats& s) { return s.nearfull; }))
      << "not nearfull at used " << seen.used_bytes << " of " << seen.capacity_bytes;
  EXPECT_FALSE(seen.full);
  EXPECT_GE(seen.used_ratio, 0.85);
  EXPECT_LE(seen.available_bytes, 2 * kMiB + 64 * 1024);

  // Up to the quota: Ceph flags the pool full (full_quota) and would pause further writes, so
  // the test writes nothing more to it.
  WriteAt(img, 14 * kMiB, std::string(2 * kMiB, 'f'), pool);
  EXPECT_TRUE(wait_for([](const PoolStats& s) { return s.full; }))
      << "not full at used " << seen.used_bytes << " of " << seen.capacity_bytes;
  EXPECT_TRUE(seen.nearfull) << "a full pool is nearfull too";
  EXPECT_EQ(seen.available_bytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Implementations, BlockStorageContractTest,
                         ::testing::Values("fake", "rbd"),
                         [](const auto& param_info) { return param_info.param; });

// --- The fake's own controls ---

TEST(FakeBlockStorageTest, FailNextFailsOnceWithoutSideEffects) {
  using Op = FakeBlockStorage::Op;
  FakeBlockStorage fake;
  ASSERT_TRUE(fake.AddPool("p", kMiB).ok());
  EXPECT_EQ(fake.AddPool("p", kMiB).code(), StatusCode::kAlreadyExists);
  fake.FailNext(Op::kCreateImage, Unavailable("injected"));
  fake.FailNext(Op::kCreateImage, ResourceExhausted("injected too"));
  EXPECT_EQ(fake.CreateImage("p", "i", kMiB).code(), StatusCode::kUnavailable);
  EXPECT_EQ(fake.CreateImage("p", "i", kMiB).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(fake.GetImage("p", "i").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fake.CreateImage("p", "i", kMiB).ok());
  EXPECT_EQ(fake.CallCount(Op::kCreateImage), 3);

  fake.FailNext(Op::kWrite, Unavailable("injected"));
  auto h = fake.OpenImage("p", "i");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->Write(0, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ((*h)->Read(0, 1).value(), std::string(1, '\0'));
  fake.FailNext(Op::kRemoveImage, Internal("injected"));
  fake.ClearFaults();
  EXPECT_TRUE((*h)->Close().ok());
  EXPECT_TRUE(fake.RemoveImage("p", "i").ok());
}

TEST(FakeBlockStorageTest, SnapshotRenameAndDiscardFaultsChangeNothing) {
  using Op = FakeBlockStorage::Op;
  FakeBlockStorage fake;
  ASSERT_TRUE(fake.AddPool("p", kMiB).ok());
  ASSERT_TRUE(fake.CreateImage("p", "i", kMiB).ok());
  ASSERT_TRUE(fake.CreateSnapshot("p", "i", "s", false).ok());
  fake.FailNext(Op::kOpenSnapshot, Unavailable("injected"));
  EXPECT_EQ(fake.OpenSnapshot("p", "i", "s").status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fake.OpenSnapshot("p", "i", "s").ok());
  EXPECT_EQ(fake.CallCount(Op::kOpenSnapshot), 2);

  fake.FailNext(Op::kRenameImage, Internal("injected"));
  EXPECT_EQ(fake.RenameImage("p", "i", "j").code(), StatusCode::kInternal);
  EXPECT_TRUE(fake.GetImage("p", "i").ok());
  EXPECT_EQ(fake.GetImage("p", "j").status().code(), StatusCode::kNotFound);

  auto h = fake.OpenImage("p", "i");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE((*h)->Write(0, "kept").ok());
  fake.FailNext(Op::kDiscard, Unavailable("injected"));
  EXPECT_EQ((*h)->Discard(0, 4).code(), StatusCode::kUnavailable);
  EXPECT_EQ((*h)->Read(0, 4).value(), "kept");
  EXPECT_TRUE((*h)->Discard(0, 4).ok());
  EXPECT_EQ((*h)->Read(0, 4).value(), std::string(4, '\0'));
  EXPECT_EQ(fake.CallCount(Op::kDiscard), 2);
  // A discard that frees a block gives its room back.
  ASSERT_TRUE((*h)->Write(0, std::string(FakeBlockStorage::kBlockBytes, 'x')).ok());
  EXPECT_EQ(fake.GetPoolStats("p")->used_bytes, FakeBlockStorage::kBlockBytes);
  ASSERT_TRUE((*h)->Discard(0, FakeBlockStorage::kBlockBytes).ok());
  EXPECT_EQ(fake.GetPoolStats("p")->used_bytes, 0);
}

TEST(FakeBlockStorageTest, AWriteBeyondThePoolCapacityIsRefusedWhole) {
  FakeBlockStorage fake;
  ASSERT_TRUE(fake.AddPool("p", 8 * FakeBlockStorage::kBlockBytes).ok());
  ASSERT_TRUE(fake.CreateImage("p", "i", kMiB).ok());
  auto h = fake.OpenImage("p", "i");
  ASSERT_TRUE(h.ok());
  Status s = (*h)->Write(0, std::string(9 * FakeBlockStorage::kBlockBytes, 'x'));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_EQ(fake.GetPoolStats("p")->used_bytes, 0);
  EXPECT_TRUE((*h)->Write(0, std::string(8 * FakeBlockStorage::kBlockBytes, 'x')).ok());
  EXPECT_TRUE(fake.GetPoolStats("p")->full);
}

TEST(RbdErrnoTest, NegativeErrnoMapsToCanonicalCodesWithTheLibraryText) {
  Status s = ErrnoToStatus(-EEXIST, "rbd clone pool/img@snap -> pool/x");
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "rbd clone pool/img@snap -> pool/x: File exists");
  EXPECT_TRUE(ErrnoToStatus(0, "x").ok());
  EXPECT_EQ(ErrnoToStatus(-ENOENT, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoToStatus(-EBUSY, "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoToStatus(-ENOTEMPTY, "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoToStatus(-ENOSPC, "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(-EDQUOT, "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(-ETIMEDOUT, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatus(-ECONNREFUSED, "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoToStatus(-EACCES, "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(-EINVAL, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoToStatus(-EIO, "x").code(), StatusCode::kInternal);
}

TEST(RbdConnectTest, AMissingConfIsNotFound) {
  RbdOptions options;
  options.conf_path = "/nonexistent/govpool/ceph.conf";
  auto r = RbdBlockStorage::Connect(options);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
}

}  // namespace
}  // namespace govpool::agent
