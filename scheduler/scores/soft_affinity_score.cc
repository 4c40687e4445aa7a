// Score "soft_affinity": for soft affinity groups (group_hard == false), prefer hosts that
// already run members: n / (n + 1) for n members on the host, 0 for other requests.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class SoftAffinityScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "soft_affinity"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    const PlacementRequest& r = *ctx.request;
    if (r.group_hard || r.group_policy != GroupPolicy::kAffinity) return 0.0;
    double n = static_cast<double>(view.group_members);
    return n / (n + 1.0);
  }
};

}  // namespace

std::unique_ptr<ScorePlugin> NewSoftAffinityScore() {
  return std::make_unique<SoftAffinityScore>();
}

}  // namespace govpool::scheduler
