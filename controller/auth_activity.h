// AuthActivity: what the controller remembers about sign-ins in memory only (docs/security.md,
// "People and sessions"): the last use (time, source address) of each session and token, and
// failed logins counted per user name and per source address for the lockout.
//
// Memory only, a documented choice: a restart forgets failed attempts and locks (an attacker
// who can restart the controller has won already), and a session's idle time counts from the
// restart (epoch) when it was not used since. Nothing here is durable, so reads may record a
// use under Db's shared lock.
// Thread-safety: every method is thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace govpool::controller {

class AuthActivity {
 public:
  struct Use {
    std::int64_t at_ms = 0;
    std::string from;
  };
  struct LockoutPolicy {
    std::int64_t attempts = 5;  // failures within window_ms that lock
    std::int64_t window_ms = 15 * 60 * 1000;
    std::int64_t duration_ms = 15 * 60 * 1000;
  };
  struct Failures {
    std::int64_t count = 0;           // within the window
    std::int64_t locked_until_ms = 0;  // 0: not locked
  };

  // The time the state was (re)loaded: sessions unused since count their idleness from it.
  void Restart(std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    epoch_ms_ = now_ms;
  }
  std::int64_t epoch_ms() const {
    std::lock_guard lock(mu_);
    return epoch_ms_;
  }

  // ---- Last use of a credential (by its id) ----
  void Touch(const std::string& credential_id, std::int64_t now_ms, const std::string& from) {
    std::lock_guard lock(mu_);
    Use& u = uses_[credential_id];
    u.at_ms = std::max(u.at_ms, now_ms);
    u.from = from;
  }
  std::optional<Use> LastUse(const std::string& credential_id) const {
    std::lock_guard lock(mu_);
    auto it = uses_.find(credential_id);
    if (it == uses_.end()) return std::nullopt;
    return it->second;
  }
  void Forget(const std::string& credential_id) {
    std::lock_guard lock(mu_);
    uses_.erase(credential_id);
  }

  // ---- Failed logins (keys: "user:<name>", "addr:<address>") ----
  bool Locked(const std::string& key, std::int64_t now_ms) const {
    std::lock_guard lock(mu_);
    auto it = failures_.find(key);
    return it != failures_.end() && it->second.locked_until_ms > now_ms;
  }
  // Counts a failure; true when it locked `key` (the failure that reached the limit).
  bool RecordFailure(const std::string& key, std::int64_t now_ms, const LockoutPolicy& policy) {
    std::lock_guard lock(mu_);
    if (failures_.size() > kMaxTrackedKeys) Prune(now_ms, policy.window_ms);
    Entry& e = failures_[key];
    Trim(e, now_ms, policy.window_ms);
    e.times.push_back(now_ms);
    if (e.locked_until_ms > now_ms) return false;  // locked already
    if (static_cast<std::int64_t>(e.times.size()) < policy.attempts) return false;
    e.locked_until_ms = now_ms + policy.duration_ms;
    e.times.clear();  // after the lock, counting starts again
    return true;
  }
  void ClearFailures(const std::string& key) {
    std::lock_guard lock(mu_);
    failures_.erase(key);
  }
  Failures FailuresOf(const std::string& key, std::int64_t now_ms, std::int64_t window_ms) const {
    std::lock_guard lock(mu_);
    auto it = failures_.find(key);
    if (it == failures_.end()) return {};
    Failures f;
    for (std::int64_t t : it->second.times) f.count += t > now_ms - window_ms ? 1 : 0;
    if (it->second.locked_until_ms > now_ms) f.locked_until_ms = it->second.locked_until_ms;
    return f;
  }

 private:
  // Bounds the memory an attacker can make the controller spend on addresses and names.
  static constexpr std::size_t kMaxTrackedKeys = 100'000;
  struct Entry {
    std::deque<std::int64_t> times;  // failures in the window, oldest first
    std::int64_t locked_until_ms = 0;
  };
  static void Trim(Entry& e, std::int64_t now_ms, std::int64_t window_ms) {
    while (!e.times.empty() && e.times.front() <= now_ms - window_ms) e.times.pop_front();
  }
  void Prune(std::int64_t now_ms, std::int64_t window_ms) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      Trim(it->second, now_ms, window_ms);
      const bool idle = it->second.times.empty() && it->second.locked_until_ms <= now_ms;
      it = idle ? failures_.erase(it) : std::next(it);
    }
  }

  mutable std::mutex mu_;
  std::int64_t epoch_ms_ = 0;
  std::unordered_map<std::string, Use> uses_;
  std::unordered_map<std::string, Entry> failures_;
};

}  // namespace govpool::controller
