// The plugin registry: the single list of built-in plugins and their names. Explicit factories
// rather than static self-registration, because a static library drops unreferenced objects.
// Adding a plugin: declare its factory below and add one line to kBuiltins (docs/scheduler.md,
// "Adding a plugin").
#include "scheduler/registry.h"

namespace govpool::scheduler {

// Factories, one per plugin file.
std::unique_ptr<Plugin> NewStatusFilter();       // filters/status_filter.cc
std::unique_ptr<Plugin> NewPoolFilter();         // filters/pool_filter.cc
std::unique_ptr<Plugin> NewDepartmentFilter();   // filters/department_filter.cc
std::unique_ptr<Plugin> NewTraitsFilter();       // filters/traits_filter.cc
std::unique_ptr<Plugin> NewStorageFilter();      // filters/storage_filter.cc
std::unique_ptr<Plugin> NewAggregateFilter();    // filters/aggregate_filter.cc
std::unique_ptr<Plugin> NewMaxInstancesFilter(); // filters/max_instances_filter.cc
std::unique_ptr<Plugin> NewCapacityPlugin();     // reservers/capacity_reserver.cc
std::unique_ptr<Plugin> NewServerGroupPlugin();  // reservers/server_group_reserver.cc
std::unique_ptr<Plugin> NewNumaPlugin();         // reservers/numa_reserver.cc
std::unique_ptr<Plugin> NewBinpackScore();       // scores/binpack_score.cc
std::unique_ptr<Plugin> NewSpreadScore();        // scores/spread_score.cc
std::unique_ptr<Plugin> NewBalancedScore();      // scores/balanced_score.cc
std::unique_ptr<Plugin> NewSoftAffinityScore();  // scores/soft_affinity_score.cc
std::unique_ptr<Plugin> NewSoftAntiAffinityScore();  // scores/soft_anti_affinity_score.cc

namespace {

struct Builtin {
  const char* name;
  std::unique_ptr<Plugin> (*factory)();
};

// The order is each phase's default order. Filters: class-level ones first (one verdict per
// host class), then capacity (whose memory check the free-memory index answers without
// visiting hosts), then the rest. Reservers: capacity, server_group, numa. Scores: any order
// (they are summed).
constexpr Builtin kBuiltins[] = {
    {"status", NewStatusFilter},
    {"pool", NewPoolFilter},
    {"department", NewDepartmentFilter},
    {"traits", NewTraitsFilter},
    {"storage", NewStorageFilter},
    {"capacity", NewCapacityPlugin},  // filter + reserver
    {"aggregate", NewAggregateFilter},
    {"server_group", NewServerGroupPlugin},  // filter + reserver
    {"max_instances", NewMaxInstancesFilter},
    {"numa", NewNumaPlugin},  // filter + reserver
    {"binpack", NewBinpackScore},
    {"spread", NewSpreadScore},
    {"balanced", NewBalancedScore},
    {"soft_affinity", NewSoftAffinityScore},
    {"soft_anti_affinity", NewSoftAntiAffinityScore},
};

}  // namespace

const Registry& Registry::Builtin() {
  static const Registry* registry = [] {
    auto* r = new Registry;
    for (const auto& b : kBuiltins) r->entries_.emplace_back(b.name, b.factory);
    return r;
  }();
  return *registry;
}

Status Registry::Add(std::string name, Factory factory) {
  for (const auto& [n, f] : entries_) {
    if (n == name) return InvalidArgument("scheduler plugin " + name + " registered twice");
  }
  entries_.emplace_back(std::move(name), std::move(factory));
  return OkStatus();
}

std::unique_ptr<Plugin> Registry::New(std::string_view name) const {
  for (const auto& [n, factory] : entries_) {
    if (n == name) return factory();
  }
  return nullptr;
}

std::vector<std::string> Registry::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [n, f] : entries_) names.push_back(n);
  return names;
}

}  // namespace govpool::scheduler
