// FakeClock: a Clock that stands still until the test moves it. Wall-clock and monotonic time
// are the same count of milliseconds (starting at `now_ms`) and move together, so code that
// stamps records with Now() and schedules with MonotonicNow() sees one consistent time line.
// Thread-safety: every method is safe from any thread (the time is one atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace govpool::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}

  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }

  // Moves both clocks forward by `d` (never backward: pass a non-negative duration).
  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  // Moves both clocks to the monotonic time `t` (no-op when `t` is not later than now).
  void AdvanceTo(std::chrono::steady_clock::time_point t) {
    const std::int64_t target =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::int64_t now = now_ms_.load();
    while (target > now && !now_ms_.compare_exchange_weak(now, target)) {
    }
  }
  std::int64_t now_ms() const { return now_ms_.load(); }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace govpool::testing
