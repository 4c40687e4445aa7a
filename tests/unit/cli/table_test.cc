#include "cli/table.h"

#include <gtest/gtest.h>

namespace govpool::cli {
namespace {

TEST(FormatTableTest, PadsColumnsToWidestCellWithoutTrailingBlanks) {
  EXPECT_EQ(FormatTable({"ID", "NAME", "STATE"}, {{"1", "web-server", "running"}, {"22", "db", ""}}),
            "ID  NAME        STATE\n"
            "1   web-server  running\n"
            "22  db\n");
}

TEST(FormatTableTest, HeaderOnlyAndShortRows) {
  EXPECT_EQ(FormatTable({"A", "B"}, {}), "A  B\n");
  EXPECT_EQ(FormatTable({"A", "B", "C"}, {{"x"}}), "A  B  C\nx\n");
}

TEST(FormatTableTest, ExtraCellsAreIgnored) {
  EXPECT_EQ(FormatTable({"A"}, {{"x", "y"}}), "A\nx\n");
}

TEST(FormatFieldsTest, AlignsValues) {
  EXPECT_EQ(FormatFields({{"id", "123"}, {"quota.instances", "10"}, {"empty", ""}}),
            "id               123\n"
            "quota.instances  10\n"
            "empty\n");
  EXPECT_EQ(FormatFields({}), "");
}

}  // namespace
TEST(SparklineTest, HeightsBlanksAndColumnsAveragingTheValuesTheySpan) {
  EXPECT_EQ(Sparkline({0.0, 0.5, 1.0, 2.0, -1.0, std::nullopt}, 10),
            "\u2581\u2585\u2588\u2588\u2581 ");
  // Four values in two columns: (0 + 1) / 2 and (1 + 1) / 2; an unset value is skipped.
  EXPECT_EQ(Sparkline({0.0, 1.0, std::nullopt, 1.0}, 2), "\u2585\u2588");
  EXPECT_EQ(Sparkline({}, 48), "");
}

}  // namespace govpool::cli
