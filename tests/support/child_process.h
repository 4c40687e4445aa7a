// Test support shared by integration, end-to-end tests and benchmarks that run govpool's real
// binaries: a child process that never outlives the test, waiting for a daemon's port file,
// temporary directories and small file helpers. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace govpool::testing {

// The whole content of `path`, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// A child running argv[0] (a path) with `argv`, its stdout and stderr written to `log_path`
// (appended, or truncated first). It gets SIGKILL when the test process dies
// (PR_SET_PDEATHSIG), and on destruction.
class ChildProcess {
 public:
  // nullptr when fork fails.
  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const std::string& log_path, bool append = false);
  ~ChildProcess() { Kill(9); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // Reaps the child if it has exited (non-blocking); true when it is gone.
  bool Exited();
  // Sends `sig` and waits for the child to exit. No-op when not running.
  void Kill(int sig);
  // SIGTERM, then SIGKILL if it has not exited after `grace`.
  void Stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// Waits until `port_file` holds a whole line (the daemon writes "<port>\n" once it serves) and
// returns the port; -1 when the child exits first or `timeout` passes.
int WaitForPortFile(const std::string& port_file, ChildProcess& child, std::chrono::seconds timeout);

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "govpool-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace govpool::testing
