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
}  // namespace govpool::cli
