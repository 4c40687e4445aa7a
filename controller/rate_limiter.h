// RateLimiter: token buckets keyed by a string (a client address, a credential), for the
// routes that create or check secrets (docs/security.md, "Bounded everything"): each key may
// make `burst` requests at once and `per_second` more every second after. Memory is bounded:
// at most `max_keys` buckets; when full, buckets that have refilled (they hold nothing a new
// bucket would not) go first, then those with the most left: a key being held back stays.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace govpool::controller {

struct RateLimiterOptions {
  double per_second = 2;
  double burst = 20;
  std::size_t max_keys = 10'000;
};

class RateLimiter {
 public:
  RateLimiter(RateLimiterOptions options, const Clock& clock) : options_(options), clock_(clock) {}
  // Takes one request from `key`'s bucket: true when there was one.
  bool Allow(const std::string& key);
  // Seconds until `key` may make its next request (0: now).
  int RetryAfterSeconds(const std::string& key);
  // Allow, answered as a Retry-After: 0 when the request was taken, else the seconds (at least
  // 1) until the next one may be.
  int TakeOrRetryAfter(const std::string& key);
  std::size_t keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point updated;
  };
  // Refills `b` up to now. Requires mu_.
  void Refill(Bucket& b, std::chrono::steady_clock::time_point now) const;
  void MakeRoom(std::chrono::steady_clock::time_point now);  // requires mu_

  const RateLimiterOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace govpool::controller
