// govpoolctl event list: what agents noticed and did (e.g. a domain restored after it was
// destroyed behind govpool's back), newest first. The controller keeps the last 10,000.
#include <chrono>
#include <memory>

#include "cli/commands.h"
#include "common/clock.h"

namespace govpool::cli {
namespace {

std::vector<Column<api::Event>> EventColumns(Context& ctx) {
  using E = api::Event;
  return {
      {"AT",
       [](const E& e) {
         return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(e.at_ms)));
       }},
      {"HOST", [&ctx](const E& e) { return ctx.HostName(e.host_id); }},
      {"HOST_ID", [](const E& e) { return e.host_id; }, true},
      {"VM", [&ctx](const E& e) { return ctx.VmName(e.vm_id); }},
      {"VM_ID", [](const E& e) { return e.vm_id; }, true},
      {"DEPARTMENT_ID", [](const E& e) { return e.department_id; }, true},
      {"KIND", [](const E& e) { return e.kind; }},
      {"MESSAGE", [](const E& e) { return e.message; }},
  };
}

struct ListArgs {
  std::string host;
  std::string vm;
  std::int64_t limit = 0;
};

Status List(Context& ctx, const ListArgs& args) {
  api::EventQuery query;
  query.limit = args.limit;
  if (!args.host.empty()) {
    GP_ASSIGN_OR_RETURN(query.host_id, ctx.HostId(args.host));
  }
  if (!args.vm.empty()) {
    GP_ASSIGN_OR_RETURN(query.vm_id, ctx.VmId(args.vm));
  }
  GP_ASSIGN_OR_RETURN(api::ListPage<api::Event> page,
                      ctx.Retried([&] { return ctx.api().ListEvents(query); }));
  ctx.PrintList(page.items, EventColumns(ctx));
  return OkStatus();
}

}  // namespace

void AddEventCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("event", "what agents noticed and did");
  auto a = std::make_shared<ListArgs>();
  g.AddCommand("list", "recent events, newest first")
      .Option("--host", &a->host, "ID|NAME", "only this host's events (admin)")
      .Option("--vm", &a->vm, "ID|NAME", "only this VM's events")
      .Option("--limit", &a->limit, "N", "at most N events (1-1000; default: the server's)", 1, 1000)
      .Run([a](Context& ctx) { return List(ctx, *a); });
}

}  // namespace govpool::cli
