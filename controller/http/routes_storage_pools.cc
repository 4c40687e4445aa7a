// /v1/storage-pools: the Ceph pools govpool may put volumes and images in (admins write;
// everyone reads). GET takes an id or a name; the pools' stats come from agents' heartbeats
// (routes_hosts.cc).
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {

void SetStoragePoolRoutes(Router& r) {
  r.Add("POST", "/v1/storage-pools", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateStoragePoolRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateStoragePool(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/storage-pools", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListStoragePools(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/storage-pools/{id}", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetStoragePool(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("PATCH", "/v1/storage-pools/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "storage pool"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PatchStoragePoolRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchStoragePool(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200);
    });
  });
  r.Add("DELETE", "/v1/storage-pools/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "storage pool"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteStoragePool(s, t, ctx.caller, ctx.param("id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
}

}  // namespace govpool::controller::http
