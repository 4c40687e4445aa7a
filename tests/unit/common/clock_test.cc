#include "common/clock.h"

#include <gtest/gtest.h>

namespace govpool {
namespace {

TEST(ClockTest, Rfc3339RoundTrips) {
  auto t = std::chrono::system_clock::from_time_t(1795000000) + std::chrono::milliseconds(42);
  std::string text = FormatRfc3339(t);
  EXPECT_EQ(text, "2026-11-18T11:06:40.042Z");
  auto parsed = ParseRfc3339(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, t);
}

TEST(ClockTest, ParseRejectsNonUtc) {
  EXPECT_FALSE(ParseRfc3339("2026-11-18T08:26:40+02:00").ok());
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
}

}  // namespace
}  // namespace govpool
