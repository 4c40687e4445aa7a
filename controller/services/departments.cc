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

namespace {

// The department a request names as a parent, by id or name.
Result<const api::Department*> FindParent(const State& s, const std::string& ref) {
  const api::Department* p = s.FindDepartment(ref);
  if (!p) p = s.FindDepartmentByName(ref);
  if (!p) return InvalidArgument("parent department '" + ref + "' does not exist").WithDetail("field", "parent");
  return p;
}

// The sum of the limits of `parent_id`'s children other than `except_id`, per resource; -1 where
// one of them is unlimited.
api::Quota ChildrenLimits(const State& s, const std::string& parent_id, const std::string& except_id = "") {
  api::Quota sum = api::kZeroQuota;
  for (const std::string& child_id : s.ChildrenOf(parent_id)) {
    if (child_id == except_id) continue;
    const api::Department* child = s.FindDepartment(child_id);
    for (const api::QuotaResource& r : api::kQuotaResources) {
      const std::int64_t limit = child->quota.*(r.limit);
      if (sum.*(r.limit) < 0 || limit < 0) {
        sum.*(r.limit) = -1;
      } else {
        sum.*(r.limit) += limit;
      }
    }
  }
  return sum;
}

// Whether a check looks at resource `r`: every one, or only those a patch sets.
bool Checked(const api::QuotaResource& r, const api::QuotaPatch* only) { return !only || (only->*(r.patch)).has_value(); }

// `quota` for a child of `parent` beside its other children (all but `except_id`): each
// resource the parent limits needs a limit that fits in what the siblings leave.
Status CheckFitsParent(const State& s, const api::Department& parent, const api::Quota& quota,
                       const std::string& child_name, const std::string& except_id,
                       const api::QuotaPatch* only = nullptr) {
  const api::Quota siblings = ChildrenLimits(s, parent.meta.id, except_id);
  for (const api::QuotaResource& r : api::kQuotaResources) {
    const std::int64_t parent_limit = parent.quota.*(r.limit);
    if (parent_limit < 0 || !Checked(r, only)) continue;
    const std::int64_t wanted = quota.*(r.limit);
    const std::int64_t taken = siblings.*(r.limit);
    if (wanted >= 0 && taken >= 0 && taken + wanted <= parent_limit) continue;
    std::string why = wanted < 0 ? "an unlimited " + std::string(r.name) + " quota"
                                 : std::to_string(wanted) + " " + std::string(r.name);
    return FailedPrecondition("department '" + child_name + "' cannot have " + why + " under '" + parent.name +
                              "': its limit is " + std::to_string(parent_limit) + " and its other children's limits take " +
                              std::to_string(taken))
        .WithReason("PARENT_QUOTA_EXCEEDED")
        .WithDetail("resource", std::string(r.name))
        .WithDetail("parent_id", parent.meta.id)
        .WithDetail("parent_limit", parent_limit)
        .WithDetail("siblings_limits", taken)
        .WithDetail("requested", wanted);
  }
  return OkStatus();
}

// A department's new limits (those `patched` sets) against what it already holds: its subtree's
// usage and its children's limits.
Status CheckQuotaCoversSubtree(const State& s, const api::Department& d, const api::Quota& quota,
                               const api::QuotaPatch& patched) {
  const api::Quota used = s.SubtreeUsage(d.meta.id);
  const api::Quota children = ChildrenLimits(s, d.meta.id);
  for (const api::QuotaResource& r : api::kQuotaResources) {
    const std::int64_t limit = quota.*(r.limit);
    if (limit < 0 || !Checked(r, &patched)) continue;
    if (r.enforced && used.*(r.limit) > limit) {
      return FailedPrecondition("the " + std::string(r.name) + " limit of department '" + d.name + "' cannot be " +
                                std::to_string(limit) + ": its departments use " + std::to_string(used.*(r.limit)) +
                                "; release some first")
          .WithReason("QUOTA_BELOW_USAGE")
          .WithDetail("department_id", d.meta.id)
          .WithDetail("resource", std::string(r.name))
          .WithDetail("requested", limit)
          .WithDetail("used", used.*(r.limit));
    }
    const std::int64_t given = children.*(r.limit);
    if (given < 0 || given > limit) {
      return FailedPrecondition("the " + std::string(r.name) + " limit of department '" + d.name + "' cannot be " +
                                std::to_string(limit) + ": its children's limits take " +
                                (given < 0 ? std::string("unlimited") : std::to_string(given)) +
                                "; lower theirs first")
          .WithReason("QUOTA_BELOW_CHILDREN")
          .WithDetail("department_id", d.meta.id)
          .WithDetail("resource", std::string(r.name))
          .WithDetail("requested", limit)
          .WithDetail("children_limits", given);
    }
  }
  return OkStatus();
}

}  // namespace

Status CheckLimitsFitParent(const State& s, const api::Department& d) {
  if (d.parent_id.empty()) return OkStatus();
  const api::Department* parent = s.FindDepartment(d.parent_id);
  return parent ? CheckFitsParent(s, *parent, d.quota, d.name, d.meta.id) : OkStatus();
}

bool CanSeeDepartment(const State& s, const Caller& c, const std::string& id) {
  if (c.can_see_department(id)) return true;
  return c.role == api::Role::kDeptAdmin && s.IsAncestor(c.department_id, id);
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
  d.allowed_storage_pools = req.allowed_storage_pools;
  if (!req.parent.empty()) {
    GP_ASSIGN_OR_RETURN(const api::Department* parent, FindParent(s, req.parent));
    GP_RETURN_IF_ERROR(CheckFitsParent(s, *parent, d.quota, d.name, ""));
    d.parent_id = parent->meta.id;
  }
  s.Save(t, d);
  return d;
}

Result<api::Department> GetDepartment(const State& s, const Caller& c, const std::string& id) {
  const api::Department* d = s.FindDepartment(id);
  if (!d || !CanSeeDepartment(s, c, id)) return NotFound("department " + id + " not found");
  return *d;
}

Page<api::Department> ListDepartments(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(s.departments(), o,
                [&](const api::Department& d) { return CanSeeDepartment(s, c, d.meta.id); });
}

Result<api::Department> PatchDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchDepartmentRequest& req) {
  GP_ASSIGN_OR_RETURN(api::Department d, GetDepartment(s, c, id));
  // The department's dept-admin decides what its members may do; the dept-admin of a department
  // above it manages its quota within its own; the rest is the system-admin's.
  const bool others = req.name || req.description || req.allowed_pools || req.allowed_storage_pools || req.parent;
  const bool members_only = !others && !req.quota;
  const bool quota_only = !others && !req.member_power_actions && req.quota;
  const bool bureau_admin = c.role == api::Role::kDeptAdmin && s.IsAncestor(c.department_id, id);
  if (!(members_only && c.can_manage_department(id)) && !(quota_only && bureau_admin)) {
    GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  }
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, d.meta, "department " + id));
  if (req.name && *req.name != d.name && s.FindDepartmentByName(*req.name)) {
    return AlreadyExists("a department named '" + *req.name + "' already exists");
  }
  api::Quota quota = d.quota;
  if (req.quota) {
    for (const api::QuotaResource& r : api::kQuotaResources) {
      if (const auto& limit = (*req.quota).*(r.patch)) quota.*(r.limit) = *limit;
    }
    // Never below what is held (nothing running is taken away by a quota), nor below what the
    // children were given, nor beyond what the parent has left.
    GP_RETURN_IF_ERROR(CheckQuotaCoversSubtree(s, d, quota, *req.quota));
  }
  std::string parent_id = d.parent_id;
  if (req.parent) {
    parent_id.clear();
    if (!req.parent->empty()) {
      GP_ASSIGN_OR_RETURN(const api::Department* parent, FindParent(s, *req.parent));
      if (parent->meta.id == id || s.IsAncestor(id, parent->meta.id)) {
        return InvalidArgument("department '" + d.name + "' cannot move under '" + parent->name +
                               "', which is in its own subtree")
            .WithDetail("field", "parent");
      }
      parent_id = parent->meta.id;
    }
  }
  if (!parent_id.empty()) {
    const api::Department* parent = s.FindDepartment(parent_id);
    // A move brings every limit under the new parent; a quota change only the limits it sets.
    const bool moving = parent_id != d.parent_id;
    if (moving || req.quota) {
      GP_RETURN_IF_ERROR(CheckFitsParent(s, *parent, quota, d.name, id, moving ? nullptr : &*req.quota));
    }
    if (moving) {
      // Its subtree's usage joins that of every new ancestor.
      const api::Quota carried = s.SubtreeUsage(id);
      std::vector<const api::Department*> above = s.AncestorsOf(parent_id);
      above.insert(above.begin(), parent);
      for (const api::Department* a : above) {
        if (s.IsAncestor(a->meta.id, id)) continue;  // already counts it
        const api::Quota used = s.SubtreeUsage(a->meta.id);
        for (const api::QuotaResource& r : api::kQuotaResources) {
          const std::int64_t limit = a->quota.*(r.limit);
          if (!r.enforced || limit < 0 || used.*(r.limit) + carried.*(r.limit) <= limit) continue;
          return FailedPrecondition("department '" + d.name + "' cannot move under '" + parent->name + "': with its " +
                                    std::to_string(carried.*(r.limit)) + " " + std::string(r.name) + " in use, '" +
                                    a->name + "' would use " + std::to_string(used.*(r.limit) + carried.*(r.limit)) +
                                    " of its limit of " + std::to_string(limit))
              .WithReason("PARENT_QUOTA_EXCEEDED")
              .WithDetail("resource", std::string(r.name))
              .WithDetail("parent_id", a->meta.id)
              .WithDetail("parent_limit", limit)
              .WithDetail("used", used.*(r.limit))
              .WithDetail("requested", carried.*(r.limit));
        }
      }
    }
  }
  if (req.name) d.name = *req.name;
  if (req.description) d.description = *req.description;
  if (req.allowed_pools) d.allowed_pools = *req.allowed_pools;
  if (req.allowed_storage_pools) d.allowed_storage_pools = *req.allowed_storage_pools;
  if (req.member_power_actions) d.member_power_actions = *req.member_power_actions;
  d.quota = quota;
  d.parent_id = parent_id;
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
  if (const std::size_t children = s.ChildrenOf(id).size(); children > 0) {
    return FailedPrecondition("department '" + d.name + "' has " + std::to_string(children) +
                              " sub-department(s); move or delete them first")
        .WithReason("DEPARTMENT_NOT_EMPTY")
        .WithDetail("children", static_cast<std::int64_t>(children));
  }
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
  // So do its webhooks, with what they still had to send: they spoke for it alone.
  RemoveWebhooksOf(s, t, id);
  s.Remove<api::Department>(t, id);
  return OkStatus();
}

Result<api::DepartmentUsage> GetUsage(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::Department d, GetDepartment(s, c, id));
  const api::Quota used = s.Usage(id);
  const api::Quota subtree = s.SubtreeUsage(id);
  const api::Quota children = ChildrenLimits(s, id);
  api::DepartmentUsage out{id, {}};
  for (const api::QuotaResource& r : api::kQuotaResources) {
    out.usage[std::string(r.name)] = {used.*(r.limit), d.quota.*(r.limit), r.enforced, subtree.*(r.limit),
                                      children.*(r.limit)};
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

Status CheckQuota(const State& s, const api::Department& d, const api::Quota& per_object, std::int64_t count) {
  // The department's own limit bounds its subtree's usage, and so does each ancestor's: all in
  // the caller's transaction, so no concurrent create slips between the checks.
  std::vector<const api::Department*> bounds = s.AncestorsOf(d.meta.id);
  bounds.insert(bounds.begin(), &d);
  for (const api::Department* b : bounds) {
    const api::Quota used = s.SubtreeUsage(b->meta.id);
    for (const api::QuotaResource& r : api::kQuotaResources) {
      const std::int64_t requested = (per_object.*(r.limit)) * count;
      const std::int64_t limit = b->quota.*(r.limit);
      const std::int64_t in_use = used.*(r.limit);
      if (!r.enforced || requested == 0 || limit < 0 || in_use + requested <= limit) continue;
      const std::string where = b == &d ? "department '" + d.name + "'"
                                        : "department '" + b->name + "' (above '" + d.name + "', counting its subtree)";
      return ResourceExhausted("quota exceeded for " + std::string(r.name) + " in " + where + ": requested " +
                               std::to_string(requested) + ", in use " + std::to_string(in_use) + ", limit " +
                               std::to_string(limit))
          .WithReason("QUOTA_EXCEEDED")
          .WithDetail("department_id", b->meta.id)
          .WithDetail("resource", std::string(r.name))
          .WithDetail("requested", requested)
          .WithDetail("used", in_use)
          .WithDetail("limit", limit);
    }
  }
  return OkStatus();
}

}  // namespace govpool::controller
