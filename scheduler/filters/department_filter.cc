// Filter "department": isolation for classified workloads, both ways.
//  - A host with dedicated_departments accepts only VMs of those departments
//    ("dedicated_host"); shared hosts accept everyone.
//  - A request with allowed_pools (its department is confined) only lands in those pools
//    ("pool_not_allowed").
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class DepartmentFilter final : public FilterPlugin {
 public:
  bool ClassLevel() const override { return true; }
  std::string_view Name() const override { return "department"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    const auto& dedicated = view.host->spec.dedicated_departments;
    if (!dedicated.empty() &&
        std::find(dedicated.begin(), dedicated.end(), ctx.request->department_id) ==
            dedicated.end()) {
      return "dedicated_host";
    }
    if (ctx.confined && !std::binary_search(ctx.allowed_pool_ids.begin(),
                                            ctx.allowed_pool_ids.end(), view.host->pool_id)) {
      return "pool_not_allowed";
    }
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewDepartmentFilter() {
  return std::make_unique<DepartmentFilter>();
}

}  // namespace govpool::scheduler
