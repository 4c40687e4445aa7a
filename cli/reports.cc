// govpoolctl report consolidation: per pool, the hosts the current VMs occupy and how many they
// would need packed by the scheduler (GET /v1/reports/consolidation, system-admin).
#include <memory>

#include "cli/commands.h"
#include "cli/table.h"

namespace govpool::cli {
namespace {

Status Consolidation(Context& ctx) {
  GP_ASSIGN_OR_RETURN(api::ConsolidationReport report, ctx.Retried([&] { return ctx.api().GetConsolidationReport(); }));
  if (ctx.json()) {
    ctx.out() << api::Encode(report) << "\n";
    return OkStatus();
  }
  std::vector<Row> rows;
  for (const api::PoolConsolidation& p : report.pools) {
    rows.push_back({p.pool.empty() ? "(none)" : p.pool, std::to_string(p.hosts), std::to_string(p.hosts_in_use),
                    std::to_string(p.hosts_needed), std::to_string(p.hosts_freeable), std::to_string(p.vms),
                    std::to_string(p.vms_unplaced)});
  }
  ctx.out() << FormatTable({"POOL", "HOSTS", "IN_USE", "NEEDED", "FREEABLE", "VMS", "UNPLACED"}, rows);
  return OkStatus();
}

}  // namespace

void AddReportCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("report", "reports on the cloud's use (system-admin)");
  g.AddCommand("consolidation",
               "per pool: hosts in use, and how many the same VMs would need packed by the scheduler")
      .Run([](Context& ctx) { return Consolidation(ctx); });
}

}  // namespace govpool::cli
