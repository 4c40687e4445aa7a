#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetSystemRoutes(Router& r, std::function<std::string()> metrics_text) {
  r.AddPublic("GET", "/healthz", [](RouteContext& ctx) {
    // Healthy means the state store still commits: wait for everything applied so far.
    return ctx.db.Read([](const State& s) {
      return api::JsonResponse(200, "{\"status\":\"ok\",\"revision\":" + std::to_string(s.revision()) + "}");
    });
  });
  // For load balancers: send traffic here only while the state store commits. (Each probe's own
  // audit record commits before the answer, so a store that fails now answers 503 too.)
  r.AddPublic("GET", "/readyz", [](RouteContext& ctx) {
    if (ctx.db.commit_stats().failing) {
      return api::ErrorResponse(Unavailable("not ready: the state store's last commit failed"));
    }
    return api::JsonResponse(200, "{\"status\":\"ready\"}");
  });
  // Not public: the metrics name departments, hosts and pools (docs/security.md).
  r.Add("GET", "/metrics", [metrics_text](RouteContext&) {
    api::HttpResponse resp = api::JsonResponse(200, metrics_text());
    resp.content_type = "text/plain; version=0.0.4";
    return resp;
  });
  r.AddPublic("GET", "/v1/openapi.yaml", [](RouteContext&) {
    api::HttpResponse resp = api::JsonResponse(200, std::string(OpenApiDocument()));
    resp.content_type = "application/yaml";
    return resp;
  });
}

}  // namespace govpool::controller::http
