// The Hypervisor contract, one parameterised suite run against every implementation:
//   fake          FakeHypervisor (in memory, with test controls)
//   simulated     SimulatedHypervisor (in memory; the hosts of `govpool-agent --simulate-hosts`)
//   libvirt_test  LibvirtHypervisor on libvirt's in-process test:///default driver
//   libvirt_qemu  LibvirtHypervisor on a real libvirtd (qemu:///system) booting a tiny guest
//                 under TCG. The suite starts libvirtd itself (scripts/start-libvirtd.sh) and
//                 prepares the guest (scripts/make-test-guest.sh, cached): it never skips.
// Where an implementation legitimately differs, the test says what it expects of each (for
// example: only a real guest writes its console log; a simulated host has no other writer, so
// drift comes through the same object and foreign domains cannot exist); nothing is skipped.
// Every test names its domains "govpool-test-<random>" and removes its domains and files in
// TearDown, also when it fails. State and caches go under $GOVPOOL_STATE_DIR
// (default /var/tmp/govpool).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/drivers/hypervisor.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "agent/simulated_hypervisor.h"
#include "common/ids.h"
#include "tests/fakes/agent/fake_hypervisor.h"
#include "tests/support/test_guest.h"

namespace govpool::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;
using testing::kGuestBootedMarker;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;

// Starts libvirtd and builds the test guest once per process; returns "" or an error.
const std::string& PrepareRealHost() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    if (RunProjectScript("start-libvirtd.sh") != 0) {
      error = "scripts/start-libvirtd.sh failed";
    } else if (RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'") != 0) {
      error = "scripts/make-test-guest.sh failed";
    }
  });
  return error;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

// A simulated host as `govpool-agent --simulate-hosts` makes them (no CPU model given).
HostFacts SimulatedHostFacts() {
  HostFacts facts;
  facts.hostname = "sim-00001";
  facts.cpus = 32;
  facts.memory_mib = 128 * 1024;
  facts.numa_cells = {{0, 16, 64 * 1024}, {1, 16, 64 * 1024}};
  facts.domain_types = {"qemu"};
  return facts;
}

class HypervisorContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool real() const { return GetParam() == "libvirt_qemu"; }
  bool is_libvirt() const { return GetParam() == "libvirt_test" || GetParam() == "libvirt_qemu"; }
  // Only a real guest writes its serial console to spec.serial_log_path.
  bool writes_console() const { return real(); }
  // Whether the disk CreateDisk made at `path` exists, asked the way each implementation can.
  bool DiskExists(const std::string& path) const {
    if (fake_) return fake_->HasDisk(path);
    if (simulated_) return simulated_->HasDisk(path);
    return fs::exists(path);
  }

  void SetUp() override {
    run_dir_ = TestStateDir() + "/test-runs/" + NewUuid().substr(0, 13);
    fs::create_directories(run_dir_);
    // QEMU runs as an unprivileged user: it must traverse into the directory of its disks.
    fs::permissions(run_dir_, fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
    if (GetParam() == "fake") {
      fake_ = std::make_unique<FakeHypervisor>();
      hv_ = fake_.get();
      return;
    }
    if (GetParam() == "simulated") {
      simulated_ = std::make_unique<SimulatedHypervisor>(SimulatedHostFacts());
      hv_ = simulated_.get();
      return;
    }
    LibvirtOptions options;
    options.uri = "test:///default";
    if (real()) {
      const std::string& error = PrepareRealHost();
      ASSERT_EQ(error, "");
      options.uri = "qemu:///system";
    }
    auto opened = LibvirtHypervisor::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    libvirt_ = std::move(*opened);
    hv_ = libvirt_.get();
    // A second, independent connection: changes made through it happen "behind the back" of
    // hv_ (test:///default is shared by all connections of the process).
    auto other = LibvirtHypervisor::Open(options);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_ = std::move(*other);
  }

  void TearDown() override {
    if (hv_ != nullptr) {
      for (const auto& uuid : secrets_) hv_->RemoveSecret(uuid).IgnoreError();
      for (const auto& uuid : created_) {
        hv_->DestroyDomain(uuid).IgnoreError();
        hv_->UndefineDomain(uuid).IgnoreError();
        EXPECT_EQ(hv_->GetDomain(uuid).status().code(), StatusCode::kNotFound)
            << "domain " << uuid << " left behind";
      }
    }
    std::error_code ec;
    fs::remove_all(run_dir_, ec);
  }

  // A spec with a unique name; for the real backend it boots the test guest.
  DomainSpec NewSpec(bool with_disk = false) {
    DomainSpec s;
    s.uuid = NewUuid();
    s.name = "govpool-test-" + s.uuid.substr(0, 8);
    s.domain_type = "qemu";
    if (is_libvirt()) {
      auto facts = hv_->GetHostFacts();
      if (facts.ok()) s.domain_type = ChooseDomainType(*facts, "").value();
    }
    // Under TCG only "qemu" boots here; on the real host force it (real-daemons.md).
    if (real()) s.domain_type = "qemu";
    s.vcpus = 1;
    s.memory_mib = 128;
    s.kernel_path = TestGuestDir() + "/vmlinuz";
    s.initrd_path = TestGuestDir() + "/initrd.img";
    s.kernel_cmdline = "console=ttyS0 panic=-1";
    s.serial_log_path = run_dir_ + "/" + s.name + ".console.log";
    if (with_disk) s.disks.push_back({run_dir_ + "/" + s.name + ".qcow2", "qcow2", "vda"});
    s.metadata = {{"vm_id", s.uuid}, {"department", "eng & <ops>"}, {"generation", "1"},
                  {"quote\"s", "it's \xc3\xa9"}};
    created_.push_back(s.uuid);
    return s;
  }

  // Waits until the guest printed the boot marker at least `count` times (real backend only).
  void WaitForMarker(const DomainSpec& s, int count) {
    if (!real()) return;
    const bool ok = WaitUntil(
        [&] { return CountOccurrences(ReadFile(s.serial_log_path), kGuestBootedMarker) >= count; },
        std::chrono::seconds(300));  // ~7 s on an idle host; TCG slows a lot under load
    ASSERT_TRUE(ok) << "no boot marker #" << count << " on " << s.serial_log_path << ":\n"
                    << ReadFile(s.serial_log_path).substr(0, 4000);
  }

  void WaitForState(const std::string& uuid, PowerState want) {
    PowerState last = PowerState::kOther;
    const bool ok = WaitUntil(
        [&] {
          auto d = hv_->GetDomain(uuid);
          if (d.ok()) last = d->state;
          return d.ok() && d->state == want;
        },
        std::chrono::seconds(real() ? 180 : 5));
    ASSERT_TRUE(ok) << "domain " << uuid << " never reached state " << static_cast<int>(want)
                    << " (last " << static_cast<int>(last) << ")";
  }

  // Waits until the console shows `line` (real backend only).
  void WaitForConsole(const DomainSpec& s, const std::string& line) {
    if (!real()) return;
    const bool ok = WaitUntil([&] { return ReadFile(s.serial_log_path).find(line) != std::string::npos; },
                              std::chrono::seconds(120));
    ASSERT_TRUE(ok) << "no '" << line << "' on " << s.serial_log_path << ":\n"
                    << ReadFile(s.serial_log_path).substr(0, 6000);
  }

  // A raw data disk file of `bytes` starting with `marker` (for libvirt backends; the
  // in-memory ones never open it).
  std::string MakeRawDisk(const std::string& name, std::int64_t bytes, const std::string& marker) {
    const std::string path = run_dir_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary);
      out << marker;
    }
    fs::resize_file(path, static_cast<std::uintmax_t>(bytes));
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    return path;
  }

  // The disks GetDomain reports.
  std::vector<DiskSpec> DisksOf(const std::string& uuid) {
    auto d = hv_->GetDomain(uuid);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? d->disks : std::vector<DiskSpec>{};
  }

  // libvirt's test:///default driver implements neither secrets nor device hot-plug or block
  // resize: every such call must say so (kUnimplemented) instead of pretending.
  bool lacks_hotplug() const { return GetParam() == "libvirt_test"; }

  // "Behind our back": an operator or a crash changes the domain outside hv_. A simulated
  // host has no other writer (no virsh, no second connection): its drift can only come
  // through the object itself, which is what the scale tests' reconcilers then see.
  void DestroyBehindOurBack(const std::string& uuid) {
    if (fake_) {
      ASSERT_TRUE(fake_->SimulateDestroyedBehindOurBack(uuid).ok());
    } else if (simulated_) {
      ASSERT_TRUE(simulated_->DestroyDomain(uuid).ok());
    } else {
      ASSERT_TRUE(other_->DestroyDomain(uuid).ok());
    }
  }
  void UndefineBehindOurBack(const std::string& uuid) {
    if (fake_) {
      ASSERT_TRUE(fake_->SimulateUndefinedBehindOurBack(uuid).ok());
    } else if (simulated_) {
      ASSERT_TRUE(simulated_->DestroyDomain(uuid).ok());
      ASSERT_TRUE(simulated_->UndefineDomain(uuid).ok());
    } else {
      ASSERT_TRUE(other_->DestroyDomain(uuid).ok());
      ASSERT_TRUE(other_->UndefineDomain(uuid).ok());
    }
  }

  std::string run_dir_;
  std::unique_ptr<FakeHypervisor> fake_;
  std::unique_ptr<SimulatedHypervisor> simulated_;
  std::unique_ptr<LibvirtHypervisor> libvirt_;
  std::unique_ptr<LibvirtHypervisor> other_;
  Hypervisor* hv_ = nullptr;
  std::vector<std::string> created_;
  std::vector<std::string> secrets_;
};

TEST_P(HypervisorContractTest, HostFacts) {
  auto facts = hv_->GetHostFacts();
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  EXPECT_GT(facts->cpus, 0);
  EXPECT_GT(facts->memory_mib, 0);
  EXPECT_FALSE(facts->cpu_model.empty());
  EXPECT_FALSE(facts->hostname.empty());
  ASSERT_FALSE(facts->numa_cells.empty());
  std::int64_t cell_cpus = 0;
  for (const auto& c : facts->numa_cells) {
    EXPECT_GT(c.cpus, 0);
    EXPECT_GT(c.memory_mib, 0);
    cell_cpus += c.cpus;
  }
  EXPECT_EQ(cell_cpus, facts->cpus);
  ASSERT_FALSE(facts->domain_types.empty());
  auto chosen = ChooseDomainType(*facts, "");
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_NE(std::find(facts->domain_types.begin(), facts->domain_types.end(), *chosen),
            facts->domain_types.end());
  EXPECT_EQ(ChooseDomainType(*facts, "no-such-type").status().code(),
            StatusCode::kInvalidArgument);
  if (real()) {
    // This machine's /dev/kvm cannot boot a stock kernel: detection must say TCG.
    EXPECT_EQ(*chosen, "qemu");
  }
  if (simulated_) {
    // The facts it was made with, completed where the agent leaves them empty.
    EXPECT_EQ(facts->hostname, "sim-00001");
    EXPECT_EQ(facts->cpus, 32);
    EXPECT_EQ(facts->cpu_model, "simulated");
    EXPECT_EQ(facts->numa_cells.size(), 2u);
    EXPECT_FALSE(facts->kvm_usable);
    EXPECT_EQ(*chosen, "qemu");
  }
}

TEST_P(HypervisorContractTest, DefineGetListRedefineUndefine) {
  DomainSpec s = NewSpec();
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  auto d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->uuid, s.uuid);
  EXPECT_EQ(d->name, s.name);
  EXPECT_EQ(d->state, PowerState::kShutoff);
  EXPECT_TRUE(d->persistent);
  EXPECT_TRUE(d->owned);
  EXPECT_EQ(d->metadata, s.metadata);
  EXPECT_EQ(d->vcpus, 1);
  EXPECT_EQ(d->memory_mib, 128);

  auto list = hv_->ListDomains();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  auto it = std::find_if(list->begin(), list->end(),
                         [&](const DomainInfo& i) { return i.uuid == s.uuid; });
  ASSERT_NE(it, list->end());
  EXPECT_TRUE(it->owned);
  EXPECT_EQ(it->metadata, s.metadata);

  // Same spec again: idempotent. Changed spec: replaces the definition.
  EXPECT_TRUE(hv_->DefineDomain(s).ok());
  s.memory_mib = 160;
  s.vcpus = 2;
  s.metadata["generation"] = "2";
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->memory_mib, 160);
  EXPECT_EQ(d->vcpus, 2);
  EXPECT_EQ(d->metadata.at("generation"), "2");

  ASSERT_TRUE(hv_->UndefineDomain(s.uuid).ok());
  EXPECT_EQ(hv_->GetDomain(s.uuid).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(hv_->UndefineDomain(s.uuid).ok()) << "undefine must be idempotent";
}

TEST_P(HypervisorContractTest, ErrorsForAbsentDomainsAndBadInput) {
  const std::string absent = NewUuid();
  auto got = hv_->GetDomain(absent);
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(got.status().message().empty());
  EXPECT_EQ(hv_->StartDomain(absent).code(), StatusCode::kNotFound);
  EXPECT_EQ(hv_->ShutdownDomain(absent).code(), StatusCode::kNotFound);
  EXPECT_EQ(hv_->DestroyDomain(absent).code(), StatusCode::kNotFound);
  EXPECT_EQ(hv_->RebootDomain(absent).code(), StatusCode::kNotFound);
  EXPECT_TRUE(hv_->UndefineDomain(absent).ok());
  EXPECT_EQ(hv_->GetDomain("not-a-uuid").status().code(), StatusCode::kInvalidArgument);

  DomainSpec s = NewSpec();
  DomainSpec bad = s;
  bad.uuid = "nope";
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  bad = s;
  bad.vcpus = 0;
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  bad = s;
  bad.memory_mib = 0;
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  bad = s;
  bad.disks.push_back({"relative.qcow2", "qcow2", "vda"});
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->GetDomain(s.uuid).status().code(), StatusCode::kNotFound);
}

TEST_P(HypervisorContractTest, NameAndUuidCollisions) {
  DomainSpec a = NewSpec();
  ASSERT_TRUE(hv_->DefineDomain(a).ok());
  DomainSpec b = NewSpec();
  b.name = a.name;
  EXPECT_EQ(hv_->DefineDomain(b).code(), StatusCode::kAlreadyExists);
  DomainSpec renamed = a;
  renamed.name = a.name + "-renamed";
  EXPECT_EQ(hv_->DefineDomain(renamed).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(hv_->GetDomain(a.uuid)->name, a.name);
}

TEST_P(HypervisorContractTest, PowerLifecycleIsIdempotent) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  ASSERT_TRUE(hv_->CreateDisk(s.disks[0].path, 1).ok());
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  EXPECT_EQ(hv_->RebootDomain(s.uuid).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(hv_->ShutdownDomain(s.uuid).ok()) << "shutdown of an off domain is OK";
  EXPECT_TRUE(hv_->DestroyDomain(s.uuid).ok()) << "destroy of an off domain is OK";

  Status st = hv_->StartDomain(s.uuid);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(hv_->GetDomain(s.uuid)->state, PowerState::kRunning);
  EXPECT_TRUE(hv_->StartDomain(s.uuid).ok()) << "start of a running domain is OK";
  EXPECT_EQ(hv_->UndefineDomain(s.uuid).code(), StatusCode::kFailedPrecondition);
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  // Consoles: a real guest appends to its log; no guest runs behind the in-memory
  // implementations or libvirt's test driver, so nothing creates the file.
  EXPECT_EQ(fs::exists(s.serial_log_path), writes_console()) << s.serial_log_path;

  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  EXPECT_EQ(hv_->GetDomain(s.uuid)->state, PowerState::kShutoff);
  EXPECT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  auto d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->persistent) << "a destroyed domain stays defined";
  ASSERT_TRUE(hv_->UndefineDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->DeleteDisk(s.disks[0].path).ok());
}

// Statistics come for every domain in one call: a defined, stopped domain with its state and
// no made-up counters; a running one with its vCPUs, memory and disks, and on a real host
// with the CPU time and disk reads of its boot, growing from one call to the next.
TEST_P(HypervisorContractTest, DomainStatisticsInOneCall) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  ASSERT_TRUE(hv_->CreateDisk(s.disks[0].path, 1).ok());
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  auto find = [&](const std::vector<DomainStats>& all) -> const DomainStats* {
    for (const DomainStats& d : all) {
      if (d.uuid == s.uuid) return &d;
    }
    return nullptr;
  };
  auto stopped = hv_->GetDomainStats();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  const DomainStats* off = find(*stopped);
  ASSERT_NE(off, nullptr);
  EXPECT_EQ(off->name, s.name);
  EXPECT_EQ(off->state, PowerState::kShutoff);
  EXPECT_EQ(off->cpu_time_ns.value_or(0), 0u) << "a stopped domain uses no CPU";
  EXPECT_TRUE(off->disks.empty()) << "a stopped domain's disks are not counted";

  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  auto first = hv_->GetDomainStats();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const DomainStats* on = find(*first);
  ASSERT_NE(on, nullptr);
  EXPECT_EQ(on->state, PowerState::kRunning);
  // libvirt's test driver reports no vcpu and balloon groups; every other backend does.
  if (GetParam() != "libvirt_test") {
    EXPECT_EQ(on->vcpus, s.vcpus);
    ASSERT_TRUE(on->memory_bytes.has_value());
    EXPECT_EQ(*on->memory_bytes, s.memory_mib << 20);
    ASSERT_TRUE(on->memory_used_bytes.has_value());
    EXPECT_GT(*on->memory_used_bytes, 0);
    ASSERT_EQ(on->disks.size(), 1u);
    EXPECT_EQ(on->disks[0].target, "vda");
    ASSERT_TRUE(on->cpu_time_ns.has_value());
  }
  if (real()) {
    EXPECT_GT(*on->cpu_time_ns, 0u) << "the guest booted";
    EXPECT_GT(on->disks[0].read_bytes, 0u) << "the guest's kernel read its disk";
    EXPECT_GT(on->disks[0].reads, 0u);
    const std::uint64_t cpu_before = *on->cpu_time_ns;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto later = hv_->GetDomainStats();
    ASSERT_TRUE(later.ok());
    ASSERT_NE(find(*later), nullptr);
    EXPECT_GE(find(*later)->cpu_time_ns.value_or(0), cpu_before);
  }
  auto host = hv_->GetHostUsage();
  if (GetParam() == "libvirt_test") {
    EXPECT_EQ(host.status().code(), StatusCode::kUnimplemented) << "the test driver has no node statistics";
  } else {
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    EXPECT_GT(host->memory_total_bytes, 0);
    EXPECT_LE(host->memory_available_bytes, host->memory_total_bytes);
    if (real()) {
      EXPECT_GT(host->cpu_busy_ns, 0u);
    }
  }
  EXPECT_TRUE(hv_->Connection().up);

  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->UndefineDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->DeleteDisk(s.disks[0].path).ok());
}

TEST_P(HypervisorContractTest, GracefulShutdownAndReboot) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  ASSERT_TRUE(hv_->CreateDisk(s.disks[0].path, 1).ok());
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  if (real()) {
    // The guest saw its virtio disk.
    EXPECT_NE(ReadFile(s.serial_log_path).find("GOVPOOL-GUEST-DISKS: vda"), std::string::npos);
  }
  Status st = hv_->RebootDomain(s.uuid);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 2));  // booted again, same domain
  ASSERT_NO_FATAL_FAILURE(WaitForState(s.uuid, PowerState::kRunning));

  st = hv_->ShutdownDomain(s.uuid);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForState(s.uuid, PowerState::kShutoff));
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 3));
  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->UndefineDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->DeleteDisk(s.disks[0].path).ok());
  EXPECT_FALSE(DiskExists(s.disks[0].path));
}

TEST_P(HypervisorContractTest, DriftBehindOurBackIsVisibleAndRepairable) {
  DomainSpec s = NewSpec();
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));

  ASSERT_NO_FATAL_FAILURE(DestroyBehindOurBack(s.uuid));
  EXPECT_EQ(hv_->GetDomain(s.uuid)->state, PowerState::kShutoff);
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  EXPECT_EQ(hv_->GetDomain(s.uuid)->state, PowerState::kRunning);

  ASSERT_NO_FATAL_FAILURE(UndefineBehindOurBack(s.uuid));
  EXPECT_EQ(hv_->GetDomain(s.uuid).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  auto d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, PowerState::kRunning);
  EXPECT_TRUE(d->owned);
  EXPECT_EQ(d->metadata, s.metadata);
}

TEST_P(HypervisorContractTest, DomainsWithoutGovpoolMetadataAreNotOwned) {
  if (simulated_) {
    // A simulated host has no other writer: every domain on it came through DefineDomain,
    // so every domain it lists is owned, even one whose metadata is empty.
    DomainSpec mine = NewSpec();
    mine.metadata.clear();
    ASSERT_TRUE(hv_->DefineDomain(mine).ok());
    auto list = hv_->ListDomains();
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    ASSERT_EQ(list->size(), 1u);
    EXPECT_TRUE(list->front().owned);
    return;
  }
  std::string foreign_uuid;
  if (fake_) {
    foreign_uuid = NewUuid();
    fake_->AddForeignDomain(foreign_uuid, "hand-made", PowerState::kRunning);
  } else if (GetParam() == "libvirt_test") {
    foreign_uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";  // test:///default's "test" domain
  } else {
    // A domain defined by hand (virsh), without govpool metadata.
    foreign_uuid = NewUuid();
    const std::string xml_path = run_dir_ + "/foreign.xml";
    std::ofstream(xml_path) << "<domain type='qemu'><name>govpool-test-foreign-"
                            << foreign_uuid.substr(0, 8) << "</name><uuid>" << foreign_uuid
                            << "</uuid><memory unit='MiB'>96</memory><vcpu>1</vcpu>"
                            << "<os><type>hvm</type></os></domain>";
    created_.push_back(foreign_uuid);
    ASSERT_EQ(std::system(("virsh -q -c qemu:///system define '" + xml_path +
                           "' >/dev/null").c_str()),
              0);
  }
  DomainSpec mine = NewSpec();
  ASSERT_TRUE(hv_->DefineDomain(mine).ok());
  auto list = hv_->ListDomains();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  bool saw_foreign = false;
  bool saw_mine = false;
  for (const auto& d : *list) {
    if (d.uuid == foreign_uuid) {
      saw_foreign = true;
      EXPECT_FALSE(d.owned);
      EXPECT_TRUE(d.metadata.empty());
    }
    if (d.uuid == mine.uuid) saw_mine = d.owned;
  }
  EXPECT_TRUE(saw_foreign);
  EXPECT_TRUE(saw_mine);
  auto foreign = hv_->GetDomain(foreign_uuid);
  ASSERT_TRUE(foreign.ok()) << foreign.status().ToString();
  EXPECT_FALSE(foreign->owned);
}

// Ownership is the presence of govpool's metadata element, not of entries in it: a domain
// defined through the seam with no metadata entries is still govpool's.
TEST_P(HypervisorContractTest, DefinedDomainsAreOwnedEvenWithoutMetadataEntries) {
  DomainSpec s = NewSpec();
  s.metadata.clear();
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  auto d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->owned);
  EXPECT_TRUE(d->metadata.empty());
}

TEST_P(HypervisorContractTest, DisksAreIdempotent) {
  const std::string path = run_dir_ + "/disks/sub/d1.qcow2";
  ASSERT_TRUE(hv_->CreateDisk(path, 1).ok());
  EXPECT_TRUE(hv_->CreateDisk(path, 1).ok());
  EXPECT_TRUE(hv_->CreateDisk(path, 2).ok()) << "an existing disk is kept, untouched";
  ASSERT_TRUE(DiskExists(path));
  if (is_libvirt()) {
    EXPECT_EQ(ReadFile(path).substr(0, 4), "QFI\xfb") << "not a qcow2 image";
    EXPECT_LT(fs::file_size(path), 1u << 20) << "qcow2 should be sparse/small";
  } else {
    EXPECT_FALSE(fs::exists(path)) << "an in-memory disk leaves no file";
  }
  ASSERT_TRUE(hv_->DeleteDisk(path).ok());
  EXPECT_TRUE(hv_->DeleteDisk(path).ok());
  EXPECT_FALSE(DiskExists(path));
  EXPECT_EQ(hv_->CreateDisk("relative.qcow2", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->CreateDisk(path, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->DeleteDisk("relative.qcow2").code(), StatusCode::kInvalidArgument);
}

TEST_P(HypervisorContractTest, ConcurrentUseFromManyThreads) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 4;
  std::vector<DomainSpec> specs;
  for (int i = 0; i < kThreads; ++i) specs.push_back(NewSpec());
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds && failures[t].empty(); ++r) {
        const DomainSpec& s = specs[t];
        Status st = hv_->DefineDomain(s);
        if (st.ok()) {
          auto d = hv_->GetDomain(s.uuid);
          st = d.ok() ? Status() : d.status();
        }
        if (st.ok()) {
          auto l = hv_->ListDomains();
          st = l.ok() ? Status() : l.status();
        }
        if (st.ok()) st = hv_->UndefineDomain(s.uuid);
        if (!st.ok()) failures[t] = st.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
}

// Disks of both source kinds read back from the definition exactly as given: what the
// reconciler compares with the disks it wants. (An RBD disk can be defined without a cluster:
// QEMU opens it only at start.)
TEST_P(HypervisorContractTest, DisksOfBothKindsRoundTripThroughTheDefinition) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  s.disks[0].serial = "root-" + s.uuid.substr(0, 8);
  DiskSpec rbd = DiskSpec::Rbd("volumes", "vol-" + s.uuid.substr(0, 8),
                               {"127.0.0.1:6789", "[::1]:3300"}, "govpool", NewUuid(), "vdb");
  rbd.serial = s.uuid.substr(0, 20);
  rbd.read_only = true;
  s.disks.push_back(rbd);
  DiskSpec no_auth = DiskSpec::Rbd("volumes", "vol-2", {"127.0.0.1:6789"}, "", "", "vdc");
  s.disks.push_back(no_auth);
  Status st = hv_->DefineDomain(s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(DisksOf(s.uuid), s.disks);
  auto list = hv_->ListDomains();
  ASSERT_TRUE(list.ok());
  for (const auto& d : *list) {
    if (d.uuid == s.uuid) {
      EXPECT_EQ(d.disks, s.disks);
    }
  }
  // Malformed disks never reach the hypervisor.
  DomainSpec bad = s;
  bad.disks[1].rbd_image = "vol@snap";
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  bad = s;
  bad.disks[1].path = "/also/a/file";
  EXPECT_EQ(hv_->DefineDomain(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DisksOf(s.uuid), s.disks);
}

TEST_P(HypervisorContractTest, CephSecretsAreIdempotent) {
  const std::string uuid = NewUuid();
  const std::string usage = "govpool-test-" + uuid.substr(0, 8);
  const std::string key = "AQDr1mtlAAAAABAAbTPy8Eb1DF2Vq0cJvzjhyw==";
  secrets_.push_back(uuid);
  Status st = hv_->EnsureCephSecret(uuid, usage, key);
  if (lacks_hotplug()) {
    EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
    EXPECT_EQ(hv_->RemoveSecret(uuid).code(), StatusCode::kUnimplemented);
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(hv_->EnsureCephSecret(uuid, usage, key).ok()) << "same secret again";
  st = hv_->EnsureCephSecret(uuid, usage, "QUJDRA==");
  EXPECT_TRUE(st.ok()) << "a new key replaces the old one: " << st.ToString();
  if (fake_) {
    EXPECT_EQ(fake_->GetSecret(uuid)->second, "QUJDRA==");
  }
  if (real()) {
    // Private and persistent, usage ceph; the value is set but cannot be read back.
    const std::string xml = [&] {
      std::string out;
      FILE* p = ::popen(("virsh -q -c qemu:///system secret-dumpxml " + uuid + " 2>&1").c_str(), "r");
      char buf[4096];
      size_t n;
      while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      if (p != nullptr) ::pclose(p);
      return out;
    }();
    EXPECT_NE(xml.find("ephemeral='no'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("private='yes'"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<name>" + usage + "</name>"), std::string::npos) << xml;
  }
  EXPECT_EQ(hv_->EnsureCephSecret(uuid, usage + "-other", key).code(),
            StatusCode::kFailedPrecondition);
  const std::string other = NewUuid();
  secrets_.push_back(other);
  EXPECT_EQ(hv_->EnsureCephSecret(other, usage, key).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(hv_->EnsureCephSecret(other, usage + "-2", "not base64!").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->EnsureCephSecret("nope", usage + "-2", key).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->EnsureCephSecret(other, "", key).code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(hv_->RemoveSecret(uuid).ok());
  EXPECT_TRUE(hv_->RemoveSecret(uuid).ok()) << "removing is idempotent";
  EXPECT_EQ(hv_->RemoveSecret("nope").code(), StatusCode::kInvalidArgument);
  // Gone: its usage name is free again.
  st = hv_->EnsureCephSecret(other, usage, key);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// On a shut-off domain, disks go to the definition only; ResizeDisk has nothing to tell.
TEST_P(HypervisorContractTest, AttachAndDetachOnAShutOffDomain) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  DiskSpec data = DiskSpec::File(MakeRawDisk("data.raw", 1 << 20, ""), "raw", "vdb");
  data.serial = "vol-1";
  Status st = hv_->AttachDisk(s.uuid, data);
  if (lacks_hotplug()) {
    EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<DiskSpec> want = {s.disks[0], data};
  EXPECT_EQ(DisksOf(s.uuid), want);
  EXPECT_TRUE(hv_->AttachDisk(s.uuid, data).ok()) << "attaching again is OK";
  EXPECT_EQ(DisksOf(s.uuid), want);

  DiskSpec other = DiskSpec::File(MakeRawDisk("other.raw", 1 << 20, ""), "raw", "vdb");
  EXPECT_EQ(hv_->AttachDisk(s.uuid, other).code(), StatusCode::kFailedPrecondition)
      << "target taken by another disk";
  DiskSpec moved = data;
  moved.target_dev = "vdc";
  EXPECT_EQ(hv_->AttachDisk(s.uuid, moved).code(), StatusCode::kFailedPrecondition)
      << "the same source at a second target";
  EXPECT_EQ(hv_->AttachDisk(s.uuid, DiskSpec::File("relative", "raw", "vdd")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->AttachDisk(NewUuid(), data).code(), StatusCode::kNotFound);

  EXPECT_TRUE(hv_->ResizeDisk(s.uuid, "vdb", 2 << 20).ok()) << "shut off: nothing to do";
  EXPECT_EQ(hv_->ResizeDisk(s.uuid, "vdz", 2 << 20).code(), StatusCode::kNotFound);
  EXPECT_EQ(hv_->ResizeDisk(s.uuid, "vdb", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->ResizeDisk(NewUuid(), "vdb", 2 << 20).code(), StatusCode::kNotFound);

  st = hv_->DetachDisk(s.uuid, "vdb");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(DisksOf(s.uuid), std::vector<DiskSpec>{s.disks[0]});
  EXPECT_TRUE(hv_->DetachDisk(s.uuid, "vdb").ok()) << "detaching an absent disk is OK";
  EXPECT_EQ(hv_->DetachDisk(NewUuid(), "vdb").code(), StatusCode::kNotFound);
  // The freed target takes another disk.
  st = hv_->AttachDisk(s.uuid, other);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// Hot-plug into a running guest: the guest sees the disk (its first bytes), its new size, its
// removal; the attachment is also in the definition, so the disk is there after a restart.
TEST_P(HypervisorContractTest, HotPlugResizeAndUnplugInARunningGuest) {
  DomainSpec s = NewSpec(/*with_disk=*/true);
  ASSERT_TRUE(hv_->CreateDisk(s.disks[0].path, 1).ok());
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "GOVPOOL-GUEST-DISK vda EMPTY"));

  const std::string marker = "GOVPOOL-MARKER-" + s.uuid.substr(0, 8);
  DiskSpec data = DiskSpec::File(MakeRawDisk("data.raw", 1 << 20, marker), "raw", "vdb");
  data.serial = "vol-" + s.uuid.substr(0, 8);
  Status st = hv_->AttachDisk(s.uuid, data);
  if (lacks_hotplug()) {
    EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
    // (Its made-up block info says every disk holds about 1 TiB.)
    EXPECT_EQ(hv_->ResizeDisk(s.uuid, "vda", 2LL << 40).code(), StatusCode::kUnimplemented);
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  // 1 MiB = 2048 sectors of 512 bytes.
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "GOVPOOL-GUEST-HOTPLUG vdb 2048 " + marker));
  std::vector<DiskSpec> want = {s.disks[0], data};
  EXPECT_EQ(DisksOf(s.uuid), want) << "the live domain has it";
  EXPECT_TRUE(hv_->AttachDisk(s.uuid, data).ok()) << "attaching again is OK";

  st = hv_->ResizeDisk(s.uuid, "vdb", 2 << 20);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "GOVPOOL-GUEST-RESIZE vdb 4096"));
  if (fake_) {
    EXPECT_EQ(fake_->GuestDiskSizeBytes(s.uuid, "vdb"), 2 << 20);
  }
  EXPECT_TRUE(hv_->ResizeDisk(s.uuid, "vdb", 2 << 20).ok()) << "same size again is OK";
  EXPECT_EQ(hv_->ResizeDisk(s.uuid, "vdb", 1 << 20).code(), StatusCode::kInvalidArgument)
      << "no shrinking";
  EXPECT_EQ(hv_->ResizeDisk(s.uuid, "vdq", 2 << 20).code(), StatusCode::kNotFound);

  st = hv_->DetachDisk(s.uuid, "vdb");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "GOVPOOL-GUEST-UNPLUG vdb"));
  EXPECT_EQ(DisksOf(s.uuid), std::vector<DiskSpec>{s.disks[0]});
  EXPECT_TRUE(hv_->DetachDisk(s.uuid, "vdb").ok());

  // Attached while running, it is in the definition too: after a power cycle the guest
  // finds it at boot.
  ASSERT_TRUE(hv_->AttachDisk(s.uuid, data).ok());
  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  EXPECT_EQ(DisksOf(s.uuid), want) << "the definition has it";
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 2));
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "GOVPOOL-GUEST-DISK vdb " + marker));
  EXPECT_EQ(DisksOf(s.uuid), want);
  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  ASSERT_TRUE(hv_->DeleteDisk(s.disks[0].path).ok());
}

// NICs on OVN's integration bridge: defined with the domain, plugged and unplugged while shut
// off and while running (idempotent, conflicts refused), read back equal. On the real host the
// tap is a port of br-int carrying iface-id = the port id (libvirt's ovs-vsctl reaches the OVS
// of scripts/start-ovn.sh through the default socket), and it is gone once unplugged.
TEST_P(HypervisorContractTest, NicsAreDefinedPluggedAndUnplugged) {
  if (real()) {
    ASSERT_EQ(RunProjectScript("start-ovn.sh >/dev/null"), 0);
  }
  auto nic = [](const std::string& mac) {
    NicSpec n;
    n.port_id = NewUuid();
    n.mac = mac;
    return n;
  };
  auto nics_of = [&](const std::string& uuid) {
    auto d = hv_->GetDomain(uuid);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? d->nics : std::vector<NicSpec>{};
  };
  // On the real host: whether the tap exists and is an OVS port with the NIC's iface-id.
  auto plugged_into_ovs = [&](const NicSpec& n) {
    const std::string tap = NicTapName(n.port_id);
    const std::string out = [&] {
      std::string cmd = "ovs-vsctl --timeout=5 get interface " + tap + " external_ids:iface-id 2>/dev/null";
      std::string text;
      if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[256];
        while (std::fgets(buf, sizeof buf, p) != nullptr) text += buf;
        ::pclose(p);
      }
      return text;
    }();
    return out.find(n.port_id) != std::string::npos && fs::exists("/sys/class/net/" + tap);
  };

  DomainSpec s = NewSpec();
  const NicSpec first = nic("02:11:22:33:44:01");
  s.nics = {first};
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  EXPECT_EQ(nics_of(s.uuid), s.nics);

  const NicSpec second = nic("02:11:22:33:44:02");
  Status st = hv_->AttachNic(s.uuid, second);
  if (lacks_hotplug()) {
    EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(nics_of(s.uuid), (std::vector<NicSpec>{first, second}));
  EXPECT_TRUE(hv_->AttachNic(s.uuid, second).ok()) << "attaching again is OK";
  NicSpec moved = second;
  moved.mac = "02:11:22:33:44:03";
  EXPECT_EQ(hv_->AttachNic(s.uuid, moved).code(), StatusCode::kFailedPrecondition)
      << "the port is there with another MAC";
  EXPECT_EQ(hv_->AttachNic(s.uuid, nic(second.mac)).code(), StatusCode::kFailedPrecondition)
      << "the MAC is another NIC's";
  EXPECT_EQ(hv_->AttachNic(s.uuid, nic("02:11:22:33:44")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(hv_->AttachNic(NewUuid(), nic("02:11:22:33:44:09")).code(), StatusCode::kNotFound);
  st = hv_->DetachNic(s.uuid, second.port_id);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(nics_of(s.uuid), std::vector<NicSpec>{first});
  EXPECT_TRUE(hv_->DetachNic(s.uuid, second.port_id).ok()) << "detaching an absent NIC is OK";
  EXPECT_EQ(hv_->DetachNic(NewUuid(), second.port_id).code(), StatusCode::kNotFound);

  // Running: the defined NIC is plugged at start, a hot-plugged one at once, in the definition
  // too; unplugging takes it out of both.
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  if (real()) {
    EXPECT_TRUE(plugged_into_ovs(first));
  }
  st = hv_->AttachNic(s.uuid, second);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(nics_of(s.uuid), (std::vector<NicSpec>{first, second})) << "the live domain has it";
  if (real()) {
    EXPECT_TRUE(plugged_into_ovs(second));
    // The guest brings every NIC up and asks DHCP (nobody answers here).
    ASSERT_NO_FATAL_FAILURE(WaitForConsole(s, "udhcpc: started"));
  }
  EXPECT_TRUE(hv_->AttachNic(s.uuid, second).ok());
  st = hv_->DetachNic(s.uuid, second.port_id);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(nics_of(s.uuid), std::vector<NicSpec>{first});
  if (real()) {
    EXPECT_TRUE(WaitUntil([&] { return !fs::exists("/sys/class/net/" + NicTapName(second.port_id)); },
                          std::chrono::seconds(10)))
        << "the unplugged NIC's tap is left";
    EXPECT_FALSE(plugged_into_ovs(second));
  }
  ASSERT_TRUE(hv_->AttachNic(s.uuid, second).ok());
  ASSERT_TRUE(hv_->DestroyDomain(s.uuid).ok());
  EXPECT_EQ(nics_of(s.uuid), (std::vector<NicSpec>{first, second})) << "the definition has it";
  if (real()) {
    EXPECT_FALSE(fs::exists("/sys/class/net/" + NicTapName(first.port_id)))
        << "a stopped domain's tap is left";
  }
}

// Real-daemon behaviour: the same fixture, instantiated for libvirt_qemu only (there is no
// daemon behind the fake or test:///default to restart or hang).
class RealDaemonTest : public HypervisorContractTest {};

// libvirtd restarts must neither disturb a running guest nor break the driver: the next call
// reconnects.
TEST_P(RealDaemonTest, SurvivesLibvirtdRestart) {
  DomainSpec s = NewSpec();
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForMarker(s, 1));
  const std::string pidfile = "/run/libvirt/qemu/" + s.name + ".pid";
  const std::string qemu_pid = ReadFile(pidfile);
  ASSERT_FALSE(qemu_pid.empty());
  const int opened_before = libvirt_->connections_opened();

  ASSERT_EQ(RunProjectScript("stop-libvirtd.sh --libvirtd-only >/dev/null"), 0);
  // While libvirtd is down calls fail as Unavailable (transient), not as crashes or hangs.
  auto down = hv_->GetDomain(s.uuid);
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
  ASSERT_EQ(RunProjectScript("start-libvirtd.sh >/dev/null"), 0);

  auto d = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->state, PowerState::kRunning);
  EXPECT_GT(libvirt_->connections_opened(), opened_before);
  EXPECT_EQ(ReadFile(pidfile), qemu_pid) << "the guest's QEMU process changed";
  EXPECT_EQ(CountOccurrences(ReadFile(s.serial_log_path), kGuestBootedMarker), 1) << "guest rebooted";
}

// A hung libvirtd (here: SIGSTOP) must not block callers forever: keepalive declares the
// connection dead and the reconnect gives up after connect_timeout_ms, as kUnavailable; once
// libvirtd answers again calls succeed.
TEST_P(RealDaemonTest, HungLibvirtdFailsCallsInsteadOfBlocking) {
  LibvirtOptions options;
  options.uri = "qemu:///system";
  options.connect_timeout_ms = 2000;
  auto opened = LibvirtHypervisor::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  LibvirtHypervisor& h = **opened;
  ASSERT_TRUE(h.ListDomains().ok());
  const std::string pid = ReadFile("/run/libvirtd.pid");
  ASSERT_FALSE(pid.empty());
  struct Resume {  // SIGCONT even when an assertion fails
    std::string pid;
    ~Resume() { std::system(("kill -CONT " + pid).c_str()); }
  } resume{pid};
  ASSERT_EQ(std::system(("kill -STOP " + pid).c_str()), 0);
  const auto start = steady_clock::now();
  auto hung = h.ListDomains();
  const auto waited = steady_clock::now() - start;
  EXPECT_EQ(hung.status().code(), StatusCode::kUnavailable) << hung.status().ToString();
  EXPECT_LT(waited, std::chrono::seconds(60));
  ASSERT_EQ(std::system(("kill -CONT " + pid).c_str()), 0);
  const bool recovered = WaitUntil([&] { return h.ListDomains().ok(); }, std::chrono::seconds(30));
  EXPECT_TRUE(recovered);
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Backends, HypervisorContractTest,
                         ::testing::Values("fake", "simulated", "libvirt_test", "libvirt_qemu"),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, RealDaemonTest, ::testing::Values("libvirt_qemu"), ParamName);

}  // namespace
}  // namespace govpool::agent
