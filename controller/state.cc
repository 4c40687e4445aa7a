#include "controller/state.h"

#include <algorithm>

#include "api/codec.h"
#include "common/ids.h"

namespace govpool::controller {

void PlacementCounters::CountRefusal(const std::string& reason) {
  std::lock_guard lock(mu_);
  ++refusals_[reason];
}

std::map<std::string, std::int64_t> PlacementCounters::refusals() const {
  std::lock_guard lock(mu_);
  return refusals_;
}
namespace {

constexpr size_t kMaxHostEvents = 200'000;
const std::set<std::string> kNoIds;

// Secondary indexes, in the order each table declares them.
enum DepartmentIndex { kDepartmentByName, kDepartmentByParent };
enum FlavorIndex { kFlavorByName };
enum HostIndex { kHostByName };
enum VmIndex { kVmByDepartmentAndName, kVmByHost, kVmByGroup, kVmByDepartment };
enum UserIndex { kUserByName, kUserByDepartment };
enum ServerGroupIndex { kGroupByDepartment };
enum TokenIndex { kTokenBySecretHash, kTokenByUser };
enum SessionIndex { kSessionBySecretHash, kSessionByUser };
enum EnrolmentIndex { kEnrolmentBySecretHash };
enum AgentCertificateIndex { kAgentCertificateBySerial, kAgentCertificateByHost };
enum StoragePoolIndex { kStoragePoolByName };
enum VolumeIndex { kVolumeByDepartmentAndName, kVolumeByHost, kVolumeByVm, kVolumeBySnapshot, kVolumeByImage, kVolumeByDepartment };
enum SnapshotIndex { kSnapshotByHost, kSnapshotByVolume, kSnapshotByDepartment };
enum ImageIndex { kImageByDepartmentAndName, kImageByHost, kImageByDepartment };
enum BackupPolicyIndex { kBackupPolicyByDepartment };
enum BackupIndex { kBackupByHost, kBackupByVolume, kBackupByDepartment };
enum CapacityRequestIndex { kCapacityRequestByDepartment };
enum WebhookIndex { kWebhookByAudience };
enum WebhookDeliveryIndex { kDeliveryByWebhook, kDeliveryPending };

// A webhook's audience key: its role and department ("approver/" is the platform's).
std::string WebhookAudience(api::WebhookRole role, const std::string& department_id) {
  return std::string(api::ToString(role)) + "/" + department_id;
}
enum NetworkIndex { kNetworkByDepartmentAndName, kNetworkByDepartment };
enum SubnetIndex { kSubnetByNetwork };
enum PortIndex { kPortByNetwork, kPortByMac, kPortByDepartment, kPortByDevice };
enum SecurityGroupIndex { kSecurityGroupByDepartmentAndName, kSecurityGroupByDepartment };
enum RouterIndex { kRouterByDepartmentAndName, kRouterByDepartment, kRouterByGatewayNetwork };
enum FloatingIpIndex { kFloatingIpByDepartment, kFloatingIpByPort, kFloatingIpByRouter };

// Records whose changes wake the watchers of the host doing their work (TrackStorage).
template <class T>
constexpr bool kIsStorageRecord =
    std::is_same_v<T, api::StoragePool> || std::is_same_v<T, api::Volume> ||
    std::is_same_v<T, api::VolumeSnapshot> || std::is_same_v<T, api::Image> || std::is_same_v<T, api::Backup>;

// The host index key of storage work: records no agent took yet are indexed too (RecordTable
// skips empty keys), under a key no host id (a UUID) can be, so the housekeeper finds them
// without a scan.
constexpr const char* kNoHostKey = "(no host)";
std::string HostKey(const std::string& host_id) { return host_id.empty() ? kNoHostKey : host_id; }

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

api::Quota QuotaUsageOf(const api::Volume& v) {
  api::Quota q = api::kZeroQuota;
  q.volumes = 1;
  q.volume_gib = v.size_gib;
  return q;
}

api::Quota QuotaUsageOf(const api::VolumeSnapshot&) {
  api::Quota q = api::kZeroQuota;
  q.snapshots = 1;
  return q;
}

api::Quota QuotaUsageOf(const api::Backup& b) {
  api::Quota q = api::kZeroQuota;
  // Reserved while it runs, held once written (until gone); a backup that failed for good
  // (never completed) holds nothing, also while its leftovers are deleted.
  if (b.state == api::BackupState::kCreating || b.completed_at_ms > 0) q.backup_gib = b.size_gib;
  return q;
}

api::Quota QuotaUsageOf(const api::Network& n) {
  api::Quota q = api::kZeroQuota;
  if (!n.department_id.empty()) q.networks = 1;
  return q;
}

api::Quota QuotaUsageOf(const api::Port& p) {
  api::Quota q = api::kZeroQuota;
  if (p.device_owner.empty()) q.ports = 1;  // routers' and floating IPs' ports count there
  return q;
}

api::Quota QuotaUsageOf(const api::SecurityGroup& g) {
  api::Quota q = api::kZeroQuota;
  if (g.name != kDefaultSecurityGroup) q.security_groups = 1;
  return q;
}

api::Quota QuotaUsageOf(const api::Router&) {
  api::Quota q = api::kZeroQuota;
  q.routers = 1;
  return q;
}

api::Quota QuotaUsageOf(const api::FloatingIp&) {
  api::Quota q = api::kZeroQuota;
  q.floating_ips = 1;
  return q;
}

api::Quota QuotaUsageOf(const api::ServerGroup&) {
  api::Quota q = api::kZeroQuota;
  q.server_groups = 1;
  return q;
}

State::State(std::unique_ptr<scheduler::Scheduler> scheduler)
    : scheduler_(std::move(scheduler)),
      departments_("department", {&NameOf<api::Department>, [](const api::Department& d) { return d.parent_id; }}),
      flavors_("flavor", {&NameOf<api::Flavor>}),
      hosts_("host", {&NameOf<api::Host>}),
      vms_("vm", {[](const api::Vm& v) { return v.department_id + "/" + v.name; },
                  [](const api::Vm& v) { return v.host_id; },
                  [](const api::Vm& v) { return v.server_group_id; },
                  [](const api::Vm& v) { return v.department_id; }}),
      users_("user", {&NameOf<api::User>, [](const api::User& u) { return u.department_id; }}),
      server_groups_("server_group", {[](const api::ServerGroup& g) { return g.department_id; }}),
      tokens_("token", {[](const api::Token& t) { return t.secret_sha256; },
                        [](const api::Token& t) { return t.user_id; }}),
      idempotency_("idempotency", {}),
      storage_pools_("storage_pool", {&NameOf<api::StoragePool>}),
      volumes_("volume", {[](const api::Volume& v) { return v.department_id + "/" + v.name; },
                          [](const api::Volume& v) { return HostKey(v.host_id); },
                          [](const api::Volume& v) { return v.vm_id; },
                          [](const api::Volume& v) { return v.source_snapshot_id; },
                          [](const api::Volume& v) { return v.source_image_id; },
                          [](const api::Volume& v) { return v.department_id; }}),
      snapshots_("volume_snapshot", {[](const api::VolumeSnapshot& s) { return s.host_id; },
                                     [](const api::VolumeSnapshot& s) { return s.volume_id; },
                                     [](const api::VolumeSnapshot& s) { return s.department_id; }}),
      images_("image", {[](const api::Image& i) { return i.department_id + "/" + i.name; },
                        [](const api::Image& i) { return HostKey(i.host_id); },
                        [](const api::Image& i) { return i.department_id; }}),
      backup_policies_("backup_policy", {[](const api::BackupPolicy& p) { return p.department_id; }}),
      backups_("backup", {[](const api::Backup& b) { return HostKey(b.host_id); },
                          [](const api::Backup& b) { return b.volume_id; },
                          [](const api::Backup& b) { return b.department_id; }}),
      networks_("network", {[](const api::Network& n) { return n.department_id + "/" + n.name; },
                            [](const api::Network& n) { return n.department_id; }}),
      subnets_("subnet", {[](const api::Subnet& sn) { return sn.network_id; }}),
      ports_("port", {[](const api::Port& p) { return p.network_id; },
                      [](const api::Port& p) { return p.mac_address; },
                      [](const api::Port& p) { return p.department_id; },
                      [](const api::Port& p) { return p.device_id; }}),
      security_groups_("security_group",
                       {[](const api::SecurityGroup& g) { return g.department_id + "/" + g.name; },
                        [](const api::SecurityGroup& g) { return g.department_id; }}),
      routers_("router", {[](const api::Router& r) { return r.department_id + "/" + r.name; },
                          [](const api::Router& r) { return r.department_id; },
                          [](const api::Router& r) { return r.external_gateway.network_id; }}),
      floating_ips_("floating_ip", {[](const api::FloatingIp& f) { return f.department_id; },
                                    [](const api::FloatingIp& f) { return f.port_id; },
                                    [](const api::FloatingIp& f) { return f.router_id; }}),
      sessions_("session", {[](const api::Session& x) { return x.secret_sha256; },
                            [](const api::Session& x) { return x.user_id; }}),
      auth_policies_("auth_policy", {}),
      enrolments_("host_enrolment", {[](const api::HostEnrolment& e) { return e.secret_sha256; }}),
      agent_certificates_("agent_certificate", {[](const api::AgentCertificate& c) { return c.serial; },
                                                [](const api::AgentCertificate& c) { return c.host_name; }}),
      capacity_requests_("capacity_request", {[](const api::CapacityRequest& r) { return r.department_id; }}),
      webhooks_("webhook", {[](const api::Webhook& w) { return WebhookAudience(w.role, w.department_id); }}),
      webhook_deliveries_("webhook_delivery",
                          {[](const api::WebhookDelivery& d) { return d.webhook_id; },
                           [](const api::WebhookDelivery& d) {
                             return d.state == api::WebhookDeliveryState::kPending ? std::string("pending") : std::string();
                           }}) {}

template <> RecordTable<api::Department>& State::Table() { return departments_; }
template <> RecordTable<api::Flavor>& State::Table() { return flavors_; }
template <> RecordTable<api::Host>& State::Table() { return hosts_; }
template <> RecordTable<api::Vm>& State::Table() { return vms_; }
template <> RecordTable<api::User>& State::Table() { return users_; }
template <> RecordTable<api::ServerGroup>& State::Table() { return server_groups_; }
template <> RecordTable<api::Token>& State::Table() { return tokens_; }
template <> RecordTable<IdempotencyRecord>& State::Table() { return idempotency_; }
template <> RecordTable<api::StoragePool>& State::Table() { return storage_pools_; }
template <> RecordTable<api::Volume>& State::Table() { return volumes_; }
template <> RecordTable<api::VolumeSnapshot>& State::Table() { return snapshots_; }
template <> RecordTable<api::Image>& State::Table() { return images_; }
template <> RecordTable<api::BackupPolicy>& State::Table() { return backup_policies_; }
template <> RecordTable<api::Backup>& State::Table() { return backups_; }
template <> RecordTable<api::Network>& State::Table() { return networks_; }
template <> RecordTable<api::Subnet>& State::Table() { return subnets_; }
template <> RecordTable<api::Port>& State::Table() { return ports_; }
template <> RecordTable<api::SecurityGroup>& State::Table() { return security_groups_; }
template <> RecordTable<api::Router>& State::Table() { return routers_; }
template <> RecordTable<api::FloatingIp>& State::Table() { return floating_ips_; }
template <> RecordTable<api::Session>& State::Table() { return sessions_; }
template <> RecordTable<api::AuthPolicy>& State::Table() { return auth_policies_; }
template <> RecordTable<api::HostEnrolment>& State::Table() { return enrolments_; }
template <> RecordTable<api::AgentCertificate>& State::Table() { return agent_certificates_; }
template <> RecordTable<api::CapacityRequest>& State::Table() { return capacity_requests_; }
template <> RecordTable<api::Webhook>& State::Table() { return webhooks_; }
template <> RecordTable<api::WebhookDelivery>& State::Table() { return webhook_deliveries_; }

const std::set<std::string>& State::WebhooksFor(api::WebhookRole role, const std::string& department_id) const {
  return webhooks_.IdsBy(kWebhookByAudience, WebhookAudience(role, department_id));
}
const std::set<std::string>& State::DeliveriesOfWebhook(const std::string& webhook_id) const {
  return webhook_deliveries_.IdsBy(kDeliveryByWebhook, webhook_id);
}
const std::set<std::string>& State::PendingWebhookDeliveries() const {
  return webhook_deliveries_.IdsBy(kDeliveryPending, "pending");
}

template <class F>
void State::ForEachTable(F&& f) {
  f(departments_), f(flavors_), f(hosts_), f(vms_), f(users_), f(server_groups_), f(tokens_),
      f(idempotency_), f(storage_pools_), f(volumes_), f(snapshots_), f(images_), f(backup_policies_),
      f(backups_), f(networks_), f(subnets_), f(ports_), f(security_groups_), f(routers_), f(floating_ips_),
      f(sessions_), f(auth_policies_), f(enrolments_), f(agent_certificates_), f(capacity_requests_),
      f(webhooks_), f(webhook_deliveries_);
}

scheduler::HostSpec State::HostSpecOf(const api::Host& h) const {
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
  s.storage_pools = ReachedStoragePools(h.meta.id);
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
    for (const auto& entry : table.all()) {
      // Not a structured binding: Clang 14 refuses one inside the requires-expression.
      const auto& record = entry.second;
      if constexpr (requires { QuotaUsageOf(record); }) AddUsage(record.department_id, QuotaUsageOf(record), +1);
    }
  });
  for (const auto& [id, v] : vms_.all()) {
    Status s = scheduler_->Restore(AssignmentOf(v));
    if (!s.ok()) return s.Annotate("restoring allocation of vm " + id);
  }
  ipam_.clear();
  for (const auto& [id, sn] : subnets_.all()) RebuildIpam(sn);
  ports_of_group_.clear();
  for (const auto& [id, p] : ports_.all()) TrackSecurityGroups(p, +1);
  pool_allocation_.clear();
  for (const auto& [id, v] : volumes_.all()) {
    auto& [gib, count] = pool_allocation_[v.pool_id];
    gib += v.size_gib;
    ++count;
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
    RecordHostEvent(txn.revision(), value.host_id, value.meta.id, true);
    if (previous && previous->host_id != value.host_id) {
      RecordHostEvent(txn.revision(), previous->host_id, value.meta.id, true);
    }
  } else if constexpr (kIsStorageRecord<T>) {
    if (previous) TrackStorage(txn, *previous, -1);
    TrackStorage(txn, value, +1);
  } else if constexpr (std::is_same_v<T, api::Subnet>) {
    RebuildIpam(value);
  } else if constexpr (std::is_same_v<T, api::Port>) {
    if (previous) TrackAddresses(*previous, -1);
    TrackAddresses(value, +1);
    if (previous) TrackSecurityGroups(*previous, -1);
    TrackSecurityGroups(value, +1);
    if (previous && previous->device_id != value.device_id) RecordPortEvent(txn, *previous);
    RecordPortEvent(txn, value);
  }
}

void State::RebuildIpam(const api::Subnet& sn) {
  std::vector<std::pair<ipam::Ipv4, ipam::Ipv4>> pools;
  for (const api::IpRange& r : sn.allocation_pools) {
    auto start = ipam::ParseIpv4(r.start), end = ipam::ParseIpv4(r.end);
    if (start && end && *start <= *end) pools.emplace_back(*start, *end);
  }
  ipam::Ipam& a = ipam_[sn.meta.id] = ipam::Ipam(pools);
  for (const std::string& port_id : ports_.IdsBy(kPortByNetwork, sn.network_id)) {
    for (const api::FixedIp& ip : ports_.Find(port_id)->fixed_ips) {
      if (ip.subnet_id != sn.meta.id) continue;
      if (auto address = ipam::ParseIpv4(ip.ip_address)) a.Take(*address);
    }
  }
}

void State::TrackAddresses(const api::Port& p, int sign) {
  for (const api::FixedIp& ip : p.fixed_ips) {
    auto it = ipam_.find(ip.subnet_id);
    auto address = ipam::ParseIpv4(ip.ip_address);
    if (it == ipam_.end() || !address) continue;
    if (sign > 0) {
      it->second.Take(*address);
    } else {
      it->second.Release(*address);
    }
  }
}

void State::TrackSecurityGroups(const api::Port& p, int sign) {
  for (const std::string& group_id : p.security_group_ids) {
    if (sign > 0) {
      ports_of_group_[group_id].insert(p.meta.id);
      continue;
    }
    auto it = ports_of_group_.find(group_id);
    if (it == ports_of_group_.end()) continue;
    it->second.erase(p.meta.id);
    if (it->second.empty()) ports_of_group_.erase(it);
  }
}

void State::RecordPortEvent(Txn& txn, const api::Port& p) {
  if (p.device_id.empty()) return;
  // The VM's host, whose agent plugs it; a VM saved later in the same write records its own.
  if (const api::Vm* vm = vms_.Find(p.device_id)) RecordHostEvent(txn.revision(), vm->host_id, p.meta.id, false);
}

template <class T>
void State::TrackStorage(Txn& txn, const T& value, int sign) {
  if constexpr (std::is_same_v<T, api::StoragePool>) {
    // Every host whose agent may reach the pool (by cluster) hears about it.
    for (const auto& [id, h] : hosts_.all()) {
      if (std::find(h.storage_clusters.begin(), h.storage_clusters.end(), value.cluster) !=
          h.storage_clusters.end()) {
        RecordHostEvent(txn.revision(), id, value.meta.id, false);
      }
    }
    if (sign < 0) pool_reports_.erase(value.meta.id);
  } else {
    if constexpr (std::is_same_v<T, api::Volume>) {
      auto& [gib, count] = pool_allocation_[value.pool_id];
      gib += sign * value.size_gib;
      count += sign;
    }
    if (!value.host_id.empty()) RecordHostEvent(txn.revision(), value.host_id, value.meta.id, false);
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
    vm_reports_.erase(removed->meta.id);
  } else if constexpr (std::is_same_v<T, api::Vm>) {
    // The allocation was committed when the VM was placed; giving it back cannot fail unless
    // the host is gone, in which case there is nothing left to give back.
    scheduler_->Release(AssignmentOf(*removed)).IgnoreError();
    RecordHostEvent(txn.revision(), removed->host_id, removed->meta.id, true);
  } else if constexpr (kIsStorageRecord<T>) {
    TrackStorage(txn, *removed, -1);
  } else if constexpr (std::is_same_v<T, api::Subnet>) {
    ipam_.erase(removed->meta.id);
  } else if constexpr (std::is_same_v<T, api::Port>) {
    TrackAddresses(*removed, -1);
    TrackSecurityGroups(*removed, -1);
    RecordPortEvent(txn, *removed);
  }
}

#define GOVPOOL_STATE_RECORD(T)                     \
  template void State::Save<T>(Txn&, T&);           \
  template void State::Remove<T>(Txn&, const std::string&);
GOVPOOL_STATE_RECORD(api::Department)
GOVPOOL_STATE_RECORD(api::CapacityRequest)
GOVPOOL_STATE_RECORD(api::Webhook)
GOVPOOL_STATE_RECORD(api::WebhookDelivery)
GOVPOOL_STATE_RECORD(api::Flavor)
GOVPOOL_STATE_RECORD(api::Host)
GOVPOOL_STATE_RECORD(api::Vm)
GOVPOOL_STATE_RECORD(api::User)
GOVPOOL_STATE_RECORD(api::ServerGroup)
GOVPOOL_STATE_RECORD(api::Token)
GOVPOOL_STATE_RECORD(IdempotencyRecord)
GOVPOOL_STATE_RECORD(api::StoragePool)
GOVPOOL_STATE_RECORD(api::Volume)
GOVPOOL_STATE_RECORD(api::VolumeSnapshot)
GOVPOOL_STATE_RECORD(api::Image)
GOVPOOL_STATE_RECORD(api::BackupPolicy)
GOVPOOL_STATE_RECORD(api::Backup)
GOVPOOL_STATE_RECORD(api::Network)
GOVPOOL_STATE_RECORD(api::Subnet)
GOVPOOL_STATE_RECORD(api::Port)
GOVPOOL_STATE_RECORD(api::SecurityGroup)
GOVPOOL_STATE_RECORD(api::Router)
GOVPOOL_STATE_RECORD(api::FloatingIp)
GOVPOOL_STATE_RECORD(api::Session)
GOVPOOL_STATE_RECORD(api::AuthPolicy)
GOVPOOL_STATE_RECORD(api::HostEnrolment)
GOVPOOL_STATE_RECORD(api::AgentCertificate)
#undef GOVPOOL_STATE_RECORD

void State::TouchHeartbeat(const std::string& host_id, std::int64_t now_ms,
                           const api::HostActualUsage* usage, const std::vector<api::VmActualUsage>* vms) {
  // In memory only: the stored record is not rewritten for a heartbeat.
  api::Host* h = hosts_.FindForMemoryOnlyChange(host_id);
  if (!h) return;
  h->last_heartbeat_ms = now_ms;
  if (usage) {
    api::HostActualUsage& report = host_reports_[host_id];
    report = *usage;
    report.reported_at_ms = now_ms;
  }
  if (vms) vm_reports_[host_id] = *vms;
}

std::map<std::string, State::MeasuredUse> State::MeasuredUseByDepartment() const {
  std::map<std::string, MeasuredUse> out;
  for (const auto& [host_id, reported] : vm_reports_) {
    const api::Host* host = hosts_.Find(host_id);
    if (!host || host->status != api::HostStatus::kUp) continue;
    for (const api::VmActualUsage& use : reported) {
      const api::Vm* vm = vms_.Find(use.vm_id);
      if (!vm || vm->host_id != host_id) continue;
      MeasuredUse& sum = out[vm->department_id];
      sum.cpu_busy_millicores += use.cpu_busy_millicores;
      sum.memory_used_mib += use.memory_used_mib;
      ++sum.vms;
    }
  }
  return out;
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

void State::RecordHostEvent(std::int64_t revision, const std::string& host_id,
                            const std::string& object_id, bool is_vm) {
  host_events_.push_back({revision, host_id, object_id, is_vm});
  if (host_events_.size() > kMaxHostEvents) {
    oldest_watchable_revision_ = host_events_.front().revision;
    host_events_.pop_front();
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
const std::set<std::string>& State::TokensOfUser(const std::string& user_id) const {
  return tokens_.IdsBy(kTokenByUser, user_id);
}
const api::Session* State::FindSessionBySecretHash(const std::string& sha256) const {
  return sessions_.FindBy(kSessionBySecretHash, sha256);
}
const api::HostEnrolment* State::FindEnrolmentBySecretHash(const std::string& sha256) const {
  return enrolments_.FindBy(kEnrolmentBySecretHash, sha256);
}
const api::AgentCertificate* State::FindAgentCertificateBySerial(const std::string& serial) const {
  return agent_certificates_.FindBy(kAgentCertificateBySerial, serial);
}
const std::set<std::string>& State::AgentCertificatesOfHost(const std::string& host_name) const {
  return agent_certificates_.IdsBy(kAgentCertificateByHost, host_name);
}
const std::set<std::string>& State::SessionsOfUser(const std::string& user_id) const {
  return sessions_.IdsBy(kSessionByUser, user_id);
}
api::AuthPolicy State::auth_policy() const {
  if (const api::AuthPolicy* p = auth_policies_.Find(kAuthPolicyId)) return *p;
  api::AuthPolicy defaults;
  defaults.meta.id = kAuthPolicyId;
  return defaults;
}

api::Quota State::Usage(const std::string& department_id) const {
  auto it = usage_.find(department_id);
  return it == usage_.end() ? api::kZeroQuota : it->second;
}

const std::set<std::string>& State::ChildrenOf(const std::string& department_id) const {
  return departments_.IdsBy(kDepartmentByParent, department_id);
}

std::vector<const api::Department*> State::AncestorsOf(const std::string& department_id) const {
  std::vector<const api::Department*> out;
  const api::Department* d = departments_.Find(department_id);
  // The tree has no cycles (moves are refused under the department's own subtree); the bound
  // only keeps a corrupt store from looping.
  while (d && !d->parent_id.empty() && out.size() < departments_.size()) {
    d = departments_.Find(d->parent_id);
    if (d) out.push_back(d);
  }
  return out;
}

bool State::IsAncestor(const std::string& ancestor_id, const std::string& department_id) const {
  for (const api::Department* a : AncestorsOf(department_id)) {
    if (a->meta.id == ancestor_id) return true;
  }
  return false;
}

api::Quota State::SubtreeUsage(const std::string& department_id) const {
  api::Quota sum = Usage(department_id);
  std::vector<std::string> pending(ChildrenOf(department_id).begin(), ChildrenOf(department_id).end());
  while (!pending.empty()) {
    const std::string id = std::move(pending.back());
    pending.pop_back();
    const api::Quota used = Usage(id);
    for (const api::QuotaResource& r : api::kQuotaResources) sum.*(r.limit) += used.*(r.limit);
    const std::set<std::string>& children = ChildrenOf(id);
    pending.insert(pending.end(), children.begin(), children.end());
  }
  return sum;
}

std::int64_t State::DepartmentObjectCount(const std::string& department_id) const {
  return static_cast<std::int64_t>(vms_.CountBy(kVmByDepartment, department_id) +
                                   users_.CountBy(kUserByDepartment, department_id) +
                                   server_groups_.CountBy(kGroupByDepartment, department_id) +
                                   volumes_.CountBy(kVolumeByDepartment, department_id) +
                                   snapshots_.CountBy(kSnapshotByDepartment, department_id) +
                                   images_.CountBy(kImageByDepartment, department_id) +
                                   backup_policies_.CountBy(kBackupPolicyByDepartment, department_id) +
                                   backups_.CountBy(kBackupByDepartment, department_id) +
                                   networks_.CountBy(kNetworkByDepartment, department_id) +
                                   ports_.CountBy(kPortByDepartment, department_id) +
                                   // the automatic default group goes with its department
                                   security_groups_.CountBy(kSecurityGroupByDepartment, department_id) -
                                   (FindSecurityGroupByName(department_id, kDefaultSecurityGroup) ? 1 : 0) +
                                   routers_.CountBy(kRouterByDepartment, department_id) +
                                   floating_ips_.CountBy(kFloatingIpByDepartment, department_id));
}

const api::SecurityGroup* State::FindSecurityGroupByName(const std::string& department_id,
                                                         const std::string& name) const {
  return security_groups_.FindBy(kSecurityGroupByDepartmentAndName, department_id + "/" + name);
}
const std::set<std::string>& State::PortsOfSecurityGroup(const std::string& group_id) const {
  auto it = ports_of_group_.find(group_id);
  return it == ports_of_group_.end() ? kNoIds : it->second;
}
std::vector<std::string> State::GroupsReferring(const std::string& group_id) const {
  std::vector<std::string> out;
  const api::SecurityGroup* g = FindSecurityGroup(group_id);
  if (!g) return out;
  // remote groups are of the same department: only its groups can refer to this one.
  for (const std::string& id : security_groups_.IdsBy(kSecurityGroupByDepartment, g->department_id)) {
    for (const api::SecurityGroupRule& rule : security_groups_.Find(id)->rules) {
      if (rule.remote_group_id == group_id && id != group_id) {
        out.push_back(id);
        break;
      }
    }
  }
  return out;
}
api::SecurityGroup State::RenderSecurityGroup(const api::SecurityGroup& g) const {
  api::SecurityGroup out = g;
  out.ports = static_cast<std::int64_t>(PortsOfSecurityGroup(g.meta.id).size());
  return out;
}
const api::Router* State::FindRouterByName(const std::string& department_id, const std::string& name) const {
  return routers_.FindBy(kRouterByDepartmentAndName, department_id + "/" + name);
}
const std::set<std::string>& State::RoutersOnGatewayNetwork(const std::string& network_id) const {
  return routers_.IdsBy(kRouterByGatewayNetwork, network_id);
}
const api::Router* State::RouterOfSubnet(const std::string& subnet_id) const {
  const api::Subnet* sn = subnets_.Find(subnet_id);
  if (!sn) return nullptr;
  // The subnet's router_interface port (device_id: the router) holds its gateway address.
  for (const std::string& port_id : ports_.IdsBy(kPortByNetwork, sn->network_id)) {
    const api::Port* p = ports_.Find(port_id);
    if (p->device_owner != "router_interface") continue;
    for (const api::FixedIp& ip : p->fixed_ips) {
      if (ip.subnet_id == subnet_id) return routers_.Find(p->device_id);
    }
  }
  return nullptr;
}
const std::set<std::string>& State::FloatingIpsOfPort(const std::string& port_id) const {
  return floating_ips_.IdsBy(kFloatingIpByPort, port_id);
}
const std::set<std::string>& State::FloatingIpsOfRouter(const std::string& router_id) const {
  return floating_ips_.IdsBy(kFloatingIpByRouter, router_id);
}

const api::Network* State::FindNetworkByName(const std::string& department_id, const std::string& name) const {
  return networks_.FindBy(kNetworkByDepartmentAndName, department_id + "/" + name);
}
const std::set<std::string>& State::SubnetsOfNetwork(const std::string& network_id) const {
  return subnets_.IdsBy(kSubnetByNetwork, network_id);
}
const std::set<std::string>& State::PortsOfVm(const std::string& vm_id) const {
  return ports_.IdsBy(kPortByDevice, vm_id);
}
const std::set<std::string>& State::PortsOfNetwork(const std::string& network_id) const {
  return ports_.IdsBy(kPortByNetwork, network_id);
}
const api::Port* State::FindPortByMac(const std::string& mac) const { return ports_.FindBy(kPortByMac, mac); }
const ipam::Ipam* State::IpamOf(const std::string& subnet_id) const {
  auto it = ipam_.find(subnet_id);
  return it == ipam_.end() ? nullptr : &it->second;
}
api::Network State::RenderNetwork(const api::Network& n) const {
  api::Network out = n;
  out.subnets = static_cast<std::int64_t>(subnets_.CountBy(kSubnetByNetwork, n.meta.id));
  out.ports = static_cast<std::int64_t>(ports_.CountBy(kPortByNetwork, n.meta.id));
  return out;
}
api::Subnet State::RenderSubnet(const api::Subnet& sn) const {
  api::Subnet out = sn;
  if (const ipam::Ipam* a = IpamOf(sn.meta.id)) out.used_ips = a->used_count();
  return out;
}

std::int64_t State::HostInstanceCount(const std::string& host_id) const {
  return static_cast<std::int64_t>(vms_.CountBy(kVmByHost, host_id));
}

api::Host State::RenderHost(const api::Host& h) const {
  api::Host out = h;
  auto alloc = scheduler_->Allocated(h.meta.id);
  if (alloc.ok()) out.allocated = {alloc->vcpus, alloc->memory_mib, alloc->disk_gib};
  out.storage_pools = ReachedStoragePools(h.meta.id);
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

// ---- Storage ----

const api::StoragePool* State::FindStoragePool(const std::string& id_or_name) const {
  if (const api::StoragePool* p = storage_pools_.Find(id_or_name)) return p;
  return storage_pools_.FindBy(kStoragePoolByName, id_or_name);
}
const api::Image* State::FindImageByName(const std::string& department_id,
                                         const std::string& name) const {
  if (!department_id.empty()) {
    if (const api::Image* i = images_.FindBy(kImageByDepartmentAndName, department_id + "/" + name)) return i;
  }
  return images_.FindBy(kImageByDepartmentAndName, "/" + name);
}
bool State::VolumeNameTaken(const std::string& department_id, const std::string& name) const {
  return volumes_.CountBy(kVolumeByDepartmentAndName, department_id + "/" + name) > 0;
}
const api::Volume* State::FindVolumeByName(const std::string& department_id, const std::string& name) const {
  return volumes_.FindBy(kVolumeByDepartmentAndName, department_id + "/" + name);
}
const std::set<std::string>& State::VolumesOfHost(const std::string& host_id) const {
  return volumes_.IdsBy(kVolumeByHost, HostKey(host_id));
}
const std::set<std::string>& State::SnapshotsOfHost(const std::string& host_id) const {
  return host_id.empty() ? kNoIds : snapshots_.IdsBy(kSnapshotByHost, host_id);
}
const std::set<std::string>& State::ImagesOfHost(const std::string& host_id) const {
  return images_.IdsBy(kImageByHost, HostKey(host_id));
}
const std::set<std::string>& State::VolumesOfVm(const std::string& vm_id) const {
  return vm_id.empty() ? kNoIds : volumes_.IdsBy(kVolumeByVm, vm_id);
}
const std::set<std::string>& State::SnapshotsOfVolume(const std::string& volume_id) const {
  return snapshots_.IdsBy(kSnapshotByVolume, volume_id);
}
const std::set<std::string>& State::BackupsOfHost(const std::string& host_id) const {
  return backups_.IdsBy(kBackupByHost, HostKey(host_id));
}
const std::set<std::string>& State::BackupsOfVolume(const std::string& volume_id) const {
  return backups_.IdsBy(kBackupByVolume, volume_id);
}
const std::set<std::string>& State::BackupPoliciesOfDepartment(const std::string& department_id) const {
  return backup_policies_.IdsBy(kBackupPolicyByDepartment, department_id);
}
const std::set<std::string>& State::VolumesFromSnapshot(const std::string& snapshot_id) const {
  return snapshot_id.empty() ? kNoIds : volumes_.IdsBy(kVolumeBySnapshot, snapshot_id);
}
const std::set<std::string>& State::VolumesFromImage(const std::string& image_id) const {
  return image_id.empty() ? kNoIds : volumes_.IdsBy(kVolumeByImage, image_id);
}
std::int64_t State::PoolAllocatedGib(const std::string& pool_id) const {
  auto it = pool_allocation_.find(pool_id);
  return it == pool_allocation_.end() ? 0 : it->second.first;
}
std::int64_t State::PoolVolumeCount(const std::string& pool_id) const {
  auto it = pool_allocation_.find(pool_id);
  return it == pool_allocation_.end() ? 0 : it->second.second;
}

std::vector<std::string> State::ReachedStoragePools(const std::string& host_id) const {
  std::vector<std::string> out;
  for (const auto& [pool_id, by_host] : pool_reports_) {
    auto it = by_host.find(host_id);
    if (it != by_host.end() && it->second.reachable) out.push_back(pool_id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void State::ReportStoragePools(const std::string& host_id, std::int64_t now_ms,
                               const std::vector<api::StoragePoolReport>& reports) {
  const api::Host* h = hosts_.Find(host_id);
  if (!h) return;
  const std::vector<std::string> before = ReachedStoragePools(host_id);
  for (const api::StoragePoolReport& r : reports) {
    if (!storage_pools_.Find(r.pool_id)) continue;  // deleted meanwhile, or not a pool id
    StoragePoolReach& reach = pool_reports_[r.pool_id][host_id];
    reach.reachable = r.reachable;
    reach.reason = r.reason;
    reach.stats = r.stats;
    reach.stats.reported_at_ms = now_ms;
  }
  if (ReachedStoragePools(host_id) != before) scheduler_->UpsertHost(HostSpecOf(*h));
}

std::vector<std::string> State::HostsReachingPool(const std::string& pool_id) const {
  std::vector<std::string> out;
  auto it = pool_reports_.find(pool_id);
  if (it == pool_reports_.end()) return out;
  for (const auto& [host_id, reach] : it->second) {
    const api::Host* h = hosts_.Find(host_id);
    // A pending host (docs/security.md, "Registration") takes no department's work yet.
    if (reach.reachable && h && h->status == api::HostStatus::kUp && !h->pending) out.push_back(host_id);
  }
  return out;
}

api::StoragePool State::RenderStoragePool(const api::StoragePool& p) const {
  api::StoragePool out = p;
  out.allocated_gib = PoolAllocatedGib(p.meta.id);
  out.volumes = PoolVolumeCount(p.meta.id);
  out.hosts = static_cast<std::int64_t>(HostsReachingPool(p.meta.id).size());
  out.status = "unknown";
  auto it = pool_reports_.find(p.meta.id);
  if (it != pool_reports_.end()) {
    const StoragePoolReach* freshest = nullptr;
    for (const auto& [host_id, reach] : it->second) {
      if (reach.reachable && (!freshest || reach.stats.reported_at_ms > freshest->stats.reported_at_ms)) {
        freshest = &reach;
      }
    }
    if (freshest) {
      out.stats = freshest->stats;
      if (out.stats.full) {
        out.status = "full";
      } else if (out.stats.nearfull || out.stats.used_ratio >= p.nearfull_ratio) {
        out.status = "nearfull";
      } else {
        out.status = "ok";
      }
    }
  }
  return out;
}

}  // namespace govpool::controller
