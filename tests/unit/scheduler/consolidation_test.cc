// PackTightly: the hosts a pool's allocation needs when packed from scratch.
#include "scheduler/consolidation.h"

#include <gtest/gtest.h>

namespace govpool::scheduler {
namespace {

HostSpec Host(const std::string& id, std::int64_t memory_mib) {
  HostSpec h;
  h.id = id;
  h.name = "h-" + id;
  h.capacity = {16, memory_mib, 1000};
  return h;
}

VmDemand Vm(std::int64_t memory_mib, std::string department = "d1") {
  return {{2, memory_mib, 10}, std::move(department)};
}

TEST(PackTightly, EightVmsSpreadOverFourHostsFitOnTwo) {
  std::vector<HostSpec> hosts = {Host("1", 16384), Host("2", 16384), Host("3", 16384), Host("4", 16384)};
  std::vector<VmDemand> vms(8, Vm(4096));
  auto p = PackTightly(hosts, vms);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->hosts, 4);
  EXPECT_EQ(p->vms, 8);
  EXPECT_EQ(p->hosts_needed, 2);
  EXPECT_EQ(p->vms_unplaced, 0);
}

TEST(PackTightly, LargestFirstLeavesNoHostHalfEmpty) {
  // 12 + 4 and 8 + 8 GiB: packed largest first, two hosts of 16 GiB; in arrival order
  // (8, 4, 12, 8) first fit would open a third.
  std::vector<HostSpec> hosts = {Host("1", 16384), Host("2", 16384), Host("3", 16384)};
  auto p = PackTightly(hosts, {Vm(8192), Vm(4096), Vm(12288), Vm(8192)});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hosts_needed, 2);
}

TEST(PackTightly, DedicatedHostsDownHostsAndVmsThatFitNowhere) {
  HostSpec dedicated = Host("1", 65536);
  dedicated.dedicated_departments = {"tax"};
  HostSpec down = Host("2", 65536);
  down.up = false;
  HostSpec shared = Host("3", 16384);
  auto p = PackTightly({dedicated, down, shared}, {Vm(8192, "police"), Vm(8192, "police"), Vm(4096, "tax"),
                                                   Vm(1 << 20, "police")});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hosts, 2) << "a down host is no room";
  EXPECT_EQ(p->hosts_needed, 2) << "police's VMs cannot go to tax's host";
  EXPECT_EQ(p->vms_unplaced, 1) << "1 TiB fits nowhere";
  EXPECT_EQ(PackTightly({shared}, {Vm(-1)}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace govpool::scheduler
