// CommandLine: govpoolctl's groups, commands, arguments and options, parsed with CLI11, which
// also writes every help text. This header does not include CLI11 (it is heavy to compile):
// the per-resource command files declare their commands through Group and Command, and only
// command_line.cc sees CLI11.
//
//   Command& c = cli.AddGroup("vm", "virtual machines").AddCommand("create", "create a VM");
//   c.Arg("NAME", &args->name, "the VM's name")
//    .Option("--flavor", &args->flavor, "ID|NAME", "flavor").Required()
//    .Run([args](Context& ctx) { return CreateVm(ctx, *args); });
//
// Bound values are written while Parse runs; the handler of the chosen command runs after.
// Global options (--url, --json, ...) are accepted anywhere on the line. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/schema.h"
#include "cli/config.h"
#include "cli/errors.h"
#include "cli/values.h"
#include "common/status.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace govpool::cli {

class Context;
using Handler = std::function<Status(Context&)>;
// Turns an option's text into its value; a UsageError when the text is refused.
using Setter = std::function<Status(const std::string&)>;

class Command {
 public:
  // A required positional argument.
  Command& Arg(const std::string& name, std::string* value, const std::string& help);
  // An option taking a value ("--pool POOL" or "--pool=POOL"), given at most once.
  Command& Option(const std::string& flag, const std::string& value_name, const std::string& help,
                  Setter set);
  // A switch.
  Command& Flag(const std::string& flag, bool* value, const std::string& help);
  // The option added last must be given ("--flavor is required").
  Command& Required();
  Command& Run(Handler handler);
  // The command writes the config file (login, logout): a --config file that does not exist
  // yet is no error for it.
  Command& WritesConfig();
  bool writes_config() const { return writes_config_; }

  // Typed options, built on Option(flag, value_name, help, setter); numbers must lie in
  // [min, max] ("--vcpus must be between 1 and 4096, got 0").
  Command& Option(const std::string& flag, std::string* value, const std::string& value_name,
                  const std::string& help);
  Command& Option(const std::string& flag, std::optional<std::string>* value,
                  const std::string& value_name, const std::string& help);
  Command& Option(const std::string& flag, std::int64_t* value, const std::string& value_name,
                  const std::string& help, std::int64_t min, std::int64_t max);
  Command& Option(const std::string& flag, std::optional<std::int64_t>* value,
                  const std::string& value_name, const std::string& help, std::int64_t min,
                  std::int64_t max);
  Command& Option(const std::string& flag, std::optional<double>* value,
                  const std::string& value_name, const std::string& help, double min, double max);
  // A comma list ("a,b"; empty items dropped).
  Command& Option(const std::string& flag, std::vector<std::string>* value,
                  const std::string& value_name, const std::string& help);
  Command& Option(const std::string& flag, std::optional<std::vector<std::string>>* value,
                  const std::string& value_name, const std::string& help);
  // An option that may be given several times, one value each, kept in order
  // ("--network a --network b").
  Command& RepeatedOption(const std::string& flag, std::vector<std::string>* values,
                          const std::string& value_name, const std::string& help);
  // An enum option with the API's names (api/types.h), e.g. --role system-admin|security-admin|audit-admin|dept-admin|...
  template <api::schema::NamedEnum E>
  Command& Choice(const std::string& flag, std::optional<E>* value, const std::string& help) {
    return Option(flag, ChoiceNames<E>("|"), help, [=](const std::string& v) -> Status {
      std::optional<E> e = api::FromString<E>(v);
      if (!e) {
        return UsageError(flag + " must be " + api::schema::Choices<E>() + ", got '" + v + "'");
      }
      *value = e;
      return OkStatus();
    });
  }

  const Handler& handler() const { return handler_; }
  // "govpoolctl vm create"
  const std::string& path() const { return path_; }

 private:
  friend class Group;
  friend class CommandLine;
  Command(CLI::App* app, std::string path) : app_(app), path_(std::move(path)) {}
  template <api::schema::NamedEnum E>
  static std::string ChoiceNames(std::string_view sep) {
    std::string out;
    for (const auto& [e, name] : api::schema::EnumNames<E>::kNames) {
      out += (out.empty() ? "" : std::string(sep)) + std::string(name);
    }
    return out;
  }

  CLI::App* app_;
  std::string path_;
  CLI::Option* last_ = nullptr;
  Handler handler_;
  bool writes_config_ = false;
};

class Group {
 public:
  // The returned reference stays valid for the CommandLine's life.
  Command& AddCommand(const std::string& verb, const std::string& summary);

 private:
  friend class CommandLine;
  Group(CLI::App* app, std::string path, std::deque<Command>* commands)
      : app_(app), path_(std::move(path)), commands_(commands) {}
  CLI::App* app_;
  std::string path_;
  std::deque<Command>* commands_;
};

// What the command line asks for.
struct ParsedLine {
  enum class Action {
    kRun,    // run `command`
    kHelp,   // print `text` (help) on stdout, exit 0
    kError,  // print "error: ..." for `error`, then `text` (a hint or help), exit 2
  };
  Action action = Action::kError;
  const Command* command = nullptr;
  Status error;
  std::string text;
};

class CommandLine {
 public:
  CommandLine();
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // A group of commands ("vm"); the reference stays valid for the CommandLine's life.
  Group& AddGroup(const std::string& name, const std::string& summary);
  // A command without a group ("login"); the reference stays valid for the CommandLine's life.
  Command& AddCommand(const std::string& verb, const std::string& summary);

  // Parses `args` (argv without argv[0]); may be called once. Fills globals() and the values
  // bound by the chosen command's arguments and options.
  ParsedLine Parse(const std::vector<std::string>& args);
  const GlobalOptions& globals() const { return globals_; }

  // The help text of the top level, a group ("vm") or a command ("vm create").
  std::string Help(const std::string& path = "") const;
  // Every command as "GROUP VERB", in help order.
  std::vector<std::string> CommandPaths() const;

 private:
  std::unique_ptr<CLI::App> root_;
  GlobalOptions globals_;
  std::deque<Group> groups_;
  std::deque<Command> commands_;
};

}  // namespace govpool::cli
