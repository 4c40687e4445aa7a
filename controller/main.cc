// govpool-controller: the REST API, durable state, quotas and placement.
// Only this file wires real implementations together.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "common/clock.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/strings.h"
#include "controller/db.h"
#include "controller/housekeeper.h"
#include "controller/http/api_handler.h"
#include "controller/http/server.h"
#include "controller/metrics.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {
namespace {

struct Flags {
  std::string listen = "127.0.0.1:8080";
  std::string state_dir = "govpool-state";
  int threads = 4;
  int heartbeat_timeout_s = 30;
  std::string tls_cert;
  std::string tls_key;
  std::string port_file;
  std::string log_level = "info";
  std::string address;  // from listen
  int port = 0;
  std::string scheduler_scores;   // "binpack=1,spread=0.5"
  std::string scheduler_filters;  // "status,pool,capacity,..."
  int scheduler_max_candidates = -1;  // -1: the scheduler's default
  scheduler::Config scheduler_config;
};

constexpr const char* kUsage = R"(usage: govpool-controller [flags]
  --listen HOST:PORT            address to serve on (default 127.0.0.1:8080; port 0 picks one)
                                env GOVPOOL_LISTEN
  --state-dir DIR               durable state (SQLite) and the first admin token
                                (default ./govpool-state) env GOVPOOL_STATE_DIR
  --threads N                   HTTP I/O threads (default 4)
  --heartbeat-timeout-seconds N a host silent this long is marked down (default 30)
  --tls-cert FILE --tls-key FILE  serve HTTPS only
  --port-file FILE              write the bound port here once serving (for scripts, tests)
  --scheduler-scores LIST       score plugins and weights, e.g. binpack=1,balanced=0.5
                                (default binpack=1; see docs/scheduler.md)
  --scheduler-filters LIST      filter plugins in order (default: all built-in filters)
  --scheduler-max-candidates N  feasible hosts scored per pool (0: all; default 8)
  --log-level debug|info|warn|error
)";

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  if (const char* e = std::getenv("GOVPOOL_LISTEN")) f.listen = e;
  if (const char* e = std::getenv("GOVPOOL_STATE_DIR")) f.state_dir = e;
  FlagSet flags;
  flags.String("--listen", &f.listen);
  flags.String("--state-dir", &f.state_dir);
  flags.String("--tls-cert", &f.tls_cert);
  flags.String("--tls-key", &f.tls_key);
  flags.String("--port-file", &f.port_file);
  flags.String("--log-level", &f.log_level);
  flags.Int("--threads", &f.threads, 1, 256);
  flags.Int("--heartbeat-timeout-seconds", &f.heartbeat_timeout_s, 1, 86400);
  flags.String("--scheduler-scores", &f.scheduler_scores);
  flags.String("--scheduler-filters", &f.scheduler_filters);
  flags.Int("--scheduler-max-candidates", &f.scheduler_max_candidates, 0, 1'000'000);
  bool help = false;
  GP_RETURN_IF_ERROR(flags.Parse(argc, argv, &help));
  if (help) {
    std::cout << kUsage;
    std::exit(0);
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  GP_ASSIGN_OR_RETURN(log::Level level, log::ParseLevel(f.log_level));
  log::SetMinLevel(level);
  const size_t colon = f.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    const std::string_view text = std::string_view(f.listen).substr(colon + 1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port > 65535) port = -1;
  }
  if (port < 0) return InvalidArgument("--listen must be HOST:PORT, not '" + f.listen + "'");
  f.address = f.listen.substr(0, colon);
  f.port = port;
  if (!f.scheduler_scores.empty()) {
    f.scheduler_config.score_weights.clear();
    for (const std::string& item : SplitString(f.scheduler_scores, ',')) {
      const size_t eq = item.find('=');
      char* end = nullptr;
      const double weight = eq == std::string::npos ? 1.0 : std::strtod(item.c_str() + eq + 1, &end);
      if (item.empty() || (eq != std::string::npos && (end == item.c_str() + eq + 1 || *end != '\0'))) {
        return InvalidArgument("--scheduler-scores takes name=weight,... not '" + item + "'");
      }
      f.scheduler_config.score_weights[item.substr(0, eq)] = weight;
    }
  }
  if (!f.scheduler_filters.empty()) f.scheduler_config.filters = SplitString(f.scheduler_filters, ',');
  if (f.scheduler_max_candidates >= 0) f.scheduler_config.max_candidates = f.scheduler_max_candidates;
  // Unknown plugin names are refused here, at start-up, not at the first placement.
  if (auto probe = scheduler::Scheduler::Create(f.scheduler_config); !probe.ok()) {
    return probe.status().Annotate("scheduler configuration");
  }
  return f;
}

Status WriteSecretFile(const std::string& path, const std::string& content) {
  ::unlink(path.c_str());
  const mode_t old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  if (!out) return Unavailable("cannot write " + path);
  out << content << "\n";
  out.close();
  ::chmod(path.c_str(), 0600);
  return out ? OkStatus() : Unavailable("cannot write " + path);
}

int Run(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "govpool-controller: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ::mkdir(flags->state_dir.c_str(), 0700);
  auto store = SqliteStateStore::Open(flags->state_dir + "/state.db");
  if (!store.ok()) {
    log::Error("cannot open the state store", {{"error", store.status().ToString()}});
    return 1;
  }
  const scheduler::Config config = flags->scheduler_config;
  auto db = Db::Open(std::move(store).value(), SystemClock(), [config] {
    return std::move(scheduler::Scheduler::Create(config)).value();
  });
  if (!db.ok()) {
    log::Error("cannot load the state", {{"error", db.status().ToString()}});
    return 1;
  }
  const std::string token_path = flags->state_dir + "/admin-token";
  auto secret = (*db)->Write([](State& s, Txn& t) { return BootstrapAdmin(s, t); });
  if (Status synced = (*db)->Sync(); !synced.ok()) {
    log::Error("cannot commit the first admin", {{"error", synced.ToString()}});
    return 1;
  }
  if (secret) {
    if (Status w = WriteSecretFile(token_path, *secret); !w.ok()) {
      log::Error("cannot write the admin token", {{"error", w.ToString()}});
      return 1;
    }
    log::Info("created the first admin user 'admin'; its token is in the file (mode 0600)",
              {{"token_file", token_path}});
  }

  ControllerMetrics metrics;
  http::ApiHandler api(**db, metrics);
  api.RegisterAllRoutes();
  http::ServerOptions options;
  options.address = flags->address;
  options.port = static_cast<std::uint16_t>(flags->port);
  options.threads = flags->threads;
  options.tls_cert_path = flags->tls_cert;
  options.tls_key_path = flags->tls_key;
  auto server = http::HttpServer::Start(options, [&api](api::HttpRequest req, http::Responder respond) {
    api.Handle(std::move(req), std::move(respond));
  });
  if (!server.ok()) {
    log::Error("cannot start the HTTP server", {{"error", server.status().ToString()}});
    return 1;
  }
  const std::string url = std::string(flags->tls_cert.empty() ? "http" : "https") + "://" +
                          options.address + ":" + std::to_string((*server)->port());
  log::Info("govpool controller serving", {{"url", url}, {"state_dir", flags->state_dir}});
  std::cout << "govpool controller serving at " << url << "\n"
            << "admin token file: " << token_path << "\n"
            << std::flush;
  if (!flags->port_file.empty()) {
    std::ofstream(flags->port_file) << (*server)->port() << "\n";
  }

  // Housekeeping: mark silent hosts down; forget idempotency records after a day.
  HousekeeperOptions housekeeping;
  housekeeping.heartbeat_timeout = std::chrono::seconds(flags->heartbeat_timeout_s);
  Housekeeper housekeeper(**db, SystemClock(), housekeeping);
  housekeeper.Start();

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::Info("stopping", {{"signal", sig}});
  housekeeper.Stop();
  (*server)->Stop();
  (void)(*db)->Sync();
  return 0;
}

}  // namespace
}  // namespace govpool::controller

int main(int argc, char** argv) { return govpool::controller::Run(argc, argv); }
