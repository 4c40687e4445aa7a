#include "controller/options.h"

#include <charconv>
#include <cstdlib>
#include <memory>

#include <CLI/CLI.hpp>

#include "common/cli11_usage.h"
#include "common/strings.h"

namespace govpool::controller {
namespace {

// Flag values that are checked and converted after parsing.
struct RawFlags {
  std::string log_level = "info";
  std::string scheduler_scores;   // "binpack=1,spread=0.5"
  std::string scheduler_filters;  // "status,pool,capacity,..."
  int scheduler_max_candidates = -1;  // -1: the scheduler's default
};

std::unique_ptr<CLI::App> MakeApp(ControllerOptions& o, RawFlags& raw) {
  auto app = std::make_unique<CLI::App>(
      "govpool-controller: the REST API, durable state, quotas and placement",
      "govpool-controller");
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->get_formatter()->column_width(36);
  app->footer("Values go as --flag VALUE or --flag=VALUE; a flag given twice takes the last.\n"
              "See docs/operations.md and docs/scheduler.md.");
  app->add_option("--listen", o.listen, "address to serve on (port 0 picks one)")
      ->type_name("HOST:PORT")
      ->envname("GOVPOOL_LISTEN")
      ->capture_default_str();
  app->add_option("--state-dir", o.state_dir,
                  "durable state (SQLite) and the first admin token")
      ->type_name("DIR")
      ->envname("GOVPOOL_STATE_DIR")
      ->capture_default_str();
  app->add_option("--restore", o.restore,
                  "start from this backup (govpoolctl admin backup) instead of the state database; "
                  "the database it replaces is kept beside it")
      ->type_name("FILE");
  app->add_option("--threads", o.threads, "HTTP I/O threads")
      ->type_name("N")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app->add_option("--max-connections", o.max_connections,
                  "open connections at most; above it the one waiting longest for a request is closed")
      ->type_name("N")
      ->check(CLI::Range(16, 1'000'000))
      ->capture_default_str();
  app->add_option("--max-connections-per-address", o.max_connections_per_address,
                  "open connections at most from one client address (a load balancer counts as one)")
      ->type_name("N")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app->add_option("--credential-rate-limit", o.credential_rate_limit,
                  "requests per second per token, session or agent certificate, in bursts of ten "
                  "times that; above it 429 with Retry-After (0: no limit)")
      ->type_name("N")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  app->add_option("--handler-timeout-seconds", o.handler_timeout_s,
                  "a request not answered within this gets 503 with Retry-After (it may still take "
                  "effect); a watch's long-poll gets its wait on top (0: no bound)")
      ->type_name("N")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app->add_option("--heartbeat-timeout-seconds", o.heartbeat_timeout_s,
                  "a host silent this long is marked down")
      ->type_name("N")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app->add_option("--utilisation-sample-seconds", o.utilisation_sample_s,
                  "how often the utilisation rollups sample allocation and use (0: no rollups)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app->add_option("--utilisation-retention-days", o.utilisation_retention_days,
                  "hourly utilisation rollups older than this are removed")
      ->type_name("DAYS")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  app->add_option("--webhook-ca-file", o.webhook_ca_file,
                  "verify HTTPS webhook receivers against this CA bundle (default: the system's trust store)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  app->add_option("--audit-retention-days", o.audit_retention_days,
                  "audit records older than this move to <state-dir>/audit-archive (never dropped)")
      ->type_name("DAYS")
      ->check(CLI::Range(1, 36500))
      ->capture_default_str();
  app->add_option("--audit-hash", o.audit_hash,
                  "the audit records' chain hash: sha256, or sm3 for the commercial-cryptography "
                  "assessment (needs an OpenSSL that offers SM3; a chain may switch between starts)")
      ->type_name("sha256|sm3")
      ->check(CLI::IsMember({"sha256", "sm3"}))
      ->capture_default_str();
  app->add_flag("--bootstrap-tokens", o.bootstrap_tokens,
               "the first start also writes an API token per administrator role to "
               "<state-dir>/{system,security,audit}-admin-token (automation)");
  app->add_option("--bootstrap-token-ttl-h", o.bootstrap_token_ttl_h,
                  "hours until the --bootstrap-tokens expire")
      ->type_name("HOURS")
      ->check(CLI::Range(1, 24 * 365))
      ->capture_default_str();
  app->add_option("--tls-cert", o.tls_cert,
                  "serve HTTPS with this certificate chain (needs --tls-key); default: one the "
                  "controller issues itself from its own CA in <state-dir>/tls")
      ->type_name("FILE");
  app->add_option("--tls-key", o.tls_key, "the private key of --tls-cert (mode 0600, else refused)")
      ->type_name("FILE");
  app->add_option("--tls-name", o.tls_names,
                  "names (DNS or IP) in the controller's own server certificate; comma-separated "
                  "(default: the --listen host, this machine's host name, localhost, 127.0.0.1, ::1)")
      ->type_name("LIST")
      ->delimiter(',');
  app->add_option("--agent-cert-days", o.agent_cert_days,
                  "lifetime of the client certificates enrolled agents get (they renew at two thirds)")
      ->type_name("DAYS")
      ->check(CLI::Range(1, 365))
      ->capture_default_str();
  app->add_flag("--insecure-http", o.insecure_http,
                "serve plain HTTP instead of HTTPS: tests and demos on a loopback address only "
                "(refused on any other address); agents cannot enrol");
  app->add_option("--port-file", o.port_file,
                  "write the bound port here once serving (for scripts, tests)")
      ->type_name("FILE");
  app->add_option("--ovn-nb", o.ovn_nb,
                  "the OVN Northbound database to program (unix:PATH or tcp:HOST:PORT); "
                  "default: none (networks are records only, no traffic)")
      ->type_name("REMOTE")
      ->envname("GOVPOOL_OVN_NB");
  app->add_option("--ovn-nb-owner", o.ovn_nb_owner,
                  "own only the Northbound rows marked with this name (several deployments or "
                  "tests sharing one database)")
      ->type_name("NAME");
  app->add_option("--ovn-gateway-chassis", o.ovn_gateway_chassis,
                  "chassis (ovn-controller system-ids) that may host routers' external gateways, "
                  "highest priority first; comma-separated")
      ->type_name("LIST")
      ->delimiter(',');
  app->add_option("--scheduler-scores", raw.scheduler_scores,
                  "score plugins and weights, e.g. binpack=1,balanced=0.5 (default binpack=1)")
      ->type_name("LIST");
  app->add_option("--scheduler-filters", raw.scheduler_filters,
                  "filter plugins in order (default: all built-in filters)")
      ->type_name("LIST");
  app->add_option("--scheduler-max-candidates", raw.scheduler_max_candidates,
                  "feasible hosts scored per pool (0: all)")
      ->type_name("N")
      ->check(CLI::Range(0, 1'000'000))
      ->default_str(std::to_string(scheduler::Config{}.max_candidates));
  app->add_option("--log-level", raw.log_level, "debug, info, warn or error")
      ->type_name("LEVEL")
      ->capture_default_str();
  return app;
}

bool IsLoopbackAddress(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

Status ParseListen(ControllerOptions& o) {
  const size_t colon = o.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    const std::string_view text = std::string_view(o.listen).substr(colon + 1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port > 65535) port = -1;
  }
  if (port < 0) return InvalidArgument("--listen must be HOST:PORT, not '" + o.listen + "'");
  o.address = o.listen.substr(0, colon);
  o.port = port;
  return OkStatus();
}

Status ParseScheduler(const RawFlags& raw, scheduler::Config& config) {
  if (!raw.scheduler_scores.empty()) {
    config.score_weights.clear();
    for (const std::string& item : SplitString(raw.scheduler_scores, ',')) {
      const size_t eq = item.find('=');
      char* end = nullptr;
      const double weight = eq == std::string::npos ? 1.0 : std::strtod(item.c_str() + eq + 1, &end);
      if (item.empty() || (eq != std::string::npos && (end == item.c_str() + eq + 1 || *end != '\0'))) {
        return InvalidArgument("--scheduler-scores takes name=weight,... not '" + item + "'");
      }
      config.score_weights[item.substr(0, eq)] = weight;
    }
  }
  if (!raw.scheduler_filters.empty()) config.filters = SplitString(raw.scheduler_filters, ',');
  if (raw.scheduler_max_candidates >= 0) config.max_candidates = raw.scheduler_max_candidates;
  // Unknown plugin names are refused here, at start-up, not at the first placement.
  if (auto probe = scheduler::Scheduler::Create(config); !probe.ok()) {
    return probe.status().Annotate("scheduler configuration");
  }
  return OkStatus();
}

}  // namespace

Result<ControllerOptions> ParseControllerFlags(int argc, char** argv) {
  ControllerOptions o;
  RawFlags raw;
  std::unique_ptr<CLI::App> app = MakeApp(o, raw);
  try {
    app->parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    ControllerOptions help;
    help.help = true;
    return help;
  } catch (const CLI::ParseError& e) {
    return Cli11UsageError(*app, e);
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (o.insecure_http && (!o.tls_cert.empty() || !o.tls_names.empty())) {
    return InvalidArgument("--insecure-http does not go with --tls-cert, --tls-key or --tls-name");
  }
  auto level = log::ParseLevel(raw.log_level);
  if (!level.ok()) return InvalidArgument("--log-level: " + level.status().message());
  o.log_level = *level;
  if (!o.ovn_nb.empty() && !o.ovn_nb.starts_with("unix:") && !o.ovn_nb.starts_with("tcp:")) {
    return InvalidArgument("--ovn-nb: expected unix:PATH or tcp:HOST:PORT, got '" + o.ovn_nb + "'");
  }
  if ((!o.ovn_nb_owner.empty() || !o.ovn_gateway_chassis.empty()) && o.ovn_nb.empty()) {
    return InvalidArgument("--ovn-nb-owner and --ovn-gateway-chassis need --ovn-nb");
  }
  GP_RETURN_IF_ERROR(ParseListen(o));
  if (o.insecure_http && !IsLoopbackAddress(o.address)) {
    return InvalidArgument("--insecure-http serves only on a loopback address (127.0.0.0/8, ::1, localhost), not '" +
                           o.address + "': without TLS, tokens and passwords would cross the network in clear");
  }
  GP_RETURN_IF_ERROR(ParseScheduler(raw, o.scheduler_config));
  return o;
}

std::string ControllerHelp() {
  ControllerOptions o;
  RawFlags raw;
  return MakeApp(o, raw)->help();
}

}  // namespace govpool::controller
