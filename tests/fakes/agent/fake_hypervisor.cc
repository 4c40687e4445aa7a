#include "tests/fakes/agent/fake_hypervisor.h"

#include <algorithm>
#include <utility>

#include "common/ids.h"

namespace govpool::agent {
namespace {

HostFacts DefaultFacts() {
  HostFacts f;
  f.hostname = "fake-host";
  f.cpu_model = "fake-cpu";
  f.cpus = 8;
  f.memory_mib = 16384;
  f.numa_cells.push_back({0, 8, 16384});
  f.domain_types = {"qemu"};
  f.kvm_usable = false;
  return f;
}

bool IsAbsolute(const std::string& p) { return !p.empty() && p.front() == '/'; }


bool Active(PowerState s) { return s == PowerState::kRunning || s == PowerState::kPaused; }

bool IsBase64(const std::string& s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      ++pad;
    } else if (pad > 0 || !(alnum || c == '+' || c == '/')) {
      return false;
    }
  }
  return pad <= 2;
}

// As LibvirtHypervisor's AttachDisk: false when the target already holds the same source.
Result<bool> NeedsAttach(const std::vector<DiskSpec>& disks, const DiskSpec& disk,
                         const std::string& where) {
  for (const auto& d : disks) {
    const bool same = SameDiskSource(d, disk);
    if (d.target_dev == disk.target_dev) {
      if (same) return false;
      return FailedPrecondition("attaching disk: target " + disk.target_dev + " of " + where +
                                " already holds another disk")
          .WithReason("DISK_TARGET_TAKEN");
    }
    if (same) {
      return FailedPrecondition("attaching disk: " + where + " already has this source at " +
                                d.target_dev)
          .WithReason("DISK_ALREADY_ATTACHED");
    }
  }
  return true;
}

bool EraseTarget(std::vector<DiskSpec>& disks, const std::string& target) {
  const auto n = std::erase_if(disks, [&](const DiskSpec& d) { return d.target_dev == target; });
  return n > 0;
}

bool HasTarget(const std::vector<DiskSpec>& disks, const std::string& target) {
  return std::any_of(disks.begin(), disks.end(),
                     [&](const DiskSpec& d) { return d.target_dev == target; });
}

// As LibvirtHypervisor's AttachNic: false when the port is there with this MAC.
Result<bool> NicNeedsAttach(const std::vector<NicSpec>& nics, const NicSpec& nic,
                            const std::string& where) {
  for (const auto& n : nics) {
    if (n.port_id == nic.port_id && n.mac == nic.mac) return false;
    if (n.port_id == nic.port_id) {
      return FailedPrecondition("attaching NIC: " + where + " already has port " + nic.port_id +
                                " with MAC " + n.mac)
          .WithReason("NIC_PORT_TAKEN");
    }
    if (n.mac == nic.mac) {
      return FailedPrecondition("attaching NIC: MAC " + nic.mac +
                                " is already used by another NIC of " + where)
          .WithReason("NIC_MAC_TAKEN");
    }
  }
  return true;
}

}  // namespace

FakeHypervisor::FakeHypervisor() : FakeHypervisor(DefaultFacts()) {}
FakeHypervisor::FakeHypervisor(HostFacts facts) : facts_(std::move(facts)) {}

Status FakeHypervisor::Enter(Op op) {
  const auto i = static_cast<size_t>(op);
  ++calls_[i];
  auto& queue = faults_[i];
  if (queue.empty()) return OkStatus();
  Fault& f = queue.front();
  Status s = f.status;
  if (f.remaining > 0 && --f.remaining == 0) queue.pop_front();
  return s;
}

DomainInfo FakeHypervisor::Describe(const Domain& d) const {
  DomainInfo info;
  info.uuid = d.spec.uuid;
  info.name = d.spec.name;
  info.state = d.state;
  info.persistent = true;
  info.owned = d.owned;
  if (d.owned) info.metadata = d.spec.metadata;
  info.vcpus = d.spec.vcpus;
  info.memory_mib = d.spec.memory_mib;
  info.disks = Active(d.state) ? d.live_disks : d.spec.disks;
  info.nics = Active(d.state) ? d.live_nics : d.spec.nics;
  return info;
}

Result<FakeHypervisor::Domain*> FakeHypervisor::Find(const std::string& uuid) {
  if (!IsUuid(uuid)) return InvalidArgument("bad domain uuid '" + uuid + "'");
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return NotFound("Domain not found: no domain with uuid " + uuid);
  return &it->second;
}

Result<HostFacts> FakeHypervisor::GetHostFacts() {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kGetHostFacts));
  return facts_;
}

Result<std::vector<DomainInfo>> FakeHypervisor::ListDomains() {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kListDomains));
  std::vector<DomainInfo> out;
  out.reserve(domains_.size());
  for (const auto& [uuid, d] : domains_) out.push_back(Describe(d));
  return out;
}

Result<std::vector<DomainStats>> FakeHypervisor::GetDomainStats() {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kGetDomainStats));
  std::vector<DomainStats> out;
  for (const auto& [uuid, d] : domains_) {
    DomainStats s;
    if (d.state == PowerState::kRunning) {
      if (auto it = guest_stats_.find(uuid); it != guest_stats_.end()) {
        s = it->second;
      } else {
        s.cpu_time_ns = 0;
        s.vcpus = d.spec.vcpus;
        s.memory_bytes = d.spec.memory_mib << 20;
        s.memory_used_bytes = s.memory_bytes;
        for (const DiskSpec& disk : d.live_disks) s.disks.push_back({.target = disk.target_dev});
        for (const NicSpec& nic : d.live_nics) s.nics.push_back({.device = nic.port_id.substr(0, 14)});
      }
    }
    s.uuid = uuid;
    s.name = d.spec.name;
    s.state = d.state;
    out.push_back(std::move(s));
  }
  return out;
}

Result<HostUsage> FakeHypervisor::GetHostUsage() {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kGetHostUsage));
  if (host_usage_) return *host_usage_;
  HostUsage u;
  u.memory_total_bytes = facts_.memory_mib << 20;
  u.memory_available_bytes = u.memory_total_bytes;
  for (const auto& [uuid, d] : domains_) {
    if (d.state == PowerState::kRunning) u.memory_available_bytes -= d.spec.memory_mib << 20;
  }
  return u;
}

HypervisorConnection FakeHypervisor::Connection() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connection_;
}

void FakeHypervisor::SetGuestStats(const std::string& uuid, DomainStats stats) {
  std::lock_guard<std::mutex> lock(mu_);
  guest_stats_[uuid] = std::move(stats);
}

void FakeHypervisor::SetHostUsage(HostUsage usage) {
  std::lock_guard<std::mutex> lock(mu_);
  host_usage_ = usage;
}

void FakeHypervisor::SetConnection(HypervisorConnection connection) {
  std::lock_guard<std::mutex> lock(mu_);
  connection_ = connection;
}

Result<DomainInfo> FakeHypervisor::GetDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kGetDomain));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  return Describe(*d);
}

Status FakeHypervisor::DefineDomain(const DomainSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kDefineDomain));
  GP_RETURN_IF_ERROR(ValidateDomainSpec(spec));
  for (const auto& [uuid, d] : domains_) {
    if (d.spec.name == spec.name && uuid != spec.uuid) {
      return AlreadyExists("domain name '" + spec.name + "' is already used by domain " + uuid);
    }
  }
  auto it = domains_.find(spec.uuid);
  if (it == domains_.end()) {
    Domain d;
    d.spec = spec;
    domains_.emplace(spec.uuid, std::move(d));
    return OkStatus();
  }
  if (it->second.spec.name != spec.name) {
    return FailedPrecondition("domain " + spec.uuid + " is named '" + it->second.spec.name +
                              "'; renaming to '" + spec.name + "' is not supported");
  }
  it->second.spec = spec;
  it->second.owned = true;
  return OkStatus();
}

Status FakeHypervisor::StartDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kStartDomain));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (d->state == PowerState::kRunning) return OkStatus();
  if (d->state != PowerState::kPaused) {
    ++d->boots;
    d->live_disks = d->spec.disks;
    d->live_nics = d->spec.nics;
    d->guest_sizes.clear();
    d->detaching.clear();
  }
  d->state = PowerState::kRunning;
  return OkStatus();
}

Status FakeHypervisor::ShutdownDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kShutdownDomain));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (!Active(d->state)) return OkStatus();
  if (!ignore_acpi_) d->state = PowerState::kShutoff;
  return OkStatus();
}

Status FakeHypervisor::DestroyDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kDestroyDomain));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (Active(d->state)) d->state = PowerState::kShutoff;
  return OkStatus();
}

Status FakeHypervisor::RebootDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kRebootDomain));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  if (!Active(d->state)) {
    return FailedPrecondition("rebooting domain " + uuid + ": domain is not running");
  }
  if (!ignore_acpi_) ++d->boots;
  return OkStatus();
}

Status FakeHypervisor::UndefineDomain(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kUndefineDomain));
  Result<Domain*> d = Find(uuid);
  if (!d.ok()) return d.status().code() == StatusCode::kNotFound ? OkStatus() : d.status();
  if (Active((*d)->state)) {
    return FailedPrecondition("undefining domain " + uuid +
                              ": domain is running; destroy it first");
  }
  domains_.erase(uuid);
  return OkStatus();
}

Status FakeHypervisor::CreateDisk(const std::string& path, std::int64_t size_gib) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kCreateDisk));
  if (!IsAbsolute(path)) return InvalidArgument("disk path must be absolute: '" + path + "'");
  if (size_gib < 1) return InvalidArgument("disk size_gib must be >= 1");
  disks_.emplace(path, size_gib);  // keeps an existing disk untouched
  return OkStatus();
}

Status FakeHypervisor::DeleteDisk(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kDeleteDisk));
  if (!IsAbsolute(path)) return InvalidArgument("disk path must be absolute: '" + path + "'");
  disks_.erase(path);
  return OkStatus();
}

Status FakeHypervisor::EnsureCephSecret(const std::string& uuid, const std::string& usage_name,
                                        const std::string& key_base64) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kEnsureCephSecret));
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  if (usage_name.empty()) return InvalidArgument("empty secret usage name");
  if (!IsBase64(key_base64)) {
    return InvalidArgument("secret " + uuid + ": the ceph key is not base64 text");
  }
  auto it = secrets_.find(uuid);
  if (it != secrets_.end()) {
    if (it->second.first != usage_name) {
      return FailedPrecondition("secret " + uuid + " exists with usage ceph '" +
                                it->second.first + "', not '" + usage_name + "'");
    }
    it->second.second = key_base64;
    return OkStatus();
  }
  for (const auto& [other, secret] : secrets_) {
    if (secret.first == usage_name) {
      return AlreadyExists("ceph secret usage '" + usage_name + "' is already secret " + other);
    }
  }
  secrets_[uuid] = {usage_name, key_base64};
  return OkStatus();
}

Status FakeHypervisor::RemoveSecret(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kRemoveSecret));
  if (!IsUuid(uuid)) return InvalidArgument("bad secret uuid '" + uuid + "'");
  secrets_.erase(uuid);
  return OkStatus();
}

Status FakeHypervisor::AttachDisk(const std::string& domain_uuid, const DiskSpec& disk) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kAttachDisk));
  GP_RETURN_IF_ERROR(ValidateDiskSpec(disk));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  const std::string what = "domain " + domain_uuid;
  GP_ASSIGN_OR_RETURN(const bool need_config,
                      NeedsAttach(d->spec.disks, disk, "the definition of " + what));
  bool need_live = false;
  if (Active(d->state)) {
    GP_ASSIGN_OR_RETURN(need_live, NeedsAttach(d->live_disks, disk, "running " + what));
  }
  if (need_config) d->spec.disks.push_back(disk);
  if (need_live) d->live_disks.push_back(disk);
  return OkStatus();
}

Status FakeHypervisor::DetachDisk(const std::string& domain_uuid, const std::string& target_dev) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kDetachDisk));
  if (target_dev.empty()) return InvalidArgument("detaching disk: empty target");
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  EraseTarget(d->spec.disks, target_dev);
  if (!Active(d->state) || !HasTarget(d->live_disks, target_dev)) return OkStatus();
  if (hold_disks_) {
    d->detaching.insert(target_dev);
    return DeadlineExceeded("detaching disk " + target_dev + " of domain " + domain_uuid +
                            ": the guest has not released it; call again")
        .WithReason("DISK_DETACH_PENDING");
  }
  EraseTarget(d->live_disks, target_dev);
  d->guest_sizes.erase(target_dev);
  d->detaching.erase(target_dev);
  return OkStatus();
}

Status FakeHypervisor::ResizeDisk(const std::string& domain_uuid, const std::string& target_dev,
                                  std::int64_t size_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kResizeDisk));
  if (size_bytes < 1) return InvalidArgument("resizing disk: size_bytes must be >= 1");
  if (target_dev.empty()) return InvalidArgument("resizing disk: empty target");
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  const bool active = Active(d->state);
  if (!HasTarget(active ? d->live_disks : d->spec.disks, target_dev)) {
    return NotFound("resizing disk " + target_dev + " of domain " + domain_uuid +
                    ": no such disk");
  }
  if (!active) return OkStatus();
  std::int64_t& told = d->guest_sizes[target_dev];
  if (size_bytes < told) {
    return InvalidArgument("resizing disk " + target_dev + ": shrinking is not supported");
  }
  told = size_bytes;
  return OkStatus();
}

Status FakeHypervisor::AttachNic(const std::string& domain_uuid, const NicSpec& nic) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kAttachNic));
  GP_RETURN_IF_ERROR(ValidateNicSpec(nic));
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  const std::string what = "domain " + domain_uuid;
  GP_ASSIGN_OR_RETURN(const bool need_config,
                      NicNeedsAttach(d->spec.nics, nic, "the definition of " + what));
  bool need_live = false;
  if (Active(d->state)) {
    GP_ASSIGN_OR_RETURN(need_live, NicNeedsAttach(d->live_nics, nic, "running " + what));
  }
  if (need_config) d->spec.nics.push_back(nic);
  if (need_live) d->live_nics.push_back(nic);
  return OkStatus();
}

Status FakeHypervisor::DetachNic(const std::string& domain_uuid, const std::string& port_id) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_RETURN_IF_ERROR(Enter(Op::kDetachNic));
  if (port_id.empty()) return InvalidArgument("detaching NIC: empty port id");
  GP_ASSIGN_OR_RETURN(Domain * d, Find(domain_uuid));
  auto of_port = [&](const NicSpec& n) { return n.port_id == port_id; };
  std::erase_if(d->spec.nics, of_port);
  std::erase_if(d->live_nics, of_port);
  return OkStatus();
}

void FakeHypervisor::SetGuestsHoldDisks(bool hold) {
  std::lock_guard<std::mutex> lock(mu_);
  hold_disks_ = hold;
  if (hold) return;
  // Guests now release what they were asked to.
  for (auto& [uuid, d] : domains_) {
    for (const auto& target : d.detaching) {
      EraseTarget(d.live_disks, target);
      d.guest_sizes.erase(target);
    }
    d.detaching.clear();
  }
}

std::optional<std::pair<std::string, std::string>> FakeHypervisor::GetSecret(
    const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = secrets_.find(uuid);
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

std::int64_t FakeHypervisor::GuestDiskSizeBytes(const std::string& domain_uuid,
                                                const std::string& target_dev) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = domains_.find(domain_uuid);
  if (it == domains_.end()) return 0;
  auto size = it->second.guest_sizes.find(target_dev);
  return size == it->second.guest_sizes.end() ? 0 : size->second;
}

void FakeHypervisor::SetHostFacts(HostFacts facts) {
  std::lock_guard<std::mutex> lock(mu_);
  facts_ = std::move(facts);
}

void FakeHypervisor::FailNext(Op op, int times, Status status) {
  if (times <= 0 || status.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  faults_[static_cast<size_t>(op)].push_back({times, std::move(status)});
}

void FakeHypervisor::FailAlways(Op op, Status status) {
  if (status.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  faults_[static_cast<size_t>(op)].push_back({-1, std::move(status)});
}

void FakeHypervisor::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& q : faults_) q.clear();
}

int FakeHypervisor::CallCount(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

void FakeHypervisor::SetGuestsIgnoreAcpi(bool ignore) {
  std::lock_guard<std::mutex> lock(mu_);
  ignore_acpi_ = ignore;
}

Status FakeHypervisor::SimulateDestroyedBehindOurBack(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  d->state = PowerState::kShutoff;
  return OkStatus();
}

Status FakeHypervisor::SimulateUndefinedBehindOurBack(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  (void)d;
  domains_.erase(uuid);
  return OkStatus();
}

Status FakeHypervisor::SimulateCrash(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  GP_ASSIGN_OR_RETURN(Domain * d, Find(uuid));
  d->state = PowerState::kCrashed;
  return OkStatus();
}

void FakeHypervisor::AddForeignDomain(const std::string& uuid, const std::string& name,
                                      PowerState state) {
  std::lock_guard<std::mutex> lock(mu_);
  Domain d;
  d.spec.uuid = uuid;
  d.spec.name = name;
  d.state = state;
  d.owned = false;
  domains_[uuid] = std::move(d);
}

std::optional<DomainSpec> FakeHypervisor::GetSpec(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = domains_.find(uuid);
  if (it == domains_.end()) return std::nullopt;
  return it->second.spec;
}

int FakeHypervisor::BootCount(const std::string& uuid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = domains_.find(uuid);
  return it == domains_.end() ? 0 : it->second.boots;
}

bool FakeHypervisor::HasDisk(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  return disks_.count(path) > 0;
}

std::vector<std::string> FakeHypervisor::Disks() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [path, size] : disks_) out.push_back(path);
  return out;
}

}  // namespace govpool::agent
