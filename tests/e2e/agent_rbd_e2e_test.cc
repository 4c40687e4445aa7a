// End-to-end: an RBD data volume hot-plugged into a real guest through LibvirtHypervisor,
// against a real libvirtd (started by scripts/start-libvirtd.sh) and a real Ceph cluster.
// The cluster is the caller's: GOVPOOL_TEST_CEPH_CONF names its ceph.conf (scripts/start-ceph.sh
// prints it; client.admin's keyring must be named there). The test fails, never skips, when it
// is unset. GOVPOOL_TEST_CEPH_POOL names the pool (default "govpool-e2e", created when
// missing). Images are named govpool-test-<random> and removed at the end.
//   A marker written at offset 0 of the image is what the guest reads from the hot-plugged
//   disk; growing the image and ResizeDisk shows the new size in the guest; DetachDisk unplugs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "agent/drivers/hypervisor.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "common/ids.h"
#include "tests/support/test_guest.h"

namespace govpool::agent {
namespace {

namespace fs = std::filesystem;
using testing::kGuestBootedMarker;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `cmd` through the shell; its stdout (trailing newlines cut) and exit status.
std::string Shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (status != nullptr) *status = rc;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

class AgentRbdE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* conf = std::getenv("GOVPOOL_TEST_CEPH_CONF");
    ASSERT_TRUE(conf != nullptr && *conf != '\0')
        << "GOVPOOL_TEST_CEPH_CONF is not set: start a cluster with scripts/start-ceph.sh and "
           "export GOVPOOL_TEST_CEPH_CONF=<its dir>/ceph.conf";
    ASSERT_TRUE(fs::exists(conf)) << "GOVPOOL_TEST_CEPH_CONF names no file: " << conf;
    const char* pool = std::getenv("GOVPOOL_TEST_CEPH_POOL");
    pool_ = pool != nullptr && *pool != '\0' ? pool : "govpool-e2e";
    ceph_ = std::string(" --conf '") + conf + "' ";
    ASSERT_EQ(RunProjectScript("start-libvirtd.sh >/dev/null"), 0);
    ASSERT_EQ(RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'"), 0);

    int rc = 0;
    if (Shell("ceph" + ceph_ + "osd pool ls 2>/dev/null", &rc).find(pool_) == std::string::npos) {
      Shell("ceph" + ceph_ + "osd pool create " + pool_ + " 8 2>&1 && rbd" + ceph_ +
                "pool init " + pool_ + " 2>&1",
            &rc);
      ASSERT_EQ(rc, 0) << "cannot create pool " << pool_;
    }
    key_ = Shell("ceph" + ceph_ + "auth get-key client.admin 2>/dev/null", &rc);
    ASSERT_EQ(rc, 0) << "ceph auth get-key client.admin failed";
    ASSERT_FALSE(key_.empty());
    monitor_ = MonitorFromConf(ReadFile(conf));
    ASSERT_FALSE(monitor_.empty()) << "no v1 monitor address in " << conf;

    run_dir_ = TestStateDir() + "/test-runs/rbd-" + NewUuid().substr(0, 8);
    fs::create_directories(run_dir_);
    fs::permissions(run_dir_, fs::perms::owner_all | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
    LibvirtOptions options;
    options.uri = "qemu:///system";
    auto opened = LibvirtHypervisor::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    hv_ = std::move(*opened);
  }

  void TearDown() override {
    if (hv_ != nullptr) {
      if (!domain_.empty()) {
        hv_->DestroyDomain(domain_).IgnoreError();
        hv_->UndefineDomain(domain_).IgnoreError();
      }
      if (!secret_.empty()) hv_->RemoveSecret(secret_).IgnoreError();
    }
    if (!image_.empty()) Shell("rbd" + ceph_ + "rm " + pool_ + "/" + image_ + " >/dev/null 2>&1");
    std::error_code ec;
    if (!HasFailure() && !run_dir_.empty()) fs::remove_all(run_dir_, ec);
  }

  // The v1 (legacy protocol, what QEMU's librbd is given as host:port) monitor address of a
  // "mon host = [v2:IP:3300,v1:IP:6789]" or "mon host = IP:6789" line.
  static std::string MonitorFromConf(const std::string& conf) {
    std::istringstream lines(conf);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key = line.substr(0, eq);
      for (char& c : key) c = c == '_' ? ' ' : c;
      if (key.find("mon host") == std::string::npos) continue;
      std::string value = line.substr(eq + 1);
      const size_t v1 = value.find("v1:");
      if (v1 != std::string::npos) {
        const size_t end = value.find_first_of(",]", v1);
        return value.substr(v1 + 3, end - v1 - 3);
      }
      value.erase(0, value.find_first_not_of(" \t"));
      return value.substr(0, value.find_first_of(", \t"));
    }
    return "";
  }

  void WaitForConsole(const std::string& log, const std::string& line) {
    const bool ok = WaitUntil([&] { return ReadFile(log).find(line) != std::string::npos; },
                              std::chrono::seconds(180));
    ASSERT_TRUE(ok) << "no '" << line << "' on " << log << ":\n" << ReadFile(log).substr(0, 6000);
  }

  std::string ceph_;
  std::string pool_;
  std::string key_;
  std::string monitor_;
  std::string run_dir_;
  std::string domain_;
  std::string secret_;
  std::string image_;
  std::unique_ptr<LibvirtHypervisor> hv_;
};

TEST_F(AgentRbdE2eTest, RbdVolumeHotPlugResizeAndUnplug) {
  // An 8 MiB image whose first bytes are a marker.
  image_ = "govpool-test-" + NewUuid().substr(0, 8);
  const std::string marker = "GOVPOOL-RBD-" + image_;
  const std::string seed = run_dir_ + "/seed.raw";
  {
    std::ofstream out(seed, std::ios::binary);
    out << marker;
  }
  fs::resize_file(seed, 8 << 20);
  int rc = 0;
  const std::string imported =
      Shell("rbd" + ceph_ + "import '" + seed + "' " + pool_ + "/" + image_ + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << imported;

  secret_ = NewUuid();
  Status st = hv_->EnsureCephSecret(secret_, "govpool-test-" + secret_.substr(0, 8), key_);
  ASSERT_TRUE(st.ok()) << st.ToString();

  DomainSpec s;
  s.uuid = NewUuid();
  domain_ = s.uuid;
  s.name = "govpool-test-" + s.uuid.substr(0, 8);
  s.domain_type = "qemu";
  s.memory_mib = 128;
  s.kernel_path = TestGuestDir() + "/vmlinuz";
  s.initrd_path = TestGuestDir() + "/initrd.img";
  s.kernel_cmdline = "console=ttyS0 panic=-1";
  s.serial_log_path = run_dir_ + "/console.log";
  s.metadata = {{"vm_id", s.uuid}};
  ASSERT_TRUE(hv_->DefineDomain(s).ok());
  ASSERT_TRUE(hv_->StartDomain(s.uuid).ok());
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s.serial_log_path, kGuestBootedMarker));

  DiskSpec volume = DiskSpec::Rbd(pool_, image_, {monitor_}, "admin", secret_, "vdb");
  volume.serial = image_;
  st = hv_->AttachDisk(s.uuid, volume);
  ASSERT_TRUE(st.ok()) << st.ToString();
  // 8 MiB = 16384 sectors; the guest read the marker through librbd. The guest names disks in
  // the order it finds them (libvirt's target is only a hint): this domain has no other disk,
  // so the guest calls it vda. Guests find a volume by serial (/dev/disk/by-id), not by name.
  ASSERT_NO_FATAL_FAILURE(
      WaitForConsole(s.serial_log_path, "GOVPOOL-GUEST-HOTPLUG vda 16384 " + marker));
  auto info = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->disks.size(), 1u);
  EXPECT_EQ(info->disks[0], volume);
  EXPECT_TRUE(hv_->AttachDisk(s.uuid, volume).ok()) << "attaching again is OK";

  // Grow the image (as the Ceph driver does), then tell the guest.
  const std::string resized =
      Shell("rbd" + ceph_ + "resize --size 16M " + pool_ + "/" + image_ + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << resized;
  st = hv_->ResizeDisk(s.uuid, "vdb", 16 << 20);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s.serial_log_path, "GOVPOOL-GUEST-RESIZE vda 32768"));

  st = hv_->DetachDisk(s.uuid, "vdb");
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_NO_FATAL_FAILURE(WaitForConsole(s.serial_log_path, "GOVPOOL-GUEST-UNPLUG vda"));
  info = hv_->GetDomain(s.uuid);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->disks.empty());
}

}  // namespace
}  // namespace govpool::agent
