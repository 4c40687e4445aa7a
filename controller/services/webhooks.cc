// Webhooks (docs/departments.md, "Notifications"): who registers them, which notifications each
// hears of, and the durable queue of deliveries the dispatcher (controller/webhook_dispatcher.h)
// works through. A notification is queued in the transaction of the change it tells of, so none
// is lost to a crash and none tells of a change that did not happen.
#include <algorithm>
#include <functional>

#include "api/codec.h"
#include "api/http_message.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

// The level a request waits for, or stopped waiting for when it was withdrawn, rejected or
// expired (their approvals are as they were): the next one in `levels`, or the platform for an
// approved request not applied yet; "" for a draft.
std::string WaitingLevel(const api::CapacityRequest& r) {
  if (r.levels.empty()) return "";
  if (r.approvals.size() < r.levels.size()) return r.levels[r.approvals.size()];
  return std::string(kPlatformLevel);
}

bool ApproversHear(std::string_view event) {
  return event == "submitted" || event == "unfulfilled" || event == "withdrawn" || event == "rejected" ||
         event == "expired";
}

bool Wants(const api::Webhook& w, std::string_view event) {
  return w.events.empty() || std::find(w.events.begin(), w.events.end(), event) != w.events.end();
}

// Who may register, change and read the webhooks of `department_id` ("": the platform's).
bool MayManage(const State& s, const Caller& c, const std::string& department_id) {
  if (c.is_system_admin()) return true;
  if (department_id.empty() || c.role != api::Role::kDeptAdmin) return false;
  return CanSeeDepartment(s, c, department_id);
}
bool MayRead(const State& s, const Caller& c, const std::string& department_id) {
  if (MayManage(s, c, department_id)) return true;
  return !department_id.empty() && c.in_department(department_id);
}

Result<api::Webhook> Find(const State& s, const Caller& c, const std::string& id) {
  const api::Webhook* w = s.FindWebhook(id);
  if (!w || !MayRead(s, c, w->department_id)) return NotFound("webhook " + id + " not found");
  return *w;
}

std::int64_t PendingDeliveries(const State& s, const std::string& webhook_id) {
  const std::set<std::string>& held = s.DeliveriesOfWebhook(webhook_id);
  return std::count_if(held.begin(), held.end(), [&](const std::string& id) {
    return s.FindWebhookDelivery(id)->state == api::WebhookDeliveryState::kPending;
  });
}

// Queues `notification` for webhook `w` (its id and the delivery's are filled in here); when the
// webhook's backlog is full, records the event webhook-backlog-full instead and returns nullopt.
std::optional<api::WebhookDelivery> Enqueue(State& s, Txn& t, const api::Webhook& w,
                                            api::WebhookNotification notification) {
  const std::int64_t pending = PendingDeliveries(s, w.meta.id);
  if (pending >= kMaxPendingDeliveriesPerWebhook) {
    AddDepartmentEvent(s, t, w.department_id, "webhook-backlog-full",
                       "webhook '" + w.name + "' has " + std::to_string(pending) + " notifications waiting; '" +
                           notification.event + "' was not queued");
    return std::nullopt;
  }
  api::WebhookDelivery d;
  d.id = NewUuid();
  d.webhook_id = w.meta.id;
  d.department_id = w.department_id;
  d.event = notification.event;
  notification.id = d.id;
  notification.webhook_id = w.meta.id;
  d.body = api::Encode(notification);
  d.created_at_ms = t.now_ms();
  d.next_attempt_at_ms = t.now_ms();
  s.Save(t, d);
  return d;
}

// Enqueue saves deliveries only, so the webhooks' index that `webhook_ids` belongs to stays as it is.
void EnqueueFor(State& s, Txn& t, const std::set<std::string>& webhook_ids, const api::WebhookNotification& n) {
  for (const std::string& id : webhook_ids) {
    const api::Webhook* w = s.FindWebhook(id);
    if (w && Wants(*w, n.event)) Enqueue(s, t, *w, n);
  }
}

}  // namespace

Result<api::Webhook> CreateWebhook(State& s, Txn& t, const Caller& c, const api::CreateWebhookRequest& req) {
  std::string department_id;
  if (!req.department_id.empty()) {
    const api::Department* d = s.FindDepartment(req.department_id);
    if (!d) d = s.FindDepartmentByName(req.department_id);
    if (!d || !CanSeeDepartment(s, c, d->meta.id)) {
      return NotFound("department " + req.department_id + " not found").WithDetail("field", "department_id");
    }
    department_id = d->meta.id;
  } else if (req.role != api::WebhookRole::kApprover) {
    return InvalidArgument("a requester webhook belongs to a department").WithDetail("field", "department_id");
  }
  if (!MayManage(s, c, department_id)) {
    return PermissionDenied(department_id.empty() ? "the platform's webhooks are registered by a system-admin"
                                                  : "webhooks are registered by the department's dept-admin or a system-admin");
  }
  auto url = api::ParseHttpUrl(req.url);
  if (!url.ok()) return InvalidArgument("url: " + url.status().message()).WithDetail("field", "url");
  if (!url->tls && !url->loopback) {
    return InvalidArgument("url: notifications are sent over https; http:// only to a loopback address (a local relay)")
        .WithDetail("field", "url");
  }
  for (const std::string& e : req.events) {
    if (std::find(api::kWebhookEvents.begin(), api::kWebhookEvents.end(), e) == api::kWebhookEvents.end()) {
      return InvalidArgument("events: '" + e + "' is not an event a webhook hears of").WithDetail("field", "events");
    }
  }
  // Names are unique among the department's (or the platform's) webhooks, both roles.
  std::int64_t held = 0;
  for (api::WebhookRole role : {api::WebhookRole::kRequester, api::WebhookRole::kApprover}) {
    for (const std::string& id : s.WebhooksFor(role, department_id)) {
      ++held;
      if (s.FindWebhook(id)->name == req.name) {
        return AlreadyExists("a webhook named '" + req.name + "' already exists there").WithDetail("name", req.name);
      }
    }
  }
  GP_RETURN_IF_ERROR(CheckCountLimit(held, kMaxWebhooksPerDepartment, "webhooks",
                                     department_id.empty() ? std::string("the platform")
                                                           : "department '" + s.FindDepartment(department_id)->name + "'"));
  api::Webhook w;
  w.name = req.name;
  w.department_id = department_id;
  w.role = req.role;
  w.url = req.url;
  w.events = req.events;
  w.created_by = c.name;
  w.secret = RandomSecret(32);
  s.Save(t, w);
  w.new_secret = w.secret;
  w.secret.clear();
  return w;
}

Result<api::Webhook> GetWebhook(const State& s, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::Webhook w, Find(s, c, id));
  w.secret.clear();
  return w;
}

Page<api::Webhook> ListWebhooks(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(
      s.webhooks(), o, [&](const api::Webhook& w) { return MayRead(s, c, w.department_id); },
      [](api::Webhook w) {
        w.secret.clear();
        return w;
      });
}

namespace {
void RemoveWebhook(State& s, Txn& t, const std::string& id) {
  const std::set<std::string> deliveries = s.DeliveriesOfWebhook(id);
  for (const std::string& d : deliveries) s.Remove<api::WebhookDelivery>(t, d);
  s.Remove<api::Webhook>(t, id);
}
}  // namespace

Status DeleteWebhook(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::Webhook w, Find(s, c, id));
  if (!MayManage(s, c, w.department_id)) return PermissionDenied("webhooks are removed by those who may register them");
  RemoveWebhook(s, t, id);
  return OkStatus();
}

void RemoveWebhooksOf(State& s, Txn& t, const std::string& department_id) {
  for (api::WebhookRole role : {api::WebhookRole::kRequester, api::WebhookRole::kApprover}) {
    const std::set<std::string> ids = s.WebhooksFor(role, department_id);
    for (const std::string& id : ids) RemoveWebhook(s, t, id);
  }
}

Result<api::WebhookDelivery> PingWebhook(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::Webhook w, Find(s, c, id));
  if (!MayManage(s, c, w.department_id)) return PermissionDenied("webhooks are pinged by those who may register them");
  if (PendingDeliveries(s, id) >= kMaxPendingDeliveriesPerWebhook) {
    return ResourceExhausted("webhook '" + w.name + "' has " + std::to_string(kMaxPendingDeliveriesPerWebhook) +
                             " notifications waiting already")
        .WithReason("QUOTA_EXCEEDED")
        .WithDetail("resource", "pending_notifications")
        .WithDetail("limit", kMaxPendingDeliveriesPerWebhook);
  }
  api::WebhookNotification n;
  n.event = "ping";
  n.at_ms = t.now_ms();
  n.department_id = w.department_id;
  n.message = "ping from " + c.name;
  std::optional<api::WebhookDelivery> queued = Enqueue(s, t, w, n);
  if (!queued) return Internal("the ping was not queued");  // checked above
  return *queued;
}

Result<Page<api::WebhookDelivery>> ListWebhookDeliveries(const State& s, const Caller& c, const std::string& id,
                                                         const ListOptions& o) {
  GP_RETURN_IF_ERROR(Find(s, c, id).status());
  std::map<std::string, api::WebhookDelivery> mine;
  for (const std::string& d : s.DeliveriesOfWebhook(id)) mine.emplace(d, *s.FindWebhookDelivery(d));
  return PageOf(mine, o, [](const api::WebhookDelivery&) { return true; });
}

void NotifyCapacityRequest(State& s, Txn& t, const api::CapacityRequest& r, std::string_view event,
                           const std::string& message) {
  api::WebhookNotification n;
  n.event = std::string(event);
  n.at_ms = t.now_ms();
  n.department_id = r.department_id;
  n.message = message;
  n.capacity_request = r;
  const bool waiting = r.state == api::CapacityRequestState::kSubmitted || r.state == api::CapacityRequestState::kApproved;
  if (waiting) n.awaiting_level = WaitingLevel(r);
  n.capacity_request->next_level = n.awaiting_level;
  EnqueueFor(s, t, s.WebhooksFor(api::WebhookRole::kRequester, r.department_id), n);
  // A level's approval is, for the next level, the request's arrival.
  if (event == "approved" && waiting) n.event = "submitted";
  // A granted request waits for nobody: its end is the department's news, not an approver's.
  if (!ApproversHear(n.event) || r.fulfilled_at_ms != 0) return;
  const std::string level = WaitingLevel(r);
  if (level.empty()) return;
  EnqueueFor(s, t, s.WebhooksFor(api::WebhookRole::kApprover, level == kPlatformLevel ? std::string() : level), n);
}

std::vector<WebhookAttempt> DueWebhookDeliveries(const State& s, std::int64_t now_ms, std::size_t limit) {
  std::vector<const api::WebhookDelivery*> due;
  for (const std::string& id : s.PendingWebhookDeliveries()) {
    const api::WebhookDelivery* d = s.FindWebhookDelivery(id);
    if (d->next_attempt_at_ms <= now_ms) due.push_back(d);
  }
  std::sort(due.begin(), due.end(), [](const api::WebhookDelivery* a, const api::WebhookDelivery* b) {
    return std::tie(a->next_attempt_at_ms, a->id) < std::tie(b->next_attempt_at_ms, b->id);
  });
  std::vector<WebhookAttempt> out;
  for (const api::WebhookDelivery* d : due) {
    if (out.size() == limit) break;
    const api::Webhook* w = s.FindWebhook(d->webhook_id);
    if (!w) continue;
    out.push_back({*d, w->url, w->secret});
  }
  return out;
}

std::int64_t WebhookBackoffMs(const WebhookRetryPolicy& p, const std::string& delivery_id, std::int64_t attempts) {
  std::int64_t wait = p.first_backoff_ms;
  for (std::int64_t i = 1; i < attempts && wait < p.max_backoff_ms; ++i) wait *= 2;
  wait = std::min(wait, p.max_backoff_ms);
  const std::size_t spread = std::hash<std::string>{}(delivery_id + "/" + std::to_string(attempts)) % 1000;
  return wait + wait / 4 * static_cast<std::int64_t>(spread) / 1000;
}

std::int64_t RecordWebhookOutcomes(State& s, Txn& t, const std::vector<WebhookOutcome>& outcomes,
                                   const WebhookRetryPolicy& p) {
  std::int64_t failed = 0;
  for (const WebhookOutcome& o : outcomes) {
    const api::WebhookDelivery* found = s.FindWebhookDelivery(o.delivery_id);
    if (!found || found->state != api::WebhookDeliveryState::kPending) continue;  // deleted meanwhile
    api::WebhookDelivery d = *found;
    const api::Webhook* hook = s.FindWebhook(d.webhook_id);
    if (!hook) continue;
    api::Webhook w = *hook;
    ++d.attempts;
    d.last_attempt_at_ms = t.now_ms();
    d.last_status = o.status;
    if (o.status >= 200 && o.status < 300) {
      d.state = api::WebhookDeliveryState::kDelivered;
      d.delivered_at_ms = t.now_ms();
      d.last_error.clear();
      w.last_delivered_at_ms = t.now_ms();
    } else {
      d.last_error = o.error.empty() ? "the receiver answered " + std::to_string(o.status) : o.error;
      w.last_failed_at_ms = t.now_ms();
      w.last_error = d.last_error;
      if (d.attempts >= p.max_attempts) {
        d.state = api::WebhookDeliveryState::kFailed;
        ++failed;
        AddDepartmentEvent(s, t, w.department_id, "webhook-delivery-failed",
                           "webhook '" + w.name + "': notification " + d.id + " (" + d.event +
                               ") not delivered after " + std::to_string(d.attempts) + " attempts: " + d.last_error);
      } else {
        d.next_attempt_at_ms = t.now_ms() + WebhookBackoffMs(p, d.id, d.attempts);
      }
    }
    s.Save(t, d);
    s.Save(t, w);
  }
  return failed;
}

std::int64_t PruneWebhookDeliveries(State& s, Txn& t, std::int64_t retain_ms) {
  std::vector<std::string> old;
  for (const auto& [id, d] : s.webhook_deliveries()) {
    const std::int64_t ended = std::max(d.delivered_at_ms, d.last_attempt_at_ms);
    if (d.state != api::WebhookDeliveryState::kPending && ended + retain_ms < t.now_ms()) old.push_back(id);
  }
  for (const std::string& id : old) s.Remove<api::WebhookDelivery>(t, id);
  return static_cast<std::int64_t>(old.size());
}

}  // namespace govpool::controller
