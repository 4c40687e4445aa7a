#include "agent/simulated_hypervisor.h"

#include <algorithm>
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
  i.disks = d.spec.disks;
  i.nics = d.spec.nics;
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

Result<std::vector<DomainStats>> SimulatedHypervisor::GetDomainStats() {
  std::lock_guard lock(mu_);
  std::vector<DomainStats> out;
  out.reserve(domains_.size());
  for (const auto& [uuid, d] : domains_) {
    DomainStats s;
    s.uuid = uuid;
    s.name = d.spec.name;
    s.state = d.state;
    if (d.state == PowerState::kRunning) {
      s.cpu_time_ns = 0;
      s.vcpus = d.spec.vcpus;
      s.memory_bytes = d.spec.memory_mib << 20;
      s.memory_used_bytes = s.memory_bytes;
      for (const DiskSpec& disk : d.spec.disks) s.disks.push_back({.target = disk.target_dev});
      for (const NicSpec& nic : d.spec.nics) s.nics.push_back({.device = nic.port_id.substr(0, 14)});
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<HostUsage> SimulatedHypervisor::GetHostUsage() {
  std::lock_guard lock(mu_);
  HostUsage u;
  u.memory_total_bytes = facts_.memory_mib << 20;
  u.memory_available_bytes = u.memory_total_bytes;
  for (const auto& [uuid, d] : domains_) {
    if (d.state == PowerState::kRunning) u.memory_available_bytes -= d.spec.memory_mib << 20;
  }
  u.memory_available_bytes = std::max<std::int64_t>(0, u.memory_available_bytes);
  return u;
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
    domains_[spec.uuid] = Domain{spec, PowerState::kShutoff, {}};
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
  if (!Active(d->state)) d->disk_sizes.clear();  // a booting guest reads sizes afresh
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

Status SimulatedHypervisor::EnsureCephSecret(const std::string& uuid,
                                             const std::string& usage_name,
                                             const std::string& key_base64) {
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  if (usage_name.empty()) return InvalidArgument("empty secret usage name");
  if (key_base64.empty() || key_base64.size() % 4 != 0 ||
      key_base64.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789+/=") != std::string::npos) {
    return InvalidArgument("secret " + uuid + ": the ceph key is not base64 text");
  }
  std::lock_guard lock(mu_);
  auto it = secrets_.find(uuid);
  if (it != secrets_.end()) {
    if (it->second != usage_name) {
      return FailedPrecondition("secret " + uuid + " exists with usage ceph '" + it->second +
                                "', not '" + usage_name + "'");
    }
    return OkStatus();
  }
  for (const auto& [other, name] : secrets_) {
    if (name == usage_name) {
      return AlreadyExists("ceph secret usage '" + usage_name + "' is already secret " + other);
    }
  }
  secrets_[uuid] = usage_name;
  return OkStatus();
}

Status SimulatedHypervisor::RemoveSecret(const std::string& uuid) {
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  std::lock_guard lock(mu_);
  secrets_.erase(uuid);
  return OkStatus();
}

Status SimulatedHypervisor::AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) {
  GP_RETURN_IF_ERROR(ValidateDiskSpec(disk));
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  for (const auto& existing : d->spec.disks) {
    const bool same = SameDiskSource(existing, disk);
    if (existing.target_dev == disk.target_dev) {
      if (same) return OkStatus();
      return FailedPrecondition("attaching disk: target " + disk.target_dev + " of domain " +
                                domain_uuid + " already holds another disk")
          .WithReason("DISK_TARGET_TAKEN");
    }
    if (same) {
      return FailedPrecondition("attaching disk: domain " + domain_uuid +
                                " already has this source at " + existing.target_dev)
          .WithReason("DISK_ALREADY_ATTACHED");
    }
  }
  d->spec.disks.push_back(disk);
  return OkStatus();
}

Status SimulatedHypervisor::DetachDisk(const std::string& domain_uuid,
                                       const std::string& target_dev) {
  if (target_dev.empty()) return InvalidArgument("detaching disk: empty target");
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  std::erase_if(d->spec.disks, [&](const DiskSpec& x) { return x.target_dev == target_dev; });
  d->disk_sizes.erase(target_dev);
  return OkStatus();
}

Status SimulatedHypervisor::AttachNic(const std::string& domain_uuid, const NicSpec& nic) {
  GP_RETURN_IF_ERROR(ValidateNicSpec(nic));
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  for (const auto& existing : d->spec.nics) {
    if (existing.port_id == nic.port_id && existing.mac == nic.mac) return OkStatus();
    if (existing.port_id == nic.port_id) {
      return FailedPrecondition("attaching NIC: domain " + domain_uuid + " already has port " +
                                nic.port_id + " with MAC " + existing.mac)
          .WithReason("NIC_PORT_TAKEN");
    }
    if (existing.mac == nic.mac) {
      return FailedPrecondition("attaching NIC: MAC " + nic.mac +
                                " is already used by another NIC of domain " + domain_uuid)
          .WithReason("NIC_MAC_TAKEN");
    }
  }
  d->spec.nics.push_back(nic);
  return OkStatus();
}

Status SimulatedHypervisor::DetachNic(const std::string& domain_uuid, const std::string& port_id) {
  if (port_id.empty()) return InvalidArgument("detaching NIC: empty port id");
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  std::erase_if(d->spec.nics, [&](const NicSpec& n) { return n.port_id == port_id; });
  return OkStatus();
}

Status SimulatedHypervisor::ResizeDisk(const std::string& domain_uuid,
                                       const std::string& target_dev, std::int64_t size_bytes) {
  if (size_bytes < 1) return InvalidArgument("resizing disk: size_bytes must be >= 1");
  if (target_dev.empty()) return InvalidArgument("resizing disk: empty target");
  std::lock_guard lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  for (const auto& disk : d->spec.disks) {
    if (disk.target_dev != target_dev) continue;
    if (!Active(d->state)) return OkStatus();
    std::int64_t& told = d->disk_sizes[target_dev];
    if (size_bytes < told) {
      return InvalidArgument("resizing disk " + target_dev + ": shrinking is not supported");
    }
    told = size_bytes;
    return OkStatus();
  }
  return NotFound("resizing disk " + target_dev + " of domain " + domain_uuid + ": no such disk");
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
