// Filter "pool": a request naming a pool (availability zone) only lands in that pool. The
// scheduler also uses this to scan only that pool's part of the host index.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class PoolFilter final : public FilterPlugin {
 public:
  bool ClassLevel() const override { return true; }
  std::string_view Name() const override { return "pool"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    if (ctx.pool_id == -1) return nullptr;
    return view.host->pool_id == ctx.pool_id ? nullptr : "wrong_pool";
  }
};

}  // namespace

std::unique_ptr<Plugin> NewPoolFilter() { return std::make_unique<PoolFilter>(); }

}  // namespace govpool::scheduler
