// govpoolctl's command line on CLI11: global options anywhere, help at every level, usage
// errors with exit code 2, and help for every command.
#include "cli/command_line.h"

#include <gtest/gtest.h>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

class CommandLineTest : public ::testing::Test {
 protected:
  CommandLineTest() { AddAllCommands(cli_); }
  ParsedLine Parse(const std::vector<std::string>& args) { return cli_.Parse(args); }
  CommandLine cli_;
};

TEST_F(CommandLineTest, CommandWithPositionalAndOptions) {
  ParsedLine line = Parse({"vm", "create", "web-1", "--department", "finance", "--flavor=small",
                           "--stopped"});
  ASSERT_EQ(line.action, ParsedLine::Action::kRun) << line.error.ToString();
  ASSERT_NE(line.command, nullptr);
  EXPECT_EQ(line.command->path(), "govpoolctl vm create");
  EXPECT_TRUE(line.command->handler() != nullptr);
}

TEST_F(CommandLineTest, GlobalOptionsAnywhere) {
  ParsedLine line = Parse({"--url", "http://h:1", "department", "list", "--json", "--token=abc",
                           "--config", "/c", "--token-file", "/t", "--ca-file", "/ca", "--wide"});
  ASSERT_EQ(line.action, ParsedLine::Action::kRun) << line.error.ToString();
  const GlobalOptions& g = cli_.globals();
  EXPECT_EQ(*g.url, "http://h:1");
  EXPECT_EQ(*g.token, "abc");
  EXPECT_EQ(*g.config, "/c");
  EXPECT_EQ(*g.token_file, "/t");
  EXPECT_EQ(*g.ca_file, "/ca");
  EXPECT_TRUE(g.json);
  EXPECT_TRUE(g.wide);
}

TEST_F(CommandLineTest, UnsetGlobalsStayUnset) {
  ParsedLine line = Parse({"flavor", "list"});
  ASSERT_EQ(line.action, ParsedLine::Action::kRun);
  EXPECT_FALSE(cli_.globals().url);
  EXPECT_FALSE(cli_.globals().token);
  EXPECT_FALSE(cli_.globals().json);
}

TEST_F(CommandLineTest, HelpAtEveryLevel) {
  ParsedLine top = Parse({"--help"});
  ASSERT_EQ(top.action, ParsedLine::Action::kHelp);
  EXPECT_NE(top.text.find("department"), std::string::npos);
  EXPECT_NE(top.text.find("Exit codes"), std::string::npos);
  EXPECT_NE(top.text.find("--token-file"), std::string::npos);
}

TEST_F(CommandLineTest, GroupHelpListsItsCommands) {
  ParsedLine group = Parse({"vm", "-h"});
  ASSERT_EQ(group.action, ParsedLine::Action::kHelp);
  EXPECT_NE(group.text.find("govpoolctl vm"), std::string::npos) << group.text;
  EXPECT_NE(group.text.find("reboot"), std::string::npos) << group.text;
}

TEST_F(CommandLineTest, HelpWinsOverMissingArgumentsAndUnknownOptions) {
  ParsedLine command = Parse({"vm", "create", "--bogus", "--help"});
  ASSERT_EQ(command.action, ParsedLine::Action::kHelp) << command.error.ToString();
  EXPECT_NE(command.text.find("govpoolctl vm create"), std::string::npos) << command.text;
  EXPECT_NE(command.text.find("--stopped"), std::string::npos) << command.text;
}

TEST_F(CommandLineTest, NoCommandIsAUsageErrorWithHelp) {
  ParsedLine bare = Parse({});
  ASSERT_EQ(bare.action, ParsedLine::Action::kError);
  EXPECT_EQ(ExitCodeFor(bare.error), kExitUsage);
  EXPECT_NE(bare.text.find("Groups"), std::string::npos) << bare.text;
}

TEST_F(CommandLineTest, DoubleDashEndsOptions) {
  ParsedLine line = Parse({"department", "create", "--", "--odd"});
  EXPECT_EQ(line.action, ParsedLine::Action::kRun) << line.error.ToString();
}

TEST_F(CommandLineTest, UsageErrors) {
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"bogus"},
           {"vm", "explode"},
           {"vm"},
           {"vm", "create"},
           {"vm", "create", "x", "--department", "d"},
           {"vm", "show", "a", "b"},
           {"vm", "list", "--bogus"},
           {"vm", "list", "--department"},
           {"vm", "list", "--page-size", "0"},
           {"vm", "list", "--state", "sleepy"},
           {"--url"},
           {"-x", "vm", "list"},
           {"department", "create", "x", "--quota", "cores=3"},
           {"host", "update", "h", "--maintenance", "maybe"},
           {"host", "update", "h", "--cpu-ratio", "100"},
           {"user", "create", "u", "--role", "root"},
           {"flavor", "create", "f", "--vcpus", "x", "--memory-mib", "1", "--disk-gib", "1"},
           {"backup-policy", "update", "p", "--enabled", "maybe"},
           {"backup-policy", "create", "p", "--department", "d", "--target-pool", "t"},
           {"backup", "restore", "b"},
           {"backup", "create", "--volume", "v"},
       }) {
    CommandLine cli;
    AddAllCommands(cli);
    ParsedLine line = cli.Parse(argv);
    std::string joined;
    for (const auto& a : argv) joined += a + " ";
    ASSERT_EQ(line.action, ParsedLine::Action::kError) << joined;
    EXPECT_EQ(ExitCodeFor(line.error), kExitUsage) << joined;
    EXPECT_NE(line.text.find("--help' for usage"), std::string::npos) << joined << line.text;
  }
}

TEST_F(CommandLineTest, UsageMessagesNameTheProblem) {
  auto message = [](const std::vector<std::string>& argv) {
    CommandLine cli;
    AddAllCommands(cli);
    return ErrorText(cli.Parse(argv).error);
  };
  EXPECT_EQ(message({"vm", "explode"}), "unknown command 'vm explode'");
  EXPECT_EQ(message({"bogus"}), "unknown command 'bogus'");
  EXPECT_EQ(message({"vm"}), "'vm' needs a command");
  EXPECT_EQ(message({"vm", "create", "x", "--department", "d"}), "--flavor is required");
  EXPECT_EQ(message({"vm", "create"}).find("NAME is required"), 0u);
  EXPECT_EQ(message({"vm", "list", "--bogus"}), "unknown option '--bogus' for 'vm list'");
  EXPECT_EQ(message({"vm", "list", "--department"}), "--department needs a value");
  EXPECT_EQ(message({"vm", "show", "a", "b"}), "unexpected argument 'b'");
  EXPECT_EQ(message({"vm", "list", "--page-size", "0"}),
            "--page-size must be between 1 and 1000, got 0");
  EXPECT_NE(message({"user", "create", "u", "--role", "root"})
                .find("--role must be system-admin, security-admin, audit-admin, dept-admin, dept-member, "
                      "agent or metrics-reader"),
            std::string::npos);
}

TEST_F(CommandLineTest, HintNamesTheCommand) {
  ParsedLine line = Parse({"vm", "create", "x"});
  ASSERT_EQ(line.action, ParsedLine::Action::kError);
  EXPECT_EQ(line.text, "Run 'govpoolctl vm create --help' for usage.\n");
}

TEST_F(CommandLineTest, EveryCommandHasHelp) {
  const std::vector<std::string> paths = cli_.CommandPaths();
  EXPECT_GE(paths.size(), 30u);
  const std::string top = cli_.Help();
  for (const std::string& path : paths) {
    const std::string group = path.substr(0, path.find(' '));
    const std::string verb = path.substr(path.find(' ') + 1);
    EXPECT_NE(cli_.Help(path).find("govpoolctl " + path), std::string::npos) << path;
    EXPECT_NE(cli_.Help(group).find(verb), std::string::npos) << path;
    EXPECT_NE(top.find(group), std::string::npos) << path;
  }
  EXPECT_NE(cli_.Help("host update").find("--maintenance on|off"), std::string::npos);
  EXPECT_NE(cli_.Help("vm list").find("--state"), std::string::npos);
  EXPECT_NE(cli_.Help("backup-policy update").find("--enabled on|off"), std::string::npos);
  EXPECT_NE(cli_.Help("backup restore").find("--wait"), std::string::npos);
  EXPECT_NE(cli_.Help("department create").find("backup_gib"), std::string::npos);
}

}  // namespace
}  // namespace govpool::cli
