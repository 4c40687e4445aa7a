// The wire contract's types: resources as the REST API shows them, the requests it takes and
// the answers it gives. Plain structs with no JSON or sockets. Each type is declared once: its
// struct here, its `schema::Fields` list (JSON name, member, rule, flags; see api/schema.h) in
// api/fields.h, which the codec (api/codec.cc) uses to encode, decode and strictly parse it and
// which the OpenAPI conformance test compares with api/openapi/govpool.yaml. Units are in the
// names.
//
// Adding a resource: see docs/architecture.md, "Adding a resource".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/schema.h"

namespace govpool::api {

// Limits that make numbers "absurd" when exceeded (request rules).
inline constexpr std::int64_t kMaxVcpus = 4096;
inline constexpr std::int64_t kMaxMemoryMib = 64LL * 1024 * 1024;  // 64 TiB
inline constexpr std::int64_t kMaxDiskGib = 1024LL * 1024;         // 1 PiB
inline constexpr std::int64_t kMaxQuota = 1'000'000'000;
inline constexpr double kMaxAllocationRatio = 64.0;
inline constexpr std::int64_t kMaxInt = INT64_MAX;
// Guest configuration through cloud-init (docs/api.md, "Guest configuration"): bounds of a
// VM's user_data and ssh_authorized_keys (one key line fits an RSA-16384 key and a comment).
inline constexpr std::size_t kMaxUserDataBytes = 64 * 1024;
inline constexpr std::size_t kMaxSshKeys = 32;
inline constexpr std::size_t kMaxSshKeyBytes = 16 * 1024;
inline constexpr std::size_t kMaxVmNics = 16;  // NICs of one VM (PCI slots stay plenty)

// ---- Enums (one string table each) ----
enum class HostStatus { kUp, kDown };
enum class PowerState { kRunning, kStopped };
enum class VmState { kScheduled, kBuilding, kRunning, kStopped, kDeleting, kDeleted, kError, kUnknown };
// The three administrator roles are separated (docs/security.md, "Separated administrators"):
// a user holds exactly one role, so no user combines two of them.
// kMetricsReader reads /metrics and nothing else: what a Prometheus server's token needs.
enum class Role { kSystemAdmin, kSecurityAdmin, kAuditAdmin, kDeptAdmin, kDeptMember, kAgent, kMetricsReader };
enum class GroupPolicy { kAffinity, kAntiAffinity };
// Storage (docs/storage.md): states are what agents report; the controller adds `unknown`
// nowhere for storage (a silent storage agent's work is handed to another host instead).
enum class VolumeState { kCreating, kAvailable, kInUse, kDeleting, kDeleted, kError };
enum class SnapshotState { kCreating, kAvailable, kDeleting, kDeleted, kError };
enum class ImageState { kQueued, kUploading, kImporting, kAvailable, kDeleting, kDeleted, kError };
enum class ImageFormat { kRaw, kQcow2 };
enum class Visibility { kPublic, kPrivate };
enum class BackupState { kCreating, kAvailable, kDeleting, kDeleted, kError };
// A capacity request's life (docs/departments.md, "Capacity requests").
enum class CapacityRequestState { kDraft, kSubmitted, kApproved, kRejected, kFulfilled, kExpired, kWithdrawn };
// Webhooks (docs/departments.md, "Notifications"): whom a webhook speaks for, and where one
// notification's delivery stands.
enum class WebhookRole { kRequester, kApprover };
enum class WebhookDeliveryState { kPending, kDelivered, kFailed };
// Security group rules (docs/networking.md, "Security groups").
enum class RuleDirection { kIngress, kEgress };
enum class EtherType { kIpv4, kIpv6 };
enum class RuleProtocol { kAny, kTcp, kUdp, kIcmp };

}  // namespace govpool::api

namespace govpool::api::schema {
template <> struct EnumNames<HostStatus> {
  static constexpr std::array<std::pair<HostStatus, std::string_view>, 2> kNames{
      {{HostStatus::kUp, "up"}, {HostStatus::kDown, "down"}}};
};
template <> struct EnumNames<PowerState> {
  static constexpr std::array<std::pair<PowerState, std::string_view>, 2> kNames{
      {{PowerState::kRunning, "running"}, {PowerState::kStopped, "stopped"}}};
};
template <> struct EnumNames<VmState> {
  static constexpr std::array<std::pair<VmState, std::string_view>, 8> kNames{
      {{VmState::kScheduled, "scheduled"}, {VmState::kBuilding, "building"},
       {VmState::kRunning, "running"}, {VmState::kStopped, "stopped"},
       {VmState::kDeleting, "deleting"}, {VmState::kDeleted, "deleted"},
       {VmState::kError, "error"}, {VmState::kUnknown, "unknown"}}};
};
template <> struct EnumNames<Role> {
  static constexpr std::array<std::pair<Role, std::string_view>, 7> kNames{
      {{Role::kSystemAdmin, "system-admin"}, {Role::kSecurityAdmin, "security-admin"},
       {Role::kAuditAdmin, "audit-admin"}, {Role::kDeptAdmin, "dept-admin"},
       {Role::kDeptMember, "dept-member"}, {Role::kAgent, "agent"},
       {Role::kMetricsReader, "metrics-reader"}}};
};
template <> struct EnumNames<GroupPolicy> {
  static constexpr std::array<std::pair<GroupPolicy, std::string_view>, 2> kNames{
      {{GroupPolicy::kAffinity, "affinity"}, {GroupPolicy::kAntiAffinity, "anti-affinity"}}};
};
template <> struct EnumNames<VolumeState> {
  static constexpr std::array<std::pair<VolumeState, std::string_view>, 6> kNames{
      {{VolumeState::kCreating, "creating"}, {VolumeState::kAvailable, "available"},
       {VolumeState::kInUse, "in-use"}, {VolumeState::kDeleting, "deleting"},
       {VolumeState::kDeleted, "deleted"}, {VolumeState::kError, "error"}}};
};
template <> struct EnumNames<SnapshotState> {
  static constexpr std::array<std::pair<SnapshotState, std::string_view>, 5> kNames{
      {{SnapshotState::kCreating, "creating"}, {SnapshotState::kAvailable, "available"},
       {SnapshotState::kDeleting, "deleting"}, {SnapshotState::kDeleted, "deleted"},
       {SnapshotState::kError, "error"}}};
};
template <> struct EnumNames<ImageState> {
  static constexpr std::array<std::pair<ImageState, std::string_view>, 7> kNames{
      {{ImageState::kQueued, "queued"}, {ImageState::kUploading, "uploading"},
       {ImageState::kImporting, "importing"}, {ImageState::kAvailable, "available"},
       {ImageState::kDeleting, "deleting"}, {ImageState::kDeleted, "deleted"},
       {ImageState::kError, "error"}}};
};
template <> struct EnumNames<ImageFormat> {
  static constexpr std::array<std::pair<ImageFormat, std::string_view>, 2> kNames{
      {{ImageFormat::kRaw, "raw"}, {ImageFormat::kQcow2, "qcow2"}}};
};
template <> struct EnumNames<Visibility> {
  static constexpr std::array<std::pair<Visibility, std::string_view>, 2> kNames{
      {{Visibility::kPublic, "public"}, {Visibility::kPrivate, "private"}}};
};
template <> struct EnumNames<BackupState> {
  static constexpr std::array<std::pair<BackupState, std::string_view>, 5> kNames{
      {{BackupState::kCreating, "creating"}, {BackupState::kAvailable, "available"},
       {BackupState::kDeleting, "deleting"}, {BackupState::kDeleted, "deleted"},
       {BackupState::kError, "error"}}};
};
template <> struct EnumNames<CapacityRequestState> {
  static constexpr std::array<std::pair<CapacityRequestState, std::string_view>, 7> kNames{
      {{CapacityRequestState::kDraft, "draft"}, {CapacityRequestState::kSubmitted, "submitted"},
       {CapacityRequestState::kApproved, "approved"}, {CapacityRequestState::kRejected, "rejected"},
       {CapacityRequestState::kFulfilled, "fulfilled"}, {CapacityRequestState::kExpired, "expired"},
       {CapacityRequestState::kWithdrawn, "withdrawn"}}};
};
template <> struct EnumNames<WebhookRole> {
  static constexpr std::array<std::pair<WebhookRole, std::string_view>, 2> kNames{
      {{WebhookRole::kRequester, "requester"}, {WebhookRole::kApprover, "approver"}}};
};
template <> struct EnumNames<WebhookDeliveryState> {
  static constexpr std::array<std::pair<WebhookDeliveryState, std::string_view>, 3> kNames{
      {{WebhookDeliveryState::kPending, "pending"}, {WebhookDeliveryState::kDelivered, "delivered"},
       {WebhookDeliveryState::kFailed, "failed"}}};
};
template <> struct EnumNames<RuleDirection> {
  static constexpr std::array<std::pair<RuleDirection, std::string_view>, 2> kNames{
      {{RuleDirection::kIngress, "ingress"}, {RuleDirection::kEgress, "egress"}}};
};
template <> struct EnumNames<EtherType> {
  static constexpr std::array<std::pair<EtherType, std::string_view>, 2> kNames{
      {{EtherType::kIpv4, "IPv4"}, {EtherType::kIpv6, "IPv6"}}};
};
template <> struct EnumNames<RuleProtocol> {
  static constexpr std::array<std::pair<RuleProtocol, std::string_view>, 4> kNames{
      {{RuleProtocol::kAny, "any"}, {RuleProtocol::kTcp, "tcp"}, {RuleProtocol::kUdp, "udp"},
       {RuleProtocol::kIcmp, "icmp"}}};
};
}  // namespace govpool::api::schema

namespace govpool::api {

using schema::Field;
using schema::Flatten;
using schema::FromString;
using schema::ToString;

// Common metadata of every stored object.
struct Meta {
  std::string id;               // UUID
  std::int64_t revision = 0;    // store revision of the last change (If-Match compares it)
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// Per-department limits. -1 means unlimited.
struct Quota {
  std::int64_t instances = 10;
  std::int64_t vcpus = 20;
  std::int64_t memory_mib = 51200;
  std::int64_t volumes = 10;
  std::int64_t volume_gib = 1000;
  std::int64_t snapshots = 10;
  std::int64_t backup_gib = 1000;  // the volume sizes of its backups (each backup counts whole)
  std::int64_t networks = 5;
  std::int64_t ports = 50;
  std::int64_t security_groups = 10;  // the automatic "default" group counts nothing
  std::int64_t routers = 10;
  std::int64_t floating_ips = 50;
  std::int64_t server_groups = 10;
};
// One quota resource's use (GET /v1/departments/{id}/usage).
struct QuotaUse {
  std::int64_t used = 0;
  std::int64_t limit = 0;
  bool enforced = true;
  std::int64_t subtree_used = 0;     // the department's and its descendants' usage (what limit bounds)
  std::int64_t children_limits = 0;  // the sum of its children's limits (-1: one is unlimited)
};
// A PATCH of some limits.
struct QuotaPatch {
  std::optional<std::int64_t> instances, vcpus, memory_mib, volumes, volume_gib, snapshots, backup_gib,
      networks, ports, security_groups, routers, floating_ips, server_groups;
};
// The quota resources, in API order. `enforced`: something counts usage and refuses creates
// above the limit; limits of resources not enforced yet are stored and shown with
// "enforced": false (volumes and networks arrive with the storage and network issues).
struct QuotaResource {
  std::string_view name;
  std::int64_t Quota::*limit;
  std::optional<std::int64_t> QuotaPatch::*patch;
  bool enforced;
};
inline constexpr QuotaResource kQuotaResources[] = {
    {"instances", &Quota::instances, &QuotaPatch::instances, true},
    {"vcpus", &Quota::vcpus, &QuotaPatch::vcpus, true},
    {"memory_mib", &Quota::memory_mib, &QuotaPatch::memory_mib, true},
    {"volumes", &Quota::volumes, &QuotaPatch::volumes, true},
    {"volume_gib", &Quota::volume_gib, &QuotaPatch::volume_gib, true},
    {"snapshots", &Quota::snapshots, &QuotaPatch::snapshots, true},
    {"backup_gib", &Quota::backup_gib, &QuotaPatch::backup_gib, true},
    {"networks", &Quota::networks, &QuotaPatch::networks, true},
    {"ports", &Quota::ports, &QuotaPatch::ports, true},
    {"security_groups", &Quota::security_groups, &QuotaPatch::security_groups, true},
    {"routers", &Quota::routers, &QuotaPatch::routers, true},
    {"floating_ips", &Quota::floating_ips, &QuotaPatch::floating_ips, true},
    {"server_groups", &Quota::server_groups, &QuotaPatch::server_groups, true},
};
// The entry named `resource`, or nullptr.
const QuotaResource* FindQuotaResource(std::string_view resource);

// ---- Guest configuration rules (CreateVmRequest; the agent's cloud-init seed) ----
// True for an RFC 1123 host name label: 1-63 letters, digits or '-', not starting or ending
// with '-'.
bool IsHostnameLabel(std::string_view label);
// True for a network address Prometheus can scrape: HOST:PORT with HOST a DNS name (labels as
// IsHostnameLabel, dot-separated, at most 253 characters) or an IPv4 address, or [IPV6]:PORT;
// the port 1-65535.
bool IsHostPort(std::string_view address);
// `name` as a host name label: lower case, each run of other characters than [a-z0-9] one '-',
// no '-' at either end, at most 63 characters; "vm" when nothing is left.
std::string HostnameFromName(std::string_view name);
// Why `line` is not one OpenSSH public key line "<type> <base64 key blob> [comment]" (a known
// key type whose blob decodes and names that type, at most kMaxSshKeyBytes, no control
// characters); nullopt when it is one.
std::optional<std::string> SshPublicKeyProblem(std::string_view line);
inline constexpr Quota kZeroQuota{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

struct Department {
  Meta meta;
  std::string name;
  std::string description;
  // The organisation tree (province -> bureau -> department, any depth): the parent's id, empty
  // at the top. A parent's quota bounds the sum of its children's quotas and the usage of its
  // whole subtree (docs/departments.md).
  std::string parent_id;
  Quota quota;
  // Confinement for classified workloads: when non-empty, the department's VMs go only to
  // hosts in these pools.
  std::vector<std::string> allowed_pools;
  // The same for volumes: when non-empty, the department's volumes (VM root disks included)
  // go only to these storage pools (ids or names).
  std::vector<std::string> allowed_storage_pools;
  // Least privilege for dept-members (docs/security.md, "Separated administrators"): may they
  // start, stop and reboot the department's VMs? Set by the system-admin or the department's
  // dept-admin.
  bool member_power_actions = false;
};

struct Flavor {
  Meta meta;
  std::string name;
  std::string description;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  // Host traits a VM of this flavor needs / must avoid (e.g. "ssd", "gpu").
  std::vector<std::string> required_traits;
  std::vector<std::string> forbidden_traits;
  // Host aggregates a VM of this flavor must be placed in (all of them).
  std::vector<std::string> required_aggregates;
};

// A server group: VMs placed together (affinity) or apart (anti-affinity); hard groups are a
// filter, soft ones a preference.
struct ServerGroup {
  Meta meta;
  std::string name;
  std::string department_id;
  GroupPolicy policy = GroupPolicy::kAffinity;
  bool hard = true;
};

struct NumaCell {
  std::int32_t id = 0;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
};

struct HostCapacity {
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::vector<NumaCell> numa_cells;
};

struct ResourceAmounts {
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
};

// What a host's hypervisor actually runs, as its agent last reported. Kept in the
// controller's memory only (a restarted controller shows nothing until the next heartbeat).
struct HostActualUsage {
  std::int64_t domains = 0;          // all domains defined on the host, govpool's or not
  std::int64_t govpool_domains = 0;  // of those, carrying govpool metadata
  std::int64_t running = 0;          // running domains
  std::int64_t vcpus = 0;            // of running domains
  std::int64_t memory_mib = 0;       // of running domains
  // The host's own use as its kernel counts it (0: not measured): CPUs busy in user and
  // kernel mode, in thousandths of a CPU, over the last heartbeat interval; memory in use
  // (total less free, buffers and page cache).
  std::int64_t cpu_busy_millicores = 0;
  std::int64_t memory_used_mib = 0;
  std::int64_t reported_at_ms = 0;   // 0: never reported
};

struct Host {
  Meta meta;
  std::string name;
  std::string pool;
  HostStatus status = HostStatus::kUp;
  bool enabled = true;
  // Joined by an API-token agent without an administrator's say (no enrolment, no
  // pre-registration): disabled until a system-admin enables it (docs/security.md, "Registration").
  bool pending = false;
  bool maintenance = false;
  HostCapacity capacity;
  double cpu_allocation_ratio = 4.0;
  double memory_allocation_ratio = 1.0;
  double disk_allocation_ratio = 1.0;
  std::vector<std::string> traits;
  std::vector<std::string> aggregates;
  // Hosts dedicated to departments take only their VMs. Empty: shared.
  std::vector<std::string> dedicated_departments;
  std::int64_t max_instances = 0;  // 0: unlimited
  std::int64_t last_heartbeat_ms = 0;
  // The agent user that registered the host; empty when registered by an administrator
  // (simulations): such a host has no agent, so VM deletes complete at once.
  std::string agent_user_id;
  // Ceph clusters the host's agent is configured to reach (by the names storage pools use),
  // as its agent registered them.
  std::vector<std::string> storage_clusters;
  // Where Prometheus scrapes the host's agent (HOST:PORT, as the agent registered it); empty:
  // the agent serves no metrics. Listed by GET /v1/metrics/targets.
  std::string metrics_address;
  // Derived (schema::kDerived): filled when the host is shown, never stored.
  HostActualUsage actual;
  // Storage pools (ids) the agent reached at its last report (memory only, like `actual`).
  std::vector<std::string> storage_pools;
  ResourceAmounts allocated;
  ResourceAmounts free;
  std::int64_t instances = 0;
};

// ---- Storage (docs/storage.md) ----
// What Ceph says about a pool, as an agent reaching it last reported (memory only).
struct StoragePoolStats {
  std::int64_t capacity_bytes = 0;   // stored + max_avail (or the pool's quota)
  std::int64_t used_bytes = 0;
  std::int64_t available_bytes = 0;  // max_avail
  double used_ratio = 0;             // used / capacity
  bool nearfull = false;             // Ceph's own flag
  bool full = false;
  std::int64_t reported_at_ms = 0;   // set by the controller; 0: never reported
};

// A Ceph pool govpool may use (admins). Volumes are placed in pools like VMs on hosts.
struct StoragePool {
  Meta meta;
  std::string name;
  std::string cluster;    // the Ceph cluster's name, as agents are configured with it
  std::string ceph_pool;  // the pool's name inside Ceph
  std::vector<std::string> tiers;  // "ssd", "hdd", ...
  // Thin provisioning: the sum of volume sizes may reach capacity * provisioning_ratio.
  double provisioning_ratio = 1.0;
  // At or above this used ratio (or when Ceph flags the pool nearfull) the pool takes no new
  // volumes (Ceph's default mon_osd_nearfull_ratio).
  double nearfull_ratio = 0.85;
  bool enabled = true;
  // Derived (never stored).
  StoragePoolStats stats;
  std::string status;           // "ok" | "nearfull" | "full" | "unknown" (no agent reported)
  std::int64_t allocated_gib = 0;  // sum of its volumes' sizes
  std::int64_t volumes = 0;
  std::int64_t hosts = 0;          // hosts whose agent reached it at their last report
};

// A block device in a storage pool: RBD image "govpool-vol-<id>".
struct Volume {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string pool_id;
  std::int64_t size_gib = 0;           // desired size (grow only)
  std::string source_image_id;         // a copy-on-write clone of the image's snapshot
  std::string source_snapshot_id;      // a clone of a volume snapshot
  std::string source_backup_id;        // restored from a backup (a full copy)
  std::string vm_id;                   // attached to; empty: detached
  std::string device;                  // the guest's disk ("vda" for a root disk, "vdb"...)
  bool boot = false;                   // the VM's root disk: created and deleted with it
  // The agent that does the volume's work: the VM's host when attached, otherwise a host
  // that reaches the pool.
  std::string host_id;
  bool deleting = false;               // desired: gone (snapshots too)
  bool flatten = false;                // desired: copy the parent's data, detach from it
  std::string rollback_snapshot_id;    // desired: roll back to this snapshot (detached only)
  std::int64_t generation = 1;         // bumped on every change of desired state
  // Reported by the agent.
  VolumeState state = VolumeState::kCreating;
  std::string state_reason;
  std::int64_t observed_generation = 0;
  bool flattened = false;              // no longer depends on its source
};

// A point-in-time snapshot of a volume: RBD snapshot "govpool-snap-<id>" (protected, so
// volumes can be cloned from it).
struct VolumeSnapshot {
  Meta meta;
  std::string name;
  std::string volume_id;
  std::string department_id;
  std::string pool_id;
  std::int64_t size_gib = 0;  // the volume's size when taken
  std::string host_id;        // the agent that does its work (its volume's)
  bool deleting = false;
  bool flatten_children = false;  // desired with deleting: flatten clones first
  SnapshotState state = SnapshotState::kCreating;
  std::string state_reason;
};

// A bootable image: uploaded to the controller (streamed to its staging directory, SHA-256
// computed on the way), imported by a storage agent into RBD image "govpool-img-<id>" with a
// protected snapshot "base" that root disks are cloned from.
struct Image {
  Meta meta;
  std::string name;
  std::string department_id;  // empty: public (admins only)
  Visibility visibility = Visibility::kPrivate;
  ImageFormat format = ImageFormat::kRaw;
  std::string pool_id;
  std::string host_id;            // the agent that imports (and deletes) it
  std::int64_t size_bytes = 0;    // of the upload
  std::string sha256;             // of the upload (hex); an expected value may be given
  std::int64_t uploaded_bytes = 0;
  // Reported by the agent.
  std::int64_t imported_bytes = 0;
  std::int64_t virtual_size_bytes = 0;  // the disk's size once imported (raw)
  std::string content_sha256;           // of the imported raw data (checked on verify)
  std::int64_t verified_at_ms = 0;
  bool deleting = false;
  std::int64_t generation = 1;           // bumped by verify requests
  std::int64_t observed_generation = 0;
  ImageState state = ImageState::kQueued;
  std::string state_reason;
};

// A schedule of backups (docs/storage.md, "Backups"): of one volume, or of every volume of
// its department, into a target storage pool (another pool, or a pool of another Ceph
// cluster), keeping the newest `keep` backups of each volume.
struct BackupPolicy {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string volume_id;        // empty: every volume of the department
  std::string schedule;         // "hourly :MM" | "daily HH:MM" | "weekly DAY HH:MM" (UTC)
  std::int64_t keep = 7;        // backups kept per volume (the oldest go first)
  std::string target_pool_id;
  bool enabled = true;
  std::int64_t last_run_at_ms = 0;  // the last slot it ran for (0: never)
  // Derived (never stored).
  std::int64_t next_run_at_ms = 0;
};

// A backup of a volume at one point in time: RBD snapshot "govpool-bak-<id>" of the target
// pool's image "govpool-bak-<volume id>", written from the volume's own snapshot
// "govpool-bak-<id>" with librbd's diff iteration (export-diff/import-diff): only what
// changed since `parent_backup_id` when that one's snapshots are still there, everything
// otherwise. Outlives its volume; restored into a new volume.
struct Backup {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string volume_id;
  std::string volume_name;
  std::string source_pool_id;
  std::string target_pool_id;
  std::string policy_id;         // empty: taken on demand
  std::string parent_backup_id;  // the previous backup of the volume into the same pool
  std::int64_t size_gib = 0;     // the volume's size when taken (counts toward backup_gib)
  std::string host_id;           // the agent that does its work
  bool deleting = false;
  std::int64_t generation = 1;   // bumped for every retry
  std::int64_t attempts = 0;     // failed attempts so far
  // Reported by the agent.
  BackupState state = BackupState::kCreating;
  std::string state_reason;
  std::int64_t observed_generation = 0;
  bool incremental = false;          // written as a diff against its parent
  std::int64_t transferred_bytes = 0;  // data the diff carried
  std::int64_t completed_at_ms = 0;
};

// ---- Networks (docs/networking.md, "Networks (controller side)") ----
// An isolated layer-2 segment: a department's, or shared (created by an admin, no
// department; visible to all, each port on it belongs to its own department).
struct Network {
  Meta meta;
  std::string name;
  std::string department_id;  // empty: shared
  bool shared = false;
  std::int64_t mtu = 1442;    // 1500 less the Geneve overhead
  std::string status = "active";
  // An external (provider) network: created by an admin, no department, visible to every
  // department for router gateways and floating IPs; bridged to `physical_network` (the
  // name of a host bridge mapping, e.g. "physnet1"), flat (untagged).
  bool external = false;
  std::string physical_network;
  // Derived (never stored).
  std::int64_t subnets = 0;
  std::int64_t ports = 0;
};
// An inclusive range of IPv4 addresses.
struct IpRange {
  std::string start;
  std::string end;
};
// An IPv4 subnet of a network; the controller allocates its addresses (IPAM).
struct Subnet {
  Meta meta;
  std::string name;
  std::string network_id;
  std::string department_id;  // the network's (empty: shared)
  std::int64_t ip_version = 4;
  std::string cidr;           // network address / prefix (8..30)
  std::string gateway_ip;
  std::vector<std::string> dns_servers;
  std::vector<IpRange> allocation_pools;
  bool enable_dhcp = true;
  // Derived (never stored): addresses held by ports.
  std::int64_t used_ips = 0;
};
// An address of a port in a subnet.
struct FixedIp {
  std::string subnet_id;
  std::string ip_address;
};
// A virtual NIC on a network, with its MAC and fixed addresses.
struct Port {
  Meta meta;
  std::string name;
  std::string network_id;
  std::string department_id;
  std::string mac_address;    // locally administered unicast, unique
  std::vector<FixedIp> fixed_ips;
  std::string device_id;      // a VM id (optional), or the router / floating IP owning the port
  // "" (a NIC), "router_interface", "router_gateway" or "floating_ip": ports the controller
  // makes for routers and floating IPs; they count no `ports` quota and are removed only
  // through their owner.
  std::string device_owner;
  std::string host_id;        // where it is bound (later)
  std::vector<std::string> security_group_ids;
  std::string status = "down";
  // Created for a VM (a NIC request naming a network): deleted when the VM goes or the NIC is
  // detached. A port the user brought is only unbound then.
  bool delete_with_vm = false;
  std::string state_reason;   // the agent's words with `status` (PUT /v1/ports/{id}/status)
};
// One NIC of a VM as GET /v1/vms/{id} shows it (derived from its port).
struct VmNic {
  std::string port_id;
  std::string network_id;
  std::string mac_address;
  std::vector<std::string> ip_addresses;
};

// ---- Security groups, routers, floating IPs (docs/networking.md) ----
// One allow rule of a security group (everything not allowed is dropped; a reply to an
// allowed connection is allowed, stateful).
struct SecurityGroupRule {
  std::string id;             // UUID
  RuleDirection direction = RuleDirection::kIngress;
  EtherType ethertype = EtherType::kIpv4;
  RuleProtocol protocol = RuleProtocol::kAny;
  // tcp/udp only; 0/0: every port. Inclusive, 1..65535, min <= max.
  std::int64_t port_range_min = 0;
  std::int64_t port_range_max = 0;
  // The peer: a CIDR (normalised to its network address), or the ports of a security group
  // of the same department; neither: any address.
  std::string remote_ip_prefix;
  std::string remote_group_id;
  std::string description;
};
// A department's set of allow rules applied to the ports that name it. The group named
// "default" is made by the controller (ingress from its own members, all egress).
struct SecurityGroup {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string description;
  std::vector<SecurityGroupRule> rules;
  // Derived (never stored): ports naming the group.
  std::int64_t ports = 0;
};
// A router's uplink: a port on an external network (device_owner "router_gateway").
struct RouterGateway {
  std::string network_id;     // an external network
  bool enable_snat = true;    // source-NAT the inside subnets to ip_address
  // Set by the controller:
  std::string port_id;
  std::string subnet_id;
  std::string ip_address;
};
// A subnet attached to a router: the router answers on the subnet's gateway_ip through port
// `port_id` (device_owner "router_interface", its own MAC).
struct RouterInterface {
  std::string subnet_id;
  std::string port_id;
  std::string ip_address;
};
// A department's router: routes between its attached subnets and, with a gateway, to the
// external network (SNAT, floating IPs).
struct Router {
  Meta meta;
  std::string name;
  std::string department_id;
  RouterGateway external_gateway;  // network_id "": none
  std::vector<RouterInterface> interfaces;
  std::string status = "active";
};
// An address of an external network (held by port `floating_port_id`, device_owner
// "floating_ip") mapped one to one (DNAT and SNAT) to `fixed_ip_address` of port `port_id`
// by router `router_id`.
struct FloatingIp {
  Meta meta;
  std::string department_id;
  std::string floating_network_id;
  std::string floating_subnet_id;
  std::string floating_ip_address;
  std::string floating_port_id;
  std::string port_id;            // "": not associated
  std::string fixed_ip_address;
  std::string router_id;
  std::string description;
  std::string status = "down";    // "active" while associated
};

// Where a VM's resources sit on its host (the scheduler's assignment).
struct NumaShare {
  std::int32_t cell = 0;
  ResourceAmounts resources;
};

struct Vm {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string flavor_id;
  std::string flavor_name;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::string pool;
  std::string server_group_id;
  std::string host_id;
  std::vector<NumaShare> numa;
  // Booted from an image: the root disk is volume root_volume_id (an RBD clone of the image),
  // and disk_gib (local disk on the host) is 0.
  std::string image_id;
  std::string root_volume_id;
  // Guest configuration, handed to the guest by the agent's cloud-init NoCloud seed: its host
  // name (an RFC 1123 label), the OpenSSH public key lines it authorizes, and the user's own
  // user-data ("#cloud-config" or a "#!" script; empty: none). Set at creation, never changed.
  // Lists of VMs leave user_data out (GET /v1/vms/{id} and the agent's watch show it).
  std::string hostname;
  std::vector<std::string> ssh_authorized_keys;
  std::string user_data;
  PowerState power = PowerState::kRunning;  // desired power state
  bool deleting = false;          // desired: gone
  std::int64_t generation = 1;    // bumped on every change of desired state
  std::int64_t reboot_count = 0;  // desired reboots; an agent reboots when it lags
  // Reported by the host's agent.
  VmState state = VmState::kScheduled;
  std::string state_reason;
  std::int64_t observed_generation = 0;
  // Its NICs in order (eth0, eth1...): the ids of its ports (stored); `nics` shows them.
  std::vector<std::string> port_ids;
  std::vector<VmNic> nics;  // derived from the ports
};

// A person or an automation account (docs/security.md, "People and sessions"). Secrets are
// storage-only: the password's Argon2id hash and the previous ones, the TOTP secret and the
// recovery codes' hashes never leave the controller.
struct User {
  Meta meta;
  std::string name;
  Role role = Role::kDeptMember;
  std::string department_id;  // for department roles
  bool disabled = false;      // a disabled user's sessions and tokens answer 401
  bool must_change_password = false;  // set by a reset (one-time password) and at bootstrap
  bool totp_enrolled = false;
  std::int64_t password_changed_at_ms = 0;
  std::int64_t last_login_at_ms = 0;
  // Lockout as the controller counts it now (memory only, derived): failed logins in the
  // current window and, when locked, until when.
  std::int64_t failed_logins = 0;
  std::int64_t locked_until_ms = 0;
  // Storage only.
  std::string password_hash = {};              // Argon2id, encoded; "" = no password (no login)
  std::vector<std::string> password_history = {};  // previous hashes, most recent last (policy's N)
  std::string totp_secret = {};                // base32; before confirmation the pending one
  std::int64_t totp_last_step = 0;             // the last accepted step (replays refused)
  std::vector<std::string> recovery_code_hashes = {};  // SHA-256 of each unused code
};

// An API token for automation. Only the SHA-256 of the secret is stored. Its scope (role and
// department) is what a request with it may do; never more than its user's own.
struct Token {
  Meta meta;
  std::string user_id;
  std::string name;
  std::string secret_sha256;
  std::int64_t expires_at_ms = 0;  // required for new tokens; 0 (older records): expired
  Role role = Role::kDeptMember;
  std::string department_id = {};
  // Memory only (derived): the last request with it and its source address.
  std::int64_t last_used_at_ms = 0;
  std::string last_used_from = {};
};

// A login session (storage only: never shown as such; GET /v1/auth/session describes the
// caller's own). Its last activity is kept in memory, so after a controller restart the idle
// timeout counts from the restart.
struct Session {
  Meta meta;
  std::string user_id;
  std::string secret_sha256;
  std::int64_t expires_at_ms = 0;  // absolute lifetime
  std::string source;              // the client's address at login
  // Memory only: the last request with it.
  std::int64_t last_used_at_ms = 0;
};

// Password, lockout and session policy (GET/PUT /v1/auth/policy; one stored record).
struct AuthPolicy {
  Meta meta;
  std::int64_t password_min_length = 12;
  std::int64_t password_min_classes = 3;   // of lower case, upper case, digits, others
  std::int64_t password_history = 5;       // a new password is none of the last N
  std::int64_t lockout_attempts = 5;       // failed logins in the window that lock
  std::int64_t lockout_window_s = 15 * 60;
  std::int64_t lockout_duration_s = 15 * 60;
  std::int64_t session_idle_timeout_s = 15 * 60;
  std::int64_t session_lifetime_s = 8 * 60 * 60;
};

// Something an agent noticed and acted on, e.g. a domain destroyed behind govpool's back and
// restored ("redefined", "restarted", "orphan_removed"). Kept in the controller's memory (the
// last 10,000); not durable.
struct Event {
  std::string id;
  std::string host_id;
  std::string vm_id;
  std::string department_id;  // of the VM when reported; empty when unknown
  std::string kind;
  std::string message;
  std::int64_t at_ms = 0;
};

// Storage only: a replayable answer to a POST with an Idempotency-Key.
struct IdempotencyRecord {
  std::string id;            // sha256(user id + key)
  std::string request_hash;  // sha256(method + path + body)
  std::int64_t status = 0;
  std::string body;
  std::int64_t created_at_ms = 0;
};

// ---- Requests ----
struct CreateDepartmentRequest {
  std::string name;
  std::string description;
  std::string parent;  // the parent's id or name; empty: a top-level department
  Quota quota;
  std::vector<std::string> allowed_pools;
  std::vector<std::string> allowed_storage_pools;
};
struct PatchDepartmentRequest {
  std::optional<std::string> name;
  std::optional<std::string> parent;  // moves it: the new parent's id or name, "" for the top
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> allowed_pools;
  std::optional<std::vector<std::string>> allowed_storage_pools;
  std::optional<QuotaPatch> quota;
  std::optional<bool> member_power_actions;
};
struct CreateFlavorRequest {
  std::string name;
  std::string description;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::vector<std::string> required_traits;
  std::vector<std::string> forbidden_traits;
  std::vector<std::string> required_aggregates;
};
struct CreateServerGroupRequest {
  std::string name;
  std::string department_id;
  GroupPolicy policy = GroupPolicy::kAffinity;
  bool hard = true;
};
struct RegisterHostRequest {
  std::string name;
  std::string pool;
  HostCapacity capacity;
  std::vector<std::string> traits;
  std::vector<std::string> storage_clusters;
  std::string metrics_address;  // HOST:PORT of the agent's /metrics; empty: none
};
// One entry of Prometheus' HTTP service discovery (GET /v1/metrics/targets): the addresses to
// scrape and their labels ("__meta_" labels are for relabelling only). Encoded by
// EncodeMetricsTargets (api/codec.h): the endpoint answers a bare JSON array, as Prometheus'
// http_sd_configs asks.
struct MetricsTargetGroup {
  std::vector<std::string> targets;
  std::map<std::string, std::string> labels;
};
// GET /v1/reports/consolidation: per pool, the hosts its current VMs occupy and how many they
// would need packed by the scheduler (scheduler/consolidation.h).
struct PoolConsolidation {
  std::string pool;
  std::int64_t hosts = 0;           // hosts taking VMs: up, enabled, not in maintenance
  std::int64_t hosts_in_use = 0;    // of those, holding a VM now
  std::int64_t hosts_needed = 0;    // holding one after packing (at least: server groups ignored)
  std::int64_t hosts_freeable = 0;  // hosts_in_use - hosts_needed, not below 0
  std::int64_t vms = 0;             // VMs placed on the pool's hosts
  std::int64_t vms_unplaced = 0;    // VMs the packed copy found no room for
};
struct ConsolidationReport {
  std::int64_t generated_at_ms = 0;
  std::vector<PoolConsolidation> pools;  // by pool name
};
// ---- Capacity requests (docs/departments.md, "Capacity requests") ----
// VMs a department asks for: created as one all-or-nothing request on final approval, with
// the department's quota grown by what they use.
struct CapacityVms {
  std::string name;     // one VM: its name; several: name-1, name-2, ...
  std::string flavor;   // id or name
  std::string image;    // id or name; empty: a local disk
  std::string network;  // id or name; empty: no NIC
  std::int64_t count = 1;
};
// What an approver sees beside a pending request (derived; only while it waits).
struct CapacityHeadroom {
  std::string level;  // a department above
  std::string resource;
  std::int64_t headroom = 0;  // its limit less its children's limits; -1: unlimited
};
struct CapacityContext {
  std::map<std::string, QuotaUse> usage;  // the department's, for the resources the grant grows
  std::vector<CapacityHeadroom> headroom;
  // Could the grant be applied now: VMs, whether the scheduler places them (quota aside); a
  // quota increase, whether the parent has room for it. Why not, in fit_summary.
  bool fits_now = false;
  std::string fit_summary;
};
// One level's approval.
struct CapacityApproval {
  std::string level;  // a department's id, or "platform"
  std::string user_id;
  std::string user;
  std::int64_t at_ms = 0;
};
struct CapacityRequest {
  Meta meta;
  std::string department_id;
  std::string requested_by;  // the user's name
  std::string reason;
  std::optional<QuotaPatch> quota;  // increases (> 0) of the department's limits
  std::optional<CapacityVms> vms;
  std::int64_t end_at_ms = 0;  // a time-limited grant ends then; 0: permanent
  CapacityRequestState state = CapacityRequestState::kDraft;
  // Who approves, in order: the ancestors whose limits the grant needs, nearest first, then
  // "platform" (the system-admin). Fixed when submitted.
  std::vector<std::string> levels;
  std::vector<CapacityApproval> approvals;
  std::string decided_by;        // who rejected or withdrew it
  std::string rejection_reason;
  std::string unfulfilled_reason;  // approved but not applied (yet): why; approve again to retry
  std::int64_t fulfilled_at_ms = 0;
  QuotaPatch granted;              // what fulfilment added to the limits (returned at end_at)
  std::vector<std::string> vm_ids; // the VMs created
  bool expiry_warned = false;
  // Derived for approvers: the next level to approve ("" when none), the department's usage
  // and, per level, the headroom its limit leaves (limit less its children's limits).
  std::string next_level;
  std::optional<CapacityContext> context;
};
struct CreateCapacityRequest {
  std::string department_id;  // id or name
  std::string reason;
  std::optional<QuotaPatch> quota;
  std::optional<CapacityVms> vms;
  std::int64_t end_at_ms = 0;
  bool submit = true;  // false: keep it a draft
};
// approve/reject/withdraw/submit: the reason is required to reject.
struct CapacityDecision {
  std::string reason;
};

// ---- Webhooks (docs/departments.md, "Notifications") ----
// The events a webhook can ask for. A requester webhook hears of its department's requests;
// an approver webhook of the requests that wait for its level ("submitted": now yours to
// decide) and of those that stop waiting for it (withdrawn, rejected, expired), the platform's
// also of grants approved but not applied (unfulfilled: retry).
inline constexpr std::array<std::string_view, 10> kWebhookEvents = {
    "submitted", "approved", "rejected", "fulfilled", "unfulfilled",
    "withdrawn", "expiring", "expired",  "over-quota", "ping"};
struct Webhook {
  Meta meta;
  std::string name;
  std::string department_id;  // empty: the platform's (an approver webhook of the system-admins)
  WebhookRole role = WebhookRole::kRequester;
  std::string url;  // https://; http:// only to a loopback address (a local relay)
  std::vector<std::string> events;  // of kWebhookEvents; empty: all of them
  std::string created_by;
  std::string secret;      // storage only: the key of each delivery's HMAC-SHA256 signature
  std::string new_secret;  // derived: the secret, in the answer to the create only
  std::int64_t last_delivered_at_ms = 0;
  std::int64_t last_failed_at_ms = 0;
  std::string last_error;  // of the last failed attempt
};
struct CreateWebhookRequest {
  std::string name;
  std::string department_id;  // id or name; empty: the platform (system-admin only)
  WebhookRole role = WebhookRole::kRequester;
  std::string url;
  std::vector<std::string> events;
};
// The body of one delivery (POST, application/json).
struct WebhookNotification {
  std::string id;     // the delivery's id, also X-Govpool-Delivery: a receiver drops repeats by it
  std::string event;  // of kWebhookEvents
  std::int64_t at_ms = 0;
  std::string webhook_id;
  std::string department_id;   // the request's department
  std::string awaiting_level;  // a department's id or "platform": who decides now, if anyone
  std::string message;
  std::optional<CapacityRequest> capacity_request;
};
// One notification on its way to one webhook; kept (pending, then its outcome) until pruned.
struct WebhookDelivery {
  std::string id;
  std::string webhook_id;
  std::string department_id;  // the webhook's (for who may read it)
  std::string event;
  std::string body;  // the JSON POSTed (an encoded WebhookNotification)
  WebhookDeliveryState state = WebhookDeliveryState::kPending;
  std::int64_t created_at_ms = 0;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at_ms = 0;
  std::int64_t last_attempt_at_ms = 0;
  std::int64_t delivered_at_ms = 0;
  std::int64_t last_status = 0;  // the receiver's HTTP status; 0: no answer
  std::string last_error;
};

// ---- Utilisation (docs/operations.md, "Utilisation reports") ----
// Resource-hours of one department or compute pool over some time, integrated by the
// controller's utilisation meter from samples of what is allocated (the state) and what is
// used (agents' measurements at their heartbeats).
struct UtilisationFigures {
  double sampled_hours = 0;  // time the meter saw (less than the span while the controller was down)
  double vm_hours = 0;       // VMs placed x hours: their average number is vm_hours / sampled_hours
  double vcpu_hours_allocated = 0;
  double vcpu_hours_used = 0;  // CPUs busy x hours
  double memory_gib_hours_allocated = 0;
  double memory_gib_hours_used = 0;
  double disk_gib_hours_allocated = 0;    // local disks, and for departments their volumes
  double vcpu_hours_capacity = 0;         // pools: their hosts' CPUs x hours
  double memory_gib_hours_capacity = 0;   // pools
  // Derived by the report: used / capacity for pools, used / allocated for departments (0: no
  // denominator).
  double cpu_utilisation = 0;
  double memory_utilisation = 0;
};
// One hour (UTC) of a series.
struct UtilisationHour {
  std::int64_t hour_ms = 0;  // the hour's start
  UtilisationFigures figures;
};
// One department or pool over the report's span: its total and its hours (oldest first; hours
// the meter never saw are left out).
struct UtilisationSeries {
  std::string key;   // the department's id, or the pool's name
  std::string name;  // the department's name, or the pool's name
  UtilisationFigures total;
  std::vector<UtilisationHour> hours;
};
// GET /v1/reports/utilisation.
struct UtilisationReport {
  std::int64_t from_ms = 0;  // the first hour's start
  std::int64_t to_ms = 0;    // the end of the last hour (exclusive)
  std::string group_by;      // department | pool
  std::vector<UtilisationSeries> series;  // by name
};
// What an agent saw of one storage pool of its clusters.
struct StoragePoolReport {
  std::string pool_id;
  bool reachable = false;
  std::string reason;  // why not reachable (Ceph's error text)
  StoragePoolStats stats;
};
// One running VM's own use, as its host's agent measured it for a heartbeat: CPU busy over the
// last heartbeat interval (thousandths of a CPU; 0 at the first sample) and memory in use
// (the balloon's figure, or what the guest holds resident).
struct VmActualUsage {
  std::string vm_id;
  std::int64_t cpu_busy_millicores = 0;
  std::int64_t memory_used_mib = 0;
};
// POST /v1/hosts/{id}/heartbeat; the body is optional.
struct HeartbeatRequest {
  std::optional<HostActualUsage> usage;
  // The use of the VMs running on the host (omitted: not measured; the controller counts none).
  std::optional<std::vector<VmActualUsage>> vms;
  // Reports on the storage pools of the host's clusters (omitted: no change).
  std::optional<std::vector<StoragePoolReport>> storage_pools;
};
struct PatchHostRequest {
  std::optional<bool> enabled;
  std::optional<bool> maintenance;
  std::optional<std::string> pool;
  std::optional<double> cpu_allocation_ratio;
  std::optional<double> memory_allocation_ratio;
  std::optional<double> disk_allocation_ratio;
  std::optional<std::vector<std::string>> traits;
  std::optional<std::vector<std::string>> aggregates;
  std::optional<std::vector<std::string>> dedicated_departments;
  std::optional<std::int64_t> max_instances;
};
// One NIC of a VM (POST /v1/vms `networks[]`, POST /v1/vms/{id}/interfaces): either a new
// port on `network` (id or name; created for the VM, deleted with it), optionally with the
// address `fixed_ip`, or `port`, the id of an existing unbound port of the VM's department.
struct NicRequest {
  std::string network;
  std::string fixed_ip;
  std::string port;
};
struct CreateVmRequest {
  std::string name;
  std::string department_id;
  std::string flavor;  // name or id
  std::string pool;
  PowerState power = PowerState::kRunning;
  std::string server_group;  // id; empty: none
  // count > 1 creates <name>-1 ... <name>-<count>, all placed or none.
  std::int64_t count = 1;
  // Boot from an image (id or name): the root disk is a copy-on-write RBD clone of it in
  // `storage_pool` (id or name; default: the image's pool), of root_gib (default: the
  // flavor's disk_gib, at least the image's size).
  std::string image;
  std::string storage_pool;
  std::int64_t root_gib = 0;
  // Guest configuration (see Vm): hostname defaults to HostnameFromName(the VM's name); with
  // count > 1 each VM gets "<hostname>-<i>". user_data must start with "#cloud-config" or "#!".
  std::string hostname;
  std::vector<std::string> ssh_authorized_keys;
  std::string user_data;
  // Its NICs, in order (eth0, eth1...).
  std::vector<NicRequest> networks;
};
// The guest configuration rules of a create: hostname a label (IsHostnameLabel), at most
// kMaxSshKeys keys each valid (SshPublicKeyProblem), user_data "#cloud-config..." or "#!..."
// without control characters other than tab, newline and carriage return.
std::optional<schema::Violation> CheckGuestConfig(const CreateVmRequest& r);
// Where a create would land and why, without allocating (POST /v1/scheduler/preview).
struct PreviewRequest {
  std::string department_id;
  std::string flavor;
  std::string pool;
  std::string server_group;
  std::int64_t count = 1;
};
struct CreateUserRequest {
  std::string name;
  Role role = Role::kDeptMember;
  std::string department_id;
};
// At most this far ahead may a token expire.
inline constexpr std::int64_t kMaxTokenLifetimeMs = 365LL * 24 * 60 * 60 * 1000;
struct CreateTokenRequest {
  std::string name;
  std::int64_t expires_at_ms = 0;  // required
  std::optional<Role> role = {};   // default: the user's own
  std::string department_id = {};  // default: the user's own
};
struct PatchUserRequest {
  std::optional<bool> disabled;
};
// ---- Identity: login and self-service (docs/security.md, "People and sessions") ----
struct LoginRequest {
  std::string user;
  std::string password;
  std::string totp_code;      // administrators with an enrolled factor: this...
  std::string recovery_code;  // ...or one unused recovery code
};
struct ChangePasswordRequest {
  std::string current_password;
  std::string new_password;
};
struct ConfirmTotpRequest {
  std::string code;
};
struct PutAuthPolicyRequest {
  std::int64_t password_min_length = 12;
  std::int64_t password_min_classes = 3;
  std::int64_t password_history = 5;
  std::int64_t lockout_attempts = 5;
  std::int64_t lockout_window_s = 15 * 60;
  std::int64_t lockout_duration_s = 15 * 60;
  std::int64_t session_idle_timeout_s = 15 * 60;
  std::int64_t session_lifetime_s = 8 * 60 * 60;
};
struct CreateStoragePoolRequest {
  std::string name;
  std::string cluster;
  std::string ceph_pool;  // default: name
  std::vector<std::string> tiers;
  double provisioning_ratio = 1.0;
  double nearfull_ratio = 0.85;
};
struct PatchStoragePoolRequest {
  std::optional<std::vector<std::string>> tiers;
  std::optional<double> provisioning_ratio;
  std::optional<double> nearfull_ratio;
  std::optional<bool> enabled;
};
struct CreateVolumeRequest {
  std::string name;
  std::string department_id;
  std::int64_t size_gib = 0;  // required unless cloned (default: the source's size)
  std::string pool;           // storage pool id or name; empty: the scheduler chooses
  std::string tier;           // with no pool: a pool with this tier
  std::string image;          // id or name: a clone of the image
  std::string snapshot;       // id: a clone of a volume snapshot
};
struct AttachVolumeRequest {
  std::string vm_id;
};
struct ResizeVolumeRequest {
  std::int64_t size_gib = 0;
};
struct CreateSnapshotRequest {
  std::string name;
};
struct CreateBackupPolicyRequest {
  std::string name;
  std::string department_id;
  std::string volume;        // id or name: one volume; empty: every volume of the department
  std::string schedule;
  std::int64_t keep = 7;
  std::string target_pool;   // storage pool id or name
  bool enabled = true;
};
struct PatchBackupPolicyRequest {
  std::optional<std::string> schedule;
  std::optional<std::int64_t> keep;
  std::optional<bool> enabled;
};
struct CreateBackupRequest {
  std::string name;          // empty: "<volume name>-<UTC time>"
  std::string volume;        // id (or name, with department_id)
  std::string department_id;
  std::string target_pool;   // storage pool id or name
};
struct CreateNetworkRequest {
  std::string name;
  std::string department_id;  // empty with shared (admins only)
  bool shared = false;
  std::int64_t mtu = 1442;
  bool external = false;          // admins only; no department
  std::string physical_network;   // required with external
};
struct CreateSubnetRequest {
  std::string name;
  std::string network_id;
  std::int64_t ip_version = 4;
  std::string cidr;
  std::string gateway_ip;     // default: the first host
  std::vector<std::string> dns_servers;
  std::vector<IpRange> allocation_pools;  // default: every host but the gateway
  bool enable_dhcp = true;
};
struct CreatePortRequest {
  std::string name;
  std::string network_id;
  std::string department_id;  // default: the network's (required on a shared one)
  std::string mac_address;    // default: generated
  // Each: a subnet (an address allocated from its pools) and/or an address (honoured when
  // free). Default: one address from the network's first subnet, when it has one.
  std::vector<FixedIp> fixed_ips;
  std::string device_id;
  std::string host_id;
  // Security groups of the port's department; none given: the department's "default".
  std::vector<std::string> security_group_ids;
};
// PATCH /v1/ports/{id}: what is given changes (security_group_ids [] leaves the port in no
// group: all its traffic is dropped).
struct PatchPortRequest {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> security_group_ids;
};
struct CreateSecurityGroupRequest {
  std::string name;
  std::string department_id;
  std::string description;
};
struct PatchSecurityGroupRequest {
  std::optional<std::string> name;
  std::optional<std::string> description;
};
struct CreateSecurityGroupRuleRequest {
  RuleDirection direction = RuleDirection::kIngress;
  EtherType ethertype = EtherType::kIpv4;
  RuleProtocol protocol = RuleProtocol::kAny;
  std::int64_t port_range_min = 0;
  std::int64_t port_range_max = 0;
  std::string remote_ip_prefix;
  std::string remote_group_id;
  std::string description;
};
// A router's uplink as asked for (network_id "": none).
struct RouterGatewayRequest {
  std::string network_id;
  bool enable_snat = true;
};
struct CreateRouterRequest {
  std::string name;
  std::string department_id;
  RouterGatewayRequest external_gateway;
};
// PATCH /v1/routers/{id}: external_gateway replaces the uplink ({"network_id": ""} removes it).
struct PatchRouterRequest {
  std::optional<std::string> name;
  std::optional<RouterGatewayRequest> external_gateway;
};
struct RouterInterfaceRequest {
  std::string subnet_id;
};
struct CreateFloatingIpRequest {
  std::string department_id;        // default: the caller's
  std::string floating_network_id;  // an external network
  std::string floating_ip_address;  // default: allocated
  std::string port_id;              // associate at once (optional)
  std::string fixed_ip_address;     // which of the port's addresses (default: its IPv4 one)
  std::string description;
};
// PATCH /v1/floating-ips/{id}: the association as a whole; port_id absent, null or "":
// disassociated.
struct PatchFloatingIpRequest {
  std::string port_id;
  std::string fixed_ip_address;
};
struct RestoreBackupRequest {
  std::string name;          // of the new volume
  std::string pool;          // storage pool id or name; empty: the scheduler chooses
  std::string tier;
};
// An agent's report about a backup (PUT /v1/backups/{id}/status).
struct BackupStatusReport {
  BackupState state = BackupState::kAvailable;
  std::string state_reason;
  std::int64_t observed_generation = 0;
  bool incremental = false;
  std::int64_t transferred_bytes = 0;
};
struct CreateImageRequest {
  std::string name;
  std::string department_id;  // empty: public (admins only)
  ImageFormat format = ImageFormat::kRaw;
  std::string pool;           // storage pool id or name; empty: the scheduler chooses
  std::string sha256;         // expected SHA-256 of the upload (hex); checked when given
};
// An agent's report about a volume (PUT /v1/volumes/{id}/status).
struct VolumeStatusReport {
  VolumeState state = VolumeState::kAvailable;
  std::string state_reason;
  std::int64_t observed_generation = 0;
  bool flattened = false;
};
// An agent's report about a snapshot (PUT /v1/volumes/{id}/snapshots/{sid}/status).
struct SnapshotStatusReport {
  SnapshotState state = SnapshotState::kAvailable;
  std::string state_reason;
};
// An agent's report about an image (PUT /v1/images/{id}/status).
struct ImageStatusReport {
  ImageState state = ImageState::kImporting;
  std::string state_reason;
  std::int64_t imported_bytes = 0;
  std::int64_t virtual_size_bytes = 0;
  std::string content_sha256;
  std::int64_t observed_generation = 0;
};
// An agent's report about a VM's port (PUT /v1/ports/{id}/status).
struct PortStatusReport {
  std::string status;         // active|down|error
  std::string host_id;        // where it is bound ("" when unplugged)
  std::string state_reason;
};
// An agent's report about one VM (PUT /v1/vms/{id}/status).
struct VmStatusReport {
  VmState state = VmState::kBuilding;  // building|running|stopped|deleting|deleted|error
  std::string state_reason;
  std::int64_t observed_generation = 0;
};
// One thing an agent noticed (POST /v1/hosts/{id}/events).
struct EventReport {
  std::string vm_id;
  std::string kind;
  std::string message;
};
struct ReportEventsRequest {
  std::vector<EventReport> events;
};

// ---- Answers ----
// GET on a collection: one page; next_page_token is empty on the last page.
template <class T>
struct ListPage {
  std::vector<T> items;
  std::string next_page_token;
};
// One record of the audit trail (docs/security.md, "Audit trail"): GET /v1/audit lists them,
// the export writes them one per line. `hash` chains each record to the one before it:
// hash = SHA-256 over prev_hash and every other field (api/audit_chain.h), so a record
// changed, removed or moved breaks the chain at that record.
struct AuditRecord {
  std::int64_t seq = 0;      // 1, 2, 3... in commit order
  std::int64_t time_ms = 0;  // when it was committed (ms since the epoch)
  std::string kind = "request";
  std::string user = "anonymous";
  std::string user_id;
  std::string role;
  std::string source;  // the client's address
  std::string method;
  std::string route;  // the route's pattern; "unmatched" when no route matched
  std::string object_id;
  std::string department_id;
  std::string outcome;  // allowed | denied | failed
  std::int64_t status = 0;
  std::string body_sha256;
  std::string detail;
  std::string prev_hash;
  std::string hash;
};
// A signed checkpoint of the chain: mac = HMAC-SHA256(key, seq, hash, algorithm) with a key
// only the controller holds.
struct AuditCheckpoint {
  std::int64_t seq = 0;
  std::string hash;
  std::string algorithm = "sha256";
  std::string mac;
  std::int64_t time_ms = 0;
};
// POST /v1/audit/verify: whether the chain and its checkpoints are intact; else the first
// record (by seq) found changed, removed or reordered, or a checkpoint that does not hold.
struct AuditVerifyAnswer {
  bool ok = true;
  std::int64_t records = 0;
  std::int64_t checkpoints = 0;
  std::int64_t first_bad_seq = 0;
  std::string problem;  // "" | changed | removed | reordered | checkpoint
  std::string message;
  std::int64_t archived_through_seq = 0;  // records up to this seq are in archive files
};

// GET /v1/hosts/{id}/vms: the host's whole desired set as of `revision`: its VMs, the
// volumes, snapshots and images whose work it does, and the storage pools of its clusters.
struct WatchAnswer {
  std::int64_t revision = 0;
  std::vector<Vm> items;
  std::vector<Volume> volumes;
  std::vector<VolumeSnapshot> snapshots;
  std::vector<Image> images;
  std::vector<StoragePool> storage_pools;
  std::vector<Backup> backups;
  // The ports of the VMs in `items` (device_id names the VM): the NICs the agent gives them.
  std::vector<Port> ports;
};
// GET /v1/departments/{id}/usage.
struct DepartmentUsage {
  std::string department_id;
  std::map<std::string, QuotaUse> usage;  // by quota resource
};
// POST /v1/scheduler/preview.
struct PreviewAssignment {
  std::string host_id;
  std::string host_name;
};
struct PreviewExplanation {
  std::int64_t hosts_total = 0;
  std::int64_t hosts_fit = 0;
  std::map<std::string, std::int64_t> rejected;  // reason -> hosts
  std::string summary;
};
struct PreviewAnswer {
  bool fits = false;
  std::vector<PreviewAssignment> assignments;
  PreviewExplanation explanation;
};
// POST /v1/users/{id}/tokens: the only time a secret leaves the server.
struct NewTokenAnswer {
  User user;
  std::string token_id;
  std::string name;
  std::string token;
  std::int64_t expires_at_ms = 0;
  Role role = Role::kDeptMember;
  std::string department_id = {};
};
// ---- Agent enrolment (docs/security.md, "TLS and agent enrolment") ----
// A one-time, expiring permission for the agent of host `host_name` to obtain its client
// certificate. The secret itself is shown once, when it is made.
struct HostEnrolment {
  Meta meta;
  std::string host_name;
  std::string pool;           // the pool a new host of this name joins
  std::string secret_sha256;  // storage only
  std::int64_t expires_at_ms = 0;
  std::int64_t used_at_ms = 0;  // 0: not redeemed yet
};
inline constexpr std::int64_t kDefaultEnrolmentLifetimeS = 3600;
inline constexpr std::int64_t kMaxEnrolmentLifetimeS = 7 * 24 * 3600;
struct CreateHostEnrolmentRequest {
  std::string host_name;
  std::string pool = {};
  std::int64_t ttl_s = kDefaultEnrolmentLifetimeS;
};
// POST /v1/host-enrolments: the only time the enrolment's secret leaves the server.
struct NewHostEnrolmentAnswer {
  HostEnrolment enrolment;
  std::string token;
  std::string ca_certificate;  // PEM: what the agent verifies the controller against
};
// POST /v1/agent-certificates: a certificate signing request (PEM), with an enrolment token
// for the first certificate, or over a connection authenticated by the current one to renew.
struct AgentCertificateRequest {
  std::string enrolment_token;
  std::string csr;
};
struct AgentCertificateAnswer {
  std::string host_name;
  std::string certificate;     // PEM, CN = host_name, clientAuth
  std::string ca_certificate;  // PEM
  std::int64_t expires_at_ms = 0;
};
// A client certificate the controller issued to an agent (storage only): a verified
// certificate authenticates only while its record exists and has not expired.
struct AgentCertificate {
  Meta meta;
  std::string host_name;
  std::string pool;    // from the enrolment: the pool a new host of this name joins
  std::string serial;  // lower-case hex
  std::int64_t expires_at_ms = 0;
};
// POST /v1/auth/login: the session's secret (shown once) and what the user must do first.
struct LoginAnswer {
  std::string token;
  std::int64_t expires_at_ms = 0;
  std::int64_t idle_timeout_s = 0;
  User user;
  bool must_change_password = false;
  bool must_enrol_factor = false;
};
// GET /v1/auth/session: who the caller is and with what.
struct SessionAnswer {
  User user;
  Role role = Role::kDeptMember;  // the credential's scope
  std::string department_id;
  std::string credential_kind;    // session | token
  std::string credential_id;
  std::string restriction;        // none | change-password | enrol-factor
  std::int64_t expires_at_ms = 0;
  std::int64_t idle_timeout_s = 0;  // sessions only
};
// POST /v1/auth/totp: the secret of the enrolment begun (confirmed by a code).
struct TotpEnrolmentAnswer {
  std::string secret_base32;
  std::string otpauth_uri;
};
// POST /v1/auth/totp/confirm: one-time recovery codes, shown only here.
struct RecoveryCodesAnswer {
  std::vector<std::string> recovery_codes;
};
// POST /v1/users/{id}/password-reset: the one-time password (must be changed at first login).
struct PasswordResetAnswer {
  std::string user_id;
  std::string one_time_password;
};

}  // namespace govpool::api
