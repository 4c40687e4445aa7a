// govpoolctl report consolidation: per pool, the hosts the current VMs occupy and how many they
// would need packed by the scheduler (GET /v1/reports/consolidation, system-admin).
// govpoolctl report utilisation: per department or pool, resource-hours allocated and used over
// a span, with a text chart of the CPU utilisation hour by hour (GET /v1/reports/utilisation).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

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

struct UtilisationArgs {
  api::UtilisationQuery query;
  bool csv = false;
};

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The CPU utilisation of each hour of the report's span (unset where the meter saw none).
std::vector<std::optional<double>> HourlyCpu(const api::UtilisationSeries& series, std::int64_t from_ms,
                                             std::int64_t to_ms) {
  constexpr std::int64_t kHour = 3'600'000;
  std::vector<std::optional<double>> out(static_cast<std::size_t>(std::max<std::int64_t>(0, (to_ms - from_ms) / kHour)));
  for (const api::UtilisationHour& h : series.hours) {
    const std::int64_t index = (h.hour_ms - from_ms) / kHour;
    if (h.hour_ms >= from_ms && index < static_cast<std::int64_t>(out.size())) {
      out[static_cast<std::size_t>(index)] = h.figures.cpu_utilisation;
    }
  }
  return out;
}

Status Utilisation(Context& ctx, const UtilisationArgs& args) {
  if (args.csv) {
    GP_ASSIGN_OR_RETURN(std::string csv, ctx.Retried([&] { return ctx.api().GetUtilisationCsv(args.query); }));
    ctx.out() << csv;
    return OkStatus();
  }
  GP_ASSIGN_OR_RETURN(api::UtilisationReport report,
                      ctx.Retried([&] { return ctx.api().GetUtilisationReport(args.query); }));
  if (ctx.json()) {
    ctx.out() << api::Encode(report) << "\n";
    return OkStatus();
  }
  const bool pools = report.group_by == "pool";
  std::vector<Row> rows;
  for (const api::UtilisationSeries& s : report.series) {
    const api::UtilisationFigures& t = s.total;
    const double avg_vms = t.sampled_hours > 0 ? t.vm_hours / t.sampled_hours : 0;
    Row row{s.name, Fixed(avg_vms, 1), Fixed(t.vcpu_hours_allocated, 2), Fixed(t.vcpu_hours_used, 2),
            Fixed(t.memory_gib_hours_allocated, 2), Fixed(t.memory_gib_hours_used, 2)};
    row.push_back(Fixed(pools ? t.vcpu_hours_capacity : t.disk_gib_hours_allocated, 2));
    row.push_back(Fixed(100 * t.cpu_utilisation, 0) + "%");
    row.push_back(Sparkline(HourlyCpu(s, report.from_ms, report.to_ms), 48));
    rows.push_back(std::move(row));
  }
  ctx.out() << "from " << TimeText(report.from_ms) << " to " << TimeText(report.to_ms)
            << (pools ? "; CPU% = used / capacity" : "; CPU% = used / allocated") << "\n";
  ctx.out() << FormatTable({pools ? "POOL" : "DEPARTMENT", "AVG_VMS", "VCPU_H", "VCPU_H_USED", "MEM_GIB_H",
                            "MEM_GIB_H_USED", pools ? "VCPU_H_CAPACITY" : "DISK_GIB_H", "CPU%", "CPU% BY HOUR"},
                           rows);
  return OkStatus();
}

}  // namespace

void AddReportCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("report", "reports on the cloud's use and how well it is used");
  g.AddCommand("consolidation",
               "per pool: hosts in use, and how many the same VMs would need packed by the scheduler")
      .Run([](Context& ctx) { return Consolidation(ctx); });
  auto u = std::make_shared<UtilisationArgs>();
  g.AddCommand("utilisation",
               "per department or pool: vCPU, memory and disk hours allocated and used, with the CPU "
               "utilisation hour by hour (departments' roles see their own)")
      .Option("--group-by", &u->query.group_by, "department|pool", "one row per department (default) or pool")
      .Option("--from", &u->query.from, "TIME", "the span's start: RFC 3339 or YYYY-MM-DD (default: 24 hours ago)")
      .Option("--to", &u->query.to, "TIME", "its end (default: the end of the current hour)")
      .Flag("--csv", &u->csv, "CSV, one line per row and hour, then the row's total")
      .Run([u](Context& ctx) { return Utilisation(ctx, *u); });
}

}  // namespace govpool::cli
