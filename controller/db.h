// Db: the controller's state in memory plus group commit to a StateStore.
//
// Writers run under an exclusive lock against the in-memory State; their records queue for
// one committer thread, which writes all queued transactions in a single durable batch (one
// fsync for many requests). Nothing is acknowledged before it is durable: callers answer
// through WhenDurable(), which fires once every change applied so far is on disk — reads use
// it too, so no client ever sees a change that a crash could still take back.
// If a commit fails, the in-memory state is rebuilt from the store and every waiting caller
// gets Unavailable.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "controller/state.h"
#include "controller/store/state_store.h"

namespace govpool::controller {

using SchedulerFactory = std::function<std::unique_ptr<scheduler::Scheduler>()>;

struct CommitStats {
  std::int64_t batches = 0;
  std::int64_t answers = 0;  // WhenDurable callbacks released by a commit (reads included)
  std::int64_t failures = 0;
  double last_commit_seconds = 0;
};

class Db {
 public:
  // Loads the state from `store`. Internal for corrupt records.
  static Result<std::unique_ptr<Db>> Open(std::unique_ptr<StateStore> store, const Clock& clock,
                                          SchedulerFactory scheduler_factory);
  ~Db();  // drains pending commits, then stops the committer

  // Runs fn(const State&) under the shared lock and returns its result.
  template <typename Fn>
  auto Read(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(*state_);
  }

  // Runs fn(State&, Txn&) under the exclusive lock and returns its result. Contract for fn:
  // check everything first, then mutate; once it has mutated the state it must not fail, as
  // there is no in-memory rollback (the durable store stays the source of truth).
  template <typename Fn>
  auto Write(Fn&& fn) {
    std::unique_lock lock(mu_);
    Txn txn(state_->revision() + 1, NowMs());
    auto result = fn(*state_, txn);
    if (!txn.mutations().empty()) {
      state_->set_revision(txn.revision());
      Enqueue(std::move(txn.mutations()), txn.revision());
    }
    return result;
  }

  // Calls done(OK) once every change applied so far is durable, or done(Unavailable) if its
  // commit failed. May call done synchronously (nothing pending) or from the committer thread.
  void WhenDurable(std::function<void(Status)> done);
  // Blocks until everything applied so far is durable; returns the commit outcome.
  Status Sync();

  std::int64_t NowMs() const;
  CommitStats commit_stats() const;

 private:
  Db(std::unique_ptr<StateStore> store, const Clock& clock, SchedulerFactory factory);
  // Rebuilds the state from the store; waiters of discarded changes go to `orphaned`.
  Status Reload(std::vector<std::function<void(Status)>>* orphaned);
  void Enqueue(std::vector<Mutation> mutations, std::int64_t revision);
  void CommitLoop();

  std::unique_ptr<StateStore> store_;
  const Clock& clock_;
  SchedulerFactory scheduler_factory_;

  mutable std::shared_mutex mu_;  // guards state_
  std::unique_ptr<State> state_;

  mutable std::mutex commit_mu_;  // guards everything below
  std::condition_variable commit_cv_;
  std::vector<Mutation> pending_;
  std::int64_t applied_revision_ = 0;  // newest revision handed to Enqueue
  std::int64_t durable_revision_ = 0;
  std::vector<std::pair<std::int64_t, std::function<void(Status)>>> waiters_;
  bool stopping_ = false;
  CommitStats stats_;
  std::thread committer_;
};

}  // namespace govpool::controller
