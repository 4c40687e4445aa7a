// govpoolctl's entry point: parses the command line, resolves settings (flags, environment,
// config file), runs one command against the controller's REST API and prints tables (or the
// server's JSON with --json). The only govpoolctl file that uses Boost.JSON is commands.cc.
// Not thread-safe (reads the environment, writes the given streams).
#pragma once

#include <ostream>

namespace govpool::cli {

// Runs govpoolctl; returns the process exit code: 0 ok, 1 API error, 2 usage error,
// 3 server unreachable (see cli/args.h). Writes results to `out`, errors to `err`.
int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace govpool::cli
