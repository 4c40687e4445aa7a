#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

RouteHandler Action(std::string action) {
  return [action](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(VmAction(s, t, ctx.caller, ctx.param("id"), action), 202, api::EncodeVm);
    });
  };
}

}  // namespace

void SetVmRoutes(Router& r) {
  r.Add("POST", "/v1/vms", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseCreateVmRequest(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      auto vms = CreateVms(s, t, ctx.caller, *req);
      if (!vms.ok()) return api::ErrorResponse(vms.status());
      if (req->count == 1) return api::JsonResponse(201, api::EncodeVm(vms->front()));
      std::vector<std::string> items;
      for (const auto& v : *vms) items.push_back(api::EncodeVm(v));
      return api::JsonResponse(201, api::EncodeList(items, ""));
    });
  });
  r.Add("GET", "/v1/vms", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "department_id", "host_id", "state"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    VmFilter f;
    if (const std::string* v = ctx.request.QueryParam("department_id")) f.department_id = *v;
    if (const std::string* v = ctx.request.QueryParam("host_id")) f.host_id = *v;
    if (const std::string* v = ctx.request.QueryParam("state")) f.state = *v;
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListVms(s, ctx.caller, f, *opts), api::EncodeVm);
    });
  });
  r.Add("GET", "/v1/vms/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetVm(s, ctx.caller, ctx.param("id")), 200, api::EncodeVm);
    });
  });
  r.Add("DELETE", "/v1/vms/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {"force"}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    const std::string* force_param = ctx.request.QueryParam("force");
    if (force_param && *force_param != "true" && *force_param != "false") {
      return api::ErrorResponse(InvalidArgument("force must be true or false").WithDetail("field", "force"));
    }
    const bool force = force_param && *force_param == "true";
    return ctx.db.Write([&](State& s, Txn& t) {
      auto vm = DeleteVm(s, t, ctx.caller, ctx.param("id"), *if_match, force);
      if (!vm.ok()) return api::ErrorResponse(vm.status());
      if (vm->state == "deleted") return NoContent();
      return api::JsonResponse(202, api::EncodeVm(*vm));
    });
  });
  r.Add("POST", "/v1/vms/{id}/start", Action("start"));
  r.Add("POST", "/v1/vms/{id}/stop", Action("stop"));
  r.Add("POST", "/v1/vms/{id}/reboot", Action("reboot"));
  r.Add("PUT", "/v1/vms/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseVmStatusReport(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      auto vm = ReportVmStatus(s, t, ctx.caller, ctx.param("id"), *req);
      if (!vm.ok()) return api::ErrorResponse(vm.status());
      if (vm->state == "deleted") return NoContent();
      return api::JsonResponse(200, api::EncodeVm(*vm));
    });
  });
}

}  // namespace govpool::controller::http
