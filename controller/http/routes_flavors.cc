#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetFlavorRoutes(Router& r) {
  r.Add("POST", "/v1/flavors", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateFlavorRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateFlavor(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/flavors", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListFlavors(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/flavors/{id}", [](RouteContext& ctx) {
    return ctx.db.Read([&](const State& s) {
      return Render(GetFlavor(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("DELETE", "/v1/flavors/{id}", [](RouteContext& ctx) {
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteFlavor(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
}

}  // namespace govpool::controller::http
