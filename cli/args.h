// Command-line parsing for govpoolctl: the command table (groups, verbs, options), the parser
// that turns argv into an Invocation, help texts, and the small value parsers the commands use
// (integers, ratios, on/off, quota lists). Pure functions over strings: no I/O, no JSON.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::cli {

// Exit codes of govpoolctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;     // the server answered with an error (or a bad answer)
inline constexpr int kExitUsage = 2;        // the command line (or config) is wrong
inline constexpr int kExitUnreachable = 3;  // the server could not be reached

// A usage error: InvalidArgument with reason "USAGE" (exit code 2).
Status UsageError(std::string message);
// An error the server answered with; `text` is "CODE: message (details)" (exit code 1).
Status ApiError(std::string text);
// The exit code for a failed command's Status: 2 for usage errors, 3 when the server was
// unreachable or timed out (transport Unavailable/DeadlineExceeded), else 1.
int ExitCodeFor(const Status& status);
// The text printed after "error: " for a failed command's Status.
std::string ErrorText(const Status& status);

struct OptionSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // empty: a boolean switch
  std::string help;
};

struct CommandSpec {
  std::string group;  // "vm"
  std::string verb;   // "create"
  std::string args;   // positional synopsis, e.g. "NAME"
  int min_args = 0;
  int max_args = 0;
  std::string summary;
  std::vector<OptionSpec> options;
};

// Every command govpoolctl knows, in help order.
const std::vector<CommandSpec>& Commands();
const CommandSpec* FindCommand(std::string_view group, std::string_view verb);

struct GlobalOptions {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> config;
  std::optional<std::string> ca_file;
  bool json = false;
};

struct Invocation {
  GlobalOptions global;
  bool help = false;                  // --help/-h seen (or a group without a verb)
  std::string group;                  // empty: top level
  const CommandSpec* command = nullptr;  // null when only a group (or nothing) was given
  std::vector<std::string> args;      // positional arguments of the command
  std::map<std::string, std::string> options;  // switches map to "true"

  bool Has(const std::string& name) const { return options.count(name) != 0; }
  const std::string* Option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
  }
};

// Parses argv (without argv[0]). Global options are accepted anywhere; command options after
// the verb; "--name=value" and "--name value" both work; "--" ends option parsing.
// Returns a UsageError for unknown groups, verbs or options, missing option values and wrong
// numbers of positional arguments (unless help was asked for).
Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv);

// Help texts: top level (group empty), a group, or one command.
std::string TopHelp();
std::string GroupHelp(std::string_view group);
std::string CommandHelp(const CommandSpec& command);
// "govpoolctl vm create" etc., for hints.
std::string CommandPath(const Invocation& inv);

// Value parsers; each returns a UsageError naming `what` when the text is not acceptable.
Result<std::int64_t> ParseInt(std::string_view text, std::int64_t min, std::int64_t max,
                              std::string_view what);
Result<double> ParseDouble(std::string_view text, double min, double max, std::string_view what);
Result<bool> ParseOnOff(std::string_view text, std::string_view what);  // on/off/true/false/yes/no
// "instances=10,vcpus=20": resources from api::kQuotaResources, values >= -1 or "unlimited".
Result<std::vector<std::pair<std::string, std::int64_t>>> ParseQuota(std::string_view text);
// "a,b,c" -> {"a","b","c"}; empty text -> {}.
std::vector<std::string> ParseList(std::string_view text);

}  // namespace govpool::cli
