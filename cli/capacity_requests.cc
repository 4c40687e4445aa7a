// govpoolctl request ...: capacity requests (docs/departments.md, "Capacity requests"). A
// department files one for quota or VMs; the levels above approve in turn, the platform last.
// Decisions are sent with an Idempotency-Key and retried with it, so a lost answer never
// counts as a second approval.
#include <memory>

#include "cli/commands.h"
#include "common/clock.h"

namespace govpool::cli {
namespace {

std::string When(std::int64_t ms) {
  return ms == 0 ? "" : FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string What(const api::CapacityRequest& r) {
  if (r.vms) return std::to_string(r.vms->count) + " x " + r.vms->flavor + " (" + r.vms->name + ")";
  std::string out;
  if (r.quota) {
    for (const api::QuotaResource& q : api::kQuotaResources) {
      if (const auto& more = (*r.quota).*(q.patch)) out += (out.empty() ? "+" : ",+") + std::to_string(*more) + " " + std::string(q.name);
    }
  }
  return out;
}

std::vector<Column<api::CapacityRequest>> RequestColumns(Context& ctx) {
  using R = api::CapacityRequest;
  return {
      {"ID", [](const R& r) { return r.meta.id; }},
      {"DEPARTMENT", [&ctx](const R& r) { return ctx.DepartmentName(r.department_id); }},
      {"WHAT", [](const R& r) { return What(r); }},
      {"STATE", [](const R& r) { return std::string(api::ToString(r.state)); }},
      {"NEXT", [&ctx](const R& r) { return r.next_level.empty() || r.next_level == "platform" ? r.next_level : ctx.DepartmentName(r.next_level); }},
      {"REQUESTED_BY", [](const R& r) { return r.requested_by; }},
      {"ENDS", [](const R& r) { return When(r.end_at_ms); }},
      {"REASON", [](const R& r) { return r.reason; }, true},
      {"UNFULFILLED", [](const R& r) { return r.unfulfilled_reason; }, true},
  };
}

struct CreateArgs {
  std::string department;
  std::string reason;
  std::optional<api::QuotaPatch> quota;
  std::string vms_name;
  std::string flavor;
  std::string image;
  std::string network;
  std::int64_t count = 1;
  std::string until;
  bool draft = false;
};

Status Create(Context& ctx, const CreateArgs& args) {
  api::CreateCapacityRequest req;
  GP_ASSIGN_OR_RETURN(req.department_id, ctx.DepartmentId(args.department));
  req.reason = args.reason;
  req.quota = args.quota;
  req.submit = !args.draft;
  if (!args.vms_name.empty() || !args.flavor.empty()) {
    if (args.vms_name.empty() || args.flavor.empty()) return UsageError("VMs need both --vms NAME and --flavor");
    req.vms = api::CapacityVms{args.vms_name, args.flavor, args.image, args.network, args.count};
  }
  if (!args.until.empty()) {
    auto t = ParseRfc3339(args.until);
    if (!t.ok()) return UsageError("--until must be an RFC 3339 time, e.g. 2027-03-31T00:00:00Z");
    req.end_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  }
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateCapacityRequest(req, w);
  }));
  ctx.PrintObject(r);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::CapacityRequest> items,
                      ctx.ListAll<api::CapacityRequest>(
                          [&](const api::PageQuery& q) { return ctx.api().ListCapacityRequests(q); }, api::PageQuery{}));
  ctx.PrintList(items, RequestColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& id) {
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, ctx.Retried([&] { return ctx.api().GetCapacityRequest(id); }));
  ctx.PrintObject(r);
  return OkStatus();
}

Status Decide(Context& ctx, const std::string& id, const std::string& verb, const std::string& reason) {
  api::CapacityDecision decision{reason};
  GP_ASSIGN_OR_RETURN(api::CapacityRequest r, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().DecideCapacityRequest(id, verb, decision, w);
  }));
  ctx.PrintObject(r);
  return OkStatus();
}

}  // namespace

void AddCapacityRequestCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("request", "capacity requests: departments ask, the levels above and the platform approve");
  {
    auto a = std::make_shared<CreateArgs>();
    Command& c =
        g.AddCommand("create", "ask for more quota (--quota) or for VMs (--vms NAME --flavor F [--count N])")
            .Option("--department", &a->department, "ID|NAME", "your department")
            .Required()
            .Option("--reason", &a->reason, "TEXT", "why (the approvers read it)")
            .Required()
            .Option("--vms", &a->vms_name, "NAME", "VMs to create on approval: NAME, or NAME-1.. with --count")
            .Option("--flavor", &a->flavor, "ID|NAME", "their flavor")
            .Option("--image", &a->image, "ID|NAME", "boot them from this image")
            .Option("--network", &a->network, "ID|NAME", "give them a NIC on this network")
            .Option("--count", &a->count, "N", "how many VMs", 1, 100)
            .Option("--until", &a->until, "TIME", "a time-limited grant: it returns then (RFC 3339)")
            .Flag("--draft", &a->draft, "keep it a draft (submit it later)");
    c.Option("--quota", "R=N,...", "increases of the limits, e.g. instances=2,vcpus=4",
             [a](const std::string& text) -> Status {
               GP_ASSIGN_OR_RETURN(a->quota, ParseQuota(text));
               return OkStatus();
             })
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  g.AddCommand("list", "the requests you can see (yours, those below you as a bureau, all as the platform)").Run(List);
  for (const char* verb : {"show", "submit", "approve", "withdraw"}) {
    auto id = std::make_shared<std::string>();
    const std::string v = verb;
    const std::string help = v == "show"      ? "one request, with the level it waits for"
                             : v == "submit"  ? "submit a draft"
                             : v == "approve" ? "approve at your level (the last approval applies it; again to retry one not applied)"
                                              : "withdraw it before it is applied";
    g.AddCommand(v, help).Arg("ID", id.get(), "the request").Run([id, v](Context& ctx) {
      return v == "show" ? Show(ctx, *id) : Decide(ctx, *id, v, "");
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    g.AddCommand("reject", "reject it, saying why")
        .Arg("ID", id.get(), "the request")
        .Option("--reason", reason.get(), "TEXT", "why")
        .Required()
        .Run([id, reason](Context& ctx) { return Decide(ctx, *id, "reject", *reason); });
  }
}

}  // namespace govpool::cli
