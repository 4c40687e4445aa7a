// /v1/images: bootable images. GET takes an id or a name. The image's data travels on its own
// streamed routes (PUT/GET /v1/images/{id}/data, Router::AddUpload), registered apart from
// these JSON routes.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

// An image answer: 204 when its record is gone.
api::HttpResponse RenderImage(const Result<api::Image>& image, int ok_status) {
  if (!image.ok()) return api::ErrorResponse(image.status());
  if (image->state == api::ImageState::kDeleted) return NoContent();
  return api::JsonResponse(ok_status, api::Encode(*image));
}

}  // namespace

void SetImageRoutes(Router& r) {
  r.Add("POST", "/v1/images", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateImageRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateImage(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/images", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListImages(s, ctx.caller, *opts));
    });
  });
  r.Add("GET", "/v1/images/{id}", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetImage(s, ctx.caller, ctx.param("id")), 200);
    });
  });
  r.Add("DELETE", "/v1/images/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "image"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    // An image never handed to an agent goes at once (204); its staged upload, if any, is the
    // data routes' to remove.
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderImage(DeleteImage(s, t, ctx.caller, ctx.param("id")), 202);
    });
  });
  r.Add("POST", "/v1/images/{id}/verify", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "image"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(VerifyImage(s, t, ctx.caller, ctx.param("id")), 202);
    });
  });
  r.Add("PUT", "/v1/images/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "image"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::ImageStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderImage(ReportImageStatus(s, t, ctx.caller, ctx.param("id"), *req), 200);
    });
  });
}

}  // namespace govpool::controller::http
