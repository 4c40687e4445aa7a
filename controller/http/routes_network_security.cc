// /v1/security-groups, /v1/routers, /v1/floating-ips and PATCH /v1/ports/{id}
// (docs/networking.md, "Security groups", "Routers and floating IPs"): thin routes over the
// services; addresses of routers and floating IPs are allocated in their write.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

// GET on a collection; `allowed`: its query parameters (limit, page_token and its filters).
template <class List>
api::HttpResponse ListRoute(RouteContext& ctx, std::initializer_list<const char*> allowed, List list) {
  if (Status s = CheckQuery(ctx.request, allowed); !s.ok()) return api::ErrorResponse(s);
  auto opts = ParseListOptions(ctx.request);
  if (!opts.ok()) return api::ErrorResponse(opts.status());
  auto param = [&](std::string_view name) {
    const std::string* v = ctx.request.QueryParam(name);
    return v ? *v : std::string();
  };
  return ctx.db.Read([&](const State& s) { return RenderPage(list(s, *opts, param)); });
}

template <class Delete>
api::HttpResponse DeleteRoute(RouteContext& ctx, const char* what, Delete del) {
  if (Status s = CheckId(ctx.param("id"), what); !s.ok()) return api::ErrorResponse(s);
  if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
  auto if_match = ParseIfMatch(ctx.request);
  if (!if_match.ok()) return api::ErrorResponse(if_match.status());
  return ctx.db.Write([&](State& s, Txn& t) {
    Status st = del(s, t, *if_match);
    return st.ok() ? NoContent() : api::ErrorResponse(st);
  });
}

template <class Request, class Patch>
api::HttpResponse PatchRoute(RouteContext& ctx, const char* what, Patch patch) {
  if (Status s = CheckId(ctx.param("id"), what); !s.ok()) return api::ErrorResponse(s);
  if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
  auto if_match = ParseIfMatch(ctx.request);
  if (!if_match.ok()) return api::ErrorResponse(if_match.status());
  auto req = api::Parse<Request>(ctx.request.body);
  if (!req.ok()) return api::ErrorResponse(req.status());
  return ctx.db.Write([&](State& s, Txn& t) { return Render(patch(s, t, *if_match, *req), 200); });
}

template <class Get>
api::HttpResponse GetRoute(RouteContext& ctx, const char* what, Get get) {
  if (Status s = CheckId(ctx.param("id"), what); !s.ok()) return api::ErrorResponse(s);
  if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
  return ctx.db.Read([&](const State& s) { return Render(get(s), 200); });
}

}  // namespace

void SetNetworkSecurityRoutes(Router& r) {
  // ---- Security groups ----
  r.Add("POST", "/v1/security-groups", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateSecurityGroupRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateSecurityGroup(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/security-groups", [](RouteContext& ctx) {
    return ListRoute(ctx, {"limit", "page_token", "department_id"}, [&](const State& s, const ListOptions& o, auto param) {
      return ListSecurityGroups(s, ctx.caller, param("department_id"), o);
    });
  });
  r.Add("GET", "/v1/security-groups/{id}", [](RouteContext& ctx) {
    return GetRoute(ctx, "security group", [&](const State& s) { return GetSecurityGroup(s, ctx.caller, ctx.param("id")); });
  });
  r.Add("PATCH", "/v1/security-groups/{id}", [](RouteContext& ctx) {
    return PatchRoute<api::PatchSecurityGroupRequest>(ctx, "security group", [&](State& s, Txn& t, auto if_match, auto req) {
      return PatchSecurityGroup(s, t, ctx.caller, ctx.param("id"), if_match, req);
    });
  });
  r.Add("DELETE", "/v1/security-groups/{id}", [](RouteContext& ctx) {
    return DeleteRoute(ctx, "security group", [&](State& s, Txn& t, auto if_match) {
      return DeleteSecurityGroup(s, t, ctx.caller, ctx.param("id"), if_match);
    });
  });
  r.Add("POST", "/v1/security-groups/{id}/rules", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "security group"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateSecurityGroupRuleRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      auto rule = AddSecurityGroupRule(s, t, ctx.caller, ctx.param("id"), *req);
      if (!rule.ok()) return api::ErrorResponse(rule.status());
      // The group as it now is (its new revision, every rule): the rule is found by its id.
      return Render(GetSecurityGroup(s, ctx.caller, ctx.param("id")), 201);
    });
  });
  r.Add("DELETE", "/v1/security-groups/{id}/rules/{rule_id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "security group"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckId(ctx.param("rule_id"), "rule"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteSecurityGroupRule(s, t, ctx.caller, ctx.param("id"), ctx.param("rule_id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });

  // ---- Ports: name and security groups ----
  r.Add("PATCH", "/v1/ports/{id}", [](RouteContext& ctx) {
    return PatchRoute<api::PatchPortRequest>(ctx, "port", [&](State& s, Txn& t, auto if_match, auto req) {
      return PatchPort(s, t, ctx.caller, ctx.param("id"), if_match, req);
    });
  });

  // ---- Routers ----
  r.Add("POST", "/v1/routers", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateRouterRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateRouter(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/routers", [](RouteContext& ctx) {
    return ListRoute(ctx, {"limit", "page_token", "department_id"}, [&](const State& s, const ListOptions& o, auto param) {
      return ListRouters(s, ctx.caller, param("department_id"), o);
    });
  });
  r.Add("GET", "/v1/routers/{id}", [](RouteContext& ctx) {
    return GetRoute(ctx, "router", [&](const State& s) { return GetRouter(s, ctx.caller, ctx.param("id")); });
  });
  r.Add("PATCH", "/v1/routers/{id}", [](RouteContext& ctx) {
    return PatchRoute<api::PatchRouterRequest>(ctx, "router", [&](State& s, Txn& t, auto if_match, auto req) {
      return PatchRouter(s, t, ctx.caller, ctx.param("id"), if_match, req);
    });
  });
  r.Add("DELETE", "/v1/routers/{id}", [](RouteContext& ctx) {
    return DeleteRoute(ctx, "router", [&](State& s, Txn& t, auto if_match) {
      return DeleteRouter(s, t, ctx.caller, ctx.param("id"), if_match);
    });
  });
  r.Add("POST", "/v1/routers/{id}/interfaces", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "router"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::RouterInterfaceRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(AddRouterInterface(s, t, ctx.caller, ctx.param("id"), *req), 200);
    });
  });
  r.Add("DELETE", "/v1/routers/{id}/interfaces/{subnet_id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "router"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckId(ctx.param("subnet_id"), "subnet"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(RemoveRouterInterface(s, t, ctx.caller, ctx.param("id"), ctx.param("subnet_id")), 200);
    });
  });

  // ---- Floating IPs ----
  r.Add("POST", "/v1/floating-ips", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateFloatingIpRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateFloatingIp(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/floating-ips", [](RouteContext& ctx) {
    return ListRoute(ctx, {"limit", "page_token", "department_id", "port_id", "floating_network_id"},
                     [&](const State& s, const ListOptions& o, auto param) {
                       FloatingIpFilter f{param("department_id"), param("port_id"), param("floating_network_id")};
                       return ListFloatingIps(s, ctx.caller, f, o);
                     });
  });
  r.Add("GET", "/v1/floating-ips/{id}", [](RouteContext& ctx) {
    return GetRoute(ctx, "floating IP", [&](const State& s) { return GetFloatingIp(s, ctx.caller, ctx.param("id")); });
  });
  r.Add("PATCH", "/v1/floating-ips/{id}", [](RouteContext& ctx) {
    return PatchRoute<api::PatchFloatingIpRequest>(ctx, "floating IP", [&](State& s, Txn& t, auto if_match, auto req) {
      return PatchFloatingIp(s, t, ctx.caller, ctx.param("id"), if_match, req);
    });
  });
  r.Add("DELETE", "/v1/floating-ips/{id}", [](RouteContext& ctx) {
    return DeleteRoute(ctx, "floating IP", [&](State& s, Txn& t, auto if_match) {
      return DeleteFloatingIp(s, t, ctx.caller, ctx.param("id"), if_match);
    });
  });
}

}  // namespace govpool::controller::http
