#include "controller/network_sync.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "controller/metrics.h"
#include "controller/network_desired.h"
#include "network/northbound_reconciler.h"

namespace govpool::controller {

NetworkSync::NetworkSync(Db& db, NorthboundConnector connect, NetworkSyncOptions options,
                         ControllerMetrics* metrics)
    : db_(db), connect_(std::move(connect)), options_(options), metrics_(metrics) {}

NetworkSync::~NetworkSync() { Stop(); }

Result<network::NorthboundChanges> NetworkSync::RunOnce() {
  auto [revision, desired] = db_.Read([this](const State& s) {
    return std::make_pair(s.revision(), DesiredNetworksOf(s, options_.gateway_chassis));
  });
  network::NorthboundState rows = network::DesiredRows(desired);
  return Pass(revision, desired, std::move(rows));
}

Result<network::NorthboundChanges> NetworkSync::Pass(std::int64_t revision, const network::DesiredNetworks& desired,
                                                     network::NorthboundState rows) {
  auto fail = [&](const Status& error) -> Result<network::NorthboundChanges> {
    if (error.code() == StatusCode::kUnavailable || error.code() == StatusCode::kDeadlineExceeded) {
      driver_.reset();  // connection lost or hung: the next pass connects afresh
      applied_rows_.reset();
    }
    std::lock_guard lock(mu_);
    ++status_.passes;
    ++status_.failures;
    status_.connected = driver_ != nullptr;
    status_.in_sync = false;
    status_.last_error = error.ToString();
    if (metrics_ != nullptr) metrics_->ObserveNorthboundPass("failed", 0, false);
    return error;
  };
  if (driver_ == nullptr) {
    auto connected = connect_();
    if (!connected.ok()) return fail(connected.status());
    driver_ = std::move(connected).value();
  }
  network::NorthboundReconciler reconciler(*driver_);
  auto changes = reconciler.Reconcile(desired);
  if (!changes.ok()) return fail(changes.status());
  applied_rows_ = std::move(rows);
  std::lock_guard lock(mu_);
  ++status_.passes;
  status_.connected = true;
  status_.in_sync = true;
  status_.synced_revision = revision;
  status_.rows_changed += changes->total();
  status_.last_error.clear();
  if (metrics_ != nullptr) {
    metrics_->ObserveNorthboundPass(changes->total() == 0 ? "converged" : "changed", changes->total(), true);
  }
  return changes;
}

void NetworkSync::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void NetworkSync::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

NetworkSyncStatus NetworkSync::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void NetworkSync::Loop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_pass = Clock::now();  // the first pass runs at once
  std::chrono::milliseconds backoff = options_.retry_min;
  std::int64_t seen_revision = -1;
  bool failing = false;
  std::string logged_error;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) return;
    }
    const Clock::time_point now = Clock::now();
    if (failing && now < next_pass) continue;
    Result<network::NorthboundChanges> pass = network::NorthboundChanges{};
    if (!failing && now < next_pass) {
      // Between full passes: run one only when the desired rows changed.
      if (db_.Read([](const State& s) { return s.revision(); }) == seen_revision) continue;
      auto [revision, desired] = db_.Read([this](const State& s) {
        return std::make_pair(s.revision(), DesiredNetworksOf(s, options_.gateway_chassis));
      });
      seen_revision = revision;
      network::NorthboundState rows = network::DesiredRows(desired);
      if (applied_rows_ && *applied_rows_ == rows) continue;
      pass = Pass(revision, desired, std::move(rows));
    } else {
      pass = RunOnce();
    }
    if (pass.ok()) {
      if (failing) log::Info("the OVN Northbound database is in sync again");
      failing = false;
      logged_error.clear();
      backoff = options_.retry_min;
      next_pass = Clock::now() + options_.resync_interval;
      if (pass->total() > 0) {
        log::Info("northbound sync applied changes",
                  {{"switches", pass->switches.total()}, {"dhcp_options", pass->dhcp_options.total()},
                   {"ports", pass->ports.total()}});
      }
      continue;
    }
    failing = true;
    // One line per distinct error, not one per retry.
    if (pass.status().ToString() != logged_error) {
      logged_error = pass.status().ToString();
      log::Warn("northbound sync failed; retrying with backoff", {{"error", logged_error}});
    }
    next_pass = Clock::now() + backoff;
    backoff = std::min(backoff * 2, options_.retry_max);
  }
}

}  // namespace govpool::controller
