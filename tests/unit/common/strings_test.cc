#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/log.h"

namespace govpool {
namespace {

TEST(StringsTest, JsonQuoteEscapesControlAndQuotes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(StringsTest, SplitKeepsEmptyParts) {
  EXPECT_EQ(SplitString("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
}

TEST(StringsTest, ValidNames) {
  EXPECT_TRUE(IsValidName("web-01.prod_a"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("-lead"));
  EXPECT_FALSE(IsValidName("has space"));
  EXPECT_FALSE(IsValidName(std::string(64, 'a')));
}

TEST(LogTest, LineIsOneJsonObject) {
  std::string line = log::FormatLine(log::Level::kWarn, "disk \"full\"", {{"free_gib", 0}, {"host", "h1"}});
  EXPECT_NE(line.find("\"level\":\"warn\""), std::string::npos);
  EXPECT_NE(line.find("\"msg\":\"disk \\\"full\\\"\""), std::string::npos);
  EXPECT_NE(line.find("\"free_gib\":0,\"host\":\"h1\"}"), std::string::npos);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace govpool
