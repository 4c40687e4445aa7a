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
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/types.h"
#include "controller/auth_activity.h"
#include "controller/ipam.h"
#include "controller/record_table.h"
#include "controller/store/state_store.h"
#include "controller/txn.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {

using api::IdempotencyRecord;

// A change to something a host's agent watches (a VM on it, or a volume, snapshot, image or
// storage pool whose work it does), for watchers of that host.
struct HostEvent {
  std::int64_t revision = 0;
  std::string host_id;
  std::string object_id;
  bool is_vm = true;  // the watch hub indexes VMs itself; other objects are indexed by State
};

// What one agent last said about one storage pool (memory only).
struct StoragePoolReach {
  bool reachable = false;
  std::string reason;
  api::StoragePoolStats stats;  // stats.reported_at_ms: when the report arrived
};

// Placement outcomes since start (not durable; for metrics).
struct PlacementCounters {
  std::atomic<std::int64_t> placed{0};
  std::atomic<std::int64_t> no_valid_host{0};
  std::atomic<std::int64_t> quota_exceeded{0};
  // no_valid_host refusals by the reason that rejected the most hosts (scheduler::Explanation).
  void CountRefusal(const std::string& reason);
  std::map<std::string, std::int64_t> refusals() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::int64_t> refusals_;  // guarded by mu_
};

// What one record counts against its department's quota, one line per quota resource it uses.
// Every record type with such an overload (and a department_id) is counted by State::Save and
// Remove, so a new counted resource adds a line here, or an overload for its record type.
api::Quota QuotaUsageOf(const api::Vm& v);
api::Quota QuotaUsageOf(const api::Volume& v);
api::Quota QuotaUsageOf(const api::VolumeSnapshot& s);
// A backup counts its volume's size while it runs and, once written, until it is gone; one
// that failed for good counts nothing.
api::Quota QuotaUsageOf(const api::Backup& b);
// A department's network counts `networks` (a shared one, with no department, counts nothing);
// a port counts `ports` against its own department.
api::Quota QuotaUsageOf(const api::Network& n);
api::Quota QuotaUsageOf(const api::Port& p);
// A security group counts `security_groups` (the automatic "default" one nothing); a router
// `routers`; a floating IP `floating_ips`. Ports of routers and floating IPs count no `ports`.
api::Quota QuotaUsageOf(const api::SecurityGroup& g);
api::Quota QuotaUsageOf(const api::Router& r);
api::Quota QuotaUsageOf(const api::FloatingIp& f);
// A server group counts `server_groups`.
api::Quota QuotaUsageOf(const api::ServerGroup& g);
// The name of the group every department gets (docs/networking.md, "Security groups").
inline constexpr const char* kDefaultSecurityGroup = "default";
// The id of the one auth policy record.
inline constexpr const char* kAuthPolicyId = "auth-policy";

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
  // Records a heartbeat in memory only (not durable; see Heartbeat in services), with the host's
  // measured use and its VMs' when given (`vms` replaces the host's previous VM report).
  void TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                      const api::HostActualUsage* usage = nullptr,
                      const std::vector<api::VmActualUsage>* vms = nullptr);
  // What agents measured, summed per department: the VMs of each department as the up host
  // they are placed on last reported them (a report naming a VM placed elsewhere, or another
  // host's VM, counts nothing).
  struct MeasuredUse {
    std::int64_t cpu_busy_millicores = 0;
    std::int64_t memory_used_mib = 0;
    std::int64_t vms = 0;  // VMs reported
  };
  std::map<std::string, MeasuredUse> MeasuredUseByDepartment() const;
  // After a load, hosts get a fresh heartbeat grace period from `now_ms`.
  void ResetHeartbeats(std::int64_t now_ms);

  const std::map<std::string, api::Department>& departments() const { return departments_.all(); }
  const std::map<std::string, api::Flavor>& flavors() const { return flavors_.all(); }
  const std::map<std::string, api::Host>& hosts() const { return hosts_.all(); }
  const std::map<std::string, api::Vm>& vms() const { return vms_.all(); }
  const std::map<std::string, api::User>& users() const { return users_.all(); }
  const std::map<std::string, api::ServerGroup>& server_groups() const { return server_groups_.all(); }
  const std::map<std::string, api::Token>& tokens() const { return tokens_.all(); }
  const std::map<std::string, api::Session>& sessions() const { return sessions_.all(); }
  const std::map<std::string, IdempotencyRecord>& idempotency() const { return idempotency_.all(); }
  const std::map<std::string, api::StoragePool>& storage_pools() const { return storage_pools_.all(); }
  const std::map<std::string, api::Volume>& volumes() const { return volumes_.all(); }
  const std::map<std::string, api::VolumeSnapshot>& snapshots() const { return snapshots_.all(); }
  const std::map<std::string, api::Image>& images() const { return images_.all(); }
  const std::map<std::string, api::BackupPolicy>& backup_policies() const { return backup_policies_.all(); }
  const std::map<std::string, api::Backup>& backups() const { return backups_.all(); }
  const std::map<std::string, api::Network>& networks() const { return networks_.all(); }
  const std::map<std::string, api::Subnet>& subnets() const { return subnets_.all(); }
  const std::map<std::string, api::Port>& ports() const { return ports_.all(); }
  const std::map<std::string, api::SecurityGroup>& security_groups() const { return security_groups_.all(); }
  const std::map<std::string, api::Router>& routers() const { return routers_.all(); }
  const std::map<std::string, api::FloatingIp>& floating_ips() const { return floating_ips_.all(); }

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
  // ---- Identity (docs/security.md, "People and sessions") ----
  const api::Token* FindToken(const std::string& id) const { return tokens_.Find(id); }
  const std::set<std::string>& TokensOfUser(const std::string& user_id) const;
  const api::Session* FindSession(const std::string& id) const { return sessions_.Find(id); }
  const api::Session* FindSessionBySecretHash(const std::string& sha256) const;
  const std::set<std::string>& SessionsOfUser(const std::string& user_id) const;
  // The stored auth policy, or the defaults while none was stored.
  api::AuthPolicy auth_policy() const;
  // Sign-in activity kept in memory only (last uses, failed logins); thread-safe itself.
  AuthActivity& auth_activity() const { return auth_activity_; }
  const IdempotencyRecord* FindIdempotency(const std::string& id) const { return idempotency_.Find(id); }
  // ---- Agent enrolment (docs/security.md, "TLS and agent enrolment") ----
  const std::map<std::string, api::HostEnrolment>& enrolments() const { return enrolments_.all(); }
  const api::HostEnrolment* FindEnrolmentBySecretHash(const std::string& sha256) const;
  const std::map<std::string, api::AgentCertificate>& agent_certificates() const { return agent_certificates_.all(); }
  const api::AgentCertificate* FindAgentCertificateBySerial(const std::string& serial) const;
  const std::set<std::string>& AgentCertificatesOfHost(const std::string& host_name) const;

  // ---- Capacity requests (docs/departments.md) ----
  const std::map<std::string, api::CapacityRequest>& capacity_requests() const { return capacity_requests_.all(); }
  const api::CapacityRequest* FindCapacityRequest(const std::string& id) const { return capacity_requests_.Find(id); }

  // ---- Webhooks (docs/departments.md, "Notifications") ----
  const std::map<std::string, api::Webhook>& webhooks() const { return webhooks_.all(); }
  const api::Webhook* FindWebhook(const std::string& id) const { return webhooks_.Find(id); }
  // The webhooks of `role` for department `department_id` ("": the platform's).
  const std::set<std::string>& WebhooksFor(api::WebhookRole role, const std::string& department_id) const;
  const std::map<std::string, api::WebhookDelivery>& webhook_deliveries() const { return webhook_deliveries_.all(); }
  const api::WebhookDelivery* FindWebhookDelivery(const std::string& id) const { return webhook_deliveries_.Find(id); }
  const std::set<std::string>& DeliveriesOfWebhook(const std::string& webhook_id) const;
  const std::set<std::string>& PendingWebhookDeliveries() const;

  // ---- Storage (docs/storage.md) ----
  const api::StoragePool* FindStoragePool(const std::string& id_or_name) const;
  const api::Volume* FindVolume(const std::string& id) const { return volumes_.Find(id); }
  const api::VolumeSnapshot* FindSnapshot(const std::string& id) const { return snapshots_.Find(id); }
  const api::Image* FindImage(const std::string& id) const { return images_.Find(id); }
  // An image by name: the department's own first, then a public one.
  const api::Image* FindImageByName(const std::string& department_id, const std::string& name) const;
  bool VolumeNameTaken(const std::string& department_id, const std::string& name) const;
  const api::Volume* FindVolumeByName(const std::string& department_id, const std::string& name) const;
  // Ids of the records whose work host `host_id`'s agent does ("": no agent yet).
  const std::set<std::string>& VolumesOfHost(const std::string& host_id) const;
  const std::set<std::string>& SnapshotsOfHost(const std::string& host_id) const;
  const std::set<std::string>& ImagesOfHost(const std::string& host_id) const;
  const std::set<std::string>& VolumesOfVm(const std::string& vm_id) const;
  const std::set<std::string>& SnapshotsOfVolume(const std::string& volume_id) const;
  // Backups (docs/storage.md, "Backups").
  const api::BackupPolicy* FindBackupPolicy(const std::string& id) const { return backup_policies_.Find(id); }
  const api::Backup* FindBackup(const std::string& id) const { return backups_.Find(id); }
  const std::set<std::string>& BackupsOfHost(const std::string& host_id) const;
  const std::set<std::string>& BackupsOfVolume(const std::string& volume_id) const;
  const std::set<std::string>& BackupPoliciesOfDepartment(const std::string& department_id) const;
  // Volumes cloned from a snapshot / an image (flattened ones included: check `flattened`).
  const std::set<std::string>& VolumesFromSnapshot(const std::string& snapshot_id) const;
  const std::set<std::string>& VolumesFromImage(const std::string& image_id) const;
  // Sum of the sizes of the pool's volumes, and their number.
  std::int64_t PoolAllocatedGib(const std::string& pool_id) const;
  std::int64_t PoolVolumeCount(const std::string& pool_id) const;
  // Records what host `host_id`'s agent says about its clusters' pools (memory only). When
  // the set of pools it reaches changes, the scheduler learns it (VMs on RBD disks go only
  // to hosts that reach their pool).
  void ReportStoragePools(const std::string& host_id, std::int64_t now_ms,
                          const std::vector<api::StoragePoolReport>& reports);
  // Pools (ids) the host's agent reached at its last report; empty when never reported.
  std::vector<std::string> ReachedStoragePools(const std::string& host_id) const;
  // Up hosts whose agent reaches the pool, by id.
  std::vector<std::string> HostsReachingPool(const std::string& pool_id) const;
  // The pool as the API shows it: stats from the freshest reachable report, status,
  // allocation, volume and host counts.
  api::StoragePool RenderStoragePool(const api::StoragePool& p) const;

  // ---- Networks (docs/networking.md, "Networks (controller side)") ----
  const api::Network* FindNetwork(const std::string& id) const { return networks_.Find(id); }
  const api::Subnet* FindSubnet(const std::string& id) const { return subnets_.Find(id); }
  const api::Port* FindPort(const std::string& id) const { return ports_.Find(id); }
  // The network named `name` of the department ("": shared networks).
  const api::Network* FindNetworkByName(const std::string& department_id, const std::string& name) const;
  const std::set<std::string>& SubnetsOfNetwork(const std::string& network_id) const;
  const std::set<std::string>& PortsOfNetwork(const std::string& network_id) const;
  // Ports whose device_id is the VM (its NICs; a VM's port_ids says their order).
  const std::set<std::string>& PortsOfVm(const std::string& vm_id) const;
  // The port with this MAC address (lower case), or nullptr.
  const api::Port* FindPortByMac(const std::string& mac) const;
  // The subnet's address bookkeeping (kept by Save/Remove of subnets and ports); nullptr when
  // the subnet does not exist.
  const ipam::Ipam* IpamOf(const std::string& subnet_id) const;
  // ---- Security groups, routers, floating IPs (docs/networking.md) ----
  const api::SecurityGroup* FindSecurityGroup(const std::string& id) const { return security_groups_.Find(id); }
  const api::SecurityGroup* FindSecurityGroupByName(const std::string& department_id, const std::string& name) const;
  // Ports whose security_group_ids name the group (kept by Save/Remove of ports).
  const std::set<std::string>& PortsOfSecurityGroup(const std::string& group_id) const;
  // Groups with a rule whose remote_group_id is `group_id`.
  std::vector<std::string> GroupsReferring(const std::string& group_id) const;
  api::SecurityGroup RenderSecurityGroup(const api::SecurityGroup& g) const;
  const api::Router* FindRouter(const std::string& id) const { return routers_.Find(id); }
  const api::Router* FindRouterByName(const std::string& department_id, const std::string& name) const;
  // Routers whose gateway is on the (external) network.
  const std::set<std::string>& RoutersOnGatewayNetwork(const std::string& network_id) const;
  // The router with an interface on the subnet, or nullptr.
  const api::Router* RouterOfSubnet(const std::string& subnet_id) const;
  const api::FloatingIp* FindFloatingIp(const std::string& id) const { return floating_ips_.Find(id); }
  const std::set<std::string>& FloatingIpsOfPort(const std::string& port_id) const;
  const std::set<std::string>& FloatingIpsOfRouter(const std::string& router_id) const;
  // The network / subnet as the API shows them (derived counts).
  api::Network RenderNetwork(const api::Network& n) const;
  api::Subnet RenderSubnet(const api::Subnet& sn) const;

  // Usage counted against a department's quota (every resource; see QuotaUsageOf).
  api::Quota Usage(const std::string& department_id) const;
  // The organisation tree (docs/departments.md): a department's children (ids), its ancestors
  // from the parent up, whether `ancestor_id` is one of them, and the usage of the department
  // and all its descendants (what its quota bounds).
  const std::set<std::string>& ChildrenOf(const std::string& department_id) const;
  std::vector<const api::Department*> AncestorsOf(const std::string& department_id) const;
  bool IsAncestor(const std::string& ancestor_id, const std::string& department_id) const;
  api::Quota SubtreeUsage(const std::string& department_id) const;
  // Objects a department owns (VMs, users, server groups, volumes, snapshots, images):
  // deletion is refused while owned.
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

  // Recent changes for watchers of hosts, oldest first (bounded).
  const std::deque<HostEvent>& host_events() const { return host_events_; }
  std::int64_t oldest_watchable_revision() const { return oldest_watchable_revision_; }

  // The scheduler's view of a host (with the storage pools its agent reaches).
  scheduler::HostSpec HostSpecOf(const api::Host& h) const;
  static scheduler::Assignment AssignmentOf(const api::Vm& v);

 private:
  void Stamp(Txn& txn, api::Meta& m);
  void AddUsage(const std::string& department_id, const api::Quota& amount, int sign);
  // IPAM bookkeeping: a subnet's Ipam from its pools and its ports' addresses; a port's
  // addresses taken (sign +1) or given back (-1).
  void RebuildIpam(const api::Subnet& sn);
  void TrackAddresses(const api::Port& p, int sign);
  // The security-group -> ports map (sign +1: the port names its groups, -1: no longer).
  void TrackSecurityGroups(const api::Port& p, int sign);
  // A change to a VM's port wakes the watchers of the VM's host.
  void RecordPortEvent(Txn& txn, const api::Port& p);
  void RecordHostEvent(std::int64_t revision, const std::string& host_id,
                       const std::string& object_id, bool is_vm);
  // Storage records' bookkeeping shared by Save and Remove (sign +1: added, -1: removed).
  template <class T>
  void TrackStorage(Txn& txn, const T& value, int sign);
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
  RecordTable<api::StoragePool> storage_pools_;
  RecordTable<api::Volume> volumes_;
  RecordTable<api::VolumeSnapshot> snapshots_;
  RecordTable<api::Image> images_;
  RecordTable<api::BackupPolicy> backup_policies_;
  RecordTable<api::Backup> backups_;
  RecordTable<api::Network> networks_;
  RecordTable<api::Subnet> subnets_;
  RecordTable<api::Port> ports_;
  RecordTable<api::SecurityGroup> security_groups_;
  RecordTable<api::Router> routers_;
  RecordTable<api::FloatingIp> floating_ips_;
  RecordTable<api::Session> sessions_;
  RecordTable<api::AuthPolicy> auth_policies_;  // at most one, id kAuthPolicyId
  RecordTable<api::HostEnrolment> enrolments_;
  RecordTable<api::AgentCertificate> agent_certificates_;
  RecordTable<api::CapacityRequest> capacity_requests_;
  RecordTable<api::Webhook> webhooks_;
  RecordTable<api::WebhookDelivery> webhook_deliveries_;
  mutable AuthActivity auth_activity_;
  // Derived data, kept by Save/Remove and rebuilt by FinishLoad.
  std::unordered_map<std::string, api::Quota> usage_;  // department id -> used
  std::unordered_map<std::string, api::HostActualUsage> host_reports_;  // host id -> last report
  std::unordered_map<std::string, std::vector<api::VmActualUsage>> vm_reports_;  // host id -> its VMs' last
  std::unordered_map<std::string, std::pair<std::int64_t, std::int64_t>> pool_allocation_;  // gib, volumes
  // pool id -> host id -> the host's last report about it.
  std::unordered_map<std::string, std::map<std::string, StoragePoolReach>> pool_reports_;
  std::unordered_map<std::string, ipam::Ipam> ipam_;  // subnet id -> its addresses
  std::unordered_map<std::string, std::set<std::string>> ports_of_group_;  // security group id -> port ids
  std::deque<HostEvent> host_events_;
  std::deque<api::Event> events_;
  std::map<std::string, std::int64_t> event_counts_;  // kind -> events since start
  std::int64_t oldest_watchable_revision_ = 0;
};

}  // namespace govpool::controller
