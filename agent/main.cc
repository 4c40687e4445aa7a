// govpool-agent: the node agent. Registers its host with the controller (facts from libvirt),
// heartbeats, watches the VMs assigned to the host (long-poll) and reconciles libvirt to them
// (agent/reconciler.h). With --simulate-hosts N it instead runs N simulated hosts with
// in-memory hypervisors in this one process, speaking the same protocol (scale tests).
// Only this file wires real implementations together.
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/controller_client.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "agent/reconciler.h"
#include "agent/simulated_hypervisor.h"
#include "common/flags.h"
#include "common/log.h"

namespace govpool::agent {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct Flags {
  std::string controller_url = "http://127.0.0.1:8080";
  std::string token_file;
  std::string host_name;
  std::string pool;
  std::string libvirt_uri = "qemu:///system";
  std::string domain_type = "auto";
  std::string state_dir = "/var/lib/govpool-agent";
  std::string disk_dir;     // default STATE_DIR/disks
  std::string console_dir;  // default STATE_DIR/console
  std::string guest_kernel;
  std::string guest_initrd;
  std::string guest_cmdline = "console=ttyS0 panic=-1";
  int reconcile_interval_s = 10;
  int heartbeat_interval_s = 10;
  int shutdown_grace_s = 30;
  int min_memory_mib = 96;
  int simulate_hosts = 0;
  int sim_workers = 4;
  int sim_poll_ms = 1000;
  std::string sim_prefix = "sim";
  std::string log_level = "info";
};

constexpr const char* kUsage = R"(usage: govpool-agent [flags]
  --controller URL               controller base URL (default http://127.0.0.1:8080)
                                 env GOVPOOL_CONTROLLER_URL
  --token-file FILE              file holding this agent's bearer token (an "agent" user's
                                 token) env GOVPOOL_AGENT_TOKEN_FILE; required
  --host-name NAME               the host's name at the controller (default: hostname)
  --pool NAME                    host pool to register in
  --libvirt-uri URI              libvirt connection (default qemu:///system)
  --domain-type kvm|qemu|auto    domain type; auto: kvm when usable, else qemu (default auto)
  --state-dir DIR                agent state (default /var/lib/govpool-agent)
  --disk-dir DIR                 VM root disks (default STATE_DIR/disks)
  --console-dir DIR              serial console logs (default STATE_DIR/console)
  --guest-kernel FILE --guest-initrd FILE --guest-cmdline TEXT
                                 direct kernel boot for every guest (test guests)
  --reconcile-interval-seconds N reconcile at least this often (default 10)
  --heartbeat-interval-seconds N (default 10)
  --shutdown-grace-seconds N     ACPI shutdown, then hard power-off after N s (default 30)
  --min-memory-mib N             raise smaller VMs to this much memory (default 96)
  --simulate-hosts N             run N simulated hosts (in-memory hypervisors) instead
  --sim-workers N                threads for simulated hosts (default 4)
  --sim-poll-ms N                how often each simulated host polls its VMs (default 1000)
  --sim-prefix NAME              simulated host names are NAME-00001... (default sim)
  --log-level debug|info|warn|error
)";

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  if (const char* e = std::getenv("GOVPOOL_CONTROLLER_URL")) f.controller_url = e;
  if (const char* e = std::getenv("GOVPOOL_AGENT_TOKEN_FILE")) f.token_file = e;
  FlagSet flags;
  flags.Int("--reconcile-interval-seconds", &f.reconcile_interval_s, 1, 3600);
  flags.Int("--heartbeat-interval-seconds", &f.heartbeat_interval_s, 1, 3600);
  flags.Int("--shutdown-grace-seconds", &f.shutdown_grace_s, 0, 3600);
  flags.Int("--min-memory-mib", &f.min_memory_mib, 0, 1 << 20);
  flags.Int("--simulate-hosts", &f.simulate_hosts, 1, 100000);
  flags.Int("--sim-workers", &f.sim_workers, 1, 64);
  flags.Int("--sim-poll-ms", &f.sim_poll_ms, 10, 60000);
  flags.String("--controller", &f.controller_url);
  flags.String("--token-file", &f.token_file);
  flags.String("--host-name", &f.host_name);
  flags.String("--pool", &f.pool);
  flags.String("--libvirt-uri", &f.libvirt_uri);
  flags.String("--domain-type", &f.domain_type);
  flags.String("--state-dir", &f.state_dir);
  flags.String("--disk-dir", &f.disk_dir);
  flags.String("--console-dir", &f.console_dir);
  flags.String("--guest-kernel", &f.guest_kernel);
  flags.String("--guest-initrd", &f.guest_initrd);
  flags.String("--guest-cmdline", &f.guest_cmdline);
  flags.String("--sim-prefix", &f.sim_prefix);
  flags.String("--log-level", &f.log_level);
  bool help = false;
  GP_RETURN_IF_ERROR(flags.Parse(argc, argv, &help));
  if (help) {
    std::cout << kUsage;
    std::exit(0);
  }
  if (f.token_file.empty()) return InvalidArgument("--token-file is required (an agent user's token)");
  if (f.domain_type != "auto" && f.domain_type != "kvm" && f.domain_type != "qemu") {
    return InvalidArgument("--domain-type must be kvm, qemu or auto");
  }
  if (f.controller_url.rfind("http://", 0) != 0 && f.controller_url.rfind("https://", 0) != 0) {
    return InvalidArgument("--controller must be an http:// or https:// URL");
  }
  if (f.guest_kernel.empty() != f.guest_initrd.empty()) {
    return InvalidArgument("--guest-kernel and --guest-initrd go together");
  }
  GP_ASSIGN_OR_RETURN(log::Level level, log::ParseLevel(f.log_level));
  log::SetMinLevel(level);
  return f;
}

Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read the token file " + path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return InvalidArgument("the token file " + path + " is empty");
  return token;
}

Result<std::string> Absolute(const std::string& path, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return InvalidArgument("cannot create " + what + " " + path + ": " + ec.message());
  auto abs = std::filesystem::absolute(path, ec);
  if (ec) return InvalidArgument("bad " + what + " " + path);
  return abs.lexically_normal().string();
}

void SleepFor(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!g_stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(d, std::chrono::milliseconds(100)));
  }
}

// Registers until it works; fatal for errors a retry cannot fix.
Result<api::Host> RegisterWithRetry(ControllerClient& client, const api::RegisterHostRequest& req) {
  while (!g_stop) {
    auto host = client.RegisterHost(req);
    if (host.ok()) return host;
    const StatusCode code = host.status().code();
    if (code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied ||
        code == StatusCode::kInvalidArgument) {
      return host.status();
    }
    log::Warn("cannot register the host yet; retrying", {{"host", req.name}, {"error", host.status().ToString()}});
    SleepFor(std::chrono::seconds(1));
  }
  return Unavailable("stopping");
}

api::ClientOptions ClientOptionsFor(const Flags& f, const std::string& token, int longest_poll_s) {
  api::ClientOptions o;
  o.base_url = f.controller_url;
  o.bearer_token = token;
  o.timeout_ms = (longest_poll_s + 15) * 1000;
  return o;
}

// ---------------------------------------------------------------- one real host (libvirt)
int RunHost(const Flags& f, const std::string& token) {
  std::string host_name = f.host_name;
  if (host_name.empty()) {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    host_name = buf;
  }
  auto state_dir = Absolute(f.state_dir, "state dir");
  if (!state_dir.ok()) return std::cerr << "govpool-agent: " << state_dir.status().message() << "\n", 2;
  auto disk_dir = Absolute(f.disk_dir.empty() ? *state_dir + "/disks" : f.disk_dir, "disk dir");
  if (!disk_dir.ok()) return std::cerr << "govpool-agent: " << disk_dir.status().message() << "\n", 2;
  auto console_dir = Absolute(f.console_dir.empty() ? *state_dir + "/console" : f.console_dir, "console dir");
  if (!console_dir.ok()) return std::cerr << "govpool-agent: " << console_dir.status().message() << "\n", 2;
  for (const std::string* p : {&f.guest_kernel, &f.guest_initrd}) {
    if (!p->empty() && ::access(p->c_str(), R_OK) != 0) {
      std::cerr << "govpool-agent: cannot read guest boot file " << *p << "\n";
      return 2;
    }
  }

  auto hv = LibvirtHypervisor::Open({f.libvirt_uri, "qemu-img"});
  if (!hv.ok()) {
    std::cerr << "govpool-agent: cannot connect to libvirt at " << f.libvirt_uri << ": "
              << hv.status().ToString() << " (is libvirtd running? scripts/start-libvirtd.sh)\n";
    return 1;
  }
  auto facts = (*hv)->GetHostFacts();
  if (!facts.ok()) {
    std::cerr << "govpool-agent: cannot read host facts: " << facts.status().ToString() << "\n";
    return 1;
  }
  auto domain_type = ChooseDomainType(*facts, f.domain_type == "auto" ? "" : f.domain_type);
  if (!domain_type.ok()) {
    std::cerr << "govpool-agent: " << domain_type.status().message() << "\n";
    return 2;
  }

  api::RegisterHostRequest reg;
  reg.name = host_name;
  reg.pool = f.pool;
  reg.capacity.cpus = facts->cpus;
  reg.capacity.memory_mib = facts->memory_mib;
  struct statvfs vfs {};
  if (::statvfs(disk_dir->c_str(), &vfs) == 0) {
    reg.capacity.disk_gib = static_cast<std::int64_t>(vfs.f_blocks * vfs.f_frsize >> 30);
  }
  std::int64_t cell_cpus = 0, cell_mem = 0;
  for (const auto& c : facts->numa_cells) {
    cell_cpus += c.cpus;
    cell_mem += c.memory_mib;
  }
  if (!facts->numa_cells.empty() && cell_cpus == facts->cpus && cell_mem == facts->memory_mib) {
    for (const auto& c : facts->numa_cells) reg.capacity.numa_cells.push_back({c.id, c.cpus, c.memory_mib});
  }

  auto client = HttpControllerClient::Create(ClientOptionsFor(f, token, f.reconcile_interval_s));
  if (!client.ok()) {
    std::cerr << "govpool-agent: " << client.status().message() << "\n";
    return 2;
  }
  auto host = RegisterWithRetry(**client, reg);
  if (!host.ok()) {
    if (g_stop) return 0;
    std::cerr << "govpool-agent: cannot register host " << host_name << ": " << host.status().ToString() << "\n";
    return 1;
  }
  const std::string host_id = host->meta.id;
  std::ofstream(*state_dir + "/host-id") << host_id << "\n";
  log::Info("agent registered", {{"host", host_name}, {"host_id", host_id}, {"domain_type", *domain_type},
                                 {"cpus", facts->cpus}, {"memory_mib", facts->memory_mib},
                                 {"libvirt_uri", f.libvirt_uri}});

  std::thread heartbeat([&] {
    auto hb = HttpControllerClient::Create(ClientOptionsFor(f, token, 0));
    if (!hb.ok()) return;
    while (!g_stop) {
      SleepFor(std::chrono::seconds(f.heartbeat_interval_s));
      if (g_stop) break;
      auto usage = MeasureActualUsage(**hv);
      if (!usage.ok()) log::Warn("cannot measure host usage", {{"error", usage.status().ToString()}});
      Status s = (*hb)->Heartbeat(host_id, usage.ok() ? &*usage : nullptr);
      if (s.code() == StatusCode::kNotFound) {
        (void)(*hb)->RegisterHost(reg);
      } else if (!s.ok()) {
        log::Warn("heartbeat failed", {{"error", s.ToString()}});
      }
    }
  });

  ReconcilerOptions ro;
  ro.host_id = host_id;
  ro.domain_type = *domain_type;
  ro.disk_dir = *disk_dir;
  ro.console_dir = *console_dir;
  ro.kernel_path = f.guest_kernel.empty() ? "" : std::filesystem::absolute(f.guest_kernel).string();
  ro.initrd_path = f.guest_initrd.empty() ? "" : std::filesystem::absolute(f.guest_initrd).string();
  ro.kernel_cmdline = f.guest_cmdline;
  ro.shutdown_grace_ms = std::int64_t{f.shutdown_grace_s} * 1000;
  ro.min_memory_mib = f.min_memory_mib;
  Reconciler reconciler(**hv, **client, ro);

  std::int64_t revision = 0;
  bool have_desired = false;
  std::vector<api::Vm> desired;
  while (!g_stop) {
    const int timeout_s = reconciler.busy() ? 1 : f.reconcile_interval_s;
    auto answer = (*client)->WatchVms(host_id, revision, timeout_s);
    if (answer.ok()) {
      revision = answer->revision;
      desired = std::move(answer->items);
      have_desired = true;
    } else {
      log::Warn("watch failed; reconciling with the last known desired state",
                {{"error", answer.status().ToString()}});
      if (answer.status().code() == StatusCode::kNotFound) (void)(*client)->RegisterHost(reg);
      revision = 0;
      SleepFor(std::chrono::seconds(1));
    }
    // Never act before the controller has said what this host should run.
    if (!have_desired || g_stop) continue;
    auto summary = reconciler.Reconcile(desired);
    if (!summary.ok()) {
      log::Warn("reconcile skipped: hypervisor unavailable", {{"error", summary.status().ToString()}});
      SleepFor(std::chrono::seconds(1));
    }
  }
  log::Info("agent stopping; guests are left as they are");
  heartbeat.join();
  return 0;
}

// ---------------------------------------------------------------- simulated hosts
struct SimHost {
  std::string name;
  std::string id;
  std::unique_ptr<SimulatedHypervisor> hv;
  std::unique_ptr<Reconciler> reconciler;
  std::int64_t revision = 0;
  std::chrono::steady_clock::time_point next_poll;
  std::chrono::steady_clock::time_point next_heartbeat;
};

int RunSimulated(const Flags& f, const std::string& token) {
  const int n = f.simulate_hosts;
  const int workers = std::min(f.sim_workers, n);
  std::vector<std::unique_ptr<SimHost>> hosts;
  for (int i = 0; i < n; ++i) {
    auto h = std::make_unique<SimHost>();
    char name[64];
    std::snprintf(name, sizeof name, "%s-%05d", f.sim_prefix.c_str(), i + 1);
    h->name = name;
    HostFacts facts;
    facts.hostname = name;
    facts.cpus = 32;
    facts.memory_mib = 128 * 1024;
    facts.numa_cells = {{0, 16, 64 * 1024}, {1, 16, 64 * 1024}};
    facts.domain_types = {"qemu"};
    h->hv = std::make_unique<SimulatedHypervisor>(facts);
    hosts.push_back(std::move(h));
  }
  std::atomic<int> registered{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto client = HttpControllerClient::Create(ClientOptionsFor(f, token, 0));
      if (!client.ok()) {
        failed = true;
        return;
      }
      std::vector<SimHost*> mine;
      for (int i = w; i < n; i += workers) mine.push_back(hosts[i].get());
      for (SimHost* h : mine) {
        api::RegisterHostRequest reg;
        reg.name = h->name;
        reg.pool = f.pool;
        reg.capacity = {32, 128 * 1024, 2000, {{0, 16, 64 * 1024}, {1, 16, 64 * 1024}}};
        auto host = RegisterWithRetry(**client, reg);
        if (!host.ok()) {
          if (!g_stop) log::Error("cannot register a simulated host", {{"host", h->name}, {"error", host.status().ToString()}});
          failed = true;
          g_stop = true;
          return;
        }
        h->id = host->meta.id;
        ReconcilerOptions ro;
        ro.host_id = h->id;
        ro.domain_type = "qemu";
        ro.disk_dir = "/simulated/" + h->name + "/disks";
        ro.shutdown_grace_ms = 0;
        h->reconciler = std::make_unique<Reconciler>(*h->hv, **client, ro);
        const auto now = std::chrono::steady_clock::now();
        // Spread polls and heartbeats over their intervals.
        h->next_poll = now + std::chrono::milliseconds((registered * 7919) % f.sim_poll_ms);
        h->next_heartbeat = now + std::chrono::milliseconds((registered * 7919) % (f.heartbeat_interval_s * 1000));
        ++registered;
      }
      while (!g_stop) {
        auto now = std::chrono::steady_clock::now();
        auto next = now + std::chrono::milliseconds(50);
        for (SimHost* h : mine) {
          if (g_stop) break;
          now = std::chrono::steady_clock::now();
          if (now >= h->next_heartbeat) {
            auto usage = MeasureActualUsage(*h->hv);
            if (Status s = (*client)->Heartbeat(h->id, usage.ok() ? &*usage : nullptr); !s.ok()) {
              log::Warn("simulated heartbeat failed", {{"host", h->name}, {"error", s.ToString()}});
            }
            h->next_heartbeat = now + std::chrono::seconds(f.heartbeat_interval_s);
          }
          if (now >= h->next_poll) {
            h->next_poll = now + std::chrono::milliseconds(f.sim_poll_ms);
            auto answer = (*client)->WatchVms(h->id, h->revision, 0);
            if (answer.ok()) {
              h->revision = answer->revision;
              auto summary = h->reconciler->Reconcile(answer->items);
              // Our reports changed the VMs: look again soon instead of a whole interval.
              if (summary.ok() && summary->reports > 0) {
                h->next_poll = now + std::chrono::milliseconds(std::min(100, f.sim_poll_ms));
              }
            }
          }
          next = std::min({next, h->next_poll, h->next_heartbeat});
        }
        std::this_thread::sleep_until(next);
      }
    });
  }
  // Progress line once every host is registered (scripts and the benchmark wait for it).
  while (!g_stop && registered < n) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!g_stop) {
    std::cout << "simulated hosts registered: " << n << std::endl;
    log::Info("simulated hosts registered", {{"hosts", n}, {"workers", workers}});
  }
  for (auto& t : threads) t.join();
  return failed ? 1 : 0;
}

int Run(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "govpool-agent: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  auto token = ReadToken(flags->token_file);
  if (!token.ok()) {
    std::cerr << "govpool-agent: " << token.status().message() << "\n";
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (flags->simulate_hosts > 0) return RunSimulated(*flags, *token);
  return RunHost(*flags, *token);
}

}  // namespace
}  // namespace govpool::agent

int main(int argc, char** argv) { return govpool::agent::Run(argc, argv); }
