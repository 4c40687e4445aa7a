// ApiHandler: the HttpServer's handler for the REST API. For each request: find the route
// (404 ROUTE_NOT_FOUND / 405 METHOD_NOT_ALLOWED), authenticate the bearer token (401), run the
// route, then answer once everything the answer depends on is durable (Db::WhenDurable),
// counting and logging it. A route that throws gets 500 and the server keeps serving.
// Upload routes (Router::AddUpload) go through StartUpload instead, the server's
// UploadDispatcher: route, authentication and the route's UploadHandler run on the headers
// alone; the sink's answer is sent once durable, counted and logged the same way.
// Thread-safety: handle requests from any number of threads once routes are set.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/server/http_server.h"
#include "controller/db.h"
#include "controller/http/router.h"
#include "controller/image_staging.h"
#include "controller/metrics.h"
#include "controller/rate_limiter.h"
#include "controller/services/services.h"

namespace govpool::controller::http {

// The server's types, by the names the routes use.
using api::Responder;
using api::StreamedUpload;

class ApiHandler {
 public:
  // `staging` holds uploaded images (null: uploads answer 503); it must outlive the handler.
  // `secret_routes_limit`: per client address, for the routes that check or make secrets
  // (login, password, TOTP confirmation, tokens, enrolments, agent certificates); above it 429
  // with Retry-After.
  ApiHandler(Db& db, ControllerMetrics& metrics, const ImageStaging* staging = nullptr,
             RateLimiterOptions secret_routes_limit = {});
  // Before RegisterAllRoutes: the CA that signs agents' certificates (docs/security.md, "TLS and
  // agent enrolment"); it must outlive the handler. Without one (plain HTTP) enrolment answers
  // 409 FAILED_PRECONDITION.
  void SetAgentCertificateIssuer(const AgentCertificateIssuer* issuer) { issuer_ = issuer; }
  // Before RegisterAllRoutes: where GET /v1/system/backup writes its copy before streaming it
  // (under the state directory: the copy holds everything). Empty: that route answers 409.
  void SetBackupDirectory(std::string dir) { backup_dir_ = std::move(dir); }
  // Before serving: every authenticated request counts against its credential's bucket (a
  // token, a session or an agent's certificate; docs/security.md, "Bounded everything"), so
  // one credential cannot take the controller from everyone else; above it 429 with
  // Retry-After, before the route runs. Not called: no such limit.
  void SetCredentialRateLimit(RateLimiterOptions limit);
  // Before serving: how long a route may take to answer (ms; 0, the default: no bound), plus
  // the route's extra_handling_ms (a long-poll's wait). The server enforces it
  // (ServerOptions::handler_timeout_ms = HandlerTimeoutMs).
  void SetHandlerTimeout(int timeout_ms) { handler_timeout_ms_ = timeout_ms; }
  int HandlerTimeoutMs(const api::HttpRequest& request) const;
  // Registers every route of the API.
  void RegisterAllRoutes();
  Router& router() { return router_; }
  // For tests that serve routes of their own on this handler (not the API's, which the policy
  // table alone governs): admits (method, pattern) for callers of `roles`.
  void AllowTestRoute(std::string method, std::string pattern, std::vector<api::Role> roles);
  void Handle(api::HttpRequest request, Responder respond);
  // The server's UploadDispatcher: nullopt unless `head` is for an upload route.
  std::optional<StreamedUpload> StartUpload(const api::HttpRequest& head);

 private:
  // Counts one answered request and logs it (writes and server errors).
  void Record(const std::string& route, const std::string& method, const std::string& path,
              const std::string& user, int status, std::chrono::steady_clock::time_point start);

  // Calls deliver(resp) once everything queued so far (the request's `record` among it) is
  // durable. When that commit failed, or any since Db::FailureEpoch() was `epoch` (taken
  // before the request read or wrote anything), the answer becomes the failure (503), whose own
  // record is queued and awaited in turn. Never blocks: it may run on Db's committer thread.
  void AnswerWhenDurable(AuditEntry record, api::HttpResponse resp, std::uint64_t epoch,
                         std::function<void(api::HttpResponse)> deliver);

  // The policy table's verdict (policy.h), or a test route's.
  Status Authorize(const Route& route, const Caller& caller) const;
  // Takes one request from the credential's bucket: 0 when there was one, else the seconds
  // (at least 1) until there is.
  int CredentialRetryAfter(const Caller& caller);

  Db& db_;
  ControllerMetrics& metrics_;
  Router router_;
  struct TestRoute {
    std::string method;
    std::string pattern;
    std::vector<api::Role> roles;
  };
  std::vector<TestRoute> test_routes_;
  const ImageStaging no_staging_{""};
  const ImageStaging& staging_;
  const AgentCertificateIssuer* issuer_ = nullptr;
  RateLimiter secret_routes_limiter_;
  std::unique_ptr<RateLimiter> credential_limiter_;  // null: no per-credential limit
  std::string backup_dir_;
  int handler_timeout_ms_ = 0;
};

}  // namespace govpool::controller::http
