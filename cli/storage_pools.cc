// govpoolctl storage-pool ...: the Ceph pools volumes and images go to (admins write; everyone
// reads). The server resolves a pool's name for `show`; updates and deletes take the id, so
// names are resolved here.
#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

std::string Bool(bool b) { return b ? "true" : "false"; }

// Bytes as whole GiB (rounded down), for capacity columns.
std::string Gib(std::int64_t bytes) { return std::to_string(bytes / (1024LL * 1024 * 1024)); }

// A ratio as a percentage with one decimal ("12.5%"); "" before the first report.
std::string Percent(const api::StoragePool& p) {
  if (p.stats.reported_at_ms == 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", p.stats.used_ratio * 100);
  return buf;
}

std::string Ratio(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

const std::vector<Column<api::StoragePool>>& PoolColumns() {
  using P = api::StoragePool;
  static const std::vector<Column<P>> columns = {
      {"ID", [](const P& p) { return p.meta.id; }},
      {"NAME", [](const P& p) { return p.name; }},
      {"CLUSTER", [](const P& p) { return p.cluster; }},
      {"CEPH_POOL", [](const P& p) { return p.ceph_pool; }, true},
      {"TIERS", [](const P& p) { return JoinList(p.tiers); }},
      {"STATUS", [](const P& p) { return p.status; }},
      {"ENABLED", [](const P& p) { return Bool(p.enabled); }},
      {"USED", [](const P& p) { return Percent(p); }},
      {"CAPACITY_GIB", [](const P& p) { return Gib(p.stats.capacity_bytes); }},
      {"ALLOCATED_GIB", [](const P& p) { return std::to_string(p.allocated_gib); }},
      {"VOLUMES", [](const P& p) { return std::to_string(p.volumes); }},
      {"HOSTS", [](const P& p) { return std::to_string(p.hosts); }},
      {"PROVISIONING", [](const P& p) { return Ratio(p.provisioning_ratio); }, true},
      {"NEARFULL_AT", [](const P& p) { return Ratio(p.nearfull_ratio); }, true},
  };
  return columns;
}

struct CreateArgs {
  api::CreateStoragePoolRequest req;
  std::optional<double> provisioning_ratio;
  std::optional<double> nearfull_ratio;
};

Status Create(Context& ctx, CreateArgs args) {
  if (args.provisioning_ratio) args.req.provisioning_ratio = *args.provisioning_ratio;
  if (args.nearfull_ratio) args.req.nearfull_ratio = *args.nearfull_ratio;
  GP_ASSIGN_OR_RETURN(api::StoragePool p, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateStoragePool(args.req, w);
  }));
  ctx.PrintObject(p);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::StoragePool> items,
                      ctx.ListAll<api::StoragePool>(
                          [&](const api::PageQuery& q) { return ctx.api().ListStoragePools(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, PoolColumns());
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(api::StoragePool p, ctx.Retried([&] { return ctx.api().GetStoragePool(ref); }));
  ctx.PrintObject(p);
  return OkStatus();
}

struct UpdateArgs {
  std::string ref;
  bool enable = false;
  bool disable = false;
  api::PatchStoragePoolRequest req;
  std::optional<std::int64_t> if_match;
};

Status Update(Context& ctx, UpdateArgs args) {
  if (args.enable && args.disable) return UsageError("give --enable or --disable, not both");
  if (args.enable) args.req.enabled = true;
  if (args.disable) args.req.enabled = false;
  const api::PatchStoragePoolRequest& r = args.req;
  if (!r.enabled && !r.tiers && !r.provisioning_ratio && !r.nearfull_ratio) {
    return UsageError("nothing to change: give --enable, --disable, --tiers, --provisioning-ratio "
                      "or --nearfull-ratio");
  }
  GP_ASSIGN_OR_RETURN(std::string id, ctx.StoragePoolId(args.ref));
  GP_ASSIGN_OR_RETURN(api::StoragePool p, ctx.api().PatchStoragePool(id, r, IfMatch(args.if_match)));
  ctx.PrintObject(p);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.StoragePoolId(ref));
  GP_RETURN_IF_ERROR(ctx.api().DeleteStoragePool(id));
  PrintDeleted(ctx, "storage-pool", id);
  return OkStatus();
}

}  // namespace

void AddStoragePoolCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("storage-pool", "Ceph pools that volumes and images go to");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "declare a Ceph pool govpool may use (admin)")
        .Arg("NAME", &a->req.name, "the pool's name in govpool")
        .Option("--cluster", &a->req.cluster, "CLUSTER",
                "the Ceph cluster's name, as agents are configured with it")
        .Required()
        .Option("--ceph-pool", &a->req.ceph_pool, "POOL", "the pool's name inside Ceph (default: NAME)")
        .Option("--tiers", &a->req.tiers, "T,...", "tiers of the pool, e.g. ssd")
        .Option("--provisioning-ratio", &a->provisioning_ratio, "X",
                "thin provisioning: volume sizes may add up to capacity x X (0.1-64, default 1)",
                0.1, api::kMaxAllocationRatio)
        .Option("--nearfull-ratio", &a->nearfull_ratio, "X",
                "take no new volumes at or above this used ratio (0.5-0.99, default 0.85)", 0.5, 0.99)
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  g.AddCommand("list", "list storage pools with their status, usage and allocation").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show a storage pool with the stats its agents reported")
        .Arg("ID|NAME", ref.get(), "the storage pool")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto a = std::make_shared<UpdateArgs>();
    api::PatchStoragePoolRequest* r = &a->req;
    Command& c =
        g.AddCommand("update", "change a storage pool (admin)")
            .Arg("ID|NAME", &a->ref, "the storage pool")
            .Flag("--enable", &a->enable, "accept new volumes")
            .Flag("--disable", &a->disable, "accept no new volumes")
            .Option("--tiers", &r->tiers, "T,...", "replace the tiers")
            .Option("--provisioning-ratio", &r->provisioning_ratio, "X",
                    "thin provisioning ratio (0.1-64)", 0.1, api::kMaxAllocationRatio)
            .Option("--nearfull-ratio", &r->nearfull_ratio, "X", "nearfull ratio (0.5-0.99)", 0.5, 0.99);
    IfMatchOption(c, &a->if_match).Run([a](Context& ctx) { return Update(ctx, *a); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete a storage pool without volumes or images (admin)")
        .Arg("ID|NAME", ref.get(), "the storage pool")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
}

}  // namespace govpool::cli
