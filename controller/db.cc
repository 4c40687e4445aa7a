#include "controller/db.h"

#include <cstdlib>
#include <future>

#include "common/log.h"

namespace govpool::controller {

Db::Db(std::unique_ptr<StateStore> store, const Clock& clock, SchedulerFactory factory)
    : store_(std::move(store)), clock_(clock), scheduler_factory_(std::move(factory)) {}

Result<std::unique_ptr<Db>> Db::Open(std::unique_ptr<StateStore> store, const Clock& clock,
                                     SchedulerFactory scheduler_factory) {
  std::unique_ptr<Db> db(new Db(std::move(store), clock, std::move(scheduler_factory)));
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
  fresh->ResetHeartbeats(NowMs());
  std::unique_lock lock(mu_);
  state_ = std::move(fresh);
  std::lock_guard commit_lock(commit_mu_);
  // Whatever was queued belongs to the discarded in-memory state.
  pending_.clear();
  for (auto& waiter : waiters_) {
    if (orphaned) orphaned->push_back(std::move(waiter.second));
  }
  waiters_.clear();
  applied_revision_ = durable_revision_ = revision;
  return OkStatus();
}

void Db::Enqueue(std::vector<Mutation> mutations, std::int64_t revision) {
  {
    std::lock_guard lock(commit_mu_);
    for (auto& m : mutations) pending_.push_back(std::move(m));
    applied_revision_ = revision;
  }
  commit_cv_.notify_one();
}

void Db::WhenDurable(std::function<void(Status)> done) {
  {
    std::lock_guard lock(commit_mu_);
    if (durable_revision_ < applied_revision_) {
      waiters_.emplace_back(applied_revision_, std::move(done));
      return;
    }
  }
  done(OkStatus());
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
    commit_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty() && stopping_) return;
    std::vector<Mutation> batch;
    batch.swap(pending_);
    const std::int64_t revision = applied_revision_;
    lock.unlock();

    const auto start = clock_.MonotonicNow();
    Status status = store_->Apply(batch, revision);
    const double seconds =
        std::chrono::duration<double>(clock_.MonotonicNow() - start).count();

    std::vector<std::function<void(Status)>> ready;
    if (!status.ok()) {
      log::Error("state commit failed; reloading state from the store",
                 {{"error", status.ToString()}, {"records", static_cast<std::int64_t>(batch.size())}});
      // Everything applied in memory but not durable is void: rebuild from the store and fail
      // every waiter (their answers may depend on the lost changes).
      Status reload = Reload(&ready);
      if (!reload.ok()) {
        // Memory now holds changes the store never took and the store cannot be read back:
        // serving on would hand out state that a restart loses. Stop; the supervisor restarts.
        log::Error("state reload failed; exiting", {{"error", reload.ToString()}});
        std::abort();
      }
      Status failed = Unavailable("the state store could not commit: " + status.message());
      lock.lock();
      ++stats_.failures;  // counted before anyone hears of the failure
      lock.unlock();
      for (auto& done : ready) done(failed);
      lock.lock();
      continue;
    }
    lock.lock();
    durable_revision_ = revision;
    ++stats_.batches;
    stats_.last_commit_seconds = seconds;
    auto keep = waiters_.begin();
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->first <= durable_revision_) {
        ready.push_back(std::move(it->second));
      } else {
        *keep++ = std::move(*it);
      }
    }
    waiters_.erase(keep, waiters_.end());
    stats_.answers += static_cast<std::int64_t>(ready.size());
    lock.unlock();
    for (auto& done : ready) done(OkStatus());
    lock.lock();
  }
}

}  // namespace govpool::controller
