// Helpers shared by the scheduler unit tests.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "scheduler/scheduler.h"

namespace govpool::scheduler::testing {

inline HostSpec MakeHost(const std::string& id, std::int64_t vcpus, std::int64_t memory_mib,
                         std::int64_t disk_gib = 1000, const std::string& pool = "") {
  HostSpec h;
  h.id = id;
  h.name = id;
  h.pool = pool;
  h.capacity = {vcpus, memory_mib, disk_gib};
  return h;
}

inline PlacementRequest MakeRequest(std::int64_t vcpus, std::int64_t memory_mib,
                                    std::int64_t disk_gib = 10, std::int32_t count = 1) {
  PlacementRequest r;
  r.per_vm = {vcpus, memory_mib, disk_gib};
  r.count = count;
  r.department_id = "dept-a";
  return r;
}

inline std::unique_ptr<Scheduler> NewScheduler(const Config& config = Config()) {
  auto s = Scheduler::Create(config);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// The rejected-count map of a NO_VALID_HOST status.
inline std::map<std::string, std::int64_t> Rejected(const Status& s) {
  for (const auto& [k, v] : s.details()) {
    if (k == "rejected") return std::get<std::map<std::string, std::int64_t>>(v);
  }
  return {};
}

// Place + Commit one request; returns the host ids used (empty on failure).
inline std::vector<std::string> PlaceAndCommit(Scheduler& s, const PlacementRequest& r) {
  auto p = s.Place(r);
  if (!p.ok()) return {};
  EXPECT_TRUE(s.Commit(*p).ok());
  std::vector<std::string> hosts;
  for (const auto& a : p->assignments) hosts.push_back(a.host_id);
  return hosts;
}

}  // namespace govpool::scheduler::testing
