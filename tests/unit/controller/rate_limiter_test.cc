// RateLimiter on a fake clock: a burst, then the steady rate; keys apart; bounded memory.
#include "controller/rate_limiter.h"

#include <gtest/gtest.h>

#include "tests/fakes/common/fake_clock.h"

namespace govpool::controller {
namespace {

TEST(RateLimiterTest, ABurstThenTheSteadyRate) {
  testing::FakeClock clock;
  RateLimiter limiter({.per_second = 2, .burst = 5, .max_keys = 100}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
  EXPECT_EQ(limiter.RetryAfterSeconds("10.0.0.1"), 1);
  EXPECT_TRUE(limiter.Allow("10.0.0.2")) << "another key has its own bucket";
  clock.Advance(std::chrono::milliseconds(500));  // one more at 2 per second
  EXPECT_TRUE(limiter.Allow("10.0.0.1"));
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
  clock.Advance(std::chrono::seconds(60));  // never more than the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
}

TEST(RateLimiterTest, ManyKeysStayBounded) {
  testing::FakeClock clock;
  RateLimiter limiter({.per_second = 1, .burst = 3, .max_keys = 50}, clock);
  for (int i = 0; i < 10'000; ++i) {
    limiter.Allow("addr-" + std::to_string(i));
    if (i % 100 == 0) clock.Advance(std::chrono::milliseconds(10));
  }
  EXPECT_LE(limiter.keys(), 50u);
  // A key that spent its burst and is still recent is not forgotten in favour of idle ones.
  for (int i = 0; i < 3; ++i) limiter.Allow("busy");
  EXPECT_FALSE(limiter.Allow("busy"));
  for (int i = 0; i < 30; ++i) limiter.Allow("new-" + std::to_string(i));
  EXPECT_FALSE(limiter.Allow("busy"));
}

}  // namespace
}  // namespace govpool::controller
