// State: the controller's whole state in memory (departments, flavors, hosts, VMs, users,
// tokens, idempotency records) with the indexes and derived counters (quota usage, host
// allocations through the scheduler) kept consistent by the Save*/Remove* methods, which also
// record each change in the transaction so Db can make it durable.
//
// Not synchronised: Db guards it (shared lock to read, exclusive to write).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "controller/store/state_store.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {

// One write transaction: the revision it writes at, its time, and the records it changed.
class Txn {
 public:
  Txn(std::int64_t revision, std::int64_t now_ms) : revision_(revision), now_ms_(now_ms) {}
  std::int64_t revision() const { return revision_; }
  std::int64_t now_ms() const { return now_ms_; }
  void Put(std::string kind, std::string id, std::string value) {
    mutations_.push_back({std::move(kind), std::move(id), std::move(value)});
  }
  void Delete(std::string kind, std::string id) {
    mutations_.push_back({std::move(kind), std::move(id), std::nullopt});
  }
  std::vector<Mutation>& mutations() { return mutations_; }

 private:
  std::int64_t revision_;
  std::int64_t now_ms_;
  std::vector<Mutation> mutations_;
};

using api::IdempotencyRecord;

// A change to a VM, for watchers (agents) of the VMs on a host.
struct VmEvent {
  std::int64_t revision = 0;
  std::string host_id;
  std::string vm_id;
};

// Placement outcomes since start (not durable; for metrics).
struct PlacementCounters {
  std::atomic<std::int64_t> placed{0};
  std::atomic<std::int64_t> no_valid_host{0};
  std::atomic<std::int64_t> quota_exceeded{0};
};

class State {
 public:
  explicit State(std::unique_ptr<scheduler::Scheduler> scheduler);

  // Rebuilds from a store's records. Internal when a record is corrupt.
  Status LoadRecord(const std::string& kind, const std::string& id, const std::string& value);
  // After all records are loaded: rebuilds derived data (usage, scheduler allocations).
  Status FinishLoad(std::int64_t revision);

  std::int64_t revision() const { return revision_; }
  void set_revision(std::int64_t r) { revision_ = r; }

  // Each Save stamps meta (revision, timestamps; id and created_at on first save), updates the
  // in-memory copy and indexes, and records the change in txn.
  void SaveDepartment(Txn& txn, api::Department& d);
  void RemoveDepartment(Txn& txn, const std::string& id);
  void SaveFlavor(Txn& txn, api::Flavor& f);
  void RemoveFlavor(Txn& txn, const std::string& id);
  void SaveHost(Txn& txn, api::Host& h);  // also updates the scheduler's host facts
  // Records a heartbeat in memory only (not durable; see Heartbeat in services).
  void TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                      const api::HostActualUsage* usage = nullptr);
  // After a load, hosts get a fresh heartbeat grace period from `now_ms`.
  void ResetHeartbeats(std::int64_t now_ms);
  void SaveVm(Txn& txn, api::Vm& v);      // also updates department usage
  void RemoveVm(Txn& txn, const std::string& id);  // releases the VM's allocation and usage
  void SaveServerGroup(Txn& txn, api::ServerGroup& g);
  void RemoveServerGroup(Txn& txn, const std::string& id);
  void SaveUser(Txn& txn, api::User& u);
  void SaveToken(Txn& txn, api::Token& t);
  void SaveIdempotency(Txn& txn, const IdempotencyRecord& r);
  void RemoveIdempotency(Txn& txn, const std::string& id);

  const std::map<std::string, api::Department>& departments() const { return departments_; }
  const std::map<std::string, api::Flavor>& flavors() const { return flavors_; }
  const std::map<std::string, api::Host>& hosts() const { return hosts_; }
  const std::map<std::string, api::Vm>& vms() const { return vms_; }
  const std::map<std::string, api::User>& users() const { return users_; }
  const std::map<std::string, api::ServerGroup>& server_groups() const { return server_groups_; }
  const std::map<std::string, api::Token>& tokens() const { return tokens_; }
  const std::map<std::string, IdempotencyRecord>& idempotency() const { return idempotency_; }

  const api::Department* FindDepartment(const std::string& id) const;
  const api::Department* FindDepartmentByName(const std::string& name) const;
  const api::Flavor* FindFlavor(const std::string& id_or_name) const;
  const api::Host* FindHost(const std::string& id) const;
  const api::Host* FindHostByName(const std::string& name) const;
  const api::Vm* FindVm(const std::string& id) const;
  bool VmNameTaken(const std::string& department_id, const std::string& name) const;
  const api::ServerGroup* FindServerGroup(const std::string& id) const;
  // Hosts of the group's current members, one entry per member.
  std::vector<std::string> ServerGroupMemberHosts(const std::string& group_id) const;
  std::int64_t ServerGroupMemberCount(const std::string& group_id) const;
  const api::User* FindUser(const std::string& id) const;
  const api::User* FindUserByName(const std::string& name) const;
  const api::Token* FindTokenBySecretHash(const std::string& sha256) const;
  const IdempotencyRecord* FindIdempotency(const std::string& id) const;

  // Usage counted against a department's quota (all resources; unused ones stay 0).
  api::Quota Usage(const std::string& department_id) const;
  // Department ids that own anything (VMs, users) — deletion is refused while owned.
  std::int64_t DepartmentObjectCount(const std::string& department_id) const;
  // Host allocation as seen by the scheduler, plus instance count.
  api::Host RenderHost(const api::Host& h) const;
  std::int64_t HostInstanceCount(const std::string& host_id) const;
  const std::map<std::string, std::int64_t>& vms_per_host() const { return vms_per_host_; }

  PlacementCounters& placement_counters() const { return placement_counters_; }
  scheduler::Scheduler& scheduler() { return *scheduler_; }
  const scheduler::Scheduler& scheduler() const { return *scheduler_; }

  // Agents' events (drift repairs...), oldest first; the last kMaxEvents, in memory only.
  static constexpr size_t kMaxEvents = 10'000;
  void AddEvent(api::Event e);
  const std::deque<api::Event>& events() const { return events_; }
  const std::map<std::string, std::int64_t>& event_counts() const { return event_counts_; }

  // Recent VM changes for watchers, oldest first (bounded).
  const std::deque<VmEvent>& vm_events() const { return vm_events_; }
  std::int64_t oldest_watchable_revision() const { return oldest_watchable_revision_; }

  static scheduler::HostSpec HostSpecOf(const api::Host& h);
  static scheduler::Assignment AssignmentOf(const api::Vm& v);

 private:
  void Stamp(Txn& txn, api::Meta& m);
  void AddUsage(const api::Vm& v, int sign);
  void RecordVmEvent(std::int64_t revision, const std::string& host_id, const std::string& vm_id);

  std::unique_ptr<scheduler::Scheduler> scheduler_;
  mutable PlacementCounters placement_counters_;
  std::int64_t revision_ = 0;
  std::map<std::string, api::Department> departments_;
  std::map<std::string, api::Flavor> flavors_;
  std::map<std::string, api::Host> hosts_;
  std::map<std::string, api::Vm> vms_;
  std::map<std::string, api::User> users_;
  std::map<std::string, api::ServerGroup> server_groups_;
  std::unordered_map<std::string, std::map<std::string, std::string>> group_members_;  // group -> vm -> host
  std::map<std::string, api::Token> tokens_;
  std::map<std::string, IdempotencyRecord> idempotency_;
  // Indexes and derived counters.
  std::unordered_map<std::string, std::string> department_by_name_;
  std::unordered_map<std::string, std::string> flavor_by_name_;
  std::unordered_map<std::string, std::string> host_by_name_;
  std::unordered_map<std::string, std::string> user_by_name_;
  std::unordered_map<std::string, std::string> token_by_hash_;
  std::map<std::pair<std::string, std::string>, std::string> vm_by_dept_name_;
  std::unordered_map<std::string, api::Quota> usage_;  // department id -> used
  std::unordered_map<std::string, std::int64_t> department_users_;
  std::map<std::string, std::int64_t> vms_per_host_;
  std::deque<VmEvent> vm_events_;
  std::deque<api::Event> events_;
  std::map<std::string, std::int64_t> event_counts_;  // kind -> events since start
  std::int64_t oldest_watchable_revision_ = 0;
};

}  // namespace govpool::controller
