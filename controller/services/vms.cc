#include <algorithm>
#include <map>
#include <variant>

#include "common/ids.h"
#include "common/log.h"
#include "controller/services/network_internal.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "controller/services/storage_internal.h"

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

}  // namespace

api::Vm RenderVm(const State& s, const api::Vm& v) {
  api::Vm out = v;
  const api::Host* h = s.FindHost(v.host_id);
  if (h && h->status == api::HostStatus::kDown && !v.deleting) {
    out.state = api::VmState::kUnknown;
    out.state_reason = "host " + h->name + " is not reporting";
  }
  out.nics.clear();
  for (const std::string& port_id : v.port_ids) {
    const api::Port* p = s.FindPort(port_id);
    if (!p) continue;
    api::VmNic nic{p->meta.id, p->network_id, p->mac_address, {}};
    for (const api::FixedIp& ip : p->fixed_ips) nic.ip_addresses.push_back(ip.ip_address);
    out.nics.push_back(std::move(nic));
  }
  return out;
}

namespace {

struct Resolved {
  const api::Department* department = nullptr;
  const api::Flavor* flavor = nullptr;
  const api::ServerGroup* group = nullptr;
};

// Resolves and authorizes the department, flavor and server group of a create or preview.
Result<Resolved> Resolve(const State& s, const Caller& c, const std::string& department_id,
                         const std::string& flavor, const std::string& server_group) {
  Resolved r;
  r.department = s.FindDepartment(department_id);
  if (!r.department || !c.can_see_department(department_id)) {
    return NotFound("department " + department_id + " not found");
  }
  if (!c.can_manage_department(department_id)) {
    return PermissionDenied("creating VMs in department '" + r.department->name +
                            "' needs the system-admin or dept-admin role");
  }
  r.flavor = s.FindFlavor(flavor);
  if (!r.flavor) {
    return InvalidArgument("flavor '" + flavor + "' does not exist").WithDetail("field", "flavor");
  }
  if (!server_group.empty()) {
    r.group = s.FindServerGroup(server_group);
    if (!r.group || r.group->department_id != department_id) {
      return InvalidArgument("server group " + server_group + " does not exist in this department")
          .WithDetail("field", "server_group");
    }
  }
  return r;
}

scheduler::PlacementRequest PlacementRequestOf(const State& s, const Resolved& r,
                                               const std::string& pool, std::int64_t count) {
  scheduler::PlacementRequest pr;
  pr.per_vm = {r.flavor->vcpus, r.flavor->memory_mib, r.flavor->disk_gib};
  pr.count = static_cast<std::int32_t>(count);
  pr.department_id = r.department->meta.id;
  pr.pool = pool;
  pr.allowed_pools = r.department->allowed_pools;
  pr.required_traits = r.flavor->required_traits;
  pr.forbidden_traits = r.flavor->forbidden_traits;
  pr.required_aggregates = r.flavor->required_aggregates;
  if (r.group) {
    pr.group_policy = r.group->policy == api::GroupPolicy::kAffinity ? scheduler::GroupPolicy::kAffinity
                                                    : scheduler::GroupPolicy::kAntiAffinity;
    pr.group_hard = r.group->hard;
    pr.group_member_hosts = s.ServerGroupMemberHosts(r.group->meta.id);
  }
  return pr;
}

}  // namespace

Result<std::vector<api::Vm>> CreateVms(State& s, Txn& t, const Caller& c, const api::CreateVmRequest& req,
                                       api::QuotaPatch* grow_quota) {
  GP_ASSIGN_OR_RETURN(Resolved r, Resolve(s, c, req.department_id, req.flavor, req.server_group));
  const api::Department* d = r.department;
  const api::Flavor* f = r.flavor;
  std::vector<std::string> names;
  std::vector<std::string> hostnames;  // given: "<hostname>-<i>" for several; else from each name
  for (std::int64_t i = 1; i <= req.count; ++i) {
    names.push_back(req.count == 1 ? req.name : req.name + "-" + std::to_string(i));
    hostnames.push_back(req.hostname.empty() ? api::HostnameFromName(names.back())
                        : req.count == 1 ? req.hostname
                                         : req.hostname + "-" + std::to_string(i));
    if (!api::IsHostnameLabel(hostnames.back())) {
      return InvalidArgument("host name '" + hostnames.back() + "' is longer than 63 characters")
          .WithDetail("field", "hostname");
    }
    if (names.back().size() > 63 || s.VmNameTaken(d->meta.id, names.back())) {
      if (names.back().size() > 63) {
        return InvalidArgument("VM name '" + names.back() + "' is longer than 63 characters")
            .WithDetail("field", "name");
      }
      return AlreadyExists("a VM named '" + names.back() + "' already exists in department '" +
                           d->name + "'")
          .WithDetail("name", names.back());
    }
  }
  api::Vm prototype;
  prototype.vcpus = f->vcpus;
  prototype.memory_mib = f->memory_mib;
  prototype.disk_gib = f->disk_gib;
  // Booting from an image: the root disk is an RBD clone in the image's pool, so the host
  // keeps no local disk and must reach that pool.
  const api::Image* image = nullptr;
  api::Volume root;
  if (!req.image.empty()) {
    GP_ASSIGN_OR_RETURN(image, storage::FindVisibleImage(s, c, req.image, d->meta.id));
    GP_RETURN_IF_ERROR(storage::CheckImageUsable(*image));
    if (!req.storage_pool.empty()) {
      const api::StoragePool* asked = s.FindStoragePool(req.storage_pool);
      if (!asked || asked->meta.id != image->pool_id) {
        return InvalidArgument("a root disk is cloned in its image's storage pool; leave storage_pool empty")
            .WithDetail("field", "storage_pool");
      }
    }
    root.size_gib = std::max({req.root_gib, f->disk_gib, storage::GibFor(image->virtual_size_bytes)});
    if (req.root_gib > 0 && req.root_gib < storage::GibFor(image->virtual_size_bytes)) {
      return InvalidArgument("root_gib " + std::to_string(req.root_gib) + " is smaller than the image (" +
                             std::to_string(storage::GibFor(image->virtual_size_bytes)) + " GiB)")
          .WithDetail("field", "root_gib");
    }
    prototype.disk_gib = 0;
  } else if (!req.storage_pool.empty() || req.root_gib > 0) {
    return InvalidArgument("storage_pool and root_gib apply only to VMs booted from an image")
        .WithDetail("field", req.storage_pool.empty() ? "root_gib" : "storage_pool");
  }
  api::Quota per_vm = QuotaUsageOf(prototype);
  if (image) {
    const api::Quota disk = QuotaUsageOf(root);
    for (const api::QuotaResource& q : api::kQuotaResources) per_vm.*(q.limit) += disk.*(q.limit);
  }
  // A capacity grant (capacity_requests.cc): the limits grow by what the VMs use.
  api::Department grown = *d;
  if (grow_quota) {
    *grow_quota = {};
    for (const api::QuotaResource& q : api::kQuotaResources) {
      const std::int64_t more = per_vm.*(q.limit) * req.count;
      std::int64_t& limit = grown.quota.*(q.limit);
      if (more == 0 || limit < 0) continue;
      limit += more;
      (*grow_quota).*(q.patch) = more;
    }
    GP_RETURN_IF_ERROR(CheckLimitsFitParent(s, grown));
  }
  if (Status quota = CheckQuota(s, grown, per_vm, req.count); !quota.ok()) {
    ++s.placement_counters().quota_exceeded;
    return quota;
  }
  // The NICs of every VM, checked and given their addresses before anything is saved.
  for (std::size_t i = 0; i < req.networks.size(); ++i) {
    const std::string field = "networks[" + std::to_string(i) + "].";
    if (req.count > 1 && (!req.networks[i].fixed_ip.empty() || !req.networks[i].port.empty())) {
      const std::string which = req.networks[i].port.empty() ? "fixed_ip" : "port";
      return InvalidArgument(field + which + " applies to one VM; leave it out with count > 1")
          .WithDetail("field", field + which);
    }
  }
  std::vector<std::vector<network::NicPlan>> nics(static_cast<std::size_t>(req.count));
  network::PendingPorts pending;
  for (auto& of_vm : nics) {
    for (std::size_t i = 0; i < req.networks.size(); ++i) {
      GP_ASSIGN_OR_RETURN(network::NicPlan plan, network::PlanNic(s, c, *d, req.networks[i],
                                                                  "networks[" + std::to_string(i) + "]", pending));
      of_vm.push_back(std::move(plan));
    }
  }
  if (image) {
    // Storage first: a refusal says the storage pool ran out, not the hosts.
    GP_RETURN_IF_ERROR(storage::PlaceInPool(s, *d, root.size_gib * req.count, image->pool_id, "").status());
  }

  scheduler::PlacementRequest placement_request = PlacementRequestOf(s, r, req.pool, req.count);
  if (image) {
    placement_request.per_vm.disk_gib = 0;
    placement_request.storage_pool = image->pool_id;
  }
  auto placed = s.scheduler().Place(placement_request);
  if (!placed.ok()) {
    ++s.placement_counters().no_valid_host;
    // By the filter that turned away the most hosts (the scheduler's explanation).
    std::string reason = "other";
    std::int64_t most = 0;
    const Status refusal = placed.status();
    for (const auto& [key, value] : refusal.details()) {
      if (key != "rejected" || !std::holds_alternative<std::map<std::string, std::int64_t>>(value)) continue;
      for (const auto& [filter, hosts] : std::get<std::map<std::string, std::int64_t>>(value)) {
        if (hosts > most) {
          most = hosts;
          reason = filter;
        }
      }
    }
    s.placement_counters().CountRefusal(reason);
    log::Info("placement refused", {{"department_id", d->meta.id}, {"flavor", f->name},
                                    {"count", req.count}, {"pool", req.pool},
                                    {"reason", std::string(placed.status().reason())},
                                    {"explanation", placed.status().message()}});
    return placed.status();
  }
  scheduler::Placement placement = std::move(placed).value();
  // Under Db's exclusive lock nothing can change between Place and Commit, so this only fails
  // on a scheduler bug; it is still checked before anything is mutated.
  GP_RETURN_IF_ERROR(s.scheduler().Commit(placement));

  std::vector<api::Vm> created;
  for (size_t i = 0; i < placement.assignments.size(); ++i) {
    const scheduler::Assignment& a = placement.assignments[i];
    api::Vm v;
    v.name = names[i];
    v.department_id = d->meta.id;
    v.flavor_id = f->meta.id;
    v.flavor_name = f->name;
    v.vcpus = f->vcpus;
    v.memory_mib = f->memory_mib;
    v.disk_gib = prototype.disk_gib;
    v.pool = req.pool;
    v.server_group_id = r.group ? r.group->meta.id : "";
    v.host_id = a.host_id;
    for (const auto& [cell, res] : a.numa) v.numa.push_back({cell, {res.vcpus, res.memory_mib, res.disk_gib}});
    v.power = req.power;
    v.hostname = hostnames[i];
    v.ssh_authorized_keys = req.ssh_authorized_keys;
    v.user_data = req.user_data;
    v.meta.id = NewUuid();  // its root disk and ports name it before it is saved
    network::BindNics(s, t, v, nics[i]);
    if (image) {
      api::Volume disk = root;
      disk.name = v.name + "-root";
      disk.department_id = d->meta.id;
      disk.pool_id = image->pool_id;
      disk.source_image_id = image->meta.id;
      disk.vm_id = v.meta.id;
      disk.device = "vda";
      disk.boot = true;
      disk.host_id = v.host_id;
      // A data volume may already use the name: the root disk then takes a suffix.
      for (int n = 2; s.VolumeNameTaken(d->meta.id, disk.name); ++n) disk.name = v.name + "-root-" + std::to_string(n);
      s.Save(t, disk);
      v.image_id = image->meta.id;
      v.root_volume_id = disk.meta.id;
    }
    s.Save(t, v);
    ++s.placement_counters().placed;
    created.push_back(RenderVm(s, v));
  }
  if (grow_quota) s.Save(t, grown);
  return created;
}

Result<Preview> PreviewPlacement(const State& s, const Caller& c, const api::PreviewRequest& req) {
  GP_ASSIGN_OR_RETURN(Resolved r, Resolve(s, c, req.department_id, req.flavor, req.server_group));
  scheduler::PlacementRequest pr = PlacementRequestOf(s, r, req.pool, req.count);
  pr.explain = true;
  auto placed = s.scheduler().Place(pr);
  Preview p;
  if (!placed.ok()) {
    if (placed.status().reason() != "NO_VALID_HOST") return placed.status();
    p.explanation.complete = true;
    p.fits = false;
    p.explanation.hosts_total = s.scheduler().HostCount();
    const Status refusal = placed.status();
    for (const auto& [k, v] : refusal.details()) {
      if (k == "hosts_total") p.explanation.hosts_total = std::get<std::int64_t>(v);
      if (k == "rejected") p.explanation.rejected = std::get<std::map<std::string, std::int64_t>>(v);
    }
    p.explanation.hosts_examined = p.explanation.hosts_total;
    return p;
  }
  p.fits = true;
  p.explanation = placed->explanation;
  for (const auto& a : placed->assignments) {
    const api::Host* h = s.FindHost(a.host_id);
    p.assignments.emplace_back(a.host_id, h ? h->name : "");
  }
  return p;
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
        return !f.state || RenderVm(s, v).state == *f.state;
      },
      [&](const api::Vm& v) {
        api::Vm out = RenderVm(s, v);
        out.user_data.clear();  // up to 64 KiB each: GET /v1/vms/{id} shows it
        return out;
      });
}

Result<api::Vm> DeleteVm(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::optional<std::int64_t>& if_match, bool force) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (!c.can_manage_department(found->department_id)) {
    return PermissionDenied("deleting VMs needs the system-admin or dept-admin role");
  }
  if (force && !c.is_system_admin()) return PermissionDenied("force delete needs the system-admin role");
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "vm " + id));
  api::Vm v = *found;
  const api::Host* h = s.FindHost(v.host_id);
  if (force || !h || h->agent_user_id.empty()) {
    storage::ReleaseVmVolumes(s, t, id);
    network::ReleaseVmPorts(s, t, id);
    s.Remove<api::Vm>(t, id);
    v.deleting = true;
    v.state = api::VmState::kDeleted;
    return v;
  }
  if (v.deleting) return RenderVm(s, v);  // already on its way
  v.deleting = true;
  v.state = api::VmState::kDeleting;
  ++v.generation;
  s.Save(t, v);
  return RenderVm(s, v);
}

Result<api::Vm> VmAction(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::string& action) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (!c.can_see_department(found->department_id)) {
    return PermissionDenied("VM power actions need a role in the VM's department");
  }
  if (!c.can_manage_department(found->department_id)) {
    const api::Department* d = s.FindDepartment(found->department_id);
    if (!d || !d->member_power_actions) {
      return PermissionDenied("department '" + (d ? d->name : found->department_id) +
                              "' does not let its members start, stop or reboot VMs "
                              "(member_power_actions, set by its dept-admin)");
    }
  }
  api::Vm v = *found;
  if (v.deleting) return FailedPrecondition("vm " + id + " is being deleted");
  if (action == "start") {
    if (v.power == api::PowerState::kRunning) return RenderVm(s, v);
    v.power = api::PowerState::kRunning;
  } else if (action == "stop") {
    if (v.power == api::PowerState::kStopped) return RenderVm(s, v);
    v.power = api::PowerState::kStopped;
  } else if (action == "reboot") {
    if (v.power != api::PowerState::kRunning) {
      return FailedPrecondition("vm " + id + " is stopped; start it instead of rebooting");
    }
    ++v.reboot_count;
  } else {
    return NotFound("unknown vm action '" + action + "'");
  }
  ++v.generation;
  s.Save(t, v);
  return RenderVm(s, v);
}

Result<api::Vm> ReportVmStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                               const api::VmStatusReport& report) {
  if (!c.is_agent() && !c.is_system_admin()) return PermissionDenied("only agents report VM status");
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, id));
  if (report.observed_generation > found->generation) {
    return InvalidArgument("observed_generation " + std::to_string(report.observed_generation) +
                           " is ahead of the VM's generation " + std::to_string(found->generation));
  }
  api::Vm v = *found;
  if (report.state == api::VmState::kDeleted) {
    if (!v.deleting) return FailedPrecondition("vm " + id + " is not being deleted");
    if (report.observed_generation < v.generation) {
      return FailedPrecondition("the cleanup report is for an older generation of vm " + id);
    }
    storage::ReleaseVmVolumes(s, t, id);
    network::ReleaseVmPorts(s, t, id);
    s.Remove<api::Vm>(t, id);
    v.state = api::VmState::kDeleted;
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
  s.Save(t, v);
  return RenderVm(s, v);
}

// ---- Interfaces (hot attach and detach of NICs) ----

Result<api::Port> AttachInterface(State& s, Txn& t, const Caller& c, const std::string& vm_id,
                                  const api::NicRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, vm_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "attaching interfaces"));
  GP_RETURN_IF_ERROR(network::CheckCanAddNic(*found));
  network::PendingPorts pending;
  GP_ASSIGN_OR_RETURN(network::NicPlan plan,
                      network::PlanNic(s, c, *s.FindDepartment(found->department_id), req, "interface", pending));
  api::Vm v = *found;
  std::vector<network::NicPlan> plans{std::move(plan)};
  network::BindNics(s, t, v, plans);
  ++v.generation;
  s.Save(t, v);
  return *s.FindPort(v.port_ids.back());
}

Status DetachInterface(State& s, Txn& t, const Caller& c, const std::string& vm_id, const std::string& port_id) {
  GP_ASSIGN_OR_RETURN(const api::Vm* found, FindVisibleVm(s, c, vm_id));
  GP_RETURN_IF_ERROR(RequireManage(c, found->department_id, "detaching interfaces"));
  api::Vm v = *found;
  auto it = std::find(v.port_ids.begin(), v.port_ids.end(), port_id);
  const api::Port* p = s.FindPort(port_id);
  if (it == v.port_ids.end() || !p) return NotFound("port " + port_id + " is not an interface of vm " + vm_id);
  network::ReleasePort(s, t, *p);
  v.port_ids.erase(it);
  ++v.generation;
  s.Save(t, v);
  log::Info("interface detached", {{"vm_id", vm_id}, {"port_id", port_id}});
  return OkStatus();
}

}  // namespace govpool::controller
