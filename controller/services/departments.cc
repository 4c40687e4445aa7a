#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {

Status CheckIfMatch(const std::optional<std::int64_t>& if_match, const api::Meta& meta,
                    const std::string& what) {
  if (!if_match || *if_match == meta.revision) return OkStatus();
  return Conflict(what + " has revision " + std::to_string(meta.revision) + ", not " +
                  std::to_string(*if_match) + " (If-Match): read it again and retry")
      .WithDetail("current_revision", meta.revision)
      .WithDetail("if_match", *if_match);
}

Result<api::Department> CreateDepartment(State& s, Txn& t, const Caller& c,
                                         const api::CreateDepartmentRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  if (s.FindDepartmentByName(req.name)) {
    return AlreadyExists("a department named '" + req.name + "' already exists")
        .WithDetail("name", req.name);
  }
  api::Department d;
  d.name = req.name;
  d.description = req.description;
  d.quota = req.quota;
  d.allowed_pools = req.allowed_pools;
  s.Save(t, d);
  return d;
}

Result<api::Department> GetDepartment(const State& s, const Caller& c, const std::string& id) {
  const api::Department* d = s.FindDepartment(id);
  if (!d || !c.can_see_department(id)) return NotFound("department " + id + " not found");
  return *d;
}

Page<api::Department> ListDepartments(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(s.departments(), o,
                [&](const api::Department& d) { return c.can_see_department(d.meta.id); });
}

Result<api::Department> PatchDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchDepartmentRequest& req) {
  GP_ASSIGN_OR_RETURN(api::Department d, GetDepartment(s, c, id));
  // The department's dept-admin decides what its members may do; the rest is the system-admin's.
  const bool members_only = !req.name && !req.description && !req.allowed_pools &&
                            !req.allowed_storage_pools && !req.quota;
  if (!(members_only && c.can_manage_department(id))) GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, d.meta, "department " + id));
  if (req.name && *req.name != d.name && s.FindDepartmentByName(*req.name)) {
    return AlreadyExists("a department named '" + *req.name + "' already exists");
  }
  if (req.name) d.name = *req.name;
  if (req.description) d.description = *req.description;
  if (req.allowed_pools) d.allowed_pools = *req.allowed_pools;
  if (req.member_power_actions) d.member_power_actions = *req.member_power_actions;
  // Lowering a limit below current usage is allowed: nothing running is taken away, but no
  // new resource is granted until usage falls under the limit.
  if (req.quota) {
    for (const api::QuotaResource& r : api::kQuotaResources) {
      if (const auto& limit = (*req.quota).*(r.patch)) d.quota.*(r.limit) = *limit;
    }
  }
  s.Save(t, d);
  return d;
}

Status DeleteDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                        const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(api::Department d, GetDepartment(s, c, id));
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, d.meta, "department " + id));
  const api::Quota used = s.Usage(id);
  const std::int64_t owned = s.DepartmentObjectCount(id);
  if (owned > 0) {
    return FailedPrecondition("department '" + d.name + "' still owns " + std::to_string(owned) +
                              " object(s) (VMs, users); delete them first")
        .WithReason("DEPARTMENT_NOT_EMPTY")
        .WithDetail("instances", used.instances)
        .WithDetail("objects", owned);
  }
  // Its automatic security group (not counted as owned: no port uses it now) goes with it.
  if (const api::SecurityGroup* g = s.FindSecurityGroupByName(id, kDefaultSecurityGroup)) {
    const std::string group_id = g->meta.id;
    s.Remove<api::SecurityGroup>(t, group_id);
  }
  s.Remove<api::Department>(t, id);
  return OkStatus();
}

Result<api::DepartmentUsage> GetUsage(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::Department d, GetDepartment(s, c, id));
  const api::Quota used = s.Usage(id);
  api::DepartmentUsage out{id, {}};
  for (const api::QuotaResource& r : api::kQuotaResources) {
    out.usage[std::string(r.name)] = {used.*(r.limit), d.quota.*(r.limit), r.enforced};
  }
  return out;
}

Status CheckCountLimit(std::int64_t held, std::int64_t limit, std::string_view resource, const std::string& owner) {
  if (held < limit) return OkStatus();
  return ResourceExhausted(owner + " already has " + std::to_string(limit) + " " + std::string(resource) +
                           ", the most it may hold")
      .WithReason("QUOTA_EXCEEDED")
      .WithDetail("resource", std::string(resource))
      .WithDetail("limit", limit);
}

Status CheckQuota(const api::Department& d, const api::Quota& used, const api::Quota& per_object,
                  std::int64_t count) {
  for (const api::QuotaResource& r : api::kQuotaResources) {
    const std::int64_t requested = (per_object.*(r.limit)) * count;
    const std::int64_t limit = d.quota.*(r.limit);
    const std::int64_t in_use = used.*(r.limit);
    if (!r.enforced || requested == 0 || limit < 0 || in_use + requested <= limit) continue;
    return ResourceExhausted("quota exceeded for " + std::string(r.name) + " in department '" +
                             d.name + "': requested " + std::to_string(requested) + ", in use " +
                             std::to_string(in_use) + ", limit " + std::to_string(limit))
        .WithReason("QUOTA_EXCEEDED")
        .WithDetail("department_id", d.meta.id)
        .WithDetail("resource", std::string(r.name))
        .WithDetail("requested", requested)
        .WithDetail("used", in_use)
        .WithDetail("limit", limit);
  }
  return OkStatus();
}

}  // namespace govpool::controller
