#include "controller/db.h"

#include <cstdlib>
#include <future>

#include "common/log.h"

namespace govpool::controller {

// A request's record to come; guarded by the Db's commit_mu_.
struct RequestAudit::Slot {
  bool filled = false;
  bool dropped = false;  // the queue was discarded (commit failure) before it was filled
  AuditEntry entry;
};

namespace {
thread_local RequestAudit* bound_request_audit = nullptr;
}  // namespace

RequestAudit::~RequestAudit() {
  if (finished_) return;
  AuditEntry entry = std::move(draft_);
  if (entry.outcome.empty()) entry.outcome = "failed";
  Finish(std::move(entry));
}

RequestAudit::Scope::Scope(RequestAudit& audit) : previous_(bound_request_audit) {
  bound_request_audit = &audit;
}

RequestAudit::Scope::~Scope() { bound_request_audit = previous_; }

void RequestAudit::FinishUnlessUnchanged(AuditEntry entry) {
  if (finished_) return;
  if (slot_) {
    Finish(std::move(entry));
  } else {
    finished_ = true;
  }
}

void RequestAudit::Finish(AuditEntry entry) {
  if (finished_) return;
  finished_ = true;
  db_.FinishRequestAudit(*this, std::move(entry));
}

Db::Db(std::unique_ptr<StateStore> store, const Clock& clock, SchedulerFactory factory,
       AuditOptions audit)
    : store_(std::move(store)), clock_(clock), scheduler_factory_(std::move(factory)),
      audit_options_(std::move(audit)) {}

Result<std::unique_ptr<Db>> Db::Open(std::unique_ptr<StateStore> store, const Clock& clock,
                                     SchedulerFactory scheduler_factory, AuditOptions audit) {
  std::unique_ptr<Db> db(new Db(std::move(store), clock, std::move(scheduler_factory), std::move(audit)));
  GP_RETURN_IF_ERROR(db->Reload(nullptr));
  db->committer_ = std::thread([raw = db.get()] { raw->CommitLoop(); });
  return db;
}

Db::~Db() {
  {
    std::lock_guard lock(commit_mu_);
    stopping_ = true;
  }
  commit_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

std::int64_t Db::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

Status Db::Reload(std::vector<std::function<void(Status)>>* orphaned) {
  auto fresh = std::make_unique<State>(scheduler_factory_());
  std::int64_t revision = 0;
  Status record_status;
  GP_RETURN_IF_ERROR(store_->Load(
      [&](const std::string& kind, const std::string& id, const std::string& value) {
        Status s = fresh->LoadRecord(kind, id, value);
        if (record_status.ok() && !s.ok()) record_status = s;
      },
      &revision));
  GP_RETURN_IF_ERROR(record_status);
  GP_RETURN_IF_ERROR(fresh->FinishLoad(revision));
  GP_ASSIGN_OR_RETURN(AuditHead audit_head, store_->LoadAuditHead());
  fresh->ResetHeartbeats(NowMs());
  fresh->auth_activity().Restart(NowMs());  // idle sessions count from the (re)load
  std::unique_lock lock(mu_);
  state_ = std::move(fresh);
  std::lock_guard commit_lock(commit_mu_);
  sealer_ = std::make_unique<AuditSealer>(audit_options_, std::move(audit_head));
  // Whatever was queued belongs to the discarded in-memory state. A request whose slot goes
  // here queues its record alone when it finishes.
  for (Pending& item : pending_) {
    if (item.slot) item.slot->dropped = true;
  }
  pending_.clear();
  for (auto& waiter : waiters_) {
    if (orphaned) orphaned->push_back(std::move(waiter.second));
  }
  waiters_.clear();
  if (orphaned) ++failure_epoch_;  // a failed commit's reload (not the first load)
  durable_seq_ = enqueued_seq_;
  durable_revision_ = revision;
  return OkStatus();
}

void Db::PushLocked(Pending item) {
  item.seq = ++enqueued_seq_;
  pending_.push_back(std::move(item));
}

void Db::Enqueue(Txn& txn, bool changed) {
  RequestAudit* request = bound_request_audit;
  {
    std::lock_guard lock(commit_mu_);
    if (changed && request && &request->db_ == this && !request->slot_ && !request->finished_) {
      request->slot_ = std::make_shared<RequestAudit::Slot>();
      Pending slot;
      slot.slot = request->slot_;
      PushLocked(std::move(slot));
    }
    Pending item;
    if (changed) {
      item.mutations = std::move(txn.mutations());
      item.revision = txn.revision();
    }
    item.audit = std::move(txn.audit());
    PushLocked(std::move(item));
  }
  commit_cv_.notify_one();
}

void Db::Audit(std::vector<AuditEntry> entries) {
  if (entries.empty()) return;
  {
    std::lock_guard lock(commit_mu_);
    Pending item;
    item.audit = std::move(entries);
    PushLocked(std::move(item));
  }
  commit_cv_.notify_one();
}

void Db::FinishRequestAudit(RequestAudit& audit, AuditEntry entry) {
  {
    std::lock_guard lock(commit_mu_);
    if (audit.slot_ && !audit.slot_->dropped) {
      audit.slot_->entry = std::move(entry);
      audit.slot_->filled = true;
    } else {
      Pending item;
      item.audit.push_back(std::move(entry));
      PushLocked(std::move(item));
    }
  }
  commit_cv_.notify_one();
}

std::size_t Db::ReadyLocked() const {
  std::size_t n = 0;
  for (const Pending& item : pending_) {
    if (item.slot && !item.slot->filled) break;
    ++n;
  }
  return n;
}

void Db::WhenDurable(std::function<void(Status)> done) {
  {
    std::lock_guard lock(commit_mu_);
    if (durable_seq_ < enqueued_seq_) {
      waiters_.emplace_back(enqueued_seq_, std::move(done));
      return;
    }
  }
  done(OkStatus());
}

void Db::WhenDurable(std::function<void(Status)> done, std::uint64_t since) {
  bool failed_since = false;
  {
    std::lock_guard lock(commit_mu_);
    failed_since = failure_epoch_ != since;
    if (!failed_since && durable_seq_ < enqueued_seq_) {
      waiters_.emplace_back(enqueued_seq_, std::move(done));
      return;
    }
  }
  done(failed_since ? Unavailable("the state store failed to commit while the request ran; its outcome is unknown")
                    : OkStatus());
}

std::uint64_t Db::FailureEpoch() const {
  std::lock_guard lock(commit_mu_);
  return failure_epoch_;
}

Status Db::Sync() {
  std::promise<Status> promise;
  auto future = promise.get_future();
  WhenDurable([&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

CommitStats Db::commit_stats() const {
  std::lock_guard lock(commit_mu_);
  return stats_;
}

void Db::CommitLoop() {
  std::unique_lock lock(commit_mu_);
  while (true) {
    std::size_t ready = 0;
    commit_cv_.wait(lock, [&] {
      ready = ReadyLocked();
      return ready > 0 || (stopping_ && pending_.empty());
    });
    if (ready == 0) return;  // stopping with nothing queued
    std::vector<Mutation> batch;
    std::vector<AuditEntry> entries;
    std::int64_t revision = durable_revision_;
    std::uint64_t last_seq = 0;
    for (std::size_t i = 0; i < ready; ++i) {
      Pending& item = pending_.front();
      if (item.slot) entries.push_back(std::move(item.slot->entry));
      for (auto& m : item.mutations) batch.push_back(std::move(m));
      for (auto& e : item.audit) entries.push_back(std::move(e));
      if (item.revision != 0) revision = item.revision;
      last_seq = item.seq;
      pending_.pop_front();
    }
    lock.unlock();

    const auto start = clock_.MonotonicNow();
    AuditBatch audit;
    const std::size_t audit_records = entries.size();
    AuditHead head = sealer_->Seal(std::move(entries), NowMs(), &audit);
    Status status = store_->Apply(batch, revision, audit);
    const double seconds =
        std::chrono::duration<double>(clock_.MonotonicNow() - start).count();

    std::vector<std::function<void(Status)>> ready_waiters;
    if (!status.ok()) {
      log::Error("state commit failed; reloading state from the store",
                 {{"error", status.ToString()}, {"records", static_cast<std::int64_t>(batch.size())}});
      // Everything applied in memory but not durable is void: rebuild from the store and fail
      // every waiter (their answers may depend on the lost changes).
      Status reload = Reload(&ready_waiters);
      if (!reload.ok()) {
        // Memory now holds changes the store never took and the store cannot be read back:
        // serving on would hand out state that a restart loses. Stop; the supervisor restarts.
        log::Error("state reload failed; exiting", {{"error", reload.ToString()}});
        std::abort();
      }
      Status failed = Unavailable("the state store could not commit: " + status.message());
      lock.lock();
      ++stats_.failures;  // counted before anyone hears of the failure
      stats_.failing = true;
      lock.unlock();
      for (auto& done : ready_waiters) done(failed);
      lock.lock();
      continue;
    }
    sealer_->Advance(std::move(head));
    lock.lock();
    durable_seq_ = last_seq;
    durable_revision_ = revision;
    ++stats_.batches;
    stats_.failing = false;
    stats_.audit_records += static_cast<std::int64_t>(audit_records);
    stats_.last_commit_seconds = seconds;
    stats_.commit_seconds_sum += seconds;
    for (std::size_t i = 0; i < CommitStats::kDurationBounds.size(); ++i) {
      if (seconds <= CommitStats::kDurationBounds[i]) {
        ++stats_.commits_within[i];
        break;
      }
    }
    auto keep = waiters_.begin();
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->first <= durable_seq_) {
        ready_waiters.push_back(std::move(it->second));
      } else {
        *keep++ = std::move(*it);
      }
    }
    waiters_.erase(keep, waiters_.end());
    stats_.answers += static_cast<std::int64_t>(ready_waiters.size());
    lock.unlock();
    for (auto& done : ready_waiters) done(OkStatus());
    lock.lock();
  }
}

}  // namespace govpool::controller
