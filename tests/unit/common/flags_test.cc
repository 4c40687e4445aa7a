#include "common/flags.h"

#include <gtest/gtest.h>

#include "common/log.h"

namespace govpool {
namespace {

struct Args {
  explicit Args(std::vector<std::string> a) : storage(std::move(a)) {
    for (auto& s : storage) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

TEST(FlagSetTest, ParsesBothSpellingsAndBounds) {
  std::string url;
  int threads = 4;
  FlagSet flags;
  flags.String("--url", &url);
  flags.Int("--threads", &threads, 1, 8);
  bool help = false;
  Args a({"prog", "--url", "http://x", "--threads=8"});
  ASSERT_TRUE(flags.Parse(a.argc(), a.argv(), &help).ok());
  EXPECT_EQ(url, "http://x");
  EXPECT_EQ(threads, 8);
  EXPECT_FALSE(help);
}

TEST(FlagSetTest, RejectsUnknownMissingAndOutOfRange) {
  int threads = 4;
  FlagSet flags;
  flags.Int("--threads", &threads, 1, 8);
  bool help = false;
  Args unknown({"prog", "--nope", "1"});
  EXPECT_NE(flags.Parse(unknown.argc(), unknown.argv(), &help).message().find("unknown flag --nope"),
            std::string::npos);
  Args missing({"prog", "--threads"});
  EXPECT_EQ(flags.Parse(missing.argc(), missing.argv(), &help).code(), StatusCode::kInvalidArgument);
  Args big({"prog", "--threads", "9"});
  EXPECT_NE(flags.Parse(big.argc(), big.argv(), &help).message().find("1..8"), std::string::npos);
  Args junk({"prog", "--threads=4x"});
  EXPECT_FALSE(flags.Parse(junk.argc(), junk.argv(), &help).ok());
  EXPECT_EQ(threads, 4);
}

TEST(FlagSetTest, HelpStopsParsing) {
  FlagSet flags;
  bool help = false;
  Args a({"prog", "-h", "--whatever"});
  ASSERT_TRUE(flags.Parse(a.argc(), a.argv(), &help).ok());
  EXPECT_TRUE(help);
}

TEST(LogTest, ParseLevel) {
  EXPECT_EQ(*log::ParseLevel("warn"), log::Level::kWarn);
  EXPECT_FALSE(log::ParseLevel("loud").ok());
}

}  // namespace
}  // namespace govpool
