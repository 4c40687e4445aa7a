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
// The audit trail (docs/security.md, "Audit trail") commits through the same queue: a Txn's
// audit entries go with its changes, and a Write with audit entries but no changes (reads,
// denials) is queued and group-committed all the same. The committer gives each record its
// seq, time and place in the hash chain (AuditSealer) and writes it in the same store
// transaction as the batch. An API request's own record is a RequestAudit: bound to the
// handler's thread, the first Write that changes something queues an unfilled slot for the
// record ahead of its changes; the committer commits only up to the first unfilled slot, so a
// change is never durable without the record of the request that made it.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "controller/audit_trail.h"
#include "controller/state.h"
#include "controller/store/state_store.h"

namespace govpool::controller {

using SchedulerFactory = std::function<std::unique_ptr<scheduler::Scheduler>()>;

class Db;

// The audit record of one API request, and its place in the commit queue (see above).
// Not thread-safe itself: one request's code uses it, though possibly from several threads in
// turn (a deferred answer).
class RequestAudit {
 public:
  explicit RequestAudit(Db& db) : db_(db) {}
  // Finish()es with what is known (outcome "failed") if nobody did: a slot never stays empty.
  ~RequestAudit();
  RequestAudit(const RequestAudit&) = delete;
  RequestAudit& operator=(const RequestAudit&) = delete;

  // Binds `audit` to the calling thread while it lives (nests: the previous binding returns).
  class Scope {
   public:
    explicit Scope(RequestAudit& audit);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    RequestAudit* previous_;
  };

  // The request's record: fills its slot (the committer may then commit it with the changes
  // queued behind it) or, when the request changed nothing, queues it alone. Once; later
  // calls do nothing. Answer the request only after Db::WhenDurable called after this.
  void Finish(AuditEntry entry);
  // Records nothing, if that keeps the guarantee: when the request changed something its slot
  // is filled with `entry` all the same. For routine traffic that is not audited.
  void FinishUnlessUnchanged(AuditEntry entry);
  bool finished() const { return finished_; }
  // Whether a Write queued the slot (the request changed something).
  bool has_slot() const { return slot_ != nullptr; }
  // Written entries that have no slot default to this (for the destructor's record).
  AuditEntry& draft() { return draft_; }

 private:
  friend class Db;
  struct Slot;
  Db& db_;
  std::shared_ptr<Slot> slot_;  // set by Db::Write
  bool finished_ = false;
  AuditEntry draft_;
};

struct CommitStats {
  // Upper bounds (seconds) of the commit-duration histogram: one commit is one SQLite
  // transaction and its fsync.
  static constexpr std::array<double, 12> kDurationBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1,    5};
  std::int64_t batches = 0;
  std::int64_t answers = 0;  // WhenDurable callbacks released by a commit (reads included)
  std::int64_t failures = 0;
  std::int64_t audit_records = 0;  // audit records committed
  double last_commit_seconds = 0;
  // Successful commits by duration: commits_within[i] took at most kDurationBounds[i] (and more
  // than the bound before); the rest took longer. Their total time in commit_seconds_sum.
  std::array<std::int64_t, kDurationBounds.size()> commits_within{};
  double commit_seconds_sum = 0;
  bool failing = false;  // the last commit failed (the next one that succeeds clears it)
};

class Db {
 public:
  // Loads the state from `store`. Internal for corrupt records.
  // `audit` configures the audit trail's checkpoints.
  static Result<std::unique_ptr<Db>> Open(std::unique_ptr<StateStore> store, const Clock& clock,
                                          SchedulerFactory scheduler_factory,
                                          AuditOptions audit = {});
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
    const bool changed = !txn.mutations().empty();
    if (changed) state_->set_revision(txn.revision());
    if (changed || !txn.audit().empty()) Enqueue(txn, changed);
    return result;
  }

  // Queues audit records that go with no change (group-committed like writes).
  void Audit(std::vector<AuditEntry> entries);

  // Calls done(OK) once every change and audit record queued so far is durable, or
  // done(Unavailable) if its commit failed. May call done synchronously (nothing pending) or from the committer thread.
  void WhenDurable(std::function<void(Status)> done);
  // The same for an answer built from reads and writes made since FailureEpoch() returned
  // `since`: done(Unavailable) at once if a commit failed meanwhile, as the failure discarded
  // every change queued until then (the caller's own among them, perhaps, committed by the
  // time it asks) and the answer may rest on them.
  void WhenDurable(std::function<void(Status)> done, std::uint64_t since);
  // How many commits failed so far (each one discards everything queued; see above).
  std::uint64_t FailureEpoch() const;
  // Blocks until everything applied so far is durable; returns the commit outcome.
  Status Sync();

  std::int64_t NowMs() const;
  CommitStats commit_stats() const;

  // The store, for the audit trail's reads (which it allows concurrently with commits).
  StateStore& store() { return *store_; }
  const AuditOptions& audit_options() const { return audit_options_; }

 private:
  friend class RequestAudit;
  // One queued Write (or audit-only record, or a request's record slot).
  struct Pending {
    std::uint64_t seq = 0;  // enqueue order
    std::vector<Mutation> mutations;
    std::int64_t revision = 0;  // of `mutations`; 0 when none
    std::vector<AuditEntry> audit;
    std::shared_ptr<RequestAudit::Slot> slot;  // a request's record, filled later
  };

  Db(std::unique_ptr<StateStore> store, const Clock& clock, SchedulerFactory factory,
     AuditOptions audit);
  // Rebuilds the state (and the audit chain's head) from the store; waiters of discarded
  // changes go to `orphaned`.
  Status Reload(std::vector<std::function<void(Status)>>* orphaned);
  // Called by Write under the exclusive lock, so queue order is revision order.
  void Enqueue(Txn& txn, bool changed);
  void PushLocked(Pending item);  // commit_mu_ held
  void FinishRequestAudit(RequestAudit& audit, AuditEntry entry);
  // How many items at the queue's front may commit (none past an unfilled slot).
  std::size_t ReadyLocked() const;
  void CommitLoop();

  std::unique_ptr<StateStore> store_;
  const Clock& clock_;
  SchedulerFactory scheduler_factory_;
  const AuditOptions audit_options_;

  mutable std::shared_mutex mu_;  // guards state_
  std::unique_ptr<State> state_;

  mutable std::mutex commit_mu_;  // guards everything below
  std::condition_variable commit_cv_;
  std::deque<Pending> pending_;
  std::uint64_t enqueued_seq_ = 0;  // newest Pending::seq queued
  std::uint64_t durable_seq_ = 0;   // everything up to it is durable (or was discarded)
  std::int64_t durable_revision_ = 0;
  std::uint64_t failure_epoch_ = 0;  // commits failed (and queues discarded) so far
  std::vector<std::pair<std::uint64_t, std::function<void(Status)>>> waiters_;
  std::unique_ptr<AuditSealer> sealer_;  // used by the committer (and Reload) only
  bool stopping_ = false;
  CommitStats stats_;
  std::thread committer_;
};

}  // namespace govpool::controller
