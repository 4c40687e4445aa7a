// GET /v1/hosts/{id}/vms (the agents' long-poll watch) against an in-process controller, and
// the agent's HttpControllerClient + Reconciler converging a FakeHypervisor through it.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "agent/http_controller_client.h"
#include "agent/reconciler.h"
#include "tests/fakes/agent/fake_hypervisor.h"
#include "tests/unit/agent/test_controller.h"

namespace govpool::agent {
namespace {

using Clock = std::chrono::steady_clock;

class WatchEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [agent_id, agent_token] = tc_.MakeUser("agent-1", "agent");
    agent_token_ = agent_token;
    auto client = HttpControllerClient::Create(api::ClientOptions{tc_.url(), agent_token_, "", false, 30'000});
    ASSERT_TRUE(client.ok());
    agent_ = std::move(client).value();
    api::RegisterHostRequest reg;
    reg.name = "node-1";
    reg.capacity = {16, 65536, 500, {}};
    // Pre-registered by the system-admin, so the token agent's host takes VMs (not pending).
    tc_.Admin("POST", "/v1/hosts/register", R"({"name":"node-1","capacity":{"cpus":16,"memory_mib":65536,"disk_gib":500}})",
              200);
    auto host = agent_->RegisterHost(reg);
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_id_ = host->meta.id;
    dept_ = tc_.MakeDepartment("eng");
    tc_.MakeFlavor("small", 1, 128, 1);
  }

  testing::TestController tc_;
  std::string agent_token_;
  std::unique_ptr<HttpControllerClient> agent_;
  std::string host_id_;
  std::string dept_;
};

TEST_F(WatchEndpointTest, AnswersAtOnceForRevisionZeroWithTheWholeSet) {
  const std::string a = tc_.MakeVm("a", dept_, "small");
  const std::string b = tc_.MakeVm("b", dept_, "small");
  auto w = agent_->WatchVms(host_id_, 0, 30);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_GT(w->revision, 0);
  ASSERT_EQ(w->items.size(), 2u);
  std::set<std::string> ids{w->items[0].meta.id, w->items[1].meta.id};
  EXPECT_EQ(ids, (std::set<std::string>{a, b}));
}

TEST_F(WatchEndpointTest, HoldsUntilAVmOfTheHostChanges) {
  const std::string a = tc_.MakeVm("a", dept_, "small");
  auto first = agent_->WatchVms(host_id_, 0, 30);
  ASSERT_TRUE(first.ok());
  auto start = Clock::now();
  auto pending = std::async(std::launch::async, [&] {
    auto c = HttpControllerClient::Create(api::ClientOptions{tc_.url(), agent_token_, "", false, 30'000});
    return (*c)->WatchVms(host_id_, first->revision, 20);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  tc_.Admin("POST", "/v1/vms/" + a + "/stop", "", 202);
  auto w = pending.get();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_LT(seconds, 3.0);
  EXPECT_GT(w->revision, first->revision);
  ASSERT_EQ(w->items.size(), 1u);
  EXPECT_EQ(w->items[0].power, api::PowerState::kStopped);
  EXPECT_EQ(w->items[0].generation, 2);
}

TEST_F(WatchEndpointTest, TimesOutWithTheSameSetAndSeesDeletingVms) {
  const std::string a = tc_.MakeVm("a", dept_, "small");
  auto first = agent_->WatchVms(host_id_, 0, 30);
  ASSERT_TRUE(first.ok());
  auto start = Clock::now();
  auto w = agent_->WatchVms(host_id_, first->revision, 1);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(w.ok());
  EXPECT_GE(seconds, 0.9);
  EXPECT_LT(seconds, 3.0);
  ASSERT_EQ(w->items.size(), 1u);
  // Deleting on an agent host keeps the record (deleting) until the agent confirms.
  tc_.Admin("DELETE", "/v1/vms/" + a, "", 202);
  auto d = agent_->WatchVms(host_id_, w->revision, 10);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->items.size(), 1u);
  EXPECT_TRUE(d->items[0].deleting);
  ASSERT_TRUE(agent_->ReportVmStatus(a, {api::VmState::kDeleted, "", d->items[0].generation}).ok());
  auto gone = agent_->WatchVms(host_id_, d->revision, 10);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->items.empty());
}

TEST_F(WatchEndpointTest, ChangesOnOtherHostsDoNotWakeTheWatch) {
  auto [other_id, other_token] = tc_.MakeUser("agent-2", "agent");
  auto other = HttpControllerClient::Create(api::ClientOptions{tc_.url(), other_token, "", false, 30'000});
  api::RegisterHostRequest reg;
  reg.name = "node-2";
  reg.capacity = {16, 65536, 500, {}};
  tc_.Admin("POST", "/v1/hosts/register", R"({"name":"node-2","capacity":{"cpus":16,"memory_mib":65536,"disk_gib":500}})",
            200);
  ASSERT_TRUE((*other)->RegisterHost(reg).ok());
  auto first = agent_->WatchVms(host_id_, 0, 30);
  ASSERT_TRUE(first.ok());
  // The other agent must not read this host's assignments.
  auto denied = (*other)->WatchVms(host_id_, 0, 1);
  EXPECT_EQ(denied.status().code(), StatusCode::kNotFound);
  // node-1 takes no new VMs, so the next one lands on node-2.
  tc_.Admin("PATCH", "/v1/hosts/" + host_id_, "{\"enabled\":false}", 200);
  auto again = agent_->WatchVms(host_id_, 0, 0);
  ASSERT_TRUE(again.ok());
  const auto start = Clock::now();
  auto pending = std::async(std::launch::async, [&] {
    auto c = HttpControllerClient::Create(api::ClientOptions{tc_.url(), agent_token_, "", false, 30'000});
    return (*c)->WatchVms(host_id_, again->revision, 2);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  tc_.MakeVm("elsewhere", dept_, "small");
  auto w = pending.get();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(w.ok());
  EXPECT_GE(seconds, 1.9);  // held to its timeout
  EXPECT_TRUE(w->items.empty());
}

TEST_F(WatchEndpointTest, RejectsBadParametersAndOtherRoles) {
  auto admin = tc_.Client("");
  auto r = agent_->WatchVms(host_id_, 0, 301);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  auto http = tc_.Client(agent_token_);
  auto bad = http->Send("GET", "/v1/hosts/" + host_id_ + "/vms?revision=-1");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  auto unknown = http->Send("GET", "/v1/hosts/" + host_id_ + "/vms?since=3");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 400);
  auto [uid, member_token] = tc_.MakeUser("alice", "dept-member", dept_);
  auto member = tc_.Client(member_token);
  auto denied = member->Send("GET", "/v1/hosts/" + host_id_ + "/vms?timeout_seconds=0");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 403);
  auto noauth = admin->Send("GET", "/v1/hosts/" + host_id_ + "/vms");
  ASSERT_TRUE(noauth.ok());
  EXPECT_EQ(noauth->status, 401);
  // Admins may watch any host.
  auto as_admin = tc_.Admin("GET", "/v1/hosts/" + host_id_ + "/vms?timeout_seconds=0", "", 200);
  EXPECT_TRUE(as_admin.at("items").is_array());
}

TEST_F(WatchEndpointTest, ManyHeldWatchesAreAnsweredByOneChange) {
  auto first = agent_->WatchVms(host_id_, 0, 30);
  ASSERT_TRUE(first.ok());
  std::vector<std::future<Result<WatchAnswer>>> watches;
  for (int i = 0; i < 4; ++i) {  // as many as a host may hold (WatchHubOptions)
    watches.push_back(std::async(std::launch::async, [&] {
      auto c = HttpControllerClient::Create(api::ClientOptions{tc_.url(), agent_token_, "", false, 30'000});
      return (*c)->WatchVms(host_id_, first->revision, 20);
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::string a = tc_.MakeVm("a", dept_, "small");
  for (auto& f : watches) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto w = f.get();
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->items.size(), 1u);
    EXPECT_EQ(w->items[0].meta.id, a);
  }
}

// The agent's loop body against the real controller: watch, reconcile, report.
TEST_F(WatchEndpointTest, AgentConvergesThroughTheRealProtocol) {
  FakeHypervisor hv;
  ReconcilerOptions o;
  o.host_id = host_id_;
  o.disk_dir = "/var/lib/govpool/disks";
  Reconciler reconciler(hv, *agent_, o);
  const std::string a = tc_.MakeVm("a", dept_, "small");
  std::int64_t rev = 0;
  auto loop_until = [&](auto done) {
    for (int i = 0; i < 20; ++i) {
      auto w = agent_->WatchVms(host_id_, rev, 1);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      rev = w->revision;
      ASSERT_TRUE(reconciler.Reconcile(*w).ok());
      if (done()) return;
    }
    FAIL() << "did not converge";
  };
  auto vm_state = [&](const std::string& id) {
    auto v = tc_.Admin("GET", "/v1/vms/" + id);
    return std::string(v.at("state").as_string());
  };
  loop_until([&] { return vm_state(a) == "running"; });
  EXPECT_EQ(hv.GetDomain(a)->state, PowerState::kRunning);
  tc_.Admin("POST", "/v1/vms/" + a + "/reboot", "", 202);
  loop_until([&] { return hv.CallCount(FakeHypervisor::Op::kRebootDomain) == 1; });
  tc_.Admin("DELETE", "/v1/vms/" + a, "", 202);
  loop_until([&] {
    auto resp = tc_.Client("")->Send("GET", "/v1/vms/" + a);
    return hv.GetDomain(a).status().code() == StatusCode::kNotFound;
  });
  // The record goes once the agent confirms the cleanup.
  auto gone = tc_.Admin("GET", "/v1/vms/" + a, "", 404);
  (void)gone;
}

}  // namespace
}  // namespace govpool::agent
