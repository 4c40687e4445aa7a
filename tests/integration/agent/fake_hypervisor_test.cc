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
