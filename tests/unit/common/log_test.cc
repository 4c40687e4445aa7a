#include "common/log.h"

#include <gtest/gtest.h>

namespace govpool {
namespace {

TEST(LogTest, ParseLevel) {
  EXPECT_EQ(*log::ParseLevel("warn"), log::Level::kWarn);
  EXPECT_FALSE(log::ParseLevel("loud").ok());
}

}  // namespace
}  // namespace govpool
