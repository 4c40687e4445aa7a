// The fake's own test controls (its Hypervisor behaviour is covered by the contract suite).
#include "tests/fakes/agent/fake_hypervisor.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace govpool::agent {
namespace {

using Op = FakeHypervisor::Op;

DomainSpec Spec() {
  DomainSpec s;
  s.uuid = NewUuid();
  s.name = "govpool-" + s.uuid;
  s.domain_type = "qemu";
  return s;
}

TEST(FakeHypervisorTest, FailNextFailsExactlyNTimesWithoutSideEffects) {
  FakeHypervisor h;
  const DomainSpec s = Spec();
  h.FailNext(Op::kDefineDomain, 2, Unavailable("injected"));
  EXPECT_EQ(h.DefineDomain(s).code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.DefineDomain(s).code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.GetDomain(s.uuid).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(h.DefineDomain(s).ok());
  EXPECT_EQ(h.CallCount(Op::kDefineDomain), 3);
  EXPECT_TRUE(h.GetDomain(s.uuid).ok());
}

TEST(FakeHypervisorTest, FaultsQueueAndFailAlwaysUntilCleared) {
  FakeHypervisor h;
  h.FailNext(Op::kListDomains, 1, Internal("a"));
  h.FailNext(Op::kListDomains, 1, PermissionDenied("b"));
  EXPECT_EQ(h.ListDomains().status().code(), StatusCode::kInternal);
  EXPECT_EQ(h.ListDomains().status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(h.ListDomains().ok());
  h.FailAlways(Op::kGetHostFacts, Unavailable("down"));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(h.GetHostFacts().ok());
  h.ClearFaults();
  EXPECT_TRUE(h.GetHostFacts().ok());
}

// A guest that ignores the unplug request: DetachDisk removes the disk from the definition and
// answers kDeadlineExceeded while the running guest keeps it, until the guest lets go.
TEST(FakeHypervisorTest, GuestsHoldingDisksMakeDetachPending) {
  FakeHypervisor hv;
  DomainSpec s;
  s.uuid = NewUuid();
  s.name = "govpool-hold";
  s.domain_type = "qemu";
  ASSERT_TRUE(hv.DefineDomain(s).ok());
  ASSERT_TRUE(hv.StartDomain(s.uuid).ok());
  const DiskSpec data = DiskSpec::Rbd("volumes", "vol-1", {"127.0.0.1:6789"}, "", "", "vdb");
  ASSERT_TRUE(hv.AttachDisk(s.uuid, data).ok());
  hv.SetGuestsHoldDisks(true);
  Status st = hv.DetachDisk(s.uuid, "vdb");
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(st.reason(), "DISK_DETACH_PENDING");
  EXPECT_EQ(hv.GetDomain(s.uuid)->disks, std::vector<DiskSpec>{data}) << "still live";
  EXPECT_TRUE(hv.GetSpec(s.uuid)->disks.empty()) << "gone from the definition";
  EXPECT_EQ(hv.DetachDisk(s.uuid, "vdb").code(), StatusCode::kDeadlineExceeded);
  hv.SetGuestsHoldDisks(false);
  EXPECT_TRUE(hv.GetDomain(s.uuid)->disks.empty());
  EXPECT_TRUE(hv.DetachDisk(s.uuid, "vdb").ok());
  EXPECT_EQ(hv.CallCount(FakeHypervisor::Op::kDetachDisk), 3);
  hv.FailNext(FakeHypervisor::Op::kAttachDisk, 1, Unavailable("libvirtd restarting"));
  EXPECT_EQ(hv.AttachDisk(s.uuid, data).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(hv.GetDomain(s.uuid)->disks.empty()) << "a failed call changes nothing";
}

TEST(FakeHypervisorTest, CrashAndIgnoredAcpi) {
  FakeHypervisor h;
  const DomainSpec s = Spec();
  ASSERT_TRUE(h.DefineDomain(s).ok());
  ASSERT_TRUE(h.StartDomain(s.uuid).ok());
  EXPECT_EQ(h.BootCount(s.uuid), 1);
  h.SetGuestsIgnoreAcpi(true);
  EXPECT_TRUE(h.ShutdownDomain(s.uuid).ok());
  EXPECT_EQ(h.GetDomain(s.uuid)->state, PowerState::kRunning);
  EXPECT_TRUE(h.RebootDomain(s.uuid).ok());
  EXPECT_EQ(h.BootCount(s.uuid), 1);
  ASSERT_TRUE(h.SimulateCrash(s.uuid).ok());
  EXPECT_EQ(h.GetDomain(s.uuid)->state, PowerState::kCrashed);
  EXPECT_TRUE(h.StartDomain(s.uuid).ok());
  EXPECT_EQ(h.GetDomain(s.uuid)->state, PowerState::kRunning);
  EXPECT_EQ(h.BootCount(s.uuid), 2);
  ASSERT_TRUE(h.GetSpec(s.uuid).has_value());
  EXPECT_EQ(h.GetSpec(s.uuid)->name, s.name);
}

}  // namespace
}  // namespace govpool::agent
