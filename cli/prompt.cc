#include "cli/prompt.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/errors.h"

namespace govpool::cli {

namespace {

// Echo off on the terminal at `fd` for this object's life.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace

Result<std::string> AskTerminal(const std::string& prompt, bool secret) {
  std::cerr << prompt << std::flush;
  std::string line;
  bool got = false;
  if (secret && ::isatty(STDIN_FILENO) == 1) {
    EchoOff quiet(STDIN_FILENO);
    got = static_cast<bool>(std::getline(std::cin, line));
  } else {
    got = static_cast<bool>(std::getline(std::cin, line));
  }
  // A terminal echoed the Enter (ECHONL when secret); from a pipe the prompt's line is ended
  // here, so that what follows on stderr starts a line of its own.
  if (::isatty(STDIN_FILENO) != 1) std::cerr << "\n";
  if (!got) return UsageError("no answer to '" + prompt + "' (end of input)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace govpool::cli
