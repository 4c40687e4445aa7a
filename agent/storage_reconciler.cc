#include "agent/storage_reconciler.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/crypto.h"
#include "common/log.h"

namespace govpool::agent {
namespace {

constexpr std::int64_t kGiB = std::int64_t{1} << 30;

bool Transient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

bool AllZero(std::string_view data) { return data.find_first_not_of('\0') == std::string_view::npos; }

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

StorageReconciler::StorageReconciler(BlockStorage& storage, ControllerClient& controller,
                                     StorageReconcilerOptions options, const Clock& clock)
    : storage_(storage), controller_(controller), options_(std::move(options)), clock_(clock) {}

Result<std::string> StorageReconciler::PoolOf(const std::string& pool_id, const Index& idx) const {
  auto it = idx.pools.find(pool_id);
  if (it == idx.pools.end() || it->second->cluster != options_.cluster) {
    return FailedPrecondition("storage pool " + pool_id + " is not a pool of cluster '" + options_.cluster +
                              "', the one this agent reaches");
  }
  return it->second->ceph_pool;
}

Result<StorageReconciler::PoolRef> StorageReconciler::AnyPoolOf(const std::string& pool_id, const Index& idx) const {
  auto it = idx.pools.find(pool_id);
  if (it == idx.pools.end()) return FailedPrecondition("storage pool " + pool_id + " is not known to this agent");
  const api::StoragePool& p = *it->second;
  if (p.cluster == options_.cluster) return PoolRef{&storage_, p.ceph_pool};
  auto other = options_.other_clusters.find(p.cluster);
  if (other == options_.other_clusters.end() || other->second == nullptr) {
    return FailedPrecondition("storage pool " + pool_id + " is in cluster '" + p.cluster +
                              "', which this agent does not reach");
  }
  return PoolRef{other->second, p.ceph_pool};
}

// ---------------------------------------------------------------- volumes

Status StorageReconciler::CreateVolume(const api::Volume& v, const std::string& pool, const Index& idx) {
  const std::string name = VolumeImage(v.meta.id);
  Status s;
  if (!v.source_image_id.empty()) {
    auto image = idx.images.find(v.source_image_id);
    if (image == idx.images.end()) {
      return FailedPrecondition("its source image " + v.source_image_id + " is not known to this agent");
    }
    GP_ASSIGN_OR_RETURN(std::string parent_pool, PoolOf(image->second->pool_id, idx));
    s = storage_.CloneImage(parent_pool, ImageImage(v.source_image_id), kBaseSnapshot, pool, name);
  } else if (!v.source_snapshot_id.empty()) {
    auto snap = idx.snapshots.find(v.source_snapshot_id);
    if (snap == idx.snapshots.end()) {
      return FailedPrecondition("its source snapshot " + v.source_snapshot_id + " is not known to this agent");
    }
    GP_ASSIGN_OR_RETURN(std::string parent_pool, PoolOf(snap->second->pool_id, idx));
    s = storage_.CloneImage(parent_pool, VolumeImage(snap->second->volume_id), SnapshotName(v.source_snapshot_id),
                            pool, name);
  } else if (!v.source_backup_id.empty()) {
    s = RestoreVolume(v, pool, idx);
  } else {
    s = storage_.CreateImage(pool, name, v.size_gib * kGiB);
  }
  if (s.code() == StatusCode::kAlreadyExists) return OkStatus();  // made meanwhile: converge from there
  if (s.ok()) log::Info("volume image created", {{"volume_id", v.meta.id}, {"pool", pool}, {"image", name}});
  return s;
}

Result<StorageReconciler::VolumePhase> StorageReconciler::ReconcileVolume(const api::Volume& v, const Index& idx,
                                                                          const VolumeAttachments& attached) {
  const std::string& id = v.meta.id;
  auto fail = [&](const std::string& step, const Status& s) -> Result<VolumePhase> {
    if (Transient(s)) return s;
    log::Warn("storage step failed", {{"volume_id", id}, {"step", step}, {"error", s.ToString()}});
    return VolumePhase{api::VolumeState::kError, step + " failed: " + s.ToString(), v.observed_generation,
                       v.flattened};
  };
  auto pool = PoolOf(v.pool_id, idx);
  if (!pool.ok()) return fail("finding the pool", pool.status());
  const std::string name = VolumeImage(id);
  const auto at = attached.find(id);
  const std::string plugged_in = at == attached.end() ? "" : at->second;

  if (v.deleting) {
    if (!plugged_in.empty()) {
      // The guest still holds the disk (a detach in progress): removing it now would fail anyway.
      return VolumePhase{api::VolumeState::kDeleting, "waiting for vm " + plugged_in + " to release the disk",
                         v.observed_generation, v.flattened};
    }
    // RemoveImage removes the volume's snapshots too; refused while one of them has clones.
    if (Status s = storage_.RemoveImage(*pool, name); !s.ok() && s.code() != StatusCode::kNotFound) {
      return fail("removing the image", s);
    }
    log::Info("volume image removed", {{"volume_id", id}, {"pool", *pool}, {"image", name}});
    rolled_back_.erase(id);
    guest_resizes_.erase(id);
    return VolumePhase{api::VolumeState::kDeleted, "", v.generation, v.flattened};
  }

  auto info = storage_.GetImage(*pool, name);
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    if (Status s = CreateVolume(v, *pool, idx); !s.ok()) return fail("creating the image", s);
    info = storage_.GetImage(*pool, name);
  }
  if (!info.ok()) return fail("reading the image", info.status());

  const std::int64_t want = v.size_gib * kGiB;
  if (info->size_bytes < want) {
    if (Status s = storage_.ResizeImage(*pool, name, want); !s.ok()) return fail("growing the image", s);
    log::Info("volume image grown", {{"volume_id", id}, {"size_bytes", want}});
    if (!plugged_in.empty() && plugged_in == v.vm_id && !v.device.empty()) {
      guest_resizes_[id] = {v.vm_id, v.device, want};
    }
  }

  bool flattened = v.flattened;
  const bool clone = !v.source_image_id.empty() || !v.source_snapshot_id.empty();  // restores are copies
  if (v.flatten && !info->parent.empty()) {
    if (Status s = storage_.FlattenImage(*pool, name); !s.ok()) return fail("flattening the image", s);
    log::Info("volume image flattened", {{"volume_id", id}, {"parent", info->parent}});
    flattened = true;
  } else if (clone && info->parent.empty()) {
    flattened = true;
  }

  const bool detached = plugged_in.empty() && v.vm_id.empty();
  if (!v.rollback_snapshot_id.empty() && v.observed_generation < v.generation && detached) {
    auto done = rolled_back_.find(id);
    if (done == rolled_back_.end() || done->second != v.generation) {
      const std::string snap = SnapshotName(v.rollback_snapshot_id);
      if (Status s = storage_.RollbackSnapshot(*pool, name, snap); !s.ok()) return fail("rolling back", s);
      rolled_back_[id] = v.generation;
      log::Info("volume rolled back", {{"volume_id", id}, {"snapshot", snap}, {"generation", v.generation}});
    }
  }

  if (!plugged_in.empty()) {
    if (plugged_in == v.vm_id) return VolumePhase{api::VolumeState::kInUse, "", v.generation, flattened};
    return VolumePhase{api::VolumeState::kInUse, "being detached from vm " + plugged_in, v.observed_generation,
                       flattened};
  }
  if (!v.vm_id.empty()) {
    return VolumePhase{api::VolumeState::kAvailable, "waiting to be attached to vm " + v.vm_id,
                       v.observed_generation, flattened};
  }
  return VolumePhase{api::VolumeState::kAvailable, "", v.generation, flattened};
}

void StorageReconciler::TellGuests() {
  for (auto it = guest_resizes_.begin(); it != guest_resizes_.end();) {
    if (options_.hypervisor == nullptr) {
      it = guest_resizes_.erase(it);
      continue;
    }
    const GuestResize& r = it->second;
    Status s = options_.hypervisor->ResizeDisk(r.vm_id, r.device, r.size_bytes);
    if (s.ok() || s.code() == StatusCode::kNotFound) {
      // NotFound: the domain or the disk is gone; a later attach or boot reads the new size.
      it = guest_resizes_.erase(it);
      continue;
    }
    log::Warn("cannot tell the guest its disk grew; retrying next pass",
              {{"volume_id", it->first}, {"vm_id", r.vm_id}, {"error", s.ToString()}});
    ++it;
  }
}

// ---------------------------------------------------------------- snapshots

Result<StorageReconciler::SnapshotPhase> StorageReconciler::ReconcileSnapshot(const api::VolumeSnapshot& snap,
                                                                              const Index& idx) {
  auto fail = [&](const std::string& step, const Status& s) -> Result<SnapshotPhase> {
    if (Transient(s)) return s;
    log::Warn("storage step failed", {{"snapshot_id", snap.meta.id}, {"step", step}, {"error", s.ToString()}});
    return SnapshotPhase{api::SnapshotState::kError, step + " failed: " + s.ToString()};
  };
  auto pool = PoolOf(snap.pool_id, idx);
  if (!pool.ok()) return fail("finding the pool", pool.status());
  const std::string image = VolumeImage(snap.volume_id);
  const std::string name = SnapshotName(snap.meta.id);
  auto volume = idx.volumes.find(snap.volume_id);

  if (snap.deleting) {
    if (snap.flatten_children) {
      auto children = storage_.ListChildren(*pool, image, name);
      if (!children.ok() && children.status().code() != StatusCode::kNotFound) {
        return fail("listing the clones", children.status());
      }
      for (const std::string& child : children.ok() ? *children : std::vector<std::string>{}) {
        const auto slash = child.find('/');
        if (slash == std::string::npos) continue;
        Status s = storage_.FlattenImage(child.substr(0, slash), child.substr(slash + 1));
        if (!s.ok() && s.code() != StatusCode::kNotFound) return fail("flattening clone " + child, s);
        log::Info("clone flattened", {{"snapshot_id", snap.meta.id}, {"clone", child}});
      }
    }
    Status s = storage_.RemoveSnapshot(*pool, image, name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return fail("removing the snapshot", s);
    log::Info("snapshot removed", {{"snapshot_id", snap.meta.id}, {"image", image}});
    return SnapshotPhase{api::SnapshotState::kDeleted, ""};
  }
  // A snapshot of a volume being deleted goes with it; one whose volume is not here waits.
  if (volume == idx.volumes.end() || volume->second->deleting) return SnapshotPhase{};

  auto snaps = storage_.ListSnapshots(*pool, image);
  if (!snaps.ok()) {
    if (snaps.status().code() == StatusCode::kNotFound) return SnapshotPhase{};  // the volume is not made yet
    return fail("listing the volume's snapshots", snaps.status());
  }
  auto found = std::find_if(snaps->begin(), snaps->end(), [&](const SnapshotInfo& i) { return i.name == name; });
  if (found != snaps->end() && !found->is_protected) {
    // Made but not protected (an agent died in between): make it again, protected. The record
    // is still `creating`, so nobody relies on its point in time yet.
    if (Status s = storage_.RemoveSnapshot(*pool, image, name); !s.ok() && s.code() != StatusCode::kNotFound) {
      return fail("replacing an unprotected snapshot", s);
    }
    found = snaps->end();
  }
  if (found == snaps->end()) {
    Status s = storage_.CreateSnapshot(*pool, image, name, /*protect=*/true);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return fail("creating the snapshot", s);
    log::Info("snapshot created", {{"snapshot_id", snap.meta.id}, {"image", image}});
  }
  return SnapshotPhase{api::SnapshotState::kAvailable, ""};
}

// ---------------------------------------------------------------- images

void StorageReconciler::ProgressReport(const api::Image& i, const std::string& reason, std::int64_t imported_bytes,
                                       bool force) {
  const auto now = clock_.MonotonicNow();
  if (!force && now - last_progress_ < options_.progress_interval) return;
  last_progress_ = now;
  api::ImageStatusReport r;
  r.state = api::ImageState::kImporting;
  r.state_reason = reason;
  r.imported_bytes = imported_bytes;
  r.observed_generation = i.observed_generation;
  if (Status s = controller_.ReportImageStatus(i.meta.id, r); !s.ok()) {
    log::Warn("image progress report failed", {{"image_id", i.meta.id}, {"error", s.ToString()}});
  }
}

Status StorageReconciler::WriteImage(const api::Image& i, const std::string& pool, const std::string& raw_path,
                                     std::int64_t size_bytes) {
  const std::string name = ImageImage(i.meta.id);
  GP_RETURN_IF_ERROR(storage_.CreateImage(pool, name, size_bytes));
  GP_ASSIGN_OR_RETURN(std::unique_ptr<ImageHandle> handle, storage_.OpenImage(pool, name));
  std::ifstream in(raw_path, std::ios::binary);
  if (!in) return Internal("cannot open " + raw_path);
  std::string chunk(static_cast<std::size_t>(options_.chunk_bytes), '\0');
  for (std::int64_t offset = 0; offset < size_bytes;) {
    const std::int64_t n = std::min<std::int64_t>(options_.chunk_bytes, size_bytes - offset);
    in.read(chunk.data(), n);
    if (in.gcount() != n) return Internal("short read of " + raw_path + " at offset " + std::to_string(offset));
    const std::string_view data(chunk.data(), static_cast<std::size_t>(n));
    if (!AllZero(data)) GP_RETURN_IF_ERROR(handle->Write(offset, data));  // zeros stay thin
    offset += n;
    ProgressReport(i, "writing the image into RBD", offset, false);
  }
  return handle->Close();
}

Result<std::string> StorageReconciler::ContentSha256(const std::string& pool, const std::string& image,
                                                     std::int64_t size_bytes) {
  // Nothing ever writes an image's head after its "base" snapshot (clones are images of
  // their own), so the head reads exactly what the snapshot holds.
  GP_ASSIGN_OR_RETURN(std::unique_ptr<ImageHandle> handle, storage_.OpenImage(pool, image));
  Sha256Stream sha;
  for (std::int64_t offset = 0; offset < size_bytes;) {
    const std::int64_t n = std::min<std::int64_t>(options_.chunk_bytes, size_bytes - offset);
    GP_ASSIGN_OR_RETURN(std::string data, handle->Read(offset, n));
    if (static_cast<std::int64_t>(data.size()) != n) {
      return Internal("short read of " + pool + "/" + image + " at offset " + std::to_string(offset));
    }
    sha.Update(data);
    offset += n;
  }
  GP_RETURN_IF_ERROR(handle->Close());
  return sha.FinishHex();
}

Result<StorageReconciler::ImagePhase> StorageReconciler::Import(const api::Image& i, const std::string& pool) {
  const std::string& id = i.meta.id;
  auto error = [&](const std::string& reason) {
    log::Warn("image import failed", {{"image_id", id}, {"reason", reason}});
    ImagePhase p;
    p.state = api::ImageState::kError;
    p.report.state = api::ImageState::kError;
    p.report.state_reason = reason;
    p.report.observed_generation = i.observed_generation;
    return p;
  };
  std::error_code ec;
  std::filesystem::create_directories(options_.staging_dir, ec);
  if (ec) return error("cannot create the staging directory " + options_.staging_dir + ": " + ec.message());
  const std::string download = options_.staging_dir + "/" + ImageImage(id) + ".download";
  const std::string raw = options_.staging_dir + "/" + ImageImage(id) + ".raw";
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      RemoveQuietly(a);
      RemoveQuietly(b);
    }
  } cleanup{download, raw};
  last_progress_ = clock_.MonotonicNow();

  // 1. The upload, hashed on the way to the staging file.
  Sha256Stream sha;
  std::int64_t downloaded = 0;
  {
    std::ofstream out(download, std::ios::binary | std::ios::trunc);
    if (!out) return error("cannot write " + download);
    Status s = controller_.DownloadImage(id, [&](std::string_view chunk) -> Status {
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      if (!out) return Internal("writing " + download + " failed (disk full?)");
      sha.Update(chunk);
      downloaded += static_cast<std::int64_t>(chunk.size());
      ProgressReport(i, "downloading the upload (" + std::to_string(downloaded) + " bytes)", 0, false);
      return OkStatus();
    });
    out.close();
    if (Transient(s)) return s;  // the controller is away: next pass
    if (!s.ok()) return error("downloading the upload failed: " + s.ToString());
    if (!out) return error("writing " + download + " failed");
  }
  const std::string got = sha.FinishHex();
  if (!i.sha256.empty() && got != i.sha256) {
    return error("SHA-256 mismatch: the downloaded data has " + got + ", the upload had " + i.sha256);
  }
  if (i.size_bytes > 0 && downloaded != i.size_bytes) {
    return error("downloaded " + std::to_string(downloaded) + " bytes, the upload had " +
                 std::to_string(i.size_bytes));
  }

  // 2. Raw data: the upload itself, or its conversion.
  std::string source = download;
  if (i.format == api::ImageFormat::kQcow2) {
    if (!options_.convert_qcow2) return error("this agent cannot convert qcow2 images (no qemu-img)");
    if (Status s = options_.convert_qcow2(download, raw); !s.ok()) {
      return error("converting the qcow2 upload to raw failed: " + s.ToString());
    }
    RemoveQuietly(download);
    source = raw;
  }
  const auto size = std::filesystem::file_size(source, ec);
  if (ec) return error("cannot read " + source + ": " + ec.message());
  const auto virtual_size = static_cast<std::int64_t>(size);
  if (virtual_size == 0) return error("the image holds no data");

  // 3. Into RBD, then the protected "base" snapshot volumes are cloned from.
  const std::string name = ImageImage(id);
  Status s = WriteImage(i, pool, source, virtual_size);
  if (s.ok()) s = storage_.CreateSnapshot(pool, name, kBaseSnapshot, /*protect=*/true);
  if (!s.ok()) {
    // A half-written image is never used: remove it so the next attempt starts clean.
    if (Status r = storage_.RemoveImage(pool, name); !r.ok() && r.code() != StatusCode::kNotFound) {
      log::Warn("cannot remove a half-imported image", {{"image_id", id}, {"error", r.ToString()}});
    }
    if (Transient(s)) return s;
    return error("writing the image into RBD failed: " + s.ToString());
  }
  log::Info("image imported", {{"image_id", id}, {"pool", pool}, {"virtual_size_bytes", virtual_size}});

  // 4. What RBD now holds.
  auto content = ContentSha256(pool, name, virtual_size);
  if (!content.ok()) {
    if (Transient(content.status())) return content.status();
    return error("reading the imported image back failed: " + content.status().ToString());
  }
  ImagePhase p;
  p.state = api::ImageState::kAvailable;
  p.report.state = api::ImageState::kAvailable;
  p.report.imported_bytes = virtual_size;
  p.report.virtual_size_bytes = virtual_size;
  p.report.content_sha256 = *content;
  p.report.observed_generation = i.generation;
  return p;
}

Result<StorageReconciler::ImagePhase> StorageReconciler::ReconcileImage(const api::Image& i, const Index& idx) {
  const std::string& id = i.meta.id;
  auto fail = [&](const std::string& step, const Status& s) -> Result<ImagePhase> {
    if (Transient(s)) return s;
    log::Warn("storage step failed", {{"image_id", id}, {"step", step}, {"error", s.ToString()}});
    ImagePhase p;
    p.state = api::ImageState::kError;
    p.report.state = api::ImageState::kError;
    p.report.state_reason = step + " failed: " + s.ToString();
    p.report.imported_bytes = i.imported_bytes;
    p.report.observed_generation = i.observed_generation;
    return p;
  };
  auto pool = PoolOf(i.pool_id, idx);
  if (!pool.ok()) return fail("finding the pool", pool.status());
  const std::string name = ImageImage(id);

  // The imported image as it stands: its size and content hash (for verification).
  auto read_back = [&](std::int64_t observed) -> Result<ImagePhase> {
    auto info = storage_.GetImage(*pool, name);
    if (!info.ok()) return fail("reading the image", info.status());
    auto content = ContentSha256(*pool, name, info->size_bytes);
    if (!content.ok()) return fail("reading the image back", content.status());
    ImagePhase p;
    p.state = api::ImageState::kAvailable;
    p.report.state = api::ImageState::kAvailable;
    p.report.imported_bytes = info->size_bytes;
    p.report.virtual_size_bytes = info->size_bytes;
    p.report.content_sha256 = *content;
    p.report.observed_generation = observed;
    return p;
  };

  if (i.deleting) {
    if (Status s = storage_.RemoveImage(*pool, name); !s.ok() && s.code() != StatusCode::kNotFound) {
      return fail("removing the image", s);
    }
    log::Info("image removed", {{"image_id", id}, {"pool", *pool}});
    ImagePhase p;
    p.state = api::ImageState::kDeleted;
    p.report.state = api::ImageState::kDeleted;
    p.report.observed_generation = i.generation;
    return p;
  }
  if (i.state == api::ImageState::kImporting) {
    auto snaps = storage_.ListSnapshots(*pool, name);
    if (snaps.ok()) {
      const bool based = std::any_of(snaps->begin(), snaps->end(),
                                     [](const SnapshotInfo& s) { return s.name == kBaseSnapshot; });
      if (based) return read_back(i.generation);  // imported before a crash, not yet reported
      // A crash mid-import left part of it: start again.
      log::Warn("removing a half-imported image", {{"image_id", id}, {"pool", *pool}});
      if (Status s = storage_.RemoveImage(*pool, name); !s.ok() && s.code() != StatusCode::kNotFound) {
        if (s.code() != StatusCode::kFailedPrecondition) return fail("removing a half-imported image", s);
        // Still open elsewhere (it has no snapshot, so no clones): by the agent that died while
        // writing it, whose watch Ceph drops only once it times out (osd_client_watch_timeout,
        // 30 s by default). Not an error: the image stays importing and the next pass tries again.
        log::Warn("a half-imported image is still open elsewhere; retrying next pass",
                  {{"image_id", id}, {"pool", *pool}, {"error", s.ToString()}});
        ImagePhase p;
        p.state = api::ImageState::kImporting;
        p.report.state = api::ImageState::kImporting;
        p.report.state_reason = "waiting to import again: a half-imported image is still open elsewhere "
                                "(a crashed importer's watch expires within about 30 s): " + s.message();
        p.report.observed_generation = i.observed_generation;
        return p;
      }
    } else if (snaps.status().code() != StatusCode::kNotFound) {
      return fail("reading the image", snaps.status());
    }
    return Import(i, *pool);
  }
  if (i.state == api::ImageState::kAvailable && i.observed_generation < i.generation) {
    return read_back(i.generation);  // asked to verify
  }
  return ImagePhase{};
}

// ---------------------------------------------------------------- backups

Result<std::int64_t> StorageReconciler::CopyDiff(const PoolRef& from, const std::string& from_image,
                                                 const std::string& from_snapshot, const std::string& to_snapshot,
                                                 std::int64_t size_bytes, const PoolRef& to,
                                                 const std::string& to_image, bool full) {
  GP_ASSIGN_OR_RETURN(std::unique_ptr<ImageHandle> reader,
                      from.storage->OpenSnapshot(from.pool, from_image, to_snapshot));
  GP_ASSIGN_OR_RETURN(std::unique_ptr<ImageHandle> writer, to.storage->OpenImage(to.pool, to_image));
  // A full copy over an image that held something else: nothing of that may show through.
  if (full) GP_RETURN_IF_ERROR(writer->Discard(0, size_bytes));
  std::int64_t carried = 0;
  auto copy_extent = [&](const Extent& e) -> Status {
    const std::int64_t end = std::min(e.offset + e.length, size_bytes);
    if (!e.exists) return full ? OkStatus() : writer->Discard(e.offset, end - e.offset);
    for (std::int64_t at = e.offset; at < end;) {
      const std::int64_t n = std::min<std::int64_t>(options_.chunk_bytes, end - at);
      GP_ASSIGN_OR_RETURN(std::string data, reader->Read(at, n));
      if (static_cast<std::int64_t>(data.size()) != n) {
        return Internal("short read of " + from.pool + "/" + from_image + "@" + to_snapshot + " at offset " +
                        std::to_string(at));
      }
      // Zeros stay thin: a discard reads back as zeros without taking space.
      GP_RETURN_IF_ERROR(AllZero(data) ? writer->Discard(at, n) : writer->Write(at, data));
      carried += n;
      at += n;
    }
    return OkStatus();
  };
  GP_RETURN_IF_ERROR(from.storage->DiffIterate(from.pool, from_image, from_snapshot, to_snapshot, copy_extent));
  GP_RETURN_IF_ERROR(reader->Close());
  GP_RETURN_IF_ERROR(writer->Close());
  return carried;
}

Status StorageReconciler::RestoreVolume(const api::Volume& v, const std::string& pool, const Index& idx) {
  auto found = idx.backups.find(v.source_backup_id);
  if (found == idx.backups.end()) {
    return FailedPrecondition("its source backup " + v.source_backup_id + " is not known to this agent");
  }
  const api::Backup& b = *found->second;
  GP_ASSIGN_OR_RETURN(PoolRef from, AnyPoolOf(b.target_pool_id, idx));
  const PoolRef to{&storage_, pool};
  const std::string bak_image = BackupImage(b.volume_id);
  const std::string bak_snap = BackupSnapshot(b.meta.id);
  const std::string name = VolumeImage(v.meta.id);
  const std::string partial = name + "-restoring";
  GP_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snaps, from.storage->ListSnapshots(from.pool, bak_image));
  auto snap = std::find_if(snaps.begin(), snaps.end(), [&](const SnapshotInfo& i) { return i.name == bak_snap; });
  if (snap == snaps.end()) return NotFound("backup snapshot " + from.pool + "/" + bak_image + "@" + bak_snap);
  // A copy left by a crash is not trusted: start again.
  if (Status s = storage_.RemoveImage(pool, partial); !s.ok() && s.code() != StatusCode::kNotFound) return s;
  GP_RETURN_IF_ERROR(storage_.CreateImage(pool, partial, std::max(v.size_gib * kGiB, snap->size_bytes)));
  auto carried = CopyDiff(from, bak_image, "", bak_snap, snap->size_bytes, to, partial, /*full=*/false);
  if (!carried.ok()) {
    storage_.RemoveImage(pool, partial).IgnoreError();
    return carried.status();
  }
  GP_RETURN_IF_ERROR(storage_.RenameImage(pool, partial, name));
  log::Info("volume restored from backup", {{"volume_id", v.meta.id}, {"backup_id", b.meta.id},
                                            {"bytes", *carried}});
  return OkStatus();
}

Result<StorageReconciler::BackupPhase> StorageReconciler::ReconcileBackup(const api::Backup& b, const Index& idx) {
  const std::string& id = b.meta.id;
  auto fail = [&](const std::string& step, const Status& s) -> Result<BackupPhase> {
    // A removal waits for a cluster that is away; a backup attempt that fails for any reason
    // is reported (the controller counts it and retries).
    if (Transient(s) && b.deleting) return BackupPhase{};
    log::Warn("backup step failed", {{"backup_id", id}, {"step", step}, {"error", s.ToString()}});
    BackupPhase p{api::BackupState::kError, step + " failed: " + s.ToString(), b.generation};
    if (!b.deleting) backup_results_[id] = p;
    return p;
  };
  const std::string snap = BackupSnapshot(id);
  const std::string src_image = VolumeImage(b.volume_id);
  const std::string dst_image = BackupImage(b.volume_id);
  auto dst = AnyPoolOf(b.target_pool_id, idx);
  auto src = AnyPoolOf(b.source_pool_id, idx);
  auto has = [](const std::vector<SnapshotInfo>& list, const std::string& name) {
    return std::any_of(list.begin(), list.end(), [&](const SnapshotInfo& i) { return i.name == name; });
  };

  if (b.deleting) {
    if (!dst.ok()) return fail("finding the target pool", dst.status());
    Status s = dst->storage->RemoveSnapshot(dst->pool, dst_image, snap);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return fail("removing the backup snapshot", s);
    // The target image goes with its last backup, unless another backup of the volume is
    // still to be written into it.
    auto left = dst->storage->ListSnapshots(dst->pool, dst_image);
    bool others = false;
    for (const auto& [bid, other] : idx.backups) {
      others = others || (bid != id && other->volume_id == b.volume_id && other->target_pool_id == b.target_pool_id &&
                          !other->deleting);
    }
    if (left.ok() && left->empty() && !others) {
      s = dst->storage->RemoveImage(dst->pool, dst_image);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return fail("removing the backup image", s);
    }
    if (src.ok()) {
      s = src->storage->RemoveSnapshot(src->pool, src_image, snap);  // the volume may be gone
      if (!s.ok() && s.code() != StatusCode::kNotFound) return fail("removing the volume's backup snapshot", s);
    }
    log::Info("backup removed", {{"backup_id", id}});
    return BackupPhase{api::BackupState::kDeleted, "", b.generation};
  }
  if (b.state != api::BackupState::kCreating) return BackupPhase{};
  if (auto it = backup_results_.find(id); it != backup_results_.end() && it->second.observed_generation == b.generation) {
    return it->second;  // this attempt is over; its report is sent (or sent again)
  }
  if (!src.ok()) return fail("finding the volume's pool", src.status());
  if (!dst.ok()) return fail("finding the target pool", dst.status());

  // 1. The point in time: the volume's snapshot (kept from an earlier attempt if there is one).
  auto src_snaps = src->storage->ListSnapshots(src->pool, src_image);
  if (!src_snaps.ok()) return fail("listing the volume's snapshots", src_snaps.status());
  if (!has(*src_snaps, snap)) {
    Status s = src->storage->CreateSnapshot(src->pool, src_image, snap, /*protect=*/false);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return fail("snapshotting the volume", s);
    src_snaps = src->storage->ListSnapshots(src->pool, src_image);
    if (!src_snaps.ok()) return fail("listing the volume's snapshots", src_snaps.status());
  }
  std::int64_t size = 0;
  for (const SnapshotInfo& i : *src_snaps) {
    if (i.name == snap) size = i.size_bytes;
  }

  // 2. The target image, at least as large.
  auto info = dst->storage->GetImage(dst->pool, dst_image);
  if (!info.ok() && info.status().code() == StatusCode::kNotFound) {
    Status s = dst->storage->CreateImage(dst->pool, dst_image, size);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return fail("creating the backup image", s);
    info = dst->storage->GetImage(dst->pool, dst_image);
  }
  if (!info.ok()) return fail("reading the backup image", info.status());
  if (info->size_bytes < size) {
    if (Status s = dst->storage->ResizeImage(dst->pool, dst_image, size); !s.ok()) return fail("growing the backup image", s);
  }
  auto dst_snaps = dst->storage->ListSnapshots(dst->pool, dst_image);
  if (!dst_snaps.ok()) return fail("listing the backup image's snapshots", dst_snaps.status());

  // 3. The data: only what changed since the parent when both sides still hold its snapshot.
  const std::string base = b.parent_backup_id.empty() ? "" : BackupSnapshot(b.parent_backup_id);
  bool incremental = !base.empty() && has(*src_snaps, base) && has(*dst_snaps, base);
  std::int64_t carried = 0;
  if (has(*dst_snaps, snap)) {
    incremental = !base.empty() && has(*dst_snaps, base);  // written before a crash: as it was then
  } else {
    auto copied = CopyDiff(*src, src_image, incremental ? base : "", snap, size, *dst, dst_image, !incremental);
    if (!copied.ok()) return fail("writing the backup", copied.status());
    carried = *copied;
    Status s = dst->storage->CreateSnapshot(dst->pool, dst_image, snap, /*protect=*/false);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return fail("snapshotting the backup", s);
  }
  // 4. The next diff starts from this snapshot: the parent's is no longer needed at the source.
  if (!base.empty() && has(*src_snaps, base)) {
    Status s = src->storage->RemoveSnapshot(src->pool, src_image, base);
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      log::Warn("cannot remove the previous backup snapshot", {{"backup_id", id}, {"error", s.ToString()}});
    }
  }
  log::Info("backup written", {{"backup_id", id}, {"incremental", incremental}, {"bytes", carried}});
  return backup_results_[id] = BackupPhase{api::BackupState::kAvailable, "", b.generation, incremental, carried};
}

// ---------------------------------------------------------------- reports

void StorageReconciler::Report(const api::Volume& v, const VolumePhase& p, StorageSummary& summary) {
  if (!p.state) return;
  if (*p.state != api::VolumeState::kDeleted && v.state == *p.state && v.state_reason == p.reason &&
      v.observed_generation == p.observed_generation && v.flattened == p.flattened) {
    last_volume_.erase(v.meta.id);
    return;
  }
  if (auto it = last_volume_.find(v.meta.id); it != last_volume_.end() && it->second == p) return;
  api::VolumeStatusReport r{*p.state, p.reason, p.observed_generation, p.flattened};
  ++summary.reports;
  if (Status s = controller_.ReportVolumeStatus(v.meta.id, r); !s.ok()) {
    ++summary.errors;
    log::Warn("volume status report failed", {{"volume_id", v.meta.id}, {"error", s.ToString()}});
    return;
  }
  if (*p.state == api::VolumeState::kDeleted) {
    last_volume_.erase(v.meta.id);
  } else {
    last_volume_[v.meta.id] = p;
  }
}

void StorageReconciler::Report(const api::VolumeSnapshot& snap, const SnapshotPhase& p, StorageSummary& summary) {
  if (!p.state) return;
  if (*p.state != api::SnapshotState::kDeleted && snap.state == *p.state && snap.state_reason == p.reason) {
    last_snapshot_.erase(snap.meta.id);
    return;
  }
  // The controller shows a deleting snapshot as `deleting` whatever else is reported.
  if (snap.deleting && *p.state == api::SnapshotState::kAvailable) return;
  if (auto it = last_snapshot_.find(snap.meta.id); it != last_snapshot_.end() && it->second == p) return;
  ++summary.reports;
  if (Status s = controller_.ReportSnapshotStatus(snap.volume_id, snap.meta.id, {*p.state, p.reason}); !s.ok()) {
    ++summary.errors;
    log::Warn("snapshot status report failed", {{"snapshot_id", snap.meta.id}, {"error", s.ToString()}});
    return;
  }
  if (*p.state == api::SnapshotState::kDeleted) {
    last_snapshot_.erase(snap.meta.id);
  } else {
    last_snapshot_[snap.meta.id] = p;
  }
}

void StorageReconciler::Report(const api::Image& i, const ImagePhase& p, StorageSummary& summary) {
  if (!p.state) return;
  const api::ImageStatusReport& r = p.report;
  if (*p.state != api::ImageState::kDeleted && i.state == *p.state && i.state_reason == r.state_reason &&
      i.observed_generation == r.observed_generation && i.content_sha256 == r.content_sha256 &&
      (r.virtual_size_bytes == 0 || i.virtual_size_bytes == r.virtual_size_bytes)) {
    last_image_.erase(i.meta.id);
    return;
  }
  if (auto it = last_image_.find(i.meta.id); it != last_image_.end() && it->second == p) return;
  ++summary.reports;
  if (Status s = controller_.ReportImageStatus(i.meta.id, r); !s.ok()) {
    ++summary.errors;
    log::Warn("image status report failed", {{"image_id", i.meta.id}, {"error", s.ToString()}});
    return;
  }
  if (*p.state == api::ImageState::kDeleted) {
    last_image_.erase(i.meta.id);
  } else {
    last_image_[i.meta.id] = p;
  }
}

void StorageReconciler::Report(const api::Backup& b, const BackupPhase& p, StorageSummary& summary) {
  if (!p.state) return;
  if (auto it = last_backup_.find(b.meta.id); it != last_backup_.end() && it->second == p) return;
  ++summary.reports;
  api::BackupStatusReport r{*p.state, p.reason, p.observed_generation, p.incremental, p.transferred_bytes};
  if (Status s = controller_.ReportBackupStatus(b.meta.id, r); !s.ok()) {
    ++summary.errors;
    log::Warn("backup status report failed", {{"backup_id", b.meta.id}, {"error", s.ToString()}});
    return;
  }
  if (*p.state == api::BackupState::kDeleted) {
    last_backup_.erase(b.meta.id);
  } else {
    last_backup_[b.meta.id] = p;
  }
}

// ---------------------------------------------------------------- the pass

Result<StorageSummary> StorageReconciler::Reconcile(const api::WatchAnswer& answer,
                                                    const VolumeAttachments& attached) {
  Index idx;
  for (const auto& p : answer.storage_pools) idx.pools[p.meta.id] = &p;
  for (const auto& v : answer.volumes) idx.volumes[v.meta.id] = &v;
  for (const auto& s : answer.snapshots) idx.snapshots[s.meta.id] = &s;
  for (const auto& i : answer.images) idx.images[i.meta.id] = &i;
  for (const auto& b : answer.backups) idx.backups[b.meta.id] = &b;

  // The pools of this cluster, measured: the heartbeat carries these.
  std::vector<api::StoragePoolReport> reports;
  Status unreachable = OkStatus();
  for (const api::StoragePool& p : answer.storage_pools) {
    BlockStorage* cluster = p.cluster == options_.cluster ? &storage_ : nullptr;
    if (auto other = options_.other_clusters.find(p.cluster); !cluster && other != options_.other_clusters.end()) {
      cluster = other->second;
    }
    if (cluster == nullptr) continue;
    api::StoragePoolReport r;
    r.pool_id = p.meta.id;
    auto stats = cluster->GetPoolStats(p.ceph_pool);
    if (stats.ok()) {
      r.reachable = true;
      r.stats.capacity_bytes = stats->capacity_bytes;
      r.stats.used_bytes = stats->used_bytes;
      r.stats.available_bytes = stats->available_bytes;
      r.stats.used_ratio = stats->used_ratio;
      r.stats.nearfull = stats->nearfull;
      r.stats.full = stats->full;
    } else {
      r.reason = stats.status().message();
      // Only this agent's own cluster being away stops the pass; another one (a backup
      // target) fails just the work that needs it.
      if (Transient(stats.status()) && cluster == &storage_) unreachable = stats.status();
    }
    reports.push_back(std::move(r));
  }
  pool_reports_ = std::move(reports);
  if (!unreachable.ok()) return unreachable.Annotate("ceph cluster " + options_.cluster);

  StorageSummary summary;
  std::set<std::string> volumes, snapshots, images, backups;
  // Images first (volumes are cloned from them), then volumes, then their snapshots.
  for (const api::Image& i : answer.images) {
    if (i.host_id != options_.host_id) continue;
    ++summary.images;
    images.insert(i.meta.id);
    GP_ASSIGN_OR_RETURN(ImagePhase p, ReconcileImage(i, idx));
    if (p.state == api::ImageState::kError) ++summary.errors;
    Report(i, p, summary);
  }
  for (const api::Volume& v : answer.volumes) {
    if (v.host_id != options_.host_id) continue;
    ++summary.volumes;
    volumes.insert(v.meta.id);
    GP_ASSIGN_OR_RETURN(VolumePhase p, ReconcileVolume(v, idx, attached));
    if (p.state == api::VolumeState::kError) ++summary.errors;
    Report(v, p, summary);
  }
  TellGuests();
  for (const api::VolumeSnapshot& s : answer.snapshots) {
    if (s.host_id != options_.host_id) continue;
    ++summary.snapshots;
    snapshots.insert(s.meta.id);
    GP_ASSIGN_OR_RETURN(SnapshotPhase p, ReconcileSnapshot(s, idx));
    if (p.state == api::SnapshotState::kError) ++summary.errors;
    Report(s, p, summary);
  }

  for (const api::Backup& b : answer.backups) {
    if (b.host_id != options_.host_id) continue;
    ++summary.backups;
    backups.insert(b.meta.id);
    GP_ASSIGN_OR_RETURN(BackupPhase p, ReconcileBackup(b, idx));
    if (p.state == api::BackupState::kError) ++summary.errors;
    Report(b, p, summary);
  }

  // Forget what is no longer ours (nothing in Ceph is touched for it).
  std::erase_if(last_volume_, [&](const auto& kv) { return !volumes.count(kv.first); });
  std::erase_if(rolled_back_, [&](const auto& kv) { return !volumes.count(kv.first); });
  std::erase_if(guest_resizes_, [&](const auto& kv) { return !volumes.count(kv.first); });
  std::erase_if(last_snapshot_, [&](const auto& kv) { return !snapshots.count(kv.first); });
  std::erase_if(last_image_, [&](const auto& kv) { return !images.count(kv.first); });
  std::erase_if(last_backup_, [&](const auto& kv) { return !backups.count(kv.first); });
  std::erase_if(backup_results_, [&](const auto& kv) { return !backups.count(kv.first); });
  return summary;
}

// ---------------------------------------------------------------- configuration helpers

namespace {

// Splits at any of `seps` outside brackets; empty pieces are dropped.
std::vector<std::string> SplitTop(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if (depth == 0 && seps.find(c) != std::string_view::npos) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// "v1:10.0.0.1:6789/0" -> "10.0.0.1:6789".
std::string BareAddress(std::string a) {
  if (a.rfind("v1:", 0) == 0 || a.rfind("v2:", 0) == 0) a = a.substr(3);
  if (const auto slash = a.rfind('/'); slash != std::string::npos) a.resize(slash);
  return a;
}

// A ceph.conf key with spaces, dashes and underscores made equal, lower case.
std::string NormalKey(std::string_view k) {
  std::string out;
  for (char c : Trim(k)) out += (c == ' ' || c == '-') ? '_' : static_cast<char>(std::tolower(c));
  return out;
}

}  // namespace

Result<std::vector<std::string>> ParseMonHosts(const std::string& ceph_conf_text) {
  std::istringstream in(ceph_conf_text);
  std::string line;
  while (std::getline(in, line)) {
    if (const auto c = line.find_first_of("#;"); c != std::string::npos) line.resize(c);
    const auto eq = line.find('=');
    if (eq == std::string::npos || NormalKey(line.substr(0, eq)) != "mon_host") continue;
    std::vector<std::string> hosts;
    for (const std::string& token : SplitTop(line.substr(eq + 1), ", \t\r")) {
      if (token.rfind("[v1:", 0) == 0 || token.rfind("[v2:", 0) == 0) {
        // An address vector: the v1 (legacy protocol) address, which every librbd speaks.
        const std::string inner = token.substr(1, token.size() - (token.back() == ']' ? 2 : 1));
        const std::vector<std::string> addrs = SplitTop(inner, ",");
        std::string pick;
        for (const std::string& a : addrs) {
          if (a.rfind("v1:", 0) == 0) pick = a;
        }
        if (pick.empty() && !addrs.empty()) pick = addrs.front();
        if (!pick.empty()) hosts.push_back(BareAddress(pick));
      } else {
        hosts.push_back(BareAddress(token));
      }
    }
    std::erase_if(hosts, [](const std::string& h) { return h.empty(); });
    if (hosts.empty()) return InvalidArgument("the ceph.conf `mon host` line names no monitor");
    return hosts;
  }
  return InvalidArgument("the ceph.conf has no `mon host` line");
}

Result<std::string> ParseKeyringKey(const std::string& keyring_text, const std::string& client_id) {
  std::istringstream in(keyring_text);
  std::string line;
  const std::string wanted = "client." + client_id;
  bool in_section = false;
  while (std::getline(in, line)) {
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      in_section = t.back() == ']' && Trim(t.substr(1, t.size() - 2)) == wanted;
      continue;
    }
    const auto eq = t.find('=');
    if (in_section && eq != std::string::npos && NormalKey(t.substr(0, eq)) == "key") {
      std::string key = Trim(t.substr(eq + 1));
      if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
      if (!key.empty()) return key;
    }
  }
  return NotFound("the keyring has no key for " + wanted);
}

}  // namespace govpool::agent
