#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"
#include "controller/utilisation.h"

namespace govpool::controller::http {

void SetHostRoutes(Router& r) {
  // Literal routes before "/v1/hosts/{id}" (see Router::Find).
  r.Add("POST", "/v1/hosts/register", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::RegisterHostRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(RegisterHost(s, t, ctx.caller, *req), 200);
    });
  });
  // Prometheus' http_sd_configs: a bare JSON array (api::EncodeMetricsTargets).
  r.Add("GET", "/v1/metrics/targets", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      auto groups = ListMetricsTargets(s, ctx.caller);
      if (!groups.ok()) return api::ErrorResponse(groups.status());
      return api::JsonResponse(200, api::EncodeMetricsTargets(*groups));
    });
  });
  r.Add("GET", "/v1/reports/consolidation", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto input = ctx.db.Read([&](const State& s) { return CollectConsolidation(s, ctx.caller); });
    if (!input.ok()) return api::ErrorResponse(input.status());
    auto report = PackConsolidation(std::move(*input), ctx.db.NowMs());  // outside the lock
    if (!report.ok()) return api::ErrorResponse(report.status());
    return api::JsonResponse(200, api::Encode(*report));
  });
  // Reads the rollups from the store outside Db's lock, like the audit trail's routes.
  r.Add("GET", "/v1/reports/utilisation", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"from", "to", "group_by", "format"}); !s.ok()) return api::ErrorResponse(s);
    auto param = [&](const char* name) {
      const std::string* v = ctx.request.QueryParam(name);
      return v ? *v : std::string();
    };
    const std::string format = param("format");
    if (!format.empty() && format != "json" && format != "csv") {
      return api::ErrorResponse(InvalidArgument("format must be json or csv").WithDetail("field", "format"));
    }
    auto query = ParseUtilisationQuery(param("group_by"), param("from"), param("to"), ctx.db.NowMs());
    if (!query.ok()) return api::ErrorResponse(query.status());
    auto subjects = ctx.db.Read([&](const State& s) { return UtilisationSubjectsOf(s, ctx.caller, query->group_by); });
    if (!subjects.ok()) return api::ErrorResponse(subjects.status());
    auto report = BuildUtilisationReport(ctx.db.store(), *subjects, ctx.caller.is_system_admin(), *query);
    if (!report.ok()) return api::ErrorResponse(report.status());
    if (format != "csv") return api::JsonResponse(200, api::Encode(*report));
    api::HttpResponse resp;
    resp.content_type = "text/csv";
    resp.body = UtilisationCsv(*report);
    return resp;
  });
  r.Add("GET", "/v1/hosts", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "pool", "status"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    HostFilter f;
    if (const std::string* p = ctx.request.QueryParam("pool")) f.pool = *p;
    auto status = ParseEnumQuery<api::HostStatus>(ctx.request, "status");
    if (!status.ok()) return api::ErrorResponse(status.status());
    f.status = *status;
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListHosts(s, ctx.caller, f, *opts));
    });
  });
  r.Add("GET", "/v1/hosts/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetHost(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("PATCH", "/v1/hosts/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PatchHostRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchHost(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200);
    });
  });
  r.Add("DELETE", "/v1/hosts/{id}/certificates", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      const Status st = RevokeHostCertificates(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/hosts/{id}/heartbeat", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "host"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseOrDefault<api::HeartbeatRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      auto host = Heartbeat(s, t, ctx.caller, ctx.param("id"), req->usage ? &*req->usage : nullptr,
                            req->vms ? &*req->vms : nullptr);
      if (!host.ok() || !req->storage_pools) return Render(host, 200);
      // The storage report rides on the same write. Heartbeat has checked the caller and the
      // host, which is all ReportStoragePools checks, so it does not fail after that mutation.
      Status st = ReportStoragePools(s, t, ctx.caller, ctx.param("id"), *req->storage_pools);
      if (!st.ok()) return api::ErrorResponse(st);
      return Render(GetHost(s, ctx.caller, ctx.param("id")), 200);  // with the pools just reported
    });
  });
}

}  // namespace govpool::controller::http
