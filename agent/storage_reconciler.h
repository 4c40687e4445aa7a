// StorageReconciler: the agent's storage work, level-triggered like the VM Reconciler. Each
// Reconcile() pass takes the host's whole desired set (the watch answer) and converges the
// agent's Ceph cluster (the BlockStorage seam) to the records whose `host_id` is this host:
//   - storage pools (of this agent's cluster): nothing to converge; the pass measures each one
//     (GetPoolStats on its ceph_pool) into the StoragePoolReports the host agent sends with its
//     heartbeats (unreachable, with Ceph's error text, when the pool cannot be measured);
//   - volumes: RBD image "govpool-vol-<id>" in the pool's ceph_pool, created when missing
//     (empty, or a clone of an image's "base" snapshot or of a volume snapshot), grown when
//     smaller (and the running guest it is attached to told: Hypervisor::ResizeDisk), flattened
//     when asked, rolled back to a snapshot when asked (detached only, once per generation),
//     removed when `deleting`;
//   - snapshots: RBD snapshot "govpool-snap-<id>" of its volume's image, protected (clones are
//     made from it); removed when `deleting`, after flattening its clones when asked;
//   - images: an `importing` image is downloaded from the controller (SHA-256 checked while
//     streaming to the staging directory), converted to raw when qcow2, written into RBD image
//     "govpool-img-<id>" (thin: all-zero chunks are skipped) with a protected snapshot "base",
//     read back for its content hash; verified again when its generation moves on; removed
//     when `deleting`;
//   - backups (docs/storage.md, "Backups"): snapshot "govpool-bak-<backup id>" of the volume's
//     image, whose changed extents (DiffIterate from the parent backup's snapshot when both
//     pools still hold it, else everything over a discarded head) are written into image
//     "govpool-bak-<volume id>" of the target pool, which then takes a snapshot of the same
//     name; the parent's source snapshot goes afterwards (the next diff starts from this one).
//     Every step is idempotent, so an agent killed mid-backup redoes the attempt from the
//     start and reaches the same result. Removed (both snapshots, and the target image with
//     its last snapshot) when `deleting`;
//   - restores: a volume with `source_backup_id` is written under "govpool-vol-<id>-restoring"
//     from the backup's snapshot and renamed when complete, so a half-restored image never
//     carries the volume's name (a crash restarts the copy).
// Every state is reported to the controller (PUT .../status) only when it differs from what the
// controller shows and from the last report. Nothing in Ceph is ever removed because a record
// is absent from the answer: images are shared cluster-wide (other agents' records, clones), so
// only a record marked `deleting` removes anything.
//
// Volumes attached to VMs: the VM Reconciler plugs them into domains. It runs first in a pass
// and hands its findings over (VolumeAttachments: volume id -> the VM whose domain holds the
// disk), so this reconciler is the one place that reports volume states: `in-use` once the
// volume's disk is in its VM's domain, `available` once it is in no domain (a volume asked to
// be attached but not yet plugged stays `available` with the reason "waiting to be attached").
//
// Clusters: `storage` is the agent's own cluster (`cluster`); `other_clusters` are further
// clusters it reaches for backups and restores only (an off-site backup target).
//
// Errors: a Ceph error becomes the record's `error` report with Ceph's text (a refused removal
// is retried next pass); a kUnavailable cluster ends the pass with nothing reported (Reconcile
// answers Unavailable; the pool reports are still computed). Imports run inside the pass
// (progress reported every progress_interval while it lasts).
//
// Thread-safety: not thread-safe; one StorageReconciler per host, driven by one thread at a
// time (pool_reports() included).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/controller_client.h"
#include "agent/drivers/block_storage.h"
#include "agent/drivers/hypervisor.h"
#include "api/types.h"
#include "common/clock.h"
#include "common/result.h"

namespace govpool::agent {

// Converts the qcow2 file at `qcow2_path` into a raw file at `raw_path` (qemu-img convert -O raw).
using Qcow2Converter = std::function<Status(const std::string& qcow2_path, const std::string& raw_path)>;

// What the VM Reconciler found plugged in this host's domains: volume id -> vm id.
using VolumeAttachments = std::map<std::string, std::string>;

struct StorageReconcilerOptions {
  std::string host_id;            // this host's id at the controller
  std::string cluster = "ceph";   // the Ceph cluster's name, as storage pools name it
  std::string staging_dir;        // absolute: image downloads and conversions (created on use)
  // Makes raw data of qcow2 uploads; empty: qcow2 images are reported in error.
  Qcow2Converter convert_qcow2;
  // Tells running guests about grown volumes (ResizeDisk); null: nobody is told.
  Hypervisor* hypervisor = nullptr;
  std::int64_t chunk_bytes = 4 << 20;             // image writes and read-backs
  std::chrono::milliseconds progress_interval{2'000};  // import progress reports
  // Further clusters, by the name storage pools give them: backup targets (and restore
  // sources) only. Each must outlive the reconciler.
  std::map<std::string, BlockStorage*> other_clusters;
};

struct StorageSummary {
  int volumes = 0;    // records of this host seen
  int snapshots = 0;
  int images = 0;
  int backups = 0;
  int reports = 0;    // status reports sent
  int errors = 0;     // records left in error (or with a failed report)
};

class StorageReconciler {
 public:
  StorageReconciler(BlockStorage& storage, ControllerClient& controller, StorageReconcilerOptions options,
                    const Clock& clock = SystemClock());

  // One pass over the host's whole desired set; `attached`: the VM Reconciler's findings of the
  // same pass. Unavailable when the cluster cannot be reached (the pass stopped there; nothing
  // more was reported); otherwise OK (per-record failures are reported and counted).
  Result<StorageSummary> Reconcile(const api::WatchAnswer& answer, const VolumeAttachments& attached = {});

  // The reports on this cluster's storage pools from the last pass (nullopt before the first):
  // what the host agent sends with its heartbeats.
  const std::optional<std::vector<api::StoragePoolReport>>& pool_reports() const { return pool_reports_; }

  // The names govpool gives things in RBD.
  static std::string VolumeImage(const std::string& volume_id) { return "govpool-vol-" + volume_id; }
  static std::string SnapshotName(const std::string& snapshot_id) { return "govpool-snap-" + snapshot_id; }
  static std::string ImageImage(const std::string& image_id) { return "govpool-img-" + image_id; }
  static constexpr const char* kBaseSnapshot = "base";
  // A backup's snapshot (of the volume's image and of the target image), and the target image
  // holding a volume's backups.
  static std::string BackupSnapshot(const std::string& backup_id) { return "govpool-bak-" + backup_id; }
  static std::string BackupImage(const std::string& volume_id) { return "govpool-bak-" + volume_id; }

 private:
  struct VolumePhase {
    std::optional<api::VolumeState> state;  // nullopt: nothing to report
    std::string reason;
    std::int64_t observed_generation = 0;
    bool flattened = false;
    bool operator==(const VolumePhase&) const = default;
  };
  struct SnapshotPhase {
    std::optional<api::SnapshotState> state;
    std::string reason;
    bool operator==(const SnapshotPhase&) const = default;
  };
  struct ImagePhase {
    std::optional<api::ImageState> state;
    api::ImageStatusReport report;
    bool operator==(const ImagePhase& o) const {
      return state == o.state && report.state_reason == o.report.state_reason &&
             report.imported_bytes == o.report.imported_bytes &&
             report.virtual_size_bytes == o.report.virtual_size_bytes &&
             report.content_sha256 == o.report.content_sha256 &&
             report.observed_generation == o.report.observed_generation;
    }
  };
  struct BackupPhase {
    std::optional<api::BackupState> state;
    std::string reason;
    std::int64_t observed_generation = 0;
    bool incremental = false;
    std::int64_t transferred_bytes = 0;
    bool operator==(const BackupPhase&) const = default;
  };
  // A pass's lookups.
  struct Index {
    std::map<std::string, const api::StoragePool*> pools;
    std::map<std::string, const api::Volume*> volumes;
    std::map<std::string, const api::VolumeSnapshot*> snapshots;
    std::map<std::string, const api::Image*> images;
    std::map<std::string, const api::Backup*> backups;
  };
  // A pool in any cluster this agent reaches.
  struct PoolRef {
    BlockStorage* storage = nullptr;
    std::string pool;  // the Ceph pool
  };

  Result<VolumePhase> ReconcileVolume(const api::Volume& v, const Index& idx, const VolumeAttachments& attached);
  Status CreateVolume(const api::Volume& v, const std::string& pool, const Index& idx);
  Result<SnapshotPhase> ReconcileSnapshot(const api::VolumeSnapshot& s, const Index& idx);
  Result<ImagePhase> ReconcileImage(const api::Image& i, const Index& idx);
  Result<ImagePhase> Import(const api::Image& i, const std::string& pool);
  // Writes the raw file into a new RBD image; reports progress.
  Status WriteImage(const api::Image& i, const std::string& pool, const std::string& raw_path,
                    std::int64_t size_bytes);
  // SHA-256 (hex) of the first size_bytes of an RBD image.
  Result<std::string> ContentSha256(const std::string& pool, const std::string& image, std::int64_t size_bytes);
  Result<std::string> PoolOf(const std::string& pool_id, const Index& idx) const;
  Result<PoolRef> AnyPoolOf(const std::string& pool_id, const Index& idx) const;
  Result<BackupPhase> ReconcileBackup(const api::Backup& b, const Index& idx);
  // Writes what DiffIterate(from, to) of `from_image` reports into `to_image` (open), reading
  // through the `to` snapshot; `full`: the target's head is discarded first. Bytes carried.
  Result<std::int64_t> CopyDiff(const PoolRef& from, const std::string& from_image, const std::string& from_snapshot,
                                const std::string& to_snapshot, std::int64_t size_bytes, const PoolRef& to,
                                const std::string& to_image, bool full);
  Status RestoreVolume(const api::Volume& v, const std::string& pool, const Index& idx);
  void ProgressReport(const api::Image& i, const std::string& reason, std::int64_t imported_bytes, bool force);
  void TellGuests();

  void Report(const api::Volume& v, const VolumePhase& p, StorageSummary& summary);
  void Report(const api::VolumeSnapshot& s, const SnapshotPhase& p, StorageSummary& summary);
  void Report(const api::Image& i, const ImagePhase& p, StorageSummary& summary);
  void Report(const api::Backup& b, const BackupPhase& p, StorageSummary& summary);

  BlockStorage& storage_;
  ControllerClient& controller_;
  const StorageReconcilerOptions options_;
  const Clock& clock_;

  std::optional<std::vector<api::StoragePoolReport>> pool_reports_;
  std::map<std::string, VolumePhase> last_volume_;
  std::map<std::string, SnapshotPhase> last_snapshot_;
  std::map<std::string, ImagePhase> last_image_;
  std::map<std::string, BackupPhase> last_backup_;     // reports sent
  std::map<std::string, BackupPhase> backup_results_;  // attempts done: backup id -> outcome
  // Rollbacks done: volume id -> the generation they were done for.
  std::map<std::string, std::int64_t> rolled_back_;
  // Grown volumes whose running guest still has to be told: volume id -> (vm id, device, bytes).
  struct GuestResize {
    std::string vm_id, device;
    std::int64_t size_bytes = 0;
  };
  std::map<std::string, GuestResize> guest_resizes_;
  std::chrono::steady_clock::time_point last_progress_{};
};

// The monitors of a ceph.conf's `mon host` (or `mon_host`) line as libvirt's RBD disks want
// them: "host:port" (the v1 address of a "[v2:h:3300,v1:h:6789]" group), a bare "host" when
// no port is given, "[v6addr]:port" for IPv6. Groups and addresses are separated by commas or
// spaces (`#` and `;` start comments, as in Ceph's parser). InvalidArgument when the text has
// no `mon host` line or it names no address.
Result<std::vector<std::string>> ParseMonHosts(const std::string& ceph_conf_text);

// The cephx key (base64) of `client.<client_id>` from a keyring's text
// ("[client.admin]\n\tkey = AQ...=="). NotFound when the keyring has no such section or key.
Result<std::string> ParseKeyringKey(const std::string& keyring_text, const std::string& client_id);

}  // namespace govpool::agent
