// Score "soft_anti_affinity": for soft anti-affinity groups (group_hard == false), prefer hosts
// with fewer members: 1 / (n + 1) for n members on the host (1 for other requests, so the
// score never changes their ranking). Weight kDefaultSoftGroupWeight unless configured.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class SoftAntiAffinityScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "soft_anti_affinity"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    const PlacementRequest& r = *ctx.request;
    if (r.group_hard || r.group_policy != GroupPolicy::kAntiAffinity) return 1.0;
    return 1.0 / (static_cast<double>(view.group_members) + 1.0);
  }
  double DefaultWeight() const override { return kDefaultSoftGroupWeight; }
};

}  // namespace

std::unique_ptr<Plugin> NewSoftAntiAffinityScore() {
  return std::make_unique<SoftAntiAffinityScore>();
}

}  // namespace govpool::scheduler
