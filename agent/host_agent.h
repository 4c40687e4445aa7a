// HostAgent: the agent's control loop for one host, over the ControllerClient seam:
//   - register the host (POST /v1/hosts/register), retrying with exponential back-off, and
//     again whenever the controller answers NotFound for it (its record was deleted): when the
//     new registration has a new id, the Reconciler is rebuilt for it;
//   - heartbeat on schedule (every heartbeat_interval), with the host's actual usage;
//   - watch the VMs assigned to the host, passing the revision of the previous answer along so
//     the controller answers only when something changed (a long poll of watch_timeout_s, or in
//     poll mode one immediate answer every poll_interval), and reconcile the hypervisor to each
//     answer: the VMs (Reconciler), then the storage work (StorageReconciler, when the agent
//     has Ceph), which reports the volumes the VM pass plugged in as in-use, then the network
//     pass (HostNetwork, when the agent has --ovn-remote: the chassis, ovn-controller, the
//     ports' bindings). Nothing is
//     reconciled before the first successful watch; while the controller is away, passes
//     continue against the last set received. Heartbeats carry the host's actual usage and the
//     storage pass's latest reports on the cluster's storage pools.
// The loop is split into steps that each do what is due at the clock's current time and say
// when they next have work, so tests drive it with a FakeClock and no threads; Run() and
// RunAgents() are the thread loops the daemon uses.
//
// Thread-safety: Step() (the watch side) is driven by one thread at a time; HeartbeatStep()
// may run concurrently on another thread (Run() does this, each side with its own
// ControllerClient); the accessors are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/controller_client.h"
#include "agent/drivers/hypervisor.h"
#include "agent/host_network.h"
#include "agent/reconciler.h"
#include "agent/storage_reconciler.h"
#include "api/types.h"
#include "common/clock.h"
#include "common/result.h"

namespace govpool::agent {

// StopSignal: a stop flag with an interruptible wait. Thread-safe.
class StopSignal {
 public:
  void Stop();
  bool stopped() const;
  // Waits until `deadline` (a time of `clock`'s MonotonicNow) or Stop(). Returns false when
  // stopped. The wait itself is in real time: deadline - clock.MonotonicNow().
  bool WaitUntil(const Clock& clock, std::chrono::steady_clock::time_point deadline);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

// Makes the StorageReconciler for the host id the controller gave (reporting through the
// ControllerClient of Step(), like the Reconciler).
using StorageReconcilerFactory = std::function<std::unique_ptr<StorageReconciler>(const std::string& host_id)>;
// Makes the HostNetwork for the host id the controller gave (reporting through the
// ControllerClient of Step(), on the same thread: PortReporter).
using HostNetworkFactory = std::function<std::unique_ptr<HostNetwork>(const std::string& host_id)>;
// Sends a HostNetwork's port reports through `client` (PUT /v1/ports/{id}/status).
PortStatusReporter PortReporter(ControllerClient& client);

// One reconcile pass as HostAgentOptions::on_reconcile_pass sees it.
struct ReconcilePass {
  const api::WatchAnswer& desired;          // what the controller asked for
  std::chrono::nanoseconds duration;        // the VM, storage and network passes together
  const Result<ReconcileSummary>& summary;  // the VM pass's: an error when it could not run
};

struct HostAgentOptions {
  // Sent on every registration (at start and after NotFound).
  api::RegisterHostRequest registration;
  std::chrono::milliseconds heartbeat_interval{10'000};
  // First heartbeat this long after the first registration (negative: one interval; the
  // registration itself counts as a sign of life). Simulated hosts spread theirs with it.
  std::chrono::milliseconds first_heartbeat_delay{-1};
  // Watch: a long poll of up to watch_timeout_s (1 s while the reconciler is busy, e.g. a guest
  // shutting down). 0: poll mode, one immediate answer every poll_interval (100 ms after a pass
  // that sent reports, as they changed the VMs).
  int watch_timeout_s = 10;
  std::chrono::milliseconds poll_interval{1'000};
  std::chrono::milliseconds first_watch_delay{0};  // after the first registration
  // Back-off after a failed registration or watch: retry_initial, doubling up to retry_max;
  // back to retry_initial after a success. Also the pause after a reconcile pass that could
  // not reach the hypervisor.
  std::chrono::milliseconds retry_initial{1'000};
  std::chrono::milliseconds retry_max{10'000};
  // Called by Step() after each successful registration (e.g. to record the host id).
  std::function<void(const api::Host&)> on_registered;
  // Storage work (an agent with Ceph); empty: none, and heartbeats carry no pool reports.
  StorageReconcilerFactory make_storage_reconciler;
  // Tenant networks (an agent with --ovn-remote): the network pass after the VM and storage
  // passes, over the watch answer's ports; empty: none.
  HostNetworkFactory make_host_network;
  // Told about every reconcile pass, on the Step() thread (the agent's metrics); empty: nobody.
  std::function<void(const ReconcilePass&)> on_reconcile_pass;
};

// Makes the Reconciler for the host id the controller gave (the reconciler must report
// through the same ControllerClient that HostAgent's Step() uses, on the same thread).
using ReconcilerFactory = std::function<std::unique_ptr<Reconciler>(const std::string& host_id)>;

class HostAgent {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `controller` is used by Step() (and HeartbeatStep() through Tick()); `hypervisor` is only
  // measured for heartbeats (the reconcilers drive it). All references must outlive the agent.
  HostAgent(ControllerClient& controller, Hypervisor& hypervisor,
            ReconcilerFactory make_reconciler, const Clock& clock, HostAgentOptions options);

  // The watch side: does what is due now — register (while unregistered, after any back-off)
  // or one watch and one reconcile pass — and returns when it next has work (now when it can
  // go on at once, e.g. after a long poll answered). Failures of the controller or the
  // hypervisor are logged and retried later. Error: the controller refused the very first
  // registration for good (Unauthenticated, PermissionDenied, InvalidArgument): the agent
  // cannot work. (After a first success such refusals are logged and retried.)
  Result<TimePoint> Step();

  // The heartbeat side: sends the heartbeat through `client` when one is due. NotFound makes
  // Step() register again (and stops heartbeats until it has); other failures are logged and
  // the next heartbeat keeps its schedule. Returns when the next heartbeat is due, nullopt
  // while the host is not registered.
  std::optional<TimePoint> HeartbeatStep(ControllerClient& client);

  // Both sides from one thread over the agent's own client (poll mode, simulated hosts):
  // HeartbeatStep(), then Step(). Returns the earlier of their next times; errors as Step().
  Result<TimePoint> Tick();

  // Runs until `stop` or a fatal Step() error (returned; OK when stopped): Step() on this
  // thread, HeartbeatStep() on a second thread over `heartbeat_client` (so a long poll never
  // delays a heartbeat). A Step() in progress (a long poll) finishes first.
  Status Run(StopSignal& stop, ControllerClient& heartbeat_client);

  bool registered() const;
  std::string host_id() const;              // empty before the first registration
  std::int64_t revision() const;            // of the last watch answer; 0 after a failure
  const std::string& name() const { return options_.registration.name; }

 private:
  Result<TimePoint> Register(TimePoint now);
  TimePoint WatchAndReconcile();
  std::chrono::milliseconds NextBackoff();
  std::optional<TimePoint> NextHeartbeat() const;

  ControllerClient& controller_;
  Hypervisor& hypervisor_;
  ReconcilerFactory make_reconciler_;
  const Clock& clock_;
  const HostAgentOptions options_;

  // Watch side (the Step() thread only).
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<StorageReconciler> storage_reconciler_;
  std::unique_ptr<HostNetwork> host_network_;
  bool ever_registered_ = false;
  TimePoint register_not_before_{};
  TimePoint next_watch_{};
  std::chrono::milliseconds backoff_{0};
  bool have_desired_ = false;
  api::WatchAnswer desired_;
  std::atomic<std::int64_t> revision_{0};

  // Heartbeat side only: the host's CPU time at the previous heartbeat, and each VM's.
  std::optional<CpuSample> last_cpu_sample_;
  VmUseMeter vm_use_;

  // Shared with the heartbeat side.
  mutable std::mutex mu_;
  bool registered_ = false;  // false again after a NotFound until Step() re-registers
  std::string host_id_;
  TimePoint next_heartbeat_{};
  std::optional<std::vector<api::StoragePoolReport>> pool_reports_;  // the storage pass's latest
};

// Drives several poll-mode agents (watch_timeout_s 0) from one thread with Tick() until
// `stop` (simulated hosts: one thread serves many). Error: the first fatal Tick() error.
Status RunAgents(const std::vector<HostAgent*>& agents, const Clock& clock, StopSignal& stop);

// The registration of a host from its hypervisor's facts: CPUs and memory from `facts`,
// `disk_gib` as measured by the caller, and the NUMA cells only when they add up to the
// totals (a partial topology would make the scheduler's NUMA fit wrong).
api::RegisterHostRequest RegistrationFromFacts(const HostFacts& facts, std::string name,
                                               std::string pool, std::int64_t disk_gib);

}  // namespace govpool::agent
