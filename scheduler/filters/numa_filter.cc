// Filter "numa": the VM must fit the host's NUMA cells: inside one cell when one has room for
// all its vCPUs and memory, else across the fewest cells ("numa_no_fit"). The same planner
// (PlanNuma, numa.cc) later chooses the cells the assignment records.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class NumaFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "numa"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const Resources& r = ctx.request->per_vm;
    return PlanNuma(view, r.vcpus, r.memory_mib, nullptr) ? nullptr : "numa_no_fit";
  }
};

}  // namespace

std::unique_ptr<FilterPlugin> NewNumaFilter() { return std::make_unique<NumaFilter>(); }

}  // namespace govpool::scheduler
