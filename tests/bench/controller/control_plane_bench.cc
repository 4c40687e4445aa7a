// Control plane at scale (a tool, not a ctest test): starts govpool-controller and
// `govpool-agent --simulate-hosts N`, creates VMs through the REST API from concurrent
// clients, waits until every VM reports `running`, and prints one JSON object:
// hosts, vms, clients, create phase seconds and requests/s, p50/p99/max create latency,
// seconds until all running, controller and agent peak RSS (VmHWM).
//
// usage: control_plane_bench [--hosts 1000] [--vms 10000] [--clients 64] [--sim-workers 4]
//                            [--sim-poll-ms 1000] [--controller-threads 4] [--timeout-s 600]
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "tests/support/child_process.h"

namespace {

using govpool::testing::ChildProcess;

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

long VmHwmKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int Fail(const std::string& what) {
  std::cerr << "control_plane_bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = 1000, vms = 10000, clients = 64, sim_workers = 4, sim_poll_ms = 1000;
  int controller_threads = 4, timeout_s = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--hosts") hosts = v;
    else if (a == "--vms") vms = v;
    else if (a == "--clients") clients = v;
    else if (a == "--sim-workers") sim_workers = v;
    else if (a == "--sim-poll-ms") sim_poll_ms = v;
    else if (a == "--controller-threads") controller_threads = v;
    else if (a == "--timeout-s") timeout_s = v;
    else return Fail("unknown flag " + a);
  }
  signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/govpool-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return Fail("mkdtemp failed");
  const std::string dir = tmpl;

  // The bench's clients share one token on purpose (it measures the control plane's throughput,
  // not the per-credential limit, which it would hit at once).
  const auto controller = ChildProcess::Start({GOVPOOL_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--state-dir",
                                  dir + "/controller", "--port-file", dir + "/port", "--threads",
                                  std::to_string(controller_threads), "--log-level", "warn", "--bootstrap-tokens", "--insecure-http",
                                  "--credential-rate-limit", "0"},
                                 dir + "/controller.log");
  if (!controller) return Fail("fork failed");
  std::unique_ptr<ChildProcess> agent;
  auto cleanup = [&] {
    if (agent) agent->Stop(std::chrono::seconds(30));
    controller->Stop(std::chrono::seconds(30));
    std::error_code ec;
    if (!std::getenv("GOVPOOL_BENCH_KEEP")) fs::remove_all(dir, ec);
  };
  for (int i = 0; i < 300 && Trim(ReadFile(dir + "/port")).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string port = Trim(ReadFile(dir + "/port"));
  if (port.empty()) return cleanup(), Fail("the controller did not start; see " + dir);
  const std::string url = "http://127.0.0.1:" + port;
  govpool::api::ClientOptions admin_opts;
  admin_opts.base_url = url;
  admin_opts.bearer_token = Trim(ReadFile(dir + "/controller/system-admin-token"));
  namespace api = govpool::api;
  auto admin = std::move(api::Client::Create(admin_opts)).value();
  // The agent's user and token are the security-admin's to make.
  govpool::api::ClientOptions security_opts = admin_opts;
  security_opts.bearer_token = Trim(ReadFile(dir + "/controller/security-admin-token"));
  auto security = std::move(api::Client::Create(security_opts)).value();
  auto user = security->CreateUser({"sim-agent", api::Role::kAgent, ""});
  if (!user.ok()) return cleanup(), Fail("cannot create the agent user: " + user.status().ToString());
  api::CreateTokenRequest token_req;
  token_req.name = "sim";
  token_req.expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
                                .count();
  auto tok = security->CreateToken(user->meta.id, token_req);
  if (!tok.ok()) return cleanup(), Fail("cannot create the agent token: " + tok.status().ToString());
  std::ofstream(dir + "/agent-token") << tok->token << "\n";

  const auto t_hosts = Clock::now();
  agent = ChildProcess::Start({GOVPOOL_AGENT_BIN, "--controller", url, "--token-file", dir + "/agent-token",
                 "--simulate-hosts", std::to_string(hosts), "--sim-workers", std::to_string(sim_workers),
                 "--sim-poll-ms", std::to_string(sim_poll_ms), "--log-level", "warn"},
                dir + "/agent.log");
  while (ReadFile(dir + "/agent.log").find("simulated hosts registered") == std::string::npos) {
    if (Seconds(t_hosts, Clock::now()) > timeout_s) return cleanup(), Fail("hosts did not register");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double register_s = Seconds(t_hosts, Clock::now());
  // A token agent's new hosts join pending (docs/security.md, "Registration"): the
  // system-admin approves them, outside the registration time.
  for (api::HostQuery page{}; ;) {
    page.limit = 1000;
    auto listed = admin->ListHosts(page);
    if (!listed.ok()) return cleanup(), Fail("cannot list the hosts: " + listed.status().ToString());
    for (const api::Host& h : listed->items) {
      if (!h.pending) continue;
      api::PatchHostRequest approve;
      approve.enabled = true;
      if (auto a = admin->PatchHost(h.meta.id, approve); !a.ok()) {
        return cleanup(), Fail("cannot approve host " + h.name + ": " + a.status().ToString());
      }
    }
    if (listed->next_page_token.empty()) break;
    page.page_token = listed->next_page_token;
  }
  api::CreateDepartmentRequest dept_req;
  dept_req.name = "bench";
  dept_req.quota.instances = dept_req.quota.vcpus = dept_req.quota.memory_mib = -1;
  auto dept = admin->CreateDepartment(dept_req);
  if (!dept.ok()) return cleanup(), Fail("cannot create the department: " + dept.status().ToString());
  api::CreateFlavorRequest flavor_req;
  flavor_req.name = "bench";
  flavor_req.vcpus = 1;
  flavor_req.memory_mib = 512;
  flavor_req.disk_gib = 1;
  if (auto f = admin->CreateFlavor(flavor_req); !f.ok()) {
    return cleanup(), Fail("cannot create the flavor: " + f.status().ToString());
  }
  const std::string dept_id = dept->meta.id;

  // Create phase: `clients` threads, one connection each.
  std::atomic<int> next{0}, errors{0};
  std::vector<std::vector<double>> latencies(clients);
  const auto t_create = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      govpool::api::ClientOptions o = admin_opts;
      auto client = std::move(api::Client::Create(o)).value();
      char name[32];
      api::CreateVmRequest req;
      req.department_id = dept_id;
      req.flavor = "bench";
      for (int i = next++; i < vms; i = next++) {
        std::snprintf(name, sizeof name, "vm-%06d", i);
        req.name = name;
        const auto t = Clock::now();
        auto r = client->CreateVms(req);
        latencies[c].push_back(Seconds(t, Clock::now()));
        if (!r.ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double create_s = Seconds(t_create, Clock::now());

  // Wait until every VM reports running.
  int running = 0;
  double all_running_s = -1;
  while (Seconds(t_create, Clock::now()) < timeout_s) {
    running = 0;
    api::VmQuery q;
    q.state = api::VmState::kRunning;
    q.limit = 1000;
    do {
      auto page = admin->ListVms(q);
      if (!page.ok()) break;
      running += static_cast<int>(page->items.size());
      q.page_token = page->next_page_token;
    } while (!q.page_token.empty());
    if (running >= vms - errors) {
      all_running_s = Seconds(t_create, Clock::now());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  json::object out{{"hosts", hosts},
                   {"vms", vms},
                   {"clients", clients},
                   {"sim_workers", sim_workers},
                   {"sim_poll_ms", sim_poll_ms},
                   {"controller_threads", controller_threads},
                   {"hosts_register_seconds", register_s},
                   {"create_errors", errors.load()},
                   {"create_seconds", create_s},
                   {"create_requests_per_second", vms / create_s},
                   {"create_latency_p50_ms", pct(0.50) * 1000},
                   {"create_latency_p99_ms", pct(0.99) * 1000},
                   {"create_latency_max_ms", all.empty() ? 0.0 : all.back() * 1000},
                   {"running", running},
                   {"seconds_until_all_running", all_running_s},
                   {"controller_peak_rss_mib", VmHwmKib(controller->pid()) / 1024.0},
                   {"agent_peak_rss_mib", VmHwmKib(agent->pid()) / 1024.0}};
  std::cout << json::serialize(out) << std::endl;
  cleanup();
  return all_running_s < 0 ? 1 : 0;
}
