#include "common/ids.h"
#include "controller/services/services.h"

namespace govpool::controller {

Status ReportEvents(State& s, Txn& t, const Caller& c, const std::string& host_id,
                    const api::ReportEventsRequest& req) {
  const api::Host* h = s.FindHost(host_id);
  if (!h || (!c.is_system_admin() && !(c.is_agent() && h->agent_user_id == c.user_id))) {
    if (!c.is_system_admin() && !c.is_agent()) return PermissionDenied("only agents report host events");
    return NotFound("host " + host_id + " not found");
  }
  for (const api::EventReport& in : req.events) {
    api::Event e;
    e.vm_id = in.vm_id;
    e.kind = in.kind;
    e.message = in.message;
    e.id = NewUuid();
    e.host_id = host_id;
    e.at_ms = t.now_ms();
    if (const api::Vm* v = e.vm_id.empty() ? nullptr : s.FindVm(e.vm_id)) e.department_id = v->department_id;
    s.AddEvent(std::move(e));
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
