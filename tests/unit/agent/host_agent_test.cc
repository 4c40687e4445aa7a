// HostAgent over FakeControllerClient, FakeHypervisor and FakeClock, step by step with no
// threads (except the Run/RunAgents tests): registration with back-off, re-registration after
// NotFound (with a new id: a new reconciler), heartbeats on schedule, the watch revision passed
// along, nothing reconciled before the first successful watch, and the poll-mode schedule.
#include "agent/host_agent.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/fakes/agent/fake_controller_client.h"
#include "tests/fakes/agent/fake_hypervisor.h"
#include "tests/fakes/agent/fake_vswitch.h"
#include "tests/fakes/common/fake_clock.h"

namespace govpool::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Op = FakeHypervisor::Op;
using TimePoint = HostAgent::TimePoint;

class HostAgentTest : public ::testing::Test {
 protected:
  static HostAgentOptions LongPoll() {
    HostAgentOptions o;
    o.registration.name = "h1";
    o.registration.pool = "p";
    o.registration.capacity.cpus = 8;
    o.registration.capacity.memory_mib = 16384;
    o.heartbeat_interval = seconds(10);
    o.watch_timeout_s = 10;
    return o;
  }
  static HostAgentOptions Poll() {
    HostAgentOptions o = LongPoll();
    o.watch_timeout_s = 0;
    o.poll_interval = seconds(1);
    return o;
  }

  std::unique_ptr<HostAgent> Make(HostAgentOptions o) {
    o.on_registered = [this](const api::Host& h) { registered_ids_.push_back(h.meta.id); };
    return std::make_unique<HostAgent>(
        controller_, hv_,
        [this](const std::string& host_id) {
          reconciler_ids_.push_back(host_id);
          ReconcilerOptions ro;
          ro.host_id = host_id;
          ro.disk_dir = "/var/lib/govpool/disks";
          return std::make_unique<Reconciler>(hv_, controller_, ro, clock_);
        },
        clock_, std::move(o));
  }

  TimePoint Now() const { return clock_.MonotonicNow(); }
  TimePoint Step(HostAgent& a) {
    auto next = a.Step();
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    return next.ok() ? *next : Now();
  }
  TimePoint Tick(HostAgent& a) {
    auto next = a.Tick();
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    return next.ok() ? *next : Now();
  }

  testing::FakeClock clock_;
  FakeControllerClient controller_;
  FakeHypervisor hv_;
  std::vector<std::string> registered_ids_;
  std::vector<std::string> reconciler_ids_;
};

TEST_F(HostAgentTest, RegistersThenWatchesAndPassesTheRevisionAlong) {
  auto agent = Make(LongPoll());
  const std::string vm_id = controller_.Add().meta.id;
  controller_.revision = 5;

  EXPECT_EQ(Step(*agent), Now());  // registered: watch at once
  ASSERT_EQ(controller_.registrations.size(), 1u);
  EXPECT_EQ(controller_.registrations[0].name, "h1");
  EXPECT_EQ(controller_.registrations[0].capacity.cpus, 8);
  EXPECT_TRUE(agent->registered());
  EXPECT_EQ(agent->host_id(), "host-1");
  EXPECT_EQ(registered_ids_, std::vector<std::string>{"host-1"});
  EXPECT_EQ(reconciler_ids_, std::vector<std::string>{"host-1"});
  EXPECT_TRUE(controller_.watches.empty());

  EXPECT_EQ(Step(*agent), Now());  // a long poll answered: the next one at once
  ASSERT_EQ(controller_.watches.size(), 1u);
  EXPECT_EQ(controller_.watches[0].host_id, "host-1");
  EXPECT_EQ(controller_.watches[0].revision, 0);
  EXPECT_EQ(controller_.watches[0].timeout_seconds, 10);
  EXPECT_EQ(agent->revision(), 5);
  // The answer was reconciled: the VM's domain exists and runs, and it was reported.
  ASSERT_TRUE(hv_.GetSpec(vm_id).has_value());
  EXPECT_EQ(controller_.vms.at(vm_id).state, api::VmState::kRunning);

  Step(*agent);
  EXPECT_EQ(controller_.watches.back().revision, 5);
  controller_.revision = 9;
  Step(*agent);
  EXPECT_EQ(controller_.watches.back().revision, 5);
  Step(*agent);
  EXPECT_EQ(controller_.watches.back().revision, 9);
  EXPECT_EQ(controller_.registrations.size(), 1u);
}

TEST_F(HostAgentTest, ReconcilesNothingBeforeTheFirstSuccessfulWatch) {
  auto agent = Make(LongPoll());
  controller_.Add();
  controller_.watch_failures = {Unavailable("controller away")};
  Step(*agent);
  const TimePoint next = Step(*agent);
  EXPECT_EQ(next, Now() + seconds(1));  // backing off
  EXPECT_EQ(hv_.CallCount(Op::kListDomains), 0);
  EXPECT_EQ(hv_.CallCount(Op::kDefineDomain), 0);
  EXPECT_TRUE(controller_.reports.empty());

  clock_.AdvanceTo(next);
  Step(*agent);
  EXPECT_EQ(hv_.CallCount(Op::kDefineDomain), 1);
}

TEST_F(HostAgentTest, BacksOffOnUnavailableRegistrationUpToTheMaximum) {
  auto agent = Make(LongPoll());
  for (int i = 0; i < 5; ++i) controller_.register_failures.push_back(Unavailable("connection refused"));
  const TimePoint t0 = Now();
  std::vector<milliseconds> waits;
  TimePoint next = Step(*agent);
  while (!agent->registered()) {
    waits.push_back(std::chrono::duration_cast<milliseconds>(next - Now()));
    // Nothing happens before the back-off has passed.
    const std::size_t calls = controller_.registrations.size();
    clock_.Advance(milliseconds(999));
    EXPECT_EQ(Step(*agent), next);
    EXPECT_EQ(controller_.registrations.size(), calls);
    clock_.AdvanceTo(next);
    next = Step(*agent);
  }
  EXPECT_EQ(waits, (std::vector<milliseconds>{seconds(1), seconds(2), seconds(4), seconds(8), seconds(10)}));
  EXPECT_EQ(controller_.registrations.size(), 6u);
  EXPECT_EQ(Now() - t0, seconds(25));

  // Success resets the back-off: the next failure waits the initial second again.
  controller_.watch_failures = {Unavailable("controller restarting")};
  EXPECT_EQ(Step(*agent), Now() + seconds(1));
}

TEST_F(HostAgentTest, ARegistrationRefusedForGoodStopsTheAgent) {
  auto agent = Make(LongPoll());
  controller_.register_failures = {PermissionDenied("host h1 belongs to another agent")};
  auto next = agent->Step();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(agent->registered());
}

TEST_F(HostAgentTest, BacksOffOnUnavailableWatchAndAsksForAFullAnswerAfterwards) {
  auto agent = Make(LongPoll());
  controller_.revision = 7;
  Step(*agent);
  Step(*agent);
  EXPECT_EQ(agent->revision(), 7);
  controller_.watch_failures = {Unavailable("a"), DeadlineExceeded("b"), Unavailable("c")};
  TimePoint next = Step(*agent);
  EXPECT_EQ(next, Now() + seconds(1));
  EXPECT_EQ(agent->revision(), 0);
  clock_.AdvanceTo(next);
  next = Step(*agent);
  EXPECT_EQ(next, Now() + seconds(2));
  clock_.AdvanceTo(next);
  next = Step(*agent);
  EXPECT_EQ(next, Now() + seconds(4));
  clock_.AdvanceTo(next);
  EXPECT_EQ(Step(*agent), Now());
  ASSERT_EQ(controller_.watches.size(), 5u);
  EXPECT_EQ(controller_.watches[1].revision, 7);
  EXPECT_EQ(controller_.watches[2].revision, 0);
  EXPECT_EQ(controller_.watches[3].revision, 0);
  EXPECT_EQ(controller_.watches[4].revision, 0);
  EXPECT_EQ(agent->revision(), 7);
  EXPECT_EQ(controller_.registrations.size(), 1u);  // Unavailable is not NotFound
}

TEST_F(HostAgentTest, HeartbeatsOnSchedule) {
  HostAgentOptions o = Poll();
  auto agent = Make(o);
  const TimePoint t0 = Now();
  controller_.heartbeat_failures = {OkStatus(), Unavailable("controller away")};
  std::vector<milliseconds> heartbeat_times;
  for (int i = 0; i < 1000 && Now() < t0 + seconds(45); ++i) {
    const std::size_t before = controller_.heartbeats.size();
    auto next = agent->Tick();
    ASSERT_TRUE(next.ok());
    if (controller_.heartbeats.size() != before) {
      heartbeat_times.push_back(std::chrono::duration_cast<milliseconds>(Now() - t0));
    }
    ASSERT_GE(*next, Now());
    clock_.AdvanceTo(*next);
  }
  // Every interval after registration; a failed heartbeat does not move the schedule.
  EXPECT_EQ(heartbeat_times, (std::vector<milliseconds>{seconds(10), seconds(20), seconds(30), seconds(40)}));
  for (const auto& h : controller_.heartbeats) {
    EXPECT_EQ(h.host_id, "host-1");
    EXPECT_TRUE(h.with_usage);
  }
  // Polls every second in between.
  EXPECT_GE(controller_.watches.size(), 44u);
  EXPECT_LE(controller_.watches.size(), 46u);
  EXPECT_EQ(controller_.registrations.size(), 1u);
}

// Heartbeats carry the host's own use: memory at once, CPU busy from the second heartbeat on
// (a rate between two samples).
TEST_F(HostAgentTest, HeartbeatsCarryTheHostsMeasuredUse) {
  auto agent = Make(Poll());
  hv_.SetHostUsage({.cpu_busy_ns = 1'000'000'000'000, .memory_total_bytes = 16LL << 30, .memory_available_bytes = 12LL << 30});
  // A running guest (its VM's use goes to the controller) and a stopped one (no use to report).
  hv_.AddForeignDomain("vm-running", "running", PowerState::kRunning);
  hv_.AddForeignDomain("vm-stopped", "stopped", PowerState::kShutoff);
  auto guest = [](std::uint64_t cpu_time_ns, std::int64_t memory_used_bytes) {
    DomainStats d;
    d.state = PowerState::kRunning;
    d.cpu_time_ns = cpu_time_ns;
    d.memory_used_bytes = memory_used_bytes;
    return d;
  };
  hv_.SetGuestStats("vm-running", guest(50'000'000'000, 700LL << 20));
  const TimePoint t0 = Now();
  while (controller_.heartbeats.size() < 1 && Now() < t0 + seconds(60)) clock_.AdvanceTo(*agent->Tick());
  // 25 s of CPU time in the next 10 s: 2.5 CPUs busy; the guest 5 s of it, half a CPU.
  hv_.SetHostUsage({.cpu_busy_ns = 1'025'000'000'000, .memory_total_bytes = 16LL << 30, .memory_available_bytes = 10LL << 30});
  hv_.SetGuestStats("vm-running", guest(55'000'000'000, 900LL << 20));
  while (controller_.heartbeats.size() < 2 && Now() < t0 + seconds(60)) clock_.AdvanceTo(*agent->Tick());
  ASSERT_EQ(controller_.heartbeats.size(), 2u);
  EXPECT_EQ(controller_.heartbeats[0].usage.memory_used_mib, 4096);
  EXPECT_EQ(controller_.heartbeats[0].usage.cpu_busy_millicores, 0) << "one sample is no rate";
  EXPECT_EQ(controller_.heartbeats[1].usage.memory_used_mib, 6144);
  EXPECT_EQ(controller_.heartbeats[1].usage.cpu_busy_millicores, 2500);
  ASSERT_TRUE(controller_.heartbeats[0].vms.has_value());
  ASSERT_EQ(controller_.heartbeats[0].vms->size(), 1u) << "the stopped guest uses nothing";
  EXPECT_EQ(controller_.heartbeats[0].vms->at(0).vm_id, "vm-running");
  EXPECT_EQ(controller_.heartbeats[0].vms->at(0).cpu_busy_millicores, 0);
  EXPECT_EQ(controller_.heartbeats[0].vms->at(0).memory_used_mib, 700);
  ASSERT_TRUE(controller_.heartbeats[1].vms.has_value());
  ASSERT_EQ(controller_.heartbeats[1].vms->size(), 1u);
  EXPECT_EQ(controller_.heartbeats[1].vms->at(0).cpu_busy_millicores, 500);
  EXPECT_EQ(controller_.heartbeats[1].vms->at(0).memory_used_mib, 900);
}

TEST_F(HostAgentTest, FirstHeartbeatAndWatchDelaysSpreadSimulatedHosts) {
  HostAgentOptions o = Poll();
  o.first_heartbeat_delay = milliseconds(2'500);
  o.first_watch_delay = milliseconds(300);
  auto agent = Make(o);
  const TimePoint t0 = Now();
  EXPECT_EQ(Tick(*agent), t0 + milliseconds(300));
  clock_.Advance(milliseconds(300));
  EXPECT_EQ(Tick(*agent), t0 + milliseconds(1'300));
  EXPECT_EQ(controller_.watches.size(), 1u);
  clock_.AdvanceTo(t0 + milliseconds(2'500));
  Tick(*agent);
  EXPECT_EQ(controller_.heartbeats.size(), 1u);
}

TEST_F(HostAgentTest, ReRegistersAfterAHeartbeatNotFoundAndRebuildsTheReconcilerForANewId) {
  auto agent = Make(Poll());
  controller_.revision = 3;
  Tick(*agent);
  ASSERT_TRUE(agent->registered());
  clock_.Advance(seconds(1));
  Tick(*agent);
  EXPECT_EQ(agent->revision(), 3);

  // The host record was deleted; registering again gives a new id.
  controller_.heartbeat_failures = {NotFound("host host-1")};
  controller_.host_id = "host-2";
  clock_.Advance(seconds(9));
  Tick(*agent);
  ASSERT_EQ(controller_.heartbeats.size(), 1u);
  EXPECT_EQ(controller_.registrations.size(), 2u);  // at once, in the same tick
  EXPECT_EQ(agent->host_id(), "host-2");
  EXPECT_EQ(reconciler_ids_, (std::vector<std::string>{"host-1", "host-2"}));
  EXPECT_EQ(registered_ids_, (std::vector<std::string>{"host-1", "host-2"}));
  EXPECT_EQ(agent->revision(), 0);  // a new host: its watch starts from scratch

  Tick(*agent);
  EXPECT_EQ(controller_.watches.back().host_id, "host-2");
  EXPECT_EQ(controller_.watches.back().revision, 0);
  clock_.Advance(seconds(10));
  Tick(*agent);
  EXPECT_EQ(controller_.heartbeats.back().host_id, "host-2");
}

TEST_F(HostAgentTest, ReRegistersAfterAWatchNotFoundKeepingTheReconcilerForTheSameId) {
  auto agent = Make(LongPoll());
  Step(*agent);
  Step(*agent);
  controller_.watch_failures = {NotFound("host host-1")};
  EXPECT_EQ(Step(*agent), Now());  // register again at once
  EXPECT_FALSE(agent->registered());
  Step(*agent);
  EXPECT_TRUE(agent->registered());
  EXPECT_EQ(controller_.registrations.size(), 2u);
  EXPECT_EQ(reconciler_ids_, std::vector<std::string>{"host-1"});
}

TEST_F(HostAgentTest, ARefusedReRegistrationIsRetriedNotFatal) {
  auto agent = Make(LongPoll());
  Step(*agent);
  controller_.watch_failures = {NotFound("host host-1")};
  controller_.register_failures = {PermissionDenied("token revoked")};
  Step(*agent);
  auto next = agent->Step();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(agent->registered());
  EXPECT_EQ(*next, Now() + seconds(2));  // the back-off continues from the failed watch
  clock_.AdvanceTo(*next);
  Step(*agent);
  EXPECT_TRUE(agent->registered());
}

TEST_F(HostAgentTest, PollModeLooksAgainSoonAfterAPassThatReported) {
  auto agent = Make(Poll());
  controller_.Add();
  Tick(*agent);
  const TimePoint next = Tick(*agent);  // the watch: the VM is created and reported
  EXPECT_FALSE(controller_.reports.empty());
  EXPECT_EQ(controller_.watches.back().timeout_seconds, 0);
  EXPECT_EQ(next, Now() + milliseconds(100));
  clock_.AdvanceTo(next);
  EXPECT_EQ(Tick(*agent), Now() + seconds(1));  // converged: nothing reported
}

TEST_F(HostAgentTest, AnUnavailableHypervisorPausesReconciling) {
  auto agent = Make(LongPoll());
  controller_.Add();
  hv_.FailNext(Op::kListDomains, 1, Unavailable("libvirtd restarting"));
  Step(*agent);
  EXPECT_EQ(Step(*agent), Now() + seconds(1));
  EXPECT_EQ(hv_.CallCount(Op::kDefineDomain), 0);
}

TEST_F(HostAgentTest, RunStopsWhenSignalled) {
  auto agent = Make(LongPoll());
  FakeControllerClient heartbeats;
  StopSignal stop;
  Status result = Internal("not run");
  std::thread runner([&] { result = agent->Run(stop, heartbeats); });
  // FakeClock stands still and long polls answer at once: the agent watches in a loop.
  for (int i = 0; i < 1000 && controller_.WithLock([](auto& c) { return c.watches.size(); }) < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  stop.Stop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_GE(controller_.watches.size(), 3u);
}

TEST_F(HostAgentTest, RunReturnsARegistrationRefusedForGood) {
  auto agent = Make(LongPoll());
  controller_.register_failures = {Unauthenticated("bad token")};
  FakeControllerClient heartbeats;
  StopSignal stop;
  EXPECT_EQ(agent->Run(stop, heartbeats).code(), StatusCode::kUnauthenticated);
}

TEST_F(HostAgentTest, RunAgentsDrivesSeveralHostsFromOneThread) {
  HostAgentOptions a = Poll();
  HostAgentOptions b = Poll();
  b.registration.name = "h2";
  auto first = Make(a);
  auto second = Make(b);
  StopSignal stop;
  Status result = Internal("not run");
  std::thread runner([&] { result = RunAgents({first.get(), second.get()}, clock_, stop); });
  for (int i = 0; i < 1000 && !(first->registered() && second->registered()); ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  stop.Stop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_TRUE(first->registered());
  EXPECT_TRUE(second->registered());
  ASSERT_EQ(controller_.registrations.size(), 2u);
  EXPECT_EQ(controller_.registrations[1].name, "h2");
}

TEST_F(HostAgentTest, RunAgentsReturnsTheFirstFatalError) {
  auto agent = Make(Poll());
  controller_.register_failures = {InvalidArgument("bad capacity")};
  StopSignal stop;
  EXPECT_EQ(RunAgents({agent.get()}, clock_, stop).code(), StatusCode::kInvalidArgument);
}

TEST_F(HostAgentTest, TheNetworkPassReportsTheAnswersPortsThroughTheController) {
  FakeVSwitch vswitch;
  std::vector<std::string> network_ids;
  HostAgentOptions o = LongPoll();
  o.make_host_network = [&](const std::string& host_id) {
    network_ids.push_back(host_id);
    return std::make_unique<HostNetwork>(
        vswitch, PortReporter(controller_),
        HostNetworkOptions{.host_id = host_id,
                           .chassis = {.system_id = "h1", .ovn_remote = "tcp:10.0.0.1:6642", .encap_ip = "10.0.0.11"}});
  };
  api::Port port;
  port.meta.id = "port-1";
  port.status = "down";
  controller_.WithLock([&](FakeControllerClient& c) {
    c.ports[port.meta.id] = port;
    return 0;
  });
  api::Vm& vm = controller_.Add();
  vm.port_ids = {"port-1"};
  vswitch.bindings = {{.iface_id = "port-1", .interface = "vnet0", .ofport = 2, .ovn_installed = true}};
  auto agent = Make(o);
  Step(*agent);  // register
  EXPECT_EQ(network_ids, std::vector<std::string>{"host-1"});
  EXPECT_EQ(vswitch.configure_calls, 0);  // nothing before the first watch
  Step(*agent);  // watch + passes
  EXPECT_EQ(vswitch.configure_calls, 1);
  EXPECT_EQ(vswitch.configured.system_id, "h1");
  auto reports = controller_.WithLock([](FakeControllerClient& c) { return c.port_reports; });
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].first, "port-1");
  EXPECT_EQ(reports[0].second.status, "active");
  EXPECT_EQ(reports[0].second.host_id, "host-1");
}

TEST(StopSignalTest, WaitReturnsAtTheDeadlineOrWhenStopped) {
  StopSignal stop;
  testing::FakeClock clock;
  EXPECT_TRUE(stop.WaitUntil(clock, clock.MonotonicNow()));  // a past deadline: at once
  EXPECT_TRUE(stop.WaitUntil(clock, clock.MonotonicNow() + milliseconds(1)));
  std::thread stopper([&] { stop.Stop(); });
  EXPECT_FALSE(stop.WaitUntil(clock, clock.MonotonicNow() + seconds(30)));
  stopper.join();
  EXPECT_TRUE(stop.stopped());
}

TEST(RegistrationFromFactsTest, KeepsNumaCellsOnlyWhenTheyAddUp) {
  HostFacts facts;
  facts.cpus = 8;
  facts.memory_mib = 16384;
  facts.numa_cells = {{0, 4, 8192}, {1, 4, 8192}};
  api::RegisterHostRequest reg = RegistrationFromFacts(facts, "h1", "p", 100);
  EXPECT_EQ(reg.name, "h1");
  EXPECT_EQ(reg.pool, "p");
  EXPECT_EQ(reg.capacity.cpus, 8);
  EXPECT_EQ(reg.capacity.memory_mib, 16384);
  EXPECT_EQ(reg.capacity.disk_gib, 100);
  ASSERT_EQ(reg.capacity.numa_cells.size(), 2u);
  EXPECT_EQ(reg.capacity.numa_cells[1].id, 1);

  facts.numa_cells = {{0, 4, 8192}};  // a partial topology
  EXPECT_TRUE(RegistrationFromFacts(facts, "h1", "p", 100).capacity.numa_cells.empty());
}

}  // namespace
}  // namespace govpool::agent
