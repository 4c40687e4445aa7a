// govpoolctl: the command-line client of the govpool controller. See docs/cli.md.
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) { return govpool::cli::RunCli(argc, argv, std::cout, std::cerr); }
