// Filter "storage": a VM whose disks live in a storage pool (PlacementRequest::storage_pool)
// only goes to a host whose agent reaches that pool (HostSpec::storage_pools):
// "storage_pool_unreachable". Pool ids are interned and part of the host class, so this is
// decided once per class.
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

constexpr const char* kUnreachable = "storage_pool_unreachable";

class StorageFilter final : public FilterPlugin {
 public:
  bool ClassLevel() const override { return true; }
  std::string_view Name() const override { return "storage"; }
  const char* Filter(const RequestContext& ctx, const HostView& view) const override {
    if (ctx.storage_pool_id == -1) return nullptr;
    const auto& reached = view.host->storage_pool_ids;
    return std::binary_search(reached.begin(), reached.end(), ctx.storage_pool_id) ? nullptr
                                                                                   : kUnreachable;
  }
  // "no host reaches storage pool p-1" when it rejected every host, else "3 hosts do not
  // reach storage pool p-1".
  std::string Explain(const RequestContext& ctx, const Explanation& ex) const override {
    auto it = ex.rejected.find(kUnreachable);
    if (it == ex.rejected.end() || it->second == 0) return {};
    const std::string& pool = ctx.request->storage_pool;
    if (it->second >= ex.hosts_total) return "no host reaches storage pool " + pool;
    return std::to_string(it->second) + (it->second == 1 ? " host does" : " hosts do") +
           " not reach storage pool " + pool;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewStorageFilter() { return std::make_unique<StorageFilter>(); }

}  // namespace govpool::scheduler
