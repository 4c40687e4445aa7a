// /v1/webhooks (docs/departments.md, "Notifications"): where a department's, an approval
// level's or the platform's capacity-request notifications are POSTed, and what came of each.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetWebhookRoutes(Router& r) {
  r.Add("POST", "/v1/webhooks", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateWebhookRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateWebhook(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/webhooks", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) { return RenderPage(ListWebhooks(s, ctx.caller, *opts)); });
  });
  r.Add("GET", "/v1/webhooks/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "webhook"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetWebhook(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("DELETE", "/v1/webhooks/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "webhook"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteWebhook(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/webhooks/{id}/ping", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "webhook"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(PingWebhook(s, t, ctx.caller, ctx.param("id")), 202); });
  });
  r.Add("GET", "/v1/webhooks/{id}/deliveries", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "webhook"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      auto page = ListWebhookDeliveries(s, ctx.caller, ctx.param("id"), *opts);
      return page.ok() ? RenderPage(*page) : api::ErrorResponse(page.status());
    });
  });
}

}  // namespace govpool::controller::http
