#include "controller/state.h"

#include "api/codec.h"
#include "common/ids.h"

namespace govpool::controller {
namespace {

constexpr size_t kMaxVmEvents = 200'000;

// Secondary indexes, in the order each table declares them.
enum DepartmentIndex { kDepartmentByName };
enum FlavorIndex { kFlavorByName };
enum HostIndex { kHostByName };
enum VmIndex { kVmByDepartmentAndName, kVmByHost, kVmByGroup, kVmByDepartment };
enum UserIndex { kUserByName, kUserByDepartment };
enum ServerGroupIndex { kGroupByDepartment };
enum TokenIndex { kTokenBySecretHash };

template <class T>
std::string NameOf(const T& v) {
  return v.name;
}

}  // namespace

api::Quota QuotaUsageOf(const api::Vm& v) {
  api::Quota q = api::kZeroQuota;
  q.instances = 1;
  q.vcpus = v.vcpus;
  q.memory_mib = v.memory_mib;
  return q;
}

State::State(std::unique_ptr<scheduler::Scheduler> scheduler)
    : scheduler_(std::move(scheduler)),
      departments_("department", {&NameOf<api::Department>}),
      flavors_("flavor", {&NameOf<api::Flavor>}),
      hosts_("host", {&NameOf<api::Host>}),
      vms_("vm", {[](const api::Vm& v) { return v.department_id + "/" + v.name; },
                  [](const api::Vm& v) { return v.host_id; },
                  [](const api::Vm& v) { return v.server_group_id; },
                  [](const api::Vm& v) { return v.department_id; }}),
      users_("user", {&NameOf<api::User>, [](const api::User& u) { return u.department_id; }}),
      server_groups_("server_group", {[](const api::ServerGroup& g) { return g.department_id; }}),
      tokens_("token", {[](const api::Token& t) { return t.secret_sha256; }}),
      idempotency_("idempotency", {}) {}

template <> RecordTable<api::Department>& State::Table() { return departments_; }
template <> RecordTable<api::Flavor>& State::Table() { return flavors_; }
template <> RecordTable<api::Host>& State::Table() { return hosts_; }
template <> RecordTable<api::Vm>& State::Table() { return vms_; }
template <> RecordTable<api::User>& State::Table() { return users_; }
template <> RecordTable<api::ServerGroup>& State::Table() { return server_groups_; }
template <> RecordTable<api::Token>& State::Table() { return tokens_; }
template <> RecordTable<IdempotencyRecord>& State::Table() { return idempotency_; }

template <class F>
void State::ForEachTable(F&& f) {
  f(departments_), f(flavors_), f(hosts_), f(vms_), f(users_), f(server_groups_), f(tokens_),
      f(idempotency_);
}

scheduler::HostSpec State::HostSpecOf(const api::Host& h) {
  scheduler::HostSpec s;
  s.id = h.meta.id;
  s.name = h.name;
  s.pool = h.pool;
  s.up = h.status == api::HostStatus::kUp;
  s.enabled = h.enabled;
  s.maintenance = h.maintenance;
  s.capacity = {h.capacity.cpus, h.capacity.memory_mib, h.capacity.disk_gib};
  s.cpu_ratio = h.cpu_allocation_ratio;
  s.memory_ratio = h.memory_allocation_ratio;
  s.disk_ratio = h.disk_allocation_ratio;
  for (const auto& c : h.capacity.numa_cells) s.numa_cells.push_back({c.id, c.cpus, c.memory_mib});
  s.traits = h.traits;
  s.aggregates = h.aggregates;
  s.dedicated_departments = h.dedicated_departments;
  s.max_instances = h.max_instances;
  return s;
}

scheduler::Assignment State::AssignmentOf(const api::Vm& v) {
  scheduler::Assignment a;
  a.host_id = v.host_id;
  a.resources = {v.vcpus, v.memory_mib, v.disk_gib};
  for (const auto& n : v.numa) {
    a.numa.emplace_back(n.cell, scheduler::Resources{n.resources.vcpus, n.resources.memory_mib,
                                                     n.resources.disk_gib});
  }
  return a;
}

Status State::LoadRecord(const std::string& kind, const std::string& id, const std::string& value) {
  Status status = Internal("unknown record kind '" + kind + "' (written by a newer controller?)");
  ForEachTable([&](auto& table) {
    if (table.kind() == kind) status = table.Load(id, value);
  });
  return status;
}

Status State::FinishLoad(std::int64_t revision) {
  revision_ = revision;
  oldest_watchable_revision_ = revision;
  for (const auto& [id, h] : hosts_.all()) scheduler_->UpsertHost(HostSpecOf(h));
  ForEachTable([&](const auto& table) {
    for (const auto& [id, record] : table.all()) {
      if constexpr (requires { QuotaUsageOf(record); }) AddUsage(record.department_id, QuotaUsageOf(record), +1);
    }
  });
  for (const auto& [id, v] : vms_.all()) {
    Status s = scheduler_->Restore(AssignmentOf(v));
    if (!s.ok()) return s.Annotate("restoring allocation of vm " + id);
  }
  return OkStatus();
}

void State::Stamp(Txn& txn, api::Meta& m) {
  if (m.id.empty()) m.id = NewUuid();
  if (m.created_at_ms == 0) m.created_at_ms = txn.now_ms();
  m.updated_at_ms = txn.now_ms();
  m.revision = txn.revision();
}

template <class T>
void State::Save(Txn& txn, T& value) {
  if constexpr (requires { value.meta; }) Stamp(txn, value.meta);
  std::optional<T> previous = Table<T>().Put(txn, value);
  if constexpr (requires { QuotaUsageOf(value); }) {
    if (previous) AddUsage(previous->department_id, QuotaUsageOf(*previous), -1);
    AddUsage(value.department_id, QuotaUsageOf(value), +1);
  }
  if constexpr (std::is_same_v<T, api::Host>) {
    scheduler_->UpsertHost(HostSpecOf(value));
  } else if constexpr (std::is_same_v<T, api::Vm>) {
    RecordVmEvent(txn.revision(), value.host_id, value.meta.id);
  }
}

template <class T>
void State::Remove(Txn& txn, const std::string& id) {
  std::optional<T> removed = Table<T>().Erase(txn, id);
  if (!removed) return;
  if constexpr (requires { QuotaUsageOf(*removed); }) {
    AddUsage(removed->department_id, QuotaUsageOf(*removed), -1);
  }
  if constexpr (std::is_same_v<T, api::Department>) {
    usage_.erase(removed->meta.id);
  } else if constexpr (std::is_same_v<T, api::Host>) {
    host_reports_.erase(removed->meta.id);
  } else if constexpr (std::is_same_v<T, api::Vm>) {
    // The allocation was committed when the VM was placed; giving it back cannot fail unless
    // the host is gone, in which case there is nothing left to give back.
    scheduler_->Release(AssignmentOf(*removed)).IgnoreError();
    RecordVmEvent(txn.revision(), removed->host_id, removed->meta.id);
  }
}

#define GOVPOOL_STATE_RECORD(T)                     \
  template void State::Save<T>(Txn&, T&);           \
  template void State::Remove<T>(Txn&, const std::string&);
GOVPOOL_STATE_RECORD(api::Department)
GOVPOOL_STATE_RECORD(api::Flavor)
GOVPOOL_STATE_RECORD(api::Host)
GOVPOOL_STATE_RECORD(api::Vm)
GOVPOOL_STATE_RECORD(api::User)
GOVPOOL_STATE_RECORD(api::ServerGroup)
GOVPOOL_STATE_RECORD(api::Token)
GOVPOOL_STATE_RECORD(IdempotencyRecord)
#undef GOVPOOL_STATE_RECORD

void State::TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                           const api::HostActualUsage* usage) {
  // In memory only: the stored record is not rewritten for a heartbeat.
  api::Host* h = hosts_.FindForMemoryOnlyChange(host_id);
  if (!h) return;
  h->last_heartbeat_ms = now_ms;
  if (usage) {
    api::HostActualUsage& report = host_reports_[host_id];
    report = *usage;
    report.reported_at_ms = now_ms;
  }
}

void State::ResetHeartbeats(std::int64_t now_ms) {
  for (const auto& [id, h] : hosts_.all()) {
    if (!h.agent_user_id.empty()) hosts_.FindForMemoryOnlyChange(id)->last_heartbeat_ms = now_ms;
  }
}

std::vector<std::string> State::ServerGroupMemberHosts(const std::string& group_id) const {
  std::vector<std::string> hosts;
  for (const std::string& vm_id : vms_.IdsBy(kVmByGroup, group_id)) hosts.push_back(vms_.Find(vm_id)->host_id);
  return hosts;
}

std::int64_t State::ServerGroupMemberCount(const std::string& group_id) const {
  return static_cast<std::int64_t>(vms_.CountBy(kVmByGroup, group_id));
}

void State::AddUsage(const std::string& department_id, const api::Quota& amount, int sign) {
  api::Quota& u = usage_.try_emplace(department_id, api::kZeroQuota).first->second;
  for (const api::QuotaResource& r : api::kQuotaResources) u.*(r.limit) += sign * (amount.*(r.limit));
}

void State::AddEvent(api::Event e) {
  ++event_counts_[e.kind];
  events_.push_back(std::move(e));
  if (events_.size() > kMaxEvents) events_.pop_front();
}

void State::RecordVmEvent(std::int64_t revision, const std::string& host_id,
                          const std::string& vm_id) {
  vm_events_.push_back({revision, host_id, vm_id});
  if (vm_events_.size() > kMaxVmEvents) {
    oldest_watchable_revision_ = vm_events_.front().revision;
    vm_events_.pop_front();
  }
}

const api::Department* State::FindDepartmentByName(const std::string& name) const {
  return departments_.FindBy(kDepartmentByName, name);
}
const api::Flavor* State::FindFlavor(const std::string& id_or_name) const {
  if (const api::Flavor* f = flavors_.Find(id_or_name)) return f;
  return flavors_.FindBy(kFlavorByName, id_or_name);
}
const api::Host* State::FindHostByName(const std::string& name) const {
  return hosts_.FindBy(kHostByName, name);
}
bool State::VmNameTaken(const std::string& department_id, const std::string& name) const {
  return vms_.CountBy(kVmByDepartmentAndName, department_id + "/" + name) > 0;
}
const api::User* State::FindUserByName(const std::string& name) const {
  return users_.FindBy(kUserByName, name);
}
const api::Token* State::FindTokenBySecretHash(const std::string& sha256) const {
  return tokens_.FindBy(kTokenBySecretHash, sha256);
}

api::Quota State::Usage(const std::string& department_id) const {
  auto it = usage_.find(department_id);
  return it == usage_.end() ? api::kZeroQuota : it->second;
}

std::int64_t State::DepartmentObjectCount(const std::string& department_id) const {
  return static_cast<std::int64_t>(vms_.CountBy(kVmByDepartment, department_id) +
                                   users_.CountBy(kUserByDepartment, department_id) +
                                   server_groups_.CountBy(kGroupByDepartment, department_id));
}

std::int64_t State::HostInstanceCount(const std::string& host_id) const {
  return static_cast<std::int64_t>(vms_.CountBy(kVmByHost, host_id));
}

api::Host State::RenderHost(const api::Host& h) const {
  api::Host out = h;
  auto alloc = scheduler_->Allocated(h.meta.id);
  if (alloc.ok()) out.allocated = {alloc->vcpus, alloc->memory_mib, alloc->disk_gib};
  auto limit = [](std::int64_t cap, double ratio) {
    return static_cast<std::int64_t>(static_cast<double>(cap) * ratio);
  };
  out.free = {limit(h.capacity.cpus, h.cpu_allocation_ratio) - out.allocated.vcpus,
              limit(h.capacity.memory_mib, h.memory_allocation_ratio) - out.allocated.memory_mib,
              limit(h.capacity.disk_gib, h.disk_allocation_ratio) - out.allocated.disk_gib};
  out.instances = HostInstanceCount(h.meta.id);
  auto report = host_reports_.find(h.meta.id);
  out.actual = report == host_reports_.end() ? api::HostActualUsage{} : report->second;
  return out;
}

}  // namespace govpool::controller
