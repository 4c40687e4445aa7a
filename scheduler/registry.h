// Internal: the plugin registry, name -> factory. Registry::Builtin() is the table in
// registry.cc (every plugin govpool ships); tests copy it and Add() their own plugins, then
// build a scheduler from it with CreateScheduler(). Thread-compatible value type.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "scheduler/plugin.h"
#include "scheduler/scheduler.h"

namespace govpool::scheduler {

class Registry {
 public:
  // Returns a new instance of the plugin (never null).
  using Factory = std::function<std::unique_ptr<Plugin>()>;

  // The built-in plugins, in registry.cc's order, which is each phase's default order.
  static const Registry& Builtin();

  // Registers `factory` under `name`, after every plugin already registered (its place in the
  // default order of the phases it implements). InvalidArgument if the name is taken.
  Status Add(std::string name, Factory factory);

  // A new instance of the plugin registered as `name`; null for unknown names.
  std::unique_ptr<Plugin> New(std::string_view name) const;

  // Registered names, in order.
  std::vector<std::string> Names() const;

 private:
  std::vector<std::pair<std::string, Factory>> entries_;
};

// Scheduler::Create(config) with the plugins of `registry` instead of the built-ins. Same
// errors, plus InvalidArgument for a plugin whose Name() differs from its registered name.
Result<std::unique_ptr<Scheduler>> CreateScheduler(const Config& config, const Registry& registry);

}  // namespace govpool::scheduler
