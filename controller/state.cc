#include "controller/state.h"

#include "api/codec.h"
#include "common/ids.h"

namespace govpool::controller {
namespace {

constexpr size_t kMaxVmEvents = 200'000;

template <typename T>
Status Decoded(Result<T> r, std::map<std::string, T>& into, const std::string& id) {
  if (!r.ok()) return Internal("corrupt record " + id + ": " + r.status().message());
  into[id] = std::move(r).value();
  return OkStatus();
}

}  // namespace

State::State(std::unique_ptr<scheduler::Scheduler> scheduler) : scheduler_(std::move(scheduler)) {}

scheduler::HostSpec State::HostSpecOf(const api::Host& h) {
  scheduler::HostSpec s;
  s.id = h.meta.id;
  s.name = h.name;
  s.pool = h.pool;
  s.up = h.status == "up";
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
  if (kind == "department") return Decoded(api::DecodeDepartment(value), departments_, id);
  if (kind == "flavor") return Decoded(api::DecodeFlavor(value), flavors_, id);
  if (kind == "host") return Decoded(api::DecodeHost(value), hosts_, id);
  if (kind == "vm") return Decoded(api::DecodeVm(value), vms_, id);
  if (kind == "user") return Decoded(api::DecodeUser(value), users_, id);
  if (kind == "server_group") return Decoded(api::DecodeServerGroup(value), server_groups_, id);
  if (kind == "token") return Decoded(api::DecodeToken(value), tokens_, id);
  if (kind == "idempotency") return Decoded(api::DecodeIdempotencyRecord(value), idempotency_, id);
  return Internal("unknown record kind '" + kind + "' (written by a newer controller?)");
}

Status State::FinishLoad(std::int64_t revision) {
  revision_ = revision;
  oldest_watchable_revision_ = revision;
  for (const auto& [id, d] : departments_) department_by_name_[d.name] = id;
  for (const auto& [id, f] : flavors_) flavor_by_name_[f.name] = id;
  for (const auto& [id, u] : users_) {
    user_by_name_[u.name] = id;
    if (!u.department_id.empty()) ++department_users_[u.department_id];
  }
  for (const auto& [id, t] : tokens_) token_by_hash_[t.secret_sha256] = id;
  for (const auto& [id, h] : hosts_) {
    host_by_name_[h.name] = id;
    scheduler_->UpsertHost(HostSpecOf(h));
  }
  for (const auto& [id, v] : vms_) {
    vm_by_dept_name_[{v.department_id, v.name}] = id;
    if (!v.server_group_id.empty()) group_members_[v.server_group_id][id] = v.host_id;
    AddUsage(v, +1);
    ++vms_per_host_[v.host_id];
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

void State::SaveDepartment(Txn& txn, api::Department& d) {
  Stamp(txn, d.meta);
  auto it = departments_.find(d.meta.id);
  if (it != departments_.end() && it->second.name != d.name) department_by_name_.erase(it->second.name);
  department_by_name_[d.name] = d.meta.id;
  departments_[d.meta.id] = d;
  txn.Put("department", d.meta.id, api::EncodeDepartment(d));
}

void State::RemoveDepartment(Txn& txn, const std::string& id) {
  auto it = departments_.find(id);
  if (it == departments_.end()) return;
  department_by_name_.erase(it->second.name);
  usage_.erase(id);
  // Record the delete before erasing: `id` may refer to the erased object's own id.
  txn.Delete("department", id);
  departments_.erase(it);
}

void State::SaveFlavor(Txn& txn, api::Flavor& f) {
  Stamp(txn, f.meta);
  flavor_by_name_[f.name] = f.meta.id;
  flavors_[f.meta.id] = f;
  txn.Put("flavor", f.meta.id, api::EncodeFlavor(f));
}

void State::RemoveFlavor(Txn& txn, const std::string& id) {
  auto it = flavors_.find(id);
  if (it == flavors_.end()) return;
  flavor_by_name_.erase(it->second.name);
  // Record the delete before erasing: `id` may refer to the erased object's own id.
  txn.Delete("flavor", id);
  flavors_.erase(it);
}

void State::SaveHost(Txn& txn, api::Host& h) {
  Stamp(txn, h.meta);
  host_by_name_[h.name] = h.meta.id;
  hosts_[h.meta.id] = h;
  scheduler_->UpsertHost(HostSpecOf(h));
  txn.Put("host", h.meta.id, api::EncodeHost(h));
}

void State::TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                           const api::HostActualUsage* usage) {
  auto it = hosts_.find(host_id);
  if (it == hosts_.end()) return;
  it->second.last_heartbeat_ms = now_ms;
  if (usage) {
    it->second.actual = *usage;
    it->second.actual.reported_at_ms = now_ms;
  }
}

void State::ResetHeartbeats(std::int64_t now_ms) {
  for (auto& [id, h] : hosts_) {
    if (!h.agent_user_id.empty()) h.last_heartbeat_ms = now_ms;
  }
}

void State::SaveVm(Txn& txn, api::Vm& v) {
  Stamp(txn, v.meta);
  auto it = vms_.find(v.meta.id);
  if (it == vms_.end()) {
    AddUsage(v, +1);
    ++vms_per_host_[v.host_id];
    vm_by_dept_name_[{v.department_id, v.name}] = v.meta.id;
    if (!v.server_group_id.empty()) group_members_[v.server_group_id][v.meta.id] = v.host_id;
  }
  vms_[v.meta.id] = v;
  txn.Put("vm", v.meta.id, api::EncodeVm(v));
  RecordVmEvent(txn.revision(), v.host_id, v.meta.id);
}

void State::RemoveVm(Txn& txn, const std::string& id) {
  auto it = vms_.find(id);
  if (it == vms_.end()) return;
  const api::Vm& v = it->second;
  // The allocation was committed when the VM was placed; giving it back cannot fail unless
  // the host is gone, in which case there is nothing left to give back.
  scheduler_->Release(AssignmentOf(v)).IgnoreError();
  AddUsage(v, -1);
  if (--vms_per_host_[v.host_id] == 0) vms_per_host_.erase(v.host_id);
  vm_by_dept_name_.erase({v.department_id, v.name});
  if (!v.server_group_id.empty()) {
    auto g = group_members_.find(v.server_group_id);
    if (g != group_members_.end()) {
      g->second.erase(id);
      if (g->second.empty()) group_members_.erase(g);
    }
  }
  RecordVmEvent(txn.revision(), v.host_id, id);
  // Record the delete before erasing: `id` may refer to the erased object's own id.
  txn.Delete("vm", id);
  vms_.erase(it);
}

void State::SaveServerGroup(Txn& txn, api::ServerGroup& g) {
  Stamp(txn, g.meta);
  server_groups_[g.meta.id] = g;
  txn.Put("server_group", g.meta.id, api::EncodeServerGroup(g));
}

void State::RemoveServerGroup(Txn& txn, const std::string& id) {
  if (server_groups_.erase(id)) txn.Delete("server_group", id);
}

std::vector<std::string> State::ServerGroupMemberHosts(const std::string& group_id) const {
  std::vector<std::string> hosts;
  auto it = group_members_.find(group_id);
  if (it == group_members_.end()) return hosts;
  for (const auto& [vm, host] : it->second) hosts.push_back(host);
  return hosts;
}

std::int64_t State::ServerGroupMemberCount(const std::string& group_id) const {
  auto it = group_members_.find(group_id);
  return it == group_members_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
}

void State::SaveUser(Txn& txn, api::User& u) {
  Stamp(txn, u.meta);
  if (!users_.count(u.meta.id) && !u.department_id.empty()) ++department_users_[u.department_id];
  user_by_name_[u.name] = u.meta.id;
  users_[u.meta.id] = u;
  txn.Put("user", u.meta.id, api::EncodeUser(u));
}

void State::SaveToken(Txn& txn, api::Token& t) {
  Stamp(txn, t.meta);
  token_by_hash_[t.secret_sha256] = t.meta.id;
  tokens_[t.meta.id] = t;
  txn.Put("token", t.meta.id, api::EncodeToken(t));
}

void State::SaveIdempotency(Txn& txn, const IdempotencyRecord& r) {
  idempotency_[r.id] = r;
  txn.Put("idempotency", r.id, api::EncodeIdempotencyRecord(r));
}

void State::RemoveIdempotency(Txn& txn, const std::string& id) {
  if (idempotency_.erase(id)) txn.Delete("idempotency", id);
}

void State::AddUsage(const api::Vm& v, int sign) {
  api::Quota& u = usage_.try_emplace(v.department_id, api::Quota{0, 0, 0, 0, 0, 0, 0}).first->second;
  u.instances += sign;
  u.vcpus += sign * v.vcpus;
  u.memory_mib += sign * v.memory_mib;
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

template <typename Map>
static const typename Map::mapped_type* FindIn(const Map& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? nullptr : &it->second;
}

const api::Department* State::FindDepartment(const std::string& id) const { return FindIn(departments_, id); }
const api::Department* State::FindDepartmentByName(const std::string& name) const {
  auto it = department_by_name_.find(name);
  return it == department_by_name_.end() ? nullptr : FindDepartment(it->second);
}
const api::Flavor* State::FindFlavor(const std::string& id_or_name) const {
  if (const api::Flavor* f = FindIn(flavors_, id_or_name)) return f;
  auto it = flavor_by_name_.find(id_or_name);
  return it == flavor_by_name_.end() ? nullptr : FindIn(flavors_, it->second);
}
const api::Host* State::FindHost(const std::string& id) const { return FindIn(hosts_, id); }
const api::Host* State::FindHostByName(const std::string& name) const {
  auto it = host_by_name_.find(name);
  return it == host_by_name_.end() ? nullptr : FindHost(it->second);
}
const api::Vm* State::FindVm(const std::string& id) const { return FindIn(vms_, id); }
bool State::VmNameTaken(const std::string& department_id, const std::string& name) const {
  return vm_by_dept_name_.count({department_id, name}) > 0;
}
const api::User* State::FindUser(const std::string& id) const { return FindIn(users_, id); }
const api::ServerGroup* State::FindServerGroup(const std::string& id) const {
  return FindIn(server_groups_, id);
}
const api::User* State::FindUserByName(const std::string& name) const {
  auto it = user_by_name_.find(name);
  return it == user_by_name_.end() ? nullptr : FindUser(it->second);
}
const api::Token* State::FindTokenBySecretHash(const std::string& sha256) const {
  auto it = token_by_hash_.find(sha256);
  return it == token_by_hash_.end() ? nullptr : FindIn(tokens_, it->second);
}
const IdempotencyRecord* State::FindIdempotency(const std::string& id) const {
  return FindIn(idempotency_, id);
}

api::Quota State::Usage(const std::string& department_id) const {
  auto it = usage_.find(department_id);
  return it == usage_.end() ? api::Quota{0, 0, 0, 0, 0, 0, 0} : it->second;
}

std::int64_t State::DepartmentObjectCount(const std::string& department_id) const {
  std::int64_t n = Usage(department_id).instances;
  for (const auto& [id, g] : server_groups_) n += g.department_id == department_id ? 1 : 0;
  auto it = department_users_.find(department_id);
  if (it != department_users_.end()) n += it->second;
  return n;
}

std::int64_t State::HostInstanceCount(const std::string& host_id) const {
  auto it = vms_per_host_.find(host_id);
  return it == vms_per_host_.end() ? 0 : it->second;
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
  return out;
}

}  // namespace govpool::controller
