#include "cli/args.h"

#include <gtest/gtest.h>

namespace govpool::cli {
namespace {

Result<Invocation> Parse(std::vector<std::string> argv) { return ParseCommandLine(argv); }

TEST(ParseCommandLineTest, CommandWithPositionalAndOptions) {
  auto inv = Parse({"vm", "create", "web-1", "--department", "finance", "--flavor=small", "--stopped"});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_NE(inv->command, nullptr);
  EXPECT_EQ(inv->command->group, "vm");
  EXPECT_EQ(inv->command->verb, "create");
  EXPECT_EQ(inv->args, std::vector<std::string>{"web-1"});
  EXPECT_EQ(*inv->Option("department"), "finance");
  EXPECT_EQ(*inv->Option("flavor"), "small");
  EXPECT_TRUE(inv->Has("stopped"));
  EXPECT_FALSE(inv->Has("pool"));
  EXPECT_FALSE(inv->help);
}

TEST(ParseCommandLineTest, GlobalOptionsAnywhere) {
  auto inv = Parse({"--url", "http://h:1", "department", "list", "--json", "--token=abc",
                    "--config", "/c", "--token-file", "/t", "--ca-file", "/ca"});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(*inv->global.url, "http://h:1");
  EXPECT_EQ(*inv->global.token, "abc");
  EXPECT_EQ(*inv->global.config, "/c");
  EXPECT_EQ(*inv->global.token_file, "/t");
  EXPECT_EQ(*inv->global.ca_file, "/ca");
  EXPECT_TRUE(inv->global.json);
}

TEST(ParseCommandLineTest, DoubleDashEndsOptions) {
  auto inv = Parse({"department", "create", "--", "--odd"});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(inv->args, std::vector<std::string>{"--odd"});
}

TEST(ParseCommandLineTest, HelpAtEveryLevel) {
  auto top = Parse({"--help"});
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->help);
  EXPECT_TRUE(top->group.empty());

  auto group = Parse({"vm", "-h"});
  ASSERT_TRUE(group.ok());
  EXPECT_TRUE(group->help);
  EXPECT_EQ(group->group, "vm");
  EXPECT_EQ(group->command, nullptr);

  // Help wins over missing arguments and unknown options.
  auto command = Parse({"vm", "create", "--bogus", "--help"});
  ASSERT_TRUE(command.ok()) << command.status().ToString();
  EXPECT_TRUE(command->help);
  ASSERT_NE(command->command, nullptr);
  EXPECT_EQ(command->command->verb, "create");

  auto bare = Parse({});
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->help);
}

TEST(ParseCommandLineTest, UsageErrors) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"bogus"},
           {"vm", "explode"},
           {"vm"},
           {"vm", "create"},
           {"vm", "show", "a", "b"},
           {"vm", "list", "--bogus"},
           {"vm", "list", "--department"},
           {"--url"},
           {"vm", "list", "--json=yes"},
           {"vm", "create", "x", "--stopped=1"},
           {"-x", "vm", "list"},
       }) {
    auto inv = Parse(argv);
    std::string joined;
    for (const auto& a : argv) joined += a + " ";
    ASSERT_FALSE(inv.ok()) << joined;
    EXPECT_EQ(ExitCodeFor(inv.status()), kExitUsage) << joined;
  }
}

TEST(ParseCommandLineTest, EveryCommandHasHelp) {
  for (const CommandSpec& c : Commands()) {
    std::string help = CommandHelp(c);
    EXPECT_NE(help.find("govpoolctl " + c.group + " " + c.verb), std::string::npos);
    for (const OptionSpec& o : c.options) EXPECT_NE(help.find("--" + o.name), std::string::npos);
    EXPECT_NE(GroupHelp(c.group).find(c.verb), std::string::npos);
    EXPECT_NE(TopHelp().find(c.group), std::string::npos);
  }
}

TEST(ExitCodeTest, Mapping) {
  EXPECT_EQ(ExitCodeFor(OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(UsageError("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(ApiError("QUOTA_EXCEEDED: x")), kExitApiError);
  EXPECT_EQ(ExitCodeFor(Unavailable("refused")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(DeadlineExceeded("slow")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(Internal("bug")), kExitApiError);
  EXPECT_EQ(ErrorText(ApiError("QUOTA_EXCEEDED: full")), "QUOTA_EXCEEDED: full");
  EXPECT_EQ(ErrorText(Unavailable("refused")), "UNAVAILABLE: refused");
  EXPECT_EQ(ErrorText(UsageError("bad")), "bad");
}

TEST(ValueParsersTest, Int) {
  EXPECT_EQ(*ParseInt("42", 0, 100, "--n"), 42);
  EXPECT_EQ(*ParseInt("-1", -1, 100, "--n"), -1);
  EXPECT_FALSE(ParseInt("", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("4x", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("101", 0, 100, "--n").ok());
  EXPECT_FALSE(ParseInt("99999999999999999999", 0, 100, "--n").ok());
  EXPECT_NE(ParseInt("x", 0, 1, "--vcpus").status().message().find("--vcpus"), std::string::npos);
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
  auto q = ParseQuota("instances=10,vcpus=20,memory_mib=unlimited,networks=-1");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0], std::make_pair(std::string("instances"), std::int64_t{10}));
  EXPECT_EQ((*q)[2], std::make_pair(std::string("memory_mib"), std::int64_t{-1}));
  EXPECT_EQ((*q)[3].second, -1);
  for (const char* bad : {"", "instances", "=3", "cores=3", "instances=-2", "instances=x",
                          "instances=1,instances=2"}) {
    EXPECT_FALSE(ParseQuota(bad).ok()) << bad;
    EXPECT_EQ(ExitCodeFor(ParseQuota(bad).status()), kExitUsage) << bad;
  }
}

TEST(ValueParsersTest, List) {
  EXPECT_EQ(ParseList("a,b,,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(ParseList("").empty());
}

}  // namespace
}  // namespace govpool::cli
