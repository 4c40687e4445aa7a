// FakeBlockStorage: an in-memory BlockStorage with the same contract as RbdBlockStorage
// (tests/integration/agent/block_storage_contract_test.cc runs one suite against both).
//
// Model: pools hold images; an image is a size, a map of 4 KiB blocks (written data), an ordered
// list of snapshots (each a copy of the block map at that moment) and optionally a parent
// snapshot (a clone reads through to it where it has not written). Blocks are immutable and
// shared: a write or discard replaces the head's blocks, so a snapshot keeps the data it had
// (and DiffIterate reports a block whose object changed). Discard drops whole blocks (reported
// exists=false; in a clone whose parent shows data there, a zero block hides it instead) and
// zeroes partial ones (a new block, reported exists=true). Handles refer to their image by id,
// so they follow a rename; snapshot handles are not watchers (like librbd's read-only opens).
// Pool usage is 4 KiB per block held by an image or a snapshot (a block shared by both counts
// once). A pool is nearfull at 85 % of its capacity (Ceph's default mon_osd_nearfull_ratio) and
// full at 100 %; a write that would take it past its capacity fails with kResourceExhausted.
//
// Test controls: AddPool creates pools (BlockStorage cannot), FailNext injects faults.
// Thread-safety: every method is safe for concurrent use (one mutex); ImageHandles lock it too,
// and must not outlive the FakeBlockStorage.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/drivers/block_storage.h"

namespace govpool::agent {

class FakeBlockStorage final : public BlockStorage {
 public:
  enum class Op {
    kGetPoolStats,
    kPoolExists,
    kListImages,
    kGetImage,
    kCreateImage,
    kResizeImage,
    kRemoveImage,
    kCloneImage,
    kFlattenImage,
    kListChildren,
    kOpenImage,
    kOpenSnapshot,
    kRenameImage,
    kListSnapshots,
    kCreateSnapshot,
    kRemoveSnapshot,
    kRollbackSnapshot,
    kDiffIterate,
    kListTrash,
    kWrite,    // ImageHandle::Write
    kRead,     // ImageHandle::Read
    kDiscard,  // ImageHandle::Discard
  };
  static constexpr std::int64_t kBlockBytes = 4096;
  static constexpr double kNearfullRatio = 0.85;

  FakeBlockStorage();
  ~FakeBlockStorage() override;

  Result<PoolStats> GetPoolStats(const std::string& pool) override;
  Result<bool> PoolExists(const std::string& pool) override;
  Result<std::vector<std::string>> ListImages(const std::string& pool) override;
  Result<ImageInfo> GetImage(const std::string& pool, const std::string& image) override;
  Status CreateImage(const std::string& pool, const std::string& image,
                     std::int64_t size_bytes) override;
  Status ResizeImage(const std::string& pool, const std::string& image,
                     std::int64_t size_bytes) override;
  Status RemoveImage(const std::string& pool, const std::string& image) override;
  Status CloneImage(const std::string& parent_pool, const std::string& parent_image,
                    const std::string& parent_snapshot, const std::string& pool,
                    const std::string& image) override;
  Status FlattenImage(const std::string& pool, const std::string& image) override;
  Result<std::vector<std::string>> ListChildren(const std::string& pool,
                                                const std::string& image,
                                                const std::string& snapshot) override;
  Result<std::unique_ptr<ImageHandle>> OpenImage(const std::string& pool,
                                                 const std::string& image) override;
  Result<std::unique_ptr<ImageHandle>> OpenSnapshot(const std::string& pool,
                                                    const std::string& image,
                                                    const std::string& snapshot) override;
  Status RenameImage(const std::string& pool, const std::string& from,
                     const std::string& to) override;
  Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& pool,
                                                  const std::string& image) override;
  Status CreateSnapshot(const std::string& pool, const std::string& image,
                        const std::string& snapshot, bool protect) override;
  Status RemoveSnapshot(const std::string& pool, const std::string& image,
                        const std::string& snapshot) override;
  Status RollbackSnapshot(const std::string& pool, const std::string& image,
                          const std::string& snapshot) override;
  Status DiffIterate(const std::string& pool, const std::string& image,
                     const std::string& from_snapshot, const std::string& to_snapshot,
                     const std::function<Status(const Extent&)>& visit) override;
  Result<std::vector<std::string>> ListTrash(const std::string& pool) override;

  // --- Test controls ---
  // Creates an empty pool holding up to capacity_bytes. kAlreadyExists if it exists.
  Status AddPool(const std::string& name, std::int64_t capacity_bytes);
  // Removes a pool and everything in it (like `ceph osd pool delete`). kNotFound if absent.
  Status RemovePool(const std::string& name);
  // The next call of `op` fails with `status` (not OK) without side effects. Calls queue up:
  // FailNext(op, A); FailNext(op, B) fails the next call with A and the one after with B.
  void FailNext(Op op, Status status);
  void ClearFaults();
  // Calls of `op` so far (failed ones included).
  int CallCount(Op op) const;

 private:
  struct Block;
  using BlockMap = std::map<std::int64_t, std::shared_ptr<const Block>>;  // by block index
  struct Snapshot {
    std::string name;
    std::int64_t size_bytes = 0;
    bool is_protected = false;
    BlockMap blocks;
  };
  struct ParentRef {
    std::string pool, image, snapshot;
  };
  struct Image {
    std::uint64_t id = 0;  // what handles hold: it survives a rename
    std::int64_t size_bytes = 0;
    BlockMap blocks;
    std::vector<Snapshot> snapshots;  // in creation order
    std::unique_ptr<ParentRef> parent;
    int open_handles = 0;  // watchers
  };
  struct Pool {
    std::int64_t capacity_bytes = 0;
    std::map<std::string, Image> images;
  };
  class Handle;

  // All of these expect mu_ held.
  Status TakeFault(Op op);
  Result<Pool*> FindPool(const std::string& pool, const std::string& what);
  Result<Image*> FindImage(const std::string& pool, const std::string& image,
                           const std::string& what);
  static Snapshot* FindSnapshot(Image& image, const std::string& snapshot);
  std::vector<std::string> ChildrenOf(const std::string& pool, const std::string& image,
                                      const std::string& snapshot) const;
  std::int64_t UsedBytes(const Pool& pool) const;
  // The image `id` of `pool` (handles' lookup) and its current name; kNotFound once removed.
  Result<std::pair<const std::string*, Image*>> FindImageById(const std::string& pool,
                                                               std::uint64_t id,
                                                               const std::string& what);
  // Reads one block of `image` as seen at head (or through `blocks`, a snapshot's map),
  // falling through to the parent chain; empty when never written (zeros).
  std::string ReadBlock(const Image& image, const BlockMap& blocks, std::int64_t index) const;
  // Replaces the head's blocks by `updated` (nullptr: drop the block), unless the pool would
  // go past its capacity (kResourceExhausted, nothing changed).
  Status ApplyBlocks(const std::string& pool, Image& image, const BlockMap& updated,
                     const std::string& what);
  Status HandleWrite(const std::string& pool, std::uint64_t image, std::int64_t offset,
                     std::string_view data);
  Status HandleDiscard(const std::string& pool, std::uint64_t image, std::int64_t offset,
                       std::int64_t length);
  // `snapshot` empty: the head.
  Result<std::string> HandleRead(const std::string& pool, std::uint64_t image,
                                 const std::string& snapshot, std::int64_t offset,
                                 std::int64_t length);
  void HandleClosed(const std::string& pool, std::uint64_t image);

  mutable std::mutex mu_;
  std::map<std::string, Pool> pools_;
  std::uint64_t next_image_id_ = 0;
  std::map<Op, std::deque<Status>> faults_;
  std::map<Op, int> calls_;
};

}  // namespace govpool::agent
