#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetDepartmentRoutes(Router& r) {
  r.Add("POST", "/v1/departments", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateDepartmentRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateDepartment(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/departments", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListDepartments(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/departments/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "department"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetDepartment(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("PATCH", "/v1/departments/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "department"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PatchDepartmentRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchDepartment(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200);
    });
  });
  r.Add("DELETE", "/v1/departments/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "department"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteDepartment(s, t, ctx.caller, ctx.param("id"), *if_match);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("GET", "/v1/departments/{id}/usage", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "department"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetUsage(s, ctx.caller, ctx.param("id")), 200); });
  });
}

}  // namespace govpool::controller::http
