// CLI11's parse errors in the words of the rest of govpool, for the daemons' flag parsers
// (agent/options.cc, controller/options.cc). Header-only; include it only from a file that
// already compiles CLI11 (its targets link CLI11::CLI11 privately), so CLI11 stays out of the rest.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/status.h"

namespace govpool {

inline Status Cli11UsageError(const CLI::App& app, const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    const std::vector<std::string> extra = app.remaining();
    if (!extra.empty() && extra.front().rfind('-', 0) == 0) {
      return InvalidArgument("unknown flag " + extra.front() + " (see --help)");
    }
    if (!extra.empty()) return InvalidArgument("unexpected argument '" + extra.front() + "' (see --help)");
  }
  const std::string what = e.what();
  // CLI11 says "--threads: 1 required N missing".
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && what.find(" missing") != std::string::npos) {
    return InvalidArgument(what.substr(0, what.find(':')) + " needs a value");
  }
  return InvalidArgument(what);
}

}  // namespace govpool
