// Plugin "numa": NUMA cells (HostSpec::numa_cells; hosts without cells are one implicit cell).
//  - Filter: the VM must fit the host's cells: inside one cell when one has room for all its
//    vCPUs and memory, else across the fewest cells ("numa_no_fit").
//  - Reserve: the cells the same planner (PlanNuma, numa.cc) chooses, recorded per cell in
//    Assignment::numa. When the VM fits no set of cells (possible only with the numa filter
//    off) it claims no cells rather than refusing: the filter is what enforces cells.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class NumaPlugin final : public FilterPlugin, public ReservePlugin {
 public:
  std::string_view Name() const override { return "numa"; }

  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const Resources& r = ctx.request->per_vm;
    return PlanNuma(view, r.vcpus, r.memory_mib, nullptr) ? nullptr : "numa_no_fit";
  }

  const char* Reserve(const RequestContext& ctx, const HostView& view, CycleState& cycle,
                      Assignment& vm, Claim& claim) const override {
    const HostState& host = *view.host;
    if (host.cells.empty()) return nullptr;
    std::vector<CellShare> shares;
    const Resources& r = ctx.request->per_vm;
    if (!PlanNuma(view, r.vcpus, r.memory_mib, &shares)) return nullptr;
    HostDelta& d = cycle.Delta(host);
    vm.numa.clear();
    for (const CellShare& s : shares) {
      vm.numa.push_back({host.cells[s.cell].id, Resources{s.cpus, s.memory_mib, 0}});
      d.cells[s.cell].cpus += s.cpus;
      d.cells[s.cell].memory_mib += s.memory_mib;
    }
    claim = {true, host.index};
    return nullptr;
  }

  void Unreserve(CycleState& cycle, const Assignment& vm, Claim& claim) const override {
    if (!claim.held) return;
    claim.held = false;
    HostDelta* d = cycle.FindDelta(claim.host);
    if (d == nullptr) return;
    const std::vector<CellState>& cells = d->host->cells;
    for (const auto& [cell_id, share] : vm.numa) {
      for (std::size_t i = 0; i < cells.size() && i < d->cells.size(); ++i) {
        if (cells[i].id != cell_id) continue;
        d->cells[i].cpus -= share.vcpus;
        d->cells[i].memory_mib -= share.memory_mib;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Plugin> NewNumaPlugin() { return std::make_unique<NumaPlugin>(); }

}  // namespace govpool::scheduler
