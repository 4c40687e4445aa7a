// AgentOptions: govpool-agent's command line, parsed and checked. main.cc only wires what this
// returns. CLI11 stays in options.cc (heavy to compile).
//
//   auto options = ParseAgentFlags(argc, argv);
//   if (!options.ok()) { print options.status().message(); exit 2; }
//   if (options->help) { print AgentHelp(); exit 0; }
#pragma once

#include <map>
#include <cstdint>
#include <string>

#include "common/log.h"
#include "common/result.h"

namespace govpool::agent {

struct AgentOptions {
  bool help = false;  // --help or -h: print AgentHelp() and exit; nothing else is set
  std::string controller_url = "https://127.0.0.1:8080";  // --controller, env GOVPOOL_CONTROLLER_URL
  // How the agent authenticates (docs/security.md, "TLS and agent enrolment"): an API token
  // (token_file, env GOVPOOL_AGENT_TOKEN_FILE; required over http://), or over https:// a
  // client certificate kept in STATE_DIR/tls/agent.pem, obtained once with the one-time token
  // in enrolment_token_file and renewed by the agent itself.
  std::string token_file;
  std::string enrolment_token_file;
  std::string ca_file;  // env GOVPOOL_CA_FILE: the CA an https:// controller is verified against
  std::string host_name;   // empty: this machine's hostname
  std::string pool;
  std::string libvirt_uri = "qemu:///system";
  std::string domain_type = "auto";  // kvm, qemu or auto
  std::string state_dir = "/var/lib/govpool-agent";
  std::string disk_dir;     // empty: STATE_DIR/disks
  std::string console_dir;  // empty: STATE_DIR/console
  std::string guest_kernel;  // both or neither
  std::string guest_initrd;
  std::string guest_cmdline = "console=ttyS0 panic=-1";
  int reconcile_interval_s = 10;
  int heartbeat_interval_s = 10;
  int shutdown_grace_s = 30;
  int min_memory_mib = 96;
  int simulate_hosts = 0;  // > 0: run this many simulated hosts instead of the real one
  int sim_workers = 4;
  int sim_poll_ms = 1000;
  std::string sim_prefix = "sim";
  log::Level log_level = log::Level::kInfo;
  // Ceph (docs/storage.md, "The agent's storage work"). No --ceph-conf: no Ceph; the agent
  // registers no storage cluster and does no storage work.
  std::string ceph_cluster = "ceph";   // the cluster's name, as storage pools name it
  std::string ceph_conf;               // ceph.conf path
  std::string ceph_client_id = "admin";  // cephx user without "client."
  std::string ceph_keyring;            // empty: <dir of ceph_conf>/ceph.client.<id>.keyring
  // Further clusters for backups (targets) and restores, "NAME=CONF" (same cephx user).
  std::map<std::string, std::string> ceph_backup_clusters;  // name -> ceph.conf
  std::string image_staging_dir;       // empty: STATE_DIR/images
  // Tenant networks (docs/agent.md, "Tenant networks"). No --ovn-remote: no
  // networking; the agent leaves Open vSwitch alone and reports no ports.
  std::string ovs_db = "unix:/var/run/openvswitch/db.sock";  // the local Open_vSwitch database
  std::string ovn_remote;       // the OVN Southbound database, e.g. tcp:10.0.0.1:6642
  std::string ovn_encap_ip;     // this host's Geneve tunnel address; required with --ovn-remote
  std::string ovn_system_id;    // the chassis name; empty: the host name
  std::string ovn_rundir = "/var/run/ovn";  // where ovn-controller's pidfile and socket are
  std::string ovn_bridge = "br-int";
  std::string ovn_datapath_type;  // "netdev" (userspace) or "system" (kernel); empty: left as it is
  bool networking() const { return !ovn_remote.empty(); }

  // Metrics (docs/operations.md, "Agent metrics"): GET /metrics on metrics_host:metrics_port
  // (--metrics-listen HOST:PORT; empty host: no listener), with a bearer token when
  // metrics_token_file is set and over HTTPS with metrics_tls_cert/key.
  std::string metrics_host;
  std::uint16_t metrics_port = 0;
  std::string metrics_token_file;
  std::string metrics_tls_cert;
  std::string metrics_tls_key;
  std::string metrics_advertise;  // HOST:PORT the controller lists for Prometheus; empty: derived
};

// What the agent tells the controller Prometheus should scrape: --metrics-advertise, or the
// listen address, with `host_name` in place of a wildcard address (0.0.0.0, ::). Empty without
// a metrics listener.
std::string MetricsAdvertisedAddress(const AgentOptions& options, const std::string& host_name);

// Parses argv[1..] (and the environment variables named above). InvalidArgument, with a
// message naming the flag, for an unknown flag, a missing or bad value, a missing
// --token-file, or flags that do not go together.
Result<AgentOptions> ParseAgentFlags(int argc, char** argv);

// The --help text: every flag with its value, default and meaning.
std::string AgentHelp();

}  // namespace govpool::agent
