// FlagSet: the daemons' command-line parser. Flags are "--name value" or "--name=value";
// string flags and bounded integer flags write straight into the caller's config struct.
// Unknown flags, missing values and out-of-range integers are InvalidArgument with a message
// a person can act on. Not thread-safe; use from main.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace govpool {

class FlagSet {
 public:
  // `out` must outlive Parse().
  void String(std::string name, std::string* out);
  void Int(std::string name, int* out, int min, int max);

  // Parses argv[1..]. Sets *help (and stops) on --help or -h.
  Status Parse(int argc, char** argv, bool* help);

 private:
  struct Flag {
    std::string name;
    std::string* str = nullptr;
    int* integer = nullptr;
    int min = 0;
    int max = 0;
  };
  std::vector<Flag> flags_;
};

}  // namespace govpool
