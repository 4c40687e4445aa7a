// govpool-controller's command line: names, defaults, both spellings, the environment, help,
// and a message naming the flag for every kind of mistake.
#include "controller/options.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace govpool::controller {
namespace {

// argv for ParseControllerFlags; argv[0] is the program.
struct Args {
  explicit Args(std::vector<std::string> a) : storage(std::move(a)) {
    storage.insert(storage.begin(), "govpool-controller");
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  int argc() { return static_cast<int>(storage.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

Result<ControllerOptions> Parse(std::vector<std::string> args) {
  Args a(std::move(args));
  return ParseControllerFlags(a.argc(), a.argv());
}

// The message of a refused command line ("" when it was accepted).
std::string Error(std::vector<std::string> args) {
  auto r = Parse(std::move(args));
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

class ControllerOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("GOVPOOL_LISTEN");
    ::unsetenv("GOVPOOL_STATE_DIR");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(ControllerOptionsTest, Defaults) {
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->help);
  EXPECT_EQ(o->listen, "127.0.0.1:8080");
  EXPECT_EQ(o->address, "127.0.0.1");
  EXPECT_EQ(o->port, 8080);
  EXPECT_EQ(o->state_dir, "govpool-state");
  EXPECT_EQ(o->threads, 4);
  EXPECT_EQ(o->heartbeat_timeout_s, 30);
  EXPECT_EQ(o->credential_rate_limit, 100);
  EXPECT_EQ(o->handler_timeout_s, 60);
  EXPECT_EQ(o->tls_cert, "");
  EXPECT_EQ(o->tls_key, "");
  EXPECT_EQ(o->port_file, "");
  EXPECT_EQ(o->log_level, log::Level::kInfo);
  const scheduler::Config defaults;
  EXPECT_EQ(o->scheduler_config.score_weights, defaults.score_weights);
  EXPECT_EQ(o->scheduler_config.filters, defaults.filters);
  EXPECT_EQ(o->scheduler_config.max_candidates, defaults.max_candidates);
}

TEST_F(ControllerOptionsTest, EveryFlagInBothSpellings) {
  auto o = Parse({"--listen", "0.0.0.0:0", "--state-dir=/srv/gp", "--threads", "8",
                  "--heartbeat-timeout-seconds=5", "--tls-cert", "c.pem", "--tls-key=k.pem",
                  "--port-file", "p", "--log-level=warn", "--scheduler-scores",
                  "binpack=1,balanced=0.5", "--scheduler-filters=status,capacity",
                  "--scheduler-max-candidates", "0", "--credential-rate-limit=0", "--handler-timeout-seconds", "0"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->credential_rate_limit, 0);
  EXPECT_EQ(o->handler_timeout_s, 0);
  EXPECT_EQ(o->address, "0.0.0.0");
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->state_dir, "/srv/gp");
  EXPECT_EQ(o->threads, 8);
  EXPECT_EQ(o->heartbeat_timeout_s, 5);
  EXPECT_EQ(o->tls_cert, "c.pem");
  EXPECT_EQ(o->tls_key, "k.pem");
  EXPECT_EQ(o->port_file, "p");
  EXPECT_EQ(o->log_level, log::Level::kWarn);
  EXPECT_EQ(o->scheduler_config.score_weights, (std::map<std::string, double>{{"binpack", 1.0}, {"balanced", 0.5}}));
  EXPECT_EQ(o->scheduler_config.filters, (std::vector<std::string>{"status", "capacity"}));
  EXPECT_EQ(o->scheduler_config.max_candidates, 0);
}

TEST_F(ControllerOptionsTest, ListenIsHostAndPort) {
  auto o = Parse({"--listen", "[::1]:9090"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->address, "[::1]");
  EXPECT_EQ(o->port, 9090);
  for (const char* bad : {"localhost", "host:", "host:x", "host:65536", "host:-1"}) {
    EXPECT_EQ(Error({"--listen", bad}), "--listen must be HOST:PORT, not '" + std::string(bad) + "'");
  }
}

TEST_F(ControllerOptionsTest, TheEnvironmentSetsDefaultsAndFlagsWin) {
  ::setenv("GOVPOOL_LISTEN", "127.0.0.1:7000", 1);
  ::setenv("GOVPOOL_STATE_DIR", "/env/state", 1);
  auto o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->state_dir, "/env/state");
  o = Parse({"--listen", "127.0.0.1:7001", "--state-dir", "flag"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->port, 7001);
  EXPECT_EQ(o->state_dir, "flag");
}

TEST_F(ControllerOptionsTest, AFlagGivenTwiceTakesTheLast) {
  auto o = Parse({"--threads", "2", "--threads=3"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->threads, 3);
}

TEST_F(ControllerOptionsTest, MistakesNameTheFlag) {
  EXPECT_EQ(Error({"--nope", "1"}), "unknown flag --nope (see --help)");
  EXPECT_EQ(Error({"--thread", "1"}), "unknown flag --thread (see --help)");  // no prefix matching
  EXPECT_EQ(Error({"stray"}), "unexpected argument 'stray' (see --help)");
  EXPECT_EQ(Error({"--threads"}), "--threads needs a value");
  EXPECT_EQ(Error({"--state-dir"}), "--state-dir needs a value");
  for (const char* bad : {"0", "257", "4x", "", "-1"}) {
    const std::string e = Error({"--threads", bad});
    EXPECT_EQ(e.rfind("--threads", 0), 0u) << bad << ": " << e;
    EXPECT_NE(e.find("1 to 256"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_EQ(Error({"--heartbeat-timeout-seconds", "0"}).rfind("--heartbeat-timeout-seconds", 0), 0u);
  EXPECT_EQ(Error({"--scheduler-max-candidates", "-1"}).rfind("--scheduler-max-candidates", 0), 0u);
  EXPECT_EQ(Error({"--credential-rate-limit", "-1"}).rfind("--credential-rate-limit", 0), 0u);
  EXPECT_EQ(Error({"--handler-timeout-seconds", "-1"}).rfind("--handler-timeout-seconds", 0), 0u);
  EXPECT_EQ(Error({"--tls-cert", "c.pem"}), "--tls-cert and --tls-key go together");
  EXPECT_EQ(Error({"--tls-key", "k.pem"}), "--tls-cert and --tls-key go together");
  EXPECT_EQ(Error({"--insecure-http", "--listen", "0.0.0.0:8080"}).rfind(
                "--insecure-http serves only on a loopback address (127.0.0.0/8, ::1, localhost), not '0.0.0.0'", 0),
            0u);
  EXPECT_EQ(Error({"--insecure-http", "--listen", "10.0.0.5:8080"}).rfind("--insecure-http serves only", 0), 0u);
  EXPECT_EQ(Error({"--insecure-http", "--listen", "127.0.0.1:8080"}), "");
  EXPECT_EQ(Error({"--insecure-http", "--listen", "[::1]:8080"}), "");
  EXPECT_EQ(Error({"--insecure-http", "--tls-cert", "c.pem", "--tls-key", "k.pem"}),
            "--insecure-http does not go with --tls-cert, --tls-key or --tls-name");
  EXPECT_EQ(Error({"--agent-cert-days", "0"}).rfind("--agent-cert-days", 0), 0u);
  EXPECT_EQ(Error({"--log-level", "loud"}).rfind("--log-level: log level must be debug, info, warn or error", 0), 0u);
  EXPECT_EQ(Error({"--scheduler-scores", "binpack=x"}), "--scheduler-scores takes name=weight,... not 'binpack=x'");
  EXPECT_NE(Error({"--scheduler-filters", "status,bogus"}).find("bogus"), std::string::npos);
  EXPECT_NE(Error({"--scheduler-scores", "bogus=1"}).find("bogus"), std::string::npos);
}

TEST_F(ControllerOptionsTest, HelpListsEveryFlag) {
  for (const char* flag : {"--help", "-h"}) {
    auto o = Parse({"--threads", "2", flag});
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    EXPECT_TRUE(o->help);
  }
  const std::string help = ControllerHelp();
  for (const char* text :
       {"--listen HOST:PORT", "GOVPOOL_LISTEN", "127.0.0.1:8080", "--state-dir DIR", "GOVPOOL_STATE_DIR",
        "govpool-state", "--threads N", "HTTP I/O threads", "--heartbeat-timeout-seconds N",
        "marked down", "--tls-cert FILE", "--tls-key FILE", "--port-file FILE",
        "--scheduler-scores LIST", "binpack=1", "--scheduler-filters LIST",
        "--scheduler-max-candidates N", "0: all", "--log-level LEVEL", "debug, info, warn or error",
        "--credential-rate-limit N", "0: no limit", "--handler-timeout-seconds N", "long-poll"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text << " not in:\n" << help;
  }
}

}  // namespace
}  // namespace govpool::controller
