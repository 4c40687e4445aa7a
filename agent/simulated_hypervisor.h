// SimulatedHypervisor: a light in-memory Hypervisor for `govpool-agent --simulate-hosts N`
// (control-plane scale tests): domains and disks in maps, guests boot and power off instantly,
// no fault injection (tests use FakeHypervisor from tests/fakes for that). It follows the
// Hypervisor contract and runs in its suite (tests/integration/agent/hypervisor_contract_test.cc),
// where its differences from a real host are spelled out: no guest runs, so nothing writes a
// console log; the host has no other writer, so every domain on it was defined through this
// object and is owned by govpool; ShutdownDomain and RebootDomain complete at once.
// Thread-safety: safe for concurrent use (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "agent/drivers/hypervisor.h"

namespace govpool::agent {

class SimulatedHypervisor final : public Hypervisor {
 public:
  // `facts` as GetHostFacts will return them, completed where empty: cpu_model "simulated",
  // one NUMA cell holding every CPU and all memory (as LibvirtHypervisor does for hosts that
  // report no topology), domain types {"qemu"}.
  explicit SimulatedHypervisor(HostFacts facts);

  Result<HostFacts> GetHostFacts() override;
  // A simulated guest uses no CPU time and all its memory; its disks and NICs carry nothing.
  // The host's memory available is its memory less what running guests have.
  Result<std::vector<DomainStats>> GetDomainStats() override;
  Result<HostUsage> GetHostUsage() override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  Result<DomainInfo> GetDomain(const std::string& uuid) override;
  Status DefineDomain(const DomainSpec& spec) override;
  Status StartDomain(const std::string& uuid) override;
  Status ShutdownDomain(const std::string& uuid) override;
  Status DestroyDomain(const std::string& uuid) override;
  Status RebootDomain(const std::string& uuid) override;
  Status UndefineDomain(const std::string& uuid) override;
  Status CreateDisk(const std::string& path, std::int64_t size_gib) override;
  Status DeleteDisk(const std::string& path) override;
  // Secrets are kept by uuid (usage name only; the key is not stored). Disks attach and
  // detach at once, running or not (a simulated guest always releases a disk); ResizeDisk
  // remembers the size it told a running guest (to refuse shrinking).
  Status EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                          const std::string& key_base64) override;
  Status RemoveSecret(const std::string& uuid) override;
  Status AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) override;
  Status DetachDisk(const std::string& domain_uuid, const std::string& target_dev) override;
  Status ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                    std::int64_t size_bytes) override;
  // NICs plug and unplug at once, running or not.
  Status AttachNic(const std::string& domain_uuid, const NicSpec& nic) override;
  Status DetachNic(const std::string& domain_uuid, const std::string& port_id) override;

  std::size_t domain_count() const;
  // True when CreateDisk made a disk at `path` and DeleteDisk has not removed it.
  bool HasDisk(const std::string& path) const;

 private:
  struct Domain {
    DomainSpec spec;
    PowerState state = PowerState::kShutoff;
    std::map<std::string, std::int64_t> disk_sizes = {};  // target -> bytes told by ResizeDisk
  };
  static DomainInfo Describe(const Domain& d);
  // The domain with this UUID: kInvalidArgument for a malformed UUID, kNotFound when absent.
  // Requires mu_.
  Result<Domain*> Find(const std::string& uuid);

  mutable std::mutex mu_;
  HostFacts facts_;
  std::map<std::string, Domain> domains_;
  std::map<std::string, std::int64_t> disks_;
  std::map<std::string, std::string> secrets_;  // uuid -> ceph usage name
};

}  // namespace govpool::agent
