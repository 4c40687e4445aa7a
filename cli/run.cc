#include "cli/run.h"

#include <cstdlib>
#include <exception>

#include <unistd.h>

#include "api/client/client.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/context.h"
#include "cli/errors.h"

namespace govpool::cli {
namespace {

// The HTTP client with its transport failures (connection refused, DNS, TLS, timeout) marked
// as Unreachable, so they are told apart from an UNAVAILABLE the server answered with.
class MarkedHttpClient : public api::HttpClient {
 public:
  MarkedHttpClient(std::unique_ptr<api::HttpClient> inner, std::string url)
      : inner_(std::move(inner)), url_(std::move(url)) {}
  Result<api::HttpResponse> Send(std::string_view method, std::string_view target,
                                 std::string_view body, const api::HeaderList& headers) override {
    return Marked(inner_->Send(method, target, body, headers));
  }
  Result<api::HttpResponse> Upload(std::string_view method, std::string_view target,
                                   api::BodyReader source, std::optional<std::uint64_t> length,
                                   api::ProgressCallback on_progress,
                                   const api::HeaderList& headers) override {
    return Marked(inner_->Upload(method, target, std::move(source), length, std::move(on_progress),
                                 headers));
  }
  Result<api::HttpResponse> Download(std::string_view target, api::BodyWriter sink,
                                     const api::HeaderList& headers) override {
    return Marked(inner_->Download(target, std::move(sink), headers));
  }

 private:
  Result<api::HttpResponse> Marked(Result<api::HttpResponse> r) const {
    if (!r.ok() && (r.status().code() == StatusCode::kUnavailable ||
                    r.status().code() == StatusCode::kDeadlineExceeded)) {
      return Unreachable(url_, r.status());
    }
    return r;
  }

  std::unique_ptr<api::HttpClient> inner_;
  std::string url_;
};

std::optional<std::string> RealGetenv(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

int Fail(std::ostream& err, const Status& status, bool have_token = true) {
  err << "error: " << ErrorText(status);
  if (status.code() == StatusCode::kUnauthenticated && !have_token) {
    err << "; no token is configured: use --token, --token-file, GOVPOOL_TOKEN or the config file";
  }
  err << "\n";
  return ExitCodeFor(status);
}

int RunCommand(const Command& command, const GlobalOptions& globals, std::ostream& out,
               std::ostream& err, const Environment& env) {
  const auto getenv = env.getenv ? env.getenv : RealGetenv;
  std::string config_path = globals.config ? *globals.config : DefaultConfigPath(getenv);
  std::optional<ConfigFile> config;
  if (!config_path.empty()) {
    // login creates the file it was pointed at.
    auto loaded = LoadConfigFile(config_path, globals.config.has_value() && !command.writes_config());
    if (!loaded.ok()) return Fail(err, loaded.status());
    config = std::move(*loaded);
  }
  auto settings = ResolveSettings(globals, getenv, config);
  if (!settings.ok()) return Fail(err, settings.status());
  api::ClientOptions options;
  options.base_url = settings->url;
  options.ca_file = settings->ca_file;
  if (globals.insecure) {
    options.insecure_skip_verify = true;
    err << "WARNING: --insecure: the controller's certificate is NOT verified; anyone between here and "
        << settings->url << " can read and change this conversation, your token included. Use --ca-file.\n";
  }
  if (settings->token) options.bearer_token = *settings->token;
  if (settings->token_file) {
    auto token = ReadTokenFile(*settings->token_file);
    if (!token.ok()) return Fail(err, token.status());
    options.bearer_token = *token;
  }
  // A client of the controller with `token` as its bearer token.
  auto open = [&env, options, url = settings->url](
                  const std::string& token) -> Result<std::unique_ptr<api::Client>> {
    api::ClientOptions with_token = options;
    with_token.bearer_token = token;
    auto http = env.connect ? env.connect(with_token) : api::HttpClient::Create(with_token);
    if (!http.ok()) return UsageError("bad URL '" + url + "': " + http.status().message());
    return std::make_unique<api::Client>(std::make_unique<MarkedHttpClient>(std::move(*http), url));
  };
  auto client = open(options.bearer_token);
  if (!client.ok()) return Fail(err, client.status());
  const bool err_terminal = env.err_is_terminal ? env.err_is_terminal() : ::isatty(STDERR_FILENO) == 1;
  Context ctx(**client, out, err,
              {globals.json, globals.wide, env.sleep, err_terminal, env.now, env.ask, config_path,
               env.now_ms, open});
  Status s = command.handler()(ctx);
  if (!s.ok()) return Fail(err, s, !options.bearer_token.empty());
  return kExitOk;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  try {
    CommandLine cli;
    AddAllCommands(cli);
    ParsedLine line = cli.Parse(args);
    switch (line.action) {
      case ParsedLine::Action::kHelp:
        out << line.text;
        return kExitOk;
      case ParsedLine::Action::kError:
        err << "error: " << ErrorText(line.error) << "\n" << line.text;
        return ExitCodeFor(line.error);
      case ParsedLine::Action::kRun:
        break;
    }
    return RunCommand(*line.command, cli.globals(), out, err, env);
  } catch (const std::exception& e) {
    return Fail(err, Internal(std::string("unexpected failure: ") + e.what()));
  }
}

}  // namespace govpool::cli
