// /v1/networks, /v1/subnets and /v1/ports (docs/networking.md, "Networks (controller side)"):
// thin routes over the network services; addresses are allocated in the port's write.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetNetworkRoutes(Router& r) {
  // ---- Networks ----
  r.Add("POST", "/v1/networks", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateNetworkRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateNetwork(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/networks", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "department_id"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    NetworkFilter f;
    if (const std::string* v = ctx.request.QueryParam("department_id")) f.department_id = *v;
    return ctx.db.Read([&](const State& s) { return RenderPage(ListNetworks(s, ctx.caller, f, *opts)); });
  });
  r.Add("GET", "/v1/networks/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "network"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetNetwork(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("DELETE", "/v1/networks/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "network"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteNetwork(s, t, ctx.caller, ctx.param("id"), *if_match);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });

  // ---- Subnets ----
  r.Add("POST", "/v1/subnets", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateSubnetRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateSubnet(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/subnets", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "network_id"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    const std::string* n = ctx.request.QueryParam("network_id");
    return ctx.db.Read([&](const State& s) { return RenderPage(ListSubnets(s, ctx.caller, n ? *n : "", *opts)); });
  });
  r.Add("GET", "/v1/subnets/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "subnet"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetSubnet(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("DELETE", "/v1/subnets/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "subnet"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteSubnet(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });

  // ---- Ports ----
  r.Add("POST", "/v1/ports", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreatePortRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreatePort(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/ports", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "network_id", "device_id", "department_id"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    PortFilter f;
    if (const std::string* v = ctx.request.QueryParam("network_id")) f.network_id = *v;
    if (const std::string* v = ctx.request.QueryParam("device_id")) f.device_id = *v;
    if (const std::string* v = ctx.request.QueryParam("department_id")) f.department_id = *v;
    return ctx.db.Read([&](const State& s) { return RenderPage(ListPorts(s, ctx.caller, f, *opts)); });
  });
  r.Add("GET", "/v1/ports/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "port"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetPort(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("DELETE", "/v1/ports/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "port"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeletePort(s, t, ctx.caller, ctx.param("id"), *if_match);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  // The agent of the port's VM's host reports it plugged, unplugged or failed.
  r.Add("PUT", "/v1/ports/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "port"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::PortStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) { return Render(ReportPortStatus(s, t, ctx.caller, ctx.param("id"), *req), 200); });
  });
}

}  // namespace govpool::controller::http
