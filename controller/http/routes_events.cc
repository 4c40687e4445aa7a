#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetEventRoutes(Router& r) {
  r.Add("POST", "/v1/hosts/{id}/events", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::ReportEventsRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = ReportEvents(s, t, ctx.caller, ctx.param("id"), *req);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("GET", "/v1/events", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "host_id", "vm_id"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    EventFilter f;
    f.limit = opts->limit;
    if (const std::string* v = ctx.request.QueryParam("host_id")) f.host_id = *v;
    if (const std::string* v = ctx.request.QueryParam("vm_id")) f.vm_id = *v;
    return ctx.db.Read([&](const State& s) {
      return RenderPage(api::ListPage<api::Event>{ListEvents(s, ctx.caller, f), ""});
    });
  });
}

}  // namespace govpool::controller::http
