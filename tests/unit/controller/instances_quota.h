// Test helper: a quota that limits instances only, every other resource unlimited, so that in
// a department tree only instances meet the nesting rules (docs/departments.md).
#pragma once

#include <cstdint>

#include "api/types.h"

namespace govpool::controller::testing {

inline api::Quota InstancesOnly(std::int64_t instances) {
  api::Quota q;
  for (const api::QuotaResource& r : api::kQuotaResources) q.*(r.limit) = -1;
  q.instances = instances;
  return q;
}

}  // namespace govpool::controller::testing
