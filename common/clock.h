// Clock: the one source of time. Injected everywhere so tests control it
// (tests/fakes/common/fake_clock.h). Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace govpool {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps shown to people and stored in records.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for timeouts and intervals (never jumps).
  virtual std::chrono::steady_clock::time_point MonotonicNow() const = 0;
};

// The process-wide real clock. Never null; lives for the whole program.
Clock& SystemClock();

// "2026-11-22T02:05:27.123Z" (UTC, millisecond precision).
std::string FormatRfc3339(std::chrono::system_clock::time_point t);
// Parses the format above (and without fraction). InvalidArgument on anything else.
Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace govpool
