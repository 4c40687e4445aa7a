#include "controller/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/metric_families.h"
#include "common/strings.h"
#include "controller/db.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

// Labels from the declared names and `values` in the same order.
std::map<std::string, std::string> Labels(ControllerMetric m, std::vector<std::string> values) {
  const std::vector<std::string> names = MetricLabelNames(Def(m).labels);
  if (names.size() != values.size()) {
    throw std::logic_error(std::string(Def(m).name) + ": label values do not match the declared labels");
  }
  std::map<std::string, std::string> labels;
  for (std::size_t i = 0; i < names.size(); ++i) labels.emplace(names[i], std::move(values[i]));
  return labels;
}

// A quantity as the API names it ("memory_mib") in base units: the resource name for metrics
// ("memory_bytes") and the factor to multiply by.
struct BaseUnit {
  std::string resource;
  double factor = 1;
};
BaseUnit ToBaseUnit(std::string_view name) {
  auto with_suffix = [&](std::string_view suffix, double factor) -> std::optional<BaseUnit> {
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return std::nullopt;
    return BaseUnit{std::string(name.substr(0, name.size() - suffix.size())) + "_bytes", factor};
  };
  if (auto u = with_suffix("_mib", 1024.0 * 1024)) return *u;
  if (auto u = with_suffix("_gib", 1024.0 * 1024 * 1024)) return *u;
  return {std::string(name), 1};
}

using Scrape = MetricFamilies<ControllerMetric, kControllerMetrics.size()>;

double Count(std::int64_t n) { return static_cast<double>(n); }

}  // namespace

struct ControllerMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name(std::string(Def(ControllerMetric::kHttpRequests).name))
          .Help(std::string(Def(ControllerMetric::kHttpRequests).help))
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name(std::string(Def(ControllerMetric::kHttpRequestDuration).name))
          .Help(std::string(Def(ControllerMetric::kHttpRequestDuration).help))
          .Register(*registry);
  // The Northbound sync's counters (ObserveNorthboundPass); in_sync -1: no pass yet.
  std::atomic<std::int64_t> northbound_converged{0}, northbound_changed{0}, northbound_failed{0};
  std::atomic<std::int64_t> northbound_rows_changed{0};
  std::atomic<int> northbound_in_sync{-1};
  std::atomic<std::int64_t> server_certificate_not_after_ms{0};  // 0: none served
  std::function<std::int64_t()> watches_held;  // set before serving
  std::atomic<int> audit_chain_intact{-1};     // -1: not verified yet
  std::atomic<std::int64_t> audit_chain_verified_ms{0};
};

ControllerMetrics::ControllerMetrics() : impl_(std::make_unique<Impl>()) {}
ControllerMetrics::~ControllerMetrics() = default;

namespace {
// The method as a label: HTTP's own methods, and "other" for whatever else a client sends, so
// that no client can mint series (routes are patterns or "unmatched", codes 100-999 already).
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "other";
}
}  // namespace

void ControllerMetrics::ObserveRequest(const std::string& route, const std::string& raw_method,
                                       int status, double seconds) {
  const std::string method(MethodLabel(raw_method));
  impl_->requests.Add(Labels(ControllerMetric::kHttpRequests, {route, method, std::to_string(status)}))
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  impl_->latency.Add(Labels(ControllerMetric::kHttpRequestDuration, {route, method}), kBuckets)
      .Observe(seconds);
}

void ControllerMetrics::ObserveNorthboundPass(std::string_view outcome, std::int64_t rows_changed,
                                              bool in_sync) {
  if (outcome == "converged") {
    ++impl_->northbound_converged;
  } else if (outcome == "changed") {
    ++impl_->northbound_changed;
  } else {
    ++impl_->northbound_failed;
  }
  impl_->northbound_rows_changed += rows_changed;
  impl_->northbound_in_sync = in_sync ? 1 : 0;
}

void ControllerMetrics::SetAuditChainVerdict(bool intact, std::int64_t at_ms) {
  impl_->audit_chain_verified_ms = at_ms;
  impl_->audit_chain_intact = intact ? 1 : 0;
}

void ControllerMetrics::SetWatchesHeld(std::function<std::int64_t()> held) { impl_->watches_held = std::move(held); }

void ControllerMetrics::SetServerCertificateNotAfter(std::int64_t not_after_ms) {
  impl_->server_certificate_not_after_ms = not_after_ms;
}

std::string ControllerMetrics::Render(const Db& db) const {
  using M = ControllerMetric;
  constexpr double kMib = 1024.0 * 1024;
  constexpr double kGib = 1024.0 * kMib;
  Scrape scrape(kControllerMetrics);
  for (const MetricDef& def : kControllerMetrics) {
    const bool in_registry = def.id == M::kHttpRequests || def.id == M::kHttpRequestDuration;
    if (!in_registry) scrape.Family(def.id);
  }
  db.Read([&](const State& s) {
    const PlacementCounters& pc = s.placement_counters();
    scrape.Add(M::kPlacements, {"placed"}, Count(pc.placed.load()));
    scrape.Add(M::kPlacements, {"no_valid_host"}, Count(pc.no_valid_host.load()));
    scrape.Add(M::kPlacements, {"quota_exceeded"}, Count(pc.quota_exceeded.load()));
    for (const auto& [reason, n] : pc.refusals()) scrape.Add(M::kPlacementRefusals, {reason}, Count(n));
    for (const auto& [id, d] : s.departments()) {
      const api::Quota used = s.Usage(id);
      // Only enforced resources: a limit nothing enforces would mislead a dashboard.
      for (const api::QuotaResource& r : api::kQuotaResources) {
        if (!r.enforced) continue;
        const BaseUnit unit = ToBaseUnit(r.name);
        const std::int64_t limit = d.quota.*(r.limit);
        scrape.Add(M::kDepartmentQuotaLimit, {d.name, id, unit.resource},
                   limit < 0 ? std::numeric_limits<double>::infinity() : Count(limit) * unit.factor);
        scrape.Add(M::kDepartmentQuotaUsed, {d.name, id, unit.resource}, Count(used.*(r.limit)) * unit.factor);
      }
    }
    std::map<api::CapacityRequestState, std::int64_t> requests;
    for (const auto& [id, r] : s.capacity_requests()) ++requests[r.state];
    for (const auto& [state, name] : api::schema::EnumNames<api::CapacityRequestState>::kNames) {
      scrape.Add(M::kCapacityRequests, {std::string(name)}, Count(requests[state]));
    }
    std::int64_t expiring = 0;
    for (const auto& [id, r] : s.capacity_requests()) {
      expiring += r.state == api::CapacityRequestState::kFulfilled && r.expiry_warned ? 1 : 0;
    }
    scrape.Add(M::kCapacityGrantsExpiring, {}, Count(expiring));
    std::map<api::WebhookDeliveryState, std::int64_t> deliveries;
    for (const auto& [id, d] : s.webhook_deliveries()) ++deliveries[d.state];
    for (const auto& [state, name] : api::schema::EnumNames<api::WebhookDeliveryState>::kNames) {
      scrape.Add(M::kWebhookDeliveries, {std::string(name)}, Count(deliveries[state]));
    }
    for (const auto& [id, use] : s.MeasuredUseByDepartment()) {
      const api::Department* d = s.FindDepartment(id);
      if (!d) continue;
      scrape.Add(M::kDepartmentUsed, {d->name, id, "cpus"}, Count(use.cpu_busy_millicores) / 1000);
      scrape.Add(M::kDepartmentUsed, {d->name, id, "memory_bytes"}, Count(use.memory_used_mib) * kMib);
    }
    for (const auto& [id, raw] : s.hosts()) {
      const api::Host h = s.RenderHost(raw);
      scrape.Add(M::kHostCapacity, {h.name, id, h.pool, "cpus"}, Count(h.capacity.cpus));
      scrape.Add(M::kHostCapacity, {h.name, id, h.pool, "memory_bytes"}, Count(h.capacity.memory_mib) * kMib);
      scrape.Add(M::kHostCapacity, {h.name, id, h.pool, "disk_bytes"}, Count(h.capacity.disk_gib) * kGib);
      scrape.Add(M::kHostAllocated, {h.name, id, h.pool, "cpus"}, Count(h.allocated.vcpus));
      scrape.Add(M::kHostAllocated, {h.name, id, h.pool, "memory_bytes"}, Count(h.allocated.memory_mib) * kMib);
      scrape.Add(M::kHostAllocated, {h.name, id, h.pool, "disk_bytes"}, Count(h.allocated.disk_gib) * kGib);
      scrape.Add(M::kHostUp, {h.name, id, h.pool}, h.status == api::HostStatus::kUp ? 1 : 0);
      if (h.actual.reported_at_ms > 0 && h.actual.memory_used_mib > 0) {
        scrape.Add(M::kHostUsed, {h.name, id, h.pool, "cpus"}, Count(h.actual.cpu_busy_millicores) / 1000);
        scrape.Add(M::kHostUsed, {h.name, id, h.pool, "memory_bytes"}, Count(h.actual.memory_used_mib) * kMib);
      }
    }
    for (const auto& [id, raw] : s.storage_pools()) {
      const api::StoragePool p = s.RenderStoragePool(raw);
      scrape.Add(M::kStoragePoolBytes, {p.name, id, "capacity"}, Count(p.stats.capacity_bytes));
      scrape.Add(M::kStoragePoolBytes, {p.name, id, "used"}, Count(p.stats.used_bytes));
      scrape.Add(M::kStoragePoolBytes, {p.name, id, "available"}, Count(p.stats.available_bytes));
      scrape.Add(M::kStoragePoolBytes, {p.name, id, "allocated"}, Count(p.allocated_gib) * kGib);
      scrape.Add(M::kStoragePoolNearfull, {p.name, id}, p.status == "nearfull" || p.status == "full" ? 1 : 0);
    }
    std::map<std::string, std::int64_t> by_state;
    // A VM an agent should be converging and is not: its state unchanged since updated_at.
    // (Hosts without an agent, simulations, keep their VMs scheduled: not counted.)
    std::map<std::string, std::int64_t> oldest_ms{{"scheduled", 0}, {"building", 0}, {"deleting", 0}};
    const std::int64_t now_ms = db.NowMs();
    for (const auto& [id, v] : s.vms()) {
      const std::string state(api::ToString(RenderVm(s, v).state));
      ++by_state[state];
      auto transitional = oldest_ms.find(state);
      const api::Host* host = s.FindHost(v.host_id);
      if (transitional == oldest_ms.end() || !host || host->agent_user_id.empty()) continue;
      transitional->second = std::max(transitional->second, now_ms - v.meta.updated_at_ms);
    }
    for (const auto& [state, n] : by_state) scrape.Add(M::kVms, {state}, Count(n));
    for (const auto& [state, ms] : oldest_ms) scrape.Add(M::kVmOldestTransitionalAge, {state}, Count(ms) / 1000);
    std::map<std::string, std::int64_t> backups{{"creating", 0}, {"available", 0}, {"deleting", 0}, {"error", 0}};
    for (const auto& [id, b] : s.backups()) ++backups[std::string(api::ToString(b.state))];
    for (const auto& [state, n] : backups) scrape.Add(M::kBackups, {state}, Count(n));
    auto failures = s.event_counts().find("backup-failed");
    scrape.Add(M::kBackupFailures, {}, Count(failures == s.event_counts().end() ? 0 : failures->second));
    scrape.Add(M::kStateRevision, {}, Count(s.revision()));
    for (const auto& [kind, n] : s.event_counts()) scrape.Add(M::kAgentEvents, {kind}, Count(n));
    return 0;
  });
  const CommitStats cs = db.commit_stats();
  scrape.Add(M::kStoreCommitBatches, {}, Count(cs.batches));
  scrape.Add(M::kStoreCommitFailures, {}, Count(cs.failures));
  scrape.Add(M::kStoreDurableAnswers, {}, Count(cs.answers));
  scrape.AddHistogram(M::kStoreCommitDuration, {}, CommitStats::kDurationBounds, cs.commits_within, cs.batches,
                      cs.commit_seconds_sum);
  if (impl_->watches_held) scrape.Add(M::kWatchesHeld, {}, Count(impl_->watches_held()));
  if (const int intact = impl_->audit_chain_intact.load(); intact >= 0) {
    scrape.Add(M::kAuditChainIntact, {}, intact);
    scrape.Add(M::kAuditChainVerified, {}, Count(impl_->audit_chain_verified_ms.load()) / 1000);
  }
  if (const int in_sync = impl_->northbound_in_sync.load(); in_sync >= 0) {
    scrape.Add(M::kNorthboundSyncPasses, {"converged"}, Count(impl_->northbound_converged.load()));
    scrape.Add(M::kNorthboundSyncPasses, {"changed"}, Count(impl_->northbound_changed.load()));
    scrape.Add(M::kNorthboundSyncPasses, {"failed"}, Count(impl_->northbound_failed.load()));
    scrape.Add(M::kNorthboundRowsChanged, {}, Count(impl_->northbound_rows_changed.load()));
    scrape.Add(M::kNorthboundInSync, {}, in_sync);
  }
  if (const std::int64_t ms = impl_->server_certificate_not_after_ms.load(); ms > 0) {
    scrape.Add(M::kServerCertificateExpiry, {}, Count(ms) / 1000);
  }

  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  scrape.MoveInto(families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace govpool::controller
