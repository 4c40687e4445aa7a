// govpool-agent: the node agent. Registers its host with the controller (facts from libvirt),
// heartbeats, watches the VMs assigned to the host (long-poll) and reconciles libvirt to them
// (agent/reconciler.h), and, with --ceph-conf, converges the host's storage work in the Ceph
// cluster (agent/storage_reconciler.h). With --simulate-hosts N it instead runs N simulated
// hosts with in-memory hypervisors in this one process, speaking the same protocol (scale
// tests).
// Only this file wires real implementations together.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_certificate.h"
#include "agent/agent_metrics.h"
#include "agent/http_controller_client.h"
#include "agent/drivers/ceph/rbd_block_storage.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "agent/drivers/libvirt/qemu_img.h"
#include "agent/host_agent.h"
#include "agent/options.h"
#include "agent/reconciler.h"
#include "agent/simulated_hypervisor.h"
#include "agent/storage_reconciler.h"
#include "api/server/http_server.h"
#include "common/crypto.h"
#include "common/log.h"

namespace govpool::agent {
namespace {

int g_signal_pipe[2] = {-1, -1};
void OnSignal(int) {
  const char c = 1;
  (void)!::write(g_signal_pipe[1], &c, 1);
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

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read the " + what + " " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A stable UUID (version 5 layout) for the libvirt secret of one cluster's cephx user: the same
// at every start, so the secret is replaced rather than piled up.
std::string CephSecretUuid(const std::string& cluster, const std::string& client_id) {
  std::string h = Sha256Hex("govpool ceph secret " + cluster + " client." + client_id).substr(0, 32);
  h[12] = '5';
  h[16] = "89ab"[std::stoi(std::string(1, h[16]), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20);
}

// What the agent needs of its Ceph cluster, from --ceph-*: the connection, and what libvirt's
// RBD disks need (the monitors, the cephx user and the secret holding its key).
struct CephSetup {
  std::unique_ptr<RbdBlockStorage> storage;
  std::vector<std::string> monitors;
  std::string auth_user;    // empty: no cephx
  std::string secret_uuid;  // empty: no cephx
};

Result<CephSetup> SetUpCeph(const AgentOptions& f, Hypervisor& hv) {
  CephSetup c;
  GP_ASSIGN_OR_RETURN(std::string conf, ReadFile(f.ceph_conf, "ceph.conf"));
  auto monitors = ParseMonHosts(conf);
  if (!monitors.ok()) return monitors.status().Annotate(f.ceph_conf);
  c.monitors = *monitors;
  const std::string keyring =
      !f.ceph_keyring.empty()
          ? f.ceph_keyring
          : (std::filesystem::path(f.ceph_conf).parent_path() /
             ("ceph.client." + f.ceph_client_id + ".keyring")).string();
  auto keyring_text = ReadFile(keyring, "keyring");
  if (!keyring_text.ok() && !f.ceph_keyring.empty()) return keyring_text.status();
  if (keyring_text.ok()) {
    auto key = ParseKeyringKey(*keyring_text, f.ceph_client_id);
    if (!key.ok()) return key.status().Annotate(keyring);
    c.auth_user = f.ceph_client_id;
    c.secret_uuid = CephSecretUuid(f.ceph_cluster, f.ceph_client_id);
    const std::string usage = "govpool " + f.ceph_cluster + " client." + f.ceph_client_id;
    Status s = hv.EnsureCephSecret(c.secret_uuid, usage, *key);
    if (!s.ok()) return s.Annotate("defining the libvirt secret of the cephx key");
  } else {
    log::Warn("no keyring: RBD disks use no cephx authentication", {{"keyring", keyring}});
  }
  RbdOptions ro;
  ro.conf_path = f.ceph_conf;
  ro.client_id = f.ceph_client_id;
  ro.op_timeout_ms = 30'000;  // a full pool or a lost OSD must not stall the agent for ever
  auto storage = RbdBlockStorage::Connect(ro);
  if (!storage.ok()) return storage.status().Annotate("connecting to ceph cluster " + f.ceph_cluster);
  c.storage = std::move(*storage);
  return c;
}

// An HTTP client whose timeout outlasts the longest watch it will make.
Result<std::unique_ptr<HttpControllerClient>> MakeClient(const std::shared_ptr<const ClientCredentials>& credentials,
                                                         int longest_poll_s) {
  return HttpControllerClient::Create(credentials, (longest_poll_s + 15) * 1000);
}

// How often the agent looks whether its certificate is due for renewal (cheap: no request
// until it is).
constexpr auto kRenewalCheckInterval = std::chrono::minutes(1);

// The agent's client certificate (docs/security.md, "TLS and agent enrolment"): the one in
// STATE_DIR/tls/agent.pem, or a new one obtained with the enrolment token.
Result<AgentIdentity> LoadOrEnrol(const AgentOptions& f, const std::string& state_dir, const std::string& host_name,
                                  const api::ClientOptions& base) {
  const std::string dir = state_dir + "/tls";
  ::mkdir(dir.c_str(), 0700);
  const std::string path = dir + "/agent.pem";
  GP_ASSIGN_OR_RETURN(std::optional<AgentIdentity> saved, LoadAgentIdentity(path));
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  SystemClock().Now().time_since_epoch()).count();
  if (saved && saved->info.common_name != host_name) {
    return InvalidArgument(path + " is the certificate of host '" + saved->info.common_name + "', not '" + host_name +
                           "'; remove it and enrol this host");
  }
  if (saved && saved->info.not_after_ms > now_ms) return std::move(*saved);
  if (f.enrolment_token_file.empty()) {
    return InvalidArgument(std::string(saved ? "the agent's certificate in " + path + " has expired" : "no certificate in " + path) +
                           ": enrol with --enrolment-token-file (govpoolctl host enrol " + host_name + ")");
  }
  GP_ASSIGN_OR_RETURN(std::string token, ReadToken(f.enrolment_token_file));
  GP_ASSIGN_OR_RETURN(AgentIdentity enrolled, ObtainCertificate(ControllerCertificateIssuer(), base, host_name, token));
  GP_RETURN_IF_ERROR(SaveAgentIdentity(path, enrolled));
  log::Info("enrolled with the controller", {{"host", host_name}, {"certificate", path},
                                             {"serial", enrolled.info.serial_hex}});
  return enrolled;
}

// ---------------------------------------------------------------- one real host (libvirt)
int RunHost(const AgentOptions& f, const std::string& token, StopSignal& stop) {
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
  std::int64_t disk_gib = 0;
  struct statvfs vfs {};
  if (::statvfs(disk_dir->c_str(), &vfs) == 0) disk_gib = static_cast<std::int64_t>(vfs.f_blocks * vfs.f_frsize >> 30);

  // Who the agent is: its API token, or its client certificate, renewed in the background.
  api::ClientOptions base;
  base.base_url = f.controller_url;
  base.ca_file = f.ca_file;
  base.bearer_token = token;
  auto credentials = std::make_shared<ClientCredentials>(base);
  std::unique_ptr<CertificateRenewer> renewer;
  std::thread renewal;
  if (token.empty()) {
    auto identity = LoadOrEnrol(f, *state_dir, host_name, base);
    if (!identity.ok()) {
      std::cerr << "govpool-agent: " << identity.status().message() << "\n";
      return 1;
    }
    credentials->SetClientCertificate(identity->certificate_pem, identity->key_pem);
    renewer = std::make_unique<CertificateRenewer>(*credentials, ControllerCertificateIssuer(),
                                                   *state_dir + "/tls/agent.pem", host_name, *identity, SystemClock());
    renewal = std::thread([&] { renewer->RunUntil(stop, kRenewalCheckInterval); });
  }
  struct JoinOnExit {
    std::thread& t;
    StopSignal& stop;
    ~JoinOnExit() {
      if (t.joinable()) {
        stop.Stop();
        t.join();
      }
    }
  } join_renewal{renewal, stop};

  // Two connections: the watch long-polls, so heartbeats go over their own.
  auto client = MakeClient(credentials, f.reconcile_interval_s);
  auto heartbeat_client = MakeClient(credentials, 0);
  if (!client.ok() || !heartbeat_client.ok()) {
    std::cerr << "govpool-agent: " << (client.ok() ? heartbeat_client.status() : client.status()).message() << "\n";
    return 2;
  }

  ReconcilerOptions ro;
  ro.domain_type = *domain_type;
  ro.disk_dir = *disk_dir;
  ro.console_dir = *console_dir;
  ro.seed_dir = *state_dir + "/seeds";  // every guest gets a cloud-init seed
  ro.kernel_path = f.guest_kernel.empty() ? "" : std::filesystem::absolute(f.guest_kernel).string();
  ro.initrd_path = f.guest_initrd.empty() ? "" : std::filesystem::absolute(f.guest_initrd).string();
  ro.kernel_cmdline = f.guest_cmdline;
  ro.shutdown_grace_ms = std::int64_t{f.shutdown_grace_s} * 1000;
  ro.min_memory_mib = f.min_memory_mib;
  ro.integration_bridge = f.ovn_bridge;  // VM NICs go where ovn-controller looks

  // Ceph: storage work, and RBD disks for VMs. Without --ceph-conf, neither.
  std::optional<CephSetup> ceph;
  std::string staging_dir;
  if (!f.ceph_conf.empty()) {
    auto setup = SetUpCeph(f, **hv);
    if (!setup.ok()) {
      std::cerr << "govpool-agent: " << setup.status().ToString() << "\n";
      return 1;
    }
    auto staging = Absolute(f.image_staging_dir.empty() ? *state_dir + "/images" : f.image_staging_dir,
                            "image staging dir");
    if (!staging.ok()) return std::cerr << "govpool-agent: " << staging.status().message() << "\n", 2;
    staging_dir = *staging;
    ceph = std::move(*setup);
    ro.ceph_monitors = ceph->monitors;
    ro.ceph_auth_user = ceph->auth_user;
    ro.ceph_secret_uuid = ceph->secret_uuid;
    log::Info("ceph configured", {{"cluster", f.ceph_cluster},
                                  {"conf", f.ceph_conf},
                                  {"client_id", f.ceph_client_id},
                                  {"monitors", static_cast<std::int64_t>(ceph->monitors.size())}});
  }

  HostAgentOptions options;
  options.registration = RegistrationFromFacts(*facts, host_name, f.pool, disk_gib);
  // Backup clusters: reached for backups and restores only (docs/storage.md, "Backups").
  std::map<std::string, std::unique_ptr<RbdBlockStorage>> backup_clusters;
  for (const auto& [name, conf] : f.ceph_backup_clusters) {
    RbdOptions bo;
    bo.conf_path = conf;
    bo.client_id = f.ceph_client_id;
    bo.op_timeout_ms = 30'000;
    auto storage = RbdBlockStorage::Connect(bo);
    if (!storage.ok()) {
      std::cerr << "govpool-agent: connecting to backup cluster " << name << ": " << storage.status().ToString() << "\n";
      return 1;
    }
    backup_clusters[name] = std::move(*storage);
    log::Info("ceph backup cluster configured", {{"cluster", name}, {"conf", conf}});
  }
  if (ceph) {
    options.registration.storage_clusters = {f.ceph_cluster};
    for (const auto& [name, conf] : f.ceph_backup_clusters) options.registration.storage_clusters.push_back(name);
  }
  options.heartbeat_interval = std::chrono::seconds(f.heartbeat_interval_s);
  options.watch_timeout_s = f.reconcile_interval_s;
  options.on_registered = [&](const api::Host& host) {
    std::ofstream(*state_dir + "/host-id") << host.meta.id << "\n";
    log::Info("agent registered", {{"host", host_name}, {"host_id", host.meta.id}, {"domain_type", *domain_type},
                                   {"cpus", facts->cpus}, {"memory_mib", facts->memory_mib},
                                   {"libvirt_uri", f.libvirt_uri}});
  };
  HttpControllerClient& watch_client = **client;
  Hypervisor& hypervisor = **hv;
  if (ceph) {
    options.make_storage_reconciler = [&](const std::string& host_id) {
      StorageReconcilerOptions so;
      so.host_id = host_id;
      so.cluster = f.ceph_cluster;
      so.staging_dir = staging_dir;
      so.hypervisor = &hypervisor;
      for (const auto& [name, storage] : backup_clusters) so.other_clusters[name] = storage.get();
      so.convert_qcow2 = [](const std::string& qcow2, const std::string& raw) {
        // An upload is untrusted: "backing": null keeps a backing file named in its header
        // (say, a host file) from being read into the image.
        std::string path;
        for (char c : qcow2) {
          if (c == '"' || c == '\\') path += '\\';
          path += c;
        }
        return libvirt::RunProgram(
            {"qemu-img", "convert", "-q",
             R"(json:{"driver":"qcow2","backing":null,"file":{"driver":"file","filename":")" + path + R"("}})",
             "-O", "raw", raw});
      };
      return std::make_unique<StorageReconciler>(*ceph->storage, watch_client, so);
    };
  }
  // Tenant networks (--ovn-remote): this host as an OVN chassis, and its ports' bindings
  // reported (docs/agent.md, "Tenant networks"). Configured once at start, so the integration
  // bridge is there before the first guest's NIC, and again every pass.
  std::unique_ptr<OvsVSwitch> vswitch;
  network::ChassisConfig chassis;
  if (f.networking()) {
    vswitch = std::make_unique<OvsVSwitch>(f.ovs_db, f.ovn_rundir);
    chassis.system_id = f.ovn_system_id.empty() ? host_name : f.ovn_system_id;
    chassis.hostname = host_name;
    chassis.ovn_remote = f.ovn_remote;
    chassis.encap_ip = f.ovn_encap_ip;
    chassis.bridge = f.ovn_bridge;
    chassis.datapath_type = f.ovn_datapath_type;
    auto change = vswitch->ConfigureChassis(chassis);
    if (!change.ok()) {
      log::Warn("cannot configure this host as an OVN chassis yet; retried every pass",
                {{"ovs_db", f.ovs_db}, {"error", change.status().ToString()}});
    } else {
      log::Info("ovn chassis", {{"system_id", chassis.system_id}, {"ovn_remote", chassis.ovn_remote},
                                {"encap_ip", chassis.encap_ip}, {"changed", change->changed()}});
    }
    options.make_host_network = [&](const std::string& host_id) {
      return std::make_unique<HostNetwork>(*vswitch, PortReporter(watch_client),
                                           HostNetworkOptions{.host_id = host_id, .chassis = chassis});
    };
  }
  // Metrics (--metrics-listen): served by the same HTTP server as the controller's API.
  AgentMetrics metrics(hypervisor, options.registration, SystemClock());
  std::unique_ptr<api::HttpServer> metrics_server;
  if (!f.metrics_host.empty()) {
    std::string metrics_token;
    if (!f.metrics_token_file.empty()) {
      auto read = ReadToken(f.metrics_token_file);
      if (!read.ok()) return std::cerr << "govpool-agent: --metrics-token-file: " << read.status().message() << "\n", 2;
      metrics_token = *read;
    }
    api::ServerOptions so;
    so.address = f.metrics_host;
    so.port = f.metrics_port;
    so.threads = 1;
    so.max_connections = 64;
    so.max_connections_per_address = 16;
    so.tls_cert_path = f.metrics_tls_cert;
    so.tls_key_path = f.metrics_tls_key;
    auto started = api::HttpServer::Start(so, [&metrics, metrics_token](api::HttpRequest req, api::Responder respond) {
      respond(AnswerMetricsRequest(req, metrics_token, [&metrics] { return metrics.Render(); }));
    });
    if (!started.ok()) {
      std::cerr << "govpool-agent: --metrics-listen: " << started.status().ToString() << "\n";
      return 2;
    }
    metrics_server = std::move(*started);
    options.registration.metrics_address = MetricsAdvertisedAddress(f, host_name);
    log::Info("serving metrics", {{"listen", f.metrics_host + ":" + std::to_string(metrics_server->port())},
                                  {"advertised", options.registration.metrics_address},
                                  {"tls", !f.metrics_tls_cert.empty()},
                                  {"token", !metrics_token.empty()}});
  }
  options.on_reconcile_pass = [&metrics](const ReconcilePass& pass) { metrics.ObservePass(pass); };
  HostAgent agent(
      watch_client, hypervisor,
      [&](const std::string& host_id) {
        ReconcilerOptions o = ro;
        o.host_id = host_id;
        return std::make_unique<Reconciler>(hypervisor, watch_client, o);
      },
      SystemClock(), std::move(options));
  if (Status s = agent.Run(stop, **heartbeat_client); !s.ok()) {
    std::cerr << "govpool-agent: cannot register host " << host_name << ": " << s.ToString() << "\n";
    return 1;
  }
  log::Info("agent stopping; guests are left as they are");
  return 0;
}

// ---------------------------------------------------------------- simulated hosts
int RunSimulated(const AgentOptions& f, const std::string& token, StopSignal& stop) {
  const int n = f.simulate_hosts;
  const int workers = std::min(f.sim_workers, n);
  HostFacts facts;
  facts.cpus = 32;
  facts.memory_mib = 128 * 1024;
  facts.numa_cells = {{0, 16, 64 * 1024}, {1, 16, 64 * 1024}};
  facts.domain_types = {"qemu"};
  constexpr std::int64_t kDiskGib = 2000;

  // One HTTP connection per worker thread, shared by that worker's hosts.
  std::vector<std::unique_ptr<HttpControllerClient>> clients;
  for (int w = 0; w < workers; ++w) {
    api::ClientOptions o;
    o.base_url = f.controller_url;
    o.ca_file = f.ca_file;
    o.bearer_token = token;
    auto client = MakeClient(std::make_shared<const ClientCredentials>(o), 0);
    if (!client.ok()) {
      std::cerr << "govpool-agent: " << client.status().message() << "\n";
      return 2;
    }
    clients.push_back(std::move(client).value());
  }
  std::vector<std::unique_ptr<SimulatedHypervisor>> hypervisors;
  std::vector<std::unique_ptr<HostAgent>> agents;
  for (int i = 0; i < n; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s-%05d", f.sim_prefix.c_str(), i + 1);
    facts.hostname = name;
    hypervisors.push_back(std::make_unique<SimulatedHypervisor>(facts));
    HostAgentOptions options;
    options.registration = RegistrationFromFacts(facts, name, f.pool, kDiskGib);
    options.heartbeat_interval = std::chrono::seconds(f.heartbeat_interval_s);
    options.watch_timeout_s = 0;  // poll: one thread serves many hosts
    options.poll_interval = std::chrono::milliseconds(f.sim_poll_ms);
    // Spread polls and heartbeats over their intervals.
    options.first_watch_delay = std::chrono::milliseconds((std::int64_t{i} * 7919) % f.sim_poll_ms);
    options.first_heartbeat_delay =
        std::chrono::milliseconds((std::int64_t{i} * 7919) % (std::int64_t{f.heartbeat_interval_s} * 1000));
    ControllerClient& client = *clients[static_cast<size_t>(i % workers)];
    SimulatedHypervisor& hv = *hypervisors.back();
    const std::string host_name = name;
    agents.push_back(std::make_unique<HostAgent>(
        client, hv,
        [&client, &hv, host_name](const std::string& host_id) {
          ReconcilerOptions ro;
          ro.host_id = host_id;
          ro.domain_type = "qemu";
          ro.disk_dir = "/simulated/" + host_name + "/disks";
          ro.shutdown_grace_ms = 0;
          return std::make_unique<Reconciler>(hv, client, ro);
        },
        SystemClock(), std::move(options)));
  }
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<HostAgent*> mine;
      for (int i = w; i < n; i += workers) mine.push_back(agents[static_cast<size_t>(i)].get());
      if (Status s = RunAgents(mine, SystemClock(), stop); !s.ok()) {
        log::Error("cannot register a simulated host", {{"error", s.ToString()}});
        failed = true;
        stop.Stop();
      }
    });
  }
  // Progress line once every host is registered (scripts and the benchmark wait for it).
  auto all_registered = [&] {
    return std::all_of(agents.begin(), agents.end(), [](const auto& a) { return a->registered(); });
  };
  while (!stop.stopped() && !all_registered()) {
    stop.WaitUntil(SystemClock(), SystemClock().MonotonicNow() + std::chrono::milliseconds(50));
  }
  if (!stop.stopped()) {
    std::cout << "simulated hosts registered: " << n << std::endl;
    log::Info("simulated hosts registered", {{"hosts", n}, {"workers", workers}});
  }
  for (auto& t : threads) t.join();
  return failed ? 1 : 0;
}

int Run(int argc, char** argv) {
  auto flags = ParseAgentFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "govpool-agent: " << flags.status().message() << "\n"
              << "Run 'govpool-agent --help' for the flags.\n";
    return 2;
  }
  if (flags->help) {
    std::cout << AgentHelp();
    return 0;
  }
  log::SetMinLevel(flags->log_level);
  // No --token-file: the agent authenticates with its client certificate (RunHost).
  auto token = flags->token_file.empty() ? Result<std::string>(std::string()) : ReadToken(flags->token_file);
  if (!token.ok()) {
    std::cerr << "govpool-agent: " << token.status().message() << "\n";
    return 2;
  }
  // SIGINT/SIGTERM stop the agent: the handler writes to a pipe (all a handler may safely do),
  // a thread reads it and signals `stop`. (Not sigwait: children such as qemu-img would inherit
  // the blocked signals.)
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    std::cerr << "govpool-agent: cannot create a pipe\n";
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  StopSignal stop;
  std::thread signal_waiter([&] {
    char c = 0;
    while (::read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    stop.Stop();
  });
  const int rc = flags->simulate_hosts > 0 ? RunSimulated(*flags, *token, stop) : RunHost(*flags, *token, stop);
  OnSignal(0);  // wakes the signal thread if no signal came
  signal_waiter.join();
  return rc;
}

}  // namespace
}  // namespace govpool::agent

int main(int argc, char** argv) { return govpool::agent::Run(argc, argv); }
