// /v1/volumes: block devices in storage pools, their snapshots (/v1/volumes/{id}/snapshots)
// and the agents' reports on both. Changes of desired state (delete, resize, attach, detach,
// rollback) answer 202 with the object: the storage agent doing the volume's work carries
// them out and reports back through PUT .../status.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

// ?flatten=true|false (absent: false).
Result<bool> ParseFlatten(const api::HttpRequest& req) {
  const std::string* v = req.QueryParam("flatten");
  if (!v) return false;
  if (*v != "true" && *v != "false") {
    return InvalidArgument("flatten must be true or false").WithDetail("field", "flatten");
  }
  return *v == "true";
}

// The checks every /v1/volumes/{id}/snapshots/{sid} route starts with.
Status CheckSnapshotPath(const RouteContext& ctx) {
  if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return s;
  return CheckId(ctx.param("sid"), "snapshot");
}

// A volume answer: 204 when its record is gone (an agent confirmed the deletion).
api::HttpResponse RenderVolume(const Result<api::Volume>& v, int ok_status) {
  if (!v.ok()) return api::ErrorResponse(v.status());
  if (v->state == api::VolumeState::kDeleted) return NoContent();
  return api::JsonResponse(ok_status, api::Encode(*v));
}

api::HttpResponse RenderSnapshot(const Result<api::VolumeSnapshot>& v, int ok_status) {
  if (!v.ok()) return api::ErrorResponse(v.status());
  if (v->state == api::SnapshotState::kDeleted) return NoContent();
  return api::JsonResponse(ok_status, api::Encode(*v));
}

void SetSnapshotRoutes(Router& r) {
  r.Add("POST", "/v1/volumes/{id}/snapshots", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateSnapshotRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateSnapshot(s, t, ctx.caller, ctx.param("id"), *req), 201);
    });
  });
  r.Add("GET", "/v1/volumes/{id}/snapshots", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListSnapshots(s, ctx.caller, ctx.param("id"), *opts));
    });
  });
  r.Add("GET", "/v1/volumes/{id}/snapshots/{sid}", [](RouteContext& ctx) {
    if (Status s = CheckSnapshotPath(ctx); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetSnapshot(s, ctx.caller, ctx.param("id"), ctx.param("sid")), 200);
    });
  });
  r.Add("DELETE", "/v1/volumes/{id}/snapshots/{sid}", [](RouteContext& ctx) {
    if (Status s = CheckSnapshotPath(ctx); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"flatten"}); !s.ok()) return api::ErrorResponse(s);
    auto flatten = ParseFlatten(ctx.request);
    if (!flatten.ok()) return api::ErrorResponse(flatten.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderSnapshot(
          DeleteSnapshot(s, t, ctx.caller, ctx.param("id"), ctx.param("sid"), *flatten), 202);
    });
  });
  r.Add("POST", "/v1/volumes/{id}/snapshots/{sid}/rollback", [](RouteContext& ctx) {
    if (Status s = CheckSnapshotPath(ctx); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(RollbackVolume(s, t, ctx.caller, ctx.param("id"), ctx.param("sid")), 202);
    });
  });
  r.Add("PUT", "/v1/volumes/{id}/snapshots/{sid}/status", [](RouteContext& ctx) {
    if (Status s = CheckSnapshotPath(ctx); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::SnapshotStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderSnapshot(
          ReportSnapshotStatus(s, t, ctx.caller, ctx.param("id"), ctx.param("sid"), *req), 200);
    });
  });
}

}  // namespace

void SetVolumeRoutes(Router& r) {
  r.Add("POST", "/v1/volumes", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateVolumeRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateVolume(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/volumes", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "department_id", "vm_id", "pool_id"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    VolumeFilter f;
    if (const std::string* v = ctx.request.QueryParam("department_id")) f.department_id = *v;
    if (const std::string* v = ctx.request.QueryParam("vm_id")) f.vm_id = *v;
    if (const std::string* v = ctx.request.QueryParam("pool_id")) f.pool_id = *v;
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListVolumes(s, ctx.caller, f, *opts));
    });
  });
  r.Add("GET", "/v1/volumes/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetVolume(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("DELETE", "/v1/volumes/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"flatten"}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto flatten = ParseFlatten(ctx.request);
    if (!flatten.ok()) return api::ErrorResponse(flatten.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderVolume(DeleteVolume(s, t, ctx.caller, ctx.param("id"), *if_match, *flatten), 202);
    });
  });
  r.Add("POST", "/v1/volumes/{id}/resize", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::ResizeVolumeRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(ResizeVolume(s, t, ctx.caller, ctx.param("id"), *req), 202);
    });
  });
  r.Add("POST", "/v1/volumes/{id}/attach", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::AttachVolumeRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(AttachVolume(s, t, ctx.caller, ctx.param("id"), *req), 202);
    });
  });
  r.Add("POST", "/v1/volumes/{id}/detach", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(DetachVolume(s, t, ctx.caller, ctx.param("id")), 202);
    });
  });
  r.Add("PUT", "/v1/volumes/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "volume"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::VolumeStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderVolume(ReportVolumeStatus(s, t, ctx.caller, ctx.param("id"), *req), 200);
    });
  });
  SetSnapshotRoutes(r);
}

}  // namespace govpool::controller::http
