// ControllerOptions: govpool-controller's command line, parsed and checked. main.cc only wires
// what this returns. CLI11 stays in options.cc (heavy to compile).
//
//   auto options = ParseControllerFlags(argc, argv);
//   if (!options.ok()) { print options.status().message(); exit 2; }
//   if (options->help) { print ControllerHelp(); exit 0; }
#pragma once

#include <string>
#include <vector>

#include "common/log.h"
#include "common/result.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {

struct ControllerOptions {
  bool help = false;  // --help or -h: print ControllerHelp() and exit; nothing else is set
  std::string listen = "127.0.0.1:8080";  // --listen, env GOVPOOL_LISTEN
  std::string address;                    // host part of `listen`
  int port = 0;                           // port part of `listen` (0: pick one)
  std::string state_dir = "govpool-state";  // --state-dir, env GOVPOOL_STATE_DIR
  // --restore FILE: start from this backup (GET /v1/system/backup) instead of the state
  // database in state_dir, which is kept beside it (docs/operations.md, "Backup and restore").
  std::string restore;
  int threads = 4;
  // Open connections at most, in all and per client address (api::ServerOptions).
  int max_connections = 4096;
  int max_connections_per_address = 512;
  // --credential-rate-limit: requests per second per credential (token, session, agent
  // certificate), in bursts of ten times that; 0: no limit.
  int credential_rate_limit = 100;
  // --handler-timeout-seconds: a request not answered within this (a stalled commit, say) is
  // answered 503 by the server; long-polls get their wait on top. 0: no bound.
  int handler_timeout_s = 60;
  int heartbeat_timeout_s = 30;
  // --bootstrap-tokens: the first start also issues one API token per administrator role,
  // written to <state_dir>/{system,security,audit}-admin-token (for automation: CI, tests, the
  // demo), expiring after --bootstrap-token-ttl-h hours.
  bool bootstrap_tokens = false;
  int bootstrap_token_ttl_h = 24;
  // --audit-retention-days: audit records older than this are archived to files under
  // <state_dir>/audit-archive and leave the database (docs/security.md, "Audit trail").
  int audit_retention_days = 180;
  // Utilisation rollups (docs/operations.md, "Utilisation reports"): sampling, kept for.
  int utilisation_sample_s = 60;
  int utilisation_retention_days = 400;
  // Webhooks (docs/departments.md, "Notifications"): HTTPS receivers are verified against this
  // CA bundle; empty: the system's trust store.
  std::string webhook_ca_file;
  // --audit-hash: the audit records' chain hash, sha256 or sm3 (GB/T 32905; refused when this
  // OpenSSL lacks it).
  std::string audit_hash = "sha256";
  // TLS (docs/security.md, "TLS and agent enrolment"): HTTPS always, with --tls-cert/--tls-key
  // or else a certificate the controller issues from its own CA (<state_dir>/tls) for
  // tls_names; --insecure-http (loopback addresses only) serves plain HTTP instead.
  std::string tls_cert;  // both or neither
  std::string tls_key;
  std::vector<std::string> tls_names;
  int agent_cert_days = 30;
  bool insecure_http = false;
  std::string port_file;
  // --ovn-nb (env GOVPOOL_OVN_NB): the OVN Northbound database ("unix:PATH" or
  // "tcp:HOST:PORT") the controller keeps equal to its networks; empty: no Northbound sync
  // (networks, subnets and ports are records only). --ovn-nb-owner: scopes the rows this
  // controller owns there (external_ids govpool-owner), for deployments or tests sharing one
  // Northbound database.
  std::string ovn_nb;
  std::string ovn_nb_owner;
  // --ovn-gateway-chassis: the chassis (ovn-controller system-ids) that may host routers'
  // gateway ports, highest priority first; empty: routers reach no external network.
  std::vector<std::string> ovn_gateway_chassis;
  log::Level log_level = log::Level::kInfo;
  // From --scheduler-scores, --scheduler-filters and --scheduler-max-candidates; checked
  // (unknown plugin names are refused here, at start-up, not at the first placement).
  scheduler::Config scheduler_config;
};

// Parses argv[1..] (and the environment variables named above). InvalidArgument, with a
// message naming the flag, for an unknown flag, a missing or bad value, or flags that do not
// go together.
Result<ControllerOptions> ParseControllerFlags(int argc, char** argv);

// The --help text: every flag with its value, default and meaning.
std::string ControllerHelp();

}  // namespace govpool::controller
