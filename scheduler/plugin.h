// Internal: the plugin framework. A filter rejects hosts a request cannot use and names why; a
// score rates feasible hosts in [0, 1] (higher is better) and the scheduler sums weight x score.
// One plugin per file under filters/ and scores/, registered by name in registry.cc. Plugins
// are stateless and immutable after construction, so they are safe to share.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/host_state.h"

namespace govpool::scheduler {

class FilterPlugin {
 public:
  virtual ~FilterPlugin() = default;
  virtual std::string_view Name() const = 0;
  // nullptr when `host` passes, else the stable reason reported in explanations (a string
  // literal: callers compare and keep the pointer).
  virtual const char* Filter(const RequestContext& ctx, const HostView& host) const = 0;
  // True when the outcome depends only on the host's class: pool, status flags, traits and
  // dedicated departments (HostState::class_id). The scheduler then evaluates it once per
  // class and skips or counts whole classes at once.
  virtual bool ClassLevel() const { return false; }
};

class ScorePlugin {
 public:
  virtual ~ScorePlugin() = default;
  virtual std::string_view Name() const = 0;
  // Rating of a feasible host for the request, in [0, 1].
  virtual double Score(const RequestContext& ctx, const HostView& host) const = 0;
};

// Built-ins, in the default evaluation order. Null for unknown names.
const std::vector<std::string>& BuiltinFilterNames();
const std::vector<std::string>& BuiltinScoreNames();
std::unique_ptr<FilterPlugin> NewFilter(std::string_view name);
std::unique_ptr<ScorePlugin> NewScore(std::string_view name);

// Factories, one per plugin file.
std::unique_ptr<FilterPlugin> NewStatusFilter();
std::unique_ptr<FilterPlugin> NewPoolFilter();
std::unique_ptr<FilterPlugin> NewDepartmentFilter();
std::unique_ptr<FilterPlugin> NewAggregateFilter();
std::unique_ptr<FilterPlugin> NewTraitsFilter();
std::unique_ptr<FilterPlugin> NewServerGroupFilter();
std::unique_ptr<FilterPlugin> NewMaxInstancesFilter();
std::unique_ptr<FilterPlugin> NewCapacityFilter();
std::unique_ptr<FilterPlugin> NewNumaFilter();
std::unique_ptr<ScorePlugin> NewBinpackScore();
std::unique_ptr<ScorePlugin> NewSpreadScore();
std::unique_ptr<ScorePlugin> NewBalancedScore();
std::unique_ptr<ScorePlugin> NewSoftAffinityScore();
std::unique_ptr<ScorePlugin> NewSoftAntiAffinityScore();

// Post-placement utilisation of `dim` (0 cpu, 1 memory, 2 disk) in [0, 1]; -1 when the host
// has no capacity in that dimension and the request asks none of it (dimension ignored).
double ShareAfter(const RequestContext& ctx, const HostView& host, int dim);

}  // namespace govpool::scheduler
