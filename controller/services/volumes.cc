// Volumes and their snapshots: desired state the agents converge (docs/storage.md).
#include <algorithm>

#include "common/log.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"

namespace govpool::controller {
namespace {

using storage::FindVisibleVolume;

// Volumes cloned from `snapshot_id` that still depend on it.
std::vector<std::string> DependentClones(const State& s, const std::string& snapshot_id) {
  std::vector<std::string> out;
  for (const std::string& id : s.VolumesFromSnapshot(snapshot_id)) {
    if (!s.FindVolume(id)->flattened) out.push_back(id);
  }
  return out;
}

Status HasDependents(const std::string& what, const std::vector<std::string>& clones) {
  return FailedPrecondition(what + " has " + std::to_string(clones.size()) +
                            " dependent clone(s); delete them or ask to flatten them (flatten=true)")
      .WithReason("HAS_DEPENDENTS")
      .WithDetail("volumes", clones);
}

// Asks every clone to copy its parent's data, so the parent can go.
void FlattenClones(State& s, Txn& t, const std::vector<std::string>& clones) {
  for (const std::string& id : clones) {
    api::Volume v = *s.FindVolume(id);
    if (v.flatten) continue;
    v.flatten = true;
    ++v.generation;
    s.Save(t, v);
  }
}

Result<const api::VolumeSnapshot*> FindSnapshotOf(const State& s, const api::Volume& v,
                                                 const std::string& snapshot_id) {
  const api::VolumeSnapshot* snap = s.FindSnapshot(snapshot_id);
  if (!snap || snap->volume_id != v.meta.id) {
    return NotFound("snapshot " + snapshot_id + " of volume " + v.meta.id + " not found");
  }
  return snap;
}

// The first free virtio disk after the root disk. vdz is the agent's cloud-init seed disk
// (docs/agent.md), so volumes get vdb..vdy.
Result<std::string> NextDevice(const State& s, const std::string& vm_id) {
  std::set<std::string> taken{"vda"};
  for (const std::string& id : s.VolumesOfVm(vm_id)) taken.insert(s.FindVolume(id)->device);
  for (char c = 'b'; c <= 'y'; ++c) {
    std::string dev = std::string("vd") + c;
    if (!taken.count(dev)) return dev;
  }
  return FailedPrecondition("vm " + vm_id + " already has 24 volumes attached");
}

}  // namespace

Result<api::Volume> CreateVolume(State& s, Txn& t, const Caller& c, const api::CreateVolumeRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) {
    return NotFound("department " + req.department_id + " not found");
  }
  GP_RETURN_IF_ERROR(RequireManage(c, d->meta.id, "creating volumes"));
  if (s.VolumeNameTaken(d->meta.id, req.name)) {
    return AlreadyExists("a volume named '" + req.name + "' already exists in department '" + d->name + "'")
        .WithDetail("name", req.name);
  }
  api::Volume v;
  v.name = req.name;
  v.department_id = d->meta.id;
  v.size_gib = req.size_gib;
  std::string pool = req.pool;
  std::int64_t min_gib = 1;
  if (!req.image.empty()) {
    GP_ASSIGN_OR_RETURN(const api::Image* image, storage::FindVisibleImage(s, c, req.image, d->meta.id));
    GP_RETURN_IF_ERROR(storage::CheckImageUsable(*image));
    v.source_image_id = image->meta.id;
    min_gib = storage::GibFor(image->virtual_size_bytes);
    pool = image->pool_id;  // a clone lives beside its parent
  } else if (!req.snapshot.empty()) {
    const api::VolumeSnapshot* snap = s.FindSnapshot(req.snapshot);
    if (!snap || !c.can_see_department(snap->department_id) || snap->department_id != d->meta.id) {
      return InvalidArgument("snapshot " + req.snapshot + " does not exist in this department")
          .WithDetail("field", "snapshot");
    }
    if (snap->state != api::SnapshotState::kAvailable || snap->deleting) {
      return FailedPrecondition("snapshot '" + snap->name + "' is " + std::string(api::ToString(snap->state)) +
                                ", not available");
    }
    v.source_snapshot_id = snap->meta.id;
    min_gib = std::max<std::int64_t>(1, snap->size_gib);
    pool = snap->pool_id;
  }
  if (!req.pool.empty() && pool != req.pool) {
    const api::StoragePool* asked = s.FindStoragePool(req.pool);
    if (!asked || asked->meta.id != pool) {
      return InvalidArgument("a clone lives in its source's storage pool; leave pool empty")
          .WithDetail("field", "pool");
    }
  }
  if (v.size_gib == 0) v.size_gib = min_gib;
  if (v.size_gib < min_gib) {
    return InvalidArgument("size_gib " + std::to_string(v.size_gib) + " is smaller than the source (" +
                           std::to_string(min_gib) + " GiB)")
        .WithDetail("field", "size_gib");
  }
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(v), 1));
  GP_ASSIGN_OR_RETURN(v.pool_id, storage::PlaceInPool(s, *d, v.size_gib, pool, req.tier));
  v.host_id = storage::ChooseStorageHost(s, v.pool_id);
  s.Save(t, v);
  log::Info("volume created", {{"volume_id", v.meta.id}, {"pool_id", v.pool_id}, {"size_gib", v.size_gib}});
  return v;
}

Result<api::Volume> GetVolume(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindVisibleVolume(s, c, id));
  return *v;
}

Page<api::Volume> ListVolumes(const State& s, const Caller& c, const VolumeFilter& f, const ListOptions& o) {
  return PageOf(s.volumes(), o, [&](const api::Volume& v) {
    if (!f.department_id.empty() && v.department_id != f.department_id) return false;
    if (!f.vm_id.empty() && v.vm_id != f.vm_id) return false;
    if (!f.pool_id.empty() && v.pool_id != f.pool_id) return false;
    return FindVisibleVolume(s, c, v.meta.id).ok();
  });
}

Result<api::Volume> DeleteVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const std::optional<std::int64_t>& if_match, bool flatten) {
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "deleting volumes"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "volume " + id));
  if (!found->vm_id.empty()) {
    return FailedPrecondition("volume '" + found->name + "' is attached to vm " + found->vm_id +
                              (found->boot ? " as its root disk; delete the VM" : "; detach it first"))
        .WithReason("VOLUME_IN_USE")
        .WithDetail("vm_id", found->vm_id);
  }
  if (found->deleting) return *found;
  for (const std::string& bid : s.BackupsOfVolume(id)) {
    const api::Backup* b = s.FindBackup(bid);
    if (b->state == api::BackupState::kCreating && !b->deleting) {
      return FailedPrecondition("volume '" + found->name + "' has a backup in progress (" + bid +
                                "); delete it after the backup ends, or delete the backup")
          .WithReason("BACKUP_IN_PROGRESS")
          .WithDetail("backup_id", bid);
    }
  }
  std::vector<std::string> clones;
  for (const std::string& sid : s.SnapshotsOfVolume(id)) {
    for (const std::string& clone : DependentClones(s, sid)) clones.push_back(clone);
  }
  if (!clones.empty() && !flatten) return HasDependents("volume '" + found->name + "'", clones);
  FlattenClones(s, t, clones);
  api::Volume v = *found;
  if (v.host_id.empty() && v.observed_generation == 0) {
    // No agent ever took it: nothing exists in Ceph.
    for (const std::string& sid : std::set<std::string>(s.SnapshotsOfVolume(id))) s.Remove<api::VolumeSnapshot>(t, sid);
    s.Remove<api::Volume>(t, id);
    v.deleting = true;
    v.state = api::VolumeState::kDeleted;
    return v;
  }
  v.deleting = true;
  v.state = api::VolumeState::kDeleting;
  ++v.generation;
  s.Save(t, v);
  return v;
}

Result<api::Volume> ResizeVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const api::ResizeVolumeRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "resizing volumes"));
  if (found->deleting) return FailedPrecondition("volume " + id + " is being deleted");
  if (req.size_gib < found->size_gib) {
    return InvalidArgument("volumes only grow: " + std::to_string(req.size_gib) + " GiB is smaller than " +
                           std::to_string(found->size_gib) + " GiB")
        .WithDetail("field", "size_gib");
  }
  if (req.size_gib == found->size_gib) return *found;
  const api::Department* d = s.FindDepartment(found->department_id);
  const std::int64_t growth = req.size_gib - found->size_gib;
  api::Volume delta;
  delta.size_gib = growth;
  api::Quota per = QuotaUsageOf(delta);
  per.volumes = 0;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, per, 1));
  GP_RETURN_IF_ERROR(storage::PlaceInPool(s, *d, growth, found->pool_id, "").status());
  api::Volume v = *found;
  v.size_gib = req.size_gib;
  ++v.generation;
  s.Save(t, v);
  return v;
}

Result<api::Volume> AttachVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const api::AttachVolumeRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "attaching volumes"));
  if (found->vm_id == req.vm_id) return *found;  // already attached there
  if (!found->vm_id.empty()) {
    return FailedPrecondition("volume '" + found->name + "' is attached to vm " + found->vm_id)
        .WithReason("VOLUME_IN_USE")
        .WithDetail("vm_id", found->vm_id);
  }
  if (found->deleting || found->state != api::VolumeState::kAvailable) {
    return FailedPrecondition("volume '" + found->name + "' is " + std::string(api::ToString(found->state)) +
                              ", not available");
  }
  if (!found->rollback_snapshot_id.empty()) {
    return FailedPrecondition("volume '" + found->name + "' is being rolled back");
  }
  const api::Vm* vm = s.FindVm(req.vm_id);
  if (!vm || vm->department_id != found->department_id) {
    return InvalidArgument("vm " + req.vm_id + " does not exist in the volume's department")
        .WithDetail("field", "vm_id");
  }
  if (vm->deleting) return FailedPrecondition("vm " + req.vm_id + " is being deleted");
  const std::vector<std::string> reached = s.ReachedStoragePools(vm->host_id);
  if (std::find(reached.begin(), reached.end(), found->pool_id) == reached.end()) {
    const api::Host* h = s.FindHost(vm->host_id);
    return FailedPrecondition("the VM's host " + (h ? h->name : vm->host_id) +
                              " does not reach the volume's storage pool")
        .WithDetail("pool_id", found->pool_id);
  }
  GP_ASSIGN_OR_RETURN(std::string device, NextDevice(s, vm->meta.id));
  api::Volume v = *found;
  v.vm_id = vm->meta.id;
  v.device = device;
  ++v.generation;
  storage::MoveVolumeWork(s, t, v, vm->host_id);
  s.Save(t, v);
  return v;
}

Result<api::Volume> DetachVolume(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "detaching volumes"));
  if (found->vm_id.empty()) return *found;
  if (found->boot) {
    return FailedPrecondition("volume '" + found->name + "' is the root disk of vm " + found->vm_id)
        .WithReason("VOLUME_IN_USE");
  }
  api::Volume v = *found;
  v.vm_id.clear();
  v.device.clear();
  ++v.generation;
  s.Save(t, v);  // the VM's host keeps the work: its agent unplugs, then reports available
  return v;
}

Result<api::Volume> ReportVolumeStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                       const api::VolumeStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report volume status");
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, id));
  if (report.observed_generation > found->generation) {
    return InvalidArgument("observed_generation " + std::to_string(report.observed_generation) +
                           " is ahead of the volume's generation " + std::to_string(found->generation));
  }
  api::Volume v = *found;
  if (report.state == api::VolumeState::kDeleted) {
    if (!v.deleting) return FailedPrecondition("volume " + id + " is not being deleted");
    if (report.observed_generation < v.generation) {
      return FailedPrecondition("the cleanup report is for an older generation of volume " + id);
    }
    for (const std::string& sid : std::set<std::string>(s.SnapshotsOfVolume(id))) {
      s.Remove<api::VolumeSnapshot>(t, sid);
    }
    s.Remove<api::Volume>(t, id);
    v.state = api::VolumeState::kDeleted;
    log::Info("volume deleted", {{"volume_id", id}, {"pool_id", v.pool_id}});
    return v;
  }
  if (v.state == report.state && v.state_reason == report.state_reason &&
      v.observed_generation == report.observed_generation && v.flattened == report.flattened) {
    return v;  // nothing new: no write
  }
  v.state = report.state;
  v.state_reason = report.state_reason;
  v.observed_generation = report.observed_generation;
  v.flattened = v.flattened || report.flattened;
  if (report.observed_generation == v.generation && report.state != api::VolumeState::kError) {
    v.rollback_snapshot_id.clear();  // done
  }
  s.Save(t, v);
  return v;
}

// ---- Snapshots ----

Result<api::VolumeSnapshot> CreateSnapshot(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                           const api::CreateSnapshotRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindVisibleVolume(s, c, volume_id));
  GP_RETURN_IF_ERROR(RequireManage(c, v->department_id, "creating snapshots"));
  if (v->deleting) return FailedPrecondition("volume " + volume_id + " is being deleted");
  if (v->state != api::VolumeState::kAvailable && v->state != api::VolumeState::kInUse) {
    return FailedPrecondition("volume '" + v->name + "' is " + std::string(api::ToString(v->state)) +
                              "; snapshots need an available or in-use volume");
  }
  for (const std::string& sid : s.SnapshotsOfVolume(volume_id)) {
    if (s.FindSnapshot(sid)->name == req.name) {
      return AlreadyExists("volume '" + v->name + "' already has a snapshot named '" + req.name + "'")
          .WithDetail("name", req.name);
    }
  }
  const api::Department* d = s.FindDepartment(v->department_id);
  api::VolumeSnapshot snap;
  snap.name = req.name;
  snap.volume_id = volume_id;
  snap.department_id = v->department_id;
  snap.pool_id = v->pool_id;
  snap.size_gib = v->size_gib;
  snap.host_id = v->host_id;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(snap), 1));
  s.Save(t, snap);
  return snap;
}

Result<api::VolumeSnapshot> GetSnapshot(const State& s, const Caller& c, const std::string& volume_id,
                                        const std::string& snapshot_id) {
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindVisibleVolume(s, c, volume_id));
  GP_ASSIGN_OR_RETURN(const api::VolumeSnapshot* snap, FindSnapshotOf(s, *v, snapshot_id));
  return *snap;
}

Page<api::VolumeSnapshot> ListSnapshots(const State& s, const Caller& c, const std::string& volume_id,
                                        const ListOptions& o) {
  const bool visible = FindVisibleVolume(s, c, volume_id).ok();
  return PageOf(s.snapshots(), o, [&](const api::VolumeSnapshot& snap) {
    return visible && snap.volume_id == volume_id;
  });
}

Result<api::VolumeSnapshot> DeleteSnapshot(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                           const std::string& snapshot_id, bool flatten) {
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindVisibleVolume(s, c, volume_id));
  GP_RETURN_IF_ERROR(RequireManage(c, v->department_id, "deleting snapshots"));
  GP_ASSIGN_OR_RETURN(const api::VolumeSnapshot* found, FindSnapshotOf(s, *v, snapshot_id));
  if (found->deleting) return *found;
  if (v->rollback_snapshot_id == snapshot_id) {
    return FailedPrecondition("volume '" + v->name + "' is being rolled back to this snapshot");
  }
  const std::vector<std::string> clones = DependentClones(s, snapshot_id);
  if (!clones.empty() && !flatten) return HasDependents("snapshot '" + found->name + "'", clones);
  FlattenClones(s, t, clones);
  api::VolumeSnapshot snap = *found;
  if (snap.host_id.empty() && snap.state == api::SnapshotState::kCreating) {
    s.Remove<api::VolumeSnapshot>(t, snapshot_id);
    snap.state = api::SnapshotState::kDeleted;
    return snap;
  }
  snap.deleting = true;
  snap.flatten_children = !clones.empty();
  snap.state = api::SnapshotState::kDeleting;
  s.Save(t, snap);
  return snap;
}

Result<api::Volume> RollbackVolume(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                   const std::string& snapshot_id) {
  GP_ASSIGN_OR_RETURN(const api::Volume* found, FindVisibleVolume(s, c, volume_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "rolling volumes back"));
  GP_ASSIGN_OR_RETURN(const api::VolumeSnapshot* snap, FindSnapshotOf(s, *found, snapshot_id));
  if (!found->vm_id.empty()) {
    return FailedPrecondition("volume '" + found->name + "' is attached to vm " + found->vm_id +
                              "; roll back only while detached")
        .WithReason("VOLUME_IN_USE")
        .WithDetail("vm_id", found->vm_id);
  }
  if (found->deleting) return FailedPrecondition("volume " + volume_id + " is being deleted");
  if (snap->deleting || snap->state != api::SnapshotState::kAvailable) {
    return FailedPrecondition("snapshot '" + snap->name + "' is " + std::string(api::ToString(snap->state)) +
                              ", not available");
  }
  api::Volume v = *found;
  v.rollback_snapshot_id = snapshot_id;
  ++v.generation;
  s.Save(t, v);
  return v;
}

Result<api::VolumeSnapshot> ReportSnapshotStatus(State& s, Txn& t, const Caller& c,
                                                 const std::string& volume_id, const std::string& snapshot_id,
                                                 const api::SnapshotStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report snapshot status");
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindVisibleVolume(s, c, volume_id));
  GP_ASSIGN_OR_RETURN(const api::VolumeSnapshot* found, FindSnapshotOf(s, *v, snapshot_id));
  api::VolumeSnapshot snap = *found;
  if (report.state == api::SnapshotState::kDeleted) {
    if (!snap.deleting) return FailedPrecondition("snapshot " + snapshot_id + " is not being deleted");
    // Clones that were flattened for it no longer depend on anything.
    s.Remove<api::VolumeSnapshot>(t, snapshot_id);
    snap.state = api::SnapshotState::kDeleted;
    return snap;
  }
  if (snap.state == report.state && snap.state_reason == report.state_reason) return snap;
  if (snap.deleting && report.state != api::SnapshotState::kError) {
    snap.state = api::SnapshotState::kDeleting;
  } else {
    snap.state = report.state;
  }
  snap.state_reason = report.state_reason;
  s.Save(t, snap);
  return snap;
}

}  // namespace govpool::controller
