// Storage pools (admins), the agents' reports on them, and the helpers every storage service
// shares (storage_internal.h).
#include <algorithm>

#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"
#include "scheduler/storage_placement.h"

namespace govpool::controller {
namespace storage {

std::int64_t GibFor(std::int64_t bytes) {
  return std::max<std::int64_t>(1, (bytes + kGiB - 1) / kGiB);
}

std::string ChooseStorageHost(const State& s, const std::string& pool_id, const std::string& preferred,
                              const std::string& also_pool) {
  std::vector<std::string> hosts = s.HostsReachingPool(pool_id);
  if (!also_pool.empty() && also_pool != pool_id) {
    const std::vector<std::string> also = s.HostsReachingPool(also_pool);
    std::erase_if(hosts, [&](const std::string& h) { return std::find(also.begin(), also.end(), h) == also.end(); });
  }
  if (hosts.empty()) return "";
  if (!preferred.empty() && std::find(hosts.begin(), hosts.end(), preferred) != hosts.end()) return preferred;
  std::sort(hosts.begin(), hosts.end());
  std::string best;
  std::size_t best_load = 0;
  for (const std::string& h : hosts) {
    const std::size_t load = s.VolumesOfHost(h).size() + s.ImagesOfHost(h).size() + s.BackupsOfHost(h).size();
    if (best.empty() || load < best_load) {
      best = h;
      best_load = load;
    }
  }
  return best;
}

Result<std::string> PlaceInPool(const State& s, const api::Department& d, std::int64_t size_gib,
                                const std::string& pool, const std::string& tier) {
  std::vector<scheduler::StoragePoolCandidate> candidates;
  candidates.reserve(s.storage_pools().size());
  for (const auto& [id, stored] : s.storage_pools()) {
    const api::StoragePool p = s.RenderStoragePool(stored);
    scheduler::StoragePoolCandidate c;
    c.id = id;
    c.name = p.name;
    c.tiers = p.tiers;
    c.enabled = p.enabled;
    c.reachable = p.hosts > 0;
    c.stats_known = p.stats.reported_at_ms > 0;
    c.capacity_bytes = p.stats.capacity_bytes;
    c.used_ratio = p.stats.used_ratio;
    c.ceph_nearfull = p.stats.nearfull;
    c.ceph_full = p.stats.full;
    c.nearfull_ratio = p.nearfull_ratio;
    c.provisioning_ratio = p.provisioning_ratio;
    c.allocated_gib = p.allocated_gib;
    candidates.push_back(std::move(c));
  }
  scheduler::StorageRequest req;
  req.size_gib = size_gib;
  req.tier = tier;
  req.allowed = d.allowed_storage_pools;
  req.pool = pool;
  scheduler::StoragePlacement placed = scheduler::PlaceVolume(candidates, req);
  if (placed.placed) return placed.pool_id;
  if (!pool.empty() && !s.FindStoragePool(pool)) {
    return InvalidArgument("storage pool '" + pool + "' does not exist").WithDetail("field", "pool");
  }
  return ResourceExhausted(placed.summary)
      .WithReason(placed.reason)
      .WithDetail("pools_total", static_cast<std::int64_t>(candidates.size()))
      .WithDetail("rejected", placed.rejected);
}

bool IsAgentOf(const State& s, const Caller& c, const std::string& host_id) {
  if (!c.is_agent()) return false;
  const api::Host* h = s.FindHost(host_id);
  return h && h->agent_user_id == c.user_id;
}

Result<const api::Volume*> FindVisibleVolume(const State& s, const Caller& c, const std::string& id) {
  const api::Volume* v = s.FindVolume(id);
  if (v && (c.can_see_department(v->department_id) || IsAgentOf(s, c, v->host_id))) return v;
  return NotFound("volume " + id + " not found");
}

Result<const api::Image*> FindVisibleImage(const State& s, const Caller& c, const std::string& id_or_name,
                                           const std::string& department_id) {
  const api::Image* i = s.FindImage(id_or_name);
  if (!i) i = s.FindImageByName(department_id.empty() ? c.department_id : department_id, id_or_name);
  if (!i && c.is_system_admin() && department_id.empty()) {
    // Admins belong to no department: a name then means the one image of that name, if only
    // one department has it (ids are unambiguous; names are per department).
    const api::Image* only = nullptr;
    for (const auto& [id, image] : s.images()) {
      if (image.name != id_or_name) continue;
      if (only) {
        return InvalidArgument("several departments have an image named '" + id_or_name + "'; use its id")
            .WithDetail("field", "image");
      }
      only = &image;
    }
    i = only;
  }
  if (i && (i->visibility == api::Visibility::kPublic || c.can_see_department(i->department_id) ||
            IsAgentOf(s, c, i->host_id) || c.is_agent())) {
    return i;
  }
  return NotFound("image " + id_or_name + " not found");
}

void MoveVolumeWork(State& s, Txn& t, api::Volume& v, const std::string& host_id) {
  if (v.host_id == host_id) return;
  v.host_id = host_id;
  for (const std::string& sid : std::set<std::string>(s.SnapshotsOfVolume(v.meta.id))) {
    api::VolumeSnapshot snap = *s.FindSnapshot(sid);
    snap.host_id = host_id;
    s.Save(t, snap);
  }
}

void ReleaseVmVolumes(State& s, Txn& t, const std::string& vm_id) {
  for (const std::string& id : std::set<std::string>(s.VolumesOfVm(vm_id))) {
    api::Volume v = *s.FindVolume(id);
    v.vm_id.clear();
    v.device.clear();
    ++v.generation;
    if (v.boot) {
      const api::Host* h = s.FindHost(v.host_id);
      if (!h || h->agent_user_id.empty()) {
        // A host without an agent (a simulation) never made the disk.
        for (const std::string& sid : std::set<std::string>(s.SnapshotsOfVolume(id))) {
          s.Remove<api::VolumeSnapshot>(t, sid);
        }
        s.Remove<api::Volume>(t, id);
        continue;
      }
      v.deleting = true;
      v.state = api::VolumeState::kDeleting;
    }
    s.Save(t, v);
  }
}

Status CheckImageUsable(const api::Image& image) {
  if (image.state == api::ImageState::kAvailable) return OkStatus();
  // Every checksum failure (upload, import, verify) says "SHA-256" in its reason.
  if (image.state == api::ImageState::kError && image.state_reason.find("SHA-256") != std::string::npos) {
    return FailedPrecondition("image '" + image.name + "': " + image.state_reason)
        .WithReason("IMAGE_CHECKSUM_MISMATCH");
  }
  return FailedPrecondition("image '" + image.name + "' is " + std::string(api::ToString(image.state)) +
                            (image.state_reason.empty() ? "" : " (" + image.state_reason + ")") +
                            ", not available")
      .WithReason("IMAGE_NOT_READY");
}

}  // namespace storage

Result<api::StoragePool> CreateStoragePool(State& s, Txn& t, const Caller& c,
                                           const api::CreateStoragePoolRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  if (s.FindStoragePool(req.name)) {
    return AlreadyExists("a storage pool named '" + req.name + "' already exists").WithDetail("name", req.name);
  }
  api::StoragePool p;
  p.name = req.name;
  p.cluster = req.cluster;
  p.ceph_pool = req.ceph_pool.empty() ? req.name : req.ceph_pool;
  for (const auto& [id, other] : s.storage_pools()) {
    if (other.cluster == p.cluster && other.ceph_pool == p.ceph_pool) {
      return AlreadyExists("Ceph pool '" + p.ceph_pool + "' of cluster '" + p.cluster +
                           "' is already storage pool '" + other.name + "'")
          .WithDetail("field", "ceph_pool");
    }
  }
  p.tiers = req.tiers;
  p.provisioning_ratio = req.provisioning_ratio;
  p.nearfull_ratio = req.nearfull_ratio;
  s.Save(t, p);
  return s.RenderStoragePool(p);
}

Result<api::StoragePool> GetStoragePool(const State& s, const Caller&, const std::string& id_or_name) {
  const api::StoragePool* p = s.FindStoragePool(id_or_name);
  if (!p) return NotFound("storage pool " + id_or_name + " not found");
  return s.RenderStoragePool(*p);
}

Page<api::StoragePool> ListStoragePools(const State& s, const Caller&, const ListOptions& o) {
  return PageOf(
      s.storage_pools(), o, [](const api::StoragePool&) { return true; },
      [&](const api::StoragePool& p) { return s.RenderStoragePool(p); });
}

Result<api::StoragePool> PatchStoragePool(State& s, Txn& t, const Caller& c, const std::string& id,
                                          const std::optional<std::int64_t>& if_match,
                                          const api::PatchStoragePoolRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::StoragePool* found = s.FindStoragePool(id);
  if (!found) return NotFound("storage pool " + id + " not found");
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "storage pool " + id));
  api::StoragePool p = *found;
  if (req.tiers) p.tiers = *req.tiers;
  if (req.provisioning_ratio) p.provisioning_ratio = *req.provisioning_ratio;
  if (req.nearfull_ratio) p.nearfull_ratio = *req.nearfull_ratio;
  if (req.enabled) p.enabled = *req.enabled;
  s.Save(t, p);
  return s.RenderStoragePool(p);
}

Status DeleteStoragePool(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::StoragePool* p = s.FindStoragePool(id);
  if (!p) return NotFound("storage pool " + id + " not found");
  std::int64_t images = 0;
  for (const auto& [image_id, i] : s.images()) images += i.pool_id == p->meta.id ? 1 : 0;
  const std::int64_t volumes = s.PoolVolumeCount(p->meta.id);
  if (volumes > 0 || images > 0) {
    return FailedPrecondition("storage pool '" + p->name + "' still holds " + std::to_string(volumes) +
                              " volume(s) and " + std::to_string(images) + " image(s)")
        .WithReason("HAS_DEPENDENTS")
        .WithDetail("volumes", volumes)
        .WithDetail("images", images);
  }
  s.Remove<api::StoragePool>(t, p->meta.id);
  return OkStatus();
}

Status ReportStoragePools(State& s, Txn& t, const Caller& c, const std::string& host_id,
                          const std::vector<api::StoragePoolReport>& reports) {
  if (!c.is_system_admin() && !storage::IsAgentOf(s, c, host_id)) {
    return PermissionDenied("only the host's agent reports its storage pools");
  }
  if (!s.FindHost(host_id)) return NotFound("host " + host_id + " not found");
  s.ReportStoragePools(host_id, t.now_ms(), reports);
  return OkStatus();
}

void AddStorageWork(const State& s, const std::string& host_id, api::WatchAnswer& out) {
  std::set<std::string> images, snapshots, backups;
  for (const std::string& id : s.VolumesOfHost(host_id)) {
    const api::Volume& v = *s.FindVolume(id);
    out.volumes.push_back(v);
    if (!v.source_image_id.empty()) images.insert(v.source_image_id);
    if (!v.source_snapshot_id.empty()) snapshots.insert(v.source_snapshot_id);
    if (!v.source_backup_id.empty()) backups.insert(v.source_backup_id);
  }
  for (const std::string& id : s.BackupsOfHost(host_id)) backups.insert(id);
  for (const std::string& id : backups) {
    if (const api::Backup* b = s.FindBackup(id)) out.backups.push_back(*b);
  }
  // Volumes attached to this host's VMs whose work another host still holds (a move in
  // flight) are needed to define the domains' disks.
  for (const api::Vm& vm : out.items) {
    for (const std::string& id : s.VolumesOfVm(vm.meta.id)) {
      const api::Volume& v = *s.FindVolume(id);
      if (v.host_id != host_id) out.volumes.push_back(v);
    }
  }
  for (const std::string& id : s.SnapshotsOfHost(host_id)) snapshots.insert(id);
  for (const std::string& id : s.ImagesOfHost(host_id)) images.insert(id);
  for (const std::string& id : snapshots) {
    if (const api::VolumeSnapshot* snap = s.FindSnapshot(id)) out.snapshots.push_back(*snap);
  }
  for (const std::string& id : images) {
    if (const api::Image* i = s.FindImage(id)) out.images.push_back(*i);
  }
  const api::Host* h = s.FindHost(host_id);
  if (!h) return;
  for (const auto& [id, p] : s.storage_pools()) {
    if (std::find(h->storage_clusters.begin(), h->storage_clusters.end(), p.cluster) !=
        h->storage_clusters.end()) {
      out.storage_pools.push_back(s.RenderStoragePool(p));
    }
  }
}

std::int64_t ReassignStorageWork(State& s, Txn& t) {
  // Only the work of silent hosts (and work no agent took yet) is looked at: indexed by host.
  std::vector<std::string> silent{""};
  for (const auto& [id, h] : s.hosts()) {
    if (h.status != api::HostStatus::kUp) silent.push_back(id);
  }
  std::int64_t moved = 0;
  for (const std::string& from : silent) {
    for (const std::string& id : std::set<std::string>(s.VolumesOfHost(from))) {
      api::Volume v = *s.FindVolume(id);
      if (!v.vm_id.empty()) continue;  // attached volumes stay with their VM's host
      // A restore still to be done reads its backup's pool too (as RestoreBackup chose).
      std::string also_pool;
      if (!v.source_backup_id.empty() && v.state == api::VolumeState::kCreating) {
        if (const api::Backup* b = s.FindBackup(v.source_backup_id)) also_pool = b->target_pool_id;
      }
      const std::string host = storage::ChooseStorageHost(s, v.pool_id, "", also_pool);
      if (host.empty()) continue;
      storage::MoveVolumeWork(s, t, v, host);
      s.Save(t, v);
      ++moved;
    }
    for (const std::string& id : std::set<std::string>(s.ImagesOfHost(from))) {
      api::Image i = *s.FindImage(id);
      // Images not uploaded yet have no work; their agent is chosen when the upload ends.
      if (i.state == api::ImageState::kQueued || i.state == api::ImageState::kUploading) continue;
      if (from.empty() && i.state == api::ImageState::kError) continue;
      const std::string host = storage::ChooseStorageHost(s, i.pool_id);
      if (host.empty()) continue;
      i.host_id = host;
      if (i.state == api::ImageState::kImporting) i.state_reason.clear();
      s.Save(t, i);
      ++moved;
    }
    for (const std::string& id : std::set<std::string>(s.BackupsOfHost(from))) {
      api::Backup b = *s.FindBackup(id);
      if (!b.deleting && b.state != api::BackupState::kCreating) continue;  // no work left
      // A deletion needs the target; a backup needs both pools.
      const std::string host = b.deleting ? storage::ChooseStorageHost(s, b.target_pool_id)
                                          : storage::ChooseStorageHost(s, b.source_pool_id, "", b.target_pool_id);
      if (host.empty() || host == b.host_id) continue;
      b.host_id = host;
      s.Save(t, b);
      ++moved;
    }
  }
  return moved;
}

}  // namespace govpool::controller
