// The hardening review's attacks as black-box requests against the real govpool-controller
// binary (docs/security.md, "Bounded everything"): thousands of idle sockets, a flood of
// made-up methods, thousands of watches, an agent token registering into a confined pool and
// forging events, a flood of logins, a flood with one token. Each gets
// the right answer, a normal request (another client's token) still gets through, and the
// controller's memory and thread count stay bounded: measured from /proc and printed.
#include <poll.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

namespace fs = std::filesystem;

// VmRSS (KiB) and Threads of a process, from /proc.
struct Footprint {
  std::int64_t rss_kib = 0;
  std::int64_t threads = 0;
};
Footprint FootprintOf(pid_t pid) {
  Footprint f;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") in >> f.rss_kib;
    if (key == "Threads:") in >> f.threads;
    in.ignore(1 << 20, '\n');
  }
  return f;
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

// One response read from `fd` (head and Content-Length body), or what arrived within
// `timeout_ms` ("" when nothing did).
std::string ReadSome(int fd, int timeout_ms) {
  std::string out;
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  while (::poll(&p, 1, timeout_ms) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    const std::size_t head_end = out.find("\r\n\r\n");
    const std::size_t length_at = out.find("Content-Length: ");
    if (head_end != std::string::npos && length_at != std::string::npos && length_at < head_end &&
        out.size() >= head_end + 4 + std::stoul(out.substr(length_at + 16))) {
      break;
    }
  }
  return out;
}

class HostileClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // This process opens thousands of sockets too.
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("govpool-hostile-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    controller_ = std::make_unique<ControllerProcess>(dir_.string());
    // Five requests per second per credential (bursts of 50), so that a flood is over quickly.
    ASSERT_EQ(controller_->Start({"--max-connections-per-address", "256", "--credential-rate-limit", "5"}), "");
    // The normal client has a token of its own: the attacks below use the bootstrap token.
    Api admin(controller_->base_url(), controller_->admin_token());
    Reply me = admin.Get("/v1/auth/session");
    ASSERT_EQ(me.status, 200) << me.Describe();
    const std::string expires = FormatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24));
    Reply token = admin.Post("/v1/users/" + std::string(me.json.at("user").at("id").as_string()) + "/tokens",
                             json::object{{"name", "normal-client"}, {"expires_at", expires}});
    ASSERT_EQ(token.status, 201) << token.Describe();
    normal_token_ = token.Str("token");
    baseline_ = FootprintOf(controller_->pid());
    std::cout << "controller at start: RSS " << baseline_.rss_kib / 1024 << " MiB, " << baseline_.threads
              << " threads\n";
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    controller_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // Prints and checks the controller's footprint after `attack`.
  void ExpectBounded(const std::string& attack, std::int64_t max_growth_mib) {
    const Footprint now = FootprintOf(controller_->pid());
    std::cout << "after " << attack << ": RSS " << now.rss_kib / 1024 << " MiB (+"
              << (now.rss_kib - baseline_.rss_kib) / 1024 << "), " << now.threads << " threads\n";
    EXPECT_LT(now.rss_kib - baseline_.rss_kib, max_growth_mib * 1024) << attack;
    EXPECT_LE(now.threads, baseline_.threads + 2) << attack << ": no thread per connection or request";
  }
  Reply Normal() { return Api(controller_->base_url(), normal_token_, 10'000).Get("/v1/departments"); }
  // Sends `send(i)` for i in [0, n): each answer is `expected` or 429 with Retry-After. Returns
  // how many were each.
  template <class Send>
  std::pair<int, int> Flood(int n, int expected, Send send) {
    int answered = 0, throttled = 0;
    for (int i = 0; i < n; ++i) {
      Reply r = send(i);
      if (r.status == 429) {
        ++throttled;
        EXPECT_NE(r.Header("Retry-After"), nullptr);
      } else {
        ++answered;
        EXPECT_EQ(r.status, expected) << r.Describe();
      }
    }
    return {answered, throttled};
  }

  fs::path dir_;
  std::unique_ptr<ControllerProcess> controller_;
  std::string normal_token_;
  Footprint baseline_;
  std::vector<int> fds_;
};

TEST_F(HostileClientsTest, TwoThousandIdleSocketsThenANormalRequest) {
  for (int i = 0; i < 2000; ++i) {
    const int fd = Connect(controller_->port());
    ASSERT_GE(fd, 0) << "socket " << i;
    fds_.push_back(fd);
  }
  Reply r = Normal();
  EXPECT_EQ(r.status, 200) << r.Describe();
  // The oldest idle sockets were closed to keep one address at its limit.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int closed = 0;
  for (int fd : fds_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char c;
      if (::recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
    }
  }
  std::cout << "idle sockets closed by the controller: " << closed << " of 2000\n";
  EXPECT_GE(closed, 2000 - 256);
  ExpectBounded("2,000 idle sockets", 64);
}

TEST_F(HostileClientsTest, MadeUpMethodsMintNoMetricSeries) {
  for (int i = 0; i < 300; ++i) {
    const std::string answer = RawExchange(controller_->port(), "M" + std::to_string(i) +
                                                                    " /v1/vms HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_NE(answer.find("HTTP/1.1 4"), std::string::npos) << answer.substr(0, 200);
  }
  Reply metrics = Normal();
  ASSERT_EQ(metrics.status, 200);
  Reply text = Api(controller_->base_url(), controller_->admin_token()).Get("/metrics");
  std::set<std::string> methods;
  for (std::size_t at = text.body.find("method=\""); at != std::string::npos; at = text.body.find("method=\"", at + 1)) {
    methods.insert(text.body.substr(at + 8, text.body.find('"', at + 8) - at - 8));
  }
  std::cout << "method label values after 300 made-up methods: " << methods.size() << "\n";
  EXPECT_LE(methods.size(), 8u);
  ExpectBounded("300 made-up methods", 32);
}

TEST_F(HostileClientsTest, ThreeThousandWatchesOfOneHost) {
  Api admin(controller_->base_url(), controller_->admin_token());
  Reply host = admin.Post("/v1/hosts/register", json::object{{"name", "watched"},
                                                              {"capacity", json::object{{"cpus", 4}, {"memory_mib", 4096}, {"disk_gib", 10}}}});
  ASSERT_EQ(host.status, 200) << host.Describe();
  const std::string revision = std::to_string(host.json.at("revision").as_int64());
  const std::string request = "GET /v1/hosts/" + host.Str("id") + "/vms?timeout_seconds=120&revision=" + revision +
                              " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + controller_->admin_token() + "\r\n\r\n";
  int held = 0, refused = 0, closed = 0;
  for (int i = 0; i < 3000; ++i) {
    const int fd = Connect(controller_->port());
    ASSERT_GE(fd, 0);
    fds_.push_back(fd);
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    const std::string answer = ReadSome(fd, held < 4 ? 300 : 2000);
    if (answer.empty()) {
      ++held;
    } else if (answer.rfind("HTTP/1.1 429", 0) == 0) {
      ++refused;
    } else {
      ++closed;
      ADD_FAILURE() << "watch " << i << ": " << answer.substr(0, 300);
    }
  }
  std::cout << "3,000 watches of one host: " << held << " held, " << refused << " refused with 429\n";
  EXPECT_EQ(held, 4);
  EXPECT_EQ(refused, 2996);
  EXPECT_EQ(Normal().status, 200);
  ExpectBounded("3,000 watches", 64);
}

// An agent token turned against the platform: it registers a host into the pool a department
// is confined to, and floods forged events (made-up kinds, another host's VM).
TEST_F(HostileClientsTest, AnAgentTokensConfinedPoolHostAndForgedEventsGetNothing) {
  Api admin(controller_->base_url(), controller_->admin_token());
  Api security(controller_->base_url(), controller_->security_token());
  Reply user = security.Post("/v1/users", json::object{{"name", "rogue-agent"}, {"role", "agent"}});
  ASSERT_EQ(user.status, 201) << user.Describe();
  const std::string expires = FormatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(1));
  Reply token = security.Post("/v1/users/" + user.Str("id") + "/tokens",
                              json::object{{"name", "stolen"}, {"expires_at", expires}});
  ASSERT_EQ(token.status, 201) << token.Describe();
  Api rogue(controller_->base_url(), token.Str("token"));
  Reply dept = admin.Post("/v1/departments", json::object{{"name", "classified"},
                                                          {"quota", json::object{{"instances", 5}}},
                                                          {"allowed_pools", json::array{"secure"}}});
  ASSERT_EQ(dept.status, 201) << dept.Describe();
  ASSERT_EQ(admin.Post("/v1/flavors", json::object{{"name", "tiny"}, {"vcpus", 1}, {"memory_mib", 256}, {"disk_gib", 1}})
                .status,
            201);
  // A host the administrator registered in the pool holds one of the department's VMs.
  const json::object capacity{{"cpus", 8}, {"memory_mib", 8192}, {"disk_gib", 100}};
  ASSERT_EQ(admin.Post("/v1/hosts/register", json::object{{"name", "vault"}, {"pool", "secure"}, {"capacity", capacity}})
                .status,
            200);
  const json::object vm{{"name", "secret-1"}, {"department_id", dept.Str("id")}, {"flavor", "tiny"}};
  Reply victim = admin.Post("/v1/vms", vm);
  ASSERT_EQ(victim.status, 201) << victim.Describe();

  Reply registered =
      rogue.Post("/v1/hosts/register", json::object{{"name", "rogue"}, {"pool", "secure"}, {"capacity", capacity}});
  ASSERT_EQ(registered.status, 200) << registered.Describe();
  EXPECT_TRUE(registered.json.at("pending").as_bool()) << registered.body;
  ASSERT_EQ(admin.Send("PATCH", "/v1/hosts/" + std::string(victim.Str("host_id")), R"({"enabled":false})").status, 200);
  Reply second = admin.Post("/v1/vms", json::object{{"name", "secret-2"}, {"department_id", dept.Str("id")}, {"flavor", "tiny"}});
  EXPECT_EQ(second.status, 409) << "the pending host takes none: " << second.Describe();
  EXPECT_EQ(rogue.Send("PATCH", "/v1/hosts/" + registered.Str("id"), R"({"enabled":true})").status, 403);

  const std::string events = "/v1/hosts/" + registered.Str("id") + "/events";
  Reply about_victim = rogue.Post(events, json::object{{"events", json::array{json::object{
                                                {"kind", "restarted"}, {"vm_id", victim.Str("id")},
                                                {"message", "the guest asked to be copied to rogue"}}}}});
  EXPECT_EQ(about_victim.status, 204) << "accepted, and dropped: " << about_victim.Describe();
  const auto [minted, minted_throttled] = Flood(100, 400, [&](int i) {
    return rogue.Post(events, json::object{{"events", json::array{json::object{
                                               {"kind", "kind-" + std::to_string(i)}, {"message", "x"}}}}});
  });
  std::cout << "100 events of made-up kinds: " << minted << " refused with 400, " << minted_throttled
            << " answered 429\n";
  Reply kept = admin.Get("/v1/events?vm_id=" + victim.Str("id"));
  ASSERT_EQ(kept.status, 200) << kept.Describe();
  EXPECT_EQ(kept.body.find("copied to rogue"), std::string::npos) << "not kept: " << kept.body;
  EXPECT_EQ(kept.body.find("kind-"), std::string::npos) << kept.body;
  EXPECT_EQ(Normal().status, 200);
  ExpectBounded("a rogue agent's host and forged events", 32);
}

TEST_F(HostileClientsTest, ALoginFloodIsSlowedDown) {
  Api anonymous(controller_->base_url(), "");
  const auto [refused, throttled] = Flood(200, 401, [&](int i) {
    return anonymous.Post("/v1/auth/login", json::object{{"user", "nobody-" + std::to_string(i)}, {"password", "x"}});
  });
  std::cout << "200 logins in a burst: " << refused << " checked, " << throttled << " answered 429\n";
  EXPECT_GE(throttled, 150);
  EXPECT_EQ(Normal().status, 200);
  // Each checked password costs one Argon2id computation's memory (19 MiB,
  // common/password_hash.cc), which each I/O thread's allocator arena keeps for the next one:
  // bounded by the I/O threads (4 here), not by the flood.
  ExpectBounded("200 logins", 160);
}

TEST_F(HostileClientsTest, AFloodWithOneTokenIsHeldBackAndOtherTokensAreServed) {
  Api flood(controller_->base_url(), controller_->admin_token());
  const auto [served, throttled] = Flood(300, 200, [&](int) { return flood.Get("/v1/departments"); });
  std::cout << "300 requests with one token in a burst: " << served << " served, " << throttled
            << " answered 429\n";
  // 50 at once (SetUp took two) and 5 a second after: even a run of 30 s leaves 100 over.
  EXPECT_GE(throttled, 100);
  EXPECT_GE(served, 45);
  EXPECT_EQ(Normal().status, 200);
  ExpectBounded("300 requests with one token", 32);
}

}  // namespace
}  // namespace govpool::testing
