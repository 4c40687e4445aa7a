#include "common/log.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

Result<const api::Vm*> FindVisibleVm(const State& s, const Caller& c, const std::string& id) {
  const api::Vm* v = s.FindVm(id);
  if (!v) return NotFound("vm " + id + " not found");
  if (c.can_see_department(v->department_id)) return v;
  if (c.is_agent()) {
    const api::Host* h = s.FindHost(v->host_id);
    if (h && h->agent_user_id == c.user_id) return v;
  }
  return NotFound("vm " + id + " not found");
}

Status CheckQuota(const api::Department& d, const api::Quota& used, std::string_view resource,
                  std::int64_t requested) {
  const std::int64_t limit = api::QuotaValue(d.quota, resource);
  const std::int64_t in_use = api::QuotaValue(used, resource);
  if (limit < 0 || in_use + requested <= limit) return OkStatus();
  return ResourceExhausted("quota exceeded for " + std::string(resource) + " in department '" +
                           d.name + "': requested " + std::to_string(requested) + ", in use " +
                           std::to_string(in_use) + ", limit " + std::to_string(limit))
      .WithReason("QUOTA_EXCEEDED")
      .WithDetail("department_id", d.meta.id)
      .WithDetail("resource", std::string(resource))
      .WithDetail("requested", requested)
      .WithDetail("used", in_use)
      .WithDetail("limit", limit);
}

}  // namespace

api::Vm RenderVm(const State& s, const api::Vm& v) {
  api::Vm out = v;
  const api::Host* h = s.FindHost(v.host_id);
  if (h && h->status == "down" && !v.deleting) {
    out.state = "unknown";
    out.state_reason = "host " + h->name + " is not reporting";
  }
  return out;
}

Result<api::Vm> CreateVm(State& s, Txn& t, const Caller& c, const api::CreateVmRequest& req) {
  const api::Department* d = s.FindDepartment(req.department_id);
  if (!d || !c.can_see_department(req.department_id)) {
    return NotFound("department " + req.department_id + " not found");
  }
  if (!c.can_manage_department(req.department_id)) {
    return PermissionDenied("creating VMs in department '" + d->name +
                            "' needs the admin or dept-admin role");
  }
  const api::Flavor* f = s.FindFlavor(req.flavor);
  if (!f) {
    return InvalidArgument("flavor '" + req.flavor + "' does not exist").WithDetail("field", "flavor");
  }
  if (s.VmNameTaken(d->meta.id, req.name)) {
    return AlreadyExists("a VM named '" + req.name + "' already exists in department '" + d->name + "'")
        .WithDetail("name", req.name);
  }
  const api::Quota used = s.Usage(d->meta.id);
  for (auto [resource, amount] : {std::pair<const char*, std::int64_t>{"instances", 1},
                                  {"vcpus", f->vcpus},
                                  {"memory_mib", f->memory_mib}}) {
    Status quota = CheckQuota(*d, used, resource, amount);
    if (!quota.ok()) {
      ++s.placement_counters().quota_exceeded;
      return quota;
    }
  }

  scheduler::PlacementRequest pr;
  pr.per_vm = {f->vcpus, f->memory_mib, f->disk_gib};
  pr.department_id = d->meta.id;
  pr.pool = req.pool;
  auto placed = s.scheduler().Place(pr);
  if (!placed.ok()) {
    ++s.placement_counters().no_valid_host;
    return placed.status();
  }
  scheduler::Placement placement = std::move(placed).value();
  // Under Db's exclusive lock nothing can change between Place and Commit, so this only fails
  // on a scheduler bug; it is still checked before anything is mutated.
  GP_RETURN_IF_ERROR(s.scheduler().Commit(placement));

  const scheduler::Assignment& a = placement.assignments.front();
  api::Vm v;
  v.name = req.name;
  v.department_id = d->meta.id;
  v.flavor_id = f->meta.id;
  v.flavor_name = f->name;
  v.vcpus = f->vcpus;
  v.memory_mib = f->memory_mib;
  v.disk_gib = f->disk_gib;
  v.pool = req.pool;
  v.host_id = a.host_id;
  for (const auto& [cell, r] : a.numa) v.numa.push_back({cell, {r.vcpus, r.memory_mib, r.disk_gib}});
  v.power = req.power;
  s.SaveVm(t, v);
  ++s.placement_counters().placed;
  return RenderVm(s, v);
}

Result<api::Vm> GetVm(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::Vm* v, FindVisibleVm(s, c, id));
  return RenderVm(s, *v);
}

Page<api::Vm> ListVms(const State& s, const Caller& c, const VmFilter& f, const ListOptions& o) {
  return PageOf(
      s.vms(), o,
      [&](const api::Vm& v) {
        if (!f.department_id.empty() && v.department_id != f.department_id) return false;
        if (!f.host_id.empty() && v.host_id != f.host_id) return false;
        if (!FindVisibleVm(s, c, v.meta.id).ok()) return false;
        return f.state.empty() || RenderVm(s, v).state == f.state;
      },
      [&](const api::Vm& v) { return RenderVm(s, v); });
}

Result<api::Vm> DeleteVm(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::optional<std::int64_t>& if_match, bool force) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (!c.can_manage_department(found->department_id)) {
    return PermissionDenied("deleting VMs needs the admin or dept-admin role");
  }
  if (force && !c.is_admin()) return PermissionDenied("force delete needs the admin role");
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "vm " + id));
  api::Vm v = *found;
  const api::Host* h = s.FindHost(v.host_id);
  if (force || !h || h->agent_user_id.empty()) {
    s.RemoveVm(t, id);
    v.deleting = true;
    v.state = "deleted";
    return v;
  }
  if (v.deleting) return RenderVm(s, v);  // already on its way
  v.deleting = true;
  v.state = "deleting";
  ++v.generation;
  s.SaveVm(t, v);
  return RenderVm(s, v);
}

Result<api::Vm> VmAction(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::string& action) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (!c.can_see_department(found->department_id)) {
    return PermissionDenied("VM power actions need a role in the VM's department");
  }
  api::Vm v = *found;
  if (v.deleting) return FailedPrecondition("vm " + id + " is being deleted");
  if (action == "start") {
    if (v.power == "running") return RenderVm(s, v);
    v.power = "running";
  } else if (action == "stop") {
    if (v.power == "stopped") return RenderVm(s, v);
    v.power = "stopped";
  } else if (action == "reboot") {
    if (v.power != "running") {
      return FailedPrecondition("vm " + id + " is stopped; start it instead of rebooting");
    }
    ++v.reboot_count;
  } else {
    return NotFound("unknown vm action '" + action + "'");
  }
  ++v.generation;
  s.SaveVm(t, v);
  return RenderVm(s, v);
}

Result<api::Vm> ReportVmStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                               const api::VmStatusReport& report) {
  if (!c.is_agent() && !c.is_admin()) return PermissionDenied("only agents report VM status");
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (report.observed_generation > found->generation) {
    return InvalidArgument("observed_generation " + std::to_string(report.observed_generation) +
                           " is ahead of the VM's generation " + std::to_string(found->generation));
  }
  api::Vm v = *found;
  if (report.state == "deleted") {
    if (!v.deleting) return FailedPrecondition("vm " + id + " is not being deleted");
    if (report.observed_generation < v.generation) {
      return FailedPrecondition("the cleanup report is for an older generation of vm " + id);
    }
    s.RemoveVm(t, id);
    v.state = "deleted";
    log::Info("vm deleted", {{"vm_id", id}, {"host_id", v.host_id}});
    return v;
  }
  if (v.state == report.state && v.state_reason == report.state_reason &&
      v.observed_generation == report.observed_generation) {
    return RenderVm(s, v);  // nothing new: no write
  }
  v.state = report.state;
  v.state_reason = report.state_reason;
  v.observed_generation = report.observed_generation;
  s.SaveVm(t, v);
  return RenderVm(s, v);
}

}  // namespace govpool::controller
