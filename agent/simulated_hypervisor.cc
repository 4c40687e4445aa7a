#include "agent/simulated_hypervisor.h"

namespace govpool::agent {

DomainInfo SimulatedHypervisor::Describe(const Domain& d) {
  DomainInfo i;
  i.uuid = d.spec.uuid;
  i.name = d.spec.name;
  i.state = d.state;
  i.persistent = true;
  i.owned = !d.spec.metadata.empty();
  i.metadata = d.spec.metadata;
  i.vcpus = d.spec.vcpus;
  i.memory_mib = d.spec.memory_mib;
  return i;
}

Result<HostFacts> SimulatedHypervisor::GetHostFacts() {
  std::lock_guard lock(mu_);
  return facts_;
}

Result<std::vector<DomainInfo>> SimulatedHypervisor::ListDomains() {
  std::lock_guard lock(mu_);
  std::vector<DomainInfo> out;
  out.reserve(domains_.size());
  for (const auto& [uuid, d] : domains_) out.push_back(Describe(d));
  return out;
}

Result<DomainInfo> SimulatedHypervisor::GetDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("domain " + uuid + " not found");
  return Describe(it->second);
}

Status SimulatedHypervisor::DefineDomain(const DomainSpec& spec) {
  if (spec.uuid.empty() || spec.name.empty() || spec.vcpus < 1 || spec.memory_mib < 1) {
    return InvalidArgument("malformed domain spec");
  }
  std::lock_guard lock(mu_);
  for (const auto& [uuid, d] : domains_) {
    if (uuid != spec.uuid && d.spec.name == spec.name) return AlreadyExists("domain name " + spec.name + " is taken");
  }
  auto it = domains_.find(spec.uuid);
  if (it == domains_.end()) {
    domains_[spec.uuid] = Domain{spec, PowerState::kShutoff};
  } else {
    if (it->second.spec.name != spec.name) return FailedPrecondition("renaming a domain is not supported");
    it->second.spec = spec;
  }
  return OkStatus();
}

Status SimulatedHypervisor::StartDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("domain " + uuid + " not found");
  it->second.state = PowerState::kRunning;
  return OkStatus();
}

Status SimulatedHypervisor::ShutdownDomain(const std::string& uuid) { return DestroyDomain(uuid); }

Status SimulatedHypervisor::DestroyDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("domain " + uuid + " not found");
  it->second.state = PowerState::kShutoff;
  return OkStatus();
}

Status SimulatedHypervisor::RebootDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("domain " + uuid + " not found");
  if (it->second.state != PowerState::kRunning) return FailedPrecondition("domain is not running");
  return OkStatus();
}

Status SimulatedHypervisor::UndefineDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return OkStatus();
  if (it->second.state == PowerState::kRunning || it->second.state == PowerState::kPaused) {
    return FailedPrecondition("domain is active; destroy it first");
  }
  domains_.erase(it);
  return OkStatus();
}

Status SimulatedHypervisor::CreateDisk(const std::string& path, std::int64_t size_gib) {
  if (path.empty() || path[0] != '/') return InvalidArgument("disk path must be absolute");
  if (size_gib < 1) return InvalidArgument("disk size_gib must be >= 1");
  std::lock_guard lock(mu_);
  disks_.emplace(path, size_gib);
  return OkStatus();
}

Status SimulatedHypervisor::DeleteDisk(const std::string& path) {
  if (path.empty() || path[0] != '/') return InvalidArgument("disk path must be absolute");
  std::lock_guard lock(mu_);
  disks_.erase(path);
  return OkStatus();
}

std::size_t SimulatedHypervisor::domain_count() const {
  std::lock_guard lock(mu_);
  return domains_.size();
}

}  // namespace govpool::agent
