#include "agent/host_agent.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "common/log.h"

namespace govpool::agent {
namespace {

using std::chrono::milliseconds;

// A heartbeat thread with nothing scheduled (host not registered yet) looks again this often.
constexpr milliseconds kUnregisteredRecheck{1'000};
// Longest single wait of StopSignal::WaitUntil (callers re-check their schedule anyway).
constexpr std::chrono::hours kLongestWait{1};

bool RefusedForGood(StatusCode code) {
  return code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied ||
         code == StatusCode::kInvalidArgument;
}

}  // namespace

// ---------------------------------------------------------------- StopSignal

void StopSignal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool StopSignal::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

bool StopSignal::WaitUntil(const Clock& clock, std::chrono::steady_clock::time_point deadline) {
  const auto now = clock.MonotonicNow();
  const auto wait = deadline > now ? std::min<std::chrono::steady_clock::duration>(deadline - now, kLongestWait)
                                   : std::chrono::steady_clock::duration::zero();
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, wait, [&] { return stopped_; });
}

// ---------------------------------------------------------------- HostAgent

HostAgent::HostAgent(ControllerClient& controller, Hypervisor& hypervisor,
                     ReconcilerFactory make_reconciler, const Clock& clock, HostAgentOptions options)
    : controller_(controller),
      hypervisor_(hypervisor),
      make_reconciler_(std::move(make_reconciler)),
      clock_(clock),
      options_(std::move(options)) {}

bool HostAgent::registered() const {
  std::lock_guard lock(mu_);
  return registered_;
}

std::string HostAgent::host_id() const {
  std::lock_guard lock(mu_);
  return host_id_;
}

std::int64_t HostAgent::revision() const { return revision_.load(); }

milliseconds HostAgent::NextBackoff() {
  backoff_ = backoff_.count() == 0 ? options_.retry_initial : std::min(backoff_ * 2, options_.retry_max);
  return backoff_;
}

std::optional<HostAgent::TimePoint> HostAgent::NextHeartbeat() const {
  std::lock_guard lock(mu_);
  if (!registered_) return std::nullopt;
  return next_heartbeat_;
}

Result<HostAgent::TimePoint> HostAgent::Step() {
  const TimePoint now = clock_.MonotonicNow();
  if (!registered()) {
    if (now < register_not_before_) return register_not_before_;
    return Register(now);
  }
  if (now < next_watch_) return next_watch_;
  return WatchAndReconcile();
}

Result<HostAgent::TimePoint> HostAgent::Register(TimePoint now) {
  auto host = controller_.RegisterHost(options_.registration);
  if (!host.ok()) {
    const bool for_good = RefusedForGood(host.status().code());
    if (for_good && !ever_registered_) return host.status();
    const milliseconds wait = NextBackoff();
    log::Write(for_good ? log::Level::kError : log::Level::kWarn,
               "cannot register the host; retrying",
               {{"host", name()}, {"error", host.status().ToString()}, {"retry_ms", std::int64_t{wait.count()}}});
    register_not_before_ = now + wait;
    return register_not_before_;
  }
  backoff_ = milliseconds{0};
  const std::string id = host->meta.id;
  bool new_id = false;
  {
    std::lock_guard lock(mu_);
    new_id = id != host_id_;
    host_id_ = id;
    registered_ = true;
    if (!ever_registered_) {
      next_heartbeat_ = now + (options_.first_heartbeat_delay.count() < 0 ? options_.heartbeat_interval
                                                                          : options_.first_heartbeat_delay);
    }
  }
  if (new_id || !reconciler_) {
    // A new id is a new host record: what was desired for the old one says nothing about it.
    reconciler_ = make_reconciler_(id);
    storage_reconciler_ = options_.make_storage_reconciler ? options_.make_storage_reconciler(id) : nullptr;
    host_network_ = options_.make_host_network ? options_.make_host_network(id) : nullptr;
    have_desired_ = false;
    desired_ = {};
    revision_ = 0;
    std::lock_guard lock(mu_);
    pool_reports_.reset();
  }
  if (ever_registered_) {
    log::Info("host registered again", {{"host", name()}, {"host_id", id}, {"new_id", new_id}});
    next_watch_ = now;
  } else {
    next_watch_ = now + options_.first_watch_delay;
  }
  ever_registered_ = true;
  if (options_.on_registered) options_.on_registered(*host);
  return next_watch_;
}

PortStatusReporter PortReporter(ControllerClient& client) {
  return [&client](const PortStatusUpdate& u) {
    api::PortStatusReport report;
    report.status = u.status;
    report.host_id = u.host_id;
    report.state_reason = u.reason;
    return client.ReportPortStatus(u.port_id, report);
  };
}

HostAgent::TimePoint HostAgent::WatchAndReconcile() {
  const bool poll = options_.watch_timeout_s == 0;
  const int timeout_s = poll ? 0 : (reconciler_->busy() ? 1 : options_.watch_timeout_s);
  const std::string id = host_id();
  auto answer = controller_.WatchVms(id, revision_.load(), timeout_s);
  const TimePoint after = clock_.MonotonicNow();
  bool lost = false;
  if (answer.ok()) {
    revision_ = answer->revision;
    desired_ = std::move(*answer);
    have_desired_ = true;
    backoff_ = milliseconds{0};
    next_watch_ = poll ? after + options_.poll_interval : after;
  } else {
    lost = answer.status().code() == StatusCode::kNotFound;
    revision_ = 0;  // the next answer is a full one, at once
    const milliseconds wait = NextBackoff();
    log::Warn("watch failed; reconciling with the last known desired state",
              {{"host", name()}, {"error", answer.status().ToString()}, {"retry_ms", std::int64_t{wait.count()}}});
    next_watch_ = after + wait;
    if (lost) {
      // The controller no longer knows this host: register again right away.
      std::lock_guard lock(mu_);
      if (host_id_ == id) registered_ = false;
      register_not_before_ = after;
    }
  }
  // Never act before the controller has said what this host should run.
  if (have_desired_) {
    const TimePoint started = clock_.MonotonicNow();
    auto summary = reconciler_->Reconcile(desired_);
    if (storage_reconciler_) {
      // After the VM pass, whose findings (volumes plugged in) it reports; with the previous
      // pass's findings when the hypervisor was away.
      auto storage = storage_reconciler_->Reconcile(desired_, reconciler_->attached_volumes());
      if (!storage.ok()) {
        // Transient: Ceph or the controller (an image download) could not be reached.
        log::Warn("storage pass cut short; retried next pass", {{"host", name()}, {"error", storage.status().ToString()}});
      } else if (summary.ok()) {
        summary->reports += storage->reports;
      }
      std::lock_guard lock(mu_);
      pool_reports_ = storage_reconciler_->pool_reports();
    }
    if (host_network_) {
      // The answer's ports are those of its VMs: the NICs this host should have.
      std::vector<DesiredPort> ports;
      for (const api::Port& p : desired_.ports) {
        ports.push_back(DesiredPort{.id = p.meta.id, .status = p.status, .host_id = p.host_id});
      }
      auto network = host_network_->Reconcile(ports);
      if (!network.ok()) {
        log::Warn("network pass cut short; retried next pass", {{"host", name()}, {"error", network.status().ToString()}});
      } else if (summary.ok()) {
        summary->reports += network->reports;
      }
    }
    const TimePoint done = clock_.MonotonicNow();
    if (options_.on_reconcile_pass) options_.on_reconcile_pass(ReconcilePass{desired_, done - started, summary});
    if (!summary.ok()) {
      log::Warn("reconcile skipped: hypervisor unavailable",
                {{"host", name()}, {"error", summary.status().ToString()}});
      next_watch_ = std::max(next_watch_, done + options_.retry_initial);
    } else if (poll && answer.ok()) {
      // Our reports changed the VMs, or a guest is shutting down: look again soon.
      if (summary->reports > 0) {
        next_watch_ = std::min(next_watch_, done + std::min(milliseconds{100}, options_.poll_interval));
      }
      if (reconciler_->busy()) {
        next_watch_ = std::min(next_watch_, done + std::min(milliseconds{1'000}, options_.poll_interval));
      }
    }
  }
  return lost ? register_not_before_ : next_watch_;
}

std::optional<HostAgent::TimePoint> HostAgent::HeartbeatStep(ControllerClient& client) {
  std::string id;
  api::HeartbeatRequest req;
  {
    std::lock_guard lock(mu_);
    if (!registered_) return std::nullopt;
    if (clock_.MonotonicNow() < next_heartbeat_) return next_heartbeat_;
    id = host_id_;
    req.storage_pools = pool_reports_;
  }
  const TimePoint now = clock_.MonotonicNow();
  auto usage = MeasureActualUsage(hypervisor_);
  if (!usage.ok()) log::Warn("cannot measure host usage", {{"host", name()}, {"error", usage.status().ToString()}});
  if (usage.ok()) {
    // The host's own use: memory now, CPU busy since the previous heartbeat's sample.
    if (auto host = hypervisor_.GetHostUsage(); host.ok()) {
      usage->memory_used_mib = std::max<std::int64_t>(0, host->memory_total_bytes - host->memory_available_bytes) >> 20;
      const CpuSample sample{now, host->cpu_busy_ns};
      usage->cpu_busy_millicores = BusyMillicores(last_cpu_sample_, sample);
      last_cpu_sample_ = sample;
    }
    req.usage = *usage;
  }
  // The VMs' own use, for the controller's per-department figures and utilisation rollups.
  if (auto stats = hypervisor_.GetDomainStats(); stats.ok()) {
    req.vms = vm_use_.Measure(*stats, now);
  } else if (stats.status().code() != StatusCode::kUnimplemented) {
    log::Warn("cannot measure the VMs' use", {{"host", name()}, {"error", stats.status().ToString()}});
  }
  const Status s = client.Heartbeat(id, req);
  if (s.code() == StatusCode::kNotFound) {
    log::Warn("the controller does not know this host; registering again", {{"host", name()}, {"host_id", id}});
  } else if (!s.ok()) {
    log::Warn("heartbeat failed", {{"host", name()}, {"error", s.ToString()}});
  }
  std::lock_guard lock(mu_);
  next_heartbeat_ = now + options_.heartbeat_interval;
  if (s.code() == StatusCode::kNotFound && host_id_ == id) registered_ = false;
  if (!registered_) return std::nullopt;
  return next_heartbeat_;
}

Result<HostAgent::TimePoint> HostAgent::Tick() {
  HeartbeatStep(controller_);
  GP_ASSIGN_OR_RETURN(TimePoint next, Step());
  if (auto heartbeat = NextHeartbeat()) next = std::min(next, *heartbeat);
  return next;
}

Status HostAgent::Run(StopSignal& stop, ControllerClient& heartbeat_client) {
  StopSignal heartbeats_stop;
  std::thread heartbeats([&] {
    while (!heartbeats_stop.stopped()) {
      const auto next = HeartbeatStep(heartbeat_client);
      heartbeats_stop.WaitUntil(clock_, next.value_or(clock_.MonotonicNow() + kUnregisteredRecheck));
    }
  });
  Status result = OkStatus();
  while (!stop.stopped()) {
    auto next = Step();
    if (!next.ok()) {
      result = next.status();
      break;
    }
    stop.WaitUntil(clock_, *next);
  }
  heartbeats_stop.Stop();
  heartbeats.join();
  return result;
}

Status RunAgents(const std::vector<HostAgent*>& agents, const Clock& clock, StopSignal& stop) {
  while (!stop.stopped()) {
    HostAgent::TimePoint next = clock.MonotonicNow() + kUnregisteredRecheck;
    for (HostAgent* agent : agents) {
      if (stop.stopped()) break;
      auto t = agent->Tick();
      if (!t.ok()) return t.status().Annotate("host " + agent->name());
      next = std::min(next, *t);
    }
    stop.WaitUntil(clock, next);
  }
  return OkStatus();
}

api::RegisterHostRequest RegistrationFromFacts(const HostFacts& facts, std::string name,
                                               std::string pool, std::int64_t disk_gib) {
  api::RegisterHostRequest reg;
  reg.name = std::move(name);
  reg.pool = std::move(pool);
  reg.capacity.cpus = facts.cpus;
  reg.capacity.memory_mib = facts.memory_mib;
  reg.capacity.disk_gib = disk_gib;
  std::int64_t cell_cpus = 0, cell_memory_mib = 0;
  for (const auto& c : facts.numa_cells) {
    cell_cpus += c.cpus;
    cell_memory_mib += c.memory_mib;
  }
  if (!facts.numa_cells.empty() && cell_cpus == facts.cpus && cell_memory_mib == facts.memory_mib) {
    for (const auto& c : facts.numa_cells) reg.capacity.numa_cells.push_back({c.id, c.cpus, c.memory_mib});
  }
  return reg;
}

}  // namespace govpool::agent
