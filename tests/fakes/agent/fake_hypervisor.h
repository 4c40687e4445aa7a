// FakeHypervisor: an in-memory Hypervisor for tests and simulated hosts. Domains, power states
// and disks live in maps; guests "boot" and "power off" instantly (unless told to ignore ACPI).
// It follows the same contract as LibvirtHypervisor (tests/integration/agent runs one contract
// suite against both), and adds test controls:
//   - fault injection: FailNext(op, n, status) makes the next n calls of op return status
//     (before touching any state), like LevelDB's fault-injection env;
//   - drift: Simulate*BehindOurBack changes a domain the way an operator or a crash would;
//   - foreign domains (not owned by govpool) and inspection helpers.
// Thread-safety: every method is safe for concurrent use (one mutex).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/drivers/hypervisor.h"

namespace govpool::agent {

class FakeHypervisor final : public Hypervisor {
 public:
  enum class Op {
    kGetHostFacts,
    kListDomains,
    kGetDomain,
    kDefineDomain,
    kStartDomain,
    kShutdownDomain,
    kDestroyDomain,
    kRebootDomain,
    kUndefineDomain,
    kCreateDisk,
    kDeleteDisk,
    kEnsureCephSecret,
    kRemoveSecret,
    kAttachDisk,
    kDetachDisk,
    kResizeDisk,
    kAttachNic,
    kDetachNic,
    kGetDomainStats,
    kGetHostUsage,
  };
  static constexpr int kOpCount = 20;

  // A host with 8 CPUs, 16 GiB in one NUMA cell, domain types {"qemu"} (kvm not usable).
  FakeHypervisor();
  explicit FakeHypervisor(HostFacts facts);

  Result<HostFacts> GetHostFacts() override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  // A running guest reports its vCPUs, all its memory as used, no CPU time and idle disks and
  // NICs, unless SetGuestStats said otherwise; the host's memory available is its memory less
  // what running guests have.
  Result<std::vector<DomainStats>> GetDomainStats() override;
  Result<HostUsage> GetHostUsage() override;
  HypervisorConnection Connection() const override;
  Result<DomainInfo> GetDomain(const std::string& uuid) override;
  Status DefineDomain(const DomainSpec& spec) override;
  Status StartDomain(const std::string& uuid) override;
  Status ShutdownDomain(const std::string& uuid) override;
  Status DestroyDomain(const std::string& uuid) override;
  Status RebootDomain(const std::string& uuid) override;
  Status UndefineDomain(const std::string& uuid) override;
  Status CreateDisk(const std::string& path, std::int64_t size_gib) override;
  Status DeleteDisk(const std::string& path) override;
  Status EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                          const std::string& key_base64) override;
  Status RemoveSecret(const std::string& uuid) override;
  Status AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) override;
  Status DetachDisk(const std::string& domain_uuid, const std::string& target_dev) override;
  Status ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                    std::int64_t size_bytes) override;
  // NICs plug and unplug at once (a fake guest always releases a NIC).
  Status AttachNic(const std::string& domain_uuid, const NicSpec& nic) override;
  Status DetachNic(const std::string& domain_uuid, const std::string& port_id) override;

  // --- Test controls ---
  // What GetDomainStats reports for the domain while it runs (uuid, name and state are its own).
  void SetGuestStats(const std::string& uuid, DomainStats stats);
  void SetConnection(HypervisorConnection connection);
  // What GetHostUsage reports from now on (instead of the host's memory less running guests').
  void SetHostUsage(HostUsage usage);
  void SetHostFacts(HostFacts facts);
  // The next `times` calls of `op` fail with `status` (not OK) without side effects. Calls
  // queue up: FailNext(kStart, 1, A); FailNext(kStart, 2, B) fails once with A, twice with B.
  void FailNext(Op op, int times, Status status);
  // Every call of `op` fails with `status` until ClearFaults.
  void FailAlways(Op op, Status status);
  void ClearFaults();
  // Calls of `op` so far (failed ones included).
  int CallCount(Op op) const;
  // When true, guests ignore ACPI: ShutdownDomain and RebootDomain are accepted but change
  // nothing (like a guest without acpid). Default false.
  void SetGuestsIgnoreAcpi(bool ignore);
  // When true, running guests never release a disk: DetachDisk removes it from the definition
  // and returns kDeadlineExceeded while the live domain keeps it (as a guest that ignores the
  // unplug request does). Setting it back to false lets pending detaches complete (the next
  // DetachDisk, or GetDomain, sees them gone). Default false.
  void SetGuestsHoldDisks(bool hold);

  // Drift: the domain is powered off (as by `virsh destroy`). kNotFound if absent.
  Status SimulateDestroyedBehindOurBack(const std::string& uuid);
  // Drift: the domain is powered off and its definition removed (`virsh undefine`).
  Status SimulateUndefinedBehindOurBack(const std::string& uuid);
  // The guest crashed (state kCrashed until started again).
  Status SimulateCrash(const std::string& uuid);
  // A domain govpool does not own (no govpool metadata), e.g. one an operator made by hand.
  void AddForeignDomain(const std::string& uuid, const std::string& name, PowerState state);

  // Inspection.
  std::optional<DomainSpec> GetSpec(const std::string& uuid) const;  // as last defined
  int BootCount(const std::string& uuid) const;  // starts + reboots; 0 if absent
  bool HasDisk(const std::string& path) const;
  std::vector<std::string> Disks() const;
  // The ceph secret's usage name and key (base64) as last set; nullopt when absent.
  std::optional<std::pair<std::string, std::string>> GetSecret(const std::string& uuid) const;
  // The size the running guest was last told for `target_dev` by ResizeDisk; 0 if never.
  std::int64_t GuestDiskSizeBytes(const std::string& domain_uuid,
                                  const std::string& target_dev) const;

 private:
  struct Domain {
    DomainSpec spec;  // the persistent definition (its disks included)
    PowerState state = PowerState::kShutoff;
    bool owned = true;
    int boots = 0;
    std::vector<DiskSpec> live_disks;  // what the running guest has (set at start)
    std::vector<NicSpec> live_nics;    // likewise for NICs
    std::map<std::string, std::int64_t> guest_sizes;  // target -> bytes told by ResizeDisk
    std::set<std::string> detaching;  // targets whose unplug the guest has not acknowledged
  };
  std::map<std::string, DomainStats> guest_stats_;
  HypervisorConnection connection_;
  std::optional<HostUsage> host_usage_;
  struct Fault {
    int remaining = 0;  // < 0: forever
    Status status;
  };

  // Counts the call and returns the injected fault, if any. Requires mu_ held.
  Status Enter(Op op);
  DomainInfo Describe(const Domain& d) const;  // requires mu_ held
  // The domain or kNotFound / kInvalidArgument (bad uuid). Requires mu_ held.
  Result<Domain*> Find(const std::string& uuid);

  mutable std::mutex mu_;
  HostFacts facts_;
  std::map<std::string, Domain> domains_;  // by uuid
  std::map<std::string, std::int64_t> disks_;  // path -> size_gib
  std::array<std::deque<Fault>, kOpCount> faults_;
  std::array<int, kOpCount> calls_{};
  bool ignore_acpi_ = false;
  bool hold_disks_ = false;
  std::map<std::string, std::pair<std::string, std::string>> secrets_;  // uuid -> usage, key
};

}  // namespace govpool::agent
