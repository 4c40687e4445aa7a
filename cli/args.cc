#include "cli/args.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "api/types.h"
#include "common/strings.h"

namespace govpool::cli {
namespace {

constexpr std::string_view kUsageReason = "USAGE";
constexpr std::string_view kApiReason = "API_ERROR";

struct GlobalSpec {
  const char* name;
  const char* value_name;
  const char* help;
};

constexpr GlobalSpec kGlobalOptions[] = {
    {"url", "URL", "controller URL (env GOVPOOL_URL; default http://127.0.0.1:8080)"},
    {"token", "TOKEN", "bearer token (env GOVPOOL_TOKEN)"},
    {"token-file", "FILE", "read the bearer token from FILE (env GOVPOOL_TOKEN_FILE)"},
    {"config", "FILE", "config file (default ~/.config/govpool/config)"},
    {"ca-file", "FILE", "HTTPS: trust this CA bundle"},
    {"json", "", "print the server's JSON instead of tables"},
    {"help", "", "show help"},
};

const GlobalSpec* FindGlobal(std::string_view name) {
  for (const GlobalSpec& g : kGlobalOptions) {
    if (name == g.name) return &g;
  }
  return nullptr;
}

struct GroupInfo {
  const char* name;
  const char* summary;
};

constexpr GroupInfo kGroups[] = {
    {"department", "departments (tenants) with quotas, and their usage"},
    {"flavor", "VM sizes"},
    {"host", "compute hosts"},
    {"vm", "virtual machines"},
    {"user", "users and roles"},
    {"token", "bearer tokens"},
};

bool IsGroup(std::string_view name) {
  return std::any_of(std::begin(kGroups), std::end(kGroups),
                     [&](const GroupInfo& g) { return name == g.name; });
}

std::vector<CommandSpec> BuildCommands() {
  const OptionSpec quota{"quota", "R=N,...",
                         "quota limits, e.g. instances=10,vcpus=20 (-1 or 'unlimited': no limit); "
                         "resources: instances vcpus memory_mib volumes volume_gib snapshots "
                         "networks"};
  const OptionSpec if_match{"if-match", "REVISION", "only if the object is still at REVISION"};
  return {
      {"department", "create", "NAME", 1, 1, "create a department (admin)",
       {{"description", "TEXT", "free text"}, quota}},
      {"department", "list", "", 0, 0, "list the departments you can see", {}},
      {"department", "show", "ID|NAME", 1, 1, "show a department", {}},
      {"department", "update", "ID|NAME", 1, 1, "rename a department or change its quota (admin)",
       {{"name", "NAME", "new name"}, {"description", "TEXT", "new description"}, quota, if_match}},
      {"department", "delete", "ID|NAME", 1, 1, "delete an empty department (admin)", {if_match}},
      {"department", "usage", "ID|NAME", 1, 1, "used and limit for each quota resource", {}},
      {"flavor", "create", "NAME", 1, 1, "create a flavor (admin)",
       {{"vcpus", "N", "virtual CPUs (required)"},
        {"memory-mib", "N", "memory in MiB (required)"},
        {"disk-gib", "N", "root disk in GiB (required)"},
        {"description", "TEXT", "free text"}}},
      {"flavor", "list", "", 0, 0, "list flavors", {}},
      {"flavor", "show", "ID|NAME", 1, 1, "show a flavor", {}},
      {"flavor", "delete", "ID|NAME", 1, 1, "delete a flavor (admin)", {}},
      {"host", "register", "NAME", 1, 1, "register (or re-register) a host by name",
       {{"cpus", "N", "physical CPUs (required)"},
        {"memory-mib", "N", "memory in MiB (required)"},
        {"disk-gib", "N", "disk in GiB (required)"},
        {"pool", "POOL", "pool (availability zone)"},
        {"traits", "T,...", "host traits"}}},
      {"host", "list", "", 0, 0, "list hosts (admin)",
       {{"pool", "POOL", "only hosts in POOL"}, {"status", "up|down", "only hosts with this status"}}},
      {"host", "show", "ID|NAME", 1, 1, "show a host with capacity, allocation and free", {}},
      {"host", "update", "ID|NAME", 1, 1, "change a host (admin)",
       {{"enable", "", "accept new VMs"},
        {"disable", "", "accept no new VMs"},
        {"maintenance", "on|off", "maintenance mode"},
        {"pool", "POOL", "move to pool"},
        {"cpu-ratio", "X", "CPU allocation ratio (0.1-64)"},
        {"memory-ratio", "X", "memory allocation ratio (0.1-64)"},
        {"disk-ratio", "X", "disk allocation ratio (0.1-64)"},
        {"traits", "T,...", "replace the traits"},
        {"aggregates", "A,...", "replace the aggregates"},
        if_match}},
      {"vm", "create", "NAME", 1, 1, "create and place a VM",
       {{"department", "ID|NAME", "owning department (required)"},
        {"flavor", "ID|NAME", "flavor (required)"},
        {"pool", "POOL", "place in this pool"},
        {"stopped", "", "create it stopped"}}},
      {"vm", "list", "", 0, 0, "list VMs (all pages)",
       {{"department", "ID|NAME", "only this department's VMs"},
        {"host", "ID|NAME", "only VMs on this host"},
        {"state", "STATE", "only VMs in this state"},
        {"page-size", "N", "VMs per request (1-1000, default 500); all pages are listed"}}},
      {"vm", "show", "ID|NAME", 1, 1, "show a VM", {}},
      {"vm", "delete", "ID|NAME", 1, 1, "delete a VM",
       {{"force", "", "admin: drop the record at once"}, if_match}},
      {"vm", "start", "ID|NAME", 1, 1, "ask for the VM to run", {}},
      {"vm", "stop", "ID|NAME", 1, 1, "ask for the VM to stop", {}},
      {"vm", "reboot", "ID|NAME", 1, 1, "ask for a reboot", {}},
      {"user", "create", "NAME", 1, 1, "create a user (admin)",
       {{"role", "ROLE", "admin, dept-admin, dept-member or agent (required)"},
        {"department", "ID|NAME", "department of a dept-admin or dept-member"}}},
      {"user", "list", "", 0, 0, "list users (admin)", {}},
      {"user", "show", "ID|NAME", 1, 1, "show a user (admin)", {}},
      {"token", "create", "USER_ID|USER_NAME", 1, 1,
       "issue a bearer token for a user (admin); the secret is printed once",
       {{"name", "NAME", "a label for the token"}}},
  };
}

Result<std::string> TakeValue(const std::vector<std::string>& argv, size_t& i,
                              const std::optional<std::string>& inline_value,
                              std::string_view name) {
  if (inline_value) return *inline_value;
  if (i + 1 >= argv.size()) return UsageError("--" + std::string(name) + " needs a value");
  return argv[++i];
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

Status UsageError(std::string message) {
  return InvalidArgument(std::move(message)).WithReason(std::string(kUsageReason));
}

Status ApiError(std::string text) {
  return Internal(std::move(text)).WithReason(std::string(kApiReason));
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (status.reason() == kUsageReason) return kExitUsage;
  if (status.reason() == kApiReason) return kExitApiError;
  if (status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kDeadlineExceeded) {
    return kExitUnreachable;
  }
  return kExitApiError;
}

std::string ErrorText(const Status& status) {
  if (status.reason() == kUsageReason || status.reason() == kApiReason) return status.message();
  return std::string(status.reason()) + ": " + status.message();
}

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = BuildCommands();
  return commands;
}

const CommandSpec* FindCommand(std::string_view group, std::string_view verb) {
  for (const CommandSpec& c : Commands()) {
    if (c.group == group && c.verb == verb) return &c;
  }
  return nullptr;
}

Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv) {
  Invocation inv;
  std::vector<std::string> words;  // group, verb, positionals in order
  bool options_done = false;
  std::optional<Status> deferred;  // reported unless help was asked for
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-' || arg == "-") {
      words.push_back(arg);
      if (words.size() == 1 && !IsGroup(words[0])) {
        return UsageError("unknown command '" + words[0] + "'");
      }
      if (words.size() == 2) {
        inv.group = words[0];
        inv.command = FindCommand(words[0], words[1]);
        if (!inv.command) {
          return UsageError("unknown command '" + words[0] + " " + words[1] + "'");
        }
      }
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h") {
      inv.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return UsageError("unknown option '" + arg + "'");
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (const GlobalSpec* g = FindGlobal(name)) {
      if (*g->value_name == '\0') {
        if (inline_value) return UsageError("--" + name + " takes no value");
        if (name == "json") inv.global.json = true;
        if (name == "help") inv.help = true;
        continue;
      }
      GP_ASSIGN_OR_RETURN(std::string value, TakeValue(argv, i, inline_value, name));
      if (name == "url") inv.global.url = value;
      else if (name == "token") inv.global.token = value;
      else if (name == "token-file") inv.global.token_file = value;
      else if (name == "config") inv.global.config = value;
      else if (name == "ca-file") inv.global.ca_file = value;
      continue;
    }
    const OptionSpec* spec = nullptr;
    if (inv.command) {
      for (const OptionSpec& o : inv.command->options) {
        if (o.name == name) spec = &o;
      }
    }
    if (!spec) {
      if (!deferred) {
        std::string where = inv.command ? " for '" + inv.command->group + " " +
                                              inv.command->verb + "'"
                                        : "";
        deferred = UsageError("unknown option '--" + name + "'" + where);
      }
      continue;
    }
    if (spec->value_name.empty()) {
      if (inline_value) return UsageError("--" + name + " takes no value");
      inv.options[name] = "true";
      continue;
    }
    GP_ASSIGN_OR_RETURN(std::string value, TakeValue(argv, i, inline_value, name));
    inv.options[name] = value;
  }
  if (!words.empty()) inv.group = words[0];
  if (words.size() > 2) inv.args.assign(words.begin() + 2, words.end());
  if (inv.help) return inv;
  if (deferred) return *deferred;
  if (inv.group.empty()) {
    inv.help = true;  // bare "govpoolctl": show help (the caller decides the exit code)
    return inv;
  }
  if (!inv.command) return UsageError("'" + inv.group + "' needs a command");
  const int n = static_cast<int>(inv.args.size());
  if (n < inv.command->min_args) {
    return UsageError("missing " + inv.command->args + " for '" + inv.group + " " +
                      inv.command->verb + "'");
  }
  if (n > inv.command->max_args) {
    return UsageError("unexpected argument '" + inv.args[inv.command->max_args] + "'");
  }
  return inv;
}

std::string TopHelp() {
  std::ostringstream out;
  out << "govpoolctl: command-line client of the govpool controller\n\n"
      << "Usage: govpoolctl [global options] GROUP COMMAND [arguments] [options]\n\nGroups:\n";
  for (const GroupInfo& g : kGroups) out << "  " << Pad(g.name, 12) << g.summary << "\n";
  out << "\nGlobal options:\n";
  for (const GlobalSpec& g : kGlobalOptions) {
    std::string flag = std::string("--") + g.name;
    if (*g.value_name) flag += std::string(" ") + g.value_name;
    out << "  " << Pad(flag, 20) << g.help << "\n";
  }
  out << "\nSettings precedence: flag > environment > config file > default.\n"
      << "Config file lines: url = ..., token = ..., token_file = ..., ca_file = ...\n"
      << "Exit codes: 0 ok, 1 the server refused (error: CODE: message), 2 usage error,\n"
      << "3 server unreachable.\n"
      << "Run 'govpoolctl GROUP --help' for a group's commands.\n";
  return out.str();
}

std::string GroupHelp(std::string_view group) {
  std::ostringstream out;
  out << "Usage: govpoolctl " << group << " COMMAND [arguments] [options]\n\nCommands:\n";
  for (const CommandSpec& c : Commands()) {
    if (c.group != group) continue;
    out << "  " << Pad(c.verb + (c.args.empty() ? "" : " " + c.args), 28) << c.summary << "\n";
  }
  out << "\nRun 'govpoolctl " << group << " COMMAND --help' for a command's options.\n";
  return out.str();
}

std::string CommandHelp(const CommandSpec& c) {
  std::ostringstream out;
  out << "Usage: govpoolctl " << c.group << " " << c.verb;
  if (!c.args.empty()) out << " " << c.args;
  if (!c.options.empty()) out << " [options]";
  out << "\n\n" << c.summary << "\n";
  if (!c.options.empty()) {
    out << "\nOptions:\n";
    for (const OptionSpec& o : c.options) {
      std::string flag = "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
      out << "  " << Pad(flag, 24) << o.help << "\n";
    }
  }
  out << "\nGlobal options (--url, --token, --json, ...): see 'govpoolctl --help'.\n";
  return out.str();
}

std::string CommandPath(const Invocation& inv) {
  std::string path = "govpoolctl";
  if (!inv.group.empty()) path += " " + inv.group;
  if (inv.command) path += " " + inv.command->verb;
  return path;
}

Result<std::int64_t> ParseInt(std::string_view text, std::int64_t min, std::int64_t max,
                              std::string_view what) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return UsageError(std::string(what) + " must be an integer, got '" + std::string(text) + "'");
  }
  if (v < min || v > max) {
    return UsageError(std::string(what) + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got " + std::to_string(v));
  }
  return v;
}

Result<double> ParseDouble(std::string_view text, double min, double max, std::string_view what) {
  std::string s(text);
  char* end = nullptr;
  double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return UsageError(std::string(what) + " must be a number, got '" + s + "'");
  }
  if (v < min || v > max) {
    std::ostringstream msg;
    msg << what << " must be between " << min << " and " << max << ", got " << s;
    return UsageError(msg.str());
  }
  return v;
}

Result<bool> ParseOnOff(std::string_view text, std::string_view what) {
  if (text == "on" || text == "true" || text == "yes") return true;
  if (text == "off" || text == "false" || text == "no") return false;
  return UsageError(std::string(what) + " must be on or off, got '" + std::string(text) + "'");
}

Result<std::vector<std::pair<std::string, std::int64_t>>> ParseQuota(std::string_view text) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  if (text.empty()) return UsageError("--quota needs RESOURCE=N pairs, e.g. instances=10");
  for (const std::string& item : SplitString(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--quota: expected RESOURCE=N, got '" + item + "'");
    }
    std::string resource = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    const bool known = std::any_of(std::begin(api::kQuotaResources), std::end(api::kQuotaResources),
                                   [&](const char* r) { return resource == r; });
    if (!known) {
      std::string names;
      for (const char* r : api::kQuotaResources) names += std::string(names.empty() ? "" : ", ") + r;
      return UsageError("--quota: unknown resource '" + resource + "' (known: " + names + ")");
    }
    if (std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == resource; })) {
      return UsageError("--quota: '" + resource + "' given twice");
    }
    std::int64_t limit = -1;
    if (value != "unlimited") {
      GP_ASSIGN_OR_RETURN(limit, ParseInt(value, -1, 1'000'000'000, "--quota " + resource));
    }
    out.emplace_back(resource, limit);
  }
  return out;
}

std::vector<std::string> ParseList(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (std::string& s : SplitString(text, ',')) {
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace govpool::cli
