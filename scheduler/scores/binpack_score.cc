// Score "binpack" (the default): prefer the host that is fullest after the placement (mean of
// its vCPU, memory and disk shares), so VMs consolidate and whole hosts stay free for large VMs
// or power-down. It leans to the tightest end of the free-memory order.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class BinpackScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "binpack"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    return MeanShareAfter(ctx, view);
  }
  double FreeMemoryLean() const override { return 1.0; }
};

}  // namespace

std::unique_ptr<Plugin> NewBinpackScore() { return std::make_unique<BinpackScore>(); }

}  // namespace govpool::scheduler
