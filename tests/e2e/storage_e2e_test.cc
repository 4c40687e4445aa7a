// End-to-end storage: govpool-controller + govpool-agent against a real libvirtd (QEMU TCG
// guests) and a real Ceph cluster. Every API call goes through the typed client (api::Client).
// The suite starts libvirtd (scripts/start-libvirtd.sh), the test guest (make-test-guest.sh) and,
// unless GOVPOOL_TEST_CEPH_CONF names a cluster's ceph.conf, the local test cluster
// (scripts/start-ceph.sh, idempotent): it never skips. It makes its own Ceph pools
// (govpool-e2e-<random>) and deletes them at the end. Runs as root (CI does).
//   1. An image (a marker at offset 0) is uploaded, imported by the agent, and booted as a VM
//      whose root disk is an RBD clone of it: the guest reads the marker from vda. Its
//      create -> booted time is printed next to a local-qcow2 VM's.
//   2. A data volume cloned from the image: attached (hot-plugged, the guest reads the marker),
//      snapshotted, resized (the guest sees it), detached, its snapshot and itself deleted.
//   3. The VM and the image deleted: nothing of ours is left in Ceph (images, trash,
//      snapshots), in libvirt, or in the controller's staging directory.
//   4. A pool with a 16 MiB quota filled to 15 MiB shows nearfull/full through the API, and a
//      volume asked for in it is refused with STORAGE_POOL_NEARFULL.
//   5. The agent killed with SIGKILL in the middle of an import: restarted, it imports the image
//      again (level-triggered), with the right content hash and no leftover RBD image.
//   6. Backups into a second pool: marker A written (qemu-io over librbd), backed up (full),
//      marker B written, backed up again (incremental); each backup restored into a new volume
//      holds exactly its markers. A third backup with the agent killed mid-way finishes after
//      the restart and restores right. Everything deleted leaves nothing of ours in either pool.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "api/errors.h"
#include "api/types.h"
#include "common/ids.h"
#include "tests/support/child_process.h"
#include "tests/support/test_guest.h"

namespace govpool::e2e {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;
using testing::ChildProcess;
using testing::kGuestBootedMarker;
using testing::ReadFileOrEmpty;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;

constexpr char kCluster[] = "ceph";  // the agent's --ceph-cluster and the pools' cluster
constexpr std::int64_t kMiB = 1 << 20;

double Seconds(steady_clock::time_point since) {
  return std::chrono::duration<double>(steady_clock::now() - since).count();
}

// Runs a shell command; its stdout+stderr, trailing whitespace dropped. `rc`: the exit status.
std::string Shell(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    if (rc != nullptr) *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (rc != nullptr) *rc = status;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool WaitFor(const std::function<bool()>& done, double seconds, int poll_ms = 250) {
  const auto deadline = steady_clock::now() + std::chrono::duration<double>(seconds);
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return done();
}

template <class E>
std::string Name(E e) {
  return std::string(api::schema::ToString(e));
}

// Shared by the suite: one controller, one agent, one Ceph pool.
struct Env {
  std::string ceph_conf;
  std::string ceph;  // " --conf '<conf>' --admin-socket '' "
  std::string run_dir;
  std::string host_name;
  int port = 0;
  std::unique_ptr<ChildProcess> controller;
  std::unique_ptr<ChildProcess> agent;
  std::unique_ptr<api::Client> client;    // the system-admin's
  std::unique_ptr<api::Client> security;  // the security-admin's: users and tokens
  std::string dept;
  std::string ceph_pool;    // ours, made by the suite
  std::string storage_pool;  // its record's id
  std::vector<std::string> vm_ids;
  std::vector<std::string> extra_ceph_pools;
  bool failed = false;
};
Env* env = nullptr;

class StorageE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env;
    const auto t0 = steady_clock::now();
    ASSERT_EQ(RunProjectScript("start-libvirtd.sh"), 0) << "scripts/start-libvirtd.sh failed";
    ASSERT_EQ(RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'"), 0)
        << "scripts/make-test-guest.sh failed";
    const char* conf = std::getenv("GOVPOOL_TEST_CEPH_CONF");
    if (conf != nullptr && *conf != '\0') {
      env->ceph_conf = conf;
    } else {
      const char* dir = std::getenv("GOVPOOL_CEPH_DIR");  // as scripts/start-ceph.sh reads it
      const std::string ceph_dir = dir != nullptr && *dir != '\0' ? dir : TestStateDir() + "/ceph";
      ASSERT_EQ(RunProjectScript("start-ceph.sh"), 0)
          << "scripts/start-ceph.sh failed: the test needs the local Ceph cluster (see docs/storage.md, "
             "\"A test cluster on this machine\"; its logs are in "
          << ceph_dir << "/log)";
      env->ceph_conf = ceph_dir + "/ceph.conf";
    }
    ASSERT_TRUE(fs::exists(env->ceph_conf)) << "no ceph.conf at " << env->ceph_conf;
    // No admin socket: the test cluster's conf gives every client.admin the same one, which the
    // agent holds (each CLI run would complain on stderr).
    env->ceph = " --conf '" + env->ceph_conf + "' --admin-socket '' ";
    std::cerr << "[timing] libvirtd, test guest and Ceph ready: " << Seconds(t0) << " s\n";

    env->ceph_pool = "govpool-e2e-" + NewUuid().substr(0, 8);
    CreateCephPool(env->ceph_pool);

    env->run_dir = TestStateDir() + "/test-runs/storage-" + NewUuid().substr(0, 8);
    fs::create_directories(env->run_dir);
    // QEMU runs as an unprivileged user: it must traverse into the directory of its disks.
    fs::permissions(env->run_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);
    env->host_name = "e2e-st-" + NewUuid().substr(0, 8);
    StartController();
    api::Client& c = *env->client;

    api::CreateUserRequest u;
    u.name = env->host_name;
    u.role = api::Role::kAgent;
    // The agent's user and token are the security-admin's to make.
    auto user = env->security->CreateUser(u);
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    api::CreateTokenRequest treq;
    treq.name = "agent";
    treq.expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
                             .count();
    auto token = env->security->CreateToken(user->meta.id, treq);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    std::ofstream(env->run_dir + "/agent-token") << token->token << "\n";
    // The system-admin pre-registers the host, so its token agent takes it over ready for work
    // (a host nobody named would join pending; docs/security.md, "Registration").
    api::RegisterHostRequest pre;
    pre.name = env->host_name;
    pre.capacity = {1, 1024, 1, {}};
    auto pre_registered = c.RegisterHost(pre);
    ASSERT_TRUE(pre_registered.ok()) << pre_registered.status().ToString();
    StartAgent();
    ASSERT_TRUE(WaitFor([&] {
      auto hosts = c.ListHosts();
      return hosts.ok() && !hosts->items.empty() && !hosts->items.front().agent_user_id.empty();
    }, 30)) << "the agent did not register; see " << env->run_dir << "/agent.log";

    api::CreateDepartmentRequest d;
    d.name = "e2e-storage";
    d.quota = {.instances = -1, .vcpus = -1, .memory_mib = -1, .volumes = -1, .volume_gib = -1,
               .snapshots = -1, .backup_gib = -1, .networks = -1};
    auto dept = c.CreateDepartment(d);
    ASSERT_TRUE(dept.ok()) << dept.status().ToString();
    env->dept = dept->meta.id;
    api::CreateFlavorRequest f;
    f.name = "tiny";
    f.vcpus = 1;
    f.memory_mib = 128;
    f.disk_gib = 1;
    auto flavor = c.CreateFlavor(f);
    ASSERT_TRUE(flavor.ok()) << flavor.status().ToString();

    // The pool's capacity is what the memstore OSD offers (~1 GiB): thin provisioning lets
    // volumes of a few GiB in.
    api::CreateStoragePoolRequest sp;
    sp.name = "e2e-rbd";
    sp.cluster = kCluster;
    sp.ceph_pool = env->ceph_pool;
    sp.provisioning_ratio = 16;
    auto pool = c.CreateStoragePool(sp);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    env->storage_pool = pool->meta.id;
    ASSERT_TRUE(WaitFor([&] {
      auto p = c.GetStoragePool(env->storage_pool);
      return p.ok() && p->status == "ok" && p->hosts > 0;
    }, 30)) << "the agent never reported the storage pool; see " << env->run_dir << "/agent.log";
    std::cerr << "[timing] suite set up: " << Seconds(t0) << " s\n";
  }

  static void TearDownTestSuite() {
    if (env == nullptr) return;
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite != nullptr && suite->Failed()) env->failed = true;  // SetUpTestSuite's failures too
    if (env->agent) env->agent->Stop(std::chrono::seconds(5));
    if (env->controller) env->controller->Stop(std::chrono::seconds(5));
    // Whatever a failed test left behind in libvirt, by our names only.
    for (const auto& id : env->vm_ids) {
      const std::string name = "govpool-" + id;
      Shell("virsh -q -c qemu:///system destroy " + name + " >/dev/null; "
            "virsh -q -c qemu:///system undefine " + name + " >/dev/null");
    }
    for (const auto& pool : env->extra_ceph_pools) DeleteCephPool(pool);
    if (!env->ceph_pool.empty()) DeleteCephPool(env->ceph_pool);
    if (!env->failed && !env->run_dir.empty()) {
      std::error_code ec;
      fs::remove_all(env->run_dir, ec);
    } else if (!env->run_dir.empty()) {
      std::cerr << "logs kept in " << env->run_dir << "\n";
    }
    delete env;
    env = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) env->failed = true;
  }

  static std::string Ceph(const std::string& args, int* rc = nullptr) {
    return Shell("ceph" + env->ceph + args, rc);
  }
  static std::string Rbd(const std::string& args, int* rc = nullptr) {
    return Shell("rbd" + env->ceph + args, rc);
  }
  static void CreateCephPool(const std::string& pool) {
    int rc = 0;
    std::string out = Ceph("osd pool create " + pool + " 8", &rc);
    ASSERT_EQ(rc, 0) << "ceph osd pool create " << pool << ": " << out;
    out = Rbd("pool init " + pool, &rc);
    ASSERT_EQ(rc, 0) << "rbd pool init " << pool << ": " << out;
  }
  static void DeleteCephPool(const std::string& pool) {
    int rc = 0;
    const std::string out = Ceph("osd pool delete " + pool + " " + pool + " --yes-i-really-really-mean-it", &rc);
    if (rc != 0) std::cerr << "cannot delete Ceph pool " << pool << ": " << out << "\n";
  }

  static void StartController() {
    std::error_code ec;
    fs::remove(env->run_dir + "/port", ec);
    env->controller = ChildProcess::Start(
        std::vector<std::string>{GOVPOOL_CONTROLLER_BIN, "--listen", "127.0.0.1:0", "--state-dir",
                                 env->run_dir + "/controller", "--port-file", env->run_dir + "/port",
                                 "--heartbeat-timeout-seconds", "10", "--bootstrap-tokens", "--insecure-http"},
        env->run_dir + "/controller.log", /*append=*/true);
    ASSERT_NE(env->controller, nullptr);
    env->port = testing::WaitForPortFile(env->run_dir + "/port", *env->controller, std::chrono::seconds(30));
    ASSERT_GT(env->port, 0) << "the controller did not start; see " << env->run_dir << "/controller.log";
    std::string token = ReadFileOrEmpty(env->run_dir + "/controller/system-admin-token");
    while (!token.empty() && token.back() == '\n') token.pop_back();
    std::string security_token = ReadFileOrEmpty(env->run_dir + "/controller/security-admin-token");
    while (!security_token.empty() && security_token.back() == '\n') security_token.pop_back();
    api::ClientOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(env->port);
    o.bearer_token = token;
    o.timeout_ms = 120'000;  // uploads of a few hundred MiB
    auto client = api::Client::Create(o);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    env->client = std::move(client).value();
    o.bearer_token = security_token;
    env->security = std::move(api::Client::Create(o)).value();
  }

  static void StartAgent() {
    env->agent = ChildProcess::Start(
        std::vector<std::string>{GOVPOOL_AGENT_BIN, "--controller", "http://127.0.0.1:" + std::to_string(env->port),
                                 "--token-file", env->run_dir + "/agent-token", "--host-name", env->host_name,
                                 "--libvirt-uri", "qemu:///system", "--domain-type", "qemu",
                                 "--state-dir", env->run_dir + "/agent", "--guest-kernel",
                                 TestGuestDir() + "/vmlinuz", "--guest-initrd", TestGuestDir() + "/initrd.img",
                                 "--reconcile-interval-seconds", "2", "--heartbeat-interval-seconds", "2",
                                 "--shutdown-grace-seconds", "5", "--ceph-conf", env->ceph_conf,
                                 "--ceph-cluster", kCluster},
        env->run_dir + "/agent.log", /*append=*/true);
    ASSERT_NE(env->agent, nullptr);
  }

  api::Client& c() { return *env->client; }

  std::string Console(const std::string& vm_id) {
    return ReadFileOrEmpty(env->run_dir + "/agent/console/govpool-" + vm_id + ".log");
  }
  // The console line that starts with `prefix`, once it shows (up to `seconds`); "" if never.
  std::string WaitForConsoleLine(const std::string& vm_id, const std::string& prefix, double seconds) {
    std::string line;
    WaitFor([&] {
      const std::string text = Console(vm_id);
      const size_t at = text.find(prefix);
      if (at == std::string::npos) return false;
      const size_t end = text.find_first_of("\r\n", at);
      if (end == std::string::npos) return false;
      line = text.substr(at, end - at);
      return true;
    }, seconds);
    return line;
  }

  bool VmConverged(const std::string& id, api::VmState state) {
    auto vm = c().GetVm(id);
    return vm.ok() && vm->state == state && vm->observed_generation == vm->generation;
  }
  std::string VmState(const std::string& id) {
    auto vm = c().GetVm(id);
    if (!vm.ok()) return vm.status().ToString();
    return Name(vm->state) + " (" + vm->state_reason + ")";
  }
  std::string VolumeState(const std::string& id) {
    auto v = c().GetVolume(id);
    if (!v.ok()) return v.status().ToString();
    return Name(v->state) + " (" + v->state_reason + ") generation " + std::to_string(v->generation) +
           " observed " + std::to_string(v->observed_generation);
  }
  bool VolumeIs(const std::string& id, api::VolumeState state) {
    auto v = c().GetVolume(id);
    return v.ok() && v->state == state && v->observed_generation == v->generation;
  }
  std::string ImageState(const std::string& id) {
    auto i = c().GetImage(id);
    if (!i.ok()) return i.status().ToString();
    return Name(i->state) + " (" + i->state_reason + ") imported " + std::to_string(i->imported_bytes);
  }
  bool ImageIs(const std::string& id, api::ImageState state) {
    auto i = c().GetImage(id);
    return i.ok() && i->state == state;
  }

  std::string CreateVm(const std::string& name, const std::string& image) {
    api::CreateVmRequest r;
    r.name = name;
    r.department_id = env->dept;
    r.flavor = "tiny";
    if (!image.empty()) {
      r.image = image;
      r.root_gib = 1;
    }
    auto vms = c().CreateVms(r);
    EXPECT_TRUE(vms.ok()) << vms.status().ToString();
    if (!vms.ok() || vms->empty()) return "";
    env->vm_ids.push_back(vms->front().meta.id);
    return vms->front().meta.id;
  }

  // Creates a VM and waits for it to run and print the boot marker; the seconds it took.
  double CreateAndBoot(const std::string& name, const std::string& image, std::string* id) {
    const auto t0 = steady_clock::now();
    *id = CreateVm(name, image);
    if (id->empty()) return -1;
    if (!WaitFor([&] { return VmConverged(*id, api::VmState::kRunning); }, 120)) {
      ADD_FAILURE() << "vm " << name << " not running: " << VmState(*id);
      return -1;
    }
    if (WaitForConsoleLine(*id, kGuestBootedMarker, 120).empty()) {
      ADD_FAILURE() << "vm " << name << " did not boot:\n" << Console(*id).substr(0, 4000);
      return -1;
    }
    return Seconds(t0);
  }

  std::string CreateImage(const std::string& name) {
    api::CreateImageRequest r;
    r.name = name;
    r.pool = env->storage_pool;
    auto image = c().CreateImage(r);
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    return image.ok() ? image->meta.id : "";
  }

  Result<api::Image> Upload(const std::string& id, api::BodyReader reader, std::int64_t size) {
    const auto t0 = steady_clock::now();
    std::int64_t next = 0;
    auto uploaded = c().UploadImageData(id, std::move(reader), static_cast<std::uint64_t>(size),
                                        [&](std::uint64_t sent) {
                                          if (static_cast<std::int64_t>(sent) >= next) {
                                            std::cerr << "[upload] " << (sent >> 20) << " of " << (size >> 20)
                                                      << " MiB\n";
                                            next += 32 * kMiB;
                                          }
                                        });
    std::cerr << "[timing] upload of " << (size >> 20) << " MiB: " << Seconds(t0) << " s\n";
    return uploaded;
  }

  // The RBD images of `pool`, one a line.
  std::string BackupState(const std::string& id) {
    auto b = c().GetBackup(id);
    if (!b.ok()) return b.status().ToString();
    return Name(b->state) + " (" + b->state_reason + ") attempts " + std::to_string(b->attempts);
  }
  bool BackupIs(const std::string& id, api::BackupState state) {
    auto b = c().GetBackup(id);
    return b.ok() && b->state == state;
  }
  // qemu-io over librbd on pool/image: `command` ("write -P 0x41 0 64k", "read -P 0 1M 64k");
  // true when it succeeded (a read -P fails when the pattern does not match).
  bool QemuIo(const std::string& pool, const std::string& image, const std::string& command, std::string* out = nullptr) {
    int rc = 0;
    const std::string text =
        Shell("qemu-io -f raw -c '" + command + "' 'rbd:" + pool + "/" + image + ":conf=" + env->ceph_conf + "'", &rc);
    if (out != nullptr) *out = text;
    return rc == 0 && text.find("failed") == std::string::npos;
  }
  std::string RbdLs(const std::string& pool) { return Rbd("ls " + pool); }
};

// Reads `data` piece by piece.
api::BodyReader FromString(const std::string& data) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&data, offset](char* buf, std::size_t n) -> Result<std::size_t> {
    const std::size_t k = std::min(n, data.size() - *offset);
    std::memcpy(buf, data.data() + *offset, k);
    *offset += k;
    return k;
  };
}
api::BodyReader FromFile(const std::string& path) {
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  return [in](char* buf, std::size_t n) -> Result<std::size_t> {
    in->read(buf, static_cast<std::streamsize>(n));
    if (in->bad()) return Internal("reading the image file failed");
    return static_cast<std::size_t>(in->gcount());
  };
}

TEST_F(StorageE2eTest, ImageToRbdRootDiskDataVolumeAndCleanup) {
  const std::string pool = env->ceph_pool;
  // ---- 1. An image with a marker, imported into RBD, booted from.
  const std::string marker = "GOVPOOL-MARKER-" + NewUuid().substr(0, 8);
  std::string data(64 * kMiB, '\0');
  std::memcpy(data.data(), marker.data(), marker.size());
  auto t = steady_clock::now();
  const std::string image_id = CreateImage("marker-image");
  ASSERT_FALSE(image_id.empty());
  auto uploaded = Upload(image_id, FromString(data), static_cast<std::int64_t>(data.size()));
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(uploaded->size_bytes, static_cast<std::int64_t>(data.size()));
  ASSERT_TRUE(WaitFor([&] { return ImageIs(image_id, api::ImageState::kAvailable); }, 120))
      << "image not available: " << ImageState(image_id);
  std::cerr << "[timing] image created -> available: " << Seconds(t) << " s\n";
  {
    auto image = c().GetImage(image_id);
    ASSERT_TRUE(image.ok());
    EXPECT_EQ(image->content_sha256, uploaded->sha256);
    EXPECT_EQ(image->virtual_size_bytes, static_cast<std::int64_t>(data.size()));
    EXPECT_NE(RbdLs(pool).find("govpool-img-" + image_id), std::string::npos) << RbdLs(pool);
  }

  std::string vm_id;
  const double rbd_boot = CreateAndBoot("rbd-vm", image_id, &vm_id);
  ASSERT_GT(rbd_boot, 0);
  const std::string root_disk = WaitForConsoleLine(vm_id, "GOVPOOL-GUEST-DISK vda", 5);
  EXPECT_EQ(root_disk, "GOVPOOL-GUEST-DISK vda " + marker) << Console(vm_id).substr(0, 4000);
  auto vm = c().GetVm(vm_id);
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->image_id, image_id);
  EXPECT_EQ(vm->disk_gib, 0);
  const std::string root_volume = vm->root_volume_id;
  ASSERT_FALSE(root_volume.empty());
  EXPECT_TRUE(WaitFor([&] { return VolumeIs(root_volume, api::VolumeState::kInUse); }, 30))
      << VolumeState(root_volume);
  EXPECT_NE(Rbd("info " + pool + "/govpool-vol-" + root_volume).find("parent: " + pool + "/govpool-img-" +
                                                                      image_id + "@base"),
            std::string::npos)
      << "the root disk is not a clone of the image";

  std::string local_id;
  const double local_boot = CreateAndBoot("local-vm", "", &local_id);
  ASSERT_GT(local_boot, 0);
  std::cerr << "[timing] create -> booted: RBD root disk " << rbd_boot << " s, local qcow2 " << local_boot
            << " s\n";
  ASSERT_TRUE(c().DeleteVm(local_id).ok());

  // ---- 2. A data volume cloned from the image: attach, snapshot, resize, detach, delete.
  t = steady_clock::now();
  api::CreateVolumeRequest vr;
  vr.name = "data-1";
  vr.department_id = env->dept;
  vr.image = image_id;
  vr.size_gib = 1;
  vr.pool = env->storage_pool;
  auto volume = c().CreateVolume(vr);
  ASSERT_TRUE(volume.ok()) << volume.status().ToString();
  const std::string vol = volume->meta.id;
  ASSERT_TRUE(WaitFor([&] { return VolumeIs(vol, api::VolumeState::kAvailable); }, 60)) << VolumeState(vol);
  std::cerr << "[timing] volume created -> available: " << Seconds(t) << " s\n";

  t = steady_clock::now();
  auto attached = c().AttachVolume(vol, {.vm_id = vm_id});
  ASSERT_TRUE(attached.ok()) << attached.status().ToString();
  const std::string hotplug = WaitForConsoleLine(vm_id, "GOVPOOL-GUEST-HOTPLUG ", 90);
  ASSERT_FALSE(hotplug.empty()) << "no hot-plug seen by the guest; volume " << VolumeState(vol) << "; vm "
                                << VmState(vm_id) << "\n" << Console(vm_id);
  // "GOVPOOL-GUEST-HOTPLUG vdb 2097152 GOVPOOL-MARKER-..."
  std::istringstream words(hotplug);
  std::string tag, dev, sectors, content;
  words >> tag >> dev >> sectors >> content;
  EXPECT_EQ(sectors, "2097152") << hotplug;
  EXPECT_EQ(content, marker) << hotplug;
  ASSERT_TRUE(WaitFor([&] { return VolumeIs(vol, api::VolumeState::kInUse); }, 30)) << VolumeState(vol);
  std::cerr << "[timing] attach -> seen by the guest and in-use: " << Seconds(t) << " s\n";

  t = steady_clock::now();
  auto snap = c().CreateSnapshot(vol, {.name = "snap-1"});
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  const std::string snap_id = snap->meta.id;
  ASSERT_TRUE(WaitFor([&] {
    auto s = c().GetSnapshot(vol, snap_id);
    return s.ok() && s->state == api::SnapshotState::kAvailable;
  }, 60)) << "snapshot not available";
  EXPECT_NE(Rbd("snap ls " + pool + "/govpool-vol-" + vol).find("govpool-snap-" + snap_id), std::string::npos);
  std::cerr << "[timing] snapshot -> available: " << Seconds(t) << " s\n";

  t = steady_clock::now();
  auto resized = c().ResizeVolume(vol, {.size_gib = 2});
  ASSERT_TRUE(resized.ok()) << resized.status().ToString();
  const std::string resize_line = WaitForConsoleLine(vm_id, "GOVPOOL-GUEST-RESIZE " + dev, 90);
  EXPECT_EQ(resize_line, "GOVPOOL-GUEST-RESIZE " + dev + " 4194304")
      << VolumeState(vol) << "\n" << Console(vm_id);
  EXPECT_TRUE(WaitFor([&] { return VolumeIs(vol, api::VolumeState::kInUse); }, 30)) << VolumeState(vol);
  std::cerr << "[timing] resize -> seen by the guest: " << Seconds(t) << " s\n";

  t = steady_clock::now();
  auto detached = c().DetachVolume(vol);
  ASSERT_TRUE(detached.ok()) << detached.status().ToString();
  EXPECT_FALSE(WaitForConsoleLine(vm_id, "GOVPOOL-GUEST-UNPLUG " + dev, 90).empty())
      << VolumeState(vol) << "\n" << Console(vm_id);
  ASSERT_TRUE(WaitFor([&] {
    auto v = c().GetVolume(vol);
    return v.ok() && v->state == api::VolumeState::kAvailable && v->vm_id.empty() &&
           v->observed_generation == v->generation;
  }, 60)) << VolumeState(vol);
  std::cerr << "[timing] detach -> unplugged and available: " << Seconds(t) << " s\n";

  t = steady_clock::now();
  auto snap_deleted = c().DeleteSnapshot(vol, snap_id);
  ASSERT_TRUE(snap_deleted.ok()) << snap_deleted.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return c().GetSnapshot(vol, snap_id).status().code() == StatusCode::kNotFound; }, 60))
      << "snapshot still there";
  EXPECT_EQ(Rbd("snap ls " + pool + "/govpool-vol-" + vol), "");
  auto vol_deleted = c().DeleteVolume(vol);
  ASSERT_TRUE(vol_deleted.ok()) << vol_deleted.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return c().GetVolume(vol).status().code() == StatusCode::kNotFound; }, 60))
      << VolumeState(vol);
  EXPECT_EQ(RbdLs(pool).find("govpool-vol-" + vol), std::string::npos) << RbdLs(pool);
  std::cerr << "[timing] snapshot and volume deleted: " << Seconds(t) << " s\n";

  // ---- 3. The VM (its root volume with it), then the image: nothing of ours is left.
  t = steady_clock::now();
  auto image_refused = c().DeleteImage(image_id);
  EXPECT_EQ(image_refused.status().reason(), "HAS_DEPENDENTS") << image_refused.status().ToString();
  ASSERT_TRUE(c().DeleteVm(vm_id).ok());
  ASSERT_TRUE(WaitFor([&] { return c().GetVm(vm_id).status().code() == StatusCode::kNotFound; }, 90))
      << VmState(vm_id);
  ASSERT_TRUE(WaitFor([&] { return c().GetVm(local_id).status().code() == StatusCode::kNotFound; }, 60))
      << VmState(local_id);
  ASSERT_TRUE(WaitFor([&] { return c().GetVolume(root_volume).status().code() == StatusCode::kNotFound; }, 60))
      << "root volume still there: " << VolumeState(root_volume);
  auto image_deleted = c().DeleteImage(image_id);
  ASSERT_TRUE(image_deleted.ok()) << image_deleted.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return c().GetImage(image_id).status().code() == StatusCode::kNotFound; }, 60))
      << ImageState(image_id);
  std::cerr << "[timing] vm, root volume and image deleted: " << Seconds(t) << " s\n";

  int rc = 0;
  EXPECT_EQ(RbdLs(pool), "") << "RBD images left in " << pool;
  EXPECT_EQ(Rbd("trash ls " + pool, &rc), "") << "RBD trash not empty in " << pool;
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(Rbd("snap ls " + pool + "/govpool-img-" + image_id, &rc).find("base"), std::string::npos);
  EXPECT_NE(rc, 0) << "the image still exists";
  const std::string domains = Shell("virsh -q -c qemu:///system list --all --name");
  EXPECT_EQ(domains.find(vm_id), std::string::npos) << domains;
  EXPECT_EQ(domains.find(local_id), std::string::npos) << domains;
  const std::string staging = env->run_dir + "/controller/images";
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(staging) || fs::is_empty(staging); }, 30))
      << "files left in the controller's staging directory " << staging;
}

TEST_F(StorageE2eTest, NearfullPoolRefusesNewVolumes) {
  const auto t0 = steady_clock::now();
  const std::string small = "govpool-e2e-full-" + NewUuid().substr(0, 8);
  env->extra_ceph_pools.push_back(small);
  ASSERT_NO_FATAL_FAILURE(CreateCephPool(small));
  int rc = 0;
  std::string out = Ceph("osd pool set-quota " + small + " max_bytes 16777216", &rc);
  ASSERT_EQ(rc, 0) << out;

  api::CreateStoragePoolRequest sp;
  sp.name = "e2e-small";
  sp.cluster = kCluster;
  sp.ceph_pool = small;
  sp.provisioning_ratio = 64;
  auto pool = c().CreateStoragePool(sp);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  const std::string pool_id = pool->meta.id;
  ASSERT_TRUE(WaitFor([&] {
    auto p = c().GetStoragePool(pool_id);
    return p.ok() && p->status == "ok";
  }, 30)) << "the agent never reported the small pool";

  // 15 MiB of non-zero data (rbd import skips zeros) into the 16 MiB quota.
  const std::string file = env->run_dir + "/fill.raw";
  {
    std::ofstream f(file, std::ios::binary);
    const std::string chunk(kMiB, 'x');
    for (int i = 0; i < 15; ++i) f << chunk;
  }
  out = Rbd("import '" + file + "' " + small + "/fill", &rc);
  ASSERT_EQ(rc, 0) << out;
  std::string status;
  const bool nearfull = WaitFor([&] {
    auto p = c().GetStoragePool(pool_id);
    if (p.ok()) status = p->status;
    return p.ok() && (p->status == "nearfull" || p->status == "full");
  }, 30);
  ASSERT_TRUE(nearfull) << "the pool's status stayed " << status;
  std::cerr << "[timing] 15 of 16 MiB written -> pool " << status << " through the API: " << Seconds(t0) << " s\n";

  api::CreateVolumeRequest vr;
  vr.name = "too-much";
  vr.department_id = env->dept;
  vr.size_gib = 1;
  vr.pool = pool_id;
  auto refused = c().CreateVolume(vr);
  ASSERT_FALSE(refused.ok()) << "a volume was placed in a nearfull pool";
  EXPECT_EQ(api::HttpStatusFor(refused.status()), 409) << refused.status().ToString();
  EXPECT_EQ(refused.status().reason(), "STORAGE_POOL_NEARFULL") << refused.status().ToString();

  // Clean up: the RBD image, the record, the Ceph pool.
  out = Rbd("rm " + small + "/fill", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(c().DeleteStoragePool(pool_id).ok());
  DeleteCephPool(small);
  std::erase(env->extra_ceph_pools, small);
  std::cerr << "[timing] nearfull scenario: " << Seconds(t0) << " s\n";
}

TEST_F(StorageE2eTest, AgentKilledMidImportImportsAgain) {
  const std::string pool = env->ceph_pool;
  // 256 MiB of pseudo-random data: every 4 MiB chunk is written, so the import takes a while.
  const std::int64_t size = 256 * kMiB;
  const std::string file = env->run_dir + "/big.raw";
  {
    std::ofstream f(file, std::ios::binary);
    std::vector<std::uint64_t> buf(kMiB / 8);
    std::uint64_t x = 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(std::time(nullptr));
    for (std::int64_t written = 0; written < size; written += kMiB) {
      for (auto& w : buf) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w = x;
      }
      f.write(reinterpret_cast<const char*>(buf.data()), kMiB);
    }
  }
  std::string want_sha = Shell("sha256sum '" + file + "'");
  want_sha = want_sha.substr(0, want_sha.find(' '));
  ASSERT_EQ(want_sha.size(), 64u) << want_sha;

  const std::string image_id = CreateImage("big-image");
  ASSERT_FALSE(image_id.empty());
  const auto t0 = steady_clock::now();
  auto uploaded = Upload(image_id, FromFile(file), size);
  ASSERT_TRUE(uploaded.ok()) << uploaded.status().ToString();
  EXPECT_EQ(uploaded->sha256, want_sha);

  // Kill the agent once the import is under way: its RBD image exists, without `base`.
  const std::string rbd_name = "govpool-img-" + image_id;
  bool caught = false;
  ASSERT_TRUE(WaitFor([&] {
    auto i = c().GetImage(image_id);
    if (!i.ok() || i->state == api::ImageState::kAvailable) return true;
    if (i->state != api::ImageState::kImporting) return false;
    if (RbdLs(pool).find(rbd_name) == std::string::npos) return false;
    caught = true;
    return true;
  }, 120, 50)) << ImageState(image_id);
  ASSERT_TRUE(caught) << "the import finished before the agent could be killed: " << ImageState(image_id);
  env->agent->Kill(SIGKILL);
  std::cerr << "[timing] agent killed " << Seconds(t0) << " s after the upload; image " << ImageState(image_id)
            << "\n";
  EXPECT_TRUE(ImageIs(image_id, api::ImageState::kImporting)) << ImageState(image_id);

  const auto t1 = steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_TRUE(WaitFor([&] { return ImageIs(image_id, api::ImageState::kAvailable); }, 180))
      << "image not available after the restart: " << ImageState(image_id);
  std::cerr << "[timing] agent restarted -> image available: " << Seconds(t1) << " s\n";
  {
    // Whether the restarted agent found the half-written image still watched by the dead one.
    const std::string log = ReadFileOrEmpty(env->run_dir + "/agent.log");
    std::cerr << "[info] the restarted agent "
              << (log.find("a half-imported image is still open elsewhere") != std::string::npos
                      ? "waited for the dead agent's watch to expire"
                      : "removed the half-imported image at once")
              << "\n";
  }
  auto image = c().GetImage(image_id);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->content_sha256, want_sha);
  EXPECT_EQ(image->virtual_size_bytes, size);
  EXPECT_EQ(RbdLs(pool), rbd_name) << "leftover RBD images in " << pool;
  EXPECT_EQ(Rbd("trash ls " + pool), "");
  EXPECT_EQ(Rbd("snap ls --format json " + pool + "/" + rbd_name).find("\"base\"") != std::string::npos, true);

  // And it goes cleanly.
  auto deleted = c().DeleteImage(image_id);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return c().GetImage(image_id).status().code() == StatusCode::kNotFound; }, 60))
      << ImageState(image_id);
  EXPECT_EQ(RbdLs(pool), "");
  EXPECT_EQ(Rbd("trash ls " + pool), "");
  const std::string staging = env->run_dir + "/controller/images";
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(staging) || fs::is_empty(staging); }, 30))
      << "files left in the controller's staging directory " << staging;
  std::error_code ec;
  fs::remove(file, ec);
}

TEST_F(StorageE2eTest, BackupsIncrementalRestoreAndAgentKilledMidBackup) {
  const std::string pool = env->ceph_pool;
  const std::string target_pool = "govpool-e2e-bak-" + NewUuid().substr(0, 8);
  ASSERT_NO_FATAL_FAILURE(CreateCephPool(target_pool));
  env->extra_ceph_pools.push_back(target_pool);
  api::CreateStoragePoolRequest sp;
  sp.name = "e2e-backups";
  sp.cluster = kCluster;
  sp.ceph_pool = target_pool;
  sp.provisioning_ratio = 16;
  auto target = c().CreateStoragePool(sp);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  ASSERT_TRUE(WaitFor([&] {
    auto p = c().GetStoragePool(target->meta.id);
    return p.ok() && p->hosts > 0;
  }, 30)) << "the agent never reported the backup pool";

  api::CreateVolumeRequest vr;
  vr.name = "backed-up";
  vr.department_id = env->dept;
  vr.size_gib = 1;
  vr.pool = env->storage_pool;
  auto volume = c().CreateVolume(vr);
  ASSERT_TRUE(volume.ok()) << volume.status().ToString();
  const std::string vol = volume->meta.id;
  const std::string vol_image = "govpool-vol-" + vol;
  ASSERT_TRUE(WaitFor([&] { return VolumeIs(vol, api::VolumeState::kAvailable); }, 60)) << VolumeState(vol);

  auto backup = [&](const std::string& name) -> std::string {
    api::CreateBackupRequest br;
    br.name = name;
    br.volume = vol;
    br.target_pool = target->meta.id;
    auto b = c().CreateBackup(br);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? b->meta.id : "";
  };
  auto restore = [&](const std::string& backup_id, const std::string& name) -> std::string {
    api::RestoreBackupRequest rr;
    rr.name = name;
    rr.pool = env->storage_pool;
    auto v = c().RestoreBackup(backup_id, rr);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return "";
    EXPECT_EQ(v->source_backup_id, backup_id);
    EXPECT_TRUE(WaitFor([&] { return VolumeIs(v->meta.id, api::VolumeState::kAvailable); }, 120))
        << VolumeState(v->meta.id);
    return v->meta.id;
  };

  // Marker A, a full backup; marker B, an incremental one.
  std::string io;
  ASSERT_TRUE(QemuIo(pool, vol_image, "write -P 0x41 0 64k", &io)) << io;
  const std::string b1 = backup("first");
  ASSERT_FALSE(b1.empty());
  ASSERT_TRUE(WaitFor([&] { return BackupIs(b1, api::BackupState::kAvailable); }, 120)) << BackupState(b1);
  // Another backup of the same volume cannot start while one runs; this one is done.
  ASSERT_TRUE(QemuIo(pool, vol_image, "write -P 0x42 16M 64k", &io)) << io;
  const std::string b2 = backup("second");
  ASSERT_FALSE(b2.empty());
  ASSERT_TRUE(WaitFor([&] { return BackupIs(b2, api::BackupState::kAvailable); }, 120)) << BackupState(b2);
  auto first = c().GetBackup(b1);
  auto second = c().GetBackup(b2);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(first->incremental);
  EXPECT_TRUE(second->incremental) << "the second backup should carry only what changed";
  EXPECT_EQ(second->parent_backup_id, b1);
  EXPECT_GT(second->transferred_bytes, 0);
  EXPECT_LE(second->transferred_bytes, 8 * kMiB) << "an incremental backup carried more than the change";
  EXPECT_GT(first->completed_at_ms, 0);
  std::cerr << "[info] backup 1: " << first->transferred_bytes << " bytes (full); backup 2: "
            << second->transferred_bytes << " bytes (incremental)\n";
  // Only the newest backup's snapshot stays on the volume (the base of the next diff).
  const std::string vol_snaps = Rbd("snap ls " + pool + "/" + vol_image);
  EXPECT_EQ(vol_snaps.find("govpool-bak-" + b1), std::string::npos) << vol_snaps;
  EXPECT_NE(vol_snaps.find("govpool-bak-" + b2), std::string::npos) << vol_snaps;

  const std::string r1 = restore(b1, "restored-first");
  const std::string r2 = restore(b2, "restored-second");
  ASSERT_FALSE(r1.empty() || r2.empty());
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r1, "read -P 0x41 0 64k", &io)) << "marker A in backup 1: " << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r1, "read -P 0 16M 64k", &io)) << "backup 1 holds no marker B: " << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r2, "read -P 0x41 0 64k", &io)) << "marker A in backup 2: " << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r2, "read -P 0x42 16M 64k", &io)) << "marker B in backup 2: " << io;

  // A third backup, of 96 MiB more, with the agent killed while it runs.
  ASSERT_TRUE(QemuIo(pool, vol_image, "write -P 0x43 64M 96M", &io)) << io;
  const auto t0 = steady_clock::now();
  const std::string b3 = backup("third");
  ASSERT_FALSE(b3.empty());
  ASSERT_TRUE(WaitFor([&] {
    return Rbd("snap ls " + pool + "/" + vol_image).find("govpool-bak-" + b3) != std::string::npos ||
           !BackupIs(b3, api::BackupState::kCreating);
  }, 60, 20)) << BackupState(b3);
  env->agent->Kill(SIGKILL);
  std::cerr << "[timing] agent killed " << Seconds(t0) << " s into backup 3: " << BackupState(b3) << "\n";
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  ASSERT_TRUE(WaitFor([&] { return BackupIs(b3, api::BackupState::kAvailable); }, 180))
      << "backup 3 after the restart: " << BackupState(b3);
  std::cerr << "[timing] agent restarted -> backup 3 available: " << Seconds(t0) << " s after it started\n";
  const std::string r3 = restore(b3, "restored-third");
  ASSERT_FALSE(r3.empty());
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r3, "read -P 0x41 0 64k", &io)) << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r3, "read -P 0x42 16M 64k", &io)) << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r3, "read -P 0x43 64M 96M", &io)) << io;
  EXPECT_TRUE(QemuIo(pool, "govpool-vol-" + r3, "read -P 0 160M 1M", &io)) << io;

  // The volume goes first (its backups outlive it), then the restores, then the backups.
  for (const std::string& id : {vol, r1, r2, r3}) {
    auto d = c().DeleteVolume(id);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
  }
  for (const std::string& id : {vol, r1, r2, r3}) {
    EXPECT_TRUE(WaitFor([&] { return c().GetVolume(id).status().code() == StatusCode::kNotFound; }, 60))
        << VolumeState(id);
  }
  EXPECT_TRUE(BackupIs(b1, api::BackupState::kAvailable)) << "a backup outlives its volume: " << BackupState(b1);
  for (const std::string& id : {b1, b2, b3}) {
    auto d = c().DeleteBackup(id);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
  }
  for (const std::string& id : {b1, b2, b3}) {
    EXPECT_TRUE(WaitFor([&] { return c().GetBackup(id).status().code() == StatusCode::kNotFound; }, 60))
        << BackupState(id);
  }
  EXPECT_EQ(RbdLs(target_pool), "") << "RBD images left in the backup pool";
  EXPECT_EQ(Rbd("trash ls " + target_pool), "");
  EXPECT_EQ(RbdLs(pool), "") << "RBD images left in " << pool;
  EXPECT_EQ(Rbd("trash ls " + pool), "");
  auto removed = c().DeleteStoragePool(target->meta.id);
  EXPECT_TRUE(removed.ok()) << removed.ToString();
}

}  // namespace
}  // namespace govpool::e2e
