// NetworkSync: keeps the OVN Northbound database equal to the controller's networks, subnets
// and ports, security groups, routers and floating IPs (docs/networking.md, "The controller's
// Northbound sync"). The controller's records are the desired state; DesiredNetworksOf
// (network_desired.h) translates them into the Northbound model (network/northbound.h) and a NorthboundReconciler makes govpool's rows equal to it: one
// OVSDB transaction per pass, so a pass is applied whole or not at all.
//
// When a pass runs (Start's loop): whenever the desired rows differ from those of the last
// successful pass (checked every poll_interval, only when the state revision moved), and every
// resync_interval regardless (repairs drift made in the database by hand or by another client:
// level-triggered). A failed pass is retried with exponential backoff (retry_min .. retry_max);
// when the driver reports the connection lost (Unavailable) the sync drops it and connects again
// through the NorthboundConnector on the next attempt. Nothing is queued: every pass starts from
// the whole current state and the rows actually in the database, so a controller killed at any
// point (between its own commit and the pass, or during it) converges on restart with no
// orphan and no missing row.
//
// Records are committed first (Db) and the Northbound follows: a port exists in the API before
// its logical port exists in OVN, and is gone from the API before its row is removed.
//
// Thread-safety: RunOnce may be called from one thread at a time, and not while the loop runs
// (tests call it; Start's thread calls it otherwise). status() is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "controller/db.h"
#include "controller/network_desired.h"
#include "network/northbound.h"

namespace govpool::controller {

class ControllerMetrics;

// Makes a connected driver (production: network::ConnectNorthbound to --ovn-nb).
using NorthboundConnector = std::function<Result<std::unique_ptr<network::NorthboundDriver>>()>;

struct NetworkSyncOptions {
  std::chrono::milliseconds poll_interval{100};
  std::chrono::milliseconds resync_interval{30'000};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{15'000};
  GatewayChassis gateway_chassis;  // passed to DesiredNetworksOf
};

struct NetworkSyncStatus {
  bool connected = false;
  bool in_sync = false;             // the last pass succeeded
  std::int64_t synced_revision = 0;  // the state revision the last successful pass applied
  std::int64_t passes = 0;
  std::int64_t failures = 0;
  std::int64_t rows_changed = 0;  // by every pass since start
  std::string last_error;          // of the last failed pass ("" after a success)
};

class NetworkSync {
 public:
  // `db` (and `metrics` when given) must outlive the sync.
  NetworkSync(Db& db, NorthboundConnector connect, NetworkSyncOptions options = {},
              ControllerMetrics* metrics = nullptr);
  ~NetworkSync();  // Stop()s
  NetworkSync(const NetworkSync&) = delete;
  NetworkSync& operator=(const NetworkSync&) = delete;

  // One pass now: connects when not connected, reconciles the current state. What it changed
  // (all zero when already converged), or the connector's / reconciler's error (then nothing
  // was changed; an Unavailable error drops the connection).
  Result<network::NorthboundChanges> RunOnce();

  // Runs passes on a thread of its own as described above, until Stop().
  void Start();
  void Stop();

  NetworkSyncStatus status() const;

 private:
  void Loop();
  // One pass over `desired` (as of state `revision`), whose rows are `rows`.
  Result<network::NorthboundChanges> Pass(std::int64_t revision, const network::DesiredNetworks& desired,
                                          network::NorthboundState rows);

  Db& db_;
  NorthboundConnector connect_;
  const NetworkSyncOptions options_;
  ControllerMetrics* metrics_;
  std::unique_ptr<network::NorthboundDriver> driver_;  // used by RunOnce's thread only
  // The desired rows of the last successful pass (nullopt: none yet or connection replaced).
  std::optional<network::NorthboundState> applied_rows_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  NetworkSyncStatus status_;
  std::thread thread_;
};

}  // namespace govpool::controller
