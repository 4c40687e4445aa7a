// End-to-end: govpool-controller + govpool-agent + a real libvirtd with QEMU (TCG guests).
// The suite starts libvirtd itself (scripts/start-libvirtd.sh) and prepares the tiny test
// guest (scripts/make-test-guest.sh, cached): it never skips. Runs as root (CI does).
//   Lifecycle: create a VM through the REST API, wait for `running` and the guest's boot marker
//     on its serial console, stop, start, reboot, delete; nothing left in libvirt or on disk.
//     The guest reads its host name and SSH key from its cloud-init seed (a read-only ISO disk
//     it does not count as a data disk); the seed file goes with the VM.
//   Fault: 3 guests running; kill -9 the agent and the controller, restart both: the QEMU
//     processes are the same (PIDs) and states converge.
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client/http_client.h"
#include "common/clock.h"
#include "common/ids.h"
#include "tests/support/child_process.h"
#include "tests/support/test_guest.h"

namespace govpool::e2e {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::steady_clock;
using testing::kGuestBootedMarker;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;
using testing::ChildProcess;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

bool WaitFor(const std::function<bool()>& done, double seconds) {
  const auto deadline = steady_clock::now() + std::chrono::duration<double>(seconds);
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return done();
}


class AgentE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(RunProjectScript("start-libvirtd.sh"), 0) << "scripts/start-libvirtd.sh failed";
    ASSERT_EQ(RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'"), 0) << "scripts/make-test-guest.sh failed";
  }

  void SetUp() override {
    run_dir_ = TestStateDir() + "/test-runs/e2e-" + NewUuid().substr(0, 8);
    fs::create_directories(run_dir_);
    // QEMU runs as an unprivileged user: it must traverse into the directory of its disks.
    fs::permissions(run_dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
    host_name_ = "e2e-" + NewUuid().substr(0, 8);
    StartController(0);
    // The agent enrols (docs/security.md, "TLS and agent enrolment"): a system-admin lets this
    // host's agent enrol; the agent trades the one-time token for its client certificate and
    // from then on authenticates with it (mutual TLS).
    auto enrolment = Admin("POST", "/v1/host-enrolments", R"({"host_name":")" + host_name_ + R"(","ttl_s":600})", 201);
    std::ofstream(run_dir_ + "/enrolment-token") << std::string(enrolment.at("token").as_string()) << "\n";
    StartAgent();
    ASSERT_TRUE(WaitFor([&] {
      auto hosts = Admin("GET", "/v1/hosts");
      return hosts.is_object() && !hosts.at("items").as_array().empty();
    }, 30)) << "the agent did not register; see " << run_dir_ << "/agent.log";
    // It is the host its certificate names, and keeps key and certificate to itself.
    auto hosts = Admin("GET", "/v1/hosts");
    EXPECT_EQ(hosts.at("items").as_array()[0].at("agent_user_id").as_string(), "host:" + host_name_);
    struct stat pem {};
    ASSERT_EQ(::stat((run_dir_ + "/agent/tls/agent.pem").c_str(), &pem), 0);
    EXPECT_EQ(pem.st_mode & 0777, 0600u);
    auto d = Admin("POST", "/v1/departments", R"({"name":"e2e","quota":{"instances":-1,"vcpus":-1,"memory_mib":-1}})", 201);
    dept_ = std::string(d.at("id").as_string());
    Admin("POST", "/v1/flavors", R"({"name":"tiny","vcpus":1,"memory_mib":128,"disk_gib":1})", 201);
  }

  void TearDown() override {
    agent_.reset();
    controller_.reset();
    // Whatever a failed test left behind in libvirt, by our names only.
    for (const auto& id : vm_ids_) {
      const std::string name = "govpool-" + id;
      Shell("virsh -q -c qemu:///system destroy " + name + " >/dev/null 2>&1; "
            "virsh -q -c qemu:///system undefine --nvram " + name + " >/dev/null 2>&1");
    }
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
    } else {
      std::cerr << "logs kept in " << run_dir_ << "\n";
    }
  }

  void StartController(int port) {
    std::error_code ec;
    fs::remove(run_dir_ + "/port", ec);
    controller_ = ChildProcess::Start(
        std::vector<std::string>{GOVPOOL_CONTROLLER_BIN, "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--state-dir", run_dir_ + "/controller", "--port-file",
                                 run_dir_ + "/port", "--heartbeat-timeout-seconds", "10", "--bootstrap-tokens"},
        run_dir_ + "/controller.log", /*append=*/true);
    ASSERT_TRUE(WaitFor([&] {
      std::string p = ReadFile(run_dir_ + "/port");
      return !p.empty() && p.back() == '\n' && std::stoi(p) > 0 && (port == 0 || std::stoi(p) == port);
    }, 30)) << "the controller did not start; see " << run_dir_ << "/controller.log";
    port_ = std::stoi(ReadFile(run_dir_ + "/port"));
    auto client_of = [&](const std::string& token_file) {
      std::string token = ReadFile(run_dir_ + "/controller/" + token_file);
      while (!token.empty() && token.back() == '\n') token.pop_back();
      api::ClientOptions o;
      o.base_url = "https://127.0.0.1:" + std::to_string(port_);
      o.ca_file = run_dir_ + "/controller/tls/ca.crt";
      o.bearer_token = token;
      return std::move(api::HttpClient::Create(o)).value();
    };
    admin_ = client_of("system-admin-token");
    security_ = client_of("security-admin-token");
  }

  void StartAgent() {
    agent_ = ChildProcess::Start(
        std::vector<std::string>{GOVPOOL_AGENT_BIN, "--controller", "https://127.0.0.1:" + std::to_string(port_),
                                 "--ca-file", run_dir_ + "/controller/tls/ca.crt",
                                 "--enrolment-token-file", run_dir_ + "/enrolment-token", "--host-name", host_name_,
                                 "--libvirt-uri", "qemu:///system", "--domain-type", "qemu",
                                 "--state-dir", run_dir_ + "/agent", "--guest-kernel", TestGuestDir() + "/vmlinuz",
                                 "--guest-initrd", TestGuestDir() + "/initrd.img",
                                 "--reconcile-interval-seconds", "2", "--heartbeat-interval-seconds", "2",
                                 "--shutdown-grace-seconds", "20"},
        run_dir_ + "/agent.log", /*append=*/true);
  }

  json::value Admin(const std::string& method, const std::string& target, const std::string& body = "",
                    int want = 0) {
    return As(*admin_, method, target, body, want);
  }
  json::value As(api::HttpClient& client, const std::string& method, const std::string& target,
                 const std::string& body = "", int want = 0) {
    auto resp = client.Send(method, target, body, {{"Content-Type", "application/json"}});
    if (!resp.ok()) {
      if (want) ADD_FAILURE() << method << " " << target << ": " << resp.status().ToString();
      return nullptr;
    }
    if (want) {
      EXPECT_EQ(resp->status, want) << method << " " << target << ": " << resp->body;
    }
    if (resp->body.empty()) return nullptr;
    boost::system::error_code ec;
    json::value v = json::parse(resp->body, ec);
    return ec ? json::value(nullptr) : v;
  }

  // `extra`: more members of the create request, e.g. R"(,"hostname":"h")".
  std::string CreateVm(const std::string& name, const std::string& extra = "") {
    auto v = Admin("POST", "/v1/vms", R"({"name":")" + name + R"(","department_id":")" + dept_ +
                                          R"(","flavor":"tiny")" + extra + "}", 201);
    std::string id(v.at("id").as_string());
    vm_ids_.push_back(id);
    return id;
  }

  // The VM's reported state, "" when unreachable, "gone" on 404.
  std::string State(const std::string& id) {
    auto resp = admin_->Send("GET", "/v1/vms/" + id);
    if (!resp.ok()) return "";
    if (resp->status == 404) return "gone";
    auto v = json::parse(resp->body);
    return std::string(v.at("state").as_string());
  }
  bool Converged(const std::string& id, const std::string& state) {
    auto resp = admin_->Send("GET", "/v1/vms/" + id);
    if (!resp.ok() || resp->status != 200) return false;
    auto v = json::parse(resp->body).as_object();
    return v.at("state").as_string() == state &&
           v.at("observed_generation").as_int64() == v.at("generation").as_int64();
  }

  std::string Console(const std::string& id) {
    return ReadFile(run_dir_ + "/agent/console/govpool-" + id + ".log");
  }
  std::string DiskPath(const std::string& id) {
    return run_dir_ + "/agent/disks/govpool-" + id + "-root.qcow2";
  }
  std::string SeedPath(const std::string& id) {
    return run_dir_ + "/agent/seeds/govpool-" + id + "-seed.iso";
  }
  std::string QemuPid(const std::string& id) {
    std::string pid = ReadFile("/run/libvirt/qemu/govpool-" + id + ".pid");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return pid;
  }
  std::string DomState(const std::string& id) {
    std::string s = Shell("virsh -q -c qemu:///system domstate govpool-" + id + " 2>/dev/null");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  std::string run_dir_;
  std::string host_name_;
  std::string dept_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> controller_;
  std::unique_ptr<ChildProcess> agent_;
  std::unique_ptr<api::HttpClient> admin_;
  std::unique_ptr<api::HttpClient> security_;  // users and tokens
  std::vector<std::string> vm_ids_;
};

TEST_F(AgentE2eTest, VmLifecycleThroughTheRestApi) {
  const auto t0 = steady_clock::now();
  const std::string key =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGmP3bTRzJzK1iTb4tz9HkNmC6nY6c0u8C8s7rVYJjXh e2e@govpool";
  const std::string id = CreateVm("web-1", R"(,"hostname":"web-guest","ssh_authorized_keys":[")" + key + R"("])");
  ASSERT_TRUE(WaitFor([&] { return Converged(id, "running"); }, 90)) << "state " << State(id);
  ASSERT_TRUE(WaitFor([&] { return Count(Console(id), kGuestBootedMarker) >= 1; }, 120)) << "no boot marker";
  // The cloud-init seed: the guest found, mounted and read it; it is no data disk.
  const std::string console = Console(id);
  EXPECT_EQ(Count(console, "GOVPOOL-GUEST-HOSTNAME web-guest"), 1) << console;
  EXPECT_EQ(Count(console, "GOVPOOL-GUEST-SSH-KEY e2e@govpool"), 1) << console;
  EXPECT_EQ(Count(console, "GOVPOOL-GUEST-DISK "), 1) << console;
  EXPECT_EQ(Count(console, "GOVPOOL-GUEST-DISK vda EMPTY"), 1) << console;
  EXPECT_TRUE(fs::exists(SeedPath(id)));
  std::cerr << "[timing] create -> booted: "
            << std::chrono::duration<double>(steady_clock::now() - t0).count() << " s\n";
  // Persistent (defined), with our metadata.
  const std::string xml = Shell("virsh -q -c qemu:///system dumpxml --inactive govpool-" + id);
  EXPECT_NE(xml.find("<uuid>" + id + "</uuid>"), std::string::npos);
  EXPECT_NE(xml.find("https://govpool.org/xmlns/instance/1"), std::string::npos);
  EXPECT_NE(xml.find("type='qemu'"), std::string::npos);
  EXPECT_TRUE(fs::exists(DiskPath(id)));

  auto t = steady_clock::now();
  Admin("POST", "/v1/vms/" + id + "/stop", "", 202);
  ASSERT_TRUE(WaitFor([&] { return Converged(id, "stopped"); }, 60)) << "state " << State(id);
  EXPECT_EQ(DomState(id), "shut off");
  std::cerr << "[timing] stop: " << std::chrono::duration<double>(steady_clock::now() - t).count() << " s\n";

  t = steady_clock::now();
  Admin("POST", "/v1/vms/" + id + "/start", "", 202);
  ASSERT_TRUE(WaitFor([&] { return Converged(id, "running"); }, 60)) << "state " << State(id);
  ASSERT_TRUE(WaitFor([&] { return Count(Console(id), kGuestBootedMarker) >= 2; }, 120)) << "no boot marker after start";
  std::cerr << "[timing] start -> booted: " << std::chrono::duration<double>(steady_clock::now() - t).count() << " s\n";

  t = steady_clock::now();
  const std::string pid_before_reboot = QemuPid(id);
  Admin("POST", "/v1/vms/" + id + "/reboot", "", 202);
  ASSERT_TRUE(WaitFor([&] { return Count(Console(id), kGuestBootedMarker) >= 3; }, 120)) << "no boot marker after reboot";
  ASSERT_TRUE(WaitFor([&] { return Converged(id, "running"); }, 30));
  std::cerr << "[timing] reboot -> booted: " << std::chrono::duration<double>(steady_clock::now() - t).count() << " s\n";
  (void)pid_before_reboot;

  t = steady_clock::now();
  Admin("DELETE", "/v1/vms/" + id, "", 202);
  ASSERT_TRUE(WaitFor([&] { return State(id) == "gone"; }, 60)) << "state " << State(id);
  std::cerr << "[timing] delete: " << std::chrono::duration<double>(steady_clock::now() - t).count() << " s\n";
  EXPECT_EQ(Shell("virsh -q -c qemu:///system list --all --name | grep -c " + id + " || true"), "0\n");
  EXPECT_FALSE(fs::exists(DiskPath(id)));
  EXPECT_FALSE(fs::exists(run_dir_ + "/agent/console/govpool-" + id + ".log"));
  EXPECT_TRUE(fs::is_empty(run_dir_ + "/agent/disks"));
  EXPECT_FALSE(fs::exists(SeedPath(id)));
  EXPECT_TRUE(fs::is_empty(run_dir_ + "/agent/seeds"));
}

TEST_F(AgentE2eTest, KillingAgentAndControllerNeverRestartsGuests) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(CreateVm("f-" + std::to_string(i)));
  const auto t0 = steady_clock::now();
  for (const auto& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return Converged(id, "running"); }, 120)) << id << " state " << State(id);
  }
  for (const auto& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return Count(Console(id), kGuestBootedMarker) >= 1; }, 180)) << id << " did not boot";
  }
  std::cerr << "[timing] 3 guests created -> all booted: "
            << std::chrono::duration<double>(steady_clock::now() - t0).count() << " s\n";
  std::map<std::string, std::string> pids;
  for (const auto& id : ids) {
    pids[id] = QemuPid(id);
    ASSERT_FALSE(pids[id].empty());
  }

  agent_->Kill(SIGKILL);
  controller_->Kill(SIGKILL);
  const auto t1 = steady_clock::now();
  StartController(port_);
  StartAgent();
  // The agent reconnects, re-registers and reconciles: nothing to do, nothing restarted.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  for (const auto& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return Converged(id, "running"); }, 30)) << id << " state " << State(id);
    EXPECT_EQ(QemuPid(id), pids[id]) << "guest " << id << " was restarted";
    EXPECT_EQ(Count(Console(id), kGuestBootedMarker), 1) << "guest " << id << " rebooted";
  }
  // And it converges on new desired state after the restart.
  Admin("POST", "/v1/vms/" + ids[0] + "/stop", "", 202);
  ASSERT_TRUE(WaitFor([&] { return Converged(ids[0], "stopped"); }, 60)) << "state " << State(ids[0]);
  EXPECT_EQ(QemuPid(ids[1]), pids[ids[1]]);
  EXPECT_EQ(QemuPid(ids[2]), pids[ids[2]]);
  std::cerr << "[timing] restart -> converged again: "
            << std::chrono::duration<double>(steady_clock::now() - t1).count() << " s\n";

  for (const auto& id : ids) Admin("DELETE", "/v1/vms/" + id, "", 202);
  for (const auto& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return State(id) == "gone"; }, 90)) << id << " state " << State(id);
    EXPECT_EQ(Shell("virsh -q -c qemu:///system list --all --name | grep -c " + id + " || true"), "0\n");
    EXPECT_FALSE(fs::exists(DiskPath(id)));
  }
}

}  // namespace
}  // namespace govpool::e2e
