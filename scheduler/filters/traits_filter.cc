// Filter "traits": the host must have every required trait ("missing_trait") and none of the
// forbidden ones ("forbidden_trait"). Traits are opaque strings such as "ssd", "gpu",
// "cpu:skylake".
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class TraitsFilter final : public FilterPlugin {
 public:
  bool ClassLevel() const override { return true; }
  std::string_view Name() const override { return "traits"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    if (ctx.required_trait_unknown) return "missing_trait";
    const auto& have = view.host->trait_ids;
    if (!std::includes(have.begin(), have.end(), ctx.required_trait_ids.begin(),
                       ctx.required_trait_ids.end())) {
      return "missing_trait";
    }
    for (std::int32_t t : ctx.forbidden_trait_ids) {
      if (std::binary_search(have.begin(), have.end(), t)) return "forbidden_trait";
    }
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewTraitsFilter() { return std::make_unique<TraitsFilter>(); }

}  // namespace govpool::scheduler
