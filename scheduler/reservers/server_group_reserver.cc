// Plugin "server_group": server-group membership and the hard policies (request.group_hard).
//  - PreFilter: counts the group's members so far (ctx.group_members_total). For the first VM
//    of a hard affinity group without members, the host must take the whole request
//    (ctx.together = count), because the others must follow it.
//  - Filter: hard anti-affinity, no two members on one host ("anti_affinity"); hard affinity,
//    once the group has a member, every member goes to a host that already has one
//    ("affinity"). Hard affinity with members admits only the members' hosts, so it names them
//    (OnlyHosts) and the engine examines just those.
//  - Reserve: each placed VM of a group request becomes a member on its host, so the next VM
//    of the request (and the soft scores) see it. The request's existing members are resolved
//    by the engine from PlacementRequest::group_member_hosts.
// Soft policies are scores (soft_affinity, soft_anti_affinity), not filters.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

bool HardAffinity(const PlacementRequest& r) {
  return r.group_hard && r.group_policy == GroupPolicy::kAffinity;
}

class ServerGroupPlugin final : public FilterPlugin, public ReservePlugin {
 public:
  std::string_view Name() const override { return "server_group"; }

  void PreFilter(RequestContext& ctx, const CycleState& cycle) const override {
    ctx.group_members_total = cycle.members_total();
    if (HardAffinity(*ctx.request) && ctx.group_members_total == 0) {
      ctx.together = ctx.request->count;
    }
  }

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

  bool OnlyHosts(const RequestContext& ctx, const CycleState& cycle,
                 std::vector<std::uint32_t>& hosts) const override {
    if (!HardAffinity(*ctx.request) || ctx.group_members_total == 0) return false;
    for (const auto& [slot, n] : cycle.members()) hosts.push_back(slot);
    return true;
  }

  const char* Reserve(const RequestContext& ctx, const HostView& view, CycleState& cycle,
                      Assignment& /*vm*/, Claim& claim) const override {
    if (ctx.request->group_policy == GroupPolicy::kNone) return nullptr;
    cycle.AddMember(view.host->index);
    claim = {true, view.host->index};
    return nullptr;
  }

  void Unreserve(CycleState& cycle, const Assignment& /*vm*/, Claim& claim) const override {
    if (!claim.held) return;
    claim.held = false;
    cycle.RemoveMember(claim.host);
  }
};

}  // namespace

std::unique_ptr<Plugin> NewServerGroupPlugin() { return std::make_unique<ServerGroupPlugin>(); }

}  // namespace govpool::scheduler
