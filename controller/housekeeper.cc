#include "controller/housekeeper.h"

#include "common/log.h"
#include "controller/audit_trail.h"
#include "controller/services/services.h"

namespace govpool::controller {

Housekeeper::Housekeeper(Db& db, const Clock& clock, HousekeeperOptions options)
    : db_(db),
      clock_(clock),
      options_(options),
      // Samples a little late still count; a longer silence (the controller was down or
      // stalled) does not: what was allocated meanwhile is not known.
      utilisation_(3 * options.utilisation_sample_interval.count()) {}

Housekeeper::~Housekeeper() { Stop(); }

HousekeepingResult Housekeeper::RunOnce(std::chrono::steady_clock::time_point now) {
  HousekeepingResult result;
  const std::int64_t timeout_ms = options_.heartbeat_timeout.count();
  result.hosts_marked_down =
      db_.Write([&](State& s, Txn& t) { return MarkSilentHostsDown(s, t, timeout_ms); });
  for (const auto& id : result.hosts_marked_down) {
    log::Warn("host missed heartbeats; marked down", {{"host_id", id}});
  }
  result.storage_work_moved = db_.Write([&](State& s, Txn& t) { return ReassignStorageWork(s, t); });
  if (result.storage_work_moved > 0) {
    log::Info("storage work handed to other agents", {{"records", result.storage_work_moved}});
  }
  result.backups_started = db_.Write([&](State& s, Txn& t) { return RunBackupPolicies(s, t); });
  const CapacityExpiry expiry = db_.Write([&](State& s, Txn& t) {
    return ExpireCapacityGrants(s, t, options_.capacity_warn_ahead.count());
  });
  result.capacity_grants_warned = expiry.warned;
  result.capacity_requests_expired = expiry.expired;
  if (expiry.expired > 0) log::Info("capacity requests expired", {{"requests", expiry.expired}, {"over_quota", expiry.over_quota}});
  if (result.backups_started > 0) log::Info("scheduled backups started", {{"backups", result.backups_started}});
  if (options_.staging) {
    result.staged_images_removed = db_.Read([&](const State& s) { return options_.staging->Sweep(s); });
    for (const auto& id : result.staged_images_removed) log::Info("staged image removed", {{"image_id", id}});
  }
  if (!swept_idempotency_ || now >= next_idempotency_sweep_) {
    swept_idempotency_ = true;
    next_idempotency_sweep_ = now + options_.idempotency_sweep_interval;
    const std::int64_t ttl_ms = options_.idempotency_ttl.count();
    result.idempotency_swept = true;
    result.idempotency_records_expired =
        db_.Write([&](State& s, Txn& t) { return ExpireIdempotencyRecords(s, t, ttl_ms); });
    if (result.idempotency_records_expired > 0) {
      log::Debug("idempotency records expired", {{"records", result.idempotency_records_expired}});
    }
    result.sessions_expired = db_.Write([&](State& s, Txn& t) { return ExpireSessions(s, t); });
    if (result.sessions_expired > 0) log::Debug("login sessions expired", {{"sessions", result.sessions_expired}});
  }
  if (!options_.audit_archive_dir.empty() && (!swept_audit_ || now >= next_audit_sweep_)) {
    swept_audit_ = true;
    next_audit_sweep_ = now + options_.audit_sweep_interval;
    const std::int64_t cutoff_ms = db_.NowMs() - options_.audit_retention.count();
    // Each call archives at most one file's worth; go on while there is more.
    for (;;) {
      auto archived = ArchiveAuditRecords(db_.store(), options_.audit_archive_dir, cutoff_ms);
      if (!archived.ok()) {
        log::Error("audit retention failed; the records stay in the database",
                   {{"error", archived.status().ToString()}});
        break;
      }
      if (*archived == 0) break;
      result.audit_records_archived += *archived;
      log::Info("audit records archived", {{"records", *archived}, {"dir", options_.audit_archive_dir}});
    }
  }
  if (options_.audit_verify_interval.count() > 0 && (!verified_audit_ || now >= next_audit_verify_)) {
    verified_audit_ = true;
    next_audit_verify_ = now + options_.audit_verify_interval;
    auto verdict = VerifyAuditTrail(db_.store(), db_.audit_options().key);
    if (!verdict.ok()) {
      log::Error("cannot verify the audit chain; tried again at the next interval", {{"error", verdict.status().ToString()}});
    } else {
      result.audit_chain_intact = verdict->ok;
      if (!verdict->ok) {
        log::Error("the audit chain is broken", {{"first_bad_seq", verdict->first_bad_seq},
                                                 {"problem", verdict->problem},
                                                 {"message", verdict->message}});
      }
      if (options_.on_audit_verified) options_.on_audit_verified(verdict->ok, db_.NowMs());
    }
  }
  if (options_.utilisation_sample_interval.count() > 0) RunUtilisation(now, result);
  if (options_.tls_rotation) {
    if (next_tls_check_ == std::chrono::steady_clock::time_point{}) {
      next_tls_check_ = now + options_.tls_check_interval;  // the server just loaded the files
    } else if (now >= next_tls_check_) {
      next_tls_check_ = now + options_.tls_check_interval;
      auto reloaded = options_.tls_rotation->CheckOnce();  // logs its own errors
      result.tls_reloaded = reloaded.ok() && *reloaded;
    }
  }
  return result;
}

void Housekeeper::RunUtilisation(std::chrono::steady_clock::time_point now, HousekeepingResult& result) {
  const std::int64_t now_ms = db_.NowMs();
  const std::int64_t hour = now_ms - now_ms % kHourMs;
  if (!utilisation_seeded_) {
    // After a restart: go on from what was written of this hour.
    std::vector<UtilisationRow> stored;
    Status s;
    for (const char* group : {kByDepartment, kByPool}) {
      if (s.ok()) s = db_.store().ScanUtilisation(group, hour, hour + kHourMs, [&](const UtilisationRow& r) { stored.push_back(r); });
    }
    if (!s.ok()) {
      log::Error("cannot read the stored utilisation hour; tried again at the next pass", {{"error", s.ToString()}});
      return;
    }
    utilisation_.Seed(stored);
    utilisation_seeded_ = true;
    next_utilisation_flush_ = now + options_.utilisation_flush_interval;
  }
  if (now >= next_utilisation_sample_) {
    next_utilisation_sample_ = now + options_.utilisation_sample_interval;
    utilisation_.Add(db_.Read([](const State& s) { return SampleUtilisation(s); }), now_ms);
    result.utilisation_sampled = true;
  }
  const bool hour_ended = utilisation_hour_ != 0 && hour != utilisation_hour_;
  utilisation_hour_ = hour;
  if (hour_ended || now >= next_utilisation_flush_) {
    next_utilisation_flush_ = now + options_.utilisation_flush_interval;
    result.utilisation_hours_written = FlushUtilisation();
  }
  if (now >= next_utilisation_retention_) {
    next_utilisation_retention_ = now + std::chrono::hours(1);
    auto dropped = db_.store().DropUtilisationBefore(now_ms - options_.utilisation_retention.count());
    if (!dropped.ok()) {
      log::Error("utilisation retention failed; tried again in an hour", {{"error", dropped.status().ToString()}});
    } else {
      result.utilisation_hours_dropped = *dropped;
    }
  }
}

std::int64_t Housekeeper::FlushUtilisation() {
  const std::vector<UtilisationRow> rows = utilisation_.Changed();
  if (rows.empty()) return 0;
  if (Status s = db_.store().PutUtilisation(rows); !s.ok()) {
    log::Error("cannot write utilisation rollups; tried again at the next write", {{"error", s.ToString()}});
    return 0;
  }
  utilisation_.Written();
  return static_cast<std::int64_t>(rows.size());
}

void Housekeeper::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.sweep_interval, [&] { return stopping_; })) {
      lock.unlock();
      RunOnce(clock_.MonotonicNow());
      lock.lock();
    }
  });
}

void Housekeeper::Stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  if (options_.utilisation_sample_interval.count() > 0) FlushUtilisation();
}

}  // namespace govpool::controller
