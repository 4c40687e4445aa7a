#include <algorithm>
#include <map>
#include <set>

#include "controller/services/paging.h"
#include "controller/services/services.h"
#include "scheduler/consolidation.h"

namespace govpool::controller {
namespace {

// Admins see every host; an agent sees the hosts it registered; department users none.
Status CheckHostAccess(const Caller& c, const api::Host& h) {
  if (c.is_system_admin()) return OkStatus();
  if (c.is_agent() && h.agent_user_id == c.user_id) return OkStatus();
  if (c.is_agent()) return NotFound("host " + h.meta.id + " not found");
  return PermissionDenied("hosts are visible to administrators only");
}

}  // namespace

Result<api::Host> RegisterHost(State& s, Txn& t, const Caller& c, const api::RegisterHostRequest& req) {
  if (!c.is_system_admin() && !c.is_agent()) {
    return PermissionDenied("registering hosts needs the system-admin or agent role");
  }
  // An agent with a client certificate is the host its certificate names, nothing else.
  const bool by_certificate = c.is_agent() && c.credential_kind == "certificate";
  if (by_certificate && req.name != c.name) {
    return PermissionDenied("this agent's certificate is for host '" + c.name + "', not '" + req.name + "'")
        .WithDetail("field", "name");
  }
  if (!req.metrics_address.empty() && !api::IsHostPort(req.metrics_address)) {
    return InvalidArgument("metrics_address must be HOST:PORT (a DNS name or IPv4 address, or [IPv6]; port 1-65535), not '" +
                           req.metrics_address + "'")
        .WithDetail("field", "metrics_address");
  }
  api::Host h;
  const api::Host* existing = s.FindHostByName(req.name);
  if (existing) {
    // An enrolment (a system-admin's decision) hands the host to the certificate's agent; a
    // host a system-admin registered (pre-registered: no agent yet) goes to the first agent
    // that registers its name.
    if (c.is_agent() && !by_certificate && !existing->agent_user_id.empty() &&
        existing->agent_user_id != c.user_id) {
      return PermissionDenied("host '" + req.name + "' is registered by another agent");
    }
    h = *existing;
  }
  h.name = req.name;
  // What an administrator set (pool, traits) stays as it is when the agent registers again.
  if (!existing || c.is_system_admin()) {
    h.pool = req.pool;
    if (!req.traits.empty()) h.traits = req.traits;
  }
  if (!existing && by_certificate) {
    const api::AgentCertificate* cert = s.FindAgentCertificateBySerial(c.credential_id);
    if (cert && !cert->pool.empty()) h.pool = cert->pool;  // the enrolment's pool, not the agent's flag
  }
  // An API-token agent names its pool itself, so a new host no administrator named (by an
  // enrolment or a pre-registration) waits, disabled, until a system-admin approves it.
  if (!existing && c.is_agent() && !by_certificate) {
    h.enabled = false;
    h.pending = true;
  }
  h.capacity = req.capacity;
  // What the agent is configured to reach: it says so at every registration.
  h.storage_clusters = req.storage_clusters;
  h.metrics_address = req.metrics_address;
  h.status = api::HostStatus::kUp;
  if (c.is_agent()) {
    h.agent_user_id = c.user_id;
    h.last_heartbeat_ms = t.now_ms();
  }
  s.Save(t, h);
  return s.RenderHost(h);
}

Result<std::vector<api::MetricsTargetGroup>> ListMetricsTargets(const State& s, const Caller& c) {
  if (!c.is_system_admin() && c.role != api::Role::kMetricsReader) {
    return PermissionDenied("the metrics targets are for the system-admin and the metrics-reader");
  }
  std::vector<api::MetricsTargetGroup> out;
  for (const auto& [id, h] : s.hosts()) {
    if (h.metrics_address.empty()) continue;
    const api::Host shown = s.RenderHost(h);
    out.push_back({{h.metrics_address},
                   {{"host", h.name},
                    {"host_id", id},
                    {"pool", h.pool},
                    {"__meta_govpool_host_status", std::string(api::ToString(shown.status))},
                    {"__meta_govpool_host_enabled", h.enabled ? "true" : "false"}}});
  }
  return out;
}

Result<ConsolidationInput> CollectConsolidation(const State& s, const Caller& c) {
  if (!c.is_system_admin()) return PermissionDenied("the consolidation report is the system-admin's");
  ConsolidationInput pools;
  for (const auto& [id, h] : s.hosts()) {
    if (h.pending) continue;
    pools[h.pool].hosts.push_back(s.HostSpecOf(s.RenderHost(h)));
  }
  for (const auto& [id, v] : s.vms()) {
    const api::Host* h = v.host_id.empty() ? nullptr : s.FindHost(v.host_id);
    if (!h || h->pending) continue;
    ConsolidationPool& p = pools[h->pool];
    p.vms.push_back({{v.vcpus, v.memory_mib, v.disk_gib}, v.department_id});
    p.occupied.insert(v.host_id);
  }
  return pools;
}

Result<api::ConsolidationReport> PackConsolidation(ConsolidationInput pools, std::int64_t now_ms) {
  api::ConsolidationReport out;
  out.generated_at_ms = now_ms;
  for (auto& [name, p] : pools) {
    api::PoolConsolidation row;
    row.pool = name;
    for (const scheduler::HostSpec& h : p.hosts) {
      if (!h.up || !h.enabled || h.maintenance) continue;
      if (p.occupied.count(h.id)) ++row.hosts_in_use;
    }
    GP_ASSIGN_OR_RETURN(scheduler::Packing packed, scheduler::PackTightly(std::move(p.hosts), std::move(p.vms)));
    row.hosts = packed.hosts;
    row.hosts_needed = packed.hosts_needed;
    row.hosts_freeable = std::max<std::int64_t>(0, row.hosts_in_use - packed.hosts_needed);
    row.vms = packed.vms;
    row.vms_unplaced = packed.vms_unplaced;
    out.pools.push_back(std::move(row));
  }
  return out;
}

Result<api::Host> GetHost(const State& s, const Caller& c, const std::string& id) {
  const api::Host* h = s.FindHost(id);
  if (!h) {
    if (!c.is_system_admin() && !c.is_agent()) return PermissionDenied("hosts are visible to administrators only");
    return NotFound("host " + id + " not found");
  }
  GP_RETURN_IF_ERROR(CheckHostAccess(c, *h));
  return s.RenderHost(*h);
}

Page<api::Host> ListHosts(const State& s, const Caller& c, const HostFilter& f, const ListOptions& o) {
  return PageOf(
      s.hosts(), o,
      [&](const api::Host& h) {
        return CheckHostAccess(c, h).ok() && (f.pool.empty() || h.pool == f.pool) &&
               (!f.status || h.status == *f.status);
      },
      [&](const api::Host& h) { return s.RenderHost(h); });
}

Result<api::Host> PatchHost(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchHostRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::Host* found = s.FindHost(id);
  if (!found) return NotFound("host " + id + " not found");
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "host " + id));
  api::Host h = *found;
  if (req.enabled) h.enabled = *req.enabled;
  if (h.enabled) h.pending = false;  // enabling a pending host is its approval
  if (req.maintenance) h.maintenance = *req.maintenance;
  if (req.pool) h.pool = *req.pool;
  if (req.cpu_allocation_ratio) h.cpu_allocation_ratio = *req.cpu_allocation_ratio;
  if (req.memory_allocation_ratio) h.memory_allocation_ratio = *req.memory_allocation_ratio;
  if (req.disk_allocation_ratio) h.disk_allocation_ratio = *req.disk_allocation_ratio;
  if (req.traits) h.traits = *req.traits;
  if (req.aggregates) h.aggregates = *req.aggregates;
  if (req.dedicated_departments) {
    for (const auto& department_id : *req.dedicated_departments) {
      if (!s.FindDepartment(department_id)) {
        return InvalidArgument("department " + department_id + " does not exist")
            .WithDetail("field", "dedicated_departments");
      }
    }
    h.dedicated_departments = *req.dedicated_departments;
  }
  if (req.max_instances) h.max_instances = *req.max_instances;
  s.Save(t, h);
  return s.RenderHost(h);
}

Result<api::Host> Heartbeat(State& s, Txn& t, const Caller& c, const std::string& id,
                            const api::HostActualUsage* usage, const std::vector<api::VmActualUsage>* vms) {
  const api::Host* found = s.FindHost(id);
  if (!found || (!c.is_system_admin() && !(c.is_agent() && found->agent_user_id == c.user_id))) {
    if (!c.is_system_admin() && !c.is_agent()) return PermissionDenied("only agents send heartbeats");
    return NotFound("host " + id + " not found");
  }
  if (found->status == api::HostStatus::kUp) {
    // Heartbeats of a live host stay in memory: persisting each one would cost a commit per
    // host per interval for nothing a restart needs (hosts get a fresh grace period).
    s.TouchHeartbeat(id, t.now_ms(), usage, vms);
    return s.RenderHost(*s.FindHost(id));
  }
  api::Host h = *found;
  h.status = api::HostStatus::kUp;
  s.Save(t, h);
  s.TouchHeartbeat(id, t.now_ms(), usage, vms);
  return s.RenderHost(*s.FindHost(id));
}

std::vector<std::string> MarkSilentHostsDown(State& s, Txn& t, std::int64_t timeout_ms) {
  std::vector<std::string> down;
  for (const auto& [id, h] : s.hosts()) {
    // Hosts without an agent (registered by an administrator, e.g. for simulations) never
    // heartbeat and are not judged by it.
    if (h.status != api::HostStatus::kUp || h.agent_user_id.empty()) continue;
    if (t.now_ms() - h.last_heartbeat_ms > timeout_ms) down.push_back(id);
  }
  for (const auto& id : down) {
    api::Host h = *s.FindHost(id);
    h.status = api::HostStatus::kDown;
    s.Save(t, h);
  }
  return down;
}

}  // namespace govpool::controller
