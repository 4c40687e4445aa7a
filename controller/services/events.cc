#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "controller/services/services.h"

namespace govpool::controller {

void AddDepartmentEvent(State& s, const Txn& t, const std::string& department_id, std::string kind,
                        std::string message) {
  api::Event e;
  e.department_id = department_id;
  e.kind = std::move(kind);
  e.message = std::move(message);
  e.at_ms = t.now_ms();
  s.AddEvent(std::move(e));
}

Status ReportEvents(State& s, Txn& t, const Caller& c, const std::string& host_id,
                    const api::ReportEventsRequest& req) {
  const api::Host* h = s.FindHost(host_id);
  if (!h || (!c.is_system_admin() && !(c.is_agent() && h->agent_user_id == c.user_id))) {
    if (!c.is_system_admin() && !c.is_agent()) return PermissionDenied("only agents report host events");
    return NotFound("host " + host_id + " not found");
  }
  // A malformed event refuses the whole report, checked before any event is kept.
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const api::EventReport& in = req.events[i];
    const std::string field = "events[" + std::to_string(i) + "]";
    if (std::find(kAgentEventKinds.begin(), kAgentEventKinds.end(), in.kind) == kAgentEventKinds.end()) {
      std::string kinds;
      for (std::string_view k : kAgentEventKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
      return InvalidArgument("event kind '" + in.kind.substr(0, 64) + "' is not one an agent reports (" + kinds + ")")
          .WithDetail("field", field + ".kind");
    }
    if (!in.vm_id.empty() && !IsUuid(in.vm_id)) {
      return InvalidArgument("vm_id must be a VM's UUID").WithDetail("field", field + ".vm_id");
    }
  }
  std::int64_t dropped = 0;
  for (const api::EventReport& in : req.events) {
    // A domain removed as an orphan, or a watched item the agent refused, is not (or need not
    // be) this host's VM; every other event is about a VM the controller placed on this host.
    // One that is not (deleted or moved since the agent noticed, or forged) is not kept:
    // refusing the report would make the agent retry it for ever.
    const api::Vm* v = in.vm_id.empty() ? nullptr : s.FindVm(in.vm_id);
    const bool any_vm = in.kind == "orphan_removed" || in.kind == "item_refused";
    if (!any_vm && (!v || v->host_id != host_id)) {
      ++dropped;
      continue;
    }
    api::Event e;
    e.vm_id = in.vm_id;
    e.kind = in.kind;
    e.message = in.message;
    e.id = NewUuid();
    e.host_id = host_id;
    e.at_ms = t.now_ms();
    // Shown to a department only when it is about the department's VM on this very host, so an
    // agent cannot write into another host's VMs' history.
    if (v && v->host_id == host_id) e.department_id = v->department_id;
    s.AddEvent(std::move(e));
  }
  if (dropped > 0) {
    log::Warn("events about VMs not on the reporting host were not kept",
              {{"host_id", host_id}, {"events", dropped}});
  }
  return OkStatus();
}

std::vector<api::Event> ListEvents(const State& s, const Caller& c, const EventFilter& f) {
  std::vector<api::Event> out;
  const auto& events = s.events();
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (static_cast<std::int64_t>(out.size()) >= f.limit) break;
    const api::Event& e = *it;
    if (!f.host_id.empty() && e.host_id != f.host_id) continue;
    if (!f.vm_id.empty() && e.vm_id != f.vm_id) continue;
    bool visible = c.is_system_admin() || (!e.department_id.empty() && c.can_see_department(e.department_id));
    if (!visible && c.is_agent()) {
      const api::Host* h = s.FindHost(e.host_id);
      visible = h && h->agent_user_id == c.user_id;
    }
    if (visible) out.push_back(e);
  }
  return out;
}

}  // namespace govpool::controller
