// RbdBlockStorage: BlockStorage on a real Ceph cluster through librados and librbd (their C++
// API). This folder is the only code that includes <rados/...> or <rbd/...>; the header keeps
// them out (the cluster handle is an opaque pointer), so the agent and tests that include it do
// not need Ceph's headers.
//
// One RbdBlockStorage holds one cluster connection (librados::Rados) for its lifetime; each
// call opens the pool context and image it needs and closes them before returning, so no state
// is shared between calls besides the connection. ImageHandles keep the connection alive on
// their own (they may outlive the RbdBlockStorage that opened them).
//
// Errors: librados/librbd return negative errno values; ErrnoToStatus maps them to the canonical
// codes of block_storage.h and keeps the library's text with what was being done, e.g.
//   ALREADY_EXISTS: rbd clone rbd/base@gold -> rbd/vm-1: File exists
//
// Pool statistics come from the monitor ("df" and "osd dump", JSON), which learns usage from the
// manager: a cluster without a ceph-mgr reports stale or zero usage (scripts/start-ceph.sh
// starts one). See docs/storage.md for how nearfull and full are decided.
//
// Thread-safety: safe to call from several threads at once (librados' Rados is thread-safe and
// every call uses its own IoCtx and Image).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/drivers/block_storage.h"

namespace govpool::agent {

struct RbdOptions {
  std::string conf_path;         // a ceph.conf ("" = librados' default search: $CEPH_CONF, /etc/ceph)
  std::string client_id = "admin";  // cephx user without "client.": "admin" is client.admin
  std::int64_t connect_timeout_ms = 10000;  // reaching the monitors (client_mount_timeout)
  // Monitor commands and OSD operations (rados_mon_op_timeout, rados_osd_op_timeout): past it a
  // call fails with kUnavailable. 0 waits forever, which is librados' default; note that Ceph
  // pauses writes to a full pool instead of failing them, so without a timeout such a write
  // waits until the pool has room again.
  std::int64_t op_timeout_ms = 0;
};

// A negative errno from librados/librbd as a canonical Status: "<what>: <strerror>".
//   ENOENT -> kNotFound; EEXIST -> kAlreadyExists; EBUSY, ENOTEMPTY, EROFS -> kFailedPrecondition;
//   ENOSPC, EDQUOT -> kResourceExhausted; ETIMEDOUT, ECONNREFUSED, ENOTCONN, ESHUTDOWN,
//   EAGAIN -> kUnavailable; EPERM, EACCES -> kPermissionDenied; EINVAL, ERANGE,
//   ENAMETOOLONG -> kInvalidArgument; anything else -> kInternal. `err` >= 0 gives OK.
Status ErrnoToStatus(int err, const std::string& what);

class RbdBlockStorage final : public BlockStorage {
 public:
  // Reads the conf, connects and authenticates. kUnavailable when the monitors cannot be
  // reached within connect_timeout_ms; kNotFound when the conf file does not exist;
  // kPermissionDenied/kUnauthenticated-like failures keep librados' text.
  static Result<std::unique_ptr<RbdBlockStorage>> Connect(const RbdOptions& options);
  ~RbdBlockStorage() override;

  RbdBlockStorage(const RbdBlockStorage&) = delete;
  RbdBlockStorage& operator=(const RbdBlockStorage&) = delete;

  // "df" + "osd dump" monitor commands (JSON).
  Result<PoolStats> GetPoolStats(const std::string& pool) override;
  // rados pool_lookup.
  Result<bool> PoolExists(const std::string& pool) override;

  Result<std::vector<std::string>> ListImages(const std::string& pool) override;  // RBD::list2
  Result<ImageInfo> GetImage(const std::string& pool, const std::string& image) override;
  // RBD::create4 with the cluster's default features (layering and friends, format 2).
  Status CreateImage(const std::string& pool, const std::string& image,
                     std::int64_t size_bytes) override;
  Status ResizeImage(const std::string& pool, const std::string& image,
                     std::int64_t size_bytes) override;  // Image::resize, grow only
  // Image::snap_unprotect + snap_remove for each snapshot, then RBD::remove (not the trash).
  Status RemoveImage(const std::string& pool, const std::string& image) override;
  Status CloneImage(const std::string& parent_pool, const std::string& parent_image,
                    const std::string& parent_snapshot, const std::string& pool,
                    const std::string& image) override;  // RBD::clone3
  Status FlattenImage(const std::string& pool, const std::string& image) override;
  Result<std::vector<std::string>> ListChildren(const std::string& pool,
                                                const std::string& image,
                                                const std::string& snapshot) override;
  // Handles' Discard is Image::write_zeroes (flags 0): a discard that frees whole objects and
  // zeroes partial ones. Image::discard would skip the parts of the range smaller than
  // rbd_discard_granularity_bytes (64 KiB by default), which then keep their old data.
  Result<std::unique_ptr<ImageHandle>> OpenImage(const std::string& pool,
                                                 const std::string& image) override;
  // RBD::open_read_only at the snapshot: no watch on the image, writes fail (EROFS).
  Result<std::unique_ptr<ImageHandle>> OpenSnapshot(const std::string& pool,
                                                    const std::string& image,
                                                    const std::string& snapshot) override;
  // RBD::rename; clones and open handles follow the image (both refer to it by id).
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

  // Image::diff_iterate2 on to_snapshot (whole_object=false, parent excluded); adjacent extents
  // merged. Ceph tracks changes per RADOS object (4 MiB): an overwrite of data that existed at
  // from_snapshot is reported exactly; data written into an object that did not exist then (or
  // past its end) is reported from the object's old end to its new one, holes included (they
  // read as zeros). A superset of the written bytes, never less.
  Status DiffIterate(const std::string& pool, const std::string& image,
                     const std::string& from_snapshot, const std::string& to_snapshot,
                     const std::function<Status(const Extent&)>& visit) override;

  Result<std::vector<std::string>> ListTrash(const std::string& pool) override;  // trash_list

  // Runs a monitor command (JSON text such as {"prefix":"osd dump","format":"json"}) and
  // returns its output; for tools and tests (creating a pool, setting a quota).
  Result<std::string> MonCommand(const std::string& json_command);

  struct Cluster;  // the librados connection; defined in the .cc

 private:
  explicit RbdBlockStorage(std::shared_ptr<Cluster> cluster);
  std::shared_ptr<Cluster> cluster_;
};

}  // namespace govpool::agent
