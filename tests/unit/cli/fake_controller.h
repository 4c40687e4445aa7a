// Test support for govpoolctl's command tests: a scripted controller (FakeServer: "METHOD
// /path" -> answer, every request logged) behind a fake api::HttpClient, and CtlTest, whose
// Ctl() runs one whole govpoolctl command line against it (RunCli) and captures stdout, stderr
// and the exit code. Its clock moves only with the (not really) slept time. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/codec.h"
#include "api/errors.h"
#include "api/types.h"
#include "cli/errors.h"
#include "cli/run.h"

namespace govpool::cli::testing {

struct Request {
  std::string method;
  std::string target;
  std::string body;
  api::HeaderList headers;
  std::string Path() const { return target.substr(0, target.find('?')); }
  std::string Header(std::string_view name) const {
    const std::string* v = api::FindHeader(headers, name);
    return v ? *v : "";
  }
};

using Route = std::function<Result<api::HttpResponse>(const Request&)>;

// A scripted controller: "METHOD /path" -> route; every request is logged.
class FakeServer {
 public:
  void On(const std::string& method_path, Route route) { routes_[method_path] = std::move(route); }
  void OnJson(const std::string& method_path, std::string body, int status = 200) {
    On(method_path, [body, status](const Request&) -> Result<api::HttpResponse> {
      return api::JsonResponse(status, body);
    });
  }
  void OnError(const std::string& method_path, const Status& status) {
    On(method_path, [status](const Request&) -> Result<api::HttpResponse> {
      return api::ErrorResponse(status);
    });
  }
  Result<api::HttpResponse> Handle(const Request& r) {
    requests.push_back(r);
    auto it = routes_.find(r.method + " " + r.Path());
    if (it == routes_.end()) return api::ErrorResponse(NotFound("no route " + r.method + " " + r.Path()));
    return it->second(r);
  }
  int Count(const std::string& method_path) const {
    int n = 0;
    for (const Request& r : requests) n += (r.method + " " + r.Path()) == method_path;
    return n;
  }
  std::vector<Request> requests;

 private:
  std::map<std::string, Route> routes_;
};

// Sends `bearer_token` as Authorization like the real client (recorded with the request).
class FakeHttpClient : public api::HttpClient {
 public:
  explicit FakeHttpClient(FakeServer* server, std::string bearer_token = "")
      : server_(server), bearer_token_(std::move(bearer_token)) {}
  Result<api::HttpResponse> Send(std::string_view method, std::string_view target,
                                 std::string_view body, const api::HeaderList& headers) override {
    api::HeaderList with_auth = headers;
    if (!bearer_token_.empty()) with_auth.emplace_back("Authorization", "Bearer " + bearer_token_);
    return server_->Handle(Request{std::string(method), std::string(target), std::string(body), with_auth});
  }
  // Streamed bodies: the whole body is read first and handled as one request.
  Result<api::HttpResponse> Upload(std::string_view method, std::string_view target,
                                   api::BodyReader source, std::optional<std::uint64_t>,
                                   api::ProgressCallback on_progress,
                                   const api::HeaderList& headers) override {
    std::string body;
    char buf[4096];
    for (;;) {
      GP_ASSIGN_OR_RETURN(std::size_t n, source(buf, sizeof buf));
      if (n == 0) break;
      body.append(buf, n);
      if (on_progress) on_progress(body.size());
    }
    return Send(method, target, body, headers);
  }
  Result<api::HttpResponse> Download(std::string_view target, api::BodyWriter sink,
                                     const api::HeaderList& headers) override {
    GP_ASSIGN_OR_RETURN(api::HttpResponse r, Send("GET", target, {}, headers));
    if (r.status >= 200 && r.status < 300) {
      GP_RETURN_IF_ERROR(sink(r.body));
      r.body.clear();
    }
    return r;
  }

 private:
  FakeServer* server_;
  std::string bearer_token_;
};

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline api::Meta MetaOf(const std::string& id) {
  api::Meta m;
  m.id = id;
  m.revision = 1;
  m.created_at_ms = m.updated_at_ms = 1'700'000'000'000;
  return m;
}

// The value of the "key  value" line printed for a single object.
inline std::string Field(const std::string& out, const std::string& key) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) == 0) {
      size_t v = line.find_first_not_of(' ', key.size());
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "<absent>";
}

template <class T>
std::string Page(std::vector<T> items, std::string next = "") {
  return api::Encode(api::ListPage<T>{std::move(items), std::move(next)});
}

class CtlTest : public ::testing::Test {
 protected:
  CtlRun Ctl(const std::vector<std::string>& args, bool with_token = true) {
    Environment env;
    env.getenv = [with_token](const char* name) -> std::optional<std::string> {
      if (std::string(name) == "GOVPOOL_URL") return std::string("http://fake:1");
      if (with_token && std::string(name) == "GOVPOOL_TOKEN") return std::string("secret");
      return std::nullopt;
    };
    env.connect = [this](const api::ClientOptions& options) -> Result<std::unique_ptr<api::HttpClient>> {
      return std::unique_ptr<api::HttpClient>(std::make_unique<FakeHttpClient>(&server_, options.bearer_token));
    };
    env.sleep = [this](std::chrono::milliseconds d) { slept_ += d; };
    // The clock moves only with sleeps; stderr is a terminal only when a test says so.
    env.now = [this] { return std::chrono::steady_clock::time_point(slept_); };
    env.err_is_terminal = [this] { return err_terminal_; };
    // A person's answers, in order; what was asked is kept.
    env.ask = [this](const std::string& prompt, bool secret) -> Result<std::string> {
      asked_.push_back({prompt, secret});
      if (answers_.empty()) return UsageError("no answer to '" + prompt + "' (end of input)");
      std::string answer = answers_.front();
      answers_.erase(answers_.begin());
      return answer;
    };
    env.now_ms = [] { return kNowMs; };
    std::ostringstream out, err;
    CtlRun r;
    r.exit_code = RunCli(args, out, err, env);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  // The wall clock of every run.
  static constexpr std::int64_t kNowMs = 1'800'000'000'000;

  FakeServer server_;
  std::chrono::milliseconds slept_{0};
  bool err_terminal_ = false;
  std::vector<std::string> answers_;
  std::vector<std::pair<std::string, bool>> asked_;  // prompt, secret
};

#define EXPECT_OK(run) EXPECT_EQ((run).exit_code, 0) << "stdout:\n" << (run).out << "stderr:\n" << (run).err

}  // namespace govpool::cli::testing
