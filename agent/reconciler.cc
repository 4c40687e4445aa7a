#include "agent/reconciler.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

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

DomainSpec Reconciler::SpecFor(const api::Vm& v, std::int64_t reboots_done) const {
  DomainSpec spec;
  spec.uuid = v.meta.id;
  spec.name = DomainName(v.meta.id);
  spec.domain_type = options_.domain_type;
  spec.vcpus = std::max<std::int64_t>(1, v.vcpus);
  spec.memory_mib = std::max(v.memory_mib, options_.min_memory_mib);
  spec.disks.push_back({DiskPath(v.meta.id), "qcow2", "vda"});
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

void Reconciler::Event(const std::string& vm_id, const std::string& kind,
                       const std::string& message) {
  log::Warn("vm.drift", {{"vm_id", vm_id}, {"kind", kind}, {"message", message},
                         {"host_id", options_.host_id}});
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
  if (const std::string console = ConsolePath(uuid); !console.empty()) {
    std::error_code ec;
    std::filesystem::remove(console, ec);
  }
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
    std::error_code ec;
    if (const std::string console = ConsolePath(v.meta.id); !console.empty()) {
      std::filesystem::remove(console, ec);
    }
  }
  log::Info("vm cleaned up", {{"vm_id", v.meta.id}, {"host_id", options_.host_id}});
  return {api::VmState::kDeleted, "", v.generation};
}

Reconciler::Phase Reconciler::ReconcileVm(const api::Vm& v, const DomainInfo* current,
                                          ReconcileSummary& summary) {
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

  PowerState state = PowerState::kShutoff;
  std::int64_t reboots_done = v.reboot_count;
  bool fresh = false;
  if (!current) {
    if (known_.count(id)) {
      Event(id, "redefined", "domain " + DomainName(id) + " was undefined behind govpool's back; redefining it");
    } else if (v.state == api::VmState::kScheduled) {
      Report(v, {api::VmState::kBuilding, "", v.observed_generation}, summary);
    }
    if (Status s = hv_.CreateDisk(DiskPath(id), std::max<std::int64_t>(1, v.disk_gib)); !s.ok()) {
      return fail("creating the root disk", s);
    }
    if (Status s = hv_.DefineDomain(SpecFor(v, reboots_done)); !s.ok()) return fail("defining the domain", s);
    fresh = true;
  } else {
    state = current->state;
    reboots_done = ParseCount(current->metadata, "reboots_done", v.reboot_count);
    const DomainSpec spec = SpecFor(v, reboots_done);
    if (spec.metadata != current->metadata) {
      if (Status s = hv_.DefineDomain(spec); !s.ok()) return fail("updating the domain definition", s);
    }
  }
  known_.insert(id);

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
        if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count)); !s.ok()) return fail("recording the reboot", s);
      }
    } else if (state == PowerState::kPaused) {
      if (Status s = hv_.StartDomain(id); !s.ok()) return fail("resuming the domain", s);
    } else if (reboots_done < v.reboot_count) {
      // Record first, then reboot: at most once, even if the agent dies in between.
      if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count)); !s.ok()) return fail("recording the reboot", s);
      if (Status s = hv_.RebootDomain(id); !s.ok()) return fail("rebooting the domain", s);
      log::Info("vm rebooted", {{"vm_id", id}, {"reboot_count", v.reboot_count}});
    }
    last_power_[id] = PowerState::kRunning;
    return {api::VmState::kRunning, "", v.generation};
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
    if (Status s = hv_.DefineDomain(SpecFor(v, v.reboot_count)); !s.ok()) return fail("recording the reboot", s);
  }
  return {api::VmState::kStopped, "", v.generation};
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

Result<ReconcileSummary> Reconciler::Reconcile(const std::vector<api::Vm>& desired) {
  GP_ASSIGN_OR_RETURN(std::vector<DomainInfo> domains, hv_.ListDomains());
  std::map<std::string, const DomainInfo*> by_uuid;
  for (const auto& d : domains) by_uuid[d.uuid] = &d;

  ReconcileSummary summary;
  std::set<std::string> assigned;
  for (const api::Vm& v : desired) {
    assigned.insert(v.meta.id);
    ++summary.vms;
    auto it = by_uuid.find(v.meta.id);
    Phase p = ReconcileVm(v, it == by_uuid.end() ? nullptr : it->second, summary);
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
      log::Warn("cannot report events; will retry", {{"error", s.ToString()}});
      break;
    }
    unsent_events_.erase(unsent_events_.begin(), unsent_events_.begin() + static_cast<std::ptrdiff_t>(n));
  }
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

}  // namespace govpool::agent
