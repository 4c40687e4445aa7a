// Score "soft_affinity": for soft affinity groups (group_hard == false), prefer hosts that
// already run members: n / (n + 1) for n members on the host, 0 for other requests. Weight
// kDefaultSoftGroupWeight unless configured. The members' hosts are nominated, so they are
// examined wherever the free-memory order puts them.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

bool SoftAffinity(const PlacementRequest& r) {
  return !r.group_hard && r.group_policy == GroupPolicy::kAffinity;
}

class SoftAffinityScore final : public ScorePlugin {
 public:
  std::string_view Name() const override { return "soft_affinity"; }
  double Score(const RequestContext& ctx, const HostView& view) const override {
    if (!SoftAffinity(*ctx.request)) return 0.0;
    double n = static_cast<double>(view.group_members);
    return n / (n + 1.0);
  }
  double DefaultWeight() const override { return kDefaultSoftGroupWeight; }
  void Nominate(const RequestContext& ctx, const CycleState& cycle,
                std::vector<std::uint32_t>& hosts) const override {
    if (!SoftAffinity(*ctx.request)) return;
    for (const auto& [slot, n] : cycle.members()) hosts.push_back(slot);
  }
};

}  // namespace

std::unique_ptr<Plugin> NewSoftAffinityScore() {
  return std::make_unique<SoftAffinityScore>();
}

}  // namespace govpool::scheduler
