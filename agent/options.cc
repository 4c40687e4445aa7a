#include "agent/options.h"

#include <memory>

#include <CLI/CLI.hpp>

#include "api/types.h"
#include "common/cli11_usage.h"
#include "common/strings.h"

namespace govpool::agent {
namespace {

std::unique_ptr<CLI::App> MakeApp(AgentOptions& o, std::string& log_level, std::vector<std::string>& backup_clusters,
                                  std::string& metrics_listen) {
  auto app = std::make_unique<CLI::App>(
      "govpool-agent: the node agent; registers this host, heartbeats, and reconciles libvirt "
      "to the VMs the controller assigns to it",
      "govpool-agent");
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->get_formatter()->column_width(40);
  app->footer("Values go as --flag VALUE or --flag=VALUE; a flag given twice takes the last.\n"
              "See docs/agent.md.");
  auto text = [&](const char* name, std::string& value, const char* value_name, const char* help) {
    return app->add_option(name, value, help)->type_name(value_name);
  };
  auto number = [&](const char* name, int& value, int min, int max, const char* help) {
    return app->add_option(name, value, help)->type_name("N")->check(CLI::Range(min, max));
  };

  text("--controller", o.controller_url, "URL", "controller base URL")
      ->envname("GOVPOOL_CONTROLLER_URL")
      ->capture_default_str();
  text("--token-file", o.token_file, "FILE",
       "file holding this agent's bearer token (an \"agent\" user's token); instead of an "
       "enrolled client certificate (required with an http:// controller and with --simulate-hosts)")
      ->envname("GOVPOOL_AGENT_TOKEN_FILE");
  text("--ca-file", o.ca_file, "FILE",
       "the CA the https:// controller's certificate must chain to (the controller's "
       "<state-dir>/tls/ca.crt; default: the system's trusted CAs)")
      ->envname("GOVPOOL_CA_FILE");
  text("--enrolment-token-file", o.enrolment_token_file, "FILE",
       "file holding a one-time enrolment token (govpoolctl host enrol): used once, when the "
       "agent has no certificate yet in STATE_DIR/tls/agent.pem");
  text("--host-name", o.host_name, "NAME", "the host's name at the controller (default: hostname)");
  text("--pool", o.pool, "NAME", "host pool to register in");
  text("--libvirt-uri", o.libvirt_uri, "URI", "libvirt connection")->capture_default_str();
  text("--domain-type", o.domain_type, "kvm|qemu|auto", "domain type; auto: kvm when usable, else qemu")
      ->capture_default_str();
  text("--state-dir", o.state_dir, "DIR", "agent state")->capture_default_str();
  text("--disk-dir", o.disk_dir, "DIR", "VM root disks (default STATE_DIR/disks)");
  text("--console-dir", o.console_dir, "DIR", "serial console logs (default STATE_DIR/console)");
  text("--guest-kernel", o.guest_kernel, "FILE",
       "direct kernel boot for every guest (test guests); needs --guest-initrd");
  text("--guest-initrd", o.guest_initrd, "FILE", "the initramfs of --guest-kernel");
  text("--guest-cmdline", o.guest_cmdline, "TEXT", "the kernel command line of --guest-kernel")
      ->capture_default_str();
  number("--reconcile-interval-seconds", o.reconcile_interval_s, 1, 3600,
         "reconcile at least this often")
      ->capture_default_str();
  number("--heartbeat-interval-seconds", o.heartbeat_interval_s, 1, 3600, "heartbeat this often")
      ->capture_default_str();
  number("--shutdown-grace-seconds", o.shutdown_grace_s, 0, 3600,
         "ACPI shutdown, then hard power-off after N s")
      ->capture_default_str();
  number("--min-memory-mib", o.min_memory_mib, 0, 1 << 20, "raise smaller VMs to this much memory")
      ->capture_default_str();
  text("--log-level", log_level, "LEVEL", "debug, info, warn or error")->capture_default_str();
  constexpr const char* kCeph = "Ceph storage (volumes and images)";
  text("--ceph-cluster", o.ceph_cluster, "NAME", "the Ceph cluster's name, as storage pools name it")
      ->capture_default_str()
      ->group(kCeph);
  text("--ceph-conf", o.ceph_conf, "FILE", "ceph.conf of the cluster (default: none, no storage work)")
      ->group(kCeph);
  text("--ceph-client-id", o.ceph_client_id, "ID", "cephx user without \"client.\"")
      ->capture_default_str()
      ->group(kCeph);
  text("--ceph-keyring", o.ceph_keyring, "FILE",
       "keyring holding the user's cephx key (default: CONF_DIR/ceph.client.ID.keyring)")
      ->group(kCeph);
  app->add_option("--ceph-backup-cluster", backup_clusters,
                  "another Ceph cluster, NAME=CONF, that backups may go to (repeatable; same cephx user)")
      ->type_name("NAME=FILE")
      ->group(kCeph);
  text("--image-staging-dir", o.image_staging_dir, "DIR",
       "image downloads and conversions (default STATE_DIR/images)")
      ->group(kCeph);
  constexpr const char* kNetwork = "Tenant networks (OVN)";
  text("--ovn-remote", o.ovn_remote, "REMOTE",
       "the OVN Southbound database (tcp:HOST:6642 or unix:PATH); default: none, no networking")
      ->group(kNetwork);
  text("--ovn-encap-ip", o.ovn_encap_ip, "IP", "this host's tunnel (Geneve) address; required with --ovn-remote")
      ->group(kNetwork);
  text("--ovn-system-id", o.ovn_system_id, "NAME", "this chassis' name (default: the host name)")
      ->group(kNetwork);
  text("--ovs-db", o.ovs_db, "REMOTE", "the local Open vSwitch database")->capture_default_str()->group(kNetwork);
  text("--ovn-rundir", o.ovn_rundir, "DIR", "ovn-controller's run directory (its pidfile and control socket)")
      ->capture_default_str()
      ->group(kNetwork);
  text("--ovn-bridge", o.ovn_bridge, "NAME", "the integration bridge")->capture_default_str()->group(kNetwork);
  text("--ovn-datapath-type", o.ovn_datapath_type, "TYPE",
       "the bridge's datapath type: netdev (userspace, no kernel module) or system (default: left as it is)")
      ->group(kNetwork);
  constexpr const char* kMetrics = "Metrics (Prometheus)";
  text("--metrics-listen", metrics_listen, "HOST:PORT",
       "serve GET /metrics here (e.g. 0.0.0.0:9478; [::]:9478); default: no metrics listener")
      ->group(kMetrics);
  text("--metrics-token-file", o.metrics_token_file, "FILE",
       "file holding the bearer token scrapes must present (default: none asked)")
      ->group(kMetrics);
  text("--metrics-tls-cert", o.metrics_tls_cert, "FILE", "serve /metrics over HTTPS with this certificate")
      ->group(kMetrics);
  text("--metrics-tls-key", o.metrics_tls_key, "FILE", "the key of --metrics-tls-cert (mode 0600)")
      ->group(kMetrics);
  text("--metrics-advertise", o.metrics_advertise, "HOST:PORT",
       "the address the controller lists for Prometheus (default: --metrics-listen, the host name for a "
       "wildcard address)")
      ->group(kMetrics);
  // Listed under their own heading (CLI11 lists groups in the order they first appear).
  constexpr const char* kSimulated = "Simulated hosts (scale tests)";
  number("--simulate-hosts", o.simulate_hosts, 1, 100000,
         "run N simulated hosts (in-memory hypervisors) instead of this one")
      ->group(kSimulated);
  number("--sim-workers", o.sim_workers, 1, 64, "threads for simulated hosts")
      ->capture_default_str()
      ->group(kSimulated);
  number("--sim-poll-ms", o.sim_poll_ms, 10, 60000, "how often each simulated host polls its VMs")
      ->capture_default_str()
      ->group(kSimulated);
  text("--sim-prefix", o.sim_prefix, "NAME", "simulated host names are NAME-00001...")
      ->capture_default_str()
      ->group(kSimulated);
  return app;
}

}  // namespace

Result<AgentOptions> ParseAgentFlags(int argc, char** argv) {
  AgentOptions o;
  std::string log_level = "info";
  std::vector<std::string> backup_clusters;
  std::string metrics_listen;
  std::unique_ptr<CLI::App> app = MakeApp(o, log_level, backup_clusters, metrics_listen);
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    AgentOptions help;
    help.help = true;
    return help;
  } catch (const CLI::ParseError& e) {
    return Cli11UsageError(*app, e);
  }
  const bool https = o.controller_url.rfind("https://", 0) == 0;
  if (o.token_file.empty() && !https) {
    return InvalidArgument("--token-file is required with an http:// controller (an agent user's token); over "
                           "https:// the agent may enrol instead (--enrolment-token-file)");
  }
  if (o.token_file.empty() && o.simulate_hosts > 0) {
    return InvalidArgument("--simulate-hosts needs --token-file (one token for all the simulated hosts)");
  }
  if (!o.token_file.empty() && !o.enrolment_token_file.empty()) {
    return InvalidArgument("--token-file and --enrolment-token-file do not go together: a token, or a certificate");
  }
  if (!https && !o.ca_file.empty()) return InvalidArgument("--ca-file needs an https:// controller");
  if (o.domain_type != "auto" && o.domain_type != "kvm" && o.domain_type != "qemu") {
    return InvalidArgument("--domain-type must be kvm, qemu or auto, not '" + o.domain_type + "'");
  }
  if (o.controller_url.rfind("http://", 0) != 0 && o.controller_url.rfind("https://", 0) != 0) {
    return InvalidArgument("--controller must be an http:// or https:// URL, not '" + o.controller_url + "'");
  }
  if (o.guest_kernel.empty() != o.guest_initrd.empty()) {
    return InvalidArgument("--guest-kernel and --guest-initrd go together");
  }
  if (o.ceph_cluster.empty()) return InvalidArgument("--ceph-cluster must not be empty");
  for (const std::string& spec : backup_clusters) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return InvalidArgument("--ceph-backup-cluster takes NAME=CONF, not '" + spec + "'");
    }
    const std::string name = spec.substr(0, eq);
    if (name == o.ceph_cluster || !o.ceph_backup_clusters.emplace(name, spec.substr(eq + 1)).second) {
      return InvalidArgument("--ceph-backup-cluster names cluster '" + name + "' twice");
    }
  }
  if (!o.ceph_backup_clusters.empty() && o.ceph_conf.empty()) {
    return InvalidArgument("--ceph-backup-cluster needs --ceph-conf (the agent's own cluster)");
  }
  if (o.ceph_client_id.empty() || o.ceph_client_id.rfind("client.", 0) == 0) {
    return InvalidArgument("--ceph-client-id is the cephx user without \"client.\" (e.g. admin), not '" +
                           o.ceph_client_id + "'");
  }
  if (o.networking()) {
    if (o.ovn_encap_ip.empty()) return InvalidArgument("--ovn-remote needs --ovn-encap-ip (this host's tunnel address)");
    if (!o.ovn_remote.starts_with("tcp:") && !o.ovn_remote.starts_with("ssl:") && !o.ovn_remote.starts_with("unix:")) {
      return InvalidArgument("--ovn-remote must be tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH, not '" + o.ovn_remote + "'");
    }
    if (!o.ovs_db.starts_with("unix:") && !o.ovs_db.starts_with("tcp:")) {
      return InvalidArgument("--ovs-db must be unix:PATH or tcp:HOST:PORT, not '" + o.ovs_db + "'");
    }
    if (o.ovn_bridge.empty()) return InvalidArgument("--ovn-bridge must not be empty");
  } else if (!o.ovn_encap_ip.empty() || !o.ovn_system_id.empty() || !o.ovn_datapath_type.empty()) {
    return InvalidArgument("--ovn-encap-ip, --ovn-system-id and --ovn-datapath-type need --ovn-remote");
  }
  if (!o.ovn_datapath_type.empty() && o.ovn_datapath_type != "netdev" && o.ovn_datapath_type != "system") {
    return InvalidArgument("--ovn-datapath-type must be netdev or system, not '" + o.ovn_datapath_type + "'");
  }
  auto bad_address = [](const char* flag, const std::string& value) {
    return InvalidArgument(std::string(flag) + " takes HOST:PORT or [IPV6]:PORT (an IPv6 address goes in brackets), " +
                           "the port 1..65535, not '" + value + "'");
  };
  if (!metrics_listen.empty()) {
    auto address = SplitHostPort(metrics_listen);
    if (!address) return bad_address("--metrics-listen", metrics_listen);
    o.metrics_host = address->host;
    o.metrics_port = address->port;
  }
  // What the controller will accept (api::IsHostPort), checked before the first registration.
  if (!o.metrics_advertise.empty() && !api::IsHostPort(o.metrics_advertise)) {
    return bad_address("--metrics-advertise", o.metrics_advertise);
  }
  if (o.metrics_tls_cert.empty() != o.metrics_tls_key.empty()) {
    return InvalidArgument("--metrics-tls-cert and --metrics-tls-key go together");
  }
  if (o.metrics_host.empty() && (!o.metrics_token_file.empty() || !o.metrics_tls_cert.empty() || !o.metrics_advertise.empty())) {
    return InvalidArgument("--metrics-token-file, --metrics-tls-cert/key and --metrics-advertise need --metrics-listen");
  }
  auto level = log::ParseLevel(log_level);
  if (!level.ok()) return InvalidArgument("--log-level: " + level.status().message());
  o.log_level = *level;
  return o;
}

std::string MetricsAdvertisedAddress(const AgentOptions& options, const std::string& host_name) {
  if (options.metrics_host.empty()) return "";
  if (!options.metrics_advertise.empty()) return options.metrics_advertise;
  const bool wildcard = options.metrics_host == "0.0.0.0" || options.metrics_host == "::";
  std::string host = wildcard ? host_name : options.metrics_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(options.metrics_port);
}

std::string AgentHelp() {
  AgentOptions o;
  std::string log_level = "info";
  std::vector<std::string> backup_clusters;
  std::string metrics_listen;
  return MakeApp(o, log_level, backup_clusters, metrics_listen)->help();
}

}  // namespace govpool::agent
