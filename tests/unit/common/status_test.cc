#include "common/result.h"
#include "common/status.h"

#include <gtest/gtest.h>

namespace govpool {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  GP_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, ReasonDefaultsToCodeNameAndCanBeRefined) {
  Status s = ResourceExhausted("over quota");
  EXPECT_EQ(s.reason(), "RESOURCE_EXHAUSTED");
  Status q = std::move(s).WithReason("QUOTA_EXCEEDED").WithDetail("limit", std::int64_t{10});
  EXPECT_EQ(q.reason(), "QUOTA_EXCEEDED");
  ASSERT_EQ(q.details().size(), 1u);
  EXPECT_EQ(std::get<std::int64_t>(q.details()[0].second), 10);
  EXPECT_EQ(q.ToString(), "QUOTA_EXCEEDED: over quota");
}

TEST(StatusTest, AnnotateKeepsCodeAndPrefixesMessage) {
  Status s = NotFound("no such vm").Annotate("deleting vm x");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "deleting vm x: no such vm");
  EXPECT_TRUE(OkStatus().Annotate("ctx").ok());
}

TEST(ResultTest, PropagatesErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace govpool
