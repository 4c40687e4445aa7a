// Reconciler: the agent's level-triggered reconcile loop body for one host. Each Reconcile()
// pass takes the host's whole desired set (from the controller's watch) and converges the
// hypervisor to it:
//   - every assigned VM has a persistent domain "govpool-<vm id>" with UUID = vm id, its vCPUs
//     and memory, a root disk, a serial console logged to a file, and govpool metadata (vm_id,
//     department_id, host_id, generation, reboots_done). The root disk is a qcow2 file in the
//     disk directory, or, for a VM booted from an image (root_volume_id), its root volume's RBD
//     image "govpool-vol-<id>" (no local disk): such a VM waits in phase `building` ("waiting
//     for root volume") until the StorageReconciler made the volume (available or in-use);
//   - volumes attached to a VM (vm_id = the VM, device vdb..) are plugged into its domain
//     (AttachDisk: hot-plugged while it runs) once they exist, and unplugged (DetachDisk) when
//     no longer listed with that VM; what each pass leaves plugged is attached_volumes(), which
//     the StorageReconciler reports as `in-use` / `available` (the one place volume states are
//     reported). A guest that has not released a disk yet keeps it until a later pass;
//   - its NICs are the ports whose device_id is the VM (answer.ports, in that order): each a
//     virtio NIC on the integration bridge with iface-id = port id (so ovn-controller binds
//     the OVN logical port) and the port's MAC; defined with the domain, hot-plugged
//     (AttachNic) into an existing one, and unplugged (DetachNic) when no longer listed;
//   - its power state is the one asked for (graceful ACPI shutdown, then a hard power-off
//     after the grace period); a reboot is performed when the VM's reboot_count is ahead of
//     the "reboots_done" recorded in the domain's own metadata (written before rebooting, so
//     an agent restart never reboots twice);
//   - with a seed dir, every VM has a cloud-init NoCloud seed (agent/cloud_init.h): the ISO
//     image seed_dir/govpool-<id>-seed.iso, rewritten only when its content changes, attached
//     as a read-only raw virtio disk at vdz (after every volume: the controller gives volumes
//     vdb..vdy); a domain defined without it gets it plugged in (AttachDisk);
//   - a deleting VM is destroyed, undefined, its disk, seed and console log removed, then reported
//     `deleted` with observed_generation = generation (the controller then drops the record);
//   - drift is repaired and recorded as an event: a govpool domain undefined or powered off
//     behind govpool's back is redefined / restarted; govpool domains whose metadata names this
//     host but that are no longer assigned to it (orphans) are removed. Domains without govpool
//     metadata, and govpool domains naming no host or another host, are never touched.
// Phases are reported (PUT /v1/vms/{id}/status) only when they differ from what the controller
// already shows and from the last report. A kUnavailable hypervisor skips the pass (nothing is
// reported: the next pass retries); other failures report phase `error` with the reason.
// The reconciler never restarts a running guest: a pass over a converged host makes no
// hypervisor writes.
//
// Thread-safety: not thread-safe; one Reconciler per host, driven by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include "agent/cloud_init.h"
#include "agent/controller_client.h"
#include "agent/drivers/hypervisor.h"
#include "agent/storage_reconciler.h"
#include "api/types.h"
#include "common/clock.h"
#include "common/status.h"

namespace govpool::agent {

struct ReconcilerOptions {
  std::string host_id;               // this host's id at the controller
  std::string domain_type = "qemu";  // "kvm" or "qemu" (see ChooseDomainType)
  std::string disk_dir;              // absolute: root disks govpool-<id>-root.qcow2
  std::string console_dir;           // absolute: serial logs govpool-<id>.log; empty: none
  std::string seed_dir;              // absolute: cloud-init seeds govpool-<id>-seed.iso; empty: none
  // Direct kernel boot (test guests); empty kernel: boot from the root disk.
  std::string kernel_path;
  std::string initrd_path;
  std::string kernel_cmdline = "console=ttyS0 panic=-1";
  std::int64_t shutdown_grace_ms = 30'000;  // ACPI shutdown, then hard power-off
  std::int64_t min_memory_mib = 0;          // raise smaller VMs to this (QEMU guests: 96+)
  // Ceph RBD disks (root volumes, attached volumes): the monitors as libvirt wants them
  // ("host:port", see ParseMonHosts), the cephx user without "client." and the UUID of the
  // libvirt secret holding its key (Hypervisor::EnsureCephSecret); user and secret empty
  // without cephx. No monitors: this agent has no Ceph, and VMs needing volumes are in error.
  std::vector<std::string> ceph_monitors;
  std::string ceph_auth_user;
  std::string ceph_secret_uuid;
  // The Open vSwitch bridge VM NICs go to: OVN's integration bridge.
  std::string integration_bridge = "br-int";
};

// A repaired drift or cleanup, also logged (event "vm.drift").
struct DriftEvent {
  std::string vm_id;
  std::string kind;  // "redefined" | "restarted" | "orphan_removed" | "item_refused"
  std::string message;
};

struct ReconcileSummary {
  int vms = 0;          // assigned VMs seen
  int reports = 0;      // status reports sent
  int errors = 0;       // VMs left in phase error (or with a failed report)
  int orphans_removed = 0;
  int refused = 0;      // watched VMs refused by CheckWatchedVm (counted in errors too)
  std::map<std::string, int> drift;  // drift repaired this pass, by DriftEvent kind
};

class Reconciler {
 public:
  Reconciler(Hypervisor& hypervisor, ControllerClient& controller, ReconcilerOptions options,
             const Clock& clock = SystemClock());

  // One pass over the host's whole desired set: its VMs (answer.items), and the volumes and
  // storage pools their disks need. Unavailable when the hypervisor cannot be listed (nothing
  // was done); otherwise OK (per-VM failures are reported as phase error and counted in the
  // summary).
  Result<ReconcileSummary> Reconcile(const api::WatchAnswer& answer);

  // The volumes whose disks the last pass left in this host's domains (volume id -> vm id).
  const VolumeAttachments& attached_volumes() const { return attached_; }

  // True while a VM is in a transition that needs a prompt re-check (a guest shutting down).
  bool busy() const { return !shutdown_started_.empty(); }

  // Drift events so far, oldest first (bounded to the last 1000). Each is also sent to the
  // controller at the end of the pass that made it (kept and retried next pass on failure).
  const std::vector<DriftEvent>& events() const { return events_; }

  // Names and paths the reconciler uses for a VM.
  static std::string DomainName(const std::string& vm_id) { return "govpool-" + vm_id; }
  std::string DiskPath(const std::string& vm_id) const;
  std::string ConsolePath(const std::string& vm_id) const;  // empty when no console dir
  std::string SeedPath(const std::string& vm_id) const;     // empty when no seed dir
  // The virtio target of the cloud-init seed disk: the last one (volumes get vdb..vdy).
  static constexpr char kSeedTarget[] = "vdz";

 private:
  struct Phase {
    std::optional<api::VmState> state;  // nullopt: nothing to report
    std::string reason;
    std::int64_t observed_generation = 0;
    bool operator==(const Phase&) const = default;
  };

  // A pass's lookups of the answer's storage records.
  struct StorageView {
    std::map<std::string, const api::Volume*> volumes;                    // by id
    std::map<std::string, std::vector<const api::Volume*>> vm_volumes;   // data volumes by vm id
    std::map<std::string, const api::StoragePool*> pools;                // by id
  };

  // Converges one VM; returns the phase to report.
  Phase ReconcileVm(const api::Vm& v, const DomainInfo* current, const StorageView& storage,
                    ReconcileSummary& summary);
  Phase Delete(const api::Vm& v, const DomainInfo* current);
  Status RemoveDomain(const std::string& uuid, bool active);
  DomainSpec SpecFor(const api::Vm& v, std::int64_t reboots_done, std::vector<DiskSpec> disks) const;
  // Writes the VM's cloud-init seed image when its content changed (or the file is gone) and
  // returns its read-only disk.
  Result<DiskSpec> SeedDisk(const api::Vm& v);
  // The NICs the VM should have (pass_nics_), and what is wrong with ports that cannot be one.
  std::vector<NicSpec> WantedNics(const std::string& vm_id) const;
  // Plugs and unplugs the VM's NICs in its existing domain; returns what went wrong (empty:
  // nothing).
  std::string ConvergeNics(const std::string& vm_id, const DomainInfo& current,
                           const std::vector<NicSpec>& wanted);
  // The RBD disk of a volume at `target`.
  Result<DiskSpec> RbdDisk(const api::Volume& volume, const std::string& target, const StorageView& storage) const;
  // Plugs and unplugs the VM's data volumes in its existing domain; adds what stays plugged to
  // attached_ and returns what went wrong (empty: nothing).
  std::string ConvergeDataDisks(const api::Vm& v, const DomainInfo& current, const std::vector<DiskSpec>& wanted);
  void RecordAttached(const std::string& vm_id, const std::vector<DiskSpec>& disks);
  void Report(const api::Vm& v, const Phase& p, ReconcileSummary& summary);
  void Event(const std::string& vm_id, const std::string& kind, const std::string& message);

  Hypervisor& hv_;
  ControllerClient& controller_;
  const ReconcilerOptions options_;
  const Clock& clock_;

  std::set<std::string> known_;                  // domains this agent has seen defined
  std::map<std::string, PowerState> last_power_; // power state we left each domain in
  std::map<std::string, std::chrono::steady_clock::time_point> shutdown_started_;
  std::map<std::string, Phase> last_reported_;
  std::vector<DriftEvent> events_;
  std::vector<DriftEvent> unsent_events_;
  std::map<std::string, int> pass_drift_;  // this pass's drift by kind (ReconcileSummary::drift)
  VolumeAttachments attached_;
  // The seed content last written (or found in place) per VM: an unchanged seed costs no
  // image build.
  std::map<std::string, CloudInitFiles> seeds_;
  // This pass's NICs by VM id (from answer.ports), and the ports that cannot be one.
  std::map<std::string, std::vector<NicSpec>> pass_nics_;
  std::map<std::string, std::string> pass_nic_problems_;
};

// What the hypervisor actually runs (ListDomains): every domain counts, govpool's or not, so
// the controller sees load it did not place. Unavailable when the hypervisor cannot be asked.
Result<api::HostActualUsage> MeasureActualUsage(Hypervisor& hv);

// A CPU time counter sampled at two instants: the CPUs busy in between, in thousandths of a CPU.
// 0 without an earlier sample, when no time passed, or when the counter went back (a restart).
struct CpuSample {
  std::chrono::steady_clock::time_point at;
  std::uint64_t cpu_time_ns = 0;
};
std::int64_t BusyMillicores(const std::optional<CpuSample>& before, const CpuSample& now);

// The running VMs' own use for heartbeats, from one bulk GetDomainStats per heartbeat: CPU busy
// since the previous heartbeat (from the change in each domain's CPU time; 0 at a domain's first
// sample, or when its counter went back, as after a restart) and memory in use. Domains that
// are not running are left out, and forgotten, as are domains the hypervisor no longer lists.
// Not synchronised: the heartbeat side owns it.
class VmUseMeter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  std::vector<api::VmActualUsage> Measure(const std::vector<DomainStats>& domains, TimePoint now);

 private:
  std::unordered_map<std::string, CpuSample> previous_;  // domain uuid -> its last sample
};

}  // namespace govpool::agent
