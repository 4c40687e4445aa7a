#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace govpool {
namespace {

TEST(IdsTest, NewUuidIsCanonicalVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, IsUuidRejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(IsUuid("123e4567xe89b-12d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid("123e4567-e89b-12d3-a456-426614174000"));
}

TEST(IdsTest, NewUuidIsLowerCase) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewUuid();
    ASSERT_EQ(id.size(), 36u);
    for (char c : id) EXPECT_TRUE(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
  }
}

TEST(IdsTest, IsUuidTakesOnlyTheCanonicalShape) {
  EXPECT_TRUE(IsUuid("123E4567-E89B-12D3-A456-426614174000")) << "upper-case hex is accepted";
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
  // Forms other parsers accept are refused: braces, no dashes, URN prefix, whitespace.
  EXPECT_FALSE(IsUuid("{123e4567-e89b-12d3-a456-426614174000}"));
  EXPECT_FALSE(IsUuid("{123e4567-e89b-12d3-a456-42661417400}"));
  EXPECT_FALSE(IsUuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(IsUuid("urn:uuid:123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(IsUuid(" 123e4567-e89b-12d3-a456-42661417400"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-4266141740000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-42661417400"));
  // Dashes must sit at 8, 13, 18 and 23.
  EXPECT_FALSE(IsUuid("123e456-7e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a4564-26614174000"));
  EXPECT_FALSE(IsUuid("123e4567-e89b-12d3-a456-4266-4174000"));
  EXPECT_FALSE(IsUuid(std::string_view("123e4567-e89b-12d3-a456-42661417400\0", 36)));
}

}  // namespace
}  // namespace govpool
