// WatchHub: long-poll watches of the VMs assigned to a host (GET /v1/hosts/{id}/vms).
//
// A watch names a host and the store revision the watcher has seen (`after_revision`). It is
// answered at once when a VM on that host changed after that revision (or the revision is 0,
// older than the oldest change State still remembers, or newer than the store), otherwise it
// is held until such a change or until its timeout. A change to a port of one of its VMs counts
// (State records it for the VM's host). Every answer is level-triggered: the whole current set
// of the host's VMs (deleting ones included) with their ports, and the revision it is as of, and it
// is delivered only once everything it shows is durable (Db::WhenDurable), so a watcher never
// acts on a change a crash could take back.
//
// Mechanics: the hub keeps its own index host -> VM ids, fed incrementally from State's
// bounded vm_events() log (rebuilt by a full scan when it fell behind the log or the state was
// reloaded). One housekeeping thread ticks every `tick_ms` while watches are held: it catches
// the index up with new events, answers the watches whose host changed, and expires the ones
// whose deadline passed. No thread per watch.
//
// Thread-safety: all methods are thread-safe. Callbacks run on the calling thread (immediate
// answers), the hub's thread, or Db's committer thread; they must not call back into the hub
// synchronously under their own locks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "controller/db.h"

namespace govpool::controller {

// The state revision the set is as of, and every VM assigned to the host, by id.
using WatchResult = api::WatchAnswer;

struct WatchHubOptions {
  int tick_ms = 20;  // how often held watches are checked for changes and deadlines
  // Held watches at most, per host and in all; above either, a watch is refused at once with
  // ResourceExhausted (429). A host's agent holds one (a second while it reconnects).
  int max_held_per_host = 4;
  std::size_t max_held = 50'000;
};

class WatchHub {
 public:
  using Callback = std::function<void(Result<WatchResult>)>;

  explicit WatchHub(Db& db, WatchHubOptions options = {});
  // Answers every held watch with Unavailable ("the controller is stopping"), then joins.
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Answers `done` exactly once with the host's VM set: at once (see the file comment) or
  // when a VM of the host changes after `after_revision`, or after `timeout_ms` (<= 0: at
  // once) with the unchanged set. Authorization is the caller's job. Unavailable when the
  // state commit behind the answer failed or the hub is stopping; ResourceExhausted when it
  // would be held beyond a limit of WatchHubOptions.
  void Watch(const std::string& host_id, std::int64_t after_revision, std::int64_t timeout_ms,
             Callback done);

  // Watches currently held (for tests and metrics).
  std::size_t held() const;

 private:
  struct Waiter {
    std::string host_id;
    std::int64_t after_revision = 0;
    std::chrono::steady_clock::time_point deadline;
    Callback done;
  };

  // Brings the index up to date with `s`. Requires mu_ held and a read lock on the state.
  void CatchUp(const State& s);
  WatchResult Snapshot(const State& s, const std::string& host_id) const;  // same requirements
  // Delivers `result` once durable.
  void Deliver(Callback done, WatchResult result);
  void Loop();

  Db& db_;
  const WatchHubOptions options_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  bool indexed_ = false;
  std::int64_t indexed_revision_ = 0;  // events up to this revision are in the index
  std::map<std::string, std::set<std::string>> vms_by_host_;
  std::map<std::string, std::int64_t> changed_at_;  // host -> newest VM change revision
  std::vector<Waiter> waiters_;
  std::map<std::string, int> held_per_host_;  // of waiters_; hosts with none are absent
  std::thread thread_;
};

}  // namespace govpool::controller
