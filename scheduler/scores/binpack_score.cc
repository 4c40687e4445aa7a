// Score "binpack" (the default): prefer the host that is fullest after the placement (mean of
// its vCPU, memory and disk shares), so VMs consolidate and whole hosts stay free for large VMs
// or power-down.
#include "scheduler/plugin.h"

namespace govpool::scheduler {

double MeanShareAfter(const RequestContext& ctx, const HostView& view) {
  double sum = 0;
  int dims = 0;
  for (int d = 0; d < 3; ++d) {
    double s = ShareAfter(ctx, view, d);
    if (s < 0) continue;
    sum += s;
    ++dims;
  }
  return dims == 0 ? 0.0 : sum / dims;
}

namespace {

class BinpackScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "binpack"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    return MeanShareAfter(ctx, view);
  }
};

}  // namespace

std::unique_ptr<ScorePlugin> NewBinpackScore() { return std::make_unique<BinpackScore>(); }

}  // namespace govpool::scheduler
