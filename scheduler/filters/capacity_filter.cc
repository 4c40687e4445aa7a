// Filter "capacity": used + request <= floor(capacity x ratio) for vCPU, memory and disk
// ("insufficient_vcpu", "insufficient_memory", "insufficient_disk"; memory is checked first
// because it is the resource that runs out first in practice, so explanations name it).
// The scheduler also uses this filter to start its index scan at hosts with enough free memory.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class CapacityFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "capacity"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const Resources& limit = view.host->limit;
    const Resources& want = ctx.demand;
    if (view.used.memory_mib + want.memory_mib > limit.memory_mib) return "insufficient_memory";
    if (view.used.vcpus + want.vcpus > limit.vcpus) return "insufficient_vcpu";
    if (view.used.disk_gib + want.disk_gib > limit.disk_gib) return "insufficient_disk";
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<FilterPlugin> NewCapacityFilter() { return std::make_unique<CapacityFilter>(); }

}  // namespace govpool::scheduler
