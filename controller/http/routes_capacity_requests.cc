// /v1/capacity-requests (docs/departments.md, "Capacity requests"): departments file requests
// for quota or VMs; the levels above approve in turn, the platform last, whose approval applies
// the grant. Decisions take an optional body ({"reason": ...}; rejecting needs one) and honour
// Idempotency-Key, so a retried approve replays its answer instead of failing as a second one.
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

using Decide = Result<api::CapacityRequest> (*)(State&, Txn&, const Caller&, const std::string&,
                                                const api::CapacityDecision&);

void AddDecision(Router& r, const std::string& verb, Decide decide) {
  r.Add("POST", "/v1/capacity-requests/{id}/" + verb, [decide](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "capacity request"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::ParseOrDefault<api::CapacityDecision>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(decide(s, t, ctx.caller, ctx.param("id"), *req), 200);
    });
  });
}

}  // namespace

void SetCapacityRequestRoutes(Router& r) {
  r.Add("POST", "/v1/capacity-requests", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateCapacityRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateCapacityRequest(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/capacity-requests", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token"}); !s.ok()) return api::ErrorResponse(s);
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    return ctx.db.Read([&](const State& s) { return RenderPage(ListCapacityRequests(s, ctx.caller, *opts)); });
  });
  r.Add("GET", "/v1/capacity-requests/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "capacity request"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetCapacityRequest(s, ctx.caller, ctx.param("id")), 200); });
  });
  AddDecision(r, "submit", [](State& s, Txn& t, const Caller& c, const std::string& id, const api::CapacityDecision&) {
    return SubmitCapacityRequest(s, t, c, id);
  });
  AddDecision(r, "approve", [](State& s, Txn& t, const Caller& c, const std::string& id, const api::CapacityDecision&) {
    return ApproveCapacityRequest(s, t, c, id);
  });
  AddDecision(r, "reject", [](State& s, Txn& t, const Caller& c, const std::string& id, const api::CapacityDecision& d) {
    return RejectCapacityRequest(s, t, c, id, d.reason);
  });
  AddDecision(r, "withdraw", [](State& s, Txn& t, const Caller& c, const std::string& id, const api::CapacityDecision&) {
    return WithdrawCapacityRequest(s, t, c, id);
  });
}

}  // namespace govpool::controller::http
