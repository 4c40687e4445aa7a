#include "controller/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace govpool::controller {

void RateLimiter::Refill(Bucket& b, std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) b.tokens = std::min(options_.burst, b.tokens + elapsed * options_.per_second);
  b.updated = std::max(b.updated, now);
}

void RateLimiter::MakeRoom(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now);
    it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
  }
  // Still full: the bucket with the most left goes (the one a fresh bucket differs from
  // least), never a key that is being held back in favour of one that is not.
  while (buckets_.size() >= options_.max_keys) {
    auto fullest = std::max_element(buckets_.begin(), buckets_.end(),
                                    [](const auto& a, const auto& b) { return a.second.tokens < b.second.tokens; });
    buckets_.erase(fullest);
  }
}

bool RateLimiter::Allow(const std::string& key) {
  const auto now = clock_.MonotonicNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) MakeRoom(now);
    it = buckets_.emplace(key, Bucket{options_.burst, now}).first;
  }
  Refill(it->second, now);
  if (it->second.tokens < 1) return false;
  it->second.tokens -= 1;
  return true;
}

int RateLimiter::TakeOrRetryAfter(const std::string& key) {
  if (Allow(key)) return 0;
  return std::max(1, RetryAfterSeconds(key));
}

int RateLimiter::RetryAfterSeconds(const std::string& key) {
  const auto now = clock_.MonotonicNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  Refill(it->second, now);
  if (it->second.tokens >= 1) return 0;
  return static_cast<int>(std::ceil((1 - it->second.tokens) / options_.per_second));
}

std::size_t RateLimiter::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace govpool::controller
