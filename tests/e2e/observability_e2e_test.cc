// Observability end to end: a real Prometheus (Debian's package) scrapes a running controller
// (HTTPS, a metrics-reader token) and, found through the controller's http_sd endpoint, a real
// agent on libvirt with a running guest (its own scrape token), next to simulated hosts; then
// EVERY query of every Grafana dashboard (ops/grafana/dashboards) and EVERY recording rule
// (ops/prometheus/govpool.rules.yml) runs through Prometheus' HTTP API and must answer series,
// not an error and not nothing. Things the panels show are made to happen first: a refused
// placement, a drift repair (the guest destroyed behind the agent's back), a storage pool, a
// department with a finite quota, the OVN Northbound sync (GOVPOOL_TEST_OVN_NB). Never skips.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "api/client/http_client.h"
#include "api/http_message.h"
#include "common/ids.h"
#include "tests/support/child_process.h"
#include "tests/support/test_guest.h"

namespace govpool::e2e {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::steady_clock;
using testing::ChildProcess;
using testing::ReadFileOrEmpty;
using testing::kGuestBootedMarker;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool WaitFor(const std::function<bool()>& done, double seconds) {
  const auto deadline = steady_clock::now() + std::chrono::duration<double>(seconds);
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return done();
}

// A TCP port free on loopback now (the kernel's choice; released at once).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string Source(const std::string& relative) { return std::string(GOVPOOL_SOURCE_DIR) + "/" + relative; }

// Every query of every dashboard, with its file and panel title, template variables matching
// anything.
struct PanelQuery {
  std::string where;
  std::string expr;
};
std::vector<PanelQuery> DashboardQueries() {
  std::vector<PanelQuery> out;
  for (const auto& entry : fs::directory_iterator(Source("ops/grafana/dashboards"))) {
    if (entry.path().extension() != ".json") continue;
    const json::value d = json::parse(ReadFileOrEmpty(entry.path()));
    std::function<void(const json::array&)> walk = [&](const json::array& panels) {
      for (const json::value& p : panels) {
        const json::object& panel = p.as_object();
        if (const json::value* nested = panel.if_contains("panels")) walk(nested->as_array());
        const json::value* targets = panel.if_contains("targets");
        if (!targets) continue;
        for (const json::value& t : targets->as_array()) {
          std::string expr(t.as_object().at("expr").as_string());
          expr = std::regex_replace(expr, std::regex(R"(\$[a-z_]+)"), ".+");
          out.push_back({entry.path().filename().string() + ": " + std::string(panel.at("title").as_string()), expr});
        }
      }
    };
    walk(d.at("panels").as_array());
  }
  return out;
}

std::vector<std::string> RecordedRules() {
  std::vector<std::string> out;
  std::istringstream in(ReadFileOrEmpty(Source("ops/prometheus/govpool.rules.yml")));
  std::string line;
  const std::regex record(R"(^\s*- record:\s*(\S+)\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, record)) out.push_back(m[1]);
  }
  return out;
}

class ObservabilityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(RunProjectScript("start-libvirtd.sh"), 0) << "scripts/start-libvirtd.sh failed";
    ASSERT_EQ(RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'"), 0) << "scripts/make-test-guest.sh failed";
  }

  void SetUp() override {
    const char* nb = std::getenv("GOVPOOL_TEST_OVN_NB");
    ASSERT_TRUE(nb && *nb) << "GOVPOOL_TEST_OVN_NB must name the OVN Northbound database (scripts/start-ovn.sh)";
    run_dir_ = TestStateDir() + "/test-runs/obs-" + NewUuid().substr(0, 8);
    fs::create_directories(run_dir_);
    fs::permissions(run_dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
    host_name_ = "obs-" + NewUuid().substr(0, 8);
    controller_ = ChildProcess::Start(
        {GOVPOOL_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--state-dir", run_dir_ + "/controller", "--port-file",
         run_dir_ + "/port", "--heartbeat-timeout-seconds", "10", "--bootstrap-tokens", "--ovn-nb", nb,
         "--ovn-nb-owner", host_name_},
        run_dir_ + "/controller.log");
    ASSERT_GT(testing::WaitForPortFile(run_dir_ + "/port", *controller_, std::chrono::seconds(30)), 0)
        << "the controller did not start; see " << run_dir_ << "/controller.log";
    port_ = std::stoi(ReadFileOrEmpty(run_dir_ + "/port"));
    admin_ = ClientAs(Trim(ReadFileOrEmpty(run_dir_ + "/controller/system-admin-token")));
    security_ = ClientAs(Trim(ReadFileOrEmpty(run_dir_ + "/controller/security-admin-token")));
  }

  void TearDown() override {
    prometheus_.reset();
    agent_.reset();
    simulated_.reset();
    controller_.reset();
    for (const auto& id : vm_ids_) {
      const std::string name = "govpool-" + id;
      std::system(("virsh -q -c qemu:///system destroy " + name + " >/dev/null 2>&1; "
                   "virsh -q -c qemu:///system undefine --nvram " + name + " >/dev/null 2>&1").c_str());
    }
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
    } else {
      std::cerr << "logs kept in " << run_dir_ << "\n";
    }
  }

  std::unique_ptr<api::Client> ClientAs(const std::string& token) {
    api::ClientOptions o;
    o.base_url = "https://127.0.0.1:" + std::to_string(port_);
    o.ca_file = run_dir_ + "/controller/tls/ca.crt";
    o.bearer_token = token;
    return std::move(api::Client::Create(o)).value();
  }

  std::int64_t InADay() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
        .count();
  }

  // A token of a new user with `role`, made by the security-admin.
  std::string TokenOfNewUser(const std::string& name, api::Role role) {
    auto user = security_->CreateUser({name, role, ""});
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    if (!user.ok()) return "";
    api::CreateTokenRequest req;
    req.name = name;
    req.expires_at_ms = InADay();
    auto token = security_->CreateToken(user->meta.id, req);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return token.ok() ? token->token : "";
  }

  // An instant query; the number of series it answered, -1 on an error (in `error`).
  int Query(const std::string& expr, std::string* error) {
    auto resp = prometheus_client_->Send("GET", "/api/v1/query?query=" + api::PercentEncode(expr));
    if (!resp.ok()) {
      *error = resp.status().ToString();
      return -1;
    }
    boost::system::error_code ec;
    const json::value v = json::parse(resp->body, ec);
    if (ec || resp->status != 200 || v.at("status").as_string() != "success") {
      *error = std::to_string(resp->status) + " " + resp->body;
      return -1;
    }
    const json::value& result = v.at("data").at("result");
    return result.is_array() ? static_cast<int>(result.as_array().size()) : 1;  // scalar: one value
  }

  std::string run_dir_;
  std::string host_name_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> controller_;
  std::unique_ptr<ChildProcess> agent_;
  std::unique_ptr<ChildProcess> simulated_;
  std::unique_ptr<ChildProcess> prometheus_;
  std::unique_ptr<api::Client> admin_;
  std::unique_ptr<api::Client> security_;
  std::unique_ptr<api::HttpClient> prometheus_client_;
  std::vector<std::string> vm_ids_;
};

TEST_F(ObservabilityE2eTest, EveryDashboardQueryAndRecordingRuleAnswersFromARealPrometheus) {
  // The real host: an enrolled agent serving its metrics with a token of its own.
  api::CreateHostEnrolmentRequest enrol;
  enrol.host_name = host_name_;
  enrol.pool = "core";
  enrol.ttl_s = 600;
  auto enrolment = admin_->CreateHostEnrolment(enrol);
  ASSERT_TRUE(enrolment.ok()) << enrolment.status().ToString();
  std::ofstream(run_dir_ + "/enrolment-token") << enrolment->token << "\n";
  std::ofstream(run_dir_ + "/agent-metrics-token") << "agent-scrape-" << NewUuid() << "\n";
  const int agent_metrics_port = FreePort();
  agent_ = ChildProcess::Start(
      {GOVPOOL_AGENT_BIN, "--controller", "https://127.0.0.1:" + std::to_string(port_), "--ca-file",
       run_dir_ + "/controller/tls/ca.crt", "--enrolment-token-file", run_dir_ + "/enrolment-token", "--host-name",
       host_name_, "--libvirt-uri", "qemu:///system", "--domain-type", "qemu", "--state-dir", run_dir_ + "/agent",
       "--guest-kernel", TestGuestDir() + "/vmlinuz", "--guest-initrd", TestGuestDir() + "/initrd.img",
       "--reconcile-interval-seconds", "2", "--heartbeat-interval-seconds", "2", "--metrics-listen",
       "127.0.0.1:" + std::to_string(agent_metrics_port), "--metrics-token-file", run_dir_ + "/agent-metrics-token"},
      run_dir_ + "/agent.log");
  // Simulated hosts beside it (they serve no metrics of their own; the controller's cover them).
  std::ofstream(run_dir_ + "/sim-token") << TokenOfNewUser("sim-agent", api::Role::kAgent) << "\n";
  simulated_ = ChildProcess::Start({GOVPOOL_AGENT_BIN, "--controller", "https://127.0.0.1:" + std::to_string(port_),
                                    "--ca-file", run_dir_ + "/controller/tls/ca.crt", "--token-file",
                                    run_dir_ + "/sim-token", "--simulate-hosts", "3", "--sim-prefix", host_name_ + "-sim",
                                    "--pool", "core", "--log-level", "warn"},
                                   run_dir_ + "/simulated.log");
  ASSERT_TRUE(WaitFor([&] {
    auto hosts = admin_->ListHosts();
    return hosts.ok() && hosts->items.size() == 4;
  }, 60)) << "the hosts did not register; see " << run_dir_;

  // What the panels show: a department with a finite quota and a running VM on the real host, a
  // placement refused, a storage pool, a drift repaired.
  api::CreateDepartmentRequest dept;
  dept.name = "tax-bureau";
  dept.quota.instances = 10;
  dept.quota.vcpus = 8;
  dept.quota.memory_mib = 8192;
  auto d = admin_->CreateDepartment(dept);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  for (const auto& [name, disk_gib] : {std::pair<const char*, int>{"tiny", 1}, {"too-big", 100'000}}) {
    api::CreateFlavorRequest flavor;
    flavor.name = name;
    flavor.vcpus = 1;
    flavor.memory_mib = 128;
    flavor.disk_gib = disk_gib;
    ASSERT_TRUE(admin_->CreateFlavor(flavor).ok()) << name;
  }
  api::CreateVmRequest vm;
  vm.name = "web-1";
  vm.department_id = d->meta.id;
  vm.flavor = "tiny";
  auto vms = admin_->CreateVms(vm);
  ASSERT_TRUE(vms.ok()) << vms.status().ToString();
  const std::string vm_id = vms->front().meta.id;
  vm_ids_.push_back(vm_id);
  auto placed_on = admin_->GetHost(vms->front().host_id);
  ASSERT_TRUE(placed_on.ok()) << placed_on.status().ToString();
  EXPECT_EQ(placed_on->name, host_name_) << "placed on the real host (the simulated ones are pending)";
  vm.name = "too-big";
  vm.flavor = "too-big";
  EXPECT_EQ(admin_->CreateVms(vm).status().reason(), "NO_VALID_HOST");
  api::CreateStoragePoolRequest pool;
  pool.name = "fast";
  pool.cluster = "ceph";
  ASSERT_TRUE(admin_->CreateStoragePool(pool).ok());
  const std::string console = run_dir_ + "/agent/console/govpool-" + vm_id + ".log";
  ASSERT_TRUE(WaitFor([&] { return ReadFileOrEmpty(console).find(kGuestBootedMarker) != std::string::npos; }, 180))
      << "the guest did not boot; see " << run_dir_;
  ASSERT_EQ(std::system(("virsh -q -c qemu:///system destroy govpool-" + vm_id + " >/dev/null").c_str()), 0);

  // Prometheus: the controller by its address, the agents through the controller's http_sd.
  const std::string reader_token = [&] {
    auto session = admin_->GetSession();
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    api::CreateTokenRequest req;
    req.name = "prometheus";
    req.expires_at_ms = InADay();
    req.role = api::Role::kMetricsReader;
    auto token = admin_->CreateToken(session.ok() ? session->user.meta.id : "", req);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return token.ok() ? token->token : "";
  }();
  std::ofstream(run_dir_ + "/prometheus.token") << reader_token << "\n";
  // The shipped rules, evaluated every second instead of every 30 (nothing else changed).
  std::string rules = ReadFileOrEmpty(Source("ops/prometheus/govpool.rules.yml"));
  rules = std::regex_replace(rules, std::regex("interval: 30s"), "interval: 1s");
  std::ofstream(run_dir_ + "/govpool.rules.yml") << rules;
  const std::string controller_url = "127.0.0.1:" + std::to_string(port_);
  std::ofstream(run_dir_ + "/prometheus.yml")
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
      << "rule_files: [" << run_dir_ << "/govpool.rules.yml]\n"
      << "scrape_configs:\n"
      << "  - job_name: govpool-controller\n"
      << "    scheme: https\n"
      << "    tls_config: {ca_file: " << run_dir_ << "/controller/tls/ca.crt}\n"
      << "    authorization: {credentials_file: " << run_dir_ << "/prometheus.token}\n"
      << "    static_configs: [{targets: ['" << controller_url << "']}]\n"
      << "  - job_name: govpool-agents\n"
      << "    authorization: {credentials_file: " << run_dir_ << "/agent-metrics-token}\n"
      << "    http_sd_configs:\n"
      << "      - url: https://" << controller_url << "/v1/metrics/targets\n"
      << "        refresh_interval: 2s\n"
      << "        tls_config: {ca_file: " << run_dir_ << "/controller/tls/ca.crt}\n"
      // `type: Bearer` spelled out: Prometheus 2.42 leaves it empty in http_sd_configs and sends
      // the bare token (docs/operations.md).
      << "        authorization: {type: Bearer, credentials_file: " << run_dir_ << "/prometheus.token}\n";
  const int prometheus_port = FreePort();
  const std::string prometheus_bin = "/usr/bin/prometheus";  // Debian's package (scripts/setup.sh)
  ASSERT_TRUE(fs::exists(prometheus_bin)) << "no " << prometheus_bin << ": scripts/setup.sh installs it";
  prometheus_ = ChildProcess::Start({prometheus_bin, "--config.file=" + run_dir_ + "/prometheus.yml",
                                     "--storage.tsdb.path=" + run_dir_ + "/tsdb",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                                    run_dir_ + "/prometheus.log");
  api::ClientOptions po;
  po.base_url = "http://127.0.0.1:" + std::to_string(prometheus_port);
  prometheus_client_ = std::move(api::HttpClient::Create(po)).value();

  // Both jobs up: the agent found through the endpoint, with the endpoint's labels.
  std::string error;
  ASSERT_TRUE(WaitFor([&] { return Query("up{job=\"govpool-controller\"} == 1", &error) == 1; }, 60))
      << "Prometheus does not scrape the controller: " << error << "; see " << run_dir_ << "/prometheus.log";
  ASSERT_TRUE(WaitFor([&] {
    return Query("up{job=\"govpool-agents\",host=\"" + host_name_ + "\",pool=\"core\"} == 1", &error) == 1;
  }, 60)) << "Prometheus does not scrape the agent found through /v1/metrics/targets: " << error;
  // The drift was repaired (the guest restarted) and the series had time for their rates.
  ASSERT_TRUE(WaitFor([&] { return Query("govpool_agent_drift_repairs_total{kind=\"restarted\"}", &error) == 1; }, 60))
      << "no drift repair seen: " << error;

  // Every panel's query and every recording rule answers series, within a minute.
  std::vector<std::pair<std::string, std::string>> checks;
  for (const PanelQuery& q : DashboardQueries()) checks.emplace_back(q.where, q.expr);
  for (const std::string& record : RecordedRules()) checks.emplace_back("recording rule", record);
  ASSERT_GE(checks.size(), 60u) << "the dashboards and rules were not all found";
  const auto deadline = steady_clock::now() + std::chrono::seconds(60);
  for (const auto& [where, expr] : checks) {
    int series = 0;
    do {
      series = Query(expr, &error);
      if (series > 0 || series < 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } while (steady_clock::now() < deadline);
    EXPECT_GT(series, 0) << where << ": " << expr << (series < 0 ? " failed: " + error : " answered no series");
  }
  // The per-VM series carry the VM's name and department from the controller.
  EXPECT_EQ(Query("govpool_vm_cpu_seconds_total{vm=\"web-1\",department_id=\"" + d->meta.id + "\",vm_id=\"" + vm_id +
                      "\"}",
                  &error),
            1)
      << error;
}

}  // namespace
}  // namespace govpool::e2e
