// Filter "status": only hosts that are up, enabled and not in maintenance take new VMs.
#include "scheduler/plugin.h"

namespace govpool::scheduler {
namespace {

class StatusFilter final : public FilterPlugin {
 public:
  bool ClassLevel() const override { return true; }
  std::string_view Name() const override { return "status"; }
  const char* Filter(const RequestContext&, const HostView& view) const override {
    const HostSpec& s = view.host->spec;
    if (!s.up) return "host_down";
    if (!s.enabled) return "host_disabled";
    if (s.maintenance) return "host_maintenance";
    return nullptr;
  }
};

}  // namespace

std::unique_ptr<Plugin> NewStatusFilter() { return std::make_unique<StatusFilter>(); }

}  // namespace govpool::scheduler
