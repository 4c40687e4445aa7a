// govpoolctl: the command-line client of the govpool controller. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli/run.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  return govpool::cli::RunCli(args, std::cout, std::cerr);
}
