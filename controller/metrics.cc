#include "controller/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <sstream>

#include "controller/db.h"
#include "controller/services/services.h"

namespace govpool::controller {

struct ControllerMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("govpool_http_requests_total")
          .Help("HTTP requests answered, by route pattern, method and status code")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("govpool_http_request_duration_seconds")
          .Help("Time from request to durable answer, by route pattern and method")
          .Register(*registry);
};

ControllerMetrics::ControllerMetrics() : impl_(std::make_unique<Impl>()) {}
ControllerMetrics::~ControllerMetrics() = default;

void ControllerMetrics::ObserveRequest(const std::string& route, const std::string& method,
                                       int status, double seconds) {
  impl_->requests.Add({{"route", route}, {"method", method}, {"code", std::to_string(status)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  impl_->latency.Add({{"route", route}, {"method", method}}, kBuckets).Observe(seconds);
}

namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddValue(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels,
              double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace

std::string ControllerMetrics::Render(const Db& db) const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  auto placements = Family("govpool_placements_total", "VM placement outcomes", MetricType::Counter);
  auto quota_limit = Family("govpool_department_quota_limit", "Department quota limit (-1: unlimited)", MetricType::Gauge);
  auto quota_used = Family("govpool_department_quota_used", "Department quota usage", MetricType::Gauge);
  auto host_capacity = Family("govpool_host_capacity", "Host physical capacity", MetricType::Gauge);
  auto host_allocated = Family("govpool_host_allocated", "Resources allocated to VMs on the host", MetricType::Gauge);
  auto host_up = Family("govpool_host_up", "1 when the host is up", MetricType::Gauge);
  auto vms = Family("govpool_vms", "VMs by reported state", MetricType::Gauge);
  auto revision = Family("govpool_state_revision", "Revision of the controller state", MetricType::Gauge);
  auto agent_events = Family("govpool_agent_events_total", "Events reported by agents (drift repairs...), by kind", MetricType::Counter);
  db.Read([&](const State& s) {
    const PlacementCounters& pc = s.placement_counters();
    AddValue(placements, {{"outcome", "placed"}}, static_cast<double>(pc.placed.load()));
    AddValue(placements, {{"outcome", "no_valid_host"}}, static_cast<double>(pc.no_valid_host.load()));
    AddValue(placements, {{"outcome", "quota_exceeded"}}, static_cast<double>(pc.quota_exceeded.load()));
    for (const auto& [id, d] : s.departments()) {
      const api::Quota used = s.Usage(id);
      for (const char* r : api::kQuotaResources) {
        AddValue(quota_limit, {{"department", d.name}, {"department_id", id}, {"resource", r}},
                 static_cast<double>(api::QuotaValue(d.quota, r)));
        AddValue(quota_used, {{"department", d.name}, {"department_id", id}, {"resource", r}},
                 static_cast<double>(api::QuotaValue(used, r)));
      }
    }
    for (const auto& [id, raw] : s.hosts()) {
      const api::Host h = s.RenderHost(raw);
      auto labels = [&](const char* resource) {
        return std::vector<prometheus::ClientMetric::Label>{
            {"host", h.name}, {"host_id", id}, {"pool", h.pool}, {"resource", resource}};
      };
      AddValue(host_capacity, labels("cpus"), static_cast<double>(h.capacity.cpus));
      AddValue(host_capacity, labels("memory_mib"), static_cast<double>(h.capacity.memory_mib));
      AddValue(host_capacity, labels("disk_gib"), static_cast<double>(h.capacity.disk_gib));
      AddValue(host_allocated, labels("vcpus"), static_cast<double>(h.allocated.vcpus));
      AddValue(host_allocated, labels("memory_mib"), static_cast<double>(h.allocated.memory_mib));
      AddValue(host_allocated, labels("disk_gib"), static_cast<double>(h.allocated.disk_gib));
      AddValue(host_up, {{"host", h.name}, {"host_id", id}, {"pool", h.pool}}, h.status == "up" ? 1 : 0);
    }
    std::map<std::string, std::int64_t> by_state;
    for (const auto& [id, v] : s.vms()) ++by_state[RenderVm(s, v).state];
    for (const auto& [state, n] : by_state) AddValue(vms, {{"state", state}}, static_cast<double>(n));
    AddValue(revision, {}, static_cast<double>(s.revision()));
    for (const auto& [kind, n] : s.event_counts()) AddValue(agent_events, {{"kind", kind}}, static_cast<double>(n));
    return 0;
  });
  const CommitStats cs = db.commit_stats();
  auto batches = Family("govpool_store_commit_batches_total", "Durable commits (one fsync each)", MetricType::Counter);
  AddValue(batches, {}, static_cast<double>(cs.batches));
  auto txns = Family("govpool_store_durable_answers_total", "Answers released by a durable commit (one commit releases many)", MetricType::Counter);
  AddValue(txns, {}, static_cast<double>(cs.answers));
  auto failures = Family("govpool_store_commit_failures_total", "Failed commits", MetricType::Counter);
  AddValue(failures, {}, static_cast<double>(cs.failures));
  for (auto* f : {&placements, &quota_limit, &quota_used, &host_capacity, &host_allocated, &host_up,
                  &vms, &revision, &agent_events, &batches, &txns, &failures}) {
    families.push_back(std::move(*f));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace govpool::controller
