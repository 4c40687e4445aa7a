// Backup policies and backups: desired state a storage agent converges (docs/storage.md,
// "Backups"). The controller decides what is backed up when, into which pool, from which
// parent, and how often a failed run is retried; the agent moves the data.
#include <algorithm>
#include <ctime>
#include <vector>

#include "common/log.h"
#include "controller/services/backup_schedule.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"

namespace govpool::controller {
namespace {

using storage::FindVisibleVolume;

Result<const api::BackupPolicy*> FindVisiblePolicy(const State& s, const Caller& c, const std::string& id) {
  const api::BackupPolicy* p = s.FindBackupPolicy(id);
  if (!p || !c.can_see_department(p->department_id)) return NotFound("backup policy " + id + " not found");
  return p;
}

Result<const api::Backup*> FindVisibleBackup(const State& s, const Caller& c, const std::string& id) {
  const api::Backup* b = s.FindBackup(id);
  if (!b) return NotFound("backup " + id + " not found");
  if (c.is_agent()) {
    if (!storage::IsAgentOf(s, c, b->host_id)) return NotFound("backup " + id + " not found");
    return b;
  }
  if (!c.can_see_department(b->department_id)) return NotFound("backup " + id + " not found");
  return b;
}

// A target pool given by id or name (InvalidArgument naming `field` otherwise).
Result<const api::StoragePool*> FindTargetPool(const State& s, const std::string& id_or_name,
                                               const std::string& field) {
  const api::StoragePool* p = s.FindStoragePool(id_or_name);
  if (!p) return InvalidArgument("storage pool '" + id_or_name + "' not found").WithDetail("field", field);
  return p;
}

// A volume of department `department_id` by id, or by name within it.
Result<const api::Volume*> FindDepartmentVolume(const State& s, const Caller& c, const std::string& id_or_name,
                                                const std::string& department_id) {
  if (auto v = FindVisibleVolume(s, c, id_or_name); v.ok()) {
    if (department_id.empty() || (*v)->department_id == department_id) return *v;
  }
  if (!department_id.empty()) {
    if (const api::Volume* v = s.FindVolumeByName(department_id, id_or_name)) {
      if (c.can_see_department(v->department_id)) return v;
    }
  }
  return InvalidArgument("volume '" + id_or_name + "' not found" +
                         (department_id.empty() ? "" : " in department " + department_id))
      .WithDetail("field", "volume");
}

std::string UtcStamp(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dt%H%M%Sz", &tm);
  return buf;
}

Status BackupInProgress(const api::Volume& v, const std::string& backup_id) {
  return FailedPrecondition("volume '" + v.name + "' has a backup in progress (" + backup_id + ")")
      .WithReason("BACKUP_IN_PROGRESS")
      .WithDetail("backup_id", backup_id);
}

// The newest backup of `volume_id` into `target_pool_id` that a diff can start from.
std::string ParentFor(const State& s, const std::string& volume_id, const std::string& target_pool_id) {
  const api::Backup* best = nullptr;
  for (const std::string& id : s.BackupsOfVolume(volume_id)) {
    const api::Backup* b = s.FindBackup(id);
    if (b->target_pool_id != target_pool_id || b->deleting || b->state != api::BackupState::kAvailable) continue;
    if (!best || b->completed_at_ms > best->completed_at_ms) best = b;
  }
  return best ? best->meta.id : "";
}

// Starts a backup of `v` into `target` (checks, quota, parent, worker): the one path for
// on-demand and scheduled backups.
Result<api::Backup> StartBackup(State& s, Txn& t, const api::Volume& v, const api::StoragePool& target,
                                const std::string& policy_id, std::string name) {
  if (v.deleting) return FailedPrecondition("volume '" + v.name + "' is being deleted");
  if (v.state != api::VolumeState::kAvailable && v.state != api::VolumeState::kInUse) {
    return FailedPrecondition("volume '" + v.name + "' is " + std::string(api::ToString(v.state)) +
                              "; backups need an available or in-use volume");
  }
  if (target.meta.id == v.pool_id) {
    return InvalidArgument("a backup goes to another pool (or cluster) than its volume's")
        .WithDetail("field", "target_pool");
  }
  for (const std::string& id : s.BackupsOfVolume(v.meta.id)) {
    const api::Backup* b = s.FindBackup(id);
    if (b->state == api::BackupState::kCreating && !b->deleting) return BackupInProgress(v, id);
  }
  const api::Department* d = s.FindDepartment(v.department_id);
  api::Backup b;
  b.name = name.empty() ? v.name + "-" + UtcStamp(t.now_ms()) : std::move(name);
  b.department_id = v.department_id;
  b.volume_id = v.meta.id;
  b.volume_name = v.name;
  b.source_pool_id = v.pool_id;
  b.target_pool_id = target.meta.id;
  b.policy_id = policy_id;
  b.parent_backup_id = ParentFor(s, v.meta.id, target.meta.id);
  b.size_gib = v.size_gib;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(b), 1));
  // The volume's own agent when it reaches the target too (it holds the volume's work).
  b.host_id = storage::ChooseStorageHost(s, v.pool_id, v.host_id, target.meta.id);
  if (b.host_id.empty()) {
    return FailedPrecondition("no up agent reaches both storage pool " + v.pool_id + " and " + target.meta.id +
                              "; a backup needs one (see docs/storage.md, \"Backups\")");
  }
  s.Save(t, b);
  log::Info("backup started", {{"backup_id", b.meta.id}, {"volume_id", v.meta.id},
                               {"target_pool_id", target.meta.id}, {"parent_backup_id", b.parent_backup_id}});
  return b;
}

// Marks a backup for deletion (or drops it when nothing of it can exist in Ceph).
void RetireBackup(State& s, Txn& t, api::Backup b) {
  if (b.host_id.empty() && b.observed_generation == 0 && b.state == api::BackupState::kCreating) {
    s.Remove<api::Backup>(t, b.meta.id);
    return;
  }
  b.deleting = true;
  b.state = api::BackupState::kDeleting;
  if (b.host_id.empty() || !s.FindHost(b.host_id)) {
    b.host_id = storage::ChooseStorageHost(s, b.target_pool_id);
  }
  s.Save(t, b);
}

// Keeps the newest `keep` available backups the policy made of the volume; older ones (and
// failed ones older than the newest kept) go.
void ApplyRetention(State& s, Txn& t, const api::BackupPolicy& p, const std::string& volume_id) {
  std::vector<const api::Backup*> mine;
  for (const std::string& id : s.BackupsOfVolume(volume_id)) {
    const api::Backup* b = s.FindBackup(id);
    if (b->policy_id == p.meta.id && !b->deleting && b->state != api::BackupState::kCreating) mine.push_back(b);
  }
  std::sort(mine.begin(), mine.end(), [](const api::Backup* a, const api::Backup* b) {
    return a->meta.created_at_ms != b->meta.created_at_ms ? a->meta.created_at_ms > b->meta.created_at_ms
                                                          : a->meta.id > b->meta.id;
  });
  std::int64_t kept = 0;
  std::vector<api::Backup> retire;
  for (const api::Backup* b : mine) {
    if (b->state == api::BackupState::kAvailable && kept < p.keep) {
      ++kept;
      continue;
    }
    if (b->state == api::BackupState::kError && kept == 0) continue;  // nothing newer succeeded yet
    retire.push_back(*b);
  }
  for (api::Backup& b : retire) {
    log::Info("backup retired by retention", {{"backup_id", b.meta.id}, {"policy_id", p.meta.id}});
    RetireBackup(s, t, std::move(b));
  }
}

api::BackupPolicy RenderPolicy(const api::BackupPolicy& p) {
  api::BackupPolicy out = p;
  if (auto sched = ParseBackupSchedule(p.schedule); sched.ok() && p.enabled) {
    out.next_run_at_ms = NextBackupSlot(*sched, p.last_run_at_ms > 0 ? p.last_run_at_ms : p.meta.created_at_ms);
  }
  return out;
}

}  // namespace

// ---- Policies ----

Result<api::BackupPolicy> CreateBackupPolicy(State& s, Txn& t, const Caller& c,
                                             const api::CreateBackupPolicyRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) {
    return NotFound("department " + req.department_id + " not found");
  }
  GP_RETURN_IF_ERROR(RequireManage(c, d->meta.id, "creating backup policies"));
  GP_RETURN_IF_ERROR(CheckCountLimit(static_cast<std::int64_t>(s.BackupPoliciesOfDepartment(d->meta.id).size()),
                                     kMaxBackupPoliciesPerDepartment, "backup_policies",
                                     "department '" + d->name + "'"));
  for (const std::string& id : s.BackupPoliciesOfDepartment(d->meta.id)) {
    if (s.FindBackupPolicy(id)->name == req.name) {
      return AlreadyExists("a backup policy named '" + req.name + "' already exists in department '" + d->name +
                           "'")
          .WithDetail("name", req.name);
    }
  }
  if (auto sched = ParseBackupSchedule(req.schedule); !sched.ok()) {
    return sched.status().WithDetail("field", "schedule");
  }
  GP_ASSIGN_OR_RETURN(const api::StoragePool* target, FindTargetPool(s, req.target_pool, "target_pool"));
  api::BackupPolicy p;
  p.name = req.name;
  p.department_id = d->meta.id;
  p.schedule = req.schedule;
  p.keep = req.keep;
  p.target_pool_id = target->meta.id;
  p.enabled = req.enabled;
  if (!req.volume.empty()) {
    GP_ASSIGN_OR_RETURN(const api::Volume* v, FindDepartmentVolume(s, c, req.volume, d->meta.id));
    if (v->pool_id == target->meta.id) {
      return InvalidArgument("a backup goes to another pool (or cluster) than its volume's")
          .WithDetail("field", "target_pool");
    }
    p.volume_id = v->meta.id;
  }
  s.Save(t, p);
  return RenderPolicy(p);
}

Result<api::BackupPolicy> GetBackupPolicy(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::BackupPolicy* p, FindVisiblePolicy(s, c, id));
  return RenderPolicy(*p);
}

Page<api::BackupPolicy> ListBackupPolicies(const State& s, const Caller& c, const std::string& department_id,
                                           const ListOptions& o) {
  return PageOf(
      s.backup_policies(), o,
      [&](const api::BackupPolicy& p) {
        return c.can_see_department(p.department_id) && (department_id.empty() || p.department_id == department_id);
      },
      &RenderPolicy);
}

Result<api::BackupPolicy> PatchBackupPolicy(State& s, Txn& t, const Caller& c, const std::string& id,
                                            const std::optional<std::int64_t>& if_match,
                                            const api::PatchBackupPolicyRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::BackupPolicy* found, FindVisiblePolicy(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "changing backup policies"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "backup policy " + id));
  api::BackupPolicy p = *found;
  if (req.schedule) {
    if (auto sched = ParseBackupSchedule(*req.schedule); !sched.ok()) {
      return sched.status().WithDetail("field", "schedule");
    }
    p.schedule = *req.schedule;
  }
  if (req.keep) p.keep = *req.keep;
  if (req.enabled) p.enabled = *req.enabled;
  s.Save(t, p);
  // A smaller `keep` applies at once.
  if (req.keep) {
    std::set<std::string> volumes;
    for (const auto& [bid, b] : s.backups()) {
      if (b.policy_id == p.meta.id) volumes.insert(b.volume_id);
    }
    for (const std::string& v : volumes) ApplyRetention(s, t, p, v);
  }
  return RenderPolicy(p);
}

Status DeleteBackupPolicy(State& s, Txn& t, const Caller& c, const std::string& id,
                          const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::BackupPolicy* p, FindVisiblePolicy(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, p->department_id, "deleting backup policies"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, p->meta, "backup policy " + id));
  s.Remove<api::BackupPolicy>(t, id);  // its backups stay (and stay restorable)
  return OkStatus();
}

// ---- Backups ----

Result<api::Backup> CreateBackup(State& s, Txn& t, const Caller& c, const api::CreateBackupRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Volume* v, FindDepartmentVolume(s, c, req.volume, req.department_id));
  GP_RETURN_IF_ERROR(RequireManage(c, v->department_id, "creating backups"));
  GP_ASSIGN_OR_RETURN(const api::StoragePool* target, FindTargetPool(s, req.target_pool, "target_pool"));
  for (const auto& [id, b] : s.backups()) {
    if (!req.name.empty() && b.department_id == v->department_id && b.name == req.name) {
      return AlreadyExists("a backup named '" + req.name + "' already exists").WithDetail("name", req.name);
    }
  }
  return StartBackup(s, t, *v, *target, "", req.name);
}

Result<api::Backup> GetBackup(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Backup* b, FindVisibleBackup(s, c, id));
  return *b;
}

Page<api::Backup> ListBackups(const State& s, const Caller& c, const BackupFilter& f, const ListOptions& o) {
  return PageOf(s.backups(), o, [&](const api::Backup& b) {
    if (!f.department_id.empty() && b.department_id != f.department_id) return false;
    if (!f.volume_id.empty() && b.volume_id != f.volume_id) return false;
    if (!f.policy_id.empty() && b.policy_id != f.policy_id) return false;
    return c.can_see_department(b.department_id);
  });
}

Result<api::Backup> DeleteBackup(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::Backup* found, FindVisibleBackup(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "deleting backups"));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "backup " + id));
  if (found->deleting) return *found;
  std::vector<std::string> restoring;
  for (const auto& [vid, v] : s.volumes()) {
    if (v.source_backup_id == id && v.state == api::VolumeState::kCreating && !v.deleting) restoring.push_back(vid);
  }
  if (!restoring.empty()) {
    return FailedPrecondition("backup '" + found->name + "' is being restored into " +
                              std::to_string(restoring.size()) + " volume(s)")
        .WithReason("HAS_DEPENDENTS")
        .WithDetail("volumes", restoring);
  }
  api::Backup gone = *found;  // a copy: RetireBackup may remove the record `found` points to
  RetireBackup(s, t, gone);
  if (const api::Backup* b = s.FindBackup(id)) return *b;
  gone.deleting = true;
  gone.state = api::BackupState::kDeleted;
  return gone;
}

Result<api::Volume> RestoreBackup(State& s, Txn& t, const Caller& c, const std::string& id,
                                  const api::RestoreBackupRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Backup* b, FindVisibleBackup(s, c, id));
  GP_RETURN_IF_ERROR(RequireManage(c, b->department_id, "restoring backups"));
  if (b->deleting || b->state != api::BackupState::kAvailable) {
    return FailedPrecondition("backup '" + b->name + "' is " + std::string(api::ToString(b->state)) +
                              ", not available")
        .WithReason("BACKUP_NOT_READY");
  }
  const api::Department* d = s.FindDepartment(b->department_id);
  if (s.VolumeNameTaken(d->meta.id, req.name)) {
    return AlreadyExists("a volume named '" + req.name + "' already exists in department '" + d->name + "'")
        .WithDetail("name", req.name);
  }
  api::Volume v;
  v.name = req.name;
  v.department_id = d->meta.id;
  v.size_gib = std::max<std::int64_t>(1, b->size_gib);
  v.source_backup_id = b->meta.id;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(v), 1));
  GP_ASSIGN_OR_RETURN(v.pool_id, storage::PlaceInPool(s, *d, v.size_gib, req.pool, req.tier));
  v.host_id = storage::ChooseStorageHost(s, v.pool_id, "", b->target_pool_id);
  if (v.host_id.empty()) {
    return FailedPrecondition("no up agent reaches both storage pool " + v.pool_id + " and the backup's pool " +
                              b->target_pool_id + "; a restore needs one");
  }
  s.Save(t, v);
  log::Info("backup restore started", {{"backup_id", id}, {"volume_id", v.meta.id}, {"pool_id", v.pool_id}});
  return v;
}

Result<api::Backup> ReportBackupStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                       const api::BackupStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report backup status");
  GP_ASSIGN_OR_RETURN(const api::Backup* found, FindVisibleBackup(s, c, id));
  api::Backup b = *found;
  if (report.state == api::BackupState::kDeleted) {
    if (!b.deleting) return FailedPrecondition("backup " + id + " is not being deleted");
    s.Remove<api::Backup>(t, id);
    b.state = api::BackupState::kDeleted;
    return b;
  }
  if (b.deleting) {
    // Only a failed removal is news; the record shows `deleting` otherwise.
    if (report.state == api::BackupState::kError && b.state_reason != report.state_reason) {
      b.state_reason = report.state_reason;
      s.Save(t, b);
    }
    return b;
  }
  if (report.observed_generation != b.generation || b.state != api::BackupState::kCreating) {
    return b;  // about an attempt that is over (a retry started, or the result is recorded)
  }
  switch (report.state) {
    case api::BackupState::kAvailable: {
      b.state = api::BackupState::kAvailable;
      b.state_reason.clear();
      b.observed_generation = report.observed_generation;
      b.incremental = report.incremental;
      b.transferred_bytes = report.transferred_bytes;
      b.completed_at_ms = t.now_ms();
      s.Save(t, b);
      log::Info("backup completed", {{"backup_id", id}, {"incremental", b.incremental},
                                     {"transferred_bytes", b.transferred_bytes}});
      if (const api::BackupPolicy* p = s.FindBackupPolicy(b.policy_id)) ApplyRetention(s, t, *p, b.volume_id);
      return *s.FindBackup(id);
    }
    case api::BackupState::kError: {
      ++b.attempts;
      api::Event e;
      e.host_id = b.host_id;
      e.department_id = b.department_id;
      e.kind = "backup-failed";
      e.message = "backup " + id + " of volume " + b.volume_id + ", attempt " + std::to_string(b.attempts) +
                  " of " + std::to_string(kMaxBackupAttempts) + ": " + report.state_reason;
      e.at_ms = t.now_ms();
      s.AddEvent(e);
      log::Warn("backup attempt failed", {{"backup_id", id}, {"attempt", b.attempts}, {"error", report.state_reason}});
      b.observed_generation = report.observed_generation;
      if (b.attempts < kMaxBackupAttempts) {
        ++b.generation;  // the agent tries again
        b.state_reason = "attempt " + std::to_string(b.attempts) + " of " + std::to_string(kMaxBackupAttempts) +
                         " failed, retrying: " + report.state_reason;
      } else {
        b.state = api::BackupState::kError;
        b.state_reason = "failed after " + std::to_string(b.attempts) + " attempts: " + report.state_reason;
      }
      s.Save(t, b);
      return b;
    }
    default:
      if (b.state_reason != report.state_reason) {
        b.state_reason = report.state_reason;
        s.Save(t, b);
      }
      return b;
  }
}

std::int64_t RunBackupPolicies(State& s, Txn& t) {
  // The due ones first (usually none): the sweep then changes nothing and copies nothing.
  std::vector<std::pair<std::string, BackupSchedule>> due;
  for (const auto& [id, p] : s.backup_policies()) {
    if (!p.enabled) continue;
    auto sched = ParseBackupSchedule(p.schedule);
    if (!sched.ok()) continue;
    const std::int64_t from = p.last_run_at_ms > 0 ? p.last_run_at_ms : p.meta.created_at_ms;
    if (NextBackupSlot(*sched, from) <= t.now_ms()) due.emplace_back(id, *sched);
  }
  std::int64_t started = 0;
  for (const auto& [id, sched] : due) {
    api::BackupPolicy p = *s.FindBackupPolicy(id);
    p.last_run_at_ms = LastBackupSlot(sched, t.now_ms());  // missed slots run once
    s.Save(t, p);
    const api::StoragePool* target = s.FindStoragePool(p.target_pool_id);
    std::vector<api::Volume> volumes;
    if (!p.volume_id.empty()) {
      if (const api::Volume* v = s.FindVolume(p.volume_id)) volumes.push_back(*v);
    } else {
      for (const auto& [vid, v] : s.volumes()) {
        if (v.department_id == p.department_id && !v.deleting && v.pool_id != p.target_pool_id) volumes.push_back(v);
      }
    }
    for (const api::Volume& v : volumes) {
      Result<api::Backup> b = target ? StartBackup(s, t, v, *target, p.meta.id, "")
                                     : Result<api::Backup>(FailedPrecondition("its target pool is gone"));
      if (b.ok()) {
        ++started;
        continue;
      }
      AddDepartmentEvent(s, t, p.department_id, "backup-skipped",
                         "policy '" + p.name + "' could not back up volume '" + v.name + "': " + b.status().message());
      log::Warn("scheduled backup skipped", {{"policy_id", p.meta.id}, {"volume_id", v.meta.id},
                                             {"error", b.status().ToString()}});
    }
  }
  return started;
}

}  // namespace govpool::controller
