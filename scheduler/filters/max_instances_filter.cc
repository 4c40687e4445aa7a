// Filter "max_instances": a host with max_instances > 0 holds at most that many VMs
// ("max_instances"), counting the ctx.together VMs that must land on it.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class MaxInstancesFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "max_instances"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    std::int64_t max = view.host->max_instances;
    if (max > 0 && view.instances + ctx.together > max) return "max_instances";
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewMaxInstancesFilter() {
  return std::make_unique<MaxInstancesFilter>();
}

}  // namespace govpool::scheduler
