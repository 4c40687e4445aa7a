// Test helper over a Db: departments of a tree whose quotas limit instances only
// (instances_quota.h), created as the system-admin.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "controller/db.h"
#include "controller/services/services.h"
#include "tests/unit/controller/instances_quota.h"

namespace govpool::controller::testing {

// Creates department `name` under `parent` (id or name; "": the top) with InstancesOnly as the
// system-admin; its id, or "" with a test failure when refused.
inline std::string CreateInstancesOnlyDepartment(Db& db, const std::string& name, const std::string& parent,
                                                 std::int64_t instances) {
  api::CreateDepartmentRequest req;
  req.name = name;
  req.parent = parent;
  req.quota = InstancesOnly(instances);
  const Caller platform{"u-admin", "admin", api::Role::kSystemAdmin, ""};
  auto d = db.Write([&](State& s, Txn& t) { return CreateDepartment(s, t, platform, req); });
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? d->meta.id : "";
}

}  // namespace govpool::controller::testing
