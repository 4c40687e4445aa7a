#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

// MLPS 8.2 (cloud extension): deleting and restarting a VM are audit records of their own
// kind (docs/security.md, "Audit trail"), committed with the change; the request's own record
// says how it was answered.
AuditEntry VmRecord(const RouteContext& ctx, std::string kind, const api::Vm& vm) {
  AuditEntry e;
  e.kind = std::move(kind);
  e.user = ctx.caller.name;
  e.user_id = ctx.caller.user_id;
  e.role = std::string(api::ToString(ctx.caller.role));
  e.source = ctx.request.remote_address;
  e.method = ctx.request.method;
  e.route = e.kind == "vm_restart" ? "/v1/vms/{id}/reboot" : "/v1/vms/{id}";
  e.object_id = vm.meta.id;
  e.department_id = vm.department_id;
  e.outcome = "allowed";
  e.detail = "vm " + vm.name;
  return e;
}

RouteHandler Action(std::string action) {
  return [action](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = api::ParseEmptyBody(ctx.request.body); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      auto vm = VmAction(s, t, ctx.caller, ctx.param("id"), action);
      if (vm.ok() && action == "reboot") t.Audit(VmRecord(ctx, "vm_restart", *vm));
      return Render(vm, 202);
    });
  };
}

}  // namespace

void SetVmRoutes(Router& r) {
  r.Add("POST", "/v1/vms", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateVmRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      auto vms = CreateVms(s, t, ctx.caller, *req);
      if (!vms.ok()) return api::ErrorResponse(vms.status());
      if (req->count == 1) return api::JsonResponse(201, api::Encode(vms->front()));
      return api::JsonResponse(201, api::Encode(api::ListPage<api::Vm>{*vms, ""}));
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
    auto state = ParseEnumQuery<api::VmState>(ctx.request, "state");
    if (!state.ok()) return api::ErrorResponse(state.status());
    f.state = *state;
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListVms(s, ctx.caller, f, *opts));
    });
  });
  r.Add("GET", "/v1/vms/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) {
      return Render(GetVm(s, ctx.caller, ctx.param("id")), 200);
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
      t.Audit(VmRecord(ctx, "vm_delete", *vm));
      if (vm->state == api::VmState::kDeleted) return NoContent();
      return api::JsonResponse(202, api::Encode(*vm));
    });
  });
  // Hot attach / detach of NICs (docs/networking.md, "NICs of VMs").
  r.Add("POST", "/v1/vms/{id}/interfaces", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::NicRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(AttachInterface(s, t, ctx.caller, ctx.param("id"), *req), 201);
    });
  });
  r.Add("DELETE", "/v1/vms/{id}/interfaces/{port_id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckId(ctx.param("port_id"), "port"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DetachInterface(s, t, ctx.caller, ctx.param("id"), ctx.param("port_id"));
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
  r.Add("POST", "/v1/vms/{id}/start", Action("start"));
  r.Add("POST", "/v1/vms/{id}/stop", Action("stop"));
  r.Add("POST", "/v1/vms/{id}/reboot", Action("reboot"));
  r.Add("PUT", "/v1/vms/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "vm"); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::VmStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      auto vm = ReportVmStatus(s, t, ctx.caller, ctx.param("id"), *req);
      if (!vm.ok()) return api::ErrorResponse(vm.status());
      if (vm->state == api::VmState::kDeleted) return NoContent();
      return api::JsonResponse(200, api::Encode(*vm));
    });
  });
}

}  // namespace govpool::controller::http
