#include "controller/http/api_handler.h"

#include <exception>
#include <memory>

#include "api/errors.h"
#include "common/ids.h"
#include "common/log.h"
#include "controller/http/routes.h"
#include "controller/http/routes_watch.h"
#include "controller/services/services.h"

namespace govpool::controller::http {
namespace {

Result<Caller> AuthenticateRequest(Db& db, const api::HttpRequest& req) {
  const std::string* auth = req.Header("Authorization");
  if (!auth) return Unauthenticated("missing Authorization: Bearer <token> header");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth->size() <= kBearer.size() || auth->compare(0, kBearer.size(), kBearer) != 0) {
    return Unauthenticated("the Authorization header must be 'Bearer <token>'");
  }
  const std::string secret = auth->substr(kBearer.size());
  return db.Read([&](const State& s) { return Authenticate(s, secret, db.NowMs(), req.remote_address); });
}

}  // namespace

ApiHandler::ApiHandler(Db& db, ControllerMetrics& metrics, const ImageStaging* staging)
    : db_(db), metrics_(metrics), staging_(staging ? *staging : no_staging_) {}

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
  SetNetworkRoutes(router_);
  SetNetworkSecurityRoutes(router_);
  SetImageDataRoutes(router_, staging_);
  SetWatchRoutes(router_, db_);
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
  StreamedUpload upload;
  upload.max_body_bytes = route.max_upload_bytes;
  auto refuse = [&](const std::string& user, const Status& why) {
    upload.refusal = api::ErrorResponse(why);
    Record(route.pattern, head.method, head.path, user, upload.refusal.status, start);
    return std::move(upload);
  };

  Caller caller;
  if (route.authenticated) {
    auto authed = AuthenticateRequest(db_, head);
    if (!authed.ok()) return refuse("", authed.status());
    caller = std::move(authed).value();
  }
  RouteContext ctx{head, caller, std::move(found->params), db_, false, {}};
  Result<std::unique_ptr<api::BodySink>> sink = Internal("internal error while handling the request");
  try {
    sink = route.upload(ctx);
  } catch (const std::exception& e) {
    log::Error("route threw", {{"route", route.pattern}, {"what", e.what()}});
  }
  if (!sink.ok()) return refuse(caller.name, sink.status());
  if (!*sink) return refuse(caller.name, Internal("the upload route returned no sink"));
  upload.sink = std::move(sink).value();
  upload.on_finish = [this, route_label = route.pattern, method = head.method, path = head.path,
                      user = caller.name, start](Result<api::HttpResponse> finished,
                                                 Responder respond) {
    api::HttpResponse response =
        finished.ok() ? std::move(finished).value() : api::ErrorResponse(finished.status());
    // Finish may have written to the Db (the uploaded object's record): answer once durable.
    db_.WhenDurable([this, route_label, method, path, user, start, respond = std::move(respond),
                     response = std::move(response)](Status s) mutable {
      if (!s.ok()) response = api::ErrorResponse(s);
      Record(route_label, method, path, user, response.status, start);
      respond(std::move(response));
    });
  };
  return upload;
}

void ApiHandler::Handle(api::HttpRequest request, Responder respond) {
  const auto start = SystemClock().MonotonicNow();
  auto req = std::make_shared<api::HttpRequest>(std::move(request));
  std::string route_label = "unmatched";
  auto finish = [this, req, start, respond = std::move(respond)](std::string route,
                                                                  std::string user,
                                                                  api::HttpResponse resp) {
    Record(route, req->method, req->path, user, resp.status, start);
    respond(std::move(resp));
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

  Caller caller;
  if (route.authenticated) {
    auto authed = AuthenticateRequest(db_, *req);
    if (!authed.ok()) {
      finish(route_label, "", api::ErrorResponse(authed.status()));
      return;
    }
    caller = std::move(authed).value();
  }

  RouteContext ctx{*req, caller, std::move(found->params), db_, false, {}};
  auto shared_finish = std::make_shared<decltype(finish)>(std::move(finish));
  ctx.respond = [shared_finish, route_label, user = caller.name](api::HttpResponse resp) {
    (*shared_finish)(route_label, user, std::move(resp));
  };
  api::HttpResponse response;
  try {
    response = route.handler(ctx);
  } catch (const std::exception& e) {
    log::Error("route threw", {{"route", route_label}, {"what", e.what()}});
    response = api::ErrorResponse(Internal("internal error while handling the request"));
  }
  if (ctx.deferred) return;
  db_.WhenDurable([respond = ctx.respond, response = std::move(response)](Status s) mutable {
    respond(s.ok() ? std::move(response) : api::ErrorResponse(s));
  });
}

}  // namespace govpool::controller::http
