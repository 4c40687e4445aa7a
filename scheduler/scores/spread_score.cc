// Score "spread": prefer the emptiest host after the placement (1 - mean share), for
// failure-domain spreading and headroom. It leans to the emptiest end of the free-memory order:
// when its weight exceeds binpack's, the scheduler visits hosts emptiest-first.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class SpreadScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "spread"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    return 1.0 - MeanShareAfter(ctx, view);
  }
  double FreeMemoryLean() const override { return -1.0; }
};

}  // namespace

std::unique_ptr<Plugin> NewSpreadScore() { return std::make_unique<SpreadScore>(); }

}  // namespace govpool::scheduler
