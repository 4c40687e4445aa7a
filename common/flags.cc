#include "common/flags.h"

#include <charconv>

namespace govpool {

void FlagSet::String(std::string name, std::string* out) {
  flags_.push_back({std::move(name), out, nullptr, 0, 0});
}

void FlagSet::Int(std::string name, int* out, int min, int max) {
  flags_.push_back({std::move(name), nullptr, out, min, max});
}

Status FlagSet::Parse(int argc, char** argv, bool* help) {
  *help = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return OkStatus();
    }
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags_) {
      if (f.name == arg) flag = &f;
    }
    if (!flag) return InvalidArgument("unknown flag " + arg + " (see --help)");
    if (!has_value) {
      if (i + 1 >= argc) return InvalidArgument("flag " + arg + " needs a value");
      value = argv[++i];
    }
    if (flag->str) {
      *flag->str = value;
      continue;
    }
    int v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
        v < flag->min || v > flag->max) {
      return InvalidArgument(arg + " must be an integer in " + std::to_string(flag->min) + ".." +
                             std::to_string(flag->max) + ", not '" + value + "'");
    }
    *flag->integer = v;
  }
  return OkStatus();
}

}  // namespace govpool
