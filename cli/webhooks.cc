// govpoolctl webhook ...: where capacity-request notifications are POSTed (docs/departments.md,
// "Notifications"). The signing secret is printed once, by create.
#include <memory>

#include "cli/commands.h"
#include "common/clock.h"

namespace govpool::cli {
namespace {

std::string When(std::int64_t ms) {
  return ms == 0 ? "" : FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
  return out.empty() ? "all" : out;
}

struct CreateArgs {
  std::string name;
  std::string department;
  std::optional<api::WebhookRole> role;
  std::string url;
  std::vector<std::string> events;
};

Status Create(Context& ctx, const CreateArgs& args) {
  api::CreateWebhookRequest req;
  req.name = args.name;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(req.department_id, ctx.DepartmentId(args.department));
  }
  req.role = args.role.value_or(api::WebhookRole::kRequester);
  req.url = args.url;
  req.events = args.events;
  GP_ASSIGN_OR_RETURN(api::Webhook w, ctx.Create([&](const api::WriteOptions& o) { return ctx.api().CreateWebhook(req, o); }));
  ctx.PrintObject(w);
  return OkStatus();
}

Status List(Context& ctx) {
  using W = api::Webhook;
  GP_ASSIGN_OR_RETURN(std::vector<W> items,
                      ctx.ListAll<W>([&](const api::PageQuery& q) { return ctx.api().ListWebhooks(q); }, api::PageQuery{}));
  ctx.PrintList(items, {
                           {"ID", [](const W& w) { return w.meta.id; }},
                           {"NAME", [](const W& w) { return w.name; }},
                           {"DEPARTMENT", [&ctx](const W& w) { return w.department_id.empty() ? std::string("(platform)") : ctx.DepartmentName(w.department_id); }},
                           {"ROLE", [](const W& w) { return std::string(api::ToString(w.role)); }},
                           {"EVENTS", [](const W& w) { return Joined(w.events); }},
                           {"URL", [](const W& w) { return w.url; }},
                           {"LAST_DELIVERED", [](const W& w) { return When(w.last_delivered_at_ms); }},
                           {"LAST_ERROR", [](const W& w) { return w.last_error; }, true},
                       });
  return OkStatus();
}

Status Deliveries(Context& ctx, const std::string& id) {
  using D = api::WebhookDelivery;
  GP_ASSIGN_OR_RETURN(std::vector<D> items, ctx.ListAll<D>([&](const api::PageQuery& q) {
    return ctx.api().ListWebhookDeliveries(id, q);
  }, api::PageQuery{}));
  ctx.PrintList(items, {
                           {"ID", [](const D& d) { return d.id; }},
                           {"EVENT", [](const D& d) { return d.event; }},
                           {"STATE", [](const D& d) { return std::string(api::ToString(d.state)); }},
                           {"ATTEMPTS", [](const D& d) { return std::to_string(d.attempts); }},
                           {"CREATED", [](const D& d) { return When(d.created_at_ms); }},
                           {"NEXT_ATTEMPT", [](const D& d) { return d.state == api::WebhookDeliveryState::kPending ? When(d.next_attempt_at_ms) : ""; }},
                           {"LAST_STATUS", [](const D& d) { return d.last_status == 0 ? std::string() : std::to_string(d.last_status); }},
                           {"LAST_ERROR", [](const D& d) { return d.last_error; }, true},
                       });
  return OkStatus();
}

}  // namespace

void AddWebhookCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("webhook", "where capacity-request notifications are sent (signed JSON POSTs)");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "register a webhook; prints its signing secret once")
        .Option("--name", &a->name, "NAME", "its name")
        .Required()
        .Option("--url", &a->url, "URL", "https://... (http:// to a loopback address only)")
        .Required()
        .Option("--department", &a->department, "ID|NAME", "the department it speaks for (none: the platform's)")
        .Choice("--role", &a->role, "requester (the department's requests; the default) or approver (requests waiting for its approval)")
        .Option("--events", &a->events, "E,...", "only these: submitted,approved,rejected,fulfilled,unfulfilled,withdrawn,expiring,expired,over-quota,ping")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  g.AddCommand("list", "the webhooks you can see").Run(List);
  {
    auto id = std::make_shared<std::string>();
    g.AddCommand("show", "one webhook, with its last delivery and failure").Arg("ID", id.get(), "the webhook").Run([id](Context& ctx) -> Status {
      GP_ASSIGN_OR_RETURN(api::Webhook w, ctx.Retried([&] { return ctx.api().GetWebhook(*id); }));
      ctx.PrintObject(w);
      return OkStatus();
    });
  }
  {
    auto id = std::make_shared<std::string>();
    g.AddCommand("delete", "remove a webhook (its pending notifications are not sent)").Arg("ID", id.get(), "the webhook").Run([id](Context& ctx) -> Status {
      GP_RETURN_IF_ERROR(ctx.api().DeleteWebhook(*id));
      PrintDeleted(ctx, "webhook", *id);
      return OkStatus();
    });
  }
  {
    auto id = std::make_shared<std::string>();
    g.AddCommand("ping", "send a ping notification").Arg("ID", id.get(), "the webhook").Run([id](Context& ctx) -> Status {
      GP_ASSIGN_OR_RETURN(api::WebhookDelivery d, ctx.Create([&](const api::WriteOptions& o) { return ctx.api().PingWebhook(*id, o); }));
      ctx.PrintObject(d);
      return OkStatus();
    });
  }
  {
    auto id = std::make_shared<std::string>();
    g.AddCommand("deliveries", "its notifications: pending (next attempt) or done (kept 7 days)").Arg("ID", id.get(), "the webhook").Run([id](Context& ctx) {
      return Deliveries(ctx, *id);
    });
  }
}

}  // namespace govpool::cli
