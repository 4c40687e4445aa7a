#include "agent/agent_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <cctype>
#include <sstream>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "common/crypto.h"
#include "common/metric_families.h"

namespace govpool::agent {
namespace {

using Scrape = MetricFamilies<AgentMetric, kAgentMetrics.size()>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view PowerStateLabel(PowerState s) {
  switch (s) {
    case PowerState::kRunning: return "running";
    case PowerState::kShutoff: return "shutoff";
    case PowerState::kPaused: return "paused";
    case PowerState::kCrashed: return "crashed";
    case PowerState::kOther: break;
  }
  return "other";
}

double Seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }
double Count(std::uint64_t n) { return static_cast<double>(n); }

template <typename T>
prometheus::Family<T>& Build(prometheus::Registry& registry, AgentMetric m);
template <>
prometheus::Family<prometheus::Counter>& Build(prometheus::Registry& registry, AgentMetric m) {
  return prometheus::BuildCounter().Name(std::string(Def(m).name)).Help(std::string(Def(m).help)).Register(registry);
}
template <>
prometheus::Family<prometheus::Histogram>& Build(prometheus::Registry& registry, AgentMetric m) {
  return prometheus::BuildHistogram().Name(std::string(Def(m).name)).Help(std::string(Def(m).help)).Register(registry);
}

struct VmLabels {
  std::string name;
  std::string department_id;
};

}  // namespace

struct AgentMetrics::Impl {
  Impl(Hypervisor& h, const api::RegisterHostRequest& r, const Clock& c) : hypervisor(h), registration(r), clock(c) {}

  Hypervisor& hypervisor;
  const api::RegisterHostRequest registration;
  const Clock& clock;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& passes = Build<prometheus::Counter>(*registry, AgentMetric::kReconcilePasses);
  prometheus::Family<prometheus::Histogram>& duration =
      Build<prometheus::Histogram>(*registry, AgentMetric::kReconcileDuration);
  prometheus::Family<prometheus::Counter>& errors = Build<prometheus::Counter>(*registry, AgentMetric::kReconcileErrors);
  prometheus::Family<prometheus::Counter>& drift = Build<prometheus::Counter>(*registry, AgentMetric::kDriftRepairs);
  std::atomic<std::int64_t> last_ok_ms{0};  // 0: no successful pass yet

  mutable std::mutex mu;
  std::map<std::string, VmLabels> vms;  // guarded by mu: the VMs of the last pass, by id
};

AgentMetrics::AgentMetrics(Hypervisor& hypervisor, const api::RegisterHostRequest& registration, const Clock& clock)
    : impl_(std::make_unique<Impl>(hypervisor, registration, clock)) {
  // Both outcomes from the start, so a rate of failures is 0 rather than absent.
  impl_->passes.Add({{"outcome", "ok"}});
  impl_->passes.Add({{"outcome", "failed"}});
}

AgentMetrics::~AgentMetrics() = default;

void AgentMetrics::ObservePass(const ReconcilePass& pass) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                   1,     2.5,  5,     10,   30,  60,  120};
  impl_->duration.Add({}, kBuckets).Observe(std::chrono::duration<double>(pass.duration).count());
  if (!pass.summary.ok()) {
    impl_->passes.Add({{"outcome", "failed"}}).Increment();
    impl_->errors.Add({{"code", Lower(StatusCodeName(pass.summary.status().code()))}}).Increment();
  } else {
    impl_->passes.Add({{"outcome", "ok"}}).Increment();
    if (pass.summary->errors > 0) impl_->errors.Add({{"code", "vm_error"}}).Increment(pass.summary->errors);
    for (const auto& [kind, n] : pass.summary->drift) impl_->drift.Add({{"kind", kind}}).Increment(n);
    impl_->last_ok_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            impl_->clock.Now().time_since_epoch()).count();
  }
  std::map<std::string, VmLabels> vms;
  for (const api::Vm& v : pass.desired.items) vms[v.meta.id] = VmLabels{v.name, v.department_id};
  std::lock_guard lock(impl_->mu);
  impl_->vms = std::move(vms);
}

std::string AgentMetrics::Render() const {
  using M = AgentMetric;
  Scrape scrape(kAgentMetrics);
  for (const AgentMetricDef& def : kAgentMetrics) {
    const bool in_registry = def.id == M::kReconcilePasses || def.id == M::kReconcileDuration ||
                             def.id == M::kReconcileErrors || def.id == M::kDriftRepairs;
    if (!in_registry) scrape.Family(def.id);
  }
  const api::HostCapacity& cap = impl_->registration.capacity;
  scrape.Add(M::kHostCapacity, {"cpus"}, Count(cap.cpus));
  scrape.Add(M::kHostCapacity, {"memory_bytes"}, static_cast<double>(cap.memory_mib) * 1024 * 1024);
  scrape.Add(M::kHostCapacity, {"disk_bytes"}, static_cast<double>(cap.disk_gib) * 1024 * 1024 * 1024);
  if (auto host = impl_->hypervisor.GetHostUsage(); host.ok()) {
    scrape.Add(M::kHostCpuBusy, {}, Seconds(host->cpu_busy_ns));
    scrape.Add(M::kHostMemory, {"total"}, static_cast<double>(host->memory_total_bytes));
    scrape.Add(M::kHostMemory, {"available"}, static_cast<double>(host->memory_available_bytes));
  }
  auto stats = impl_->hypervisor.GetDomainStats();
  if (stats.ok()) {
    std::map<std::string, std::int64_t> by_state{{"running", 0}, {"shutoff", 0}, {"paused", 0}, {"crashed", 0}, {"other", 0}};
    std::map<std::string, VmLabels> vms;
    {
      std::lock_guard lock(impl_->mu);
      vms = impl_->vms;
    }
    for (const DomainStats& d : *stats) {
      ++by_state[std::string(PowerStateLabel(d.state))];
      auto it = vms.find(d.uuid);
      if (it == vms.end()) continue;
      const std::vector<std::string> vm{d.uuid, it->second.name, it->second.department_id};
      auto with = [&](const std::string& device) {
        std::vector<std::string> labels = vm;
        labels.push_back(device);
        return labels;
      };
      if (d.cpu_time_ns) scrape.Add(M::kVmCpu, vm, Seconds(*d.cpu_time_ns));
      if (d.vcpus) scrape.Add(M::kVmVcpus, vm, static_cast<double>(*d.vcpus));
      if (d.memory_bytes) scrape.Add(M::kVmMemory, vm, static_cast<double>(*d.memory_bytes));
      if (d.memory_used_bytes) scrape.Add(M::kVmMemoryUsed, vm, static_cast<double>(*d.memory_used_bytes));
      for (const DiskStats& disk : d.disks) {
        scrape.Add(M::kVmDiskReadBytes, with(disk.target), Count(disk.read_bytes));
        scrape.Add(M::kVmDiskWrittenBytes, with(disk.target), Count(disk.write_bytes));
        scrape.Add(M::kVmDiskReads, with(disk.target), Count(disk.reads));
        scrape.Add(M::kVmDiskWrites, with(disk.target), Count(disk.writes));
      }
      for (const NicStats& nic : d.nics) {
        scrape.Add(M::kVmNetworkReceiveBytes, with(nic.device), Count(nic.receive_bytes));
        scrape.Add(M::kVmNetworkTransmitBytes, with(nic.device), Count(nic.transmit_bytes));
        scrape.Add(M::kVmNetworkReceiveDrops, with(nic.device), Count(nic.receive_drops));
        scrape.Add(M::kVmNetworkTransmitDrops, with(nic.device), Count(nic.transmit_drops));
      }
    }
    for (const auto& [state, n] : by_state) scrape.Add(M::kDomains, {state}, static_cast<double>(n));
  }
  const HypervisorConnection connection = impl_->hypervisor.Connection();
  scrape.Add(M::kHypervisorUp, {}, stats.ok() && connection.up ? 1 : 0);
  scrape.Add(M::kHypervisorReconnects, {}, static_cast<double>(connection.reconnects));
  if (const std::int64_t ms = impl_->last_ok_ms.load(); ms > 0) {
    scrape.Add(M::kLastReconcile, {}, static_cast<double>(ms) / 1000);
  }
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  scrape.MoveInto(families);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

api::HttpResponse AnswerMetricsRequest(const api::HttpRequest& request, std::string_view token,
                                       const std::function<std::string()>& render) {
  if (request.path != "/metrics") {
    return api::ErrorResponse(NotFound("no such route: " + request.path + " (an agent serves /metrics only)")
                                  .WithReason("ROUTE_NOT_FOUND"));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    api::HttpResponse r = api::ErrorResponse(
        InvalidArgument("method " + request.method + " not allowed on /metrics").WithReason("METHOD_NOT_ALLOWED"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (!token.empty()) {
    const std::string* auth = request.Header("Authorization");
    const std::optional<std::string_view> presented = auth ? api::BearerToken(*auth) : std::nullopt;
    if (!presented || !ConstantTimeEquals(*presented, token)) {
      api::HttpResponse r = api::ErrorResponse(
          Unauthenticated("the agent's metrics need its scrape token (Authorization: Bearer)"));
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
  }
  api::HttpResponse r = api::JsonResponse(200, render());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace govpool::agent
