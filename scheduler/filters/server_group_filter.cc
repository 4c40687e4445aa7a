// Filter "server_group": hard server-group policies (request.group_hard).
//  - anti-affinity: no two members on one host ("anti_affinity").
//  - affinity: once the group has a member, every member goes to a host that already has one
//    ("affinity"). The first member may go anywhere (the scheduler then asks its host to have
//    room for all VMs of the request).
// Soft policies are scores (soft_affinity, soft_anti_affinity), not filters.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class ServerGroupFilter final : public FilterPlugin {
 public:
  std::string_view Name() const override { return "server_group"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const PlacementRequest& r = *ctx.request;
    if (!r.group_hard) return nullptr;
    switch (r.group_policy) {
      case GroupPolicy::kNone:
        return nullptr;
      case GroupPolicy::kAntiAffinity:
        return view.group_members > 0 ? "anti_affinity" : nullptr;
      case GroupPolicy::kAffinity:
        return ctx.group_members_total > 0 && view.group_members == 0 ? "affinity" : nullptr;
    }
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<FilterPlugin> NewServerGroupFilter() {
  return std::make_unique<ServerGroupFilter>();
}

}  // namespace govpool::scheduler
