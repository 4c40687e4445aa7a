#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetUserRoutes(Router& r) {
  r.Add("POST", "/v1/users", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateUserRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateUser(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/users", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = RequireSystemAdmin(ctx.caller); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListUsers(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/users/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetUser(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("POST", "/v1/users/{id}/tokens", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseOrDefault<api::CreateTokenRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    // Not idempotent on purpose: a replay would hand the secret out a second time.
    return ctx.db.Write([&](State& s, Txn& t) {
      auto tok = CreateToken(s, t, ctx.caller, ctx.param("id"), *req);
      if (!tok.ok()) return api::ErrorResponse(tok.status());
      return api::JsonResponse(
          201, api::Encode(api::NewTokenAnswer{tok->user, tok->token.meta.id, tok->token.name, tok->secret}));
    });
  });
}

}  // namespace govpool::controller::http
