// /v1/auth: login, logout, the caller's session, password change, TOTP enrolment, and the
// password, lockout and session policy (docs/security.md, "People and sessions"). Argon2id
// runs outside Db's exclusive lock: a route reads what it needs, hashes or verifies, then
// writes, and the write checks that nothing it relied on changed meanwhile.
#include "api/codec.h"
#include "common/password_hash.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetAuthRoutes(Router& r) {
  r.AddPublic("POST", "/v1/auth/login", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::LoginRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    const std::string& source = ctx.request.remote_address;
    const LoginAttempt attempt = ctx.db.Read([&](const State& s) {
      return PrepareLogin(s, req->user, source, ctx.db.NowMs());
    });
    // Verified even when locked, so a locked account answers as slowly as any other.
    const bool password_ok = VerifyLoginPassword(attempt.password_hash, req->password);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(FinishLogin(s, t, *req, attempt, password_ok, source), 200);
    });
  });
  r.Add("POST", "/v1/auth/logout", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = Logout(s, t, ctx.caller);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("GET", "/v1/auth/session", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(DescribeSession(s, ctx.caller, ctx.db.NowMs()), 200); });
  });
  r.Add("POST", "/v1/auth/password", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::ChangePasswordRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    struct Read {
      Result<api::User> user;
      api::AuthPolicy policy;
    };
    Read read = ctx.db.Read([&](const State& s) { return Read{CallerUser(s, ctx.caller), s.auth_policy()}; });
    if (!read.user.ok()) return api::ErrorResponse(read.user.status());
    if (!VerifyLoginPassword(read.user->password_hash, req->current_password)) {
      return api::ErrorResponse(
          InvalidArgument("current_password is not your current password").WithDetail("field", "current_password"));
    }
    if (Status st = CheckNewPassword(read.policy, *read.user, req->new_password); !st.ok()) {
      return api::ErrorResponse(st);
    }
    const std::string new_hash = HashPassword(req->new_password);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = CommitPassword(s, t, ctx.caller, read.user->password_hash, new_hash);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/auth/totp", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) { return Render(BeginTotp(s, t, ctx.caller), 200); });
  });
  r.Add("POST", "/v1/auth/totp/confirm", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::ConfirmTotpRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) { return Render(ConfirmTotp(s, t, ctx.caller, *req), 200); });
  });
  r.Add("GET", "/v1/auth/policy", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetAuthPolicy(s, ctx.caller), 200); });
  });
  r.Add("PUT", "/v1/auth/policy", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PutAuthPolicyRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PutAuthPolicy(s, t, ctx.caller, *if_match, *req), 200);
    });
  });
}

}  // namespace govpool::controller::http
