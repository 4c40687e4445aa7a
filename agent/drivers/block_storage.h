// BlockStorage: the agent's seam to distributed block storage (one Ceph cluster, reached through
// a ceph.conf and a cephx client id). RbdBlockStorage (agent/drivers/ceph/) is the only code that
// includes rados/rbd headers; tests use FakeBlockStorage (tests/fakes/agent/).
//
// Contracts every implementation keeps (checked by the contract suite):
//   - Names are RBD image/snapshot names chosen by govpool ("govpool-vol-<uuid>", ...); the
//     implementation never invents or alters one.
//   - Errors are canonical codes carrying the library's own text: kNotFound (no such pool, image
//     or snapshot), kAlreadyExists, kFailedPrecondition (an image with clones or an open
//     watcher, a protected snapshot with children, shrinking), kResourceExhausted (pool full,
//     ENOSPC/EDQUOT), kUnavailable (cluster unreachable, timeouts), kInternal otherwise.
//   - RemoveImage leaves nothing behind: every snapshot is unprotected and removed, and the
//     image is removed directly, never moved to the RBD trash.
//   - Sizes are bytes.
//   - A snapshot is immutable: OpenSnapshot reads the image's data as of the snapshot, whatever
//     was written, discarded or rolled back at the head since; its handle is read-only (Write and
//     Discard are kFailedPrecondition) and does not count as a watcher of the image.
//   - Discard deallocates exactly the range it is given: it reads as zeros afterwards (also in
//     a clone, whose parent no longer shows through there), and DiffIterate reports the range
//     as changed (exists=false where whole units were freed, exists=true with zeros otherwise).
//   - Backups are export-diff/import-diff: DiffIterate(from, to) extents read through
//     OpenSnapshot(image, to) and written (exists=false: discarded) into another image at the
//     same offsets reproduce `to` there, given that image held `from` before.
//   - RenameImage keeps everything but the name: data, snapshots, clones (their parent names the
//     new name), and handles already open on the image.
//
// Thread-safety: implementations are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::agent {

// What Ceph says about one pool (cluster stats + pool stats + the OSD map's full flags).
struct PoolStats {
  std::int64_t capacity_bytes = 0;   // what the pool can hold: stored + max_avail
  std::int64_t used_bytes = 0;       // bytes stored in the pool
  std::int64_t available_bytes = 0;  // max_avail: what can still be written
  double used_ratio = 0;             // used / capacity (0 when capacity is 0)
  bool nearfull = false;             // Ceph flags the pool (or its OSDs) nearfull
  bool full = false;                 // Ceph flags the pool full: writes are refused
};

struct ImageInfo {
  std::string name;
  std::int64_t size_bytes = 0;
  // Parent of a clone: "pool/image@snapshot"; empty for an image that is not a clone (or one
  // that was flattened).
  std::string parent;
};

struct SnapshotInfo {
  std::string name;
  std::int64_t size_bytes = 0;
  bool is_protected = false;
};

// One changed extent between two snapshots (diff iteration); exists=false means zeroed/trimmed.
struct Extent {
  std::int64_t offset = 0;
  std::int64_t length = 0;
  bool exists = true;
};

// Sequential or random-access I/O on one image, held open. Close() reports flush errors; the
// destructor closes silently.
class ImageHandle {
 public:
  virtual ~ImageHandle() = default;
  // Write and Discard: kInvalidArgument for a range outside the image; kFailedPrecondition on a
  // handle from OpenSnapshot (read-only).
  virtual Status Write(std::int64_t offset, std::string_view data) = 0;
  // Deallocates [offset, offset+length): reads of it return zeros afterwards. Unlike a plain
  // librbd discard, no part of the range is skipped for being smaller than an allocation unit.
  virtual Status Discard(std::int64_t offset, std::int64_t length) = 0;
  virtual Result<std::string> Read(std::int64_t offset, std::int64_t length) = 0;
  virtual Status Close() = 0;
};

class BlockStorage {
 public:
  virtual ~BlockStorage() = default;

  // Pools.
  virtual Result<PoolStats> GetPoolStats(const std::string& pool) = 0;
  virtual Result<bool> PoolExists(const std::string& pool) = 0;

  // Images. CreateImage makes a thin, layering-capable image (format 2).
  virtual Result<std::vector<std::string>> ListImages(const std::string& pool) = 0;
  virtual Result<ImageInfo> GetImage(const std::string& pool, const std::string& image) = 0;
  virtual Status CreateImage(const std::string& pool, const std::string& image,
                             std::int64_t size_bytes) = 0;
  // Grow only: a smaller size is kFailedPrecondition; the same size is OK.
  virtual Status ResizeImage(const std::string& pool, const std::string& image,
                             std::int64_t size_bytes) = 0;
  // Removes every snapshot (unprotecting them) and then the image, bypassing the trash.
  // kFailedPrecondition when a snapshot has clones; kNotFound when there is no such image.
  virtual Status RemoveImage(const std::string& pool, const std::string& image) = 0;
  // Copy-on-write clone of a protected snapshot (the snapshot must exist and be protected).
  virtual Status CloneImage(const std::string& parent_pool, const std::string& parent_image,
                            const std::string& parent_snapshot, const std::string& pool,
                            const std::string& image) = 0;
  // Copies the parent's data into the clone and detaches it from its parent.
  virtual Status FlattenImage(const std::string& pool, const std::string& image) = 0;
  // Clones of one snapshot, as "pool/image".
  virtual Result<std::vector<std::string>> ListChildren(const std::string& pool,
                                                        const std::string& image,
                                                        const std::string& snapshot) = 0;
  virtual Result<std::unique_ptr<ImageHandle>> OpenImage(const std::string& pool,
                                                         const std::string& image) = 0;
  // Read-only handle on the image's data as of `snapshot` (its size is the snapshot's). Write
  // and Discard on it are kFailedPrecondition. kNotFound for a missing pool, image or snapshot;
  // kInvalidArgument for an empty snapshot name.
  virtual Result<std::unique_ptr<ImageHandle>> OpenSnapshot(const std::string& pool,
                                                            const std::string& image,
                                                            const std::string& snapshot) = 0;
  // Renames an image within its pool. kNotFound when `from` does not exist, kAlreadyExists when
  // `to` does (checked in that order).
  virtual Status RenameImage(const std::string& pool, const std::string& from,
                             const std::string& to) = 0;

  // Snapshots.
  virtual Result<std::vector<SnapshotInfo>> ListSnapshots(const std::string& pool,
                                                          const std::string& image) = 0;
  virtual Status CreateSnapshot(const std::string& pool, const std::string& image,
                                const std::string& snapshot, bool protect) = 0;
  // Unprotects first when protected; kFailedPrecondition when the snapshot has clones.
  virtual Status RemoveSnapshot(const std::string& pool, const std::string& image,
                                const std::string& snapshot) = 0;
  // The image must not be in use (kFailedPrecondition when it has watchers).
  virtual Status RollbackSnapshot(const std::string& pool, const std::string& image,
                                  const std::string& snapshot) = 0;

  // Extents changed between from_snapshot (empty: the image's creation, a clone's parent data
  // included) and to_snapshot, in offset order: the export-diff of `rbd export-diff
  // [--from-snap]`.
  virtual Status DiffIterate(const std::string& pool, const std::string& image,
                             const std::string& from_snapshot, const std::string& to_snapshot,
                             const std::function<Status(const Extent&)>& visit) = 0;

  // Names in the pool's RBD trash (the contract suite checks govpool leaves nothing there).
  virtual Result<std::vector<std::string>> ListTrash(const std::string& pool) = 0;
};

}  // namespace govpool::agent
