#include "api/codec.h"
#include "common/password_hash.h"
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
    if (Status s = RequireSecurityAdmin(ctx.caller); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListUsers(s, ctx.caller, *opts, ctx.db.NowMs()));
    });
  });
  r.Add("GET", "/v1/users/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetUser(s, ctx.caller, ctx.param("id"), ctx.db.NowMs()), 200);
    });
  });
  r.Add("PATCH", "/v1/users/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PatchUserRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchUser(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200);
    });
  });
  r.Add("DELETE", "/v1/users/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteUser(s, t, ctx.caller, ctx.param("id"), *if_match);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/users/{id}/password-reset", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    // Hashed outside Db's lock (Argon2id takes tens of milliseconds).
    const std::string password = ctx.db.Read([](const State& s) { return NewOneTimePassword(s.auth_policy()); });
    const std::string hash = HashPassword(password);
    // Not idempotent on purpose: a replay would hand a password out twice.
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = ResetPassword(s, t, ctx.caller, ctx.param("id"), hash);
      if (!st.ok()) return api::ErrorResponse(st);
      return api::JsonResponse(200, api::Encode(api::PasswordResetAnswer{ctx.param("id"), password}));
    });
  });
  r.Add("DELETE", "/v1/users/{id}/totp", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = ResetTotp(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/users/{id}/tokens", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateTokenRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    // Not idempotent on purpose: a replay would hand the secret out a second time.
    return ctx.db.Write([&](State& s, Txn& t) {
      auto tok = CreateToken(s, t, ctx.caller, ctx.param("id"), *req);
      if (!tok.ok()) return api::ErrorResponse(tok.status());
      return api::JsonResponse(
          201, api::Encode(api::NewTokenAnswer{tok->user, tok->token.meta.id, tok->token.name, tok->secret,
                                               tok->token.expires_at_ms, tok->token.role,
                                               tok->token.department_id}));
    });
  });
  r.Add("GET", "/v1/users/{id}/tokens", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      auto page = ListTokens(s, ctx.caller, ctx.param("id"), *opts);
      return page.ok() ? RenderPage(*page) : api::ErrorResponse(page.status());
    });
  });
  r.Add("DELETE", "/v1/users/{id}/tokens/{token_id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "user"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckId(ctx.param("token_id"), "token"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = RevokeToken(s, t, ctx.caller, ctx.param("id"), ctx.param("token_id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
}

}  // namespace govpool::controller::http
