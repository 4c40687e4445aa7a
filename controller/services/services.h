// The controller's services: the operations of the REST API as functions over the in-memory
// State (reads) or State + Txn (writes), with authorization, validation, quota and placement.
// They know nothing about HTTP; the route files (controller/http/routes_*.cc) run them inside
// Db::Read / Db::Write. Write functions follow Db::Write's contract: they check everything,
// then mutate, and never fail after mutating.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "common/pki.h"
#include "controller/caller.h"
#include "controller/state.h"
#include "scheduler/consolidation.h"

namespace govpool::controller {

struct ListOptions {
  std::int64_t limit = 100;  // 1..1000
  std::string page_token;    // the last id of the previous page
};

template <typename T>
using Page = api::ListPage<T>;

// Conflict (reason CONFLICT) when `if_match` is set and differs from the object's revision.
Status CheckIfMatch(const std::optional<std::int64_t>& if_match, const api::Meta& meta,
                    const std::string& what);

// ---- Capacity requests (docs/departments.md, "Capacity requests") ----
// The last approval level of every request, the system-admin's, beside departments' ids.
inline constexpr std::string_view kPlatformLevel = "platform";
// Filed by the department's own roles (submitted at once unless `submit` is false); read by
// them, by the dept-admins above and by the system-admin.
Result<api::CapacityRequest> CreateCapacityRequest(State& s, Txn& t, const Caller& c,
                                                   const api::CreateCapacityRequest& req);
Result<api::CapacityRequest> GetCapacityRequest(const State& s, const Caller& c, const std::string& id);
Page<api::CapacityRequest> ListCapacityRequests(const State& s, const Caller& c, const ListOptions& o);
// draft -> submitted: the approval levels are fixed then.
Result<api::CapacityRequest> SubmitCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id);
// The next level's approver approves (403 for anyone else, 409 ALREADY_APPROVED for an
// approver of an earlier level, 409 REQUEST_NOT_PENDING once decided); the last one applies the
// grant in the same transaction: fulfilled, or approved with unfulfilled_reason when it cannot
// be applied (the system-admin approves again to retry).
Result<api::CapacityRequest> ApproveCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id);
Result<api::CapacityRequest> RejectCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id,
                                                   const std::string& reason);
Result<api::CapacityRequest> WithdrawCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id);
// Time-limited grants (the housekeeper, every sweep): warned `warn_ahead_ms` before their end
// (event capacity-grant-expiring), then the quota returns and anything held above it is flagged
// (event capacity-over-quota), never deleted; requests not granted by their end expire.
struct CapacityExpiry {
  std::int64_t warned = 0;
  std::int64_t expired = 0;
  std::int64_t over_quota = 0;
};
CapacityExpiry ExpireCapacityGrants(State& s, Txn& t, std::int64_t warn_ahead_ms);

// ---- Webhooks (docs/departments.md, "Notifications") ----
// A dept-admin registers webhooks for its department (a bureau's also for those below it); the
// system-admin for any department, and the platform's (no department, role approver). Read by
// those and by the department's members; the secret is shown once, in the create's answer.
// http:// is refused unless the host is a loopback address: notifications leave over TLS.
Result<api::Webhook> CreateWebhook(State& s, Txn& t, const Caller& c, const api::CreateWebhookRequest& req);
Result<api::Webhook> GetWebhook(const State& s, const Caller& c, const std::string& id);
Page<api::Webhook> ListWebhooks(const State& s, const Caller& c, const ListOptions& o);
// Its deliveries, pending or done, go with it.
Status DeleteWebhook(State& s, Txn& t, const Caller& c, const std::string& id);
// Removes department `department_id`'s webhooks and their deliveries (the department is being
// deleted). No checks: the caller made them.
void RemoveWebhooksOf(State& s, Txn& t, const std::string& department_id);
// Queues a "ping" notification (to check the receiver and its signature check).
Result<api::WebhookDelivery> PingWebhook(State& s, Txn& t, const Caller& c, const std::string& id);
Result<Page<api::WebhookDelivery>> ListWebhookDeliveries(const State& s, const Caller& c, const std::string& id,
                                                         const ListOptions& o);
// Queues, in `t` (durable with the change it tells of), notification `event` about request `r`
// for every webhook that hears of it: the requesting department's requester webhooks, and the
// approver webhooks of the level the request now waits for (submitted, unfulfilled) or stopped
// waiting for (withdrawn, rejected, expired). A webhook with kMaxPendingDeliveriesPerWebhook
// pending gets nothing more (event webhook-backlog-full) until its receiver catches up.
void NotifyCapacityRequest(State& s, Txn& t, const api::CapacityRequest& r, std::string_view event,
                           const std::string& message);
inline constexpr std::int64_t kMaxWebhooksPerDepartment = 20;
inline constexpr std::int64_t kMaxPendingDeliveriesPerWebhook = 1'000;
// The dispatcher's side (controller/webhook_dispatcher.h): what is due, and what came of it.
struct WebhookAttempt {
  api::WebhookDelivery delivery;
  std::string url;
  std::string secret;
};
// Up to `limit` pending deliveries due at `now_ms`, the longest-waiting first.
std::vector<WebhookAttempt> DueWebhookDeliveries(const State& s, std::int64_t now_ms, std::size_t limit);
struct WebhookOutcome {
  std::string delivery_id;
  int status = 0;     // the receiver's answer; 0 when none came. 2xx: delivered
  std::string error;  // why not, when not delivered
};
struct WebhookRetryPolicy {
  std::int64_t first_backoff_ms = 10'000;  // doubled after each failure...
  std::int64_t max_backoff_ms = 3'600'000;  // ...up to this
  std::int64_t max_attempts = 20;           // then failed for good (event webhook-delivery-failed)
};
// The wait before attempt `attempts` + 1 of delivery `delivery_id`: the doubling back-off plus
// up to a quarter more, spread by the delivery's id so that receivers coming back are not hit
// by every retry at once.
std::int64_t WebhookBackoffMs(const WebhookRetryPolicy& p, const std::string& delivery_id, std::int64_t attempts);
// Records the attempts' outcomes (at t.now_ms()); how many deliveries failed for good.
std::int64_t RecordWebhookOutcomes(State& s, Txn& t, const std::vector<WebhookOutcome>& outcomes,
                                   const WebhookRetryPolicy& p);
// Forgets delivered and failed deliveries older than `retain_ms`; how many.
std::int64_t PruneWebhookDeliveries(State& s, Txn& t, std::int64_t retain_ms);

// ---- Departments (admin writes; department users read their own) ----
Result<api::Department> CreateDepartment(State& s, Txn& t, const Caller& c,
                                         const api::CreateDepartmentRequest& req);
Result<api::Department> GetDepartment(const State& s, const Caller& c, const std::string& id);
Page<api::Department> ListDepartments(const State& s, const Caller& c, const ListOptions& o);
Result<api::Department> PatchDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchDepartmentRequest& req);
// FailedPrecondition while the department still owns VMs or users, or has sub-departments.
Status DeleteDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                        const std::optional<std::int64_t>& if_match);
// FailedPrecondition (PARENT_QUOTA_EXCEEDED, with the numbers) when `d`'s limits, as given, do
// not fit in its parent's beside its siblings' (docs/departments.md).
Status CheckLimitsFitParent(const State& s, const api::Department& d);
// May `c` read department `id` itself (its record, usage, reports): its own roles, the
// system-admin, and the dept-admins of the departments above it (a bureau sees those below).
bool CanSeeDepartment(const State& s, const Caller& c, const std::string& id);
// Usage and limit of every quota resource (with whether it is enforced yet), with the subtree's
// usage and the children's limits.
Result<api::DepartmentUsage> GetUsage(const State& s, const Caller& c, const std::string& id);
// ResourceExhausted (reason QUOTA_EXCEEDED; details department_id, resource, requested, used,
// limit) when `count` objects that each use `per_object` (QuotaUsageOf) would take an enforced
// resource of department `d`, or of one of its ancestors counting its whole subtree, over its
// limit. The one quota check every create runs.
Status CheckQuota(const State& s, const api::Department& d, const api::Quota& per_object, std::int64_t count);
// Fixed limits on the objects that hang off others (docs/security.md, "Bounded everything"):
// not quotas an administrator sets, bounds that keep one department or user from growing the
// state (and every watch answer and sync that walks it) without end.
inline constexpr std::int64_t kMaxSubnetsPerNetwork = 64;
inline constexpr std::int64_t kMaxBackupPoliciesPerDepartment = 100;
inline constexpr std::int64_t kMaxTokensPerUser = 100;
inline constexpr std::int64_t kMaxUsersPerDepartment = 1'000;
inline constexpr std::int64_t kMaxUsers = 100'000;  // of the platform: every role, agents included
// ResourceExhausted (reason QUOTA_EXCEEDED; details resource, limit) when `owner` (e.g.
// "network 'web'") already holds `held` >= `limit` objects of `resource`; OK otherwise.
Status CheckCountLimit(std::int64_t held, std::int64_t limit, std::string_view resource, const std::string& owner);

// ---- Flavors (admin writes; everyone reads) ----
Result<api::Flavor> CreateFlavor(State& s, Txn& t, const Caller& c, const api::CreateFlavorRequest& req);
Result<api::Flavor> GetFlavor(const State& s, const Caller& c, const std::string& id_or_name);
Page<api::Flavor> ListFlavors(const State& s, const Caller& c, const ListOptions& o);
Status DeleteFlavor(State& s, Txn& t, const Caller& c, const std::string& id);

// ---- Hosts (admins; agents register and heartbeat their own) ----
struct HostFilter {
  std::string pool;
  std::optional<api::HostStatus> status;
};
// Idempotent by name: re-registering updates capacity and storage clusters and marks the host
// up; an agent's re-registration never changes what an administrator set (pool, traits). An
// agent with an API token may re-register only hosts it registered; one with a client
// certificate only the host its certificate names (which it takes over: a system-admin
// enrolled it), and a new host joins its enrolment's pool (PermissionDenied otherwise). A new
// host an API-token agent registers into a pool some department is confined to
// (allowed_pools) comes disabled: a system-admin enables it (PATCH enabled).
Result<api::Host> RegisterHost(State& s, Txn& t, const Caller& c, const api::RegisterHostRequest& req);
Result<api::Host> GetHost(const State& s, const Caller& c, const std::string& id);
Page<api::Host> ListHosts(const State& s, const Caller& c, const HostFilter& f, const ListOptions& o);
// Prometheus' targets (GET /v1/metrics/targets): one group per host whose agent registered a
// metrics address, labelled host, host_id and pool, with __meta_govpool_host_status (up, down)
// and __meta_govpool_host_enabled (true, false) for relabelling (status as a target label would
// split a host's series whenever it went down). For the system-admin and the metrics-reader.
Result<std::vector<api::MetricsTargetGroup>> ListMetricsTargets(const State& s, const Caller& c);
// The consolidation report in two steps, so that the packing (O(VMs x hosts)) runs outside
// the state's lock: CollectConsolidation copies, per pool, the hosts (pending ones left out)
// and the VMs placed on them (system-admin only); PackConsolidation answers, per pool, the
// hosts taking VMs, those holding one now, and how many the same VMs would need packed by the
// scheduler (scheduler::PackTightly).
struct ConsolidationPool {
  std::vector<scheduler::HostSpec> hosts;
  std::vector<scheduler::VmDemand> vms;
  std::set<std::string> occupied;  // host ids holding a VM now
};
using ConsolidationInput = std::map<std::string, ConsolidationPool>;  // by pool name
Result<ConsolidationInput> CollectConsolidation(const State& s, const Caller& c);
Result<api::ConsolidationReport> PackConsolidation(ConsolidationInput input, std::int64_t now_ms);
Result<api::Host> PatchHost(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchHostRequest& req);
// Records a heartbeat and, when given, the host's actual usage and its VMs' (all in memory only).
Result<api::Host> Heartbeat(State& s, Txn& t, const Caller& c, const std::string& id,
                            const api::HostActualUsage* usage = nullptr,
                            const std::vector<api::VmActualUsage>* vms = nullptr);
// Removes the Idempotency-Key records created more than `max_age_ms` before t.now_ms(), in
// `t`; returns how many. A retry with an expired key is then treated as a new request.
std::int64_t ExpireIdempotencyRecords(State& s, Txn& t, std::int64_t max_age_ms);
// Marks up hosts whose last heartbeat is older than `timeout_ms` as down; returns their ids.
std::vector<std::string> MarkSilentHostsDown(State& s, Txn& t, std::int64_t timeout_ms);

// ---- VMs ----
struct VmFilter {
  std::string department_id;
  std::string host_id;
  std::optional<api::VmState> state;
};
// Checks quota, places the VM(s) and records them, atomically: req.count VMs named
// <name>-1..<name>-<count> (just <name> when count is 1) are all placed or none.
// ResourceExhausted with reason QUOTA_EXCEEDED (details: resource, requested, used, limit) or
// NO_VALID_HOST (details from the scheduler). Its NICs (req.networks) are made in the same
// write: a new port per network NIC (quota `ports`, addresses allocated) and the ports given
// bound; any refusal creates nothing. `fixed_ip` and `port` need count 1.
// With `grow_quota` (a capacity grant): the department's limits grow by what the VMs use, in the
// same write (checked against its parent first), and the growth is written there.
Result<std::vector<api::Vm>> CreateVms(State& s, Txn& t, const Caller& c, const api::CreateVmRequest& req,
                                       api::QuotaPatch* grow_quota = nullptr);
Result<api::Vm> GetVm(const State& s, const Caller& c, const std::string& id);
Page<api::Vm> ListVms(const State& s, const Caller& c, const VmFilter& f, const ListOptions& o);
// On a host with an agent the VM turns `deleting` and its record goes once the agent confirms
// the cleanup; on a host without one (registered by an admin) it goes at once. `force`
// (admins only) removes the record at once whatever the host. When the record goes, the ports
// created for it are deleted and the others unbound.
Result<api::Vm> DeleteVm(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::optional<std::int64_t>& if_match, bool force);
// action: "start" | "stop" | "reboot".
Result<api::Vm> VmAction(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::string& action);
// An agent reports the state of a VM on its host.
Result<api::Vm> ReportVmStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                               const api::VmStatusReport& report);
// The VM as the API shows it (state `unknown` while its host is down; `nics` from its ports).
api::Vm RenderVm(const State& s, const api::Vm& v);
// Hot attach: a NIC (a new port on a network, or an unbound port of the VM's department:
// PORT_IN_USE otherwise) becomes the VM's last; its generation bumps so the agent plugs it.
Result<api::Port> AttachInterface(State& s, Txn& t, const Caller& c, const std::string& vm_id,
                                  const api::NicRequest& req);
// Hot detach: the port leaves the VM (deleted when it was created for the VM, else unbound);
// the VM's generation bumps. NotFound when it is not a NIC of the VM.
Status DetachInterface(State& s, Txn& t, const Caller& c, const std::string& vm_id, const std::string& port_id);

// ---- Storage (docs/storage.md) ----
// Storage pools: admins write; everyone reads (department users see pools they may use).
Result<api::StoragePool> CreateStoragePool(State& s, Txn& t, const Caller& c,
                                           const api::CreateStoragePoolRequest& req);
Result<api::StoragePool> GetStoragePool(const State& s, const Caller& c, const std::string& id_or_name);
Page<api::StoragePool> ListStoragePools(const State& s, const Caller& c, const ListOptions& o);
Result<api::StoragePool> PatchStoragePool(State& s, Txn& t, const Caller& c, const std::string& id,
                                          const std::optional<std::int64_t>& if_match,
                                          const api::PatchStoragePoolRequest& req);
// FailedPrecondition (HAS_DEPENDENTS) while volumes or images live in it.
Status DeleteStoragePool(State& s, Txn& t, const Caller& c, const std::string& id);
// An agent's reports on its clusters' pools (with a heartbeat; memory only).
Status ReportStoragePools(State& s, Txn& t, const Caller& c, const std::string& host_id,
                          const std::vector<api::StoragePoolReport>& reports);

// Volumes: members of the department (and admins).
struct VolumeFilter {
  std::string department_id;
  std::string vm_id;
  std::string pool_id;
};
// Checks quota (volumes, volume_gib), places the volume in a pool (NO_VALID_STORAGE_POOL or
// STORAGE_POOL_NEARFULL with details) and hands its creation to an agent reaching the pool,
// atomically.
Result<api::Volume> CreateVolume(State& s, Txn& t, const Caller& c, const api::CreateVolumeRequest& req);
Result<api::Volume> GetVolume(const State& s, const Caller& c, const std::string& id);
Page<api::Volume> ListVolumes(const State& s, const Caller& c, const VolumeFilter& f, const ListOptions& o);
// Refused with VOLUME_IN_USE while attached (boot volumes go with their VM), HAS_DEPENDENTS
// while a snapshot of it has clones that are not flattened, unless `flatten` (the clones are
// flattened first). The volume turns `deleting`; its record (and its snapshots') goes when the
// agent reports it deleted.
Result<api::Volume> DeleteVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const std::optional<std::int64_t>& if_match, bool flatten);
// Grow only (InvalidArgument otherwise), within quota and the pool's provisioning.
Result<api::Volume> ResizeVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const api::ResizeVolumeRequest& req);
// Attaches to a VM of the same department whose host reaches the volume's pool (the next free
// device vdb..vdy; vdz is the cloud-init seed); the VM's host's agent hot-plugs it.
Result<api::Volume> AttachVolume(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const api::AttachVolumeRequest& req);
Result<api::Volume> DetachVolume(State& s, Txn& t, const Caller& c, const std::string& id);
// An agent reports a volume's state; `deleted` removes the record (and its snapshots').
Result<api::Volume> ReportVolumeStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                       const api::VolumeStatusReport& report);

// Snapshots (quota `snapshots`).
Result<api::VolumeSnapshot> CreateSnapshot(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                           const api::CreateSnapshotRequest& req);
Result<api::VolumeSnapshot> GetSnapshot(const State& s, const Caller& c, const std::string& volume_id,
                                        const std::string& snapshot_id);
Page<api::VolumeSnapshot> ListSnapshots(const State& s, const Caller& c, const std::string& volume_id,
                                        const ListOptions& o);
// HAS_DEPENDENTS while volumes cloned from it are not flattened, unless `flatten`.
Result<api::VolumeSnapshot> DeleteSnapshot(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                           const std::string& snapshot_id, bool flatten);
// Detached volumes only (VOLUME_IN_USE otherwise).
Result<api::Volume> RollbackVolume(State& s, Txn& t, const Caller& c, const std::string& volume_id,
                                   const std::string& snapshot_id);
Result<api::VolumeSnapshot> ReportSnapshotStatus(State& s, Txn& t, const Caller& c,
                                                 const std::string& volume_id, const std::string& snapshot_id,
                                                 const api::SnapshotStatusReport& report);

// Images: public ones (admins create) are visible to all; private ones to their department.
Result<api::Image> CreateImage(State& s, Txn& t, const Caller& c, const api::CreateImageRequest& req);
Result<api::Image> GetImage(const State& s, const Caller& c, const std::string& id_or_name);
Page<api::Image> ListImages(const State& s, const Caller& c, const ListOptions& o);
// HAS_DEPENDENTS while volumes cloned from it are not flattened.
Result<api::Image> DeleteImage(State& s, Txn& t, const Caller& c, const std::string& id);
// Upload bookkeeping (PUT /v1/images/{id}/data): Begin checks the caller may write the image
// and that it is `queued` (or `error` after a failed upload) and turns it `uploading`;
// Progress records bytes received (memory-only counter is fine to persist coarsely);
// Finish records size and SHA-256 and hands the import to an agent reaching the pool
// (IMAGE_CHECKSUM_MISMATCH when an expected sha256 was given and differs: state error).
Result<api::Image> BeginImageUpload(State& s, Txn& t, const Caller& c, const std::string& id);
Result<api::Image> FinishImageUpload(State& s, Txn& t, const Caller& c, const std::string& id,
                                     std::int64_t size_bytes, const std::string& sha256);
Result<api::Image> FailImageUpload(State& s, Txn& t, const std::string& id, const std::string& reason);
// At start: no upload survives a restart, so images left `uploading` turn `error` (upload
// again). Returns how many.
std::int64_t FailInterruptedUploads(State& s, Txn& t);
// Bytes received so far by an upload in progress (written every few seconds, not per chunk).
Result<api::Image> RecordImageUploadProgress(State& s, Txn& t, const std::string& id, std::int64_t bytes);
// Asks the importing agent to re-read the image and compare its content hash.
Result<api::Image> VerifyImage(State& s, Txn& t, const Caller& c, const std::string& id);
Result<api::Image> ReportImageStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                     const api::ImageStatusReport& report);

// Backups (docs/storage.md, "Backups"; quota `backup_gib`). Policies: per department, or
// per volume; the housekeeper starts their backups (RunBackupPolicies).
inline constexpr std::int64_t kMaxBackupAttempts = 3;
Result<api::BackupPolicy> CreateBackupPolicy(State& s, Txn& t, const Caller& c,
                                             const api::CreateBackupPolicyRequest& req);
Result<api::BackupPolicy> GetBackupPolicy(const State& s, const Caller& c, const std::string& id);
Page<api::BackupPolicy> ListBackupPolicies(const State& s, const Caller& c, const std::string& department_id,
                                           const ListOptions& o);
// A smaller `keep` retires the excess backups at once.
Result<api::BackupPolicy> PatchBackupPolicy(State& s, Txn& t, const Caller& c, const std::string& id,
                                            const std::optional<std::int64_t>& if_match,
                                            const api::PatchBackupPolicyRequest& req);
// Its backups stay (no longer pruned by it).
Status DeleteBackupPolicy(State& s, Txn& t, const Caller& c, const std::string& id,
                          const std::optional<std::int64_t>& if_match);
struct BackupFilter {
  std::string department_id;
  std::string volume_id;
  std::string policy_id;
};
// On demand: BACKUP_IN_PROGRESS while another backup of the volume runs; the target must be
// another pool than the volume's; incremental from the newest available backup into the same
// pool. The work goes to an agent reaching both pools (the volume's own when it does).
Result<api::Backup> CreateBackup(State& s, Txn& t, const Caller& c, const api::CreateBackupRequest& req);
Result<api::Backup> GetBackup(const State& s, const Caller& c, const std::string& id);
Page<api::Backup> ListBackups(const State& s, const Caller& c, const BackupFilter& f, const ListOptions& o);
// Turns it `deleting` (the agent removes its snapshots; the record goes when it reports
// `deleted`). HAS_DEPENDENTS while a volume is being restored from it.
Result<api::Backup> DeleteBackup(State& s, Txn& t, const Caller& c, const std::string& id,
                                 const std::optional<std::int64_t>& if_match = std::nullopt);
// A new volume (its department's, quota volumes/volume_gib) holding the backup's data.
Result<api::Volume> RestoreBackup(State& s, Txn& t, const Caller& c, const std::string& id,
                                  const api::RestoreBackupRequest& req);
// An agent's report. `available` records it and applies its policy's retention; `error`
// counts an attempt (event "backup-failed") and retries (a new generation) until
// kMaxBackupAttempts, then leaves it `error` (counting nothing against backup_gib).
Result<api::Backup> ReportBackupStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                       const api::BackupStatusReport& report);
// Starts the backups of every enabled policy whose slot has come (missed slots run once);
// what cannot start becomes a "backup-skipped" event. Returns how many started.
std::int64_t RunBackupPolicies(State& s, Txn& t);

// The storage work of host `host_id` for its watch answer: its volumes, snapshots and
// images, the images and snapshots its volumes are cloned from, and its clusters' pools.
void AddStorageWork(const State& s, const std::string& host_id, api::WatchAnswer& out);
// Storage work held by hosts that are down (or by no host yet) moves to an up host whose agent
// reaches the pool: detached volumes (with their snapshots) and images being imported or
// deleted. Attached volumes stay with their VM. Returns how many records moved. Run by the
// housekeeper every sweep; cost: the silent hosts' records only (indexed by host).
std::int64_t ReassignStorageWork(State& s, Txn& t);

// ---- Networks (docs/networking.md, "Networks (controller side)") ----
// A department's network (its dept-admins and admins; quota `networks`) or a shared one
// (admins, no department; everyone sees it). AlreadyExists for a name taken in the department.
Result<api::Network> CreateNetwork(State& s, Txn& t, const Caller& c, const api::CreateNetworkRequest& req);
Result<api::Network> GetNetwork(const State& s, const Caller& c, const std::string& id);
struct NetworkFilter {
  std::string department_id;
};
Page<api::Network> ListNetworks(const State& s, const Caller& c, const NetworkFilter& f, const ListOptions& o);
// HAS_DEPENDENTS (details.ports) while ports are on it; its subnets go with it.
Status DeleteNetwork(State& s, Txn& t, const Caller& c, const std::string& id,
                     const std::optional<std::int64_t>& if_match = std::nullopt);
// IPv4 only (IPv6: InvalidArgument). The CIDR is a network address with a prefix of 8..30 and
// overlaps no other subnet of the network (other networks may reuse it); the gateway (default:
// the first host) and the allocation pools (default: every host but the gateway) lie inside.
Result<api::Subnet> CreateSubnet(State& s, Txn& t, const Caller& c, const api::CreateSubnetRequest& req);
Result<api::Subnet> GetSubnet(const State& s, const Caller& c, const std::string& id);
Page<api::Subnet> ListSubnets(const State& s, const Caller& c, const std::string& network_id, const ListOptions& o);
// HAS_DEPENDENTS (details.ports) while ports hold addresses in it.
Status DeleteSubnet(State& s, Txn& t, const Caller& c, const std::string& id);
// A port of the network's department (on a shared network: of the department given, or the
// caller's; quota `ports`). Its MAC is generated (locally administered, unique) or given
// (MAC_ADDRESS_IN_USE when taken); its addresses are allocated in the same transaction:
// requested ones when free (IP_ADDRESS_IN_USE) and in range (InvalidArgument), the others
// from the pools (SUBNET_FULL when exhausted). With device_id it becomes that VM's last NIC
// (as AttachInterface; the port is not deleted with the VM).
Result<api::Port> CreatePort(State& s, Txn& t, const Caller& c, const api::CreatePortRequest& req);
Result<api::Port> GetPort(const State& s, const Caller& c, const std::string& id);
struct PortFilter {
  std::string network_id;
  std::string device_id;
  std::string department_id;
};
Page<api::Port> ListPorts(const State& s, const Caller& c, const PortFilter& f, const ListOptions& o);
// The agent of the host where the port's VM runs (or an admin) reports it plugged (`active`,
// host_id its host), unplugged (`down`) or failed (`error`). Others: NotFound.
Result<api::Port> ReportPortStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                                   const api::PortStatusReport& report);
// The ports of the VMs in out.items, in NIC order, for the host's agent.
void AddVmPorts(const State& s, api::WatchAnswer& out);
// Gives its addresses back. PORT_IN_USE while it is a VM's NIC (detach it instead).
Status DeletePort(State& s, Txn& t, const Caller& c, const std::string& id,
                  const std::optional<std::int64_t>& if_match = std::nullopt);

// ---- Security groups (docs/networking.md, "Security groups"; the department's admins write,
// its users read) ----
// Rules one group may hold (beyond: QUOTA_EXCEEDED, resource "security_group_rules").
inline constexpr std::int64_t kMaxSecurityGroupRules = 100;
// Quota `security_groups`; a new group lets everything out and nothing in. AlreadyExists for
// a name taken in the department; "default" is reserved (InvalidArgument).
Result<api::SecurityGroup> CreateSecurityGroup(State& s, Txn& t, const Caller& c,
                                               const api::CreateSecurityGroupRequest& req);
Result<api::SecurityGroup> GetSecurityGroup(const State& s, const Caller& c, const std::string& id);
Page<api::SecurityGroup> ListSecurityGroups(const State& s, const Caller& c, const std::string& department_id,
                                            const ListOptions& o);
Result<api::SecurityGroup> PatchSecurityGroup(State& s, Txn& t, const Caller& c, const std::string& id,
                                              const std::optional<std::int64_t>& if_match,
                                              const api::PatchSecurityGroupRequest& req);
// SECURITY_GROUP_IN_USE (details.ports / details.security_groups) while ports name it or
// rules of other groups name it as their remote group.
Status DeleteSecurityGroup(State& s, Txn& t, const Caller& c, const std::string& id,
                           const std::optional<std::int64_t>& if_match = std::nullopt);
// The rule as stored (id set; remote_ip_prefix normalised); AlreadyExists for a duplicate.
Result<api::SecurityGroupRule> AddSecurityGroupRule(State& s, Txn& t, const Caller& c, const std::string& group_id,
                                                    const api::CreateSecurityGroupRuleRequest& req);
Status DeleteSecurityGroupRule(State& s, Txn& t, const Caller& c, const std::string& group_id,
                               const std::string& rule_id);
// PATCH /v1/ports/{id}: name and security_group_ids (groups of the port's department).
Result<api::Port> PatchPort(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchPortRequest& req);

// ---- Routers and floating IPs (docs/networking.md, "Routers and floating IPs") ----
// Quota `routers`. With external_gateway.network_id (an external network) the gateway port
// takes an address of that network (SUBNET_FULL when none is left).
Result<api::Router> CreateRouter(State& s, Txn& t, const Caller& c, const api::CreateRouterRequest& req);
Result<api::Router> GetRouter(const State& s, const Caller& c, const std::string& id);
Page<api::Router> ListRouters(const State& s, const Caller& c, const std::string& department_id, const ListOptions& o);
// Renames, and replaces or removes the gateway (ROUTER_IN_USE while floating IPs use it).
Result<api::Router> PatchRouter(State& s, Txn& t, const Caller& c, const std::string& id,
                                const std::optional<std::int64_t>& if_match, const api::PatchRouterRequest& req);
// ROUTER_IN_USE while it has interfaces; its gateway port goes with it.
Status DeleteRouter(State& s, Txn& t, const Caller& c, const std::string& id,
                    const std::optional<std::int64_t>& if_match = std::nullopt);
// Attaches a subnet of the router's department: the router takes its gateway_ip (a
// router_interface port). SUBNET_ALREADY_ATTACHED, SUBNET_OVERLAP (with another subnet on
// the router), IP_ADDRESS_IN_USE (the gateway address is taken); no gateway: InvalidArgument.
Result<api::Router> AddRouterInterface(State& s, Txn& t, const Caller& c, const std::string& router_id,
                                       const api::RouterInterfaceRequest& req);
// ROUTER_IN_USE while floating IPs reach ports of the subnet through it.
Result<api::Router> RemoveRouterInterface(State& s, Txn& t, const Caller& c, const std::string& router_id,
                                          const std::string& subnet_id);
// Quota `floating_ips`; the address (given: IP_ADDRESS_IN_USE when taken; else allocated,
// SUBNET_FULL) is taken in the same write. With port_id it is associated at once (see Patch).
Result<api::FloatingIp> CreateFloatingIp(State& s, Txn& t, const Caller& c, const api::CreateFloatingIpRequest& req);
Result<api::FloatingIp> GetFloatingIp(const State& s, const Caller& c, const std::string& id);
struct FloatingIpFilter {
  std::string department_id;
  std::string port_id;
  std::string floating_network_id;
};
Page<api::FloatingIp> ListFloatingIps(const State& s, const Caller& c, const FloatingIpFilter& f, const ListOptions& o);
// Associates with port_id ("" disassociates): a VM port of the department on a subnet attached
// to a router whose gateway is on the floating IP's network (EXTERNAL_NETWORK_UNREACHABLE
// otherwise); PORT_HAS_FLOATING_IP when that address of the port has one already.
Result<api::FloatingIp> PatchFloatingIp(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchFloatingIpRequest& req);
Status DeleteFloatingIp(State& s, Txn& t, const Caller& c, const std::string& id,
                        const std::optional<std::int64_t>& if_match = std::nullopt);

// ---- Server groups (department admins of the group's department; quota `server_groups`) ----
Result<api::ServerGroup> CreateServerGroup(State& s, Txn& t, const Caller& c,
                                           const api::CreateServerGroupRequest& req);
Result<api::ServerGroup> GetServerGroup(const State& s, const Caller& c, const std::string& id);
Page<api::ServerGroup> ListServerGroups(const State& s, const Caller& c, const ListOptions& o);
// FailedPrecondition while the group has members.
Status DeleteServerGroup(State& s, Txn& t, const Caller& c, const std::string& id);

// ---- Scheduler preview ----
struct Preview {
  bool fits = false;
  std::vector<std::pair<std::string, std::string>> assignments;  // host id, host name
  scheduler::Explanation explanation;
};
// Where a create would land and why; allocates nothing. Quota is not checked.
Result<Preview> PreviewPlacement(const State& s, const Caller& c, const api::PreviewRequest& req);

// ---- Events ----
// An agent reports events about its host (and VMs on it). Kept in memory (State::AddEvent).
// InvalidArgument, keeping none of the report, for a kind not in kAgentEventKinds or a vm_id
// that is not a UUID. Events naming a VM not on this host are not kept (logged): the VM may
// have been deleted since (orphan_removed and item_refused excepted: such a domain or watched
// item is not this host's VM, and its event is shown to the system-admin only).
inline constexpr std::array<std::string_view, 4> kAgentEventKinds = {"redefined", "restarted", "orphan_removed",
                                                                      "item_refused"};
Status ReportEvents(State& s, Txn& t, const Caller& c, const std::string& host_id,
                    const api::ReportEventsRequest& req);
struct EventFilter {
  std::string host_id;
  std::string vm_id;
  std::int64_t limit = 100;  // newest first
};
// Admins see every event; department users those of their department's VMs; agents those of
// their hosts.
std::vector<api::Event> ListEvents(const State& s, const Caller& c, const EventFilter& f);
// Records an event of the controller's own about department `department_id` (a backup skipped,
// a capacity request's step, a webhook giving up), at the transaction's time.
void AddDepartmentEvent(State& s, const Txn& t, const std::string& department_id, std::string kind,
                        std::string message);

// ---- Identity: users, tokens, sessions (docs/security.md, "People and sessions") ----
// Users are the security-admin's. A user without a password cannot log in until a password
// reset gives it a one-time one; agents authenticate with tokens only.
Result<api::User> CreateUser(State& s, Txn& t, const Caller& c, const api::CreateUserRequest& req);
Page<api::User> ListUsers(const State& s, const Caller& c, const ListOptions& o, std::int64_t now_ms = 0);
Result<api::User> GetUser(const State& s, const Caller& c, const std::string& id, std::int64_t now_ms = 0);
// The user as the API shows it: with its failed logins and lock (AuthActivity) at now_ms.
api::User RenderUser(const State& s, const api::User& u, std::int64_t now_ms);
// Disables or enables a user (FailedPrecondition for the caller itself).
Result<api::User> PatchUser(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchUserRequest& req);
// Deletes a user with its sessions and tokens; what it made stays (FailedPrecondition for the
// caller itself).
Status DeleteUser(State& s, Txn& t, const Caller& c, const std::string& id,
                  const std::optional<std::int64_t>& if_match);
// Sets a one-time password (its hash made by the caller, outside Db's lock): the user must
// change it at its next login; its sessions end.
Status ResetPassword(State& s, Txn& t, const Caller& c, const std::string& id,
                     const std::string& one_time_password_hash);
// A one-time password that meets `policy` (for ResetPassword and the bootstrap).
std::string NewOneTimePassword(const api::AuthPolicy& policy);
// Removes the user's TOTP factor and recovery codes (an administrator must enrol again).
Status ResetTotp(State& s, Txn& t, const Caller& c, const std::string& id);

struct NewToken {
  api::User user;
  api::Token token;
  std::string secret;  // shown once
};
// A user's own tokens, or (security-admin) those of a user that holds no other administrator
// role; other users are NotFound. expires_at: after now, at most 365 days ahead. Scope: the
// user's role and department, or dept-member of its department for a dept-admin.
Result<NewToken> CreateToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                             const api::CreateTokenRequest& req);
Result<Page<api::Token>> ListTokens(const State& s, const Caller& c, const std::string& user_id,
                                    const ListOptions& o);
// Removes the token: the next request with it answers 401.
Status RevokeToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                   const std::string& token_id);

// Resolves a bearer secret (an API token gpt_..., or a login session gps_...) at now_ms and
// records its use from `source` (memory only). Unauthenticated when unknown, expired, idle
// too long, revoked, or its user is disabled or gone. A session's Caller carries its
// restriction (must change the password; an administrator without an enrolled factor).
Result<Caller> Authenticate(const State& s, const std::string& secret, std::int64_t now_ms,
                            const std::string& source = {});

// ---- Agent enrolment and certificates (docs/security.md, "TLS and agent enrolment") ----
// The controller's CA as the enrolment uses it (null in services that serve plain HTTP).
struct AgentCertificateIssuer {
  pki::KeyAndCertificate ca;
  std::int64_t certificate_lifetime_ms = 30LL * 24 * 3600 * 1000;
};
struct NewHostEnrolment {
  api::HostEnrolment enrolment;
  std::string secret;  // shown once
};
// A one-time enrolment for the agent of host `req.host_name` (system-admin), expiring after
// req.ttl_s. FailedPrecondition when a host of that name is registered by an API-token agent.
Result<NewHostEnrolment> CreateHostEnrolment(State& s, Txn& t, const Caller& c,
                                             const api::CreateHostEnrolmentRequest& req);
// Who presents a client certificate, as the server verified it (HttpRequest's fields).
struct PresentedCertificate {
  std::string common_name;
  std::string serial;
};
// Signs the agent's CSR (public route). With `presented` set (the connection is authenticated
// by a certificate this controller issued and that is still valid): a renewal for the same
// host; the old certificate keeps working for kRenewalOverlapMs more, so requests in flight
// finish. Otherwise `req.enrolment_token` must be an unused, unexpired enrolment, which is
// used up by this call. Unauthenticated for an unknown, used or expired enrolment or an
// unknown certificate; InvalidArgument for a bad CSR (or one naming another host).
inline constexpr std::int64_t kRenewalOverlapMs = 10 * 60 * 1000;
Result<api::AgentCertificateAnswer> IssueAgentCertificate(State& s, Txn& t, const AgentCertificateIssuer& issuer,
                                                          const PresentedCertificate& presented,
                                                          const api::AgentCertificateRequest& req);
// System-admin: forgets every client certificate issued to host `host_id`'s agent, so its next
// request answers 401 (the TLS handshake still passes: the controller's CA signed it; the API
// checks its record on every request). The agent needs a new enrolment to come back. NotFound
// for an unknown host. Audited as host_certificates_revoked with the count.
Status RevokeHostCertificates(State& s, Txn& t, const Caller& c, const std::string& host_id);
// Resolves a verified client certificate to an agent Caller (user id CertificateAgentId(host)).
// Unauthenticated when the controller has no record of it (revoked, replaced and past its
// overlap) or it expired.
Result<Caller> AuthenticateCertificate(const State& s, const PresentedCertificate& presented, std::int64_t now_ms);

// ---- Login sessions and self-service (the /v1/auth routes) ----
// What a login needs from the state, read under Db's shared lock before the password is
// verified outside any lock (Argon2id takes tens of milliseconds).
struct LoginAttempt {
  bool locked = false;        // the user name or the source address is locked out
  std::string password_hash;  // "" for an unknown user or one without a password
};
LoginAttempt PrepareLogin(const State& s, const std::string& user_name, const std::string& source,
                          std::int64_t now_ms);
// Verifies `password` against `hash`, or against a dummy hash when `hash` is empty (so an
// unknown user costs the same time). Runs outside Db's lock.
bool VerifyLoginPassword(const std::string& hash, const std::string& password);
// The login's write: the second factor, the lockout bookkeeping, the session and the audit
// records. Unauthenticated (reason INVALID_CREDENTIALS, one message) for every failure.
// `password_ok` and `attempt` come from VerifyLoginPassword and PrepareLogin.
Result<api::LoginAnswer> FinishLogin(State& s, Txn& t, const api::LoginRequest& req,
                                     const LoginAttempt& attempt, bool password_ok,
                                     const std::string& source);
// Ends the caller's login session (InvalidArgument for an API token).
Status Logout(State& s, Txn& t, const Caller& c);
Result<api::SessionAnswer> DescribeSession(const State& s, const Caller& c, std::int64_t now_ms);
// Removes the login sessions that have expired or sat idle past the policy's timeout at
// t.now_ms() (they answer 401 already); returns how many. The housekeeper's chore, so ended
// sessions do not pile up in the state.
std::int64_t ExpireSessions(State& s, Txn& t);
// Changing a password: the caller's current hash is read first, the current password checked
// (VerifyLoginPassword) and the new one checked against the policy and hashed outside the lock
// (PrepareNewPassword); then CommitPassword stores it if the hash did not change meanwhile.
Result<api::User> CallerUser(const State& s, const Caller& c);
Status CheckNewPassword(const api::AuthPolicy& policy, const api::User& user, const std::string& password);
Status CommitPassword(State& s, Txn& t, const Caller& c, const std::string& previous_hash,
                      const std::string& new_hash);
// Begins a TOTP enrolment (Conflict when one is enrolled already).
Result<api::TotpEnrolmentAnswer> BeginTotp(State& s, Txn& t, const Caller& c);
// Confirms it with a code of the pending secret; answers the recovery codes (shown once).
Result<api::RecoveryCodesAnswer> ConfirmTotp(State& s, Txn& t, const Caller& c, const api::ConfirmTotpRequest& req);
Result<api::AuthPolicy> GetAuthPolicy(const State& s, const Caller& c);
Result<api::AuthPolicy> PutAuthPolicy(State& s, Txn& t, const Caller& c,
                                      const std::optional<std::int64_t>& if_match,
                                      const api::PutAuthPolicyRequest& req);

// First start (no users yet): one user per administrator role (sysadmin, secadmin,
// auditadmin), each with a one-time password and no factor; with `issue_tokens` also one API
// token each, expiring after token_ttl_ms. nullopt when users exist already.
struct Bootstrap {
  struct Administrator {
    api::Role role;
    std::string name;
    std::string one_time_password;
    std::string token;  // "" unless issued
  };
  std::vector<Administrator> administrators;
};
std::optional<Bootstrap> BootstrapAdministrators(State& s, Txn& t, bool issue_tokens,
                                                 std::int64_t token_ttl_ms);
// Completes a first start that committed the administrators but never handed out their
// passwords (it stopped or failed before the passwords file was written; the caller knows by
// the file's absence): when the only users are the three bootstrap administrators and none
// has signed in (each must still change its one-time password, has no factor and no
// session), each gets a new one-time password (and, with `issue_tokens`, a new bootstrap
// token; its old tokens are revoked). nullopt otherwise.
std::optional<Bootstrap> ResumeBootstrap(State& s, Txn& t, bool issue_tokens, std::int64_t token_ttl_ms);

}  // namespace govpool::controller
