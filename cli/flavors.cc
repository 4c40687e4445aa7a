// govpoolctl flavor ...: VM sizes. The server resolves a flavor's name or id itself.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

const std::vector<Column<api::Flavor>>& FlavorColumns() {
  using F = api::Flavor;
  static const std::vector<Column<F>> columns = {
      {"ID", [](const F& f) { return f.meta.id; }},
      {"NAME", [](const F& f) { return f.name; }},
      {"VCPUS", [](const F& f) { return std::to_string(f.vcpus); }},
      {"MEMORY_MIB", [](const F& f) { return std::to_string(f.memory_mib); }},
      {"DISK_GIB", [](const F& f) { return std::to_string(f.disk_gib); }},
      {"DESCRIPTION", [](const F& f) { return f.description; }, true},
  };
  return columns;
}

Status Create(Context& ctx, const api::CreateFlavorRequest& req) {
  GP_ASSIGN_OR_RETURN(api::Flavor f, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateFlavor(req, w);
  }));
  ctx.PrintObject(f);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::Flavor> items,
                      ctx.ListAll<api::Flavor>(
                          [&](const api::PageQuery& q) { return ctx.api().ListFlavors(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, FlavorColumns());
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(api::Flavor f, ctx.Retried([&] { return ctx.api().GetFlavor(ref); }));
  ctx.PrintObject(f);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_RETURN_IF_ERROR(ctx.api().DeleteFlavor(ref));
  PrintDeleted(ctx, "flavor", ref);
  return OkStatus();
}

}  // namespace

void AddFlavorCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("flavor", "VM sizes");
  {
    auto req = std::make_shared<api::CreateFlavorRequest>();
    g.AddCommand("create", "create a flavor (admin)")
        .Arg("NAME", &req->name, "the flavor's name")
        .Option("--vcpus", &req->vcpus, "N", "virtual CPUs", 1, api::kMaxVcpus).Required()
        .Option("--memory-mib", &req->memory_mib, "N", "memory in MiB", 1, api::kMaxMemoryMib)
        .Required()
        .Option("--disk-gib", &req->disk_gib, "N", "root disk in GiB", 0, api::kMaxDiskGib)
        .Required()
        .Option("--description", &req->description, "TEXT", "free text")
        .Option("--required-traits", &req->required_traits, "T,...",
                "host traits a VM of this flavor needs")
        .Option("--forbidden-traits", &req->forbidden_traits, "T,...",
                "host traits a VM of this flavor must avoid")
        .Run([req](Context& ctx) { return Create(ctx, *req); });
  }
  g.AddCommand("list", "list flavors").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a flavor")
        .Arg("ID|NAME", ref.get(), "the flavor")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a flavor (admin)")
        .Arg("ID|NAME", ref.get(), "the flavor")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
}

}  // namespace govpool::cli
