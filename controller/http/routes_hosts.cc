#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetHostRoutes(Router& r) {
  // Literal routes before "/v1/hosts/{id}" (see Router::Find).
  r.Add("POST", "/v1/hosts/register", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseRegisterHostRequest(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(RegisterHost(s, t, ctx.caller, *req), 200, api::EncodeHost);
    });
  });
  r.Add("GET", "/v1/hosts", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "pool", "status"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    HostFilter f;
    if (const std::string* p = ctx.request.QueryParam("pool")) f.pool = *p;
    if (const std::string* st = ctx.request.QueryParam("status")) {
      if (*st != "up" && *st != "down") {
        return api::ErrorResponse(InvalidArgument("status must be up or down").WithDetail("field", "status"));
      }
      f.status = *st;
    }
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListHosts(s, ctx.caller, f, *opts), api::EncodeHost);
    });
  });
  r.Add("GET", "/v1/hosts/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetHost(s, ctx.caller, ctx.param("id")), 200, api::EncodeHost);
    });
  });
  r.Add("PATCH", "/v1/hosts/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::ParsePatchHostRequest(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchHost(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200, api::EncodeHost);
    });
  });
  r.Add("POST", "/v1/hosts/{id}/heartbeat", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseHeartbeatRequest(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(Heartbeat(s, t, ctx.caller, ctx.param("id"), req->usage ? &*req->usage : nullptr),
                    200, api::EncodeHost);
    });
  });
}

}  // namespace govpool::controller::http
