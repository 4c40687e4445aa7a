#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetServerGroupRoutes(Router& r) {
  r.Add("POST", "/v1/server-groups", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateServerGroupRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateServerGroup(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/server-groups", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListServerGroups(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/server-groups/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "server group"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetServerGroup(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("DELETE", "/v1/server-groups/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "server group"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteServerGroup(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
}

void SetSchedulerRoutes(Router& r) {
  r.Add("POST", "/v1/scheduler/preview", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::PreviewRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Read([&](const State& s) {
      auto p = PreviewPlacement(s, ctx.caller, *req);
      if (!p.ok()) return api::ErrorResponse(p.status());
      api::PreviewAnswer answer;
      answer.fits = p->fits;
      // Hosts are the system-admin's (docs/security.md): a dept-admin learns whether and why
      // not, in counts, but no host and none of the filters' sentences, which name pools.
      const bool names_hosts = ctx.caller.is_system_admin();
      if (names_hosts) {
        for (const auto& [id, name] : p->assignments) answer.assignments.push_back({id, name});
      }
      auto e = p->explanation;
      if (!names_hosts) e.notes.clear();
      answer.explanation = {e.hosts_total, e.hosts_fit, e.rejected, e.Summary()};
      return api::JsonResponse(200, api::Encode(answer));
    });
  });
}

}  // namespace govpool::controller::http
