// Score "spread": prefer the emptiest host after the placement (1 - mean share), for
// failure-domain spreading and headroom. When its weight exceeds binpack's, the scheduler
// visits hosts emptiest-first.
#include "scheduler/plugin.h"

namespace govpool::scheduler {

double MeanShareAfter(const RequestContext& ctx, const HostView& view);  // binpack_score.cc

namespace {

class SpreadScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "spread"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    return 1.0 - MeanShareAfter(ctx, view);
  }
};

}  // namespace

std::unique_ptr<ScorePlugin> NewSpreadScore() { return std::make_unique<SpreadScore>(); }

}  // namespace govpool::scheduler
