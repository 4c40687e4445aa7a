// The controller's Prometheus metrics, all declared in one list, kControllerMetrics below
// (Envoy's ALL_*_STATS lists): name, type, label names and help. Nothing else in the
// controller spells a metric's name or its label names: code refers to a metric by its
// ControllerMetric id and passes label values in the declared order.
//
// Conventions (checked by tests/unit/controller/metrics_test.cc): the govpool_ prefix; base
// units, named in the metric (_seconds) or, for resource-keyed gauges, in the `resource`
// label's value (memory_bytes, disk_bytes, volume_bytes); counters end in _total; one
// vocabulary of label names across metrics: route/method/code, department/department_id,
// host/host_id/pool, storage_pool/storage_pool_id, resource, outcome, state, kind. An unlimited quota is +Inf (so
// `used > limit` and `used / limit` need no special case).
//
// State-derived gauges are computed at scrape time from the in-memory state, so deleted
// objects never leave stale series. Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/metric_list.h"

namespace govpool::controller {

class Db;

enum class ControllerMetric {
  kHttpRequests,
  kHttpRequestDuration,
  kPlacements,
  kDepartmentQuotaLimit,
  kDepartmentQuotaUsed,
  kHostCapacity,
  kHostAllocated,
  kHostUp,
  kVms,
  kStateRevision,
  kAgentEvents,
  kStoreCommitBatches,
  kStoreCommitFailures,
  kStoreDurableAnswers,
  kStoragePoolBytes,
  kStoragePoolNearfull,
  kBackups,
  kBackupFailures,
  kNorthboundSyncPasses,
  kNorthboundRowsChanged,
  kNorthboundInSync,
  kServerCertificateExpiry,
  kVmOldestTransitionalAge,
  kHostUsed,
  kStoreCommitDuration,
  kPlacementRefusals,
  kWatchesHeld,
  kAuditChainIntact,
  kAuditChainVerified,
  kDepartmentUsed,
  kCapacityRequests,
  kCapacityGrantsExpiring,
  kWebhookDeliveries,
};

using MetricDef = MetricDefOf<ControllerMetric>;

// The one list.
inline constexpr std::array<MetricDef, 33> kControllerMetrics{{
    {ControllerMetric::kHttpRequests, "govpool_http_requests_total", MetricType::kCounter,
     "route,method,code", "HTTP requests answered, by route pattern, method and status code"},
    {ControllerMetric::kHttpRequestDuration, "govpool_http_request_duration_seconds",
     MetricType::kHistogram, "route,method",
     "Time from request to durable answer, by route pattern and method"},
    {ControllerMetric::kPlacements, "govpool_placements_total", MetricType::kCounter, "outcome",
     "VM placement outcomes since start (placed, no_valid_host, quota_exceeded)"},
    {ControllerMetric::kDepartmentQuotaLimit, "govpool_department_quota_limit", MetricType::kGauge,
     "department,department_id,resource",
     "Department quota limit in base units (memory_bytes, volume_bytes; counts otherwise); "
     "+Inf: unlimited"},
    {ControllerMetric::kDepartmentQuotaUsed, "govpool_department_quota_used", MetricType::kGauge,
     "department,department_id,resource",
     "Department quota usage in base units (memory_bytes, volume_bytes; counts otherwise)"},
    {ControllerMetric::kHostCapacity, "govpool_host_capacity", MetricType::kGauge,
     "host,host_id,pool,resource",
     "Host physical capacity: cpus, memory_bytes, disk_bytes"},
    {ControllerMetric::kHostAllocated, "govpool_host_allocated", MetricType::kGauge,
     "host,host_id,pool,resource",
     "Resources allocated to VMs on the host, same resources as govpool_host_capacity "
     "(cpus: vCPUs placed)"},
    {ControllerMetric::kHostUp, "govpool_host_up", MetricType::kGauge, "host,host_id,pool",
     "1 when the host is up"},
    {ControllerMetric::kVms, "govpool_vms", MetricType::kGauge, "state",
     "VMs by state as the API shows it"},
    {ControllerMetric::kStateRevision, "govpool_state_revision", MetricType::kGauge, "",
     "Revision of the controller state"},
    {ControllerMetric::kAgentEvents, "govpool_agent_events_total", MetricType::kCounter, "kind",
     "Events reported by agents since start (drift repairs...), by kind"},
    {ControllerMetric::kStoreCommitBatches, "govpool_store_commit_batches_total",
     MetricType::kCounter, "", "Durable commits (one fsync each)"},
    {ControllerMetric::kStoreCommitFailures, "govpool_store_commit_failures_total",
     MetricType::kCounter, "", "Failed commits"},
    {ControllerMetric::kStoreDurableAnswers, "govpool_store_durable_answers_total",
     MetricType::kCounter, "",
     "Answers released by a durable commit (one commit releases many; / batches = batching)"},
    {ControllerMetric::kStoragePoolBytes, "govpool_storage_pool_bytes", MetricType::kGauge,
     "storage_pool,storage_pool_id,kind",
     "Storage pool bytes by kind: capacity, used and available (Ceph, as agents last reported), "
     "allocated (sum of its volumes' sizes)"},
    {ControllerMetric::kStoragePoolNearfull, "govpool_storage_pool_nearfull", MetricType::kGauge,
     "storage_pool,storage_pool_id",
     "1 when the pool is at or above its nearfull ratio or Ceph flags it nearfull/full: it "
     "takes no new volumes"},
    {ControllerMetric::kBackups, "govpool_backups", MetricType::kGauge, "state",
     "Backups by state (creating, available, deleting, error)"},
    {ControllerMetric::kBackupFailures, "govpool_backup_failures_total", MetricType::kCounter, "",
     "Failed backup attempts since start (each is retried up to 3 times; event backup-failed)"},
    {ControllerMetric::kNorthboundSyncPasses, "govpool_northbound_sync_passes_total",
     MetricType::kCounter, "outcome",
     "Passes of the OVN Northbound sync since start: converged (nothing to change), changed, "
     "failed (retried with backoff)"},
    {ControllerMetric::kNorthboundRowsChanged, "govpool_northbound_rows_changed_total",
     MetricType::kCounter, "",
     "Northbound rows created, updated or deleted by the sync since start (drift repairs included)"},
    {ControllerMetric::kNorthboundInSync, "govpool_northbound_in_sync", MetricType::kGauge, "",
     "1 when the last pass of the OVN Northbound sync succeeded; 0 when it failed or none ran "
     "(absent when the controller runs without --ovn-nb)"},
    {ControllerMetric::kServerCertificateExpiry, "govpool_server_certificate_expiry_timestamp_seconds",
     MetricType::kGauge, "",
     "When the certificate the controller serves ends (Unix seconds; renewed 30 days ahead, "
     "docs/security.md); absent over plain HTTP"},
    {ControllerMetric::kVmOldestTransitionalAge, "govpool_vm_oldest_transitional_age_seconds",
     MetricType::kGauge, "state",
     "Time since the last change of the oldest VM in a transitional state (scheduled, building, "
     "deleting) on a host with an agent; 0 when there is none"},
    {ControllerMetric::kHostUsed, "govpool_host_used", MetricType::kGauge, "host,host_id,pool,resource",
     "What the host actually uses as its agent last reported: cpus (CPUs busy in user and kernel "
     "mode over the last heartbeat interval), memory_bytes (in use); absent until measured"},
    {ControllerMetric::kStoreCommitDuration, "govpool_store_commit_duration_seconds", MetricType::kHistogram, "",
     "Duration of one durable commit of the state store (a transaction and its fsync)"},
    {ControllerMetric::kPlacementRefusals, "govpool_placement_refusals_total", MetricType::kCounter, "reason",
     "VM placements refused for want of a host since start, by the scheduler filter that turned away "
     "the most hosts (insufficient_memory, anti_affinity, wrong_pool...)"},
    {ControllerMetric::kWatchesHeld, "govpool_watches_held", MetricType::kGauge, "",
     "Watch long-polls the controller holds open now (agents and clients waiting for changes)"},
    {ControllerMetric::kAuditChainIntact, "govpool_audit_chain_intact", MetricType::kGauge, "",
     "1 when the last verification of the audit chain (hashes and checkpoint MACs, hourly) found it "
     "intact, 0 when a record was changed, removed or reordered; absent before the first"},
    {ControllerMetric::kAuditChainVerified, "govpool_audit_chain_verified_timestamp_seconds", MetricType::kGauge, "",
     "When the audit chain was last verified (Unix seconds)"},
    {ControllerMetric::kDepartmentUsed, "govpool_department_used", MetricType::kGauge,
     "department,department_id,resource",
     "What the department's running VMs actually use, as their hosts' agents last measured it: "
     "cpus (busy over the last heartbeat interval), memory_bytes (in use); absent until measured"},
    {ControllerMetric::kCapacityRequests, "govpool_capacity_requests", MetricType::kGauge, "state",
     "Capacity requests by state (draft, submitted, approved: waiting or not applied yet, rejected, "
     "fulfilled, expired, withdrawn)"},
    {ControllerMetric::kCapacityGrantsExpiring, "govpool_capacity_grants_expiring", MetricType::kGauge, "",
     "Time-limited capacity grants warned of their coming end (3 days ahead) and not ended yet"},
    {ControllerMetric::kWebhookDeliveries, "govpool_webhook_deliveries", MetricType::kGauge, "state",
     "Webhook notifications kept, by state: pending (queued or retrying), delivered, failed (gave up); "
     "delivered and failed ones are kept 7 days"},
}};

constexpr const MetricDef& Def(ControllerMetric m) {
  return kControllerMetrics[static_cast<std::size_t>(m)];
}

// Every entry sits at the index of its id, so Def() is a plain lookup.
static_assert(InIdOrder(kControllerMetrics), "kControllerMetrics must list the metrics in ControllerMetric order");

class ControllerMetrics {
 public:
  ControllerMetrics();
  ~ControllerMetrics();
  // Counts one answered request (govpool_http_requests_total) and its duration
  // (govpool_http_request_duration_seconds). `route` is a pattern or "unmatched"; a method that
  // is not one of HTTP's own is counted as "other".
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  // Counts one pass of the Northbound sync (controller/network_sync.h): its outcome
  // ("converged", "changed" or "failed"), the rows it changed, and whether the database is now
  // in sync.
  void ObserveNorthboundPass(std::string_view outcome, std::int64_t rows_changed, bool in_sync);
  // The end of the certificate the controller now serves (TlsRotation reports it).
  void SetServerCertificateNotAfter(std::int64_t not_after_ms);
  // The last verdict on the audit chain (the housekeeper's hourly verification).
  void SetAuditChainVerdict(bool intact, std::int64_t at_ms);
  // Where govpool_watches_held comes from (the WatchHub's held()); unset: not exposed.
  void SetWatchesHeld(std::function<std::int64_t()> held);
  // The Prometheus text exposition of every metric in the list.
  std::string Render(const Db& db) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace govpool::controller
