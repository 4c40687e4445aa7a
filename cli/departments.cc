// govpoolctl department ...: departments (tenants) with their quotas, and their usage.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

const std::vector<Column<api::Department>>& DepartmentColumns() {
  using D = api::Department;
  static const std::vector<Column<D>> columns = {
      {"ID", [](const D& d) { return d.meta.id; }},
      {"NAME", [](const D& d) { return d.name; }},
      {"PARENT_ID", [](const D& d) { return d.parent_id; }, true},
      {"INSTANCES", [](const D& d) { return LimitText(d.quota.instances); }},
      {"VCPUS", [](const D& d) { return LimitText(d.quota.vcpus); }},
      {"MEMORY_MIB", [](const D& d) { return LimitText(d.quota.memory_mib); }},
      {"DESCRIPTION", [](const D& d) { return d.description; }},
  };
  return columns;
}

constexpr const char* kQuotaHelp =
    "quota limits, e.g. instances=10,vcpus=20 (-1 or 'unlimited': no limit); resources: "
    "instances vcpus memory_mib volumes volume_gib snapshots backup_gib networks ports security_groups routers "
    "floating_ips server_groups";

Command& QuotaOption(Command& c, std::optional<api::QuotaPatch>* quota) {
  return c.Option("--quota", "R=N,...", kQuotaHelp, [quota](const std::string& text) -> Status {
    GP_ASSIGN_OR_RETURN(*quota, ParseQuota(text));
    return OkStatus();
  });
}

struct CreateArgs {
  std::string name;
  std::string description;
  std::string parent;
  std::optional<api::QuotaPatch> quota;
};

Status Create(Context& ctx, const CreateArgs& args) {
  api::CreateDepartmentRequest req;
  req.name = args.name;
  req.description = args.description;
  req.parent = args.parent;
  if (args.quota) req.quota = ApplyQuota(req.quota, *args.quota);
  GP_ASSIGN_OR_RETURN(api::Department d, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateDepartment(req, w);
  }));
  ctx.PrintObject(d);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::Department> items,
                      ctx.ListAll<api::Department>(
                          [&](const api::PageQuery& q) { return ctx.api().ListDepartments(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, DepartmentColumns());
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.DepartmentId(ref));
  GP_ASSIGN_OR_RETURN(api::Department d, ctx.Retried([&] { return ctx.api().GetDepartment(id); }));
  ctx.PrintObject(d);
  return OkStatus();
}

struct UpdateArgs {
  std::string ref;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> parent;
  std::optional<api::QuotaPatch> quota;
  std::optional<std::int64_t> if_match;
};

Status Update(Context& ctx, const UpdateArgs& args) {
  api::PatchDepartmentRequest req;
  req.name = args.name;
  req.description = args.description;
  req.quota = args.quota;
  req.parent = args.parent;
  if (!req.name && !req.description && !req.quota && !req.parent) {
    return UsageError("nothing to change: give --name, --description, --parent or --quota");
  }
  GP_ASSIGN_OR_RETURN(std::string id, ctx.DepartmentId(args.ref));
  GP_ASSIGN_OR_RETURN(api::Department d, ctx.api().PatchDepartment(id, req, IfMatch(args.if_match)));
  ctx.PrintObject(d);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref, const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.DepartmentId(ref));
  GP_RETURN_IF_ERROR(ctx.api().DeleteDepartment(id, IfMatch(if_match)));
  PrintDeleted(ctx, "department", id);
  return OkStatus();
}

Status Usage(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.DepartmentId(ref));
  GP_ASSIGN_OR_RETURN(api::DepartmentUsage usage,
                      ctx.Retried([&] { return ctx.api().GetDepartmentUsage(id); }));
  if (ctx.json()) {
    ctx.out() << api::Encode(usage) << "\n";
    return OkStatus();
  }
  // In the API's order of quota resources, then any this client does not know.
  std::vector<Row> rows;
  auto add = [&](const std::string& resource, const api::QuotaUse& use) {
    rows.push_back({resource, std::to_string(use.used), std::to_string(use.subtree_used), LimitText(use.limit),
                    LimitText(use.children_limits), use.enforced ? "" : "not enforced yet"});
  };
  for (const api::QuotaResource& r : api::kQuotaResources) {
    auto it = usage.usage.find(std::string(r.name));
    if (it != usage.usage.end()) add(it->first, it->second);
  }
  for (const auto& [resource, use] : usage.usage) {
    if (!api::FindQuotaResource(resource)) add(resource, use);
  }
  ctx.out() << FormatTable({"RESOURCE", "USED", "WITH_SUBTREE", "LIMIT", "CHILDREN_LIMITS", "NOTE"}, rows);
  return OkStatus();
}

}  // namespace

void AddDepartmentCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("department", "departments (tenants) with quotas, and their usage");
  {
    auto a = std::make_shared<CreateArgs>();
    Command& c = g.AddCommand("create", "create a department (admin)")
                     .Arg("NAME", &a->name, "the department's name")
                     .Option("--description", &a->description, "TEXT", "free text")
                     .Option("--parent", &a->parent, "ID|NAME",
                             "the department above it (its quota bounds this one's and its siblings')");
    QuotaOption(c, &a->quota).Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  g.AddCommand("list", "list the departments you can see").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a department")
        .Arg("ID|NAME", ref.get(), "the department")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<UpdateArgs>();
    Command& c = g.AddCommand("update", "rename a department or change its quota (admin); only "
                                        "the quota resources given change")
                     .Arg("ID|NAME", &a->ref, "the department")
                     .Option("--name", &a->name, "NAME", "new name")
                     .Option("--description", &a->description, "TEXT", "new description")
                     .Option("--parent", &a->parent, "ID|NAME", "move it under another department ('' for the top)");
    QuotaOption(c, &a->quota);
    IfMatchOption(c, &a->if_match).Run([a](Context& ctx) { return Update(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    auto if_match = std::make_shared<std::optional<std::int64_t>>();
    Command& c = g.AddCommand("delete", "delete an empty department (admin)")
                     .Arg("ID|NAME", ref.get(), "the department");
    IfMatchOption(c, if_match.get()).Run([ref, if_match](Context& ctx) {
      return Delete(ctx, *ref, *if_match);
    });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("usage", "used and limit for each quota resource")
        .Arg("ID|NAME", ref.get(), "the department")
        .Run([ref](Context& ctx) { return Usage(ctx, *ref); });
  }
}

}  // namespace govpool::cli
