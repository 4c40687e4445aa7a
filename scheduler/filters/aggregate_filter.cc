// Filter "aggregate": the host must belong to every aggregate the request requires
// ("missing_aggregate").
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class AggregateFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "aggregate"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    if (ctx.required_aggregate_unknown) return "missing_aggregate";
    const auto& have = view.host->aggregate_ids;
    if (!std::includes(have.begin(), have.end(), ctx.required_aggregate_ids.begin(),
                       ctx.required_aggregate_ids.end())) {
      return "missing_aggregate";
    }
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewAggregateFilter() { return std::make_unique<AggregateFilter>(); }

}  // namespace govpool::scheduler
