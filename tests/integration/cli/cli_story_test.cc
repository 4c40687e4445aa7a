// govpoolctl against the real controller: the control-plane story of issue 2 driven through the
// CLI. Starts govpool-controller on port 0 with a temporary state directory, runs the govpoolctl
// binary as a subprocess (stdout/stderr captured, HOME pointed at a temp folder so no user
// config leaks in) and stops the controller in TearDown, also when a test fails.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/totp.h"
#include "tests/support/child_process.h"

extern char** environ;

namespace govpool::cli {
namespace {

namespace fs = std::filesystem;

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of the "key  value" line printed for a single object.
std::string Field(const std::string& out, const std::string& key) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) == 0) {
      size_t v = line.find_first_not_of(' ', key.size());
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "";
}

std::vector<std::string> Lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// govpoolctl's argv and environment (HOME plus `env`) for posix_spawn. Built in place and
// not movable: the pointer arrays point into the strings it holds.
class CtlCommandLine {
 public:
  CtlCommandLine(const std::vector<std::string>& args, const fs::path& home,
                 const std::map<std::string, std::string>& env) {
    argv_s_.push_back(GOVPOOLCTL_BIN);
    argv_s_.insert(argv_s_.end(), args.begin(), args.end());
    env_s_ = {"HOME=" + home.string(), "PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env) env_s_.push_back(k + "=" + v);
    for (std::string& a : argv_s_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    for (std::string& e : env_s_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }
  CtlCommandLine(const CtlCommandLine&) = delete;
  CtlCommandLine& operator=(const CtlCommandLine&) = delete;
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> argv_s_, env_s_;
  std::vector<char*> argv_, envp_;
};

class CliStoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("govpool-cli-it-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_ / "home");
    StartController();
  }

  void TearDown() override {
    StopController();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartController() {
    const std::string port_file = (dir_ / "port").string();
    const std::string state_dir = (dir_ / "state").string();
    const std::string log = (dir_ / "controller.log").string();
    controller_ = testing::ChildProcess::Start(
        {GOVPOOL_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--port-file", port_file,
         "--state-dir", state_dir, "--bootstrap-tokens",  // HTTPS with its own CA, the default
         "--utilisation-sample-seconds", "1"},  // rollups written every 5 s
        log);
    ASSERT_TRUE(controller_ != nullptr);
    port_ = testing::WaitForPortFile(port_file, *controller_, std::chrono::seconds(60));
    ASSERT_GT(port_, 0) << "controller did not write its port: " << ReadFile(log);
    url_ = "https://127.0.0.1:" + std::to_string(port_);
    ca_file_ = state_dir + "/tls/ca.crt";
    admin_token_file_ = state_dir + "/system-admin-token";
    security_token_file_ = state_dir + "/security-admin-token";
    ASSERT_TRUE(fs::exists(admin_token_file_));
  }

  void StopController() {
    if (controller_) controller_->Stop(std::chrono::seconds(5));
  }

  // Runs govpoolctl with `args` and an environment of HOME plus `env`; `input` is its stdin
  // (a file, so prompts read from a pipe-like, non-terminal input).
  // The CLI verifies the controller against its CA (GOVPOOL_CA_FILE) unless `env` says otherwise.
  CtlRun Ctl(const std::vector<std::string>& args, std::map<std::string, std::string> env = {},
             const std::string& input = "") {
    env.emplace("GOVPOOL_CA_FILE", ca_file_);
    const CtlCommandLine line(args, dir_ / "home", env);

    const std::string out_path = (dir_ / "ctl.out").string();
    const std::string err_path = (dir_ / "ctl.err").string();
    const std::string in_path = (dir_ / "ctl.in").string();
    std::ofstream(in_path, std::ios::trunc) << input;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    CtlRun run;
    int rc = posix_spawn(&pid, GOVPOOLCTL_BIN, &actions, nullptr, line.argv(), line.envp());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      run.err = "posix_spawn failed";
      return run;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = ReadFile(out_path);
    run.err = ReadFile(err_path);
    return run;
  }

  // Runs govpoolctl with stdin and stdout on pipes: `answer` sees stdout so far after each read
  // and returns what to type once it has what it needs (then stdin is closed). Gives up on a
  // silent child after 60 s (stdin closed: the CLI fails on the end of its input).
  CtlRun CtlAnswering(const std::vector<std::string>& args,
                      const std::function<std::optional<std::string>(const std::string& out)>& answer) {
    const CtlCommandLine line(args, dir_ / "home", {{"GOVPOOL_CA_FILE", ca_file_}});
    int in_pipe[2], out_pipe[2];
    CtlRun run;
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) return run;
    const std::string err_path = (dir_ / "ctl.err").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, GOVPOOLCTL_BIN, &actions, nullptr, line.argv(), line.envp());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    int to_child = in_pipe[1];
    if (rc != 0) {
      ::close(to_child);
      ::close(out_pipe[0]);
      run.err = "posix_spawn failed";
      return run;
    }
    char buf[4096];
    for (;;) {
      pollfd pfd{out_pipe[0], POLLIN, 0};
      if (::poll(&pfd, 1, 60'000) <= 0) {
        if (to_child >= 0) ::close(std::exchange(to_child, -1));
        continue;  // the child now ends on the end of its input
      }
      const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) break;
      run.out.append(buf, static_cast<size_t>(n));
      if (to_child < 0) continue;
      if (auto typed = answer(run.out)) {
        (void)!::write(to_child, typed->data(), typed->size());
        ::close(std::exchange(to_child, -1));
      }
    }
    if (to_child >= 0) ::close(to_child);
    ::close(out_pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.err = ReadFile(err_path);
    return run;
  }

  // As the platform admin, through a config file (url + token_file).
  CtlRun Admin(std::vector<std::string> args) { return As("admin.conf", admin_token_file_, std::move(args)); }
  // Users and tokens are the security-admin's (docs/security.md, "Separated administrators").
  CtlRun Security(std::vector<std::string> args) {
    return As("security.conf", security_token_file_, std::move(args));
  }
  CtlRun As(const std::string& config_name, const std::string& token_file, std::vector<std::string> args) {
    const fs::path config = dir_ / "home" / config_name;
    if (!fs::exists(config)) {
      std::ofstream(config) << "# written by the test\nurl = " << url_ << "\ntoken_file = " << token_file << "\n";
    }
    args.insert(args.begin(), {"--config", config.string()});
    return Ctl(args);
  }

  fs::path dir_;
  std::unique_ptr<testing::ChildProcess> controller_;
  int port_ = 0;
  std::string url_;
  std::string ca_file_;
  std::string admin_token_file_;
  std::string security_token_file_;  // users and tokens are the security-admin's
};

#define EXPECT_OK(run) \
  EXPECT_EQ((run).exit_code, 0) << "stdout:\n" << (run).out << "stderr:\n" << (run).err

TEST_F(CliStoryTest, DepartmentAdminCreatesVmsUntilQuotaExceeded) {
  // An admin sets up a department with a quota of 10 instances, a flavor and two hosts.
  CtlRun dept = Admin({"department", "create", "finance", "--description", "Finance dept",
                    "--quota", "instances=10,vcpus=100,memory_mib=unlimited"});
  EXPECT_OK(dept);
  const std::string dept_id = Field(dept.out, "id");
  ASSERT_EQ(dept_id.size(), 36u) << dept.out;
  EXPECT_EQ(Field(dept.out, "quota.instances"), "10");
  EXPECT_EQ(Field(dept.out, "quota.memory_mib"), "-1");

  CtlRun flavor = Admin({"flavor", "create", "small", "--vcpus", "1", "--memory-mib", "512",
                      "--disk-gib", "10"});
  EXPECT_OK(flavor);
  EXPECT_EQ(Field(flavor.out, "name"), "small");

  for (const char* host : {"host-a", "host-b"}) {
    CtlRun h = Admin({"host", "register", host, "--cpus", "16", "--memory-mib", "65536",
                   "--disk-gib", "1000", "--pool", "az1"});
    EXPECT_OK(h);
    EXPECT_EQ(Field(h.out, "name"), host);
  }
  CtlRun hosts = Admin({"host", "list"});
  EXPECT_OK(hosts);
  EXPECT_EQ(Lines(hosts.out).size(), 3u) << hosts.out;
  EXPECT_NE(hosts.out.find("host-a"), std::string::npos);

  // A department admin and a token for them (user and department resolved by name).
  // The security-admin does not read departments (separated roles): it is given the id.
  CtlRun user = Security({"user", "create", "fin-admin", "--role", "dept-admin", "--department", dept_id});
  EXPECT_OK(user);
  EXPECT_EQ(Field(user.out, "department_id"), dept_id);
  CtlRun token = Security({"token", "create", "laptop", "--user", "fin-admin", "--expires", "1d"});
  EXPECT_OK(token);
  const std::string secret = Field(token.out, "token");
  ASSERT_FALSE(secret.empty()) << token.out;
  EXPECT_NE(token.err.find("only once"), std::string::npos);

  // The department admin works through the environment.
  const std::map<std::string, std::string> fin = {{"GOVPOOL_URL", url_}, {"GOVPOOL_TOKEN", secret}};
  for (int i = 1; i <= 10; ++i) {
    CtlRun vm = Ctl({"vm", "create", "vm-" + std::to_string(i), "--department", "finance",
                  "--flavor", "small"},
                 fin);
    EXPECT_OK(vm);
    EXPECT_EQ(Field(vm.out, "department_id"), dept_id);
  }
  CtlRun over = Ctl({"vm", "create", "vm-11", "--department", dept_id, "--flavor", "small"}, fin);
  EXPECT_EQ(over.exit_code, 1) << over.out << over.err;
  EXPECT_EQ(over.err.rfind("error: QUOTA_EXCEEDED: ", 0), 0u) << over.err;
  EXPECT_NE(over.err.find("instances"), std::string::npos) << over.err;
  EXPECT_TRUE(over.out.empty());

  // vm list follows next_page_token: 10 VMs in pages of 3.
  CtlRun list = Ctl({"vm", "list", "--page-size", "3"}, fin);
  EXPECT_OK(list);
  std::vector<std::string> lines = Lines(list.out);
  ASSERT_EQ(lines.size(), 11u) << list.out;
  EXPECT_EQ(lines[0].rfind("ID", 0), 0u);
  for (int i = 1; i <= 10; ++i) {
    EXPECT_TRUE(std::regex_search(list.out, std::regex(" vm-" + std::to_string(i) + " ")))
        << "vm-" << i << " missing:\n" << list.out;
  }
  // Names, not ids: the department by name; a department admin may not list hosts, so the host
  // shows as its id.
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_TRUE(std::regex_search(lines[i], std::regex(" vm-[0-9]+ +finance +small +[0-9a-f-]{36} ")))
        << lines[i];
  }
  EXPECT_EQ(list.out.find(dept_id), std::string::npos) << list.out;
  // The admin sees host names; --wide adds the ids.
  CtlRun admin_list = Admin({"vm", "list"});
  EXPECT_OK(admin_list);
  EXPECT_TRUE(std::regex_search(admin_list.out, std::regex(" vm-1 +finance +small +host-[ab] ")))
      << admin_list.out;
  CtlRun wide = Admin({"vm", "list", "--wide"});
  EXPECT_OK(wide);
  EXPECT_NE(wide.out.find("DEPARTMENT_ID"), std::string::npos) << wide.out;
  EXPECT_NE(wide.out.find("finance     " + dept_id), std::string::npos) << wide.out;
  CtlRun list_json = Ctl({"vm", "list", "--json", "--page-size", "4", "--department", "finance"}, fin);
  EXPECT_OK(list_json);
  EXPECT_EQ(list_json.out.rfind("{\"items\":[", 0), 0u) << list_json.out;
  size_t count = 0;
  for (size_t p = 0; (p = list_json.out.find("\"flavor_name\":\"small\"", p)) != std::string::npos; ++p) {
    ++count;
  }
  EXPECT_EQ(count, 10u) << list_json.out;

  // Usage reads 10 of 10.
  CtlRun usage = Ctl({"department", "usage", "finance"}, fin);
  EXPECT_OK(usage);
  EXPECT_TRUE(std::regex_search(usage.out, std::regex("(^|\n)instances +10 +10 +10 +0\n"))) << usage.out;
  EXPECT_TRUE(std::regex_search(usage.out, std::regex("(^|\n)memory_mib +5120 +5120 +unlimited +0\n")))
      << usage.out;

  // The department admin may not create departments.
  CtlRun denied = Ctl({"department", "create", "other"}, fin);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_EQ(denied.err.rfind("error: PERMISSION_DENIED: ", 0), 0u) << denied.err;

  // VM actions and delete by name; the freed quota shows in usage.
  EXPECT_OK(Ctl({"vm", "stop", "vm-2"}, fin));
  CtlRun show = Ctl({"vm", "show", "vm-2"}, fin);
  EXPECT_OK(show);
  EXPECT_EQ(Field(show.out, "power"), "stopped");
  CtlRun del = Ctl({"vm", "delete", "vm-1"}, fin);
  EXPECT_OK(del);
  EXPECT_NE(del.out.find("vm "), std::string::npos) << del.out;
  CtlRun usage_after = Admin({"department", "usage", dept_id, "--json"});
  EXPECT_OK(usage_after);
  EXPECT_NE(usage_after.out.find("\"instances\":{\"used\":9,\"limit\":10"), std::string::npos)
      << usage_after.out;
  EXPECT_OK(Ctl({"vm", "create", "vm-11", "--department", "finance", "--flavor", "small"}, fin));

  // Admin views.
  CtlRun depts = Admin({"department", "list"});
  EXPECT_OK(depts);
  EXPECT_TRUE(std::regex_search(depts.out, std::regex("finance +10 +100 +unlimited +Finance dept")))
      << depts.out;
  CtlRun users = Security({"user", "list"});
  EXPECT_OK(users);
  EXPECT_NE(users.out.find("fin-admin"), std::string::npos);
  CtlRun maint = Admin({"host", "update", "host-a", "--maintenance", "on", "--cpu-ratio", "2"});
  EXPECT_OK(maint);
  EXPECT_EQ(Field(maint.out, "maintenance"), "true");
  EXPECT_EQ(Field(maint.out, "cpu_allocation_ratio"), "2");
  CtlRun upd = Admin({"department", "update", "finance", "--quota", "instances=20"});
  EXPECT_OK(upd);
  EXPECT_EQ(Field(upd.out, "quota.instances"), "20");
  EXPECT_EQ(Field(upd.out, "quota.vcpus"), "100");
  CtlRun not_empty = Admin({"department", "delete", "finance"});
  EXPECT_EQ(not_empty.exit_code, 1);
  EXPECT_EQ(not_empty.err.rfind("error: DEPARTMENT_NOT_EMPTY: ", 0), 0u) << not_empty.err;
}

// The capacity-request story (docs/departments.md, "Capacity requests") through the CLI, with a
// simulated host's agent running what is placed: a department at its quota asks for 2 more VMs;
// its bureau and then the platform approve; the VMs run and the quota grew by them.
TEST_F(CliStoryTest, ADepartmentAsksForTwoMoreVmsAndTheBureauAndThePlatformApprove) {
  // The bureau's limits leave room for what finance asks (its default 20 vCPUs would not).
  CtlRun bureau = Admin({"department", "create", "bureau", "--quota", "instances=10,vcpus=100,memory_mib=unlimited"});
  EXPECT_OK(bureau);
  CtlRun finance = Admin({"department", "create", "finance", "--parent", "bureau", "--quota", "instances=2"});
  EXPECT_OK(finance);
  EXPECT_OK(Admin({"flavor", "create", "small", "--vcpus", "1", "--memory-mib", "512", "--disk-gib", "10"}));
  // The host is named by the platform, then its (simulated) agent takes it over.
  EXPECT_OK(Admin({"host", "register", "sim-00001", "--cpus", "16", "--memory-mib", "65536", "--disk-gib", "1000"}));
  auto token_of = [&](const std::string& user, const std::vector<std::string>& role) {
    std::vector<std::string> create = {"user", "create", user};
    create.insert(create.end(), role.begin(), role.end());
    EXPECT_OK(Security(create));
    CtlRun token = Security({"token", "create", user + "-token", "--user", user, "--expires", "1d"});
    EXPECT_OK(token);
    return Field(token.out, "token");
  };
  const std::string agent_token = token_of("sim-agent", {"--role", "agent"});
  std::ofstream(dir_ / "agent-token") << agent_token << "\n";
  auto agent = testing::ChildProcess::Start({GOVPOOL_AGENT_BIN, "--controller", url_, "--ca-file", ca_file_, "--token-file",
                                             (dir_ / "agent-token").string(), "--simulate-hosts", "1", "--sim-prefix",
                                             "sim", "--log-level", "warn"},
                                            (dir_ / "agent.log").string());
  ASSERT_TRUE(agent != nullptr);
  const std::map<std::string, std::string> fin = {
      {"GOVPOOL_URL", url_}, {"GOVPOOL_TOKEN", token_of("fin-admin", {"--role", "dept-admin", "--department", Field(finance.out, "id")})}};
  const std::map<std::string, std::string> bureau_admin = {
      {"GOVPOOL_URL", url_}, {"GOVPOOL_TOKEN", token_of("bureau-admin", {"--role", "dept-admin", "--department", Field(bureau.out, "id")})}};

  // Finance is at its quota.
  for (const char* name : {"db-1", "db-2"}) EXPECT_OK(Ctl({"vm", "create", name, "--department", "finance", "--flavor", "small"}, fin));
  CtlRun full = Ctl({"vm", "create", "web", "--department", "finance", "--flavor", "small"}, fin);
  EXPECT_EQ(full.err.rfind("error: QUOTA_EXCEEDED: ", 0), 0u) << full.err;

  // The bureau points its approvals at a relay that is down: the notification waits, retried.
  CtlRun hook = Ctl({"webhook", "create", "--name", "desk", "--department", "bureau", "--role", "approver", "--url",
                     "http://127.0.0.1:1/govpool"}, bureau_admin);
  EXPECT_OK(hook);
  EXPECT_GE(Field(hook.out, "new_secret").size(), 32u) << hook.out;

  // It asks; the bureau approves, then the platform, whose approval creates the VMs.
  CtlRun asked = Ctl({"request", "create", "--department", "finance", "--reason", "two web servers for the tax season",
                      "--vms", "web", "--flavor", "small", "--count", "2"}, fin);
  EXPECT_OK(asked);
  const std::string id = Field(asked.out, "id");
  CtlRun deliveries;
  bool attempted = false;
  for (int i = 0; i < 80 && !attempted; ++i) {
    deliveries = Ctl({"webhook", "deliveries", Field(hook.out, "id")}, bureau_admin);
    attempted = std::regex_search(deliveries.out, std::regex("submitted +pending +1 "));
    if (!attempted) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(attempted) << deliveries.out << deliveries.err;
  CtlRun hooks = Ctl({"webhook", "list", "--wide"}, bureau_admin);
  EXPECT_TRUE(std::regex_search(hooks.out, std::regex("desk +bureau +approver +all"))) << hooks.out;
  EXPECT_NE(hooks.out.find("onnection refused"), std::string::npos) << "the last error shows: " << hooks.out;
  EXPECT_EQ(Field(asked.out, "state"), "submitted");
  EXPECT_EQ(Field(asked.out, "next_level"), Field(bureau.out, "id"));
  CtlRun not_yours = Ctl({"request", "approve", id}, fin);
  EXPECT_EQ(not_yours.exit_code, 1);
  EXPECT_NE(not_yours.err.find("PERMISSION_DENIED"), std::string::npos) << not_yours.err;
  CtlRun pending = Ctl({"request", "list"}, bureau_admin);
  EXPECT_OK(pending);
  EXPECT_TRUE(std::regex_search(pending.out, std::regex(id + " +finance +2 x small \\(web\\) +submitted +bureau"))) << pending.out;
  CtlRun by_bureau = Ctl({"request", "approve", id}, bureau_admin);
  EXPECT_OK(by_bureau);
  EXPECT_EQ(Field(by_bureau.out, "next_level"), "platform");
  CtlRun by_platform = Admin({"request", "approve", id});
  EXPECT_OK(by_platform);
  EXPECT_EQ(Field(by_platform.out, "state"), "fulfilled") << by_platform.out;
  CtlRun again = Admin({"request", "approve", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("REQUEST_NOT_PENDING"), std::string::npos) << again.err;

  // The VMs run on the simulated host, and finance's quota grew by them.
  bool running = false;
  CtlRun vms;
  for (int i = 0; i < 120 && !running; ++i) {
    vms = Ctl({"vm", "list"}, fin);
    running = std::regex_search(vms.out, std::regex("web-1 .*running")) && std::regex_search(vms.out, std::regex("web-2 .*running"));
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(running) << vms.out << ReadFile(dir_ / "agent.log");
  CtlRun shown = Admin({"department", "show", "finance"});
  EXPECT_EQ(Field(shown.out, "quota.instances"), "4");
  agent->Stop(std::chrono::seconds(5));
}

// The organisation tree (docs/departments.md) through the CLI: a child under a bureau, one that
// does not fit refused with the numbers, the bureau's usage showing its children's limits.
TEST_F(CliStoryTest, DepartmentsFormATreeWhoseQuotasNest) {
  EXPECT_OK(Admin({"department", "create", "bureau", "--quota", "instances=5"}));
  CtlRun tax = Admin({"department", "create", "tax", "--parent", "bureau", "--quota", "instances=3"});
  EXPECT_OK(tax);
  EXPECT_EQ(Field(tax.out, "parent_id").size(), 36u) << tax.out;
  CtlRun health = Admin({"department", "create", "health", "--parent", "bureau", "--quota", "instances=3"});
  EXPECT_EQ(health.exit_code, 1);
  EXPECT_EQ(health.err.rfind("error: PARENT_QUOTA_EXCEEDED: ", 0), 0u) << health.err;
  EXPECT_NE(health.err.find("its limit is 5 and its other children's limits take 3"), std::string::npos) << health.err;
  CtlRun usage = Admin({"department", "usage", "bureau"});
  EXPECT_OK(usage);
  EXPECT_TRUE(std::regex_search(usage.out, std::regex("(^|\n)instances +0 +0 +5 +3\n"))) << usage.out;
  CtlRun below = Admin({"department", "update", "bureau", "--quota", "instances=2"});
  EXPECT_EQ(below.exit_code, 1);
  EXPECT_EQ(below.err.rfind("error: QUOTA_BELOW_CHILDREN: ", 0), 0u) << below.err;
  EXPECT_OK(Admin({"department", "update", "tax", "--parent", ""}));
  EXPECT_OK(Admin({"department", "update", "bureau", "--quota", "instances=2"}));
}

// Utilisation reports (docs/operations.md, "Utilisation reports"): the rollups reach the store
// while the controller runs; a department admin sees its department alone, with a chart, and
// not the pools; the system-admin sees pools with their capacity, as a table and as CSV.
TEST_F(CliStoryTest, UtilisationReportsShowDepartmentsTheirOwnAndPoolsToTheAdmin) {
  CtlRun dept = Admin({"department", "create", "finance"});
  EXPECT_OK(dept);
  const std::string dept_id = Field(dept.out, "id");
  EXPECT_OK(Admin({"department", "create", "health"}));
  EXPECT_OK(Admin({"flavor", "create", "small", "--vcpus", "2", "--memory-mib", "1024", "--disk-gib", "10"}));
  EXPECT_OK(Admin({"host", "register", "host-a", "--cpus", "16", "--memory-mib", "65536", "--disk-gib", "1000",
                   "--pool", "az1"}));
  for (const char* name : {"vm-1", "vm-2"}) {
    EXPECT_OK(Admin({"vm", "create", name, "--department", "finance", "--flavor", "small"}));
  }
  EXPECT_OK(Security({"user", "create", "fin-admin", "--role", "dept-admin", "--department", dept_id}));
  CtlRun token = Security({"token", "create", "laptop", "--user", "fin-admin", "--expires", "1d"});
  EXPECT_OK(token);
  const std::map<std::string, std::string> fin = {{"GOVPOOL_URL", url_}, {"GOVPOOL_TOKEN", Field(token.out, "token")}};

  // Sampled every second, written every 5: wait for finance's VM-hours to show.
  std::string json;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    CtlRun report = Ctl({"report", "utilisation", "--json"}, fin);
    ASSERT_EQ(report.exit_code, 0) << report.err;
    json = report.out;
    if (std::regex_search(json, std::regex("\"total\":\\{[^}]*\"vm_hours\":[0-9.eE+-]*[1-9]"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_NE(json.find("\"name\":\"finance\""), std::string::npos) << json;
  EXPECT_EQ(json.find("health"), std::string::npos) << "a department admin sees its own department only: " << json;
  EXPECT_TRUE(std::regex_search(json, std::regex("\"vcpu_hours_allocated\":[0-9.eE+-]*[1-9]"))) << json;

  CtlRun table = Ctl({"report", "utilisation"}, fin);
  EXPECT_OK(table);
  // VMs on a host without an agent use nothing measured: 0%, the chart's lowest bar.
  EXPECT_TRUE(std::regex_search(table.out, std::regex("\nfinance +[0-9]\\.[0-9] +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +0% ")))
      << table.out;
  EXPECT_NE(table.out.find("\u2581"), std::string::npos) << table.out;
  CtlRun pools_refused = Ctl({"report", "utilisation", "--group-by", "pool"}, fin);
  EXPECT_EQ(pools_refused.exit_code, 1);
  EXPECT_NE(pools_refused.err.find("PERMISSION_DENIED"), std::string::npos) << pools_refused.err;

  CtlRun pools = Admin({"report", "utilisation", "--group-by", "pool"});
  EXPECT_OK(pools);
  EXPECT_TRUE(std::regex_search(pools.out, std::regex("\naz1 +[0-9]\\.[0-9] +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]*[1-9]")))
      << "capacity: " << pools.out;
  CtlRun csv = Admin({"report", "utilisation", "--group-by", "pool", "--csv", "--from", "2020-01-01T00:00:00Z",
                      "--to", "2020-01-02"});
  EXPECT_OK(csv);
  EXPECT_EQ(csv.out.rfind("group,key,name,hour,sampled_hours,", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("\npool,az1,az1,total,0.000,"), std::string::npos) << "an old span has no hours: " << csv.out;
  CtlRun bad = Admin({"report", "utilisation", "--from", "last week"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("from must be an RFC 3339 time"), std::string::npos) << bad.err;
}

// The code an authenticator app would show for `secret` (as printed: groups of four) at
// `unix_seconds`.
std::string AppCode(std::string secret, std::int64_t unix_seconds) {
  std::erase(secret, ' ');
  auto key = Base32Decode(secret);
  return key ? TotpCode(*key, TotpStep(unix_seconds)) : "";
}

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first login of an administrator through the CLI alone (README, "The administrators'
// first login"): the one-time password, the forced change, TOTP enrolment, then a login that
// asks for the code; the session sits in the config file with mode 0600.
TEST_F(CliStoryTest, AnAdministratorsFirstLoginPromptsForPasswordAndCode) {
  std::string one_time;
  {
    std::istringstream in(ReadFile(dir_ / "state" / "initial-passwords"));
    std::string name, password;
    while (in >> name >> password) {
      if (name == "auditadmin") one_time = password;
    }
  }
  ASSERT_FALSE(one_time.empty());
  // The controller's files (the state database and its WAL, keys, passwords, tokens) are its own.
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "state")) {
    struct stat st {};
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << entry.path() << " is open to others: " << std::oct << (st.st_mode & 0777);
    ++checked;
  }
  EXPECT_GE(checked, 5) << "state.db, its WAL, audit-key, initial-passwords, the tokens";
  const fs::path config = dir_ / "home" / "auditor.conf";
  std::ofstream(config) << "url = " << url_ << "\n";
  auto as_auditor = [&](std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--config", config.string()});
    return Ctl(args, {}, input);
  };

  // A wrong password: asked for a code once (the server does not say what was wrong), refused.
  CtlRun wrong = as_auditor({"login", "--user", "auditadmin"}, "not-the-password\n\n");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("Password: "), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("INVALID_CREDENTIALS"), std::string::npos) << wrong.err;

  // The user name and the password at the prompts.
  CtlRun first = as_auditor({"login"}, "auditadmin\n" + one_time + "\n");
  EXPECT_OK(first);
  EXPECT_NE(first.err.find("User: "), std::string::npos) << first.err;
  EXPECT_EQ(Field(first.out, "must_change_password"), "true") << first.out;
  EXPECT_EQ(Field(first.out, "must_enrol_factor"), "true") << first.out;
  EXPECT_EQ(first.out.find("gps_"), std::string::npos) << "the session's secret is never shown";
  struct stat st {};
  ASSERT_EQ(::stat(config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(config).find("gps_"), std::string::npos) << "the session is kept in the config";

  // Nothing but the self-service routes before the password is changed.
  CtlRun early = as_auditor({"audit", "list"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("PASSWORD_CHANGE_REQUIRED"), std::string::npos) << early.err;
  const std::string password = "Correct-Horse-Battery-9";
  EXPECT_EQ(as_auditor({"passwd"}, one_time + "\n" + password + "\n" + password + "x\n").exit_code, 2)
      << "two different new passwords change nothing";
  EXPECT_OK(as_auditor({"passwd"}, one_time + "\n" + password + "\n" + password + "\n"));

  // Enrolment: the test is the authenticator app. It reads the secret printed before the code
  // prompt and answers with the code for it.
  std::string secret;
  CtlRun enrol = CtlAnswering({"--config", config.string(), "totp", "enrol"}, [&](const std::string& out) {
    const std::string shown = Field(out, "secret");
    if (shown.empty() || out.find('\n', out.find("secret ")) == std::string::npos) return std::optional<std::string>();
    secret = shown;
    return std::optional<std::string>(AppCode(secret, UnixNow()) + "\n");
  });
  EXPECT_OK(enrol);
  EXPECT_NE(enrol.out.find("otpauth://totp/"), std::string::npos) << enrol.out;
  EXPECT_NE(enrol.out.find("TOTP enrolled"), std::string::npos) << enrol.out;
  ASSERT_FALSE(secret.empty());

  // The session goes with logout; the next login asks for the password, then for the code (a
  // code of the next step: the one just used for the enrolment would be a replay).
  EXPECT_OK(as_auditor({"logout"}));
  EXPECT_EQ(ReadFile(config).find("gps_"), std::string::npos) << "logout removes the session";
  CtlRun second = as_auditor({"login", "--user", "auditadmin"}, password + "\n" + AppCode(secret, UnixNow() + 30) + "\n");
  EXPECT_OK(second);
  EXPECT_NE(second.err.find("TOTP code"), std::string::npos) << second.err;
  EXPECT_EQ(Field(second.out, "must_change_password"), "false") << second.out;
  EXPECT_EQ(Field(second.out, "must_enrol_factor"), "false") << second.out;

  // Now the audit administrator does its work, and only that.
  CtlRun whoami = as_auditor({"whoami"});
  EXPECT_OK(whoami);
  EXPECT_NE(whoami.out.find("audit-admin"), std::string::npos) << whoami.out;
  CtlRun logins = as_auditor({"audit", "list", "--kind", "login"});
  EXPECT_OK(logins);
  EXPECT_NE(logins.out.find("auditadmin"), std::string::npos) << logins.out;
  CtlRun failed = as_auditor({"audit", "list", "--kind", "login_failed"});
  EXPECT_OK(failed);
  EXPECT_NE(failed.out.find("auditadmin"), std::string::npos) << "the wrong password is on record: " << failed.out;
  EXPECT_OK(as_auditor({"audit", "verify"}));
  CtlRun vms = as_auditor({"vm", "list"});
  EXPECT_EQ(vms.exit_code, 1);
  EXPECT_NE(vms.err.find("PERMISSION_DENIED"), std::string::npos) << vms.err;
}

TEST_F(CliStoryTest, AnAdministratorEnrolsAHost) {
  const std::string token_file = (dir_ / "node-x.enrol").string();
  const std::string ca_out = (dir_ / "node-x-ca.crt").string();
  CtlRun enrol = Admin({"host", "enrol", "node-x", "--pool", "edge", "--expires", "30m", "--token-out", token_file,
                        "--ca-out", ca_out});
  EXPECT_OK(enrol);
  EXPECT_NE(enrol.out.find("host_name   node-x"), std::string::npos) << enrol.out;
  EXPECT_NE(enrol.out.find("(written to " + token_file + ")"), std::string::npos) << enrol.out;
  EXPECT_EQ(enrol.out.find("gpe_"), std::string::npos) << "the secret went to the file only";
  EXPECT_EQ(ReadFile(token_file).rfind("gpe_", 0), 0u);
  struct stat st {};
  ASSERT_EQ(::stat(token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(ca_out), ReadFile(ca_file_));
  // At most 7 days.
  CtlRun bad_ttl = Admin({"host", "enrol", "node-y", "--expires", "30d"});
  EXPECT_EQ(bad_ttl.exit_code, 1) << bad_ttl.err;
  EXPECT_NE(bad_ttl.err.find("ttl_s"), std::string::npos) << bad_ttl.err;
}

TEST_F(CliStoryTest, ErrorsAndExitCodes) {
  // Flags beat the environment: a bad env token is overridden by --token-file.
  const std::map<std::string, std::string> bad = {{"GOVPOOL_URL", url_}, {"GOVPOOL_TOKEN", "nope"}};
  CtlRun unauth = Ctl({"flavor", "list"}, bad);
  EXPECT_EQ(unauth.exit_code, 1);
  EXPECT_EQ(unauth.err.rfind("error: UNAUTHENTICATED: ", 0), 0u) << unauth.err;
  EXPECT_OK(Ctl({"flavor", "list", "--token-file", admin_token_file_}, bad));

  CtlRun no_token = Ctl({"--url", url_, "flavor", "list"});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_NE(no_token.err.find("no token is configured"), std::string::npos) << no_token.err;

  CtlRun missing = Admin({"vm", "show", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("error: NOT_FOUND: ", 0), 0u) << missing.err;
  CtlRun no_name = Admin({"department", "show", "no-such-dept"});
  EXPECT_EQ(no_name.exit_code, 1);
  EXPECT_NE(no_name.err.find("no department named 'no-such-dept'"), std::string::npos);
  CtlRun invalid = Admin({"flavor", "create", "huge", "--vcpus", "2", "--memory-mib", "32", "--disk-gib", "1"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.err.rfind("error: INVALID_ARGUMENT: ", 0), 0u) << invalid.err;
  EXPECT_NE(invalid.err.find("memory_mib"), std::string::npos) << invalid.err;

  // Usage errors exit 2 without contacting anyone.
  CtlRun usage = Admin({"vm", "create", "x", "--department", "d"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--flavor is required"), std::string::npos) << usage.err;
  EXPECT_EQ(Admin({"vm", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Admin({"department", "create", "x", "--quota", "cores=3"}).exit_code, 2);
  EXPECT_EQ(Ctl({"--config", (dir_ / "no-such-config").string(), "vm", "list"}).exit_code, 2);

  // Help at every level exits 0 on stdout.
  CtlRun help = Ctl({"--help"});
  EXPECT_OK(help);
  EXPECT_NE(help.out.find("department"), std::string::npos);
  CtlRun vm_help = Ctl({"vm", "--help"});
  EXPECT_OK(vm_help);
  EXPECT_NE(vm_help.out.find("reboot"), std::string::npos);
  CtlRun create_help = Ctl({"vm", "create", "--help"});
  EXPECT_OK(create_help);
  EXPECT_NE(create_help.out.find("--stopped"), std::string::npos);

  // TLS: a CLI that does not trust the controller's CA does not talk to it (exit 3); --insecure
  // does, and says loudly what it gives up.
  const std::map<std::string, std::string> no_ca = {{"GOVPOOL_CA_FILE", ""}};
  CtlRun untrusted = Ctl({"--url", url_, "--token-file", admin_token_file_, "flavor", "list"}, no_ca);
  EXPECT_EQ(untrusted.exit_code, 3) << untrusted.err;
  EXPECT_NE(untrusted.err.find("TLS handshake"), std::string::npos) << untrusted.err;
  CtlRun insecure = Ctl({"--url", url_, "--token-file", admin_token_file_, "--insecure", "flavor", "list"}, no_ca);
  EXPECT_OK(insecure);
  EXPECT_NE(insecure.err.find("WARNING: --insecure: the controller's certificate is NOT verified"), std::string::npos)
      << insecure.err;

  // Unreachable server: exit 3. (The controller is stopped, so its port is closed.)
  StopController();
  CtlRun down = Ctl({"--url", url_, "--token", "x", "department", "list"});
  EXPECT_EQ(down.exit_code, 3) << down.err;
  EXPECT_EQ(down.err.rfind("error: UNAVAILABLE: cannot reach the controller at " + url_, 0), 0u)
      << down.err;
}

}  // namespace
}  // namespace govpool::cli
