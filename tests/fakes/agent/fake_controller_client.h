// FakeControllerClient: the controller side of the agent protocol, in memory, for tests of the
// Reconciler, the StorageReconciler and the HostAgent. It holds the desired VMs (`vms`, their
// NICs in `ports`, answered for the VMs whose port_ids name them) and
// storage work (`volumes`, `snapshots`, `images`, `storage_pools`, `backups`), answered by WatchVms (and
// Answer()) as of `revision`, applies the agents' status reports to them the way the
// controller does, serves uploaded image data (`image_data`), and records every call. Fault
// injection: each call of RegisterHost / Heartbeat / WatchVms first pops the front of its
// `*_failures` queue and, when that status is not OK, returns it without doing anything else
// (like FakeHypervisor::FailNext); `fail_reports` / `fail_events` fail every such call.
// Thread-safety: every method is safe from any thread (one mutex); read the public fields
// directly only while no other thread is calling (else through WithLock).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/controller_client.h"
#include "api/types.h"
#include "common/ids.h"

namespace govpool::agent {

class FakeControllerClient final : public ControllerClient {
 public:
  struct WatchCall {
    std::string host_id;
    std::int64_t revision = 0;
    int timeout_seconds = 0;
  };
  struct HeartbeatCall {
    std::string host_id;
    bool with_usage = false;
    std::optional<std::vector<api::StoragePoolReport>> storage_pools;
    api::HostActualUsage usage = {};
    std::optional<std::vector<api::VmActualUsage>> vms = {};
  };

  Result<api::Host> RegisterHost(const api::RegisterHostRequest& req) override {
    std::lock_guard lock(mu_);
    registrations.push_back(req);
    if (Status s = Pop(register_failures); !s.ok()) return s;
    api::Host h;
    h.meta.id = host_id;
    h.name = req.name;
    h.pool = req.pool;
    h.capacity = req.capacity;
    return h;
  }

  Status Heartbeat(const std::string& id, const api::HeartbeatRequest& req) override {
    std::lock_guard lock(mu_);
    heartbeats.push_back({id, req.usage.has_value(), req.storage_pools, req.usage.value_or(api::HostActualUsage{}), req.vms});
    return Pop(heartbeat_failures);
  }

  Result<WatchAnswer> WatchVms(const std::string& id, std::int64_t after_revision,
                               int timeout_seconds) override {
    std::lock_guard lock(mu_);
    watches.push_back({id, after_revision, timeout_seconds});
    if (Status s = Pop(watch_failures); !s.ok()) return s;
    return AnswerLocked();
  }

  Status ReportVmStatus(const std::string& id, const api::VmStatusReport& r) override {
    std::lock_guard lock(mu_);
    reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = vms.find(id);
    if (it == vms.end()) return NotFound("vm " + id);
    if (r.state == api::VmState::kDeleted) {
      vms.erase(it);
      return OkStatus();
    }
    it->second.state = r.state;
    it->second.state_reason = r.state_reason;
    it->second.observed_generation = r.observed_generation;
    return OkStatus();
  }

  Status ReportPortStatus(const std::string& id, const api::PortStatusReport& r) override {
    std::lock_guard lock(mu_);
    port_reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = ports.find(id);
    if (it == ports.end()) return r.status == "down" ? OkStatus() : NotFound("port " + id);
    it->second.status = r.status;
    it->second.host_id = r.host_id;
    it->second.state_reason = r.state_reason;
    return OkStatus();
  }

  Status ReportEvents(const std::string&, const api::ReportEventsRequest& req) override {
    std::lock_guard lock(mu_);
    if (!fail_events.ok()) return fail_events;
    for (const auto& e : req.events) reported_events.push_back(e);
    return OkStatus();
  }

  Status ReportVolumeStatus(const std::string& id, const api::VolumeStatusReport& r) override {
    std::lock_guard lock(mu_);
    volume_reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = volumes.find(id);
    if (it == volumes.end()) return r.state == api::VolumeState::kDeleted ? OkStatus() : NotFound("volume " + id);
    api::Volume& v = it->second;
    if (r.state == api::VolumeState::kDeleted) {
      if (!v.deleting) return FailedPrecondition("volume " + id + " is not being deleted");
      std::erase_if(snapshots, [&](const auto& kv) { return kv.second.volume_id == id; });
      volumes.erase(it);
      return OkStatus();
    }
    v.state = r.state;
    v.state_reason = r.state_reason;
    v.observed_generation = r.observed_generation;
    v.flattened = v.flattened || r.flattened;
    if (r.observed_generation == v.generation && r.state != api::VolumeState::kError) {
      v.rollback_snapshot_id.clear();
    }
    return OkStatus();
  }

  Status ReportSnapshotStatus(const std::string& volume_id, const std::string& id,
                              const api::SnapshotStatusReport& r) override {
    std::lock_guard lock(mu_);
    snapshot_reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = snapshots.find(id);
    if (it == snapshots.end() || it->second.volume_id != volume_id) {
      return r.state == api::SnapshotState::kDeleted ? OkStatus() : NotFound("snapshot " + id);
    }
    if (r.state == api::SnapshotState::kDeleted) {
      if (!it->second.deleting) return FailedPrecondition("snapshot " + id + " is not being deleted");
      snapshots.erase(it);
      return OkStatus();
    }
    it->second.state = it->second.deleting && r.state != api::SnapshotState::kError ? api::SnapshotState::kDeleting
                                                                                    : r.state;
    it->second.state_reason = r.state_reason;
    return OkStatus();
  }

  // Like the controller: `deleted` drops a deleting record; a report about another generation
  // is ignored; `available` records the result; `error` counts an attempt and, below
  // max_backup_attempts, starts the next one (a new generation).
  Status ReportBackupStatus(const std::string& id, const api::BackupStatusReport& r) override {
    std::lock_guard lock(mu_);
    backup_reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = backups.find(id);
    if (it == backups.end()) return r.state == api::BackupState::kDeleted ? OkStatus() : NotFound("backup " + id);
    api::Backup& b = it->second;
    if (r.state == api::BackupState::kDeleted) {
      if (!b.deleting) return FailedPrecondition("backup " + id + " is not being deleted");
      backups.erase(it);
      return OkStatus();
    }
    if (b.deleting || r.observed_generation != b.generation || b.state != api::BackupState::kCreating) {
      return OkStatus();
    }
    b.state_reason = r.state_reason;
    b.observed_generation = r.observed_generation;
    if (r.state == api::BackupState::kAvailable) {
      b.state = r.state;
      b.incremental = r.incremental;
      b.transferred_bytes = r.transferred_bytes;
    } else if (r.state == api::BackupState::kError) {
      if (++b.attempts < max_backup_attempts) {
        ++b.generation;
      } else {
        b.state = api::BackupState::kError;
      }
    }
    return OkStatus();
  }

  Status ReportImageStatus(const std::string& id, const api::ImageStatusReport& r) override {
    std::lock_guard lock(mu_);
    image_reports.push_back({id, r});
    if (!fail_reports.ok()) return fail_reports;
    auto it = images.find(id);
    if (it == images.end()) return r.state == api::ImageState::kDeleted ? OkStatus() : NotFound("image " + id);
    api::Image& i = it->second;
    if (r.state == api::ImageState::kDeleted) {
      if (!i.deleting) return FailedPrecondition("image " + id + " is not being deleted");
      images.erase(it);
      return OkStatus();
    }
    i.state = i.deleting && r.state != api::ImageState::kError ? api::ImageState::kDeleting : r.state;
    i.state_reason = r.state_reason;
    i.imported_bytes = r.imported_bytes;
    if (r.virtual_size_bytes > 0) i.virtual_size_bytes = r.virtual_size_bytes;
    if (!r.content_sha256.empty()) i.content_sha256 = r.content_sha256;
    i.observed_generation = std::max(i.observed_generation, std::min(r.observed_generation, i.generation));
    return OkStatus();
  }

  Status DownloadImage(const std::string& id, const ChunkSink& sink) override {
    std::string data;
    {
      std::lock_guard lock(mu_);
      downloads.push_back(id);
      if (Status s = Pop(download_failures); !s.ok()) return s;
      auto it = image_data.find(id);
      if (it == image_data.end()) return NotFound("image " + id + " has no uploaded data");
      data = it->second;
    }
    // In pieces, as a streamed body arrives.
    for (std::size_t at = 0; at < data.size(); at += download_chunk_bytes) {
      GP_RETURN_IF_ERROR(sink(std::string_view(data).substr(at, download_chunk_bytes)));
    }
    return OkStatus();
  }

  // The whole desired set as WatchVms answers it.
  WatchAnswer Answer() const {
    std::lock_guard lock(mu_);
    return AnswerLocked();
  }

  // Runs fn(*this) under the fake's lock: reads the fields while other threads call.
  template <typename Fn>
  auto WithLock(Fn&& fn) {
    std::lock_guard lock(mu_);
    return fn(*this);
  }

  // The desired set as WatchVms answers it.
  std::vector<api::Vm> Desired() const {
    std::lock_guard lock(mu_);
    std::vector<api::Vm> out;
    for (const auto& [id, v] : vms) out.push_back(v);
    return out;
  }
  // Adds a desired VM (2 vCPUs, 256 MiB, 3 GiB) on host_id and returns it (valid until `vms`
  // changes).
  api::Vm& Add(api::PowerState power = api::PowerState::kRunning) {
    std::lock_guard lock(mu_);
    api::Vm v;
    v.meta.id = NewUuid();
    v.name = "vm-" + std::to_string(vms.size());
    v.department_id = "dept-1";
    v.host_id = host_id;
    v.vcpus = 2;
    v.memory_mib = 256;
    v.disk_gib = 3;
    v.power = power;
    return vms[v.meta.id] = v;
  }

  // The controller's side.
  std::string host_id = "host-1";  // the id RegisterHost answers
  std::int64_t revision = 1;       // the revision WatchVms answers
  std::map<std::string, api::Vm> vms;
  std::map<std::string, api::Volume> volumes;
  std::map<std::string, api::VolumeSnapshot> snapshots;
  std::map<std::string, api::Image> images;
  std::map<std::string, api::StoragePool> storage_pools;
  std::map<std::string, api::Backup> backups;
  std::map<std::string, api::Port> ports;  // NICs: a VM's port_ids name them
  std::int64_t max_backup_attempts = 3;
  std::map<std::string, std::string> image_data;  // image id -> its upload, for DownloadImage
  std::size_t download_chunk_bytes = 100'000;
  // Fault injection (see the file comment).
  std::deque<Status> register_failures;
  std::deque<Status> heartbeat_failures;
  std::deque<Status> watch_failures;
  std::deque<Status> download_failures;
  Status fail_reports;
  Status fail_events;
  // What the agent sent, oldest first.
  std::vector<api::RegisterHostRequest> registrations;
  std::vector<HeartbeatCall> heartbeats;
  std::vector<WatchCall> watches;
  std::vector<std::pair<std::string, api::VmStatusReport>> reports;
  std::vector<api::EventReport> reported_events;
  std::vector<std::pair<std::string, api::VolumeStatusReport>> volume_reports;
  std::vector<std::pair<std::string, api::SnapshotStatusReport>> snapshot_reports;  // by snapshot id
  std::vector<std::pair<std::string, api::ImageStatusReport>> image_reports;
  std::vector<std::pair<std::string, api::BackupStatusReport>> backup_reports;
  std::vector<std::pair<std::string, api::PortStatusReport>> port_reports;
  std::vector<std::string> downloads;

 private:
  WatchAnswer AnswerLocked() const {
    WatchAnswer answer;
    answer.revision = revision;
    for (const auto& [id, v] : vms) {
      answer.items.push_back(v);
      for (const std::string& port_id : v.port_ids) {
        if (auto p = ports.find(port_id); p != ports.end()) answer.ports.push_back(p->second);
      }
    }
    for (const auto& [id, v] : volumes) answer.volumes.push_back(v);
    for (const auto& [id, s] : snapshots) answer.snapshots.push_back(s);
    for (const auto& [id, i] : images) answer.images.push_back(i);
    for (const auto& [id, p] : storage_pools) answer.storage_pools.push_back(p);
    for (const auto& [id, b] : backups) answer.backups.push_back(b);
    return answer;
  }

  static Status Pop(std::deque<Status>& failures) {
    if (failures.empty()) return OkStatus();
    Status s = failures.front();
    failures.pop_front();
    return s;
  }

  mutable std::mutex mu_;
};

}  // namespace govpool::agent
