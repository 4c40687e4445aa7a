// Post-placement utilisation shares, shared by the binpack, spread and balanced scores.
#include <algorithm>

#include "scheduler/plugin.h"

namespace govpool::scheduler {

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

double MeanShareAfter(const RequestContext& ctx, const HostView& view) {
  double sum = 0;
  int dims = 0;
  for (int d = 0; d < 3; ++d) {
    double s = ShareAfter(ctx, view, d);
    if (s < 0) continue;
    sum += s;
    ++dims;
  }
  return dims == 0 ? 0.0 : sum / dims;
}

}  // namespace govpool::scheduler
