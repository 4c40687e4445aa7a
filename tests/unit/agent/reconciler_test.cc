// Reconciler over FakeHypervisor and an in-memory controller: creation, power, reboot once,
// deletion, drift repair, orphans, foreign domains, failures, and "a converged pass writes
// nothing" (so agent restarts never disturb a running guest), cloud-init seeds.
#include "agent/reconciler.h"
#include "agent/watched_items.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>

#include "common/ids.h"
#include "tests/fakes/agent/fake_controller_client.h"
#include "tests/fakes/agent/fake_hypervisor.h"

namespace govpool::agent {
namespace {

using Op = FakeHypervisor::Op;

// The controller side of the protocol, in memory: the desired VMs and what agents reported.
using FakeController = FakeControllerClient;

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerOptions Options() {
    ReconcilerOptions o;
    o.host_id = "host-1";
    o.domain_type = "qemu";
    o.disk_dir = "/var/lib/govpool/disks";
    o.kernel_path = "/boot/vmlinuz";
    o.initrd_path = "/boot/initrd.img";
    o.shutdown_grace_ms = 60'000;
    return o;
  }
  Result<ReconcileSummary> Pass() { return reconciler_.Reconcile(controller_.Answer()); }
  int Writes() {
    int n = 0;
    for (Op op : {Op::kDefineDomain, Op::kStartDomain, Op::kShutdownDomain, Op::kDestroyDomain,
                  Op::kRebootDomain, Op::kUndefineDomain, Op::kCreateDisk, Op::kDeleteDisk}) {
      n += hv_.CallCount(op);
    }
    return n;
  }

  FakeHypervisor hv_;
  FakeController controller_;
  Reconciler reconciler_{hv_, controller_, Options()};
};

TEST_F(ReconcilerTest, CreatesDefinesAndStartsAnAssignedVm) {
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  auto spec = hv_.GetSpec(id);
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->name, "govpool-" + id);
  EXPECT_EQ(spec->uuid, id);
  EXPECT_EQ(spec->domain_type, "qemu");
  EXPECT_EQ(spec->vcpus, 2);
  EXPECT_EQ(spec->memory_mib, 256);
  ASSERT_EQ(spec->disks.size(), 1u);
  EXPECT_EQ(spec->disks[0].path, "/var/lib/govpool/disks/govpool-" + id + "-root.qcow2");
  EXPECT_TRUE(hv_.HasDisk(spec->disks[0].path));
  EXPECT_EQ(spec->kernel_path, "/boot/vmlinuz");
  EXPECT_EQ(spec->metadata.at("vm_id"), id);
  EXPECT_EQ(spec->metadata.at("department_id"), "dept-1");
  EXPECT_EQ(spec->metadata.at("host_id"), "host-1");
  EXPECT_EQ(spec->metadata.at("generation"), "1");
  auto info = hv_.GetDomain(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state, PowerState::kRunning);
  ASSERT_EQ(controller_.reports.size(), 2u);
  EXPECT_EQ(controller_.reports[0].second.state, api::VmState::kBuilding);
  EXPECT_EQ(controller_.reports[1].second.state, api::VmState::kRunning);
  EXPECT_EQ(controller_.reports[1].second.observed_generation, 1);
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
}

TEST_F(ReconcilerTest, ConvergedPassWritesNothingAndReportsNothing) {
  const std::string id = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  const int writes = Writes();
  const size_t reports = controller_.reports.size();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(controller_.reports.size(), reports);
  // An agent restart (a new reconciler, same hypervisor) does not disturb the running guest.
  Reconciler restarted(hv_, controller_, Options());
  ASSERT_TRUE(restarted.Reconcile(controller_.Answer()).ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(hv_.BootCount(id), 1);
  EXPECT_TRUE(restarted.events().empty());
}

TEST_F(ReconcilerTest, StopsGracefullyThenReportsStopped) {
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  v.power = api::PowerState::kStopped;
  v.generation = 2;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.CallCount(Op::kShutdownDomain), 1);
  EXPECT_EQ(hv_.CallCount(Op::kDestroyDomain), 0);
  // The fake guest powers off at once; the next pass sees it and reports stopped.
  EXPECT_EQ(controller_.vms.at(id).state_reason, "shutting down");
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kStopped);
  EXPECT_EQ(controller_.vms.at(id).observed_generation, 2);
  // Start again.
  controller_.vms.at(id).power = api::PowerState::kRunning;
  controller_.vms.at(id).generation = 3;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.GetDomain(id)->state, PowerState::kRunning);
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_EQ(controller_.vms.at(id).observed_generation, 3);
  EXPECT_TRUE(reconciler_.events().empty()) << reconciler_.events().front().message;
}

TEST_F(ReconcilerTest, PowersOffAGuestThatIgnoresAcpiAfterTheGracePeriod) {
  ReconcilerOptions o = Options();
  o.shutdown_grace_ms = 0;
  Reconciler r(hv_, controller_, o);
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  hv_.SetGuestsIgnoreAcpi(true);
  controller_.vms.at(id).power = api::PowerState::kStopped;
  controller_.vms.at(id).generation = 2;
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  EXPECT_TRUE(r.busy());
  EXPECT_EQ(hv_.GetDomain(id)->state, PowerState::kRunning);
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  EXPECT_EQ(hv_.CallCount(Op::kDestroyDomain), 1);
  EXPECT_EQ(hv_.GetDomain(id)->state, PowerState::kShutoff);
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kStopped);
  EXPECT_FALSE(r.busy());
}

TEST_F(ReconcilerTest, RebootsOnceEvenAcrossAgentRestarts) {
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  controller_.vms.at(id).reboot_count = 1;
  controller_.vms.at(id).generation = 2;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.CallCount(Op::kRebootDomain), 1);
  EXPECT_EQ(hv_.GetSpec(id)->metadata.at("reboots_done"), "1");
  EXPECT_EQ(controller_.vms.at(id).observed_generation, 2);
  ASSERT_TRUE(Pass().ok());
  Reconciler restarted(hv_, controller_, Options());
  ASSERT_TRUE(restarted.Reconcile(controller_.Answer()).ok());
  EXPECT_EQ(hv_.CallCount(Op::kRebootDomain), 1);
}

TEST_F(ReconcilerTest, DeletingRemovesDomainAndDiskThenConfirms) {
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  ASSERT_TRUE(Pass().ok());
  const std::string disk = reconciler_.DiskPath(id);
  ASSERT_TRUE(hv_.HasDisk(disk));
  controller_.vms.at(id).deleting = true;
  controller_.vms.at(id).generation = 2;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.GetDomain(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(hv_.HasDisk(disk));
  ASSERT_FALSE(controller_.reports.empty());
  EXPECT_EQ(controller_.reports.back().second.state, api::VmState::kDeleted);
  EXPECT_EQ(controller_.reports.back().second.observed_generation, 2);
  EXPECT_TRUE(controller_.vms.empty());
}

// With a seed dir every VM gets its cloud-init seed: written once, attached read-only at vdz
// after every other disk, plugged into a domain defined without it, removed with the VM.
TEST_F(ReconcilerTest, EveryVmGetsACloudInitSeedThatGoesWithIt) {
  const std::string dir = ::testing::TempDir() + "/reconciler-seed-" + NewUuid().substr(0, 8);
  ReconcilerOptions o = Options();
  o.seed_dir = dir;
  Reconciler r(hv_, controller_, o);
  api::Vm& v = controller_.Add();
  v.hostname = "db-1";
  const std::string id = v.meta.id;
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  const std::string seed = dir + "/govpool-" + id + "-seed.iso";
  EXPECT_EQ(r.SeedPath(id), seed);
  ASSERT_TRUE(std::filesystem::exists(seed));
  auto spec = hv_.GetSpec(id);
  ASSERT_TRUE(spec.has_value());
  ASSERT_EQ(spec->disks.size(), 2u);
  EXPECT_EQ(spec->disks[1].path, seed);
  EXPECT_EQ(spec->disks[1].format, "raw");
  EXPECT_EQ(spec->disks[1].target_dev, "vdz");
  EXPECT_TRUE(spec->disks[1].read_only);
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning) << controller_.vms.at(id).state_reason;

  // Converged: nothing rewritten, not even by a restarted agent (same bytes).
  const auto written = std::filesystem::last_write_time(seed);
  const int writes = Writes();
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  Reconciler restarted(hv_, controller_, o);
  ASSERT_TRUE(restarted.Reconcile(controller_.Answer()).ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(hv_.CallCount(Op::kAttachDisk), 0);
  EXPECT_EQ(std::filesystem::last_write_time(seed), written);

  // A domain defined before seeds existed gets it plugged in.
  api::Vm& old = controller_.Add();
  Reconciler without_seeds(hv_, controller_, Options());
  ASSERT_TRUE(without_seeds.Reconcile(controller_.Answer()).ok());
  ASSERT_EQ(hv_.GetDomain(old.meta.id)->disks.size(), 1u);
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  EXPECT_EQ(hv_.CallCount(Op::kAttachDisk), 1);
  ASSERT_EQ(hv_.GetDomain(old.meta.id)->disks.size(), 2u);
  EXPECT_EQ(hv_.GetDomain(old.meta.id)->disks[1].target_dev, "vdz");

  // Deleted: the seed file goes too, nothing left in the seed dir.
  for (auto& [vm_id, vm] : controller_.vms) {
    vm.deleting = true;
    ++vm.generation;
  }
  ASSERT_TRUE(r.Reconcile(controller_.Answer()).ok());
  EXPECT_TRUE(controller_.vms.empty());
  EXPECT_FALSE(std::filesystem::exists(seed));
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST_F(ReconcilerTest, RepairsDriftAndRecordsEvents) {
  const std::string a = controller_.Add().meta.id;
  const std::string b = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(hv_.SimulateDestroyedBehindOurBack(a).ok());
  ASSERT_TRUE(hv_.SimulateUndefinedBehindOurBack(b).ok());
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.GetDomain(a)->state, PowerState::kRunning);
  EXPECT_EQ(hv_.GetDomain(b)->state, PowerState::kRunning);
  ASSERT_EQ(reconciler_.events().size(), 2u);
  std::map<std::string, std::string> kinds;
  for (const auto& e : reconciler_.events()) kinds[e.vm_id] = e.kind;
  EXPECT_EQ(kinds[a], "restarted");
  EXPECT_EQ(kinds[b], "redefined");
}

TEST_F(ReconcilerTest, DriftEventsReachTheControllerAndAreRetriedAfterAFailure) {
  const std::string a = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  controller_.fail_events = Unavailable("controller down");
  ASSERT_TRUE(hv_.SimulateDestroyedBehindOurBack(a).ok());
  ASSERT_TRUE(Pass().ok());  // repaired, but the event could not be sent
  EXPECT_TRUE(controller_.reported_events.empty());
  controller_.fail_events = OkStatus();
  ASSERT_TRUE(Pass().ok());  // nothing new to repair; the queued event goes now
  ASSERT_EQ(controller_.reported_events.size(), 1u);
  EXPECT_EQ(controller_.reported_events[0].vm_id, a);
  EXPECT_EQ(controller_.reported_events[0].kind, "restarted");
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.reported_events.size(), 1u);  // sent once
}

TEST_F(ReconcilerTest, EventsTheControllerRefusesAreDroppedNotRetriedForEver) {
  const std::string a = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  controller_.fail_events = InvalidArgument("event kind 'restarted' is not one an agent reports");
  ASSERT_TRUE(hv_.SimulateDestroyedBehindOurBack(a).ok());
  ASSERT_TRUE(Pass().ok());
  controller_.fail_events = OkStatus();
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(controller_.reported_events.empty()) << "the refused batch is not sent again";
  ASSERT_TRUE(hv_.SimulateDestroyedBehindOurBack(a).ok());
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.reported_events.size(), 1u) << "later events still go";
}

TEST_F(ReconcilerTest, AHostileWatchedItemNeverTouchesTheHost) {
  const std::string good = controller_.Add().meta.id;
  // An id that would be a path, another host's VM, absurd sizes.
  api::Vm traversal = controller_.Add();
  controller_.vms.erase(traversal.meta.id);
  traversal.meta.id = "../../../etc/cron.d/x";
  controller_.vms[traversal.meta.id] = traversal;
  api::Vm& elsewhere = controller_.Add();
  elsewhere.host_id = "host-2";
  const std::string elsewhere_id = elsewhere.meta.id;
  controller_.Add().memory_mib = kMaxVmMemoryMib + 1;
  controller_.Add().vcpus = 0;

  auto pass = Pass();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->refused, 4);
  EXPECT_GE(pass->errors, 4);
  EXPECT_EQ(pass->vms, 1) << "only the good VM is acted on";
  EXPECT_EQ(hv_.CallCount(Op::kDefineDomain), 1);
  EXPECT_EQ(hv_.CallCount(Op::kCreateDisk), 1);
  EXPECT_TRUE(hv_.GetDomain(good).ok());
  EXPECT_FALSE(hv_.GetDomain(elsewhere_id).ok());
  int refused_events = 0;
  for (const auto& e : reconciler_.events()) {
    if (e.kind != "item_refused") continue;
    ++refused_events;
    EXPECT_TRUE(e.vm_id.empty() || e.vm_id.size() == 36) << "only a UUID is ever named: " << e.vm_id;
  }
  EXPECT_EQ(refused_events, 4);
}

TEST(CheckWatchedVmTest, NamesTheProblem) {
  api::Vm v;
  v.meta.id = "11111111-1111-4111-8111-111111111111";
  v.host_id = "h";
  v.vcpus = 1;
  v.memory_mib = 64;
  EXPECT_TRUE(CheckWatchedVm(v, "h").ok());
  v.disk_gib = -1;
  EXPECT_NE(CheckWatchedVm(v, "h").message().find("-1 GiB"), std::string::npos);
  v.disk_gib = 0;
  v.meta.id = std::string("\n") + std::string(100, 'a');
  const Status bad = CheckWatchedVm(v, "h");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message().find('\n'), std::string::npos) << "control bytes are not echoed";
  EXPECT_LT(bad.message().size(), 120u) << "what was sent is quoted bounded";
}

TEST_F(ReconcilerTest, ActualUsageCountsEveryDomainAndOnlyRunningResources) {
  const std::string running_id = controller_.Add().meta.id;
  controller_.Add(api::PowerState::kStopped);
  ASSERT_TRUE(Pass().ok());
  hv_.AddForeignDomain(NewUuid(), "hand-made", PowerState::kShutoff);
  auto u = MeasureActualUsage(hv_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->domains, 3);
  EXPECT_EQ(u->govpool_domains, 2);
  EXPECT_EQ(u->running, 1);
  auto running = hv_.GetDomain(running_id);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(u->vcpus, running->vcpus);
  EXPECT_EQ(u->memory_mib, running->memory_mib);
}

TEST_F(ReconcilerTest, RemovesOrphansButNeverForeignOrOtherHostsDomains) {
  const std::string keep = controller_.Add().meta.id;
  const std::string gone = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  const std::string foreign = NewUuid();
  hv_.AddForeignDomain(foreign, "hand-made", PowerState::kRunning);
  DomainSpec other;
  other.uuid = NewUuid();
  other.name = "govpool-" + other.uuid;
  other.memory_mib = 128;
  other.metadata = {{"vm_id", other.uuid}, {"host_id", "host-2"}};
  ASSERT_TRUE(hv_.DefineDomain(other).ok());
  DomainSpec hostless;  // govpool metadata but no host id: e.g. a test's domain
  hostless.uuid = NewUuid();
  hostless.name = "govpool-test-" + hostless.uuid.substr(0, 8);
  hostless.memory_mib = 128;
  hostless.metadata = {{"vm_id", hostless.uuid}};
  ASSERT_TRUE(hv_.DefineDomain(hostless).ok());
  controller_.vms.erase(gone);  // e.g. force-deleted at the controller
  auto summary = Pass();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->orphans_removed, 1);
  EXPECT_EQ(hv_.GetDomain(gone).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(hv_.HasDisk(reconciler_.DiskPath(gone)));
  EXPECT_TRUE(hv_.GetDomain(keep).ok());
  EXPECT_EQ(hv_.GetDomain(foreign)->state, PowerState::kRunning);
  EXPECT_TRUE(hv_.GetDomain(other.uuid).ok());
  EXPECT_TRUE(hv_.GetDomain(hostless.uuid).ok());
  ASSERT_FALSE(reconciler_.events().empty());
  EXPECT_EQ(reconciler_.events().back().kind, "orphan_removed");
}

TEST_F(ReconcilerTest, AForeignDomainWithTheVmsUuidIsAnErrorNotTouched) {
  api::Vm& v = controller_.Add();
  hv_.AddForeignDomain(v.meta.id, "someone-elses", PowerState::kShutoff);
  auto summary = Pass();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->errors, 1);
  EXPECT_EQ(hv_.CallCount(Op::kDefineDomain), 0);
  EXPECT_EQ(hv_.CallCount(Op::kStartDomain), 0);
  EXPECT_EQ(controller_.vms.at(v.meta.id).state, api::VmState::kError);
}

TEST_F(ReconcilerTest, FailuresReportErrorAndRecover) {
  const std::string id = controller_.Add().meta.id;
  hv_.FailNext(Op::kStartDomain, 1, Internal("qemu exploded"));
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kError);
  EXPECT_NE(controller_.vms.at(id).state_reason.find("qemu exploded"), std::string::npos);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_EQ(controller_.vms.at(id).state_reason, "");
}

TEST_F(ReconcilerTest, UnavailableHypervisorSkipsThePassWithoutReports) {
  controller_.Add();
  hv_.FailNext(Op::kListDomains, 1, Unavailable("libvirtd restarting"));
  auto r = Pass();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(controller_.reports.empty());
  hv_.FailNext(Op::kStartDomain, 1, Unavailable("libvirtd restarting"));
  ASSERT_TRUE(Pass().ok());
  // building was reported, but no error for a transient outage.
  for (const auto& [id, rep] : controller_.reports) EXPECT_NE(rep.state, api::VmState::kError);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.reports.back().second.state, api::VmState::kRunning);
}

TEST_F(ReconcilerTest, FailedReportsAreRetriedNextPass) {
  const std::string id = controller_.Add().meta.id;
  controller_.fail_reports = Unavailable("controller down");
  auto s = Pass();
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s->errors, 0);
  controller_.fail_reports = OkStatus();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_EQ(hv_.BootCount(id), 1);
}

// --- NICs: the ports whose device_id is the VM (answer.ports) ---

class ReconcilerNicTest : public ReconcilerTest {
 protected:
  // A port of `vm_id` (empty: unbound) with a MAC made from `n`.
  api::Port& AddPort(const std::string& vm_id, int n) {
    api::Port p;
    p.meta.id = NewUuid();
    p.device_id = vm_id;
    char mac[18];
    std::snprintf(mac, sizeof mac, "02:00:00:00:00:%02x", n);
    p.mac_address = mac;
    ports_.push_back(p);
    return ports_.back();
  }
  static NicSpec NicOf(const api::Port& p) {
    NicSpec n;
    n.port_id = p.meta.id;
    n.mac = p.mac_address;
    return n;
  }
  Result<ReconcileSummary> Pass() {
    api::WatchAnswer a = controller_.Answer();
    a.ports.assign(ports_.begin(), ports_.end());
    return reconciler_.Reconcile(a);
  }
  std::vector<NicSpec> LiveNics(const std::string& id) {
    auto d = hv_.GetDomain(id);
    return d.ok() ? d->nics : std::vector<NicSpec>{};
  }
  int NicWrites() { return hv_.CallCount(Op::kAttachNic) + hv_.CallCount(Op::kDetachNic); }

  std::deque<api::Port> ports_;  // stable references for AddPort's callers
};

TEST_F(ReconcilerNicTest, DefinesTheVmsPortsAsNicsInOrderAndAConvergedPassWritesNothing) {
  const std::string id = controller_.Add().meta.id;
  const std::string other = controller_.Add().meta.id;
  const api::Port first = AddPort(id, 1);
  AddPort(other, 2);
  AddPort("", 3);  // unbound: nobody's NIC
  const api::Port second = AddPort(id, 4);
  ASSERT_TRUE(Pass().ok());
  auto spec = hv_.GetSpec(id);
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->nics, (std::vector<NicSpec>{NicOf(first), NicOf(second)}));
  EXPECT_EQ(spec->nics[0].bridge, "br-int");
  EXPECT_EQ(LiveNics(id), spec->nics);
  EXPECT_EQ(hv_.GetSpec(other)->nics.size(), 1u);
  EXPECT_EQ(NicWrites(), 0) << "defined with the domain, not plugged afterwards";

  const int writes = Writes();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(NicWrites(), 0);
}

TEST_F(ReconcilerNicTest, HotPlugsNewPortsAndUnplugsRemovedOnes) {
  const std::string id = controller_.Add().meta.id;
  const api::Port first = AddPort(id, 1);
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(LiveNics(id), std::vector<NicSpec>{NicOf(first)});

  const api::Port second = AddPort(id, 2);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.CallCount(Op::kAttachNic), 1);
  EXPECT_EQ(LiveNics(id), (std::vector<NicSpec>{NicOf(first), NicOf(second)}));
  EXPECT_EQ(hv_.GetSpec(id)->nics, LiveNics(id)) << "in the definition too";
  EXPECT_EQ(hv_.BootCount(id), 1) << "hot-plugged, not rebooted";

  ports_.pop_front();  // the first port is no longer the VM's
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.CallCount(Op::kDetachNic), 1);
  EXPECT_EQ(LiveNics(id), std::vector<NicSpec>{NicOf(second)});
  EXPECT_EQ(hv_.GetSpec(id)->nics, LiveNics(id));
  const int nic_writes = NicWrites();
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(NicWrites(), nic_writes);
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_EQ(controller_.vms.at(id).state_reason, "");
}

TEST_F(ReconcilerNicTest, AFailedPlugIsShownAndRetriedNextPass) {
  const std::string id = controller_.Add().meta.id;
  ASSERT_TRUE(Pass().ok());
  const api::Port port = AddPort(id, 1);
  hv_.FailNext(Op::kAttachNic, 1, Internal("ovs-vsctl failed"));
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(LiveNics(id).empty());
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_NE(controller_.vms.at(id).state_reason.find("attaching the NIC of port " + port.meta.id),
            std::string::npos)
      << controller_.vms.at(id).state_reason;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(LiveNics(id), std::vector<NicSpec>{NicOf(port)});
  EXPECT_EQ(controller_.vms.at(id).state_reason, "");
  // An unavailable hypervisor is not a problem to show: the next pass retries.
  const api::Port second = AddPort(id, 2);
  hv_.FailNext(Op::kAttachNic, 1, Unavailable("libvirtd restarting"));
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(controller_.vms.at(id).state_reason, "");
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(LiveNics(id).size(), 2u);
}

TEST_F(ReconcilerNicTest, APortThatCannotBeANicIsShownAndTheRestStillWorks) {
  const std::string id = controller_.Add().meta.id;
  api::Port& bad = AddPort(id, 1);
  bad.mac_address = "";  // not a MAC
  const std::string bad_id = bad.meta.id;
  const api::Port good = AddPort(id, 2);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(LiveNics(id), std::vector<NicSpec>{NicOf(good)});
  EXPECT_EQ(controller_.vms.at(id).state, api::VmState::kRunning);
  EXPECT_NE(controller_.vms.at(id).state_reason.find("port " + bad_id + " cannot be a NIC"),
            std::string::npos)
      << controller_.vms.at(id).state_reason;
}

TEST_F(ReconcilerNicTest, RedefinitionsKeepTheNicsAndAStoppedVmGetsThemInItsDefinition) {
  api::Vm& v = controller_.Add();
  const std::string id = v.meta.id;
  const api::Port port = AddPort(id, 1);
  ASSERT_TRUE(Pass().ok());
  controller_.vms.at(id).reboot_count = 1;
  controller_.vms.at(id).generation = 2;
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.GetSpec(id)->metadata.at("reboots_done"), "1");
  EXPECT_EQ(hv_.GetSpec(id)->nics, std::vector<NicSpec>{NicOf(port)});

  controller_.vms.at(id).power = api::PowerState::kStopped;
  controller_.vms.at(id).generation = 3;
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(Pass().ok());
  ASSERT_EQ(hv_.GetDomain(id)->state, PowerState::kShutoff);
  const api::Port second = AddPort(id, 2);
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(hv_.GetSpec(id)->nics, (std::vector<NicSpec>{NicOf(port), NicOf(second)}));
  EXPECT_EQ(hv_.GetDomain(id)->state, PowerState::kShutoff);
}

TEST(VmUseMeterTest, RatesFromTheChangeInCpuTimeAndNoneAcrossARestartOrForAStoppedDomain) {
  using std::chrono::seconds;
  VmUseMeter meter;
  const VmUseMeter::TimePoint t0{};
  auto stats = [](std::string uuid, PowerState state, std::uint64_t cpu_ns) {
    DomainStats d;
    d.uuid = std::move(uuid);
    d.state = state;
    d.cpu_time_ns = cpu_ns;
    d.memory_used_bytes = 512LL << 20;
    return d;
  };
  auto first = meter.Measure({stats("a", PowerState::kRunning, 10'000'000'000), stats("b", PowerState::kShutoff, 0)}, t0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].cpu_busy_millicores, 0);
  EXPECT_EQ(first[0].memory_used_mib, 512);
  // 15 s of CPU in 10 s: 1.5 CPUs.
  auto second = meter.Measure({stats("a", PowerState::kRunning, 25'000'000'000)}, t0 + seconds(10));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].cpu_busy_millicores, 1500);
  // Restarted: its counter went back; no rate rather than a wrapped one.
  auto third = meter.Measure({stats("a", PowerState::kRunning, 1'000'000'000)}, t0 + seconds(20));
  EXPECT_EQ(third[0].cpu_busy_millicores, 0);
  auto fourth = meter.Measure({stats("a", PowerState::kRunning, 3'000'000'000)}, t0 + seconds(30));
  EXPECT_EQ(fourth[0].cpu_busy_millicores, 200);
  // Stopped, then running again: the sample before the stop is forgotten.
  EXPECT_TRUE(meter.Measure({stats("a", PowerState::kShutoff, 0)}, t0 + seconds(40)).empty());
  auto fifth = meter.Measure({stats("a", PowerState::kRunning, 90'000'000'000)}, t0 + seconds(50));
  EXPECT_EQ(fifth[0].cpu_busy_millicores, 0);
}

}  // namespace
}  // namespace govpool::agent
