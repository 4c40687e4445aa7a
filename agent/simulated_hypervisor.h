// SimulatedHypervisor: a light in-memory Hypervisor for `govpool-agent --simulate-hosts N`
// (control-plane scale tests): domains and disks in maps, guests boot and power off instantly,
// no fault injection (tests use FakeHypervisor from tests/fakes for that). Follows the
// Hypervisor contract for everything the reconciler relies on.
// Thread-safety: safe for concurrent use (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "agent/drivers/hypervisor.h"

namespace govpool::agent {

class SimulatedHypervisor final : public Hypervisor {
 public:
  explicit SimulatedHypervisor(HostFacts facts) : facts_(std::move(facts)) {}

  Result<HostFacts> GetHostFacts() override;
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

  std::size_t domain_count() const;

 private:
  struct Domain {
    DomainSpec spec;
    PowerState state = PowerState::kShutoff;
  };
  static DomainInfo Describe(const Domain& d);

  mutable std::mutex mu_;
  HostFacts facts_;
  std::map<std::string, Domain> domains_;
  std::map<std::string, std::int64_t> disks_;
};

}  // namespace govpool::agent
