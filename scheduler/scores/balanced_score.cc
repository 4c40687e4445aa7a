// Score "balanced": prefer hosts whose resource shares stay even after the placement
// (1 - (dominant share - smallest share)), so no host runs out of memory with idle vCPUs or
// the reverse (stranded capacity). Dominant Resource Fairness applied to hosts.
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class BalancedScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "balanced"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    double lo = 1.0, hi = 0.0;
    int dims = 0;
    for (int d = 0; d < 3; ++d) {
      double s = ShareAfter(ctx, view, d);
      if (s < 0) continue;
      lo = std::min(lo, s);
      hi = std::max(hi, s);
      ++dims;
    }
    return dims == 0 ? 1.0 : 1.0 - (hi - lo);
  }
};

}  // namespace

std::unique_ptr<Plugin> NewBalancedScore() { return std::make_unique<BalancedScore>(); }

}  // namespace govpool::scheduler
