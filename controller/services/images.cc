// Images: uploaded to the controller, imported into RBD by an agent (docs/storage.md).
#include "common/log.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"

namespace govpool::controller {
namespace {

using storage::FindVisibleImage;

// Who may change an image: admins; for private images, the department's admins.
Status RequireImageWriter(const Caller& c, const api::Image& i) {
  if (c.is_system_admin()) return OkStatus();
  if (i.visibility == api::Visibility::kPrivate && c.can_manage_department(i.department_id)) return OkStatus();
  return PermissionDenied("changing image '" + i.name + "' needs the system-admin role" +
                          (i.visibility == api::Visibility::kPrivate ? " or dept-admin of its department" : ""));
}

}  // namespace

Result<api::Image> CreateImage(State& s, Txn& t, const Caller& c, const api::CreateImageRequest& req) {
  api::Image i;
  i.name = req.name;
  i.format = req.format;
  i.sha256 = req.sha256;
  const api::Department* d = nullptr;
  if (req.department_id.empty()) {
    if (!c.is_system_admin()) return PermissionDenied("public images (no department_id) need the system-admin role");
    i.visibility = api::Visibility::kPublic;
  } else {
    d = s.FindDepartment(req.department_id);
    if (!d || !c.can_see_department(req.department_id)) {
      return NotFound("department " + req.department_id + " not found");
    }
    if (!c.can_manage_department(d->meta.id)) {
      return PermissionDenied("creating images needs the system-admin or dept-admin role");
    }
    i.department_id = d->meta.id;
    i.visibility = api::Visibility::kPrivate;
  }
  if (const api::Image* same = s.FindImageByName(i.department_id, i.name);
      same && same->department_id == i.department_id) {
    return AlreadyExists("an image named '" + i.name + "' already exists" +
                         (d ? " in department '" + d->name + "'" : " (public)"))
        .WithDetail("name", i.name);
  }
  // Its size is unknown until the upload ends: the pool only has to take one more GiB now.
  api::Department anyone;
  GP_ASSIGN_OR_RETURN(i.pool_id, storage::PlaceInPool(s, d ? *d : anyone, 1, req.pool, ""));
  s.Save(t, i);
  return i;
}

Result<api::Image> GetImage(const State& s, const Caller& c, const std::string& id_or_name) {
  GP_ASSIGN_OR_RETURN(const api::Image* i, FindVisibleImage(s, c, id_or_name));
  return *i;
}

Page<api::Image> ListImages(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(s.images(), o, [&](const api::Image& i) { return FindVisibleImage(s, c, i.meta.id).ok(); });
}

Result<api::Image> DeleteImage(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Image* found, FindVisibleImage(s, c, id));
  GP_RETURN_IF_ERROR(RequireImageWriter(c, *found));
  if (found->deleting) return *found;
  std::vector<std::string> clones;
  for (const std::string& vid : s.VolumesFromImage(found->meta.id)) {
    if (!s.FindVolume(vid)->flattened) clones.push_back(vid);
  }
  if (!clones.empty()) {
    return FailedPrecondition("image '" + found->name + "' seeds " + std::to_string(clones.size()) +
                              " volume(s) that still depend on it")
        .WithReason("HAS_DEPENDENTS")
        .WithDetail("volumes", clones);
  }
  api::Image i = *found;
  if (i.host_id.empty()) {
    // Never handed to an agent: nothing exists in Ceph (the route removes the staged upload).
    s.Remove<api::Image>(t, i.meta.id);
    i.deleting = true;
    i.state = api::ImageState::kDeleted;
    return i;
  }
  i.deleting = true;
  i.state = api::ImageState::kDeleting;
  ++i.generation;
  s.Save(t, i);
  return i;
}

Result<api::Image> BeginImageUpload(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Image* found, FindVisibleImage(s, c, id));
  GP_RETURN_IF_ERROR(RequireImageWriter(c, *found));
  if (found->deleting) return FailedPrecondition("image " + id + " is being deleted");
  const bool retry = found->state == api::ImageState::kError && found->host_id.empty();
  if (found->state != api::ImageState::kQueued && !retry) {
    return FailedPrecondition("image '" + found->name + "' is " + std::string(api::ToString(found->state)) +
                              "; data can be uploaded once, while it is queued");
  }
  api::Image i = *found;
  i.state = api::ImageState::kUploading;
  i.state_reason.clear();
  i.uploaded_bytes = 0;
  s.Save(t, i);
  return i;
}

Result<api::Image> FinishImageUpload(State& s, Txn& t, const Caller& c, const std::string& id,
                                     std::int64_t size_bytes, const std::string& sha256) {
  GP_ASSIGN_OR_RETURN(const api::Image* found, FindVisibleImage(s, c, id));
  if (found->state != api::ImageState::kUploading) {
    return FailedPrecondition("image " + id + " is not being uploaded");
  }
  api::Image i = *found;
  i.size_bytes = size_bytes;
  i.uploaded_bytes = size_bytes;
  if (!i.sha256.empty() && i.sha256 != sha256) {
    i.state = api::ImageState::kError;
    i.state_reason = "the upload's SHA-256 " + sha256 + " differs from the expected " + i.sha256;
    s.Save(t, i);
    return FailedPrecondition(i.state_reason).WithReason("IMAGE_CHECKSUM_MISMATCH");
  }
  i.sha256 = sha256;
  i.state = api::ImageState::kImporting;
  i.host_id = storage::ChooseStorageHost(s, i.pool_id);
  if (i.host_id.empty()) i.state_reason = "waiting for an agent that reaches the storage pool";
  s.Save(t, i);
  log::Info("image uploaded", {{"image_id", id}, {"size_bytes", size_bytes}, {"sha256", sha256}});
  return i;
}

Result<api::Image> FailImageUpload(State& s, Txn& t, const std::string& id, const std::string& reason) {
  const api::Image* found = s.FindImage(id);
  if (!found) return NotFound("image " + id + " not found");
  if (found->state != api::ImageState::kUploading) return *found;
  api::Image i = *found;
  i.state = api::ImageState::kError;
  i.state_reason = "upload failed: " + reason + " (upload again)";
  s.Save(t, i);
  return i;
}

std::int64_t FailInterruptedUploads(State& s, Txn& t) {
  std::vector<std::string> stale;
  for (const auto& [id, i] : s.images()) {
    if (i.state == api::ImageState::kUploading) stale.push_back(id);
  }
  for (const std::string& id : stale) {
    FailImageUpload(s, t, id, "the controller restarted during the upload").status().IgnoreError();
  }
  return static_cast<std::int64_t>(stale.size());
}

Result<api::Image> RecordImageUploadProgress(State& s, Txn& t, const std::string& id, std::int64_t bytes) {
  const api::Image* found = s.FindImage(id);
  if (!found) return NotFound("image " + id + " not found");
  if (found->state != api::ImageState::kUploading || found->uploaded_bytes == bytes) return *found;
  api::Image i = *found;
  i.uploaded_bytes = bytes;
  s.Save(t, i);
  return i;
}

Result<api::Image> VerifyImage(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Image* found, FindVisibleImage(s, c, id));
  GP_RETURN_IF_ERROR(RequireImageWriter(c, *found));
  if (found->host_id.empty() || found->deleting) {
    return FailedPrecondition("image '" + found->name + "' has not been imported");
  }
  api::Image i = *found;
  ++i.generation;
  s.Save(t, i);
  return i;
}

Result<api::Image> ReportImageStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                     const api::ImageStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report image status");
  const api::Image* found = s.FindImage(id);
  if (!found || (!c.is_system_admin() && !storage::IsAgentOf(s, c, found->host_id))) {
    return NotFound("image " + id + " not found");
  }
  api::Image i = *found;
  if (report.state == api::ImageState::kDeleted) {
    if (!i.deleting) return FailedPrecondition("image " + id + " is not being deleted");
    s.Remove<api::Image>(t, id);
    i.state = api::ImageState::kDeleted;
    return i;
  }
  i.state = i.deleting && report.state != api::ImageState::kError ? api::ImageState::kDeleting : report.state;
  i.state_reason = report.state_reason;
  i.imported_bytes = report.imported_bytes;
  if (report.virtual_size_bytes > 0) i.virtual_size_bytes = report.virtual_size_bytes;
  if (!report.content_sha256.empty()) {
    // A raw upload is the disk itself, so its content hash must equal the upload's. A qcow2
    // upload is converted: the first content hash recorded is the reference from then on.
    const bool first = i.content_sha256.empty();
    const std::string& reference = i.format == api::ImageFormat::kRaw ? i.sha256 : i.content_sha256;
    if (!first || i.format == api::ImageFormat::kRaw) {
      if (report.content_sha256 != reference) {
        i.state = api::ImageState::kError;
        i.state_reason = "content SHA-256 " + report.content_sha256 + " no longer matches the recorded " + reference;
      }
    }
    if (first) i.content_sha256 = report.content_sha256;
    if (i.state != api::ImageState::kError) i.verified_at_ms = t.now_ms();
  }
  i.observed_generation = std::max(i.observed_generation, std::min(report.observed_generation, i.generation));
  s.Save(t, i);
  return i;
}

}  // namespace govpool::controller
