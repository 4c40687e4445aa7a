// Housekeeper: the controller's periodic chores, each one Db::Write of existing service logic:
//   - the silent-host sweep: hosts whose agent stopped heartbeating for heartbeat_timeout are
//     marked down (MarkSilentHostsDown in controller/services), every sweep;
//   - storage work of silent hosts (and work no agent reached yet) moves to an up host whose
//     agent reaches the pool (ReassignStorageWork), every sweep;
//   - backup policies whose slot has come start their backups (RunBackupPolicies), every sweep;
//   - staged image files no image needs any more are removed (ImageStaging::Sweep), every
//     sweep, when a staging directory is given;
//   - idempotency expiry: Idempotency-Key records older than idempotency_ttl are forgotten
//     (ExpireIdempotencyRecords in services), every idempotency_sweep_interval;
//   - login sessions that expired or sat idle past the policy's timeout are removed
//     (ExpireSessions in services), with the idempotency expiry;
//   - audit retention: audit records older than audit_retention are archived to files in
//     audit_archive_dir and removed from the database (ArchiveAuditRecords), every
//     audit_sweep_interval, when a directory is given;
//   - time-limited capacity grants are warned capacity_warn_ahead before their end and
//     returned at it (ExpireCapacityGrants in services), every sweep;
//   - utilisation rollups (controller/utilisation.h): the state is sampled every
//     utilisation_sample_interval and the hours it adds to are written to the store every
//     utilisation_flush_interval, when an hour ends and at Stop(); hours older than
//     utilisation_retention are removed, hourly. The first pass goes on from the stored
//     current hour (a restart loses at most the unwritten part of the flush interval);
//   - the audit chain is verified (VerifyAuditTrail: hashes and checkpoint MACs) every
//     audit_verify_interval, the first pass included, and the verdict handed to
//     on_audit_verified (the metrics); a broken chain is logged as an error.
// Ages are judged by the transaction's time (Db's clock, like the heartbeats and records they
// compare with); when a chore is due is judged by the monotonic `now` given to RunOnce.
// RunOnce() does what is due at `now` (tests call it with a FakeClock's time); Start() runs
// it on a thread of its own every sweep_interval until Stop().
//
// Thread-safety: RunOnce() from one thread at a time (the housekeeping thread once started);
// Start() and Stop() from the owner's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "controller/db.h"
#include "controller/image_staging.h"
#include "controller/tls_rotation.h"
#include "controller/utilisation.h"

namespace govpool::controller {

struct HousekeeperOptions {
  std::chrono::milliseconds heartbeat_timeout{30'000};
  std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24)};
  std::chrono::milliseconds sweep_interval{1'000};
  std::chrono::milliseconds idempotency_sweep_interval{60'000};
  const ImageStaging* staging = nullptr;  // must outlive the housekeeper; null: no sweep
  std::string audit_archive_dir;  // empty: no audit retention
  std::chrono::milliseconds audit_retention{std::chrono::hours(24 * 180)};
  std::chrono::milliseconds audit_sweep_interval{std::chrono::hours(1)};
  TlsRotation* tls_rotation = nullptr;  // must outlive the housekeeper; null: no check
  std::chrono::milliseconds tls_check_interval{std::chrono::hours(1)};
  std::chrono::milliseconds audit_verify_interval{std::chrono::hours(1)};  // 0: never
  // Told each verdict (intact or not) and when it was reached (Db's time, ms); empty: nobody.
  std::function<void(bool intact, std::int64_t at_ms)> on_audit_verified;
  std::chrono::milliseconds capacity_warn_ahead{std::chrono::hours(72)};
  std::chrono::milliseconds utilisation_sample_interval{60'000};  // 0: no rollups
  std::chrono::milliseconds utilisation_flush_interval{300'000};
  std::chrono::milliseconds utilisation_retention{std::chrono::hours(24 * 400)};
};

// What one RunOnce() did.
struct HousekeepingResult {
  std::vector<std::string> hosts_marked_down;  // ids
  bool idempotency_swept = false;              // the expiry ran in this pass
  std::int64_t idempotency_records_expired = 0;
  std::int64_t sessions_expired = 0;  // with the idempotency expiry
  std::int64_t storage_work_moved = 0;  // volumes, images and backups handed to another agent
  std::int64_t backups_started = 0;     // by backup policies
  std::vector<std::string> staged_images_removed;  // ids
  std::int64_t audit_records_archived = 0;
  bool tls_reloaded = false;  // the served certificate was renewed or replaced
  std::optional<bool> audit_chain_intact;  // the chain was verified in this pass: its verdict
  std::int64_t capacity_grants_warned = 0;
  std::int64_t capacity_requests_expired = 0;
  bool utilisation_sampled = false;
  std::int64_t utilisation_hours_written = 0;  // rows written to the store in this pass
  std::int64_t utilisation_hours_dropped = 0;  // by the retention
};

class Housekeeper {
 public:
  // `db` and `clock` must outlive the housekeeper.
  Housekeeper(Db& db, const Clock& clock, HousekeeperOptions options = {});
  ~Housekeeper();  // Stop()s

  // One pass at monotonic time `now`: the silent-host sweep, and the idempotency expiry when
  // idempotency_sweep_interval has passed since the last one (the first pass runs it).
  // Logs each host it marks down.
  HousekeepingResult RunOnce(std::chrono::steady_clock::time_point now);

  // Starts the housekeeping thread (RunOnce every sweep_interval). No-op when running.
  void Start();
  // Stops and joins it (when running), then writes the utilisation hours not yet written.
  void Stop();
  // Writes the utilisation hours changed since the last write; how many. Housekeeping thread
  // (or, once stopped, the owner's).
  std::int64_t FlushUtilisation();

 private:
  void RunUtilisation(std::chrono::steady_clock::time_point now, HousekeepingResult& result);

  Db& db_;
  const Clock& clock_;
  const HousekeeperOptions options_;
  bool swept_idempotency_ = false;
  std::chrono::steady_clock::time_point next_idempotency_sweep_{};
  bool swept_audit_ = false;
  bool verified_audit_ = false;
  std::chrono::steady_clock::time_point next_audit_verify_{};
  std::chrono::steady_clock::time_point next_audit_sweep_{};
  std::chrono::steady_clock::time_point next_tls_check_{};  // the first pass only remembers the time
  UtilisationMeter utilisation_;
  bool utilisation_seeded_ = false;
  std::chrono::steady_clock::time_point next_utilisation_sample_{};
  std::chrono::steady_clock::time_point next_utilisation_flush_{};
  std::chrono::steady_clock::time_point next_utilisation_retention_{};
  std::int64_t utilisation_hour_ = 0;  // the hour (start, ms) of the last sample

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace govpool::controller
