// Plugin "capacity": vCPU, memory and disk.
//  - Filter: used + request <= floor(capacity x ratio) in each dimension ("insufficient_memory",
//    "insufficient_vcpu", "insufficient_disk"; memory is checked first because it is the
//    resource that runs out first in practice, so explanations name it). The request counts
//    ctx.together times (hard affinity: the first VM's host must take them all). It declares
//    that bound on free memory, so the engine starts its index scan at hosts with enough room
//    and counts the others in refusals without visiting them.
//  - Reserve: the VM consumes its per_vm resources (Assignment::resources).
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class CapacityPlugin final : public FilterPlugin, public ReservePlugin {
 public:
  std::string_view Name() const override { return "capacity"; }

  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const Resources& limit = view.host->limit;
    const Resources& r = ctx.request->per_vm;
    const std::int64_t n = ctx.together;
    if (view.used.memory_mib + r.memory_mib * n > limit.memory_mib) return "insufficient_memory";
    if (view.used.vcpus + r.vcpus * n > limit.vcpus) return "insufficient_vcpu";
    if (view.used.disk_gib + r.disk_gib * n > limit.disk_gib) return "insufficient_disk";
    return nullptr;
  }

  std::optional<MemoryBound> FreeMemoryBound(const RequestContext& ctx) const override {
    return MemoryBound{ctx.request->per_vm.memory_mib * ctx.together, "insufficient_memory"};
  }

  const char* Reserve(const RequestContext& ctx, const HostView& view, CycleState& cycle,
                      Assignment& vm, Claim& claim) const override {
    const Resources& r = ctx.request->per_vm;
    HostDelta& d = cycle.Delta(*view.host);
    d.used.vcpus += r.vcpus;
    d.used.memory_mib += r.memory_mib;
    d.used.disk_gib += r.disk_gib;
    vm.resources = r;
    claim = {true, view.host->index};
    return nullptr;
  }

  void Unreserve(CycleState& cycle, const Assignment& vm, Claim& claim) const override {
    if (!claim.held) return;
    claim.held = false;
    HostDelta* d = cycle.FindDelta(claim.host);
    if (d == nullptr) return;
    d->used.vcpus -= vm.resources.vcpus;
    d->used.memory_mib -= vm.resources.memory_mib;
    d->used.disk_gib -= vm.resources.disk_gib;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewCapacityPlugin() { return std::make_unique<CapacityPlugin>(); }

}  // namespace govpool::scheduler
