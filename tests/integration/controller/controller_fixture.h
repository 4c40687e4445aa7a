// Test support for integration tests of the real govpool-controller binary: a child process
// started on port 0 with a temporary state directory (killed with SIGKILL in the destructor,
// so a failing test never leaves it running), the typed client (api::Client) for building a
// world, and for tests of the wire format itself a raw client (Api: any method, target, body
// and headers; JSON helpers on its Reply) and a raw-socket sender for requests the client
// library refuses to build.
// Not thread-safe except where noted (each thread makes its own client).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "api/client/client.h"
#include "api/client/http_client.h"
#include "tests/support/child_process.h"

#ifndef GOVPOOL_CONTROLLER_BINARY
#error "GOVPOOL_CONTROLLER_BINARY must name the govpool-controller executable"
#endif

namespace govpool::testing {

namespace json = boost::json;

// One run of govpool-controller. Start() blocks until the port file names the bound port.
// Plain HTTP on loopback (--insecure-http: the wire-format tests send raw bytes) unless made
// with Transport::kTls, the controller's default: HTTPS with its own CA (ca_file()).
enum class Transport { kPlainHttp, kTls };
class ControllerProcess {
 public:
  explicit ControllerProcess(std::string state_dir, Transport transport = Transport::kPlainHttp)
      : state_dir_(std::move(state_dir)), tls_(transport == Transport::kTls) {}
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  // Starts the binary; returns an empty string on success, else what went wrong.
  std::string Start(std::vector<std::string> extra_args = {}) {
    Kill(SIGKILL);
    ++runs_;
    port_file_ = state_dir_ + "/port-" + std::to_string(runs_);
    log_file_ = state_dir_ + "/controller-" + std::to_string(runs_) + ".log";
    std::vector<std::string> args = {GOVPOOL_CONTROLLER_BINARY, "--listen", "127.0.0.1:0",
                                     "--port-file", port_file_, "--state-dir", state_dir_,
                                     "--log-level", "warn", "--bootstrap-tokens"};
    if (!tls_) args.push_back("--insecure-http");
    for (auto& a : extra_args) args.push_back(std::move(a));
    child_ = ChildProcess::Start(args, log_file_);
    if (!child_) return "fork failed";
    port_ = WaitForPortFile(port_file_, *child_, std::chrono::seconds(30));
    if (port_ > 0) return "";
    const bool exited = child_->Exited();
    Kill(SIGKILL);
    return std::string(exited ? "controller exited during start-up"
                              : "controller did not write its port file within 30 s") +
           "; log:\n" + ReadFileOrEmpty(log_file_);
  }

  // Sends `sig` and reaps the process. No-op when not running.
  void Kill(int sig) {
    if (child_) child_->Kill(sig);
  }

  bool running() const { return child_ && child_->running(); }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  int port() const { return port_; }
  std::string base_url() const { return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port_); }
  // The CA its certificate chains to (Transport::kTls).
  std::string ca_file() const { return state_dir_ + "/tls/ca.crt"; }
  const std::string& state_dir() const { return state_dir_; }
  // The bootstrap's API tokens (--bootstrap-tokens): system-admin, security-admin, audit-admin.
  std::string admin_token() const { return TokenFile("system-admin-token"); }
  std::string security_token() const { return TokenFile("security-admin-token"); }
  std::string audit_token() const { return TokenFile("audit-admin-token"); }
  // "<name> <one-time password>" lines of the bootstrap's administrators.
  std::string initial_passwords() const { return ReadFileOrEmpty(state_dir_ + "/initial-passwords"); }
  std::string log() const { return ReadFileOrEmpty(log_file_); }

 private:
  std::string TokenFile(const std::string& name) const {
    std::string t = ReadFileOrEmpty(state_dir_ + "/" + name);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }

  std::string state_dir_;
  bool tls_ = false;
  std::string port_file_;
  std::string log_file_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  int runs_ = 0;
};

// A response with its JSON body parsed (null when the body is not JSON).
struct Reply {
  int status = 0;  // 0: transport failure (see transport_error)
  std::string body;
  api::HeaderList headers;
  json::value json;
  std::string transport_error;

  const std::string* Header(std::string_view name) const { return api::FindHeader(headers, name); }
  std::string ErrorCode() const {
    if (!json.is_object()) return "";
    const auto* e = json.as_object().if_contains("error");
    if (!e || !e->is_object()) return "";
    const auto* c = e->as_object().if_contains("code");
    return c && c->is_string() ? std::string(c->as_string()) : "";
  }
  std::string Str(std::string_view key) const {
    if (!json.is_object()) return "";
    const auto* v = json.as_object().if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : "";
  }
  std::int64_t Int(std::string_view key) const {
    if (!json.is_object()) return -999;
    const auto* v = json.as_object().if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -999;
  }
  std::string Describe() const {
    return "HTTP " + std::to_string(status) + " " + transport_error + " " + body.substr(0, 600);
  }
};

// A raw client bound to one token: requests as bytes, answers as Reply. Not thread-safe: one
// per thread.
class Api {
 public:
  Api(const std::string& base_url, const std::string& token, int timeout_ms = 30'000, std::string ca_file = {}) {
    api::ClientOptions o;
    o.base_url = base_url;
    o.bearer_token = token;
    o.timeout_ms = timeout_ms;
    o.ca_file = std::move(ca_file);
    Init(o);
  }
  explicit Api(const api::ClientOptions& o) { Init(o); }

  Reply Send(std::string_view method, std::string_view target, std::string_view body = {},
             const api::HeaderList& headers = {}) {
    Reply r;
    auto resp = client_->Send(method, target, body, headers);
    if (!resp.ok()) {
      r.transport_error = resp.status().ToString();
      return r;
    }
    r.status = resp->status;
    r.body = resp->body;
    r.headers = resp->headers;
    boost::system::error_code ec;
    r.json = json::parse(r.body, ec);
    if (ec) r.json = nullptr;
    return r;
  }
  Reply Get(std::string_view target) { return Send("GET", target); }
  Reply Post(std::string_view target, const json::value& body, const api::HeaderList& h = {}) {
    return Send("POST", target, json::serialize(body), h);
  }

 private:
  void Init(const api::ClientOptions& o) {
    auto c = api::HttpClient::Create(o);
    if (!c.ok()) std::abort();
    client_ = std::move(c).value();
  }

  std::unique_ptr<api::HttpClient> client_;
};

// Sends raw bytes on a fresh TCP connection and returns everything read until the server
// closes the connection or `timeout_ms` passes (the server should close after an error).
inline std::string RawExchange(int port, const std::string& bytes, int timeout_ms = 10'000) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    // Stop once a full response with Content-Length has arrived (keep-alive servers).
    const size_t head_end = out.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::string lower = out.substr(0, head_end);
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const size_t cl = lower.find("content-length:");
      if (cl != std::string::npos) {
        const size_t len = std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
        if (out.size() >= head_end + 4 + len) break;
      }
    }
  }
  ::close(fd);
  return out;
}

// Parses "HTTP/1.1 413 ..." + body of a raw response into a Reply.
inline Reply ParseRawResponse(const std::string& raw) {
  Reply r;
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) {
    r.transport_error = "no HTTP response (" + std::to_string(raw.size()) + " bytes)";
    return r;
  }
  r.status = std::atoi(raw.c_str() + 9);
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end != std::string::npos) {
    std::istringstream head(raw.substr(0, head_end));
    std::string line;
    std::getline(head, line);
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    r.body = raw.substr(head_end + 4);
  }
  boost::system::error_code ec;
  r.json = json::parse(r.body, ec);
  if (ec) r.json = nullptr;
  return r;
}

// Checks the one error shape: {"error":{"code":string,"message":string,"details":object}}.
inline ::testing::AssertionResult HasErrorShape(const Reply& r) {
  if (!r.json.is_object()) return ::testing::AssertionFailure() << "body is not JSON: " << r.body;
  const auto* e = r.json.as_object().if_contains("error");
  if (!e || !e->is_object()) return ::testing::AssertionFailure() << "no error object: " << r.body;
  const auto& o = e->as_object();
  const auto* code = o.if_contains("code");
  const auto* message = o.if_contains("message");
  const auto* details = o.if_contains("details");
  if (!code || !code->is_string() || code->as_string().empty()) {
    return ::testing::AssertionFailure() << "error.code missing: " << r.body;
  }
  for (char ch : code->as_string()) {
    if (!(std::isupper(static_cast<unsigned char>(ch)) || ch == '_')) {
      return ::testing::AssertionFailure() << "error.code is not UPPER_CASE: " << r.body;
    }
  }
  if (!message || !message->is_string() || message->as_string().empty()) {
    return ::testing::AssertionFailure() << "error.message missing: " << r.body;
  }
  if (!details || !details->is_object()) {
    return ::testing::AssertionFailure() << "error.details missing or not an object: " << r.body;
  }
  return ::testing::AssertionSuccess();
}

// Polls `cond` every 10 ms until true or `timeout` passes.
template <typename Cond>
bool PollUntil(Cond cond, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// A running controller with an admin client (typed and raw), plus helpers that build a world
// through the typed API.
class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    controller_ = std::make_unique<ControllerProcess>(dir_.path());
    const std::string err = controller_->Start(ExtraArgs());
    ASSERT_EQ(err, "");
    ConnectAdmin();
  }
  // Flags added to every start of the controller.
  virtual std::vector<std::string> ExtraArgs() { return {}; }

  void TearDown() override {
    if (HasFailure() && controller_) {
      std::cerr << "---- controller log ----\n" << controller_->log().substr(0, 20000) << "\n";
    }
    controller_.reset();  // SIGKILL
  }

  // Restarts on the same state dir (after a crash or a kill) and rebuilds the admin clients.
  void Restart() {
    ASSERT_EQ(controller_->Start(ExtraArgs()), "");
    ConnectAdmin();
  }

  // A raw client (wire-format tests).
  Api NewClient(const std::string& token) { return Api(controller_->base_url(), token); }
  // A typed client.
  std::unique_ptr<api::Client> NewTypedClient(const std::string& token) {
    api::ClientOptions o;
    o.base_url = controller_->base_url();
    o.bearer_token = token;
    o.timeout_ms = 30'000;
    auto c = api::Client::Create(o);
    if (!c.ok()) std::abort();
    return std::move(c).value();
  }

  // Each helper records a test failure when the API refuses and returns the created object
  // (a default one on failure).
  api::Department CreateDepartment(const std::string& name, const api::Quota& quota) {
    api::CreateDepartmentRequest req;
    req.name = name;
    req.quota = quota;
    return Created(client_->CreateDepartment(req), "department " + name);
  }
  api::Flavor CreateFlavor(const std::string& name, std::int64_t vcpus, std::int64_t memory_mib,
                           std::int64_t disk_gib) {
    api::CreateFlavorRequest req;
    req.name = name;
    req.vcpus = vcpus;
    req.memory_mib = memory_mib;
    req.disk_gib = disk_gib;
    return Created(client_->CreateFlavor(req), "flavor " + name);
  }
  // Registers a host as the admin (static capacity, no agent).
  api::Host RegisterHost(const std::string& name, std::int64_t cpus, std::int64_t memory_mib,
                         std::int64_t disk_gib) {
    api::RegisterHostRequest req;
    req.name = name;
    req.capacity.cpus = cpus;
    req.capacity.memory_mib = memory_mib;
    req.capacity.disk_gib = disk_gib;
    return Created(client_->RegisterHost(req), "host " + name);
  }
  // Creates a user with `role` (in `department_id` for department roles) and returns a token.
  std::string CreateUserToken(const std::string& name, api::Role role,
                              const std::string& department_id) {
    api::CreateUserRequest user;
    user.name = name;
    user.role = role;
    user.department_id = department_id;
    // Users and tokens are the security-admin's.
    const api::User created = Created(security_->CreateUser(user), "user " + name);
    if (created.meta.id.empty()) return "";
    api::CreateTokenRequest token;
    token.name = "test";
    token.expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
                              .count();
    return Created(security_->CreateToken(created.meta.id, token), "token of " + name).token;
  }

  TempDir dir_;
  std::unique_ptr<ControllerProcess> controller_;
  std::unique_ptr<Api> admin_;           // raw
  std::unique_ptr<api::Client> client_;  // typed, the same admin token
  std::unique_ptr<api::Client> security_;  // typed, the security-admin's token

 private:
  void ConnectAdmin() {
    admin_ = std::make_unique<Api>(controller_->base_url(), controller_->admin_token());
    client_ = NewTypedClient(controller_->admin_token());
    security_ = NewTypedClient(controller_->security_token());
  }
  template <class T>
  T Created(Result<T> r, const std::string& what) {
    if (!r.ok()) {
      ADD_FAILURE() << "creating " << what << ": " << r.status().ToString();
      return T{};
    }
    return std::move(r).value();
  }
};

}  // namespace govpool::testing
