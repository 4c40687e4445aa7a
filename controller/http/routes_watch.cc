#include "controller/http/routes_watch.h"

#include <charconv>
#include <memory>

#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/watch_hub.h"

namespace govpool::controller::http {
namespace {

constexpr std::int64_t kDefaultTimeoutSeconds = 30;
constexpr std::int64_t kMaxTimeoutSeconds = 300;

Result<std::int64_t> QueryInt(const api::HttpRequest& req, const char* name, std::int64_t dflt,
                              std::int64_t max) {
  const std::string* v = req.QueryParam(name);
  if (!v) return dflt;
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || out < 0 || out > max) {
    return InvalidArgument(std::string(name) + " must be an integer in 0.." + std::to_string(max))
        .WithDetail("field", std::string(name));
  }
  return out;
}

}  // namespace

void SetWatchRoutes(Router& r, Db& db, ControllerMetrics* metrics) {
  auto hub = std::make_shared<WatchHub>(db);
  if (metrics) {
    metrics->SetWatchesHeld([weak = std::weak_ptr<WatchHub>(hub)]() -> std::int64_t {
      auto h = weak.lock();
      return h ? static_cast<std::int64_t>(h->held()) : 0;
    });
  }
  Route& watch = r.Add("GET", "/v1/hosts/{id}/vms", [hub](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"revision", "timeout_seconds"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto revision = QueryInt(ctx.request, "revision", 0, INT64_MAX);
    if (!revision.ok()) return api::ErrorResponse(revision.status());
    auto timeout = QueryInt(ctx.request, "timeout_seconds", kDefaultTimeoutSeconds, kMaxTimeoutSeconds);
    if (!timeout.ok()) return api::ErrorResponse(timeout.status());
    // Admins, and the agent that registered the host (others: NotFound / PermissionDenied).
    Status access = ctx.db.Read([&](const State& s) { return GetHost(s, ctx.caller, ctx.param("id")).status(); });
    if (!access.ok()) return api::ErrorResponse(access);
    ctx.deferred = true;
    hub->Watch(ctx.param("id"), *revision, *timeout * 1000,
               [respond = ctx.respond](Result<WatchResult> result) {
                 if (!result.ok()) {
                   respond(api::ErrorResponse(result.status()));
                   return;
                 }
                 respond(api::JsonResponse(200, api::Encode(*result)));
               });
    return api::HttpResponse{};
  });
  watch.extra_handling_ms = kMaxTimeoutSeconds * 1000;  // the longest wait a client may ask for
}

}  // namespace govpool::controller::http
