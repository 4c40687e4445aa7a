// govpool-controller: the REST API, durable state, quotas and placement.
// Only this file wires real implementations together.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/log.h"
#include "controller/db.h"
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
  --log-level debug|info|warn|error
)";

bool ParseInt(const std::string& s, int min, int max, int& out) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min || v > max) return false;
  out = static_cast<int>(v);
  return true;
}

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  if (const char* e = std::getenv("GOVPOOL_LISTEN")) f.listen = e;
  if (const char* e = std::getenv("GOVPOOL_STATE_DIR")) f.state_dir = e;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return InvalidArgument("flag " + arg + " needs a value");
    }
    if (arg == "--listen") f.listen = value;
    else if (arg == "--state-dir") f.state_dir = value;
    else if (arg == "--tls-cert") f.tls_cert = value;
    else if (arg == "--tls-key") f.tls_key = value;
    else if (arg == "--port-file") f.port_file = value;
    else if (arg == "--log-level") f.log_level = value;
    else if (arg == "--threads") {
      if (!ParseInt(value, 1, 256, f.threads)) return InvalidArgument("--threads must be 1..256");
    } else if (arg == "--heartbeat-timeout-seconds") {
      if (!ParseInt(value, 1, 86400, f.heartbeat_timeout_s)) {
        return InvalidArgument("--heartbeat-timeout-seconds must be 1..86400");
      }
    } else {
      return InvalidArgument("unknown flag " + arg + " (see --help)");
    }
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (f.log_level == "debug") log::SetMinLevel(log::Level::kDebug);
  else if (f.log_level == "info") log::SetMinLevel(log::Level::kInfo);
  else if (f.log_level == "warn") log::SetMinLevel(log::Level::kWarn);
  else if (f.log_level == "error") log::SetMinLevel(log::Level::kError);
  else return InvalidArgument("--log-level must be debug, info, warn or error");
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
  const size_t colon = flags->listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !ParseInt(flags->listen.substr(colon + 1), 0, 65535, port)) {
    std::cerr << "govpool-controller: --listen must be HOST:PORT\n";
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
  auto db = Db::Open(std::move(store).value(), SystemClock(), [] {
    return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value();
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
  options.address = flags->listen.substr(0, colon);
  options.port = static_cast<std::uint16_t>(port);
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
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread housekeeping([&] {
    const std::int64_t timeout_ms = std::int64_t{flags->heartbeat_timeout_s} * 1000;
    int tick = 0;
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      auto down = (*db)->Write([&](State& s, Txn& t) { return MarkSilentHostsDown(s, t, timeout_ms); });
      for (const auto& id : down) log::Warn("host missed heartbeats; marked down", {{"host_id", id}});
      if (++tick % 60 == 0) {
        (*db)->Write([](State& s, Txn& t) {
          std::vector<std::string> old;
          for (const auto& [id, r] : s.idempotency()) {
            if (t.now_ms() - r.created_at_ms > 24LL * 3600 * 1000) old.push_back(id);
          }
          for (const auto& id : old) s.RemoveIdempotency(t, id);
          return 0;
        });
      }
    }
  });

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::Info("stopping", {{"signal", sig}});
  {
    std::lock_guard lock(stop_mu);
    stopping = true;
  }
  stop_cv.notify_all();
  housekeeping.join();
  (*server)->Stop();
  (void)(*db)->Sync();
  return 0;
}

}  // namespace
}  // namespace govpool::controller

int main(int argc, char** argv) { return govpool::controller::Run(argc, argv); }
