// Capacity requests (docs/departments.md, "Capacity requests"): a department asks for more quota
// or for VMs; the departments above it whose limits the grant draws on approve in turn, nearest
// first, then the platform (the system-admin); the final approval applies the grant in the same
// transaction, or records why it could not (approve again to retry). Time-limited grants return
// at their end (ExpireCapacityGrants, run by the housekeeper).
#include <algorithm>

#include "common/log.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

using RequestState = api::CapacityRequestState;

// The quota resources a request grows: those its quota patch names, or what VMs use.
std::vector<const api::QuotaResource*> GrownResources(const api::CapacityRequest& r) {
  std::vector<const api::QuotaResource*> out;
  for (const api::QuotaResource& q : api::kQuotaResources) {
    const bool by_quota = r.quota && ((*r.quota).*(q.patch)).has_value();
    const bool by_vms = r.vms && (q.name == "instances" || q.name == "vcpus" || q.name == "memory_mib" ||
                                  (!r.vms->image.empty() && (q.name == "volumes" || q.name == "volume_gib")));
    if (by_quota || by_vms) out.push_back(&q);
  }
  return out;
}

// Each step is an event (kind capacity-request-*, capacity-grant-*, capacity-over-quota) and a
// webhook notification named by the kind's last part (submitted, expiring, over-quota...).
void Event(State& s, Txn& t, const api::CapacityRequest& r, const std::string& kind, const std::string& message) {
  const std::string text = "capacity request " + r.meta.id + ": " + message;
  std::string_view event = kind;
  for (std::string_view prefix : {"capacity-request-", "capacity-grant-", "capacity-"}) {
    if (event.starts_with(prefix)) {
      event.remove_prefix(prefix.size());
      break;
    }
  }
  NotifyCapacityRequest(s, t, r, event, text);
  AddDepartmentEvent(s, t, r.department_id, kind, text);
}

// What an approver sees beside a waiting request: the department's usage of what the grant
// grows, each level's headroom, and whether the grant could be applied now.
api::CapacityContext ContextOf(const State& s, const api::CapacityRequest& r) {
  api::CapacityContext ctx;
  const api::Department* d = s.FindDepartment(r.department_id);
  if (!d) return ctx;
  const Caller platform{"", "platform", api::Role::kSystemAdmin, ""};
  const std::vector<const api::QuotaResource*> grown = GrownResources(r);
  if (auto usage = GetUsage(s, platform, d->meta.id); usage.ok()) {
    for (const api::QuotaResource* q : grown) ctx.usage[std::string(q->name)] = usage->usage[std::string(q->name)];
  }
  for (const api::Department* a : s.AncestorsOf(d->meta.id)) {
    auto usage = GetUsage(s, platform, a->meta.id);
    if (!usage.ok()) continue;
    for (const api::QuotaResource* q : grown) {
      const api::QuotaUse& use = usage->usage[std::string(q->name)];
      const std::int64_t headroom = use.limit < 0 ? -1 : use.children_limits < 0 ? 0 : use.limit - use.children_limits;
      ctx.headroom.push_back({a->meta.id, std::string(q->name), headroom});
    }
  }
  if (r.vms) {
    api::PreviewRequest preview{d->meta.id, r.vms->flavor, "", "", r.vms->count};
    auto placed = PreviewPlacement(s, platform, preview);
    ctx.fits_now = placed.ok() && placed->fits;
    if (!placed.ok()) {
      ctx.fit_summary = placed.status().message();
    } else if (!placed->fits) {
      ctx.fit_summary = "no host has room for them now:";
      for (const auto& [reason, hosts] : placed->explanation.rejected) {
        ctx.fit_summary += " " + reason + " (" + std::to_string(hosts) + " hosts)";
      }
    }
  } else if (r.quota) {
    api::Department grown_department = *d;
    for (const api::QuotaResource* q : grown) {
      const std::optional<std::int64_t>& more = (*r.quota).*(q->patch);
      std::int64_t& limit = grown_department.quota.*(q->limit);
      if (more && limit >= 0) limit += *more;
    }
    const Status fits = CheckLimitsFitParent(s, grown_department);
    ctx.fits_now = fits.ok();
    ctx.fit_summary = fits.ok() ? "" : fits.message();
  }
  return ctx;
}

// The request with its derived fields: the level it waits for and, while it waits, the context.
api::CapacityRequest Render(const State& s, api::CapacityRequest r) {
  r.next_level = r.state == RequestState::kSubmitted && r.approvals.size() < r.levels.size() ? r.levels[r.approvals.size()] : "";
  const bool waiting = r.state == RequestState::kSubmitted || r.state == RequestState::kApproved;
  if (waiting) r.context = ContextOf(s, r);
  return r;
}

bool MayFile(const Caller& c, const std::string& department_id) {
  return (c.role == api::Role::kDeptAdmin || c.role == api::Role::kDeptMember) && c.department_id == department_id;
}

Result<api::CapacityRequest> Find(const State& s, const Caller& c, const std::string& id) {
  const api::CapacityRequest* r = s.FindCapacityRequest(id);
  if (!r || !CanSeeDepartment(s, c, r->department_id)) return NotFound("capacity request " + id + " not found");
  return *r;
}

Status NotPending(const api::CapacityRequest& r, const std::string& what) {
  return FailedPrecondition("capacity request " + r.meta.id + " is " + std::string(api::ToString(r.state)) +
                            "; it cannot be " + what)
      .WithReason("REQUEST_NOT_PENDING")
      .WithDetail("state", std::string(api::ToString(r.state)));
}

// Applies the grant: the quota grows (checked against the parent, as any quota change), or the
// VMs are created as one request with the department's limits grown by what they use. Nothing
// changes when it fails.
Status Apply(State& s, Txn& t, const Caller& c, api::CapacityRequest& r) {
  const api::Department* d = s.FindDepartment(r.department_id);
  if (!d) return FailedPrecondition("the department is gone");
  if (r.quota) {
    api::PatchDepartmentRequest patch;
    patch.quota = api::QuotaPatch{};
    api::QuotaPatch granted;
    for (const api::QuotaResource& q : api::kQuotaResources) {
      const std::optional<std::int64_t>& more = (*r.quota).*(q.patch);
      const std::int64_t limit = d->quota.*(q.limit);
      if (!more || limit < 0) continue;  // unlimited already
      (*patch.quota).*(q.patch) = limit + *more;
      granted.*(q.patch) = *more;
    }
    const Caller platform{c.user_id, c.name, api::Role::kSystemAdmin, ""};
    GP_RETURN_IF_ERROR(PatchDepartment(s, t, platform, d->meta.id, std::nullopt, patch).status());
    r.granted = granted;
    return OkStatus();
  }
  api::CreateVmRequest req;
  req.name = r.vms->name;
  req.department_id = r.department_id;
  req.flavor = r.vms->flavor;
  req.image = r.vms->image;
  req.count = r.vms->count;
  if (!r.vms->network.empty()) req.networks.push_back(api::NicRequest{r.vms->network, "", ""});
  api::QuotaPatch granted;
  GP_ASSIGN_OR_RETURN(std::vector<api::Vm> vms, CreateVms(s, t, c, req, &granted));
  r.granted = granted;
  for (const api::Vm& v : vms) r.vm_ids.push_back(v.meta.id);
  return OkStatus();
}

}  // namespace

Result<api::CapacityRequest> CreateCapacityRequest(State& s, Txn& t, const Caller& c,
                                                   const api::CreateCapacityRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d) d = s.FindDepartmentByName(req.department_id);
  if (!d || !CanSeeDepartment(s, c, d->meta.id)) {
    return NotFound("department " + req.department_id + " not found").WithDetail("field", "department_id");
  }
  if (!MayFile(c, d->meta.id)) {
    return PermissionDenied("capacity requests are filed by the department's own members and administrators");
  }
  if (req.quota.has_value() == req.vms.has_value()) {
    return InvalidArgument("a capacity request asks for either quota or vms").WithDetail("field", "quota");
  }
  if (req.quota) {
    bool any = false;
    for (const api::QuotaResource& q : api::kQuotaResources) {
      const std::optional<std::int64_t>& more = (*req.quota).*(q.patch);
      if (!more) continue;
      if (*more < 1) {
        return InvalidArgument("quota." + std::string(q.name) + " is an increase: at least 1")
            .WithDetail("field", "quota." + std::string(q.name));
      }
      any = true;
    }
    if (!any) return InvalidArgument("quota names no resource to increase").WithDetail("field", "quota");
  }
  if (req.vms && !s.FindFlavor(req.vms->flavor)) {
    return InvalidArgument("flavor '" + req.vms->flavor + "' does not exist").WithDetail("field", "vms.flavor");
  }
  if (req.end_at_ms != 0 && req.end_at_ms <= t.now_ms()) {
    return InvalidArgument("end_at is in the past").WithDetail("field", "end_at");
  }
  api::CapacityRequest r;
  r.department_id = d->meta.id;
  r.requested_by = c.name;
  r.reason = req.reason;
  r.quota = req.quota;
  r.vms = req.vms;
  r.end_at_ms = req.end_at_ms;
  s.Save(t, r);
  if (!req.submit) return Render(s, r);
  return SubmitCapacityRequest(s, t, c, r.meta.id);
}

Result<api::CapacityRequest> GetCapacityRequest(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, Find(s, c, id));
  return Render(s, std::move(r));
}

Page<api::CapacityRequest> ListCapacityRequests(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(
      s.capacity_requests(), o, [&](const api::CapacityRequest& r) { return CanSeeDepartment(s, c, r.department_id); },
      [&](const api::CapacityRequest& r) { return Render(s, r); });
}

Result<api::CapacityRequest> SubmitCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, Find(s, c, id));
  if (!MayFile(c, r.department_id)) return PermissionDenied("a request is submitted by its department's roles");
  if (r.state != RequestState::kDraft) return NotPending(r, "submitted");
  // The levels: every department above whose limits the grant draws on (it limits one of the
  // grown resources), nearest first; then the platform, whose pools every grant draws on.
  const std::vector<const api::QuotaResource*> grown = GrownResources(r);
  r.levels.clear();
  for (const api::Department* a : s.AncestorsOf(r.department_id)) {
    const bool limits = std::any_of(grown.begin(), grown.end(), [&](const api::QuotaResource* q) { return a->quota.*(q->limit) >= 0; });
    if (limits) r.levels.push_back(a->meta.id);
  }
  r.levels.emplace_back(kPlatformLevel);
  r.state = RequestState::kSubmitted;
  s.Save(t, r);
  Event(s, t, r, "capacity-request-submitted", "submitted by " + c.name + "; next: " + r.levels.front());
  return Render(s, r);
}

Result<api::CapacityRequest> ApproveCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, Find(s, c, id));
  const bool retry = r.state == RequestState::kApproved;  // approved, not applied yet
  if (r.state != RequestState::kSubmitted && !retry) return NotPending(r, "approved");
  if (!retry) {
    const std::string& level = r.levels[r.approvals.size()];
    const bool approver = level == kPlatformLevel ? c.is_system_admin()
                                             : c.role == api::Role::kDeptAdmin && c.department_id == level;
    if (!approver) {
      const bool approved_before = std::any_of(r.approvals.begin(), r.approvals.end(), [&](const api::CapacityApproval& a) {
        return a.user_id == c.user_id;
      });
      if (approved_before) {
        return FailedPrecondition("you approved capacity request " + id + " already; it waits for " + level)
            .WithReason("ALREADY_APPROVED");
      }
      const api::Department* at = s.FindDepartment(level);
      return PermissionDenied("capacity request " + id + " waits for the approval of " +
                              (level == kPlatformLevel ? std::string("the platform (a system-admin)")
                                                  : "the dept-admin of '" + (at ? at->name : level) + "'"));
    }
    r.approvals.push_back({level, c.user_id, c.name, t.now_ms()});
    if (r.approvals.size() < r.levels.size()) {
      s.Save(t, r);
      Event(s, t, r, "capacity-request-approved", "approved by " + c.name + " for " + level + "; next: " +
                                                      r.levels[r.approvals.size()]);
      return Render(s, r);
    }
    r.state = RequestState::kApproved;
  } else if (!c.is_system_admin()) {
    return PermissionDenied("an approved request that could not be applied is retried by the platform (a system-admin)");
  }
  // The last approval: apply now, in this transaction. Apply checks everything before it
  // changes anything, so a refusal leaves the state as it was, the approval recorded.
  if (Status applied = Apply(s, t, c, r); !applied.ok()) {
    r.unfulfilled_reason = applied.message();
    s.Save(t, r);
    Event(s, t, r, "capacity-request-unfulfilled", "approved but not applied: " + applied.message());
    log::Info("capacity request approved but not applied", {{"request_id", id}, {"error", applied.ToString()}});
    return Render(s, r);
  }
  r.state = RequestState::kFulfilled;
  r.unfulfilled_reason.clear();
  r.fulfilled_at_ms = t.now_ms();
  s.Save(t, r);
  Event(s, t, r, "capacity-request-fulfilled", "approved by " + c.name + " and applied");
  return Render(s, r);
}

Result<api::CapacityRequest> RejectCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id,
                                                   const std::string& reason) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, Find(s, c, id));
  if (r.state != RequestState::kSubmitted && r.state != RequestState::kApproved) return NotPending(r, "rejected");
  if (reason.empty()) return InvalidArgument("a rejection says why").WithDetail("field", "reason");
  // Any level still to approve may refuse; the platform may at any time before it applies.
  bool may = c.is_system_admin();
  for (std::size_t i = r.approvals.size(); i < r.levels.size() && !may; ++i) {
    may = c.role == api::Role::kDeptAdmin && c.department_id == r.levels[i];
  }
  if (!may) return PermissionDenied("only an approver still to decide rejects capacity request " + id);
  r.state = RequestState::kRejected;
  r.decided_by = c.name;
  r.rejection_reason = reason;
  s.Save(t, r);
  Event(s, t, r, "capacity-request-rejected", "rejected by " + c.name + ": " + reason);
  return Render(s, r);
}

Result<api::CapacityRequest> WithdrawCapacityRequest(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, Find(s, c, id));
  if (!MayFile(c, r.department_id)) return PermissionDenied("a request is withdrawn by its department's roles");
  if (r.state != RequestState::kDraft && r.state != RequestState::kSubmitted && r.state != RequestState::kApproved) {
    return NotPending(r, "withdrawn");
  }
  r.state = RequestState::kWithdrawn;
  r.decided_by = c.name;
  s.Save(t, r);
  Event(s, t, r, "capacity-request-withdrawn", "withdrawn by " + c.name);
  return Render(s, r);
}

CapacityExpiry ExpireCapacityGrants(State& s, Txn& t, std::int64_t warn_ahead_ms) {
  CapacityExpiry out;
  std::vector<api::CapacityRequest> due;
  for (const auto& [id, r] : s.capacity_requests()) {
    if (r.end_at_ms == 0) continue;
    const bool open = r.state == RequestState::kDraft || r.state == RequestState::kSubmitted || r.state == RequestState::kApproved;
    const bool granted = r.state == RequestState::kFulfilled;
    if ((open || granted) && t.now_ms() >= r.end_at_ms) due.push_back(r);
    if (granted && !r.expiry_warned && t.now_ms() < r.end_at_ms && t.now_ms() >= r.end_at_ms - warn_ahead_ms) {
      due.push_back(r);
    }
  }
  for (api::CapacityRequest& r : due) {
    if (t.now_ms() < r.end_at_ms) {  // warned ahead
      r.expiry_warned = true;
      s.Save(t, r);
      Event(s, t, r, "capacity-grant-expiring", "the grant ends at " + std::to_string(r.end_at_ms) +
                                                    " (ms); its quota then returns to what it was");
      ++out.warned;
      continue;
    }
    const bool granted = r.state == RequestState::kFulfilled;
    r.state = RequestState::kExpired;
    s.Save(t, r);
    ++out.expired;
    if (!granted) {
      Event(s, t, r, "capacity-request-expired", "ended before it was granted");
      continue;
    }
    // The quota returns; what is held above it is flagged for the department to release,
    // never deleted.
    const api::Department* found = s.FindDepartment(r.department_id);
    if (!found) continue;
    api::Department d = *found;
    const api::Quota used = s.SubtreeUsage(d.meta.id);
    std::string over;
    for (const api::QuotaResource& q : api::kQuotaResources) {
      const std::optional<std::int64_t>& given = r.granted.*(q.patch);
      std::int64_t& limit = d.quota.*(q.limit);
      if (!given || limit < 0) continue;
      limit = std::max<std::int64_t>(0, limit - *given);
      if (used.*(q.limit) > limit) {
        over += (over.empty() ? "" : ", ") + std::string(q.name) + " " + std::to_string(used.*(q.limit)) + " of " +
                std::to_string(limit);
      }
    }
    s.Save(t, d);
    Event(s, t, r, "capacity-grant-expired", "the grant ended; the quota returned");
    if (!over.empty()) {
      ++out.over_quota;
      Event(s, t, r, "capacity-over-quota", "department '" + d.name + "' holds more than its quota now (" + over +
                                                "): release some; nothing was deleted");
    }
  }
  return out;
}

}  // namespace govpool::controller
