// /v1/backup-policies and /v1/backups (docs/storage.md, "Backups"): schedules, the backups
// they (or users) start, restores into new volumes, and the agents' reports. Deleting a backup
// answers 202 with the object (the agent removes its snapshots; 204 once the record is gone).
#include "api/codec.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

api::HttpResponse RenderBackup(const Result<api::Backup>& b, int ok_status) {
  if (!b.ok()) return api::ErrorResponse(b.status());
  if (b->state == api::BackupState::kDeleted) return NoContent();
  return api::JsonResponse(ok_status, api::Encode(*b));
}

void SetBackupPolicyRoutes(Router& r) {
  r.Add("POST", "/v1/backup-policies", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateBackupPolicyRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(CreateBackupPolicy(s, t, ctx.caller, *req), 201);
    });
  });
  r.Add("GET", "/v1/backup-policies", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "department_id"}); !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    const std::string* d = ctx.request.QueryParam("department_id");
    return ctx.db.Read([&](const State& s) {
      return RenderPage(ListBackupPolicies(s, ctx.caller, d ? *d : "", *opts));
    });
  });
  r.Add("GET", "/v1/backup-policies/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup policy"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetBackupPolicy(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("PATCH", "/v1/backup-policies/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup policy"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    auto req = api::Parse<api::PatchBackupPolicyRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return Render(PatchBackupPolicy(s, t, ctx.caller, ctx.param("id"), *if_match, *req), 200);
    });
  });
  r.Add("DELETE", "/v1/backup-policies/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup policy"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      Status st = DeleteBackupPolicy(s, t, ctx.caller, ctx.param("id"), *if_match);
      return st.ok() ? NoContent() : api::ErrorResponse(st);
    });
  });
}

}  // namespace

void SetBackupRoutes(Router& r) {
  SetBackupPolicyRoutes(r);
  r.Add("POST", "/v1/backups", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::CreateBackupRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) { return Render(CreateBackup(s, t, ctx.caller, *req), 201); });
  });
  r.Add("GET", "/v1/backups", [](RouteContext& ctx) {
    if (Status s = CheckQuery(ctx.request, {"limit", "page_token", "department_id", "volume_id", "policy_id"});
        !s.ok()) {
      return api::ErrorResponse(s);
    }
    auto opts = ParseListOptions(ctx.request);
    if (!opts.ok()) return api::ErrorResponse(opts.status());
    BackupFilter f;
    if (const std::string* v = ctx.request.QueryParam("department_id")) f.department_id = *v;
    if (const std::string* v = ctx.request.QueryParam("volume_id")) f.volume_id = *v;
    if (const std::string* v = ctx.request.QueryParam("policy_id")) f.policy_id = *v;
    return ctx.db.Read([&](const State& s) { return RenderPage(ListBackups(s, ctx.caller, f, *opts)); });
  });
  r.Add("GET", "/v1/backups/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    return ctx.db.Read([&](const State& s) { return Render(GetBackup(s, ctx.caller, ctx.param("id")), 200); });
  });
  r.Add("DELETE", "/v1/backups/{id}", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto if_match = ParseIfMatch(ctx.request);
    if (!if_match.ok()) return api::ErrorResponse(if_match.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderBackup(DeleteBackup(s, t, ctx.caller, ctx.param("id"), *if_match), 202);
    });
  });
  r.Add("POST", "/v1/backups/{id}/restore", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::RestoreBackupRequest>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return WriteIdempotent(ctx, [&](State& s, Txn& t) {
      return Render(RestoreBackup(s, t, ctx.caller, ctx.param("id"), *req), 201);
    });
  });
  r.Add("PUT", "/v1/backups/{id}/status", [](RouteContext& ctx) {
    if (Status s = CheckId(ctx.param("id"), "backup"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto req = api::Parse<api::BackupStatusReport>(ctx.request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    return ctx.db.Write([&](State& s, Txn& t) {
      return RenderBackup(ReportBackupStatus(s, t, ctx.caller, ctx.param("id"), *req), 200);
    });
  });
}

}  // namespace govpool::controller::http
