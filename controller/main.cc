// govpool-controller: the REST API, durable state, quotas and placement.
// Only this file wires real implementations together.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <string>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/private_file.h"
#include "controller/db.h"
#include "controller/housekeeper.h"
#include "controller/webhook_http_sender.h"
#include "controller/http/api_handler.h"
#include "api/server/http_server.h"
#include "controller/metrics.h"
#include "controller/network_sync.h"
#include "controller/options.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"
#include "controller/tls_files.h"
#include "network/ovn/northbound_connection.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {
namespace {

int Run(int argc, char** argv) {
  auto flags = ParseControllerFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "govpool-controller: " << flags.status().message() << "\n"
              << "Run 'govpool-controller --help' for the flags.\n";
    return 2;
  }
  if (flags->help) {
    std::cout << ControllerHelp();
    return 0;
  }
  log::SetMinLevel(flags->log_level);
  // Block the signals main waits for with sigwait in every thread: SIGINT and SIGTERM stop,
  // SIGHUP serves the TLS certificate files anew.
  sigset_t waited_signals;
  sigemptyset(&waited_signals);
  sigaddset(&waited_signals, SIGINT);
  sigaddset(&waited_signals, SIGTERM);
  sigaddset(&waited_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &waited_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Everything the controller creates is its own: the state database and its WAL, keys,
  // passwords, tokens, staged images (MLPS 8.1.4.9/8.1.4.10).
  ::umask(077);
  ::mkdir(flags->state_dir.c_str(), 0700);
  if (!flags->restore.empty()) {
    if (Status restored = SqliteStateStore::Restore(flags->restore, flags->state_dir + "/state.db"); !restored.ok()) {
      log::Error("cannot restore the backup", {{"backup", flags->restore}, {"error", restored.ToString()}});
      return 1;
    }
    log::Warn("restored the state from a backup; the database it replaced is kept beside it",
              {{"backup", flags->restore}, {"state_dir", flags->state_dir}});
  }
  auto store = SqliteStateStore::Open(flags->state_dir + "/state.db");
  if (!store.ok()) {
    log::Error("cannot open the state store", {{"error", store.status().ToString()}});
    return 1;
  }
  // The audit trail's checkpoint key (docs/security.md, "Audit trail"): only this process
  // reads it.
  AuditOptions audit;
  if (flags->audit_hash == "sm3") {
    if (!Sm3Hex("")) {
      log::Error("--audit-hash sm3: this OpenSSL does not offer SM3");
      return 1;
    }
    audit.hash = api::AuditHash::kSm3;
  }
  if (auto key = LoadOrCreateAuditKey(flags->state_dir + "/audit-key"); key.ok()) {
    audit.key = std::move(key).value();
  } else {
    log::Error("cannot use the audit key", {{"error", key.status().ToString()}});
    return 1;
  }
  const scheduler::Config config = flags->scheduler_config;
  auto db = Db::Open(
      std::move(store).value(), SystemClock(),
      [config] { return std::move(scheduler::Scheduler::Create(config)).value(); }, std::move(audit));
  if (!db.ok()) {
    log::Error("cannot load the state", {{"error", db.status().ToString()}});
    return 1;
  }
  // First start: the three administrators (docs/security.md, "People and sessions").
  const bool issue_tokens = flags->bootstrap_tokens;
  const std::int64_t token_ttl_ms = std::int64_t{flags->bootstrap_token_ttl_h} * 3600 * 1000;
  const std::string passwords_path = flags->state_dir + "/initial-passwords";
  const bool passwords_handed_out = ::access(passwords_path.c_str(), F_OK) == 0;
  auto bootstrap = (*db)->Write([&](State& s, Txn& t) {
    auto first = BootstrapAdministrators(s, t, issue_tokens, token_ttl_ms);
    // A first start that failed half-way: the administrators exist, their passwords do not.
    if (!first && !passwords_handed_out) first = ResumeBootstrap(s, t, issue_tokens, token_ttl_ms);
    return first;
  });
  if (auto stale = (*db)->Write([](State& s, Txn& t) { return FailInterruptedUploads(s, t); }); stale > 0) {
    log::Warn("image uploads interrupted by the restart; upload them again", {{"images", stale}});
  }
  if (Status synced = (*db)->Sync(); !synced.ok()) {
    log::Error("cannot commit the first administrators", {{"error", synced.ToString()}});
    return 1;
  }
  if (bootstrap) {
    for (const auto& a : bootstrap->administrators) {
      if (a.token.empty()) continue;
      const std::string path = flags->state_dir + "/" +
                               std::string(a.role == api::Role::kSystemAdmin     ? "system"
                                           : a.role == api::Role::kSecurityAdmin ? "security"
                                                                                 : "audit") +
                               "-admin-token";
      if (Status w = WritePrivateFile(path, a.token + "\n"); !w.ok()) {
        log::Error("cannot write a bootstrap token", {{"error", w.ToString()}});
        return 1;
      }
    }
    // The one-time passwords go to a file only this user reads, never to a log; written last,
    // as its presence says the first start is complete (else the next start resumes it).
    std::string passwords;
    for (const auto& a : bootstrap->administrators) {
      passwords += (passwords.empty() ? "" : "\n") + a.name + " " + a.one_time_password;
    }
    if (Status w = WritePrivateFile(passwords_path, passwords + "\n"); !w.ok()) {
      log::Error("cannot write the initial passwords", {{"error", w.ToString()}});
      return 1;
    }
    log::Info("created the administrators sysadmin, secadmin and auditadmin; their one-time passwords are in "
              "the file (mode 0600): each changes it and enrols a TOTP factor at its first login",
              {{"passwords_file", passwords_path}, {"tokens", issue_tokens}});
  }

  ControllerMetrics metrics;
  // Uploaded images wait here for their import (docs/storage.md, "Images").
  const ImageStaging staging(flags->state_dir + "/images");
  http::ApiHandler api(**db, metrics, &staging);
  api.SetBackupDirectory(flags->state_dir + "/backup-tmp");
  if (flags->credential_rate_limit > 0) {
    const double per_second = flags->credential_rate_limit;
    // Every live credential may hold a bucket: agents' certificates, one per host, included.
    api.SetCredentialRateLimit({.per_second = per_second, .burst = 10 * per_second, .max_keys = 100'000});
  }
  api.SetHandlerTimeout(flags->handler_timeout_s * 1000);
  api::ServerOptions options;
  options.handler_timeout_ms = [&api](const api::HttpRequest& request) { return api.HandlerTimeoutMs(request); };
  options.address = flags->address;
  options.port = static_cast<std::uint16_t>(flags->port);
  options.threads = flags->threads;
  options.max_connections = static_cast<std::size_t>(flags->max_connections);
  options.max_connections_per_address = static_cast<std::size_t>(flags->max_connections_per_address);
  // A socket is a file: the soft limit (often 1024) would stop accepting long before
  // --max-connections. Raised to the hard limit, which the operator controls.
  if (struct rlimit files {}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  // HTTPS by default, with the controller's own CA (docs/security.md, "TLS and agent enrolment").
  AgentCertificateIssuer issuer;
  if (flags->insecure_http) {
    log::Warn("serving PLAIN HTTP (--insecure-http): tokens and passwords cross unencrypted and agents cannot "
              "enrol; for tests and demos on this machine only");
  } else {
    const auto names = DefaultServerNames(flags->tls_names, flags->address);
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    SystemClock().Now().time_since_epoch()).count();
    auto tls = LoadOrCreateControllerTls(flags->state_dir + "/tls", names, flags->tls_cert, flags->tls_key, now_ms);
    if (!tls.ok()) {
      log::Error("cannot set up TLS", {{"error", tls.status().ToString()}});
      return 1;
    }
    if (tls->issued_server_certificate) {
      std::string joined;
      for (const auto& n : names) joined += (joined.empty() ? "" : ",") + n;
      log::Info("issued the controller's server certificate from its own CA", {{"names", joined}, {"ca", tls->ca_path}});
    }
    options.tls_cert_path = tls->cert_path;
    options.tls_key_path = tls->key_path;
    options.tls_client_ca_path = tls->ca_path;
    issuer.ca = tls->ca;
    issuer.certificate_lifetime_ms = std::int64_t{flags->agent_cert_days} * 24 * 3600 * 1000;
    api.SetAgentCertificateIssuer(&issuer);
  }
  api.RegisterAllRoutes();
  auto server = api::HttpServer::Start(
      options,
      [&api](api::HttpRequest req, api::Responder respond) {
        api.Handle(std::move(req), std::move(respond));
      },
      [&api](const api::HttpRequest& head) { return api.StartUpload(head); });
  if (!server.ok()) {
    log::Error("cannot start the HTTP server", {{"error", server.status().ToString()}});
    return 1;
  }
  const std::string url = std::string(flags->insecure_http ? "http" : "https") + "://" +
                          options.address + ":" + std::to_string((*server)->port());
  log::Info("govpool controller serving", {{"url", url}, {"state_dir", flags->state_dir}});
  std::cout << "govpool controller serving at " << url << "\n"
            << (flags->insecure_http ? "" : "clients verify it against the CA in " + flags->state_dir + "/tls/ca.crt\n")
            << "first administrators' one-time passwords: " << flags->state_dir << "/initial-passwords\n"
            << std::flush;
  if (!flags->port_file.empty()) {
    std::ofstream(flags->port_file) << (*server)->port() << "\n";
  }

  // Housekeeping: mark silent hosts down; forget idempotency records after a day.
  HousekeeperOptions housekeeping;
  housekeeping.heartbeat_timeout = std::chrono::seconds(flags->heartbeat_timeout_s);
  housekeeping.staging = &staging;
  housekeeping.audit_archive_dir = flags->state_dir + "/audit-archive";
  housekeeping.audit_retention = std::chrono::hours(24) * flags->audit_retention_days;
  housekeeping.utilisation_sample_interval = std::chrono::seconds(flags->utilisation_sample_s);
  // Written at least every 5 minutes (what a crash can lose), more often when sampled faster.
  housekeeping.utilisation_flush_interval = std::min<std::chrono::milliseconds>(
      std::chrono::minutes(5), 5 * housekeeping.utilisation_sample_interval);
  housekeeping.utilisation_retention = std::chrono::hours(24) * flags->utilisation_retention_days;
  housekeeping.on_audit_verified = [&metrics](bool intact, std::int64_t at_ms) {
    metrics.SetAuditChainVerdict(intact, at_ms);
  };
  // The served certificate renewed or replaced without a restart (docs/security.md).
  std::unique_ptr<TlsRotation> tls_rotation;
  if (!flags->insecure_http) {
    tls_rotation = std::make_unique<TlsRotation>(
        TlsRotationOptions{flags->state_dir + "/tls", DefaultServerNames(flags->tls_names, flags->address),
                           flags->tls_cert, flags->tls_key,
                           [&metrics](std::int64_t not_after_ms) { metrics.SetServerCertificateNotAfter(not_after_ms); }},
        SystemClock(), [server = server->get()] { return server->ReloadTls(); });
    housekeeping.tls_rotation = tls_rotation.get();
  }
  Housekeeper housekeeper(**db, SystemClock(), housekeeping);
  housekeeper.Start();

  // Webhook notifications (docs/departments.md, "Notifications") leave from their own thread.
  HttpWebhookSender webhook_sender(HttpWebhookSenderOptions{flags->webhook_ca_file});
  WebhookDispatcher webhooks(**db, webhook_sender);
  webhooks.Start();

  // The OVN Northbound database follows the network records (docs/networking.md).
  std::unique_ptr<NetworkSync> network_sync;
  if (!flags->ovn_nb.empty()) {
    network::OvnNorthbound::Options nb_options;
    nb_options.owner = flags->ovn_nb_owner;
    NetworkSyncOptions sync_options;
    sync_options.gateway_chassis = flags->ovn_gateway_chassis;
    network_sync = std::make_unique<NetworkSync>(
        **db, [remote = flags->ovn_nb, nb_options] { return network::ConnectNorthbound(remote, nb_options); },
        sync_options, &metrics);
    network_sync->Start();
    log::Info("programming the OVN Northbound database", {{"remote", flags->ovn_nb}});
  }

  int sig = 0;
  while (sigwait(&waited_signals, &sig) == 0 && sig == SIGHUP) {
    if (tls_rotation) (void)tls_rotation->CheckOnce(/*force=*/true);  // logs what it did
  }
  log::Info("stopping", {{"signal", sig}});
  if (network_sync) network_sync->Stop();
  webhooks.Stop();
  housekeeper.Stop();
  (*server)->Stop();
  (void)(*db)->Sync();
  return 0;
}

}  // namespace
}  // namespace govpool::controller

int main(int argc, char** argv) { return govpool::controller::Run(argc, argv); }
