// FakeControllerClient: the controller side of the agent protocol, in memory, for tests of the
// Reconciler and the HostAgent. It holds the desired VMs (`vms`, answered by WatchVms as of
// `revision`), applies the agents' status reports to them, and records every call. Fault
// injection: each call of RegisterHost / Heartbeat / WatchVms first pops the front of its
// `*_failures` queue and, when that status is not OK, returns it without doing anything else
// (like FakeHypervisor::FailNext); `fail_reports` / `fail_events` fail every such call.
// Thread-safety: every method is safe from any thread (one mutex); read the public fields
// directly only while no other thread is calling (else through WithLock).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
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

  Status Heartbeat(const std::string& id, const api::HostActualUsage* usage) override {
    std::lock_guard lock(mu_);
    heartbeats.push_back({id, usage != nullptr});
    return Pop(heartbeat_failures);
  }

  Result<WatchAnswer> WatchVms(const std::string& id, std::int64_t after_revision,
                               int timeout_seconds) override {
    std::lock_guard lock(mu_);
    watches.push_back({id, after_revision, timeout_seconds});
    if (Status s = Pop(watch_failures); !s.ok()) return s;
    WatchAnswer answer;
    answer.revision = revision;
    for (const auto& [vm_id, v] : vms) answer.items.push_back(v);
    return answer;
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

  Status ReportEvents(const std::string&, const api::ReportEventsRequest& req) override {
    std::lock_guard lock(mu_);
    if (!fail_events.ok()) return fail_events;
    for (const auto& e : req.events) reported_events.push_back(e);
    return OkStatus();
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
  // Adds a desired VM (2 vCPUs, 256 MiB, 3 GiB) and returns it (valid until `vms` changes).
  api::Vm& Add(api::PowerState power = api::PowerState::kRunning) {
    std::lock_guard lock(mu_);
    api::Vm v;
    v.meta.id = NewUuid();
    v.name = "vm-" + std::to_string(vms.size());
    v.department_id = "dept-1";
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
  // Fault injection (see the file comment).
  std::deque<Status> register_failures;
  std::deque<Status> heartbeat_failures;
  std::deque<Status> watch_failures;
  Status fail_reports;
  Status fail_events;
  // What the agent sent, oldest first.
  std::vector<api::RegisterHostRequest> registrations;
  std::vector<HeartbeatCall> heartbeats;
  std::vector<WatchCall> watches;
  std::vector<std::pair<std::string, api::VmStatusReport>> reports;
  std::vector<api::EventReport> reported_events;

 private:
  static Status Pop(std::deque<Status>& failures) {
    if (failures.empty()) return OkStatus();
    Status s = failures.front();
    failures.pop_front();
    return s;
  }

  mutable std::mutex mu_;
};

}  // namespace govpool::agent
