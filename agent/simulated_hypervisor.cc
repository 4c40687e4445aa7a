#include "agent/simulated_hypervisor.h"

#include <utility>

#include "common/ids.h"

namespace govpool::agent {
namespace {

bool IsAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }
bool Active(PowerState s) { return s == PowerState::kRunning || s == PowerState::kPaused; }

}  // namespace

SimulatedHypervisor::SimulatedHypervisor(HostFacts facts) : facts_(std::move(facts)) {
  if (facts_.cpu_model.empty()) facts_.cpu_model = "simulated";
  if (facts_.numa_cells.empty()) facts_.numa_cells.push_back({0, facts_.cpus, facts_.memory_mib});
  if (facts_.domain_types.empty()) facts_.domain_types = {"qemu"};
}

DomainInfo SimulatedHypervisor::Describe(const Domain& d) {
  DomainInfo i;
  i.uuid = d.spec.uuid;
  i.name = d.spec.name;
  i.state = d.state;
  i.persistent = true;
  i.owned = true;  // defined through DefineDomain, which always writes govpool's metadata
  i.metadata = d.spec.metadata;
  i.vcpus = d.spec.vcpus;
  i.memory_mib = d.spec.memory_mib;
  return i;
}

Result<SimulatedHypervisor::Domain*> SimulatedHypervisor::Find(const std::string& uuid) {
  if (!IsUuid(uuid)) return InvalidArgument("bad domain uuid '" + uuid + "'");
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("domain " + uuid + " not found");
  return &it->second;
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
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  return Describe(*d);
}

Status SimulatedHypervisor::DefineDomain(const DomainSpec& spec) {
  GP_RETURN_IF_ERROR(ValidateDomainSpec(spec));
  std::lock_guard lock(mu_);
  for (const auto& [uuid, d] : domains_) {
    if (uuid != spec.uuid && d.spec.name == spec.name) {
      return AlreadyExists("domain name '" + spec.name + "' is already used by domain " + uuid);
    }
  }
  auto it = domains_.find(spec.uuid);
  if (it == domains_.end()) {
    domains_[spec.uuid] = Domain{spec, PowerState::kShutoff};
  } else {
    if (it->second.spec.name != spec.name) {
      return FailedPrecondition("domain " + spec.uuid + " is named '" + it->second.spec.name +
                                "'; renaming to '" + spec.name + "' is not supported");
    }
    it->second.spec = spec;
  }
  return OkStatus();
}

Status SimulatedHypervisor::StartDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  d->state = PowerState::kRunning;
  return OkStatus();
}

// A simulated guest honours ACPI at once.
Status SimulatedHypervisor::ShutdownDomain(const std::string& uuid) { return DestroyDomain(uuid); }

Status SimulatedHypervisor::DestroyDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  d->state = PowerState::kShutoff;
  return OkStatus();
}

Status SimulatedHypervisor::RebootDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (!Active(d->state)) {
    return FailedPrecondition("rebooting domain " + uuid + ": domain is not running");
  }
  return OkStatus();
}

Status SimulatedHypervisor::UndefineDomain(const std::string& uuid) {
  std::lock_guard lock(mu_);
  Result<Domain*> d = Find(uuid);
  if (!d.ok()) return d.status().code() == StatusCode::kNotFound ? OkStatus() : d.status();
  if (Active((*d)->state)) {
    return FailedPrecondition("undefining domain " + uuid + ": domain is active; destroy it first");
  }
  domains_.erase(uuid);
  return OkStatus();
}

Status SimulatedHypervisor::CreateDisk(const std::string& path, std::int64_t size_gib) {
  if (!IsAbsolute(path)) return InvalidArgument("disk path must be absolute: '" + path + "'");
  if (size_gib < 1) return InvalidArgument("disk size_gib must be >= 1");
  std::lock_guard lock(mu_);
  disks_.emplace(path, size_gib);  // keeps an existing disk untouched
  return OkStatus();
}

Status SimulatedHypervisor::DeleteDisk(const std::string& path) {
  if (!IsAbsolute(path)) return InvalidArgument("disk path must be absolute: '" + path + "'");
  std::lock_guard lock(mu_);
  disks_.erase(path);
  return OkStatus();
}

std::size_t SimulatedHypervisor::domain_count() const {
  std::lock_guard lock(mu_);
  return domains_.size();
}

bool SimulatedHypervisor::HasDisk(const std::string& path) const {
  std::lock_guard lock(mu_);
  return disks_.count(path) != 0;
}

}  // namespace govpool::agent
