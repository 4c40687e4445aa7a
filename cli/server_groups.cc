// govpoolctl server-group ...: VMs placed together (affinity) or apart (anti-affinity).
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

std::vector<Column<api::ServerGroup>> GroupColumns(Context& ctx) {
  using G = api::ServerGroup;
  return {
      {"ID", [](const G& g) { return g.meta.id; }},
      {"NAME", [](const G& g) { return g.name; }},
      {"DEPARTMENT", [&ctx](const G& g) { return ctx.DepartmentName(g.department_id); }},
      {"DEPARTMENT_ID", [](const G& g) { return g.department_id; }, true},
      {"POLICY", [](const G& g) { return std::string(api::ToString(g.policy)); }},
      {"HARD", [](const G& g) { return std::string(g.hard ? "true" : "false"); }},
  };
}

struct CreateArgs {
  api::CreateServerGroupRequest req;
  std::string department;
  std::optional<api::GroupPolicy> policy;
  bool soft = false;
};

Status Create(Context& ctx, CreateArgs args) {
  GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  args.req.policy = args.policy.value_or(api::GroupPolicy::kAffinity);
  args.req.hard = !args.soft;
  GP_ASSIGN_OR_RETURN(api::ServerGroup g, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateServerGroup(args.req, w);
  }));
  ctx.PrintObject(g);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::ServerGroup> items,
                      ctx.ListAll<api::ServerGroup>(
                          [&](const api::PageQuery& q) { return ctx.api().ListServerGroups(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, GroupColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ServerGroupId(ref));
  GP_ASSIGN_OR_RETURN(api::ServerGroup g, ctx.Retried([&] { return ctx.api().GetServerGroup(id); }));
  ctx.PrintObject(g);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ServerGroupId(ref));
  GP_RETURN_IF_ERROR(ctx.api().DeleteServerGroup(id));
  PrintDeleted(ctx, "server-group", id);
  return OkStatus();
}

}  // namespace

void AddServerGroupCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("server-group", "VMs placed together (affinity) or apart (anti-affinity)");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "create a server group")
        .Arg("NAME", &a->req.name, "the group's name")
        .Option("--department", &a->department, "ID|NAME", "owning department").Required()
        .Choice("--policy", &a->policy, "place members together or apart").Required()
        .Flag("--soft", &a->soft, "a preference, not a rule (default: hard)")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  g.AddCommand("list", "list server groups").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a server group")
        .Arg("ID|NAME", ref.get(), "the server group")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a server group")
        .Arg("ID|NAME", ref.get(), "the server group")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
}

}  // namespace govpool::cli
