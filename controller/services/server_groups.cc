#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {

Result<api::ServerGroup> CreateServerGroup(State& s, Txn& t, const Caller& c,
                                           const api::CreateServerGroupRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) {
    return NotFound("department " + req.department_id + " not found");
  }
  if (!c.can_manage_department(req.department_id)) {
    return PermissionDenied("creating server groups needs the system-admin or dept-admin role");
  }
  for (const auto& [id, g] : s.server_groups()) {
    if (g.department_id == req.department_id && g.name == req.name) {
      return AlreadyExists("a server group named '" + req.name + "' already exists in department '" +
                           d->name + "'");
    }
  }
  api::ServerGroup g;
  g.name = req.name;
  g.department_id = req.department_id;
  g.policy = req.policy;
  g.hard = req.hard;
  GP_RETURN_IF_ERROR(CheckQuota(s, *d, QuotaUsageOf(g), 1));
  s.Save(t, g);
  return g;
}

Result<api::ServerGroup> GetServerGroup(const State& s, const Caller& c, const std::string& id) {
  const api::ServerGroup* g = s.FindServerGroup(id);
  if (!g || !c.can_see_department(g->department_id)) return NotFound("server group " + id + " not found");
  return *g;
}

Page<api::ServerGroup> ListServerGroups(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(s.server_groups(), o,
                [&](const api::ServerGroup& g) { return c.can_see_department(g.department_id); });
}

Status DeleteServerGroup(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::ServerGroup g, GetServerGroup(s, c, id));
  if (!c.can_manage_department(g.department_id)) {
    return PermissionDenied("deleting server groups needs the system-admin or dept-admin role");
  }
  if (const std::int64_t members = s.ServerGroupMemberCount(id); members > 0) {
    return FailedPrecondition("server group '" + g.name + "' still has " + std::to_string(members) +
                              " member VM(s)")
        .WithDetail("members", members);
  }
  s.Remove<api::ServerGroup>(t, id);
  return OkStatus();
}

}  // namespace govpool::controller
