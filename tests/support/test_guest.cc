#include "tests/support/test_guest.h"

#include <cstdlib>

namespace govpool::testing {

std::string TestStateDir() {
  const char* env = std::getenv("GOVPOOL_STATE_DIR");
  return env != nullptr && *env != '\0' ? env : "/var/tmp/govpool";
}

std::string TestGuestDir() { return TestStateDir() + "/test-guest"; }

int RunProjectScript(const std::string& command_line) {
  const std::string cmd = std::string(GOVPOOL_SOURCE_DIR) + "/scripts/" + command_line;
  return std::system(cmd.c_str());
}

}  // namespace govpool::testing
