// The controller's Prometheus metrics, declared in one place (ALL_*_STATS style):
//   govpool_http_requests_total{route,method,code}           counter
//   govpool_http_request_duration_seconds{route,method}      histogram
//   govpool_placements_total{outcome}                        counter (placed|no_valid_host|quota_exceeded)
//   govpool_department_quota_limit{department,department_id,resource}  gauge (-1: unlimited)
//   govpool_department_quota_used{department,department_id,resource}   gauge
//   govpool_host_capacity{host,host_id,pool,resource}       gauge (cpus, memory_mib, disk_gib)
//   govpool_host_allocated{host,host_id,pool,resource}      gauge (vcpus, memory_mib, disk_gib)
//   govpool_host_up{host,host_id,pool}                      gauge
//   govpool_vms{state}                                       gauge
//   govpool_state_revision                                   gauge
//   govpool_agent_events_total{kind}                         counter (drift repairs reported by agents)
//   govpool_store_commit_batches_total, govpool_store_commit_failures_total  counters
//   govpool_store_durable_answers_total  counter (answers released by commits; / batches = batching)
// State-derived gauges are computed at scrape time from the in-memory state, so deleted
// objects never leave stale series. Thread-safe.
#pragma once

#include <memory>
#include <string>

namespace govpool::controller {

class Db;

class ControllerMetrics {
 public:
  ControllerMetrics();
  ~ControllerMetrics();
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);
  // The Prometheus text exposition of everything above.
  std::string Render(const Db& db) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace govpool::controller
