#include "tests/fakes/agent/fake_hypervisor.h"

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
  if (d->state != PowerState::kPaused) ++d->boots;
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
