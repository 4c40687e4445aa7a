#include "agent/reconciler.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "agent/seed_iso.h"
#include "agent/storage_reconciler.h"
#include "agent/watched_items.h"
#include "common/ids.h"
#include "common/log.h"

namespace govpool::agent {
namespace {

constexpr std::size_t kMaxEvents = 1000;

std::int64_t ParseCount(const std::map<std::string, std::string>& metadata, const std::string& key,
                        std::int64_t fallback) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return fallback;
  }
}

bool Active(PowerState s) { return s == PowerState::kRunning || s == PowerState::kPaused; }

// A volume whose RBD image exists (the StorageReconciler said so) and may be plugged.
bool VolumeReady(const api::Volume& v) {
  return !v.deleting && (v.state == api::VolumeState::kAvailable || v.state == api::VolumeState::kInUse);
}

constexpr std::string_view kVolumePrefix = "govpool-vol-";

// The volume id of a govpool volume's RBD disk; empty for any other disk.
std::string VolumeOfDisk(const DiskSpec& d) {
  if (d.kind() != DiskSourceKind::kRbd || d.rbd_image.rfind(kVolumePrefix, 0) != 0) return "";
  return d.rbd_image.substr(kVolumePrefix.size());
}

bool HasDisk(const std::vector<DiskSpec>& disks, const DiskSpec& d) {
  return std::any_of(disks.begin(), disks.end(), [&](const DiskSpec& c) {
    return c.target_dev == d.target_dev && SameDiskSource(c, d);
  });
}

}  // namespace

Reconciler::Reconciler(Hypervisor& hypervisor, ControllerClient& controller,
                       ReconcilerOptions options, const Clock& clock)
    : hv_(hypervisor), controller_(controller), options_(std::move(options)), clock_(clock) {}

std::string Reconciler::DiskPath(const std::string& vm_id) const {
  return options_.disk_dir + "/" + DomainName(vm_id) + "-root.qcow2";
}

std::string Reconciler::ConsolePath(const std::string& vm_id) const {
  if (options_.console_dir.empty()) return "";
  return options_.console_dir + "/" + DomainName(vm_id) + ".log";
}

std::string Reconciler::SeedPath(const std::string& vm_id) const {
  if (options_.seed_dir.empty()) return "";
  return options_.seed_dir + "/" + DomainName(vm_id) + "-seed.iso";
}

Result<DiskSpec> Reconciler::SeedDisk(const api::Vm& v) {
  const std::string path = SeedPath(v.meta.id);
  // The network-config asks for DHCP on each NIC by its MAC (every e* interface when none).
  std::vector<std::string> nic_macs;
  for (const NicSpec& nic : WantedNics(v.meta.id)) nic_macs.push_back(nic.mac);
  CloudInitFiles files = BuildCloudInitFiles(v, nic_macs);
  auto known = seeds_.find(v.meta.id);
  std::error_code ec;
  if (known == seeds_.end() || known->second != files || !std::filesystem::exists(path, ec)) {
    GP_ASSIGN_OR_RETURN(const bool wrote, EnsureSeedIso(path, files));
    if (wrote) log::Info("cloud-init seed written", {{"vm_id", v.meta.id}, {"path", path}});
    seeds_[v.meta.id] = std::move(files);
  }
  DiskSpec disk = DiskSpec::File(path, "raw", kSeedTarget);
  disk.read_only = true;
  return disk;
}

DomainSpec Reconciler::SpecFor(const api::Vm& v, std::int64_t reboots_done, std::vector<DiskSpec> disks) const {
  DomainSpec spec;
  spec.uuid = v.meta.id;
  spec.name = DomainName(v.meta.id);
  spec.domain_type = options_.domain_type;
  spec.vcpus = std::max<std::int64_t>(1, v.vcpus);
  spec.memory_mib = std::max(v.memory_mib, options_.min_memory_mib);
  spec.disks = std::move(disks);
  spec.nics = WantedNics(v.meta.id);
  spec.kernel_path = options_.kernel_path;
  spec.initrd_path = options_.initrd_path;
  if (!spec.kernel_path.empty()) spec.kernel_cmdline = options_.kernel_cmdline;
  spec.serial_log_path = ConsolePath(v.meta.id);
  spec.metadata = {{"vm_id", v.meta.id},
                   {"vm_name", v.name},
                   {"department_id", v.department_id},
                   {"host_id", options_.host_id},
                   {"generation", std::to_string(v.generation)},
                   {"reboots_done", std::to_string(reboots_done)}};
  return spec;
}

Result<DiskSpec> Reconciler::RbdDisk(const api::Volume& volume, const std::string& target,
                                     const StorageView& storage) const {
  if (options_.ceph_monitors.empty()) {
    return FailedPrecondition("volume " + volume.meta.id + " is an RBD image but this agent has no Ceph configured");
  }
  auto pool = storage.pools.find(volume.pool_id);
  if (pool == storage.pools.end()) {
    return FailedPrecondition("the storage pool " + volume.pool_id + " of volume " + volume.meta.id +
                              " is not one this host reaches");
  }
  DiskSpec d = DiskSpec::Rbd(pool->second->ceph_pool, StorageReconciler::VolumeImage(volume.meta.id),
                             options_.ceph_monitors, options_.ceph_auth_user, options_.ceph_secret_uuid, target);
  d.serial = volume.meta.id;
  return d;
}

void Reconciler::RecordAttached(const std::string& vm_id, const std::vector<DiskSpec>& disks) {
  for (const DiskSpec& d : disks) {
    if (std::string volume = VolumeOfDisk(d); !volume.empty()) attached_[volume] = vm_id;
  }
}

std::string Reconciler::ConvergeDataDisks(const api::Vm& v, const DomainInfo& current,
                                          const std::vector<DiskSpec>& wanted) {
  const std::string& id = v.meta.id;
  std::vector<DiskSpec> plugged;  // what the domain holds once done
  std::string problems;
  auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  for (const DiskSpec& d : current.disks) {
    const std::string volume = VolumeOfDisk(d);
    if (volume.empty() || d.target_dev == "vda" || HasDisk(wanted, d)) {
      plugged.push_back(d);
      continue;
    }
    // No longer attached to this VM: unplug.
    Status s = hv_.DetachDisk(id, d.target_dev);
    if (s.ok()) {
      log::Info("volume detached", {{"vm_id", id}, {"volume_id", volume}, {"device", d.target_dev}});
      continue;
    }
    plugged.push_back(d);
    if (s.code() == StatusCode::kDeadlineExceeded) {
      problem("waiting for the guest to release volume " + volume);
    } else if (s.code() != StatusCode::kUnavailable) {
      problem("detaching volume " + volume + " failed: " + s.ToString());
    }
  }
  for (const DiskSpec& d : wanted) {
    if (HasDisk(current.disks, d)) continue;
    Status s = hv_.AttachDisk(id, d);
    if (s.ok()) {
      log::Info("volume attached", {{"vm_id", id}, {"volume_id", d.serial}, {"device", d.target_dev}});
      plugged.push_back(d);
    } else if (s.code() != StatusCode::kUnavailable) {
      problem("attaching volume " + d.serial + " failed: " + s.ToString());
    }
  }
  RecordAttached(id, plugged);
  return problems;
}

std::vector<NicSpec> Reconciler::WantedNics(const std::string& vm_id) const {
  auto it = pass_nics_.find(vm_id);
  return it == pass_nics_.end() ? std::vector<NicSpec>{} : it->second;
}

std::string Reconciler::ConvergeNics(const std::string& vm_id, const DomainInfo& current,
                                     const std::vector<NicSpec>& wanted) {
  std::string problems;
  auto problem = [&](const std::string& text) { problems += (problems.empty() ? "" : "; ") + text; };
  auto has = [](const std::vector<NicSpec>& nics, const NicSpec& n) {
    return std::any_of(nics.begin(), nics.end(), [&](const NicSpec& c) {
      return c.port_id == n.port_id && c.mac == n.mac;
    });
  };
  // First out, then in: a port that moved to a new MAC is unplugged before it is plugged.
  for (const NicSpec& n : current.nics) {
    if (n.bridge != options_.integration_bridge || has(wanted, n)) continue;
    Status s = hv_.DetachNic(vm_id, n.port_id);
    if (s.ok()) {
      log::Info("nic detached", {{"vm_id", vm_id}, {"port_id", n.port_id}});
    } else if (s.code() == StatusCode::kDeadlineExceeded) {
      problem("waiting for the guest to release the NIC of port " + n.port_id);
    } else if (s.code() != StatusCode::kUnavailable) {
      problem("detaching the NIC of port " + n.port_id + " failed: " + s.ToString());
    }
  }
  for (const NicSpec& n : wanted) {
    if (has(current.nics, n)) continue;
    Status s = hv_.AttachNic(vm_id, n);
    if (s.ok()) {
      log::Info("nic attached", {{"vm_id", vm_id}, {"port_id", n.port_id}, {"mac", n.mac}});
    } else if (s.code() != StatusCode::kUnavailable) {
      problem("attaching the NIC of port " + n.port_id + " failed: " + s.ToString());
    }
  }
  return problems;
}

void Reconciler::Event(const std::string& vm_id, const std::string& kind,
                       const std::string& message) {
  log::Warn("vm.drift", {{"vm_id", vm_id}, {"kind", kind}, {"message", message},
                         {"host_id", options_.host_id}});
  ++pass_drift_[kind];
  events_.push_back({vm_id, kind, message});
  if (events_.size() > kMaxEvents) events_.erase(events_.begin());
  unsent_events_.push_back(events_.back());
  if (unsent_events_.size() > kMaxEvents) unsent_events_.erase(unsent_events_.begin());
}

Status Reconciler::RemoveDomain(const std::string& uuid, bool active) {
  if (active) GP_RETURN_IF_ERROR(hv_.DestroyDomain(uuid));
  Status s = hv_.UndefineDomain(uuid);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  GP_RETURN_IF_ERROR(hv_.DeleteDisk(DiskPath(uuid)));
  for (const std::string& file : {ConsolePath(uuid), SeedPath(uuid)}) {
    std::error_code ec;
    if (!file.empty()) std::filesystem::remove(file, ec);
  }
  seeds_.erase(uuid);
  known_.erase(uuid);
  last_power_.erase(uuid);
  shutdown_started_.erase(uuid);
  return OkStatus();
}

Reconciler::Phase Reconciler::Delete(const api::Vm& v, const DomainInfo* current) {
  if (current && !current->owned) {
    // Not ours (no govpool metadata): never touched. The VM's own resources are gone.
    log::Warn("a domain not owned by govpool uses a deleted VM's UUID; left alone",
              {{"vm_id", v.meta.id}, {"domain", current->name}});
  }
  const bool ours = current && current->owned;
  Status s = ours ? RemoveDomain(v.meta.id, Active(current->state) || current->state == PowerState::kCrashed)
                  : hv_.DeleteDisk(DiskPath(v.meta.id));
  if (!s.ok()) {
    if (s.code() == StatusCode::kUnavailable) return {};
    return {api::VmState::kError, "cleanup failed: " + s.ToString(), v.observed_generation};
  }
  if (!ours) {
    for (const std::string& file : {ConsolePath(v.meta.id), SeedPath(v.meta.id)}) {
      std::error_code ec;
      if (!file.empty()) std::filesystem::remove(file, ec);
    }
    seeds_.erase(v.meta.id);
  }
  log::Info("vm cleaned up", {{"vm_id", v.meta.id}, {"host_id", options_.host_id}});
  return {api::VmState::kDeleted, "", v.generation};
}

Reconciler::Phase Reconciler::ReconcileVm(const api::Vm& v, const DomainInfo* current,
                                          const StorageView& storage, ReconcileSummary& summary) {
  const std::string& id = v.meta.id;
  if (v.deleting) return Delete(v, current);
  if (current && !current->owned) {
    return {api::VmState::kError, "a domain not owned by govpool (" + current->name + ") already uses this VM's UUID",
            v.observed_generation};
  }
  auto fail = [&](const std::string& step, const Status& s) -> Phase {
    if (s.code() == StatusCode::kUnavailable) return {};  // hypervisor away: retry next pass
    log::Warn("reconcile step failed", {{"vm_id", id}, {"step", step}, {"error", s.ToString()}});
    return {api::VmState::kError, step + " failed: " + s.ToString(), v.observed_generation};
  };

  // The disks: the root disk (a local qcow2 file, or the root volume's RBD image), then the
  // data volumes attached to the VM (those that exist, or are already plugged).
  std::vector<DiskSpec> disks;
  const bool rbd_root = !v.root_volume_id.empty();
  if (rbd_root) {
    auto root = storage.volumes.find(v.root_volume_id);
    if (root == storage.volumes.end() || !VolumeReady(*root->second)) {
      if (!current) return {api::VmState::kBuilding, "waiting for root volume", v.observed_generation};
      // Defined already: keep the root disk it has.
      for (const DiskSpec& d : current->disks) {
        if (d.target_dev == "vda") disks.push_back(d);
      }
    } else {
      auto disk = RbdDisk(*root->second, "vda", storage);
      if (!disk.ok()) return fail("preparing the root disk", disk.status());
      disks.push_back(*disk);
    }
  } else {
    disks.push_back(DiskSpec::File(DiskPath(id), "qcow2", "vda"));
  }
  // The cloud-init seed, after every other disk.
  if (!options_.seed_dir.empty()) {
    auto seed = SeedDisk(v);
    if (!seed.ok()) return fail("writing the cloud-init seed", seed.status());
    disks.push_back(*seed);
  }
  std::vector<DiskSpec> data;
  std::string disk_problems;
  if (auto it = storage.vm_volumes.find(id); it != storage.vm_volumes.end()) {
    for (const api::Volume* vol : it->second) {
      auto disk = RbdDisk(*vol, vol->device, storage);
      if (!disk.ok()) {
        disk_problems += (disk_problems.empty() ? "" : "; ") + disk.status().message();
        continue;
      }
      if (VolumeReady(*vol) || (current && HasDisk(current->disks, *disk))) data.push_back(*disk);
    }
  }

  PowerState state = PowerState::kShutoff;
  std::int64_t reboots_done = v.reboot_count;
  bool fresh = false;
  if (!current) {
    if (known_.count(id)) {
      Event(id, "redefined", "domain " + DomainName(id) + " was undefined behind govpool's back; redefining it");
    } else if (v.state == api::VmState::kScheduled) {
      Report(v, {api::VmState::kBuilding, "", v.observed_generation}, summary);
    }
    if (!rbd_root) {
      if (Status s = hv_.CreateDisk(DiskPath(id), std::max<std::int64_t>(1, v.disk_gib)); !s.ok()) {
        return fail("creating the root disk", s);
      }
    }
    disks.insert(disks.end(), data.begin(), data.end());
    if (Status s = hv_.DefineDomain(SpecFor(v, reboots_done, disks)); !s.ok()) return fail("defining the domain", s);
    RecordAttached(id, disks);
    fresh = true;
  } else {
    state = current->state;
    reboots_done = ParseCount(current->metadata, "reboots_done", v.reboot_count);
    std::vector<DiskSpec> all = disks;
    all.insert(all.end(), data.begin(), data.end());
    const DomainSpec spec = SpecFor(v, reboots_done, all);
    if (spec.metadata != current->metadata) {
      if (Status s = hv_.DefineDomain(spec); !s.ok()) return fail("updating the domain definition", s);
    }
    if (!options_.seed_dir.empty() && !HasDisk(current->disks, disks.back())) {
      // Defined before VMs had seeds (or the seed was unplugged): plug it in.
      if (Status s = hv_.AttachDisk(id, disks.back()); !s.ok() && s.code() != StatusCode::kUnavailable) {
        disk_problems += (disk_problems.empty() ? "" : "; ") + ("attaching the cloud-init seed failed: " + s.ToString());
      }
    }
    RecordAttached(id, disks);
    const std::string problems = ConvergeDataDisks(v, *current, data);
    if (!problems.empty()) disk_problems += (disk_problems.empty() ? "" : "; ") + problems;
    const std::string nic_problems = ConvergeNics(id, *current, spec.nics);
    if (!nic_problems.empty()) disk_problems += (disk_problems.empty() ? "" : "; ") + nic_problems;
  }
  if (auto bad = pass_nic_problems_.find(id); bad != pass_nic_problems_.end()) {
    disk_problems += (disk_problems.empty() ? "" : "; ") + bad->second;
  }
  known_.insert(id);
  // The disks a redefinition keeps: the root disk and the data volumes plugged now.
  auto Defined = [&] {
    std::vector<DiskSpec> out = disks;
    for (const DiskSpec& d : data) {
      const std::string volume = VolumeOfDisk(d);
      if (attached_.count(volume) && attached_.at(volume) == id) out.push_back(d);
    }
    return out;
  };

  if (v.power == api::PowerState::kRunning) {
    shutdown_started_.erase(id);
    if (!Active(state)) {
      auto last = last_power_.find(id);
      if (!fresh && last != last_power_.end() && last->second == PowerState::kRunning) {
        Event(id, "restarted",
              std::string("domain ") + DomainName(id) +
                  (state == PowerState::kCrashed ? " crashed" : " was powered off behind govpool's back") +
                  "; starting it again");
      }
      if (Status s = hv_.StartDomain(id); !s.ok()) return fail("starting the domain", s);
      if (reboots_done < v.reboot_count) {
        // A fresh boot satisfies the pending reboots.
        if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count, Defined())); !s.ok()) {
          return fail("recording the reboot", s);
        }
      }
    } else if (state == PowerState::kPaused) {
      if (Status s = hv_.StartDomain(id); !s.ok()) return fail("resuming the domain", s);
    } else if (reboots_done < v.reboot_count) {
      // Record first, then reboot: at most once, even if the agent dies in between.
      if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count, Defined())); !s.ok()) {
        return fail("recording the reboot", s);
      }
      if (Status s = hv_.RebootDomain(id); !s.ok()) return fail("rebooting the domain", s);
      log::Info("vm rebooted", {{"vm_id", id}, {"reboot_count", v.reboot_count}});
    }
    last_power_[id] = PowerState::kRunning;
    return {api::VmState::kRunning, disk_problems, v.generation};
  }

  // Desired: stopped.
  if (Active(state)) {
    const auto now = clock_.MonotonicNow();
    auto started = shutdown_started_.find(id);
    if (started == shutdown_started_.end()) {
      if (Status s = hv_.ShutdownDomain(id); !s.ok()) return fail("shutting the domain down", s);
      shutdown_started_[id] = now;
      last_power_[id] = PowerState::kShutoff;
      return {api::VmState::kRunning, "shutting down", v.observed_generation};
    }
    if (now - started->second < std::chrono::milliseconds(options_.shutdown_grace_ms)) {
      return {api::VmState::kRunning, "shutting down", v.observed_generation};
    }
    log::Warn("guest ignored the ACPI shutdown; powering it off", {{"vm_id", id}});
    if (Status s = hv_.DestroyDomain(id); !s.ok()) return fail("powering the domain off", s);
  }
  shutdown_started_.erase(id);
  last_power_[id] = PowerState::kShutoff;
  if (reboots_done < v.reboot_count) {
    if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count, Defined())); !s.ok()) {
      return fail("recording the reboot", s);
    }
  }
  return {api::VmState::kStopped, disk_problems, v.generation};
}

void Reconciler::Report(const api::Vm& v, const Phase& p, ReconcileSummary& summary) {
  if (!p.state) return;
  if (v.state == *p.state && v.state_reason == p.reason && v.observed_generation == p.observed_generation) {
    last_reported_.erase(v.meta.id);
    return;
  }
  if (auto it = last_reported_.find(v.meta.id); it != last_reported_.end() && it->second == p) return;
  api::VmStatusReport report{*p.state, p.reason, p.observed_generation};
  Status s = controller_.ReportVmStatus(v.meta.id, report);
  ++summary.reports;
  if (!s.ok()) {
    ++summary.errors;
    log::Warn("status report failed", {{"vm_id", v.meta.id}, {"error", s.ToString()}});
    return;
  }
  if (p.state == api::VmState::kDeleted) {
    last_reported_.erase(v.meta.id);
  } else {
    last_reported_[v.meta.id] = p;
  }
}

Result<ReconcileSummary> Reconciler::Reconcile(const api::WatchAnswer& answer) {
  pass_drift_.clear();
  GP_ASSIGN_OR_RETURN(std::vector<DomainInfo> domains, hv_.ListDomains());
  std::map<std::string, const DomainInfo*> by_uuid;
  for (const auto& d : domains) by_uuid[d.uuid] = &d;
  StorageView storage;
  for (const api::StoragePool& p : answer.storage_pools) storage.pools[p.meta.id] = &p;
  for (const api::Volume& vol : answer.volumes) {
    storage.volumes[vol.meta.id] = &vol;
    if (!vol.vm_id.empty() && !vol.boot && !vol.deleting && !vol.device.empty() && vol.device != "vda") {
      storage.vm_volumes[vol.vm_id].push_back(&vol);
    }
  }
  attached_.clear();
  pass_nics_.clear();
  pass_nic_problems_.clear();
  for (const api::Port& port : answer.ports) {
    if (port.device_id.empty()) continue;
    NicSpec nic;
    nic.port_id = port.meta.id;
    nic.mac = port.mac_address;
    nic.bridge = options_.integration_bridge;
    if (Status s = ValidateNicSpec(nic); !s.ok()) {
      std::string& text = pass_nic_problems_[port.device_id];
      text += (text.empty() ? "" : "; ") + ("port " + port.meta.id + " cannot be a NIC: " + s.message());
      continue;
    }
    pass_nics_[port.device_id].push_back(std::move(nic));
  }

  ReconcileSummary summary;
  std::set<std::string> assigned;
  for (const api::Vm& v : answer.items) {
    if (Status ok = CheckWatchedVm(v, options_.host_id); !ok.ok()) {
      // Never a domain, a disk, a file or a deletion; the item is not "assigned" either, so a
      // domain of ours with that id is removed as an orphan, as for any VM not placed here.
      ++summary.errors;
      ++summary.refused;
      log::Error("refused a watched VM", {{"error", ok.message()}});
      Event(IsUuid(v.meta.id) ? v.meta.id : "", "item_refused", ok.message());
      continue;
    }
    assigned.insert(v.meta.id);
    ++summary.vms;
    auto it = by_uuid.find(v.meta.id);
    Phase p = ReconcileVm(v, it == by_uuid.end() ? nullptr : it->second, storage, summary);
    if (p.state == api::VmState::kError) ++summary.errors;
    Report(v, p, summary);
  }

  // Orphans: govpool domains of this host that the controller no longer assigns here.
  for (const auto& d : domains) {
    if (!d.owned || assigned.count(d.uuid)) continue;
    // Only domains whose metadata names this host are ours to clean up: a govpool domain
    // without a host id (a test's, a manual one) or another host's is left alone.
    auto host = d.metadata.find("host_id");
    if (host == d.metadata.end() || host->second != options_.host_id) continue;
    if (Status s = RemoveDomain(d.uuid, Active(d.state) || d.state == PowerState::kCrashed); !s.ok()) {
      log::Warn("cannot remove an orphaned domain", {{"domain", d.name}, {"error", s.ToString()}});
      ++summary.errors;
      continue;
    }
    ++summary.orphans_removed;
    Event(d.uuid, "orphan_removed", "domain " + d.name + " is not assigned to this host; removed it");
  }
  for (auto it = last_reported_.begin(); it != last_reported_.end();) {
    it = assigned.count(it->first) ? std::next(it) : last_reported_.erase(it);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    it = (assigned.count(*it) || by_uuid.count(*it)) ? std::next(it) : known_.erase(it);
  }
  // Events reach the controller in batches of at most 100; what fails stays for the next pass.
  while (!unsent_events_.empty()) {
    const size_t n = std::min<size_t>(unsent_events_.size(), 100);
    api::ReportEventsRequest req;
    for (size_t k = 0; k < n; ++k) {
      req.events.push_back({unsent_events_[k].vm_id, unsent_events_[k].kind, unsent_events_[k].message});
    }
    if (Status s = controller_.ReportEvents(options_.host_id, req); !s.ok()) {
      if (s.code() != StatusCode::kInvalidArgument) {
        log::Warn("cannot report events; will retry", {{"error", s.ToString()}});
        break;
      }
      // The controller refuses the batch as it is (a kind it does not know): it would refuse
      // it again, and the events behind it must not wait for ever.
      log::Error("the controller refused events; dropped them", {{"error", s.ToString()}, {"events", static_cast<std::int64_t>(n)}});
    }
    unsent_events_.erase(unsent_events_.begin(), unsent_events_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  summary.drift = pass_drift_;
  return summary;
}

Result<api::HostActualUsage> MeasureActualUsage(Hypervisor& hv) {
  GP_ASSIGN_OR_RETURN(std::vector<DomainInfo> domains, hv.ListDomains());
  api::HostActualUsage u;
  for (const DomainInfo& d : domains) {
    ++u.domains;
    if (d.owned) ++u.govpool_domains;
    if (!Active(d.state)) continue;
    ++u.running;
    u.vcpus += d.vcpus;
    u.memory_mib += d.memory_mib;
  }
  return u;
}

std::int64_t BusyMillicores(const std::optional<CpuSample>& before, const CpuSample& now) {
  if (!before || now.at <= before->at || now.cpu_time_ns < before->cpu_time_ns) return 0;
  const double wall_ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.at - before->at).count());
  return static_cast<std::int64_t>(static_cast<double>(now.cpu_time_ns - before->cpu_time_ns) / wall_ns * 1000);
}

std::vector<api::VmActualUsage> VmUseMeter::Measure(const std::vector<DomainStats>& domains, TimePoint now) {
  std::vector<api::VmActualUsage> out;
  std::unordered_map<std::string, CpuSample> current;
  for (const DomainStats& d : domains) {
    if (!Active(d.state)) continue;
    api::VmActualUsage use;
    use.vm_id = d.uuid;
    if (d.memory_used_bytes) use.memory_used_mib = std::max<std::int64_t>(0, *d.memory_used_bytes) >> 20;
    if (d.cpu_time_ns) {
      const CpuSample sample{now, *d.cpu_time_ns};
      auto before = previous_.find(d.uuid);
      use.cpu_busy_millicores =
          BusyMillicores(before == previous_.end() ? std::nullopt : std::optional(before->second), sample);
      current[d.uuid] = sample;
    }
    out.push_back(std::move(use));
  }
  previous_ = std::move(current);
  return out;
}

}  // namespace govpool::agent
