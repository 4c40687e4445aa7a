// govpoolctl's entry point: parses the command line (cli/command_line.h), resolves the
// connection settings (flag > environment > config file > default, cli/config.h), opens the
// typed API client and runs one command, printing tables or --json. Returns the exit code
// (cli/errors.h). Not thread-safe (reads the environment, writes the given streams).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "api/client/http_client.h"
#include "common/result.h"

namespace govpool::cli {

// What RunCli takes from the process; each member left empty means the real thing.
struct Environment {
  std::function<std::optional<std::string>(const char*)> getenv;
  // Opens the HTTP client for the resolved settings (tests pass a fake server).
  std::function<Result<std::unique_ptr<api::HttpClient>>(const api::ClientOptions&)> connect;
  // Waits between retries and polls.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Whether `err` is a terminal (progress lines redrawn in place); empty: isatty(stderr).
  std::function<bool()> err_is_terminal;
  // The steady clock (progress rates, `image wait --timeout`).
  std::function<std::chrono::steady_clock::time_point()> now;
  // Questions to a person (login's password); empty: the terminal (cli/prompt.h).
  std::function<Result<std::string>(const std::string& prompt, bool secret)> ask;
  // The wall clock in ms since the epoch (token expiries).
  std::function<std::int64_t()> now_ms;
};

// Runs govpoolctl with `args` (argv without argv[0]); results go to `out`, errors to `err`.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env = {});

}  // namespace govpool::cli
