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
#include "controller/record_table.h"
#include "controller/store/state_store.h"
#include "controller/txn.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {

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

// What one record counts against its department's quota, one line per quota resource it uses.
// Every record type with such an overload (and a department_id) is counted by State::Save and
// Remove, so a new counted resource adds a line here, or an overload for its record type.
api::Quota QuotaUsageOf(const api::Vm& v);

class State {
 public:
  explicit State(std::unique_ptr<scheduler::Scheduler> scheduler);

  // Rebuilds from a store's records. Internal when a record is corrupt.
  Status LoadRecord(const std::string& kind, const std::string& id, const std::string& value);
  // After all records are loaded: rebuilds derived data (usage, scheduler allocations).
  Status FinishLoad(std::int64_t revision);

  std::int64_t revision() const { return revision_; }
  void set_revision(std::int64_t r) { revision_ = r; }

  // Saves a record: stamps its meta (revision, timestamps; id and created_at on first save),
  // updates the in-memory copy, its indexes and derived data (quota usage, the scheduler's
  // host facts and allocations, VM watch events), and records the change in txn.
  template <class T>
  void Save(Txn& txn, T& value);
  // Removes record `id` of type T (no-op when absent), with the same bookkeeping as Save: a
  // removed VM releases its allocation and usage.
  template <class T>
  void Remove(Txn& txn, const std::string& id);
  // Records a heartbeat in memory only (not durable; see Heartbeat in services).
  void TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                      const api::HostActualUsage* usage = nullptr);
  // After a load, hosts get a fresh heartbeat grace period from `now_ms`.
  void ResetHeartbeats(std::int64_t now_ms);

  const std::map<std::string, api::Department>& departments() const { return departments_.all(); }
  const std::map<std::string, api::Flavor>& flavors() const { return flavors_.all(); }
  const std::map<std::string, api::Host>& hosts() const { return hosts_.all(); }
  const std::map<std::string, api::Vm>& vms() const { return vms_.all(); }
  const std::map<std::string, api::User>& users() const { return users_.all(); }
  const std::map<std::string, api::ServerGroup>& server_groups() const { return server_groups_.all(); }
  const std::map<std::string, api::Token>& tokens() const { return tokens_.all(); }
  const std::map<std::string, IdempotencyRecord>& idempotency() const { return idempotency_.all(); }

  const api::Department* FindDepartment(const std::string& id) const { return departments_.Find(id); }
  const api::Department* FindDepartmentByName(const std::string& name) const;
  const api::Flavor* FindFlavor(const std::string& id_or_name) const;
  const api::Host* FindHost(const std::string& id) const { return hosts_.Find(id); }
  const api::Host* FindHostByName(const std::string& name) const;
  const api::Vm* FindVm(const std::string& id) const { return vms_.Find(id); }
  bool VmNameTaken(const std::string& department_id, const std::string& name) const;
  const api::ServerGroup* FindServerGroup(const std::string& id) const { return server_groups_.Find(id); }
  // Hosts of the group's current members, one entry per member.
  std::vector<std::string> ServerGroupMemberHosts(const std::string& group_id) const;
  std::int64_t ServerGroupMemberCount(const std::string& group_id) const;
  const api::User* FindUser(const std::string& id) const { return users_.Find(id); }
  const api::User* FindUserByName(const std::string& name) const;
  const api::Token* FindTokenBySecretHash(const std::string& sha256) const;
  const IdempotencyRecord* FindIdempotency(const std::string& id) const { return idempotency_.Find(id); }

  // Usage counted against a department's quota (every resource; see QuotaUsageOf).
  api::Quota Usage(const std::string& department_id) const;
  // Objects a department owns (VMs, users, server groups): deletion is refused while owned.
  std::int64_t DepartmentObjectCount(const std::string& department_id) const;
  // The host as the API shows it: with its derived fields (allocation as the scheduler sees
  // it, free capacity, instance count, the agent's last report).
  api::Host RenderHost(const api::Host& h) const;
  std::int64_t HostInstanceCount(const std::string& host_id) const;

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
  void AddUsage(const std::string& department_id, const api::Quota& amount, int sign);
  void RecordVmEvent(std::int64_t revision, const std::string& host_id, const std::string& vm_id);
  template <class T>
  RecordTable<T>& Table();
  // Calls f(table) for every record table.
  template <class F>
  void ForEachTable(F&& f);

  std::unique_ptr<scheduler::Scheduler> scheduler_;
  mutable PlacementCounters placement_counters_;
  std::int64_t revision_ = 0;
  // The records, one table per kind, with their secondary indexes (kBy* below).
  RecordTable<api::Department> departments_;
  RecordTable<api::Flavor> flavors_;
  RecordTable<api::Host> hosts_;
  RecordTable<api::Vm> vms_;
  RecordTable<api::User> users_;
  RecordTable<api::ServerGroup> server_groups_;
  RecordTable<api::Token> tokens_;
  RecordTable<IdempotencyRecord> idempotency_;
  // Derived data, kept by Save/Remove and rebuilt by FinishLoad.
  std::unordered_map<std::string, api::Quota> usage_;  // department id -> used
  std::unordered_map<std::string, api::HostActualUsage> host_reports_;  // host id -> last report
  std::deque<VmEvent> vm_events_;
  std::deque<api::Event> events_;
  std::map<std::string, std::int64_t> event_counts_;  // kind -> events since start
  std::int64_t oldest_watchable_revision_ = 0;
};

}  // namespace govpool::controller
