#include "cli/command_line.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <CLI/CLI.hpp>

#include "common/strings.h"

namespace govpool::cli {
namespace {

constexpr const char* kTopFooter =
    "Settings precedence: flag > environment > config file > default.\n"
    "Config file lines: url = ..., token = ..., token_file = ..., ca_file = ...\n"
    "Exit codes: 0 ok, 1 the server refused (error: CODE: message), 2 usage error,\n"
    "3 server unreachable.\n"
    "Run 'govpoolctl GROUP --help' for a group's commands.";
constexpr const char* kCommandFooter =
    "Global options (--url, --token, --json, --wide, ...): see 'govpoolctl --help'.";

// The first parsed subcommand of `app`, or nullptr.
CLI::App* Chosen(CLI::App* app) {
  std::vector<CLI::App*> chosen = app->get_subcommands();
  return chosen.empty() ? nullptr : chosen.front();
}

// CLI11's help layout with our words for what it calls subcommands.
std::shared_ptr<CLI::Formatter> Formatter(const std::string& usage_word) {
  auto f = std::make_shared<CLI::Formatter>();
  f->column_width(32);
  f->label("SUBCOMMAND", usage_word);
  return f;
}

std::string Hint(const std::string& path) { return "Run '" + path + " --help' for usage.\n"; }

}  // namespace

Command& Command::Arg(const std::string& name, std::string* value, const std::string& help) {
  last_ = app_->add_option(name, *value, help)->required()->type_name("");
  return *this;
}

Command& Command::Option(const std::string& flag, const std::string& value_name,
                         const std::string& help, Setter set) {
  last_ = app_->add_option_function<std::string>(
                  flag,
                  [set = std::move(set)](const std::string& text) {
                    Status s = set(text);
                    if (!s.ok()) throw CLI::ValidationError(s.message());
                  },
                  help)
              ->type_name(value_name);
  return *this;
}

Command& Command::Option(const std::string& flag, std::string* value,
                         const std::string& value_name, const std::string& help) {
  return Option(flag, value_name, help, [value](const std::string& v) {
    *value = v;
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::optional<std::string>* value,
                         const std::string& value_name, const std::string& help) {
  return Option(flag, value_name, help, [value](const std::string& v) {
    *value = v;
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::int64_t* value,
                         const std::string& value_name, const std::string& help, std::int64_t min,
                         std::int64_t max) {
  return Option(flag, value_name, help, [=](const std::string& v) -> Status {
    GP_ASSIGN_OR_RETURN(*value, ParseInt(v, min, max, flag));
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::optional<std::int64_t>* value,
                         const std::string& value_name, const std::string& help, std::int64_t min,
                         std::int64_t max) {
  return Option(flag, value_name, help, [=](const std::string& v) -> Status {
    GP_ASSIGN_OR_RETURN(*value, ParseInt(v, min, max, flag));
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::optional<double>* value,
                         const std::string& value_name, const std::string& help, double min,
                         double max) {
  return Option(flag, value_name, help, [=](const std::string& v) -> Status {
    GP_ASSIGN_OR_RETURN(*value, ParseDouble(v, min, max, flag));
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::vector<std::string>* value,
                         const std::string& value_name, const std::string& help) {
  return Option(flag, value_name, help, [value](const std::string& v) {
    *value = ParseList(v);
    return OkStatus();
  });
}

Command& Command::Option(const std::string& flag, std::optional<std::vector<std::string>>* value,
                         const std::string& value_name, const std::string& help) {
  return Option(flag, value_name, help, [value](const std::string& v) {
    *value = ParseList(v);
    return OkStatus();
  });
}

Command& Command::RepeatedOption(const std::string& flag, std::vector<std::string>* values,
                                 const std::string& value_name, const std::string& help) {
  last_ = app_->add_option(flag, *values, help)->type_name(value_name)->allow_extra_args(false);
  return *this;
}

Command& Command::Flag(const std::string& flag, bool* value, const std::string& help) {
  last_ = app_->add_flag(flag, *value, help);
  return *this;
}

Command& Command::Required() {
  if (last_) last_->required();
  return *this;
}

Command& Command::Run(Handler handler) {
  handler_ = std::move(handler);
  return *this;
}

Command& Command::WritesConfig() {
  writes_config_ = true;
  return *this;
}

Command& Group::AddCommand(const std::string& verb, const std::string& summary) {
  CLI::App* app = app_->add_subcommand(verb, summary);
  app->fallthrough();
  app->group("Commands");
  app->footer(kCommandFooter);
  return commands_->emplace_back(Command(app, path_ + " " + verb));
}

CommandLine::CommandLine()
    : root_(std::make_unique<CLI::App>("govpoolctl: command-line client of the govpool controller",
                                       "govpoolctl")) {
  CLI::App& app = *root_;
  app.set_help_all_flag("--help-all", "print the help of every command");
  app.require_subcommand(0, 1);
  app.fallthrough();
  app.footer(kTopFooter);
  app.formatter(Formatter("GROUP COMMAND"));
  auto text = [&app](const char* flag, const char* value_name, const char* help,
                     std::optional<std::string>* target) {
    app.add_option_function<std::string>(
           flag, [target](const std::string& v) { *target = v; }, help)
        ->type_name(value_name);
  };
  text("--url", "URL", "controller URL (env GOVPOOL_URL; default https://127.0.0.1:8080)",
       &globals_.url);
  text("--token", "TOKEN", "bearer token (env GOVPOOL_TOKEN)", &globals_.token);
  text("--token-file", "FILE", "read the bearer token from FILE (env GOVPOOL_TOKEN_FILE)",
       &globals_.token_file);
  text("--config", "FILE", "config file (default ~/.config/govpool/config)", &globals_.config);
  text("--ca-file", "FILE",
       "HTTPS: verify the controller against this CA (its <state-dir>/tls/ca.crt; env GOVPOOL_CA_FILE)",
       &globals_.ca_file);
  app.add_flag("--insecure", globals_.insecure,
               "HTTPS WITHOUT verifying the controller's certificate: anyone on the way can read "
               "and change what is sent, your token included (says so on every run)");
  app.add_flag("--json", globals_.json, "print the answer as JSON instead of a table");
  app.add_flag("--wide", globals_.wide, "tables: also show the ids of related objects");
}

CommandLine::~CommandLine() = default;

Group& CommandLine::AddGroup(const std::string& name, const std::string& summary) {
  CLI::App* app = root_->add_subcommand(name, summary);
  app->require_subcommand(0, 1);
  app->fallthrough();
  app->footer("Run 'govpoolctl " + name + " COMMAND --help' for a command's options.");
  app->group("Groups");                    // the title it is listed under
  app->formatter(Formatter("COMMAND"));     // its commands inherit it
  return groups_.emplace_back(Group(app, "govpoolctl " + name, &commands_));
}

Command& CommandLine::AddCommand(const std::string& verb, const std::string& summary) {
  CLI::App* app = root_->add_subcommand(verb, summary);
  app->fallthrough();
  app->group("Commands");
  app->footer(kCommandFooter);
  app->formatter(Formatter("COMMAND"));
  return commands_.emplace_back(Command(app, "govpoolctl " + verb));
}

ParsedLine CommandLine::Parse(const std::vector<std::string>& args) {
  ParsedLine line;
  if (args.empty()) {
    line.error = UsageError("no command given");
    line.text = root_->help();
    return line;
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
  CLI::App* group = nullptr;
  CLI::App* leaf = nullptr;
  auto words = [&] {  // "vm create"
    std::string w = group ? group->get_name() : std::string();
    if (leaf) w += " " + leaf->get_name();
    return w;
  };
  auto path = [&] { return group ? "govpoolctl " + words() : std::string("govpoolctl"); };
  try {
    root_->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    line.action = ParsedLine::Action::kHelp;
    line.text = root_->help();
    return line;
  } catch (const CLI::CallForAllHelp&) {
    line.action = ParsedLine::Action::kHelp;
    line.text = root_->help("", CLI::AppFormatMode::All);
    return line;
  } catch (const CLI::ExtrasError& e) {
    group = Chosen(root_.get());
    leaf = group ? Chosen(group) : nullptr;
    std::vector<std::string> extra = root_->remaining(true);
    const std::string first = extra.empty() ? std::string() : extra.front();
    const bool group_is_command = std::any_of(commands_.begin(), commands_.end(),
                                              [&](const Command& c) { return c.app_ == group; });
    if (!leaf && !group_is_command && !first.empty() && first[0] != '-') {
      line.error = UsageError("unknown command '" +
                              (group ? group->get_name() + " " : std::string()) + first + "'");
    } else if (!first.empty() && first[0] == '-') {
      line.error = UsageError("unknown option '" + first + "'" +
                              (leaf ? " for '" + words() + "'" : std::string()));
    } else if (!first.empty()) {
      line.error = UsageError("unexpected argument '" + first + "'");
    } else {
      line.error = UsageError(e.what());
    }
    line.text = Hint(path());
    return line;
  } catch (const CLI::ArgumentMismatch& e) {
    group = Chosen(root_.get());
    leaf = group ? Chosen(group) : nullptr;
    // CLI11 says "--pool: 1 required POOL missing".
    const std::string what = e.what();
    const size_t colon = what.find(':');
    line.error = UsageError(colon != std::string::npos && what.find(" missing") != std::string::npos
                                ? what.substr(0, colon) + " needs a value"
                                : what);
    line.text = Hint(path());
    return line;
  } catch (const CLI::ParseError& e) {
    group = Chosen(root_.get());
    leaf = group ? Chosen(group) : nullptr;
    line.error = UsageError(e.what());
    line.text = Hint(path());
    return line;
  }
  group = Chosen(root_.get());
  leaf = group ? Chosen(group) : nullptr;
  if (!group) {
    line.error = UsageError("no command given");
    line.text = root_->help();
    return line;
  }
  for (const Command& c : commands_) {  // a command without a group ("login")
    if (c.app_ == group) {
      line.action = ParsedLine::Action::kRun;
      line.command = &c;
      return line;
    }
  }
  if (!leaf) {
    line.error = UsageError("'" + group->get_name() + "' needs a command");
    line.text = Hint(path());
    return line;
  }
  for (const Command& c : commands_) {
    if (c.app_ == leaf) {
      line.action = ParsedLine::Action::kRun;
      line.command = &c;
      return line;
    }
  }
  line.error = Internal("no handler for '" + path() + "'");
  return line;
}

std::string CommandLine::Help(const std::string& path) const {
  CLI::App* app = root_.get();
  std::string prev;
  for (const std::string& word : SplitString(path, ' ')) {
    if (word.empty()) continue;
    prev += (prev.empty() ? "" : " ") + app->get_name();
    app = app->get_subcommand(word);
  }
  return app->help(prev);
}

std::vector<std::string> CommandLine::CommandPaths() const {
  std::vector<std::string> paths;
  for (const Command& c : commands_) paths.push_back(c.path().substr(std::string("govpoolctl ").size()));
  return paths;
}

}  // namespace govpool::cli
