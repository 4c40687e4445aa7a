// AgentMetrics: what an agent's GET /metrics serves (docs/operations.md, "Agent metrics"), all
// declared in one list, kAgentMetrics (common/metric_list.h):
//   - the host: its capacity (as registered), its CPU time and memory as its kernel counts them,
//     its domains by state (govpool's or not);
//   - each govpool VM the controller assigned to this host, from ONE bulk hypervisor call per
//     scrape (Hypervisor::GetDomainStats, libvirt's virConnectGetAllDomainStats): CPU time,
//     vCPUs, memory and memory in use, disk bytes and operations, network bytes and drops.
//     Labels vm_id, vm (its name) and department_id; domains the controller did not assign
//     (an operator's, or an orphan about to be removed) get no series, so the cardinality is
//     bounded by what the host runs;
//   - the reconcile loop (passes by outcome, their duration, errors by code, drift repairs by
//     kind, when the last pass ended) and the hypervisor connection (up, reconnects).
// Which host, pool and department a series belongs to beyond these labels comes from the
// target's labels (the controller's http_sd endpoint gives host, host_id and pool).
// Gauges and the hypervisor's counters are read at scrape time; a scrape whose hypervisor call
// fails serves the loop's metrics with govpool_agent_hypervisor_up 0 and no VM series.
//
// Thread-safety: ObservePass (the loop's thread) and Render (the HTTP server's threads) may run
// concurrently; Render calls the Hypervisor, which is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/drivers/hypervisor.h"
#include "agent/host_agent.h"
#include "api/http_message.h"
#include "common/metric_list.h"

namespace govpool::agent {

enum class AgentMetric {
  kHostCapacity,
  kHostCpuBusy,
  kHostMemory,
  kDomains,
  kVmCpu,
  kVmVcpus,
  kVmMemory,
  kVmMemoryUsed,
  kVmDiskReadBytes,
  kVmDiskWrittenBytes,
  kVmDiskReads,
  kVmDiskWrites,
  kVmNetworkReceiveBytes,
  kVmNetworkTransmitBytes,
  kVmNetworkReceiveDrops,
  kVmNetworkTransmitDrops,
  kReconcilePasses,
  kReconcileDuration,
  kReconcileErrors,
  kDriftRepairs,
  kLastReconcile,
  kHypervisorUp,
  kHypervisorReconnects,
};

using AgentMetricDef = MetricDefOf<AgentMetric>;

// The one list. Conventions as the controller's (controller/metrics.h): base units, counters
// end in _total, one vocabulary of label names.
inline constexpr std::array<AgentMetricDef, 23> kAgentMetrics{{
    {AgentMetric::kHostCapacity, "govpool_agent_host_capacity", MetricType::kGauge, "resource",
     "The host's capacity as registered: cpus, memory_bytes, disk_bytes"},
    {AgentMetric::kHostCpuBusy, "govpool_agent_host_cpu_busy_seconds_total", MetricType::kCounter, "",
     "CPU time of all the host's CPUs in user and kernel mode since boot (/ cpus = busy fraction)"},
    {AgentMetric::kHostMemory, "govpool_agent_host_memory_bytes", MetricType::kGauge, "kind",
     "The host's memory: total, available (free, buffers and page cache)"},
    {AgentMetric::kDomains, "govpool_agent_domains", MetricType::kGauge, "state",
     "Domains on the host by power state (running, shutoff, paused, crashed, other), govpool's or not"},
    {AgentMetric::kVmCpu, "govpool_vm_cpu_seconds_total", MetricType::kCounter, "vm_id,vm,department_id",
     "CPU time the VM used (all vCPUs and its emulator) since it started"},
    {AgentMetric::kVmVcpus, "govpool_vm_vcpus", MetricType::kGauge, "vm_id,vm,department_id",
     "The VM's online vCPUs"},
    {AgentMetric::kVmMemory, "govpool_vm_memory_bytes", MetricType::kGauge, "vm_id,vm,department_id",
     "Memory the VM has now (its balloon's current size)"},
    {AgentMetric::kVmMemoryUsed, "govpool_vm_memory_used_bytes", MetricType::kGauge, "vm_id,vm,department_id",
     "Memory the VM uses: its memory less what its balloon driver reports unused, or else what it "
     "holds resident on the host"},
    {AgentMetric::kVmDiskReadBytes, "govpool_vm_disk_read_bytes_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Bytes the VM read from a disk since it started"},
    {AgentMetric::kVmDiskWrittenBytes, "govpool_vm_disk_written_bytes_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Bytes the VM wrote to a disk since it started"},
    {AgentMetric::kVmDiskReads, "govpool_vm_disk_reads_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Read operations of the VM on a disk since it started"},
    {AgentMetric::kVmDiskWrites, "govpool_vm_disk_writes_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Write operations of the VM on a disk since it started"},
    {AgentMetric::kVmNetworkReceiveBytes, "govpool_vm_network_receive_bytes_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Bytes the VM received on a NIC since it started"},
    {AgentMetric::kVmNetworkTransmitBytes, "govpool_vm_network_transmit_bytes_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Bytes the VM sent on a NIC since it started"},
    {AgentMetric::kVmNetworkReceiveDrops, "govpool_vm_network_receive_drops_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Packets to the VM dropped on a NIC since it started"},
    {AgentMetric::kVmNetworkTransmitDrops, "govpool_vm_network_transmit_drops_total", MetricType::kCounter,
     "vm_id,vm,department_id,device", "Packets from the VM dropped on a NIC since it started"},
    {AgentMetric::kReconcilePasses, "govpool_agent_reconcile_passes_total", MetricType::kCounter, "outcome",
     "Reconcile passes since start: ok, or failed (the hypervisor could not be listed)"},
    {AgentMetric::kReconcileDuration, "govpool_agent_reconcile_duration_seconds", MetricType::kHistogram, "",
     "Duration of a reconcile pass (VMs, storage and network)"},
    {AgentMetric::kReconcileErrors, "govpool_agent_reconcile_errors_total", MetricType::kCounter, "code",
     "Reconcile errors since start: a failed pass by its status code (unavailable...), vm_error for "
     "each VM a pass left in phase error"},
    {AgentMetric::kDriftRepairs, "govpool_agent_drift_repairs_total", MetricType::kCounter, "kind",
     "Drift repaired since start, by kind (redefined, restarted, orphan_removed, item_refused)"},
    {AgentMetric::kLastReconcile, "govpool_agent_last_reconcile_timestamp_seconds", MetricType::kGauge, "",
     "When the last successful reconcile pass ended (Unix seconds); absent before the first"},
    {AgentMetric::kHypervisorUp, "govpool_agent_hypervisor_up", MetricType::kGauge, "",
     "1 when this scrape's hypervisor call succeeded and the connection is up"},
    {AgentMetric::kHypervisorReconnects, "govpool_agent_hypervisor_reconnects_total", MetricType::kCounter, "",
     "Connections to the hypervisor opened again after the first"},
}};

static_assert(InIdOrder(kAgentMetrics), "kAgentMetrics must list the metrics in AgentMetric order");

constexpr const AgentMetricDef& Def(AgentMetric m) { return kAgentMetrics[static_cast<std::size_t>(m)]; }

class AgentMetrics {
 public:
  // `hypervisor` must outlive this object; `capacity` is what the host registered with.
  AgentMetrics(Hypervisor& hypervisor, const api::RegisterHostRequest& capacity, const Clock& clock);
  ~AgentMetrics();

  // One reconcile pass (HostAgentOptions::on_reconcile_pass): the VMs it was given name the
  // per-VM series from then on.
  void ObservePass(const ReconcilePass& pass);

  // The Prometheus text exposition of every metric in the list.
  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The answer of an agent's metrics listener: GET /metrics with `Authorization: Bearer <token>`
// (when `token` is set; compared in constant time) gets `render()`; anything else a JSON error
// (401 UNAUTHENTICATED, 404 ROUTE_NOT_FOUND, 405 METHOD_NOT_ALLOWED).
api::HttpResponse AnswerMetricsRequest(const api::HttpRequest& request, std::string_view token,
                                       const std::function<std::string()>& render);

}  // namespace govpool::agent
