// govpoolctl's value parsers and error reporting (exit codes, "CODE: message (details)").
#include "cli/values.h"

#include <gtest/gtest.h>

#include "cli/errors.h"

namespace govpool::cli {
namespace {

TEST(ExitCodeTest, Mapping) {
  EXPECT_EQ(ExitCodeFor(OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(UsageError("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(ResourceExhausted("x").WithReason("QUOTA_EXCEEDED")), kExitApiError);
  EXPECT_EQ(ExitCodeFor(Unreachable("http://h:1", Unavailable("refused"))), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(Unreachable("http://h:1", DeadlineExceeded("slow"))), kExitUnreachable);
  // An UNAVAILABLE the server answered with is an API error, not an unreachable server.
  EXPECT_EQ(ExitCodeFor(Unavailable("store is read-only")), kExitApiError);
  EXPECT_EQ(ExitCodeFor(Internal("bug")), kExitApiError);
}

TEST(ErrorTextTest, CodeMessageAndDetails) {
  EXPECT_EQ(ErrorText(UsageError("bad")), "bad");
  EXPECT_EQ(ErrorText(NotFound("vm 1 not found")), "NOT_FOUND: vm 1 not found");
  EXPECT_EQ(ErrorText(ResourceExhausted("department finance is out of instances")
                          .WithReason("QUOTA_EXCEEDED")
                          .WithDetail("resource", "instances")
                          .WithDetail("requested", std::int64_t{1})
                          .WithDetail("limit", std::int64_t{10})),
            "QUOTA_EXCEEDED: department finance is out of instances (resource=instances, "
            "requested=1, limit=10)");
  EXPECT_EQ(ErrorText(Internal("x")
                          .WithDetail("rejected", std::map<std::string, std::int64_t>{{"memory", 3}})
                          .WithDetail("hosts", std::vector<std::string>{"a", "b"})),
            "INTERNAL: x (rejected={\"memory\":3}, hosts=[\"a\",\"b\"])");
  EXPECT_EQ(ErrorText(Unreachable("http://h:1", Unavailable("connection refused"))),
            "UNAVAILABLE: cannot reach the controller at http://h:1: connection refused");
}

TEST(ValueParsersTest, Int) {
  EXPECT_EQ(*ParseInt("42", 0, 100, "--n"), 42);
  EXPECT_EQ(*ParseInt("-1", -1, 100, "--n"), -1);
  EXPECT_FALSE(ParseInt("", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("4x", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("101", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("99999999999999999999", 0, 100, "--n").ok());
  EXPECT_NE(ParseInt("x", 0, 1, "--vcpus").status().message().find("--vcpus"), std::string::npos);
  EXPECT_EQ(ExitCodeFor(ParseInt("x", 0, 1, "--vcpus").status()), kExitUsage);
}

TEST(ValueParsersTest, Double) {
  EXPECT_DOUBLE_EQ(*ParseDouble("4.5", 0.1, 64, "--cpu-ratio"), 4.5);
  EXPECT_FALSE(ParseDouble("0", 0.1, 64, "--cpu-ratio").ok());
  EXPECT_FALSE(ParseDouble("nan", 0.1, 64, "--cpu-ratio").ok());
  EXPECT_FALSE(ParseDouble("1.5x", 0.1, 64, "--cpu-ratio").ok());
}

TEST(ValueParsersTest, OnOff) {
  EXPECT_TRUE(*ParseOnOff("on", "--m"));
  EXPECT_FALSE(*ParseOnOff("off", "--m"));
  EXPECT_TRUE(*ParseOnOff("true", "--m"));
  EXPECT_FALSE(ParseOnOff("maybe", "--m").ok());
}

TEST(ValueParsersTest, Quota) {
  auto q = ParseQuota("instances=10,vcpus=20,memory_mib=unlimited,networks=-1,backup_gib=500");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->instances, 10);
  EXPECT_EQ(q->vcpus, 20);
  EXPECT_EQ(q->memory_mib, -1);
  EXPECT_EQ(q->networks, -1);
  EXPECT_EQ(q->backup_gib, 500);
  EXPECT_FALSE(q->volumes.has_value());
  for (const char* bad : {"", "instances", "=3", "cores=3", "instances=-2", "instances=x",
                          "instances=1,instances=2", "instances=1000000001"}) {
    EXPECT_FALSE(ParseQuota(bad).ok()) << bad;
    EXPECT_EQ(ExitCodeFor(ParseQuota(bad).status()), kExitUsage) << bad;
  }
}

TEST(ValueParsersTest, ApplyQuotaChangesOnlyTheGivenLimits) {
  api::Quota q = ApplyQuota(api::Quota{}, *ParseQuota("instances=3,volumes=unlimited,backup_gib=0"));
  EXPECT_EQ(q.instances, 3);
  EXPECT_EQ(q.volumes, -1);
  EXPECT_EQ(q.backup_gib, 0);
  EXPECT_EQ(q.vcpus, api::Quota{}.vcpus);
}

TEST(ValueParsersTest, List) {
  EXPECT_EQ(ParseList("a,b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(ParseList("").empty());
}

}  // namespace
}  // namespace govpool::cli
