#include "controller/http/api_handler.h"

#include <algorithm>
#include <array>
#include <exception>
#include <memory>

#include "api/errors.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "controller/http/policy.h"
#include "controller/http/routes.h"
#include "controller/http/routes_watch.h"
#include "controller/services/services.h"

namespace govpool::controller::http {
namespace {

Result<Caller> AuthenticateRequest(Db& db, const api::HttpRequest& req) {
  const std::string* auth = req.Header("Authorization");
  if (!auth && !req.client_certificate_serial.empty()) {
    // Mutual TLS: an enrolled agent's client certificate, which the server verified.
    const PresentedCertificate presented{req.client_certificate_cn, req.client_certificate_serial};
    return db.Read([&](const State& s) { return AuthenticateCertificate(s, presented, db.NowMs()); });
  }
  if (!auth) return Unauthenticated("missing Authorization: Bearer <token> header");
  const std::optional<std::string_view> token = api::BearerToken(*auth);
  if (!token) return Unauthenticated("the Authorization header must be 'Bearer <token>'");
  const std::string secret(*token);
  return db.Read([&](const State& s) { return Authenticate(s, secret, db.NowMs(), req.remote_address); });
}

// Routes that check or make secrets: guessing is what a flood of them would be.
bool IsSecretRoute(const Route& route) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kSecretRoutes{{
      {"POST", "/v1/auth/login"},
      {"POST", "/v1/auth/password"},
      {"POST", "/v1/auth/totp/confirm"},
      {"POST", "/v1/users/{id}/tokens"},
      {"POST", "/v1/host-enrolments"},
      {"POST", "/v1/agent-certificates"},
  }};
  return std::any_of(kSecretRoutes.begin(), kSecretRoutes.end(),
                     [&](const auto& r) { return r.first == route.method && r.second == route.pattern; });
}

// The access policy (policy.h) for a matched route, before its handler sees the request. A
// route served without authentication must be public in the table too (fail closed).
Status AuthorizeRoute(const Route& route, const Caller& caller) {
  if (route.authenticated) return Authorize(caller, route.method, route.pattern);
  const RoutePolicy* row = FindPolicy(route.method, route.pattern);
  if (row && row->access == Access::kPublic) return OkStatus();
  return PermissionDenied(route.method + " " + route.pattern +
                          " is served without authentication but is not public in the access policy");
}

// The request's audit record as far as the request itself tells (docs/security.md, "Audit
// trail"); the route, caller and outcome are added as they become known.
AuditEntry RequestRecord(const api::HttpRequest& req) {
  AuditEntry e;
  e.source = req.remote_address;
  e.method = req.method;
  e.route = "unmatched";  // never the raw path: it could carry anything
  if (req.method != "GET" && req.method != "HEAD") e.body_sha256 = Sha256Hex(req.body);
  if (const std::string* d = req.QueryParam("department_id")) e.department_id = *d;
  return e;
}

void RecordRoute(AuditEntry& e, const Route& route, const std::map<std::string, std::string>& params) {
  e.route = route.pattern;
  if (auto id = params.find("id"); id != params.end()) e.object_id = id->second;
}

void RecordCaller(AuditEntry& e, const Caller& c) {
  e.user = c.name;
  e.user_id = c.user_id;
  e.role = std::string(api::ToString(c.role));
  if (!c.department_id.empty()) e.department_id = c.department_id;
}

// Agents' routine traffic (watch polls and heartbeats: about 1,100 requests/s for 1,000
// hosts) would bury people's actions and cost a commit per poll; when it succeeds and changes
// nothing it is counted in the metrics, not recorded (docs/security.md, "Audit trail").
bool Routine(const AuditEntry& e) {
  return e.role == "agent" && e.outcome == "allowed" &&
         (e.method == "GET" || e.route == "/v1/hosts/{id}/heartbeat");
}

AuditEntry Answered(AuditEntry e, int status) {
  e.status = status;
  e.outcome = status < 400 ? "allowed" : (status == 401 || status == 403) ? "denied" : "failed";
  return e;
}

}  // namespace

ApiHandler::ApiHandler(Db& db, ControllerMetrics& metrics, const ImageStaging* staging,
                       RateLimiterOptions secret_routes_limit)
    : db_(db),
      metrics_(metrics),
      staging_(staging ? *staging : no_staging_),
      secret_routes_limiter_(secret_routes_limit, SystemClock()) {}

void ApiHandler::AnswerWhenDurable(AuditEntry record, api::HttpResponse resp, std::uint64_t epoch,
                                   std::function<void(api::HttpResponse)> deliver) {
  db_.WhenDurable([this, record = std::move(record), resp = std::move(resp),
                   deliver = std::move(deliver)](Status committed) mutable {
    if (committed.ok()) return deliver(std::move(resp));
    // The commit that held the record failed: record the failure the client will see.
    api::HttpResponse failure = api::ErrorResponse(committed);
    db_.Audit({Answered(std::move(record), failure.status)});
    db_.WhenDurable([failure = std::move(failure), deliver = std::move(deliver)](Status) mutable {
      deliver(std::move(failure));
    });
  }, epoch);
}

void ApiHandler::SetCredentialRateLimit(RateLimiterOptions limit) {
  credential_limiter_ = std::make_unique<RateLimiter>(limit, SystemClock());
}

int ApiHandler::CredentialRetryAfter(const Caller& caller) {
  if (!credential_limiter_ || caller.credential_id.empty()) return 0;
  return credential_limiter_->TakeOrRetryAfter(caller.credential_kind + " " + caller.credential_id);
}

namespace {
Status TooManyWithCredential(const Caller& caller, int retry_after_s) {
  return ResourceExhausted("too many requests with this " + caller.credential_kind + "; retry in " +
                           std::to_string(retry_after_s) + " s")
      .WithDetail("retry_after_seconds", std::int64_t{retry_after_s});
}
// A rate limit's 429: the error, and when to try again.
api::HttpResponse RetryLater(const Status& why, int retry_after_s) {
  api::HttpResponse resp = api::ErrorResponse(why);
  resp.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return resp;
}
}  // namespace

void ApiHandler::AllowTestRoute(std::string method, std::string pattern, std::vector<api::Role> roles) {
  test_routes_.push_back({std::move(method), std::move(pattern), std::move(roles)});
}

Status ApiHandler::Authorize(const Route& route, const Caller& caller) const {
  for (const TestRoute& t : test_routes_) {
    if (t.method != route.method || t.pattern != route.pattern) continue;
    if (caller.restriction == Restriction::kNone &&
        std::find(t.roles.begin(), t.roles.end(), caller.role) != t.roles.end()) {
      return OkStatus();
    }
    return PermissionDenied(route.method + " " + route.pattern + " is not for this caller");
  }
  return AuthorizeRoute(route, caller);
}

void ApiHandler::RegisterAllRoutes() {
  SetSystemRoutes(router_, [this] { return metrics_.Render(db_); });
  SetDepartmentRoutes(router_);
  SetFlavorRoutes(router_);
  SetHostRoutes(router_);
  SetVmRoutes(router_);
  SetUserRoutes(router_);
  SetAuthRoutes(router_);
  SetServerGroupRoutes(router_);
  SetSchedulerRoutes(router_);
  SetEventRoutes(router_);
  SetStoragePoolRoutes(router_);
  SetVolumeRoutes(router_);
  SetImageRoutes(router_);
  SetBackupRoutes(router_);
  SetCapacityRequestRoutes(router_);
  SetWebhookRoutes(router_);
  SetNetworkRoutes(router_);
  SetNetworkSecurityRoutes(router_);
  SetImageDataRoutes(router_, staging_);
  SetAuditRoutes(router_);
  SetWatchRoutes(router_, db_, &metrics_);
  SetEnrolmentRoutes(router_, issuer_);
  SetStateBackupRoutes(router_, backup_dir_);
}

void ApiHandler::Record(const std::string& route, const std::string& method,
                        const std::string& path, const std::string& user, int status,
                        std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(SystemClock().MonotonicNow() - start).count();
  metrics_.ObserveRequest(route, method, status, seconds);
  const bool write = method != "GET";
  if (status >= 500 || write) {
    log::Write(status >= 500 ? log::Level::kError : log::Level::kInfo, "request",
               {{"method", method}, {"route", route}, {"path", path},
                {"status", status}, {"user", user}, {"seconds", seconds}});
  }
}

std::optional<StreamedUpload> ApiHandler::StartUpload(const api::HttpRequest& head) {
  auto found = router_.Find(head.method, head.path);
  if (!found.ok() || !found->route->upload) return std::nullopt;  // Handle answers it
  const Route& route = *found->route;
  const auto start = SystemClock().MonotonicNow();
  const std::uint64_t epoch = db_.FailureEpoch();  // before the route reads or writes
  StreamedUpload upload;
  upload.max_body_bytes = route.max_upload_bytes;
  // Uploads leave two records: one when the body is accepted or refused (the slot of the
  // changes the upload route makes up front), one with the final answer.
  RequestAudit audit(db_);
  audit.draft() = RequestRecord(head);
  RecordRoute(audit.draft(), route, found->params);
  auto refuse = [&](const std::string& user, const Status& why, int retry_after_s = 0) {
    upload.refusal = retry_after_s > 0 ? RetryLater(why, retry_after_s) : api::ErrorResponse(why);
    audit.Finish(Answered(audit.draft(), upload.refusal.status));
    // The refusal goes out once its record is durable, like every answer (this runs on an
    // I/O thread, which must not wait for the commit).
    upload.on_finish = [this, route_label = route.pattern, method = head.method, path = head.path, user,
                        start, epoch, record = audit.draft()](Result<api::HttpResponse> refusal, Responder respond) {
      api::HttpResponse response =
          refusal.ok() ? std::move(refusal).value() : api::ErrorResponse(refusal.status());
      AnswerWhenDurable(record, std::move(response), epoch,
                        [this, route_label, method, path, user, start, respond](api::HttpResponse r) {
                          Record(route_label, method, path, user, r.status, start);
                          respond(std::move(r));
                        });
    };
    return std::move(upload);
  };

  Caller caller;
  if (route.authenticated) {
    auto authed = AuthenticateRequest(db_, head);
    if (!authed.ok()) return refuse("", authed.status());
    caller = std::move(authed).value();
    RecordCaller(audit.draft(), caller);
    if (const int retry = CredentialRetryAfter(caller); retry > 0) {
      return refuse(caller.name, TooManyWithCredential(caller, retry), retry);
    }
  }
  if (Status allowed = Authorize(route, caller); !allowed.ok()) return refuse(caller.name, allowed);
  RouteContext ctx{head, caller, std::move(found->params), db_, false, {}};
  Result<std::unique_ptr<api::BodySink>> sink = Internal("internal error while handling the request");
  try {
    RequestAudit::Scope bind(audit);
    sink = route.upload(ctx);
  } catch (const std::exception& e) {
    log::Error("route threw", {{"route", route.pattern}, {"what", e.what()}});
  }
  if (!sink.ok()) return refuse(caller.name, sink.status());
  if (!*sink) return refuse(caller.name, Internal("the upload route returned no sink"));
  upload.sink = std::move(sink).value();
  AuditEntry accepted = Answered(audit.draft(), 100);
  accepted.detail = "upload accepted; the body follows";
  audit.Finish(accepted);
  upload.on_finish = [this, route_label = route.pattern, method = head.method, path = head.path,
                      user = caller.name, start, epoch, record = audit.draft()](Result<api::HttpResponse> finished,
                                                                               Responder respond) {
    api::HttpResponse response =
        finished.ok() ? std::move(finished).value() : api::ErrorResponse(finished.status());
    db_.Audit({Answered(record, response.status)});
    // Finish may have written to the Db (the uploaded object's record): answer once that and
    // the answer's audit record are durable (a commit failure at any time since the upload
    // began makes the outcome unknown: 503).
    AnswerWhenDurable(record, std::move(response), epoch,
                      [this, route_label, method, path, user, start, respond](api::HttpResponse r) {
                        Record(route_label, method, path, user, r.status, start);
                        respond(std::move(r));
                      });
  };
  return upload;
}

int ApiHandler::HandlerTimeoutMs(const api::HttpRequest& request) const {
  if (handler_timeout_ms_ <= 0) return 0;
  auto found = router_.Find(request.method, request.path);
  return handler_timeout_ms_ + (found.ok() ? found->route->extra_handling_ms : 0);
}

void ApiHandler::Handle(api::HttpRequest request, Responder respond) {
  const auto start = SystemClock().MonotonicNow();
  const std::uint64_t epoch = db_.FailureEpoch();  // before the request reads or writes
  auto req = std::make_shared<api::HttpRequest>(std::move(request));
  std::string route_label = "unmatched";
  // Every request leaves one audit record (docs/security.md, "Audit trail"); `finish` queues
  // it and answers only once it (and whatever the handler changed) is durable.
  auto audit = std::make_shared<RequestAudit>(db_);
  audit->draft() = RequestRecord(*req);
  auto finish = [this, req, start, epoch, audit, respond = std::move(respond)](std::string route,
                                                                         std::string user,
                                                                         api::HttpResponse resp) mutable {
    AuditEntry record = Answered(audit->draft(), resp.status);
    record.route = route;
    if (Routine(record)) {
      audit->FinishUnlessUnchanged(record);
    } else {
      audit->Finish(record);
    }
    AnswerWhenDurable(record, std::move(resp), epoch,
                      [this, req, start, route, user, respond = std::move(respond)](api::HttpResponse r) {
                        Record(route, req->method, req->path, user, r.status, start);
                        respond(std::move(r));
                      });
  };

  auto found = router_.Find(req->method, req->path);
  if (!found.ok()) {
    const Status error = found.status();
    api::HttpResponse resp = api::ErrorResponse(error);
    if (error.reason() == "METHOD_NOT_ALLOWED") {
      std::string allow;
      for (const auto& [k, v] : error.details()) {
        if (k != "allow") continue;
        for (const auto& m : std::get<std::vector<std::string>>(v)) allow += (allow.empty() ? "" : ", ") + m;
      }
      resp.headers.emplace_back("Allow", allow);
    }
    finish(route_label, "", std::move(resp));
    return;
  }
  const Route& route = *found->route;
  route_label = route.pattern;
  RecordRoute(audit->draft(), route, found->params);
  // Routes that check or make secrets are rate-limited per client address and route, before anything
  // else costs (a login's Argon2id, a certificate's signature).
  if (IsSecretRoute(route)) {
    const std::string limit_key = req->remote_address + " " + route.method + " " + route.pattern;
    if (const int retry = secret_routes_limiter_.TakeOrRetryAfter(limit_key); retry > 0) {
      finish(route_label, "",
             RetryLater(ResourceExhausted("too many requests to " + route.method + " " + route.pattern + " from " +
                                          req->remote_address + "; retry in " + std::to_string(retry) + " s"),
                        retry));
      return;
    }
  }

  Caller caller;
  if (route.authenticated) {
    auto authed = AuthenticateRequest(db_, *req);
    if (!authed.ok()) {
      finish(route_label, "", api::ErrorResponse(authed.status()));
      return;
    }
    caller = std::move(authed).value();
    RecordCaller(audit->draft(), caller);
    if (const int retry = CredentialRetryAfter(caller); retry > 0) {
      finish(route_label, caller.name, RetryLater(TooManyWithCredential(caller, retry), retry));
      return;
    }
  }
  if (Status allowed = Authorize(route, caller); !allowed.ok()) {
    finish(route_label, caller.name, api::ErrorResponse(allowed));
    return;
  }

  RouteContext ctx{*req, caller, std::move(found->params), db_, false, {}};
  auto shared_finish = std::make_shared<decltype(finish)>(std::move(finish));
  ctx.respond = [shared_finish, route_label, user = caller.name](api::HttpResponse resp) {
    (*shared_finish)(route_label, user, std::move(resp));
  };
  api::HttpResponse response;
  try {
    RequestAudit::Scope bind(*audit);
    response = route.handler(ctx);
  } catch (const std::exception& e) {
    log::Error("route threw", {{"route", route_label}, {"what", e.what()}});
    response = api::ErrorResponse(Internal("internal error while handling the request"));
  }
  if (ctx.deferred) {
    // A deferred handler that changed something must not hold the commit queue until it
    // answers: its record is the acceptance (status 0), committed with the change.
    if (audit->has_slot()) {
      AuditEntry accepted = audit->draft();
      accepted.outcome = "allowed";
      accepted.detail = "accepted; answered later";
      audit->Finish(accepted);
    }
    return;
  }
  ctx.respond(std::move(response));
}

}  // namespace govpool::controller::http
