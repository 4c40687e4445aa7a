// Plugin registry: the single list of built-in plugins and their names. Explicit factories
// rather than static self-registration, because a static library drops unreferenced objects.
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

struct FilterEntry {
  const char* name;
  std::unique_ptr<FilterPlugin> (*factory)();
};
struct ScoreEntry {
  const char* name;
  std::unique_ptr<ScorePlugin> (*factory)();
};

// Default order: class-level filters (one verdict per host class), then capacity (whose
// memory check the free-memory index answers without visiting hosts), then the rest.
constexpr FilterEntry kFilters[] = {
    {"status", NewStatusFilter},
    {"pool", NewPoolFilter},
    {"department", NewDepartmentFilter},
    {"traits", NewTraitsFilter},
    {"capacity", NewCapacityFilter},
    {"aggregate", NewAggregateFilter},
    {"server_group", NewServerGroupFilter},
    {"max_instances", NewMaxInstancesFilter},
    {"numa", NewNumaFilter},
};
constexpr ScoreEntry kScores[] = {
    {"binpack", NewBinpackScore},
    {"spread", NewSpreadScore},
    {"balanced", NewBalancedScore},
    {"soft_affinity", NewSoftAffinityScore},
    {"soft_anti_affinity", NewSoftAntiAffinityScore},
};

}  // namespace

const std::vector<std::string>& BuiltinFilterNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (const auto& e : kFilters) v->emplace_back(e.name);
    return v;
  }();
  return *names;
}

const std::vector<std::string>& BuiltinScoreNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (const auto& e : kScores) v->emplace_back(e.name);
    return v;
  }();
  return *names;
}

std::unique_ptr<FilterPlugin> NewFilter(std::string_view name) {
  for (const auto& e : kFilters) {
    if (name == e.name) return e.factory();
  }
  return nullptr;
}

std::unique_ptr<ScorePlugin> NewScore(std::string_view name) {
  for (const auto& e : kScores) {
    if (name == e.name) return e.factory();
  }
  return nullptr;
}

double ShareAfter(const RequestContext& ctx, const HostView& host, int dim) {
  std::int64_t limit = 0, used = 0, want = 0;
  const Resources& r = ctx.request->per_vm;
  switch (dim) {
    case 0: limit = host.host->limit.vcpus; used = host.used.vcpus; want = r.vcpus; break;
    case 1:
      limit = host.host->limit.memory_mib; used = host.used.memory_mib; want = r.memory_mib;
      break;
    default:
      limit = host.host->limit.disk_gib; used = host.used.disk_gib; want = r.disk_gib;
      break;
  }
  if (limit <= 0) return want > 0 ? 1.0 : -1.0;
  double share = static_cast<double>(used + want) / static_cast<double>(limit);
  return std::clamp(share, 0.0, 1.0);
}

}  // namespace govpool::scheduler
