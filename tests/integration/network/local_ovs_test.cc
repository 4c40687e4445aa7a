// LocalOvs (network/ovs/local_ovs.h) against real Open vSwitch databases:
//   - a private ovsdb-server with the Open_vSwitch schema (started by the test, no ovs-vswitchd):
//     ConfigureChassis creates the bridge and merges only its keys, is idempotent (a second pass
//     writes nothing), repairs drift; internal ports are added, listed, deleted; ReadBindings
//     reads iface-id, ofport and ovn-installed.
//   - the local OVS + OVN (GOVPOOL_OVS_DB, GOVPOOL_TEST_OVN_NB, else scripts/start-ovn.sh):
//     the chassis configuration start-ovn.sh wrote is recognised as converged (nothing
//     written); ovn-controller answers `connection-status` with "connected"; a port of a
//     logical switch attached by a NetnsEndpoint reaches ovn-installed=true, a port whose
//     iface-id names no logical port never does.
#include "network/ovs/local_ovs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "common/ids.h"
#include "network/ovsdb/ovsdb_client.h"
#include "tests/support/child_process.h"
#include "tests/support/netns_endpoint.h"
#include "tests/support/test_guest.h"

namespace govpool::network {
namespace {
using govpool::testing::ChildProcess;
using govpool::testing::RunCommand;
using govpool::testing::ShellQuote;
using govpool::testing::TempDir;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// An ovsdb-server serving a fresh Open_vSwitch database, for as long as the object lives.
class PrivateOvsDb {
 public:
  PrivateOvsDb() {
    const std::string db = dir_.path() + "/conf.db";
    EXPECT_EQ(RunCommand("ovsdb-tool create " + db + " /usr/share/openvswitch/vswitch.ovsschema").exit_code, 0);
    server_ = ChildProcess::Start({"/usr/sbin/ovsdb-server", db, "--remote=punix:" + dir_.path() + "/db.sock",
                                   "--unixctl=" + dir_.path() + "/ctl", "--no-chdir", "-vconsole:off"},
                                  dir_.path() + "/ovsdb-server.log");
    for (int i = 0; i < 200 && !std::filesystem::exists(dir_.path() + "/db.sock"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto out = RunCommand(Vsctl() + "--no-wait init");
    EXPECT_EQ(out.exit_code, 0) << out.output;
  }
  std::string remote() const { return "unix:" + dir_.path() + "/db.sock"; }
  std::string Vsctl() const { return "ovs-vsctl --timeout=5 --no-wait --db=" + remote() + " "; }
  std::string Get(const std::string& what) const { return Trim(RunCommand(Vsctl() + "get " + what).output); }

 private:
  TempDir dir_{"govpool-local-ovs"};
  std::unique_ptr<ChildProcess> server_;
};

ChassisConfig Config() {
  return {.system_id = "chassis-t",
          .hostname = "host-t",
          .ovn_remote = "tcp:192.0.2.1:6642",
          .encap_ip = "192.0.2.10",
          .bridge = "br-int",
          .datapath_type = "netdev"};
}

TEST(LocalOvsPrivateDbTest, ConfigureChassisCreatesMergesAndConverges) {
  PrivateOvsDb db;
  auto ovs = LocalOvs::Connect(db.remote());
  ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
  ASSERT_EQ(RunCommand(db.Vsctl() + "set open_vswitch . external_ids:foreign=keep external_ids:ovn-encap-ip=1.1.1.1").exit_code, 0);

  auto first = (*ovs)->ConfigureChassis(Config());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->external_ids);
  EXPECT_TRUE(first->bridge_created);
  EXPECT_EQ(db.Get("open_vswitch . external_ids:system-id"), "chassis-t");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:hostname"), "host-t");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-remote"), "\"tcp:192.0.2.1:6642\"");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-encap-type"), "geneve");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-encap-ip"), "\"192.0.2.10\"");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-bridge"), "br-int");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-bridge-datapath-type"), "netdev");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:foreign"), "keep");
  EXPECT_EQ(db.Get("bridge br-int fail_mode"), "secure");
  EXPECT_EQ(db.Get("bridge br-int datapath_type"), "netdev");
  EXPECT_EQ(Trim(RunCommand(db.Vsctl() + "list-ports br-int").output), "");  // only its own port

  auto second = (*ovs)->ConfigureChassis(Config());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->changed());

  // Drift: a key changed by hand, the fail mode cleared: repaired; other keys stay.
  ASSERT_EQ(RunCommand(db.Vsctl() + "set open_vswitch . external_ids:ovn-remote=tcp:x:1 -- clear bridge br-int fail_mode").exit_code, 0);
  auto third = (*ovs)->ConfigureChassis(Config());
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(third->external_ids);
  EXPECT_TRUE(third->bridge_updated);
  EXPECT_FALSE(third->bridge_created);
  EXPECT_EQ(db.Get("open_vswitch . external_ids:ovn-remote"), "\"tcp:192.0.2.1:6642\"");
  EXPECT_EQ(db.Get("bridge br-int fail_mode"), "secure");
  EXPECT_EQ(db.Get("open_vswitch . external_ids:foreign"), "keep");
  EXPECT_EQ(Trim(RunCommand(db.Vsctl() + "list-br").output), "br-int");

  ChassisConfig bad = Config();
  bad.encap_ip.clear();
  EXPECT_EQ((*ovs)->ConfigureChassis(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalOvsPrivateDbTest, NoOpenVSwitchRowIsFailedPrecondition) {
  TempDir dir("govpool-local-ovs");
  const std::string db = dir.path() + "/conf.db";
  ASSERT_EQ(RunCommand("ovsdb-tool create " + db + " /usr/share/openvswitch/vswitch.ovsschema").exit_code, 0);
  auto server = ChildProcess::Start({"/usr/sbin/ovsdb-server", db, "--remote=punix:" + dir.path() + "/db.sock",
                                     "--unixctl=" + dir.path() + "/ctl", "--no-chdir", "-vconsole:off"},
                                    dir.path() + "/log");
  for (int i = 0; i < 200 && !std::filesystem::exists(dir.path() + "/db.sock"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto ovs = LocalOvs::Connect("unix:" + dir.path() + "/db.sock");
  ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
  EXPECT_EQ((*ovs)->ConfigureChassis(Config()).status().code(), StatusCode::kFailedPrecondition);
}

TEST(LocalOvsPrivateDbTest, InternalPortsAndBindings) {
  PrivateOvsDb db;
  auto ovs = LocalOvs::Connect(db.remote());
  ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
  ASSERT_TRUE((*ovs)->ConfigureChassis(Config()).ok());

  ASSERT_TRUE((*ovs)->AddInternalPort("br-int", "p1", {{"iface-id", "lp-1"}}).ok());
  ASSERT_TRUE((*ovs)->AddInternalPort("br-int", "p2", {{"iface-id", "lp-2"}, {"attached-mac", "02:00:00:00:00:02"}}).ok());
  ASSERT_TRUE((*ovs)->AddInternalPort("br-int", "p3", {}).ok());  // no iface-id: not a binding
  EXPECT_EQ((*ovs)->AddInternalPort("br-int", "p1", {}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*ovs)->AddInternalPort("br-none", "p4", {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(db.Get("interface p1 type"), "internal");

  auto ports = (*ovs)->ListPorts("br-int");
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  EXPECT_EQ(*ports, (std::vector<std::string>{"br-int", "p1", "p2", "p3"}));
  EXPECT_EQ((*ovs)->ListPorts("br-none").status().code(), StatusCode::kNotFound);

  // What ovn-controller and ovs-vswitchd would write.
  ASSERT_EQ(RunCommand(db.Vsctl() + "set interface p2 external_ids:ovn-installed=true ofport=7").exit_code, 0);
  auto bindings = (*ovs)->ReadBindings();
  ASSERT_TRUE(bindings.ok()) << bindings.status().ToString();
  ASSERT_EQ(bindings->size(), 2u);
  EXPECT_EQ((*bindings)[0], (PortBinding{.iface_id = "lp-1", .interface = "p1", .ofport = -1, .ovn_installed = false}));
  EXPECT_EQ((*bindings)[1], (PortBinding{.iface_id = "lp-2", .interface = "p2", .ofport = 7, .ovn_installed = true}));

  ASSERT_TRUE((*ovs)->DeletePort("br-int", "p1").ok());
  ASSERT_TRUE((*ovs)->DeletePort("br-int", "p1").ok());  // idempotent
  ports = (*ovs)->ListPorts("br-int");
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ(*ports, (std::vector<std::string>{"br-int", "p2", "p3"}));
  EXPECT_EQ(Trim(RunCommand(db.Vsctl() + "--columns=name find interface name=p1").output), "");  // gone with its port
}

TEST(LocalOvsTest, QueryOvnControllerWithoutOneIsUnavailable) {
  TempDir dir("govpool-local-ovs");
  EXPECT_EQ(QueryOvnController(dir.path()).status().code(), StatusCode::kUnavailable);
  RunCommand("echo 999999 > " + dir.path() + "/ovn-controller.pid");
  EXPECT_EQ(QueryOvnController(dir.path()).status().code(), StatusCode::kUnavailable);
}

// The machine's OVS + OVN.
struct Local {
  std::string ovs_db;
  std::string nb;
  std::string rundir;
};
Local LocalOvn() {
  const std::string run = govpool::testing::TestStateDir() + "/ovn/run";
  if (Env("GOVPOOL_OVS_DB").empty() || Env("GOVPOOL_TEST_OVN_NB").empty()) {
    EXPECT_EQ(govpool::testing::RunProjectScript("start-ovn.sh >/dev/null"), 0);
    return {"unix:" + run + "/db.sock", "unix:" + run + "/ovnnb_db.sock", run};
  }
  const std::string ovs_db = Env("GOVPOOL_OVS_DB");  // unix:<run>/db.sock
  return {ovs_db, Env("GOVPOOL_TEST_OVN_NB"), std::filesystem::path(ovs_db.substr(5)).parent_path().string()};
}

TEST(LocalOvsTest, RealChassisIsConvergedAndOvnControllerConnected) {
  const Local ovn = LocalOvn();
  auto ovs = LocalOvs::Connect(ovn.ovs_db);
  ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
  // start-ovn.sh's configuration, read back: configuring it again writes nothing.
  auto get = [&](const std::string& key) {
    std::string v = Trim(RunCommand("ovs-vsctl --db=" + ovn.ovs_db + " get open_vswitch . external_ids:" + key).output);
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
  };
  ChassisConfig config{.system_id = get("system-id"),
                       .hostname = get("hostname"),
                       .ovn_remote = get("ovn-remote"),
                       .encap_type = get("ovn-encap-type"),
                       .encap_ip = get("ovn-encap-ip"),
                       .bridge = get("ovn-bridge"),
                       .datapath_type = get("ovn-bridge-datapath-type")};
  auto change = (*ovs)->ConfigureChassis(config);
  ASSERT_TRUE(change.ok()) << change.status().ToString();
  EXPECT_FALSE(change->changed());

  auto status = QueryOvnController(ovn.rundir);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_GT(status->pid, 0);
  EXPECT_EQ(status->connection, "connected");
  EXPECT_TRUE(status->connected());
}

TEST(LocalOvsTest, PortReachesOvnInstalled) {
  const Local ovn = LocalOvn();
  auto ovs = LocalOvs::Connect(ovn.ovs_db);
  ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
  const std::string run = NewUuid().substr(0, 6);
  const std::string ls = "govpool-test-" + run;
  const std::string bound = "gpl" + run + "-a";    // a logical port exists for it
  const std::string unbound = "gpl" + run + "-b";  // its iface-id names no logical port
  const std::string nbctl = "ovn-nbctl --timeout=10 --db=" + ShellQuote(ovn.nb) + " ";
  auto out = RunCommand(nbctl + "ls-add " + ls + " -- lsp-add " + ls + " " + bound + " -- lsp-set-addresses " +
                        bound + " '02:00:00:bb:00:01 10.78.0.11'");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  {
    auto a = govpool::testing::NetnsEndpoint::Create(
        {.ovs_db = ovn.ovs_db, .name = bound, .iface_id = bound, .mac = "02:00:00:bb:00:01"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = govpool::testing::NetnsEndpoint::Create(
        {.ovs_db = ovn.ovs_db, .name = unbound, .iface_id = unbound, .mac = "02:00:00:bb:00:02"});
    ASSERT_TRUE(b.ok()) << b.status().ToString();

    PortBinding seen_a, seen_b;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto bindings = (*ovs)->ReadBindings();
      ASSERT_TRUE(bindings.ok()) << bindings.status().ToString();
      for (const auto& binding : *bindings) {
        if (binding.iface_id == bound) seen_a = binding;
        if (binding.iface_id == unbound) seen_b = binding;
      }
      if (seen_a.ovn_installed) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(seen_a.ovn_installed);
    EXPECT_EQ(seen_a.interface, bound);
    EXPECT_GT(seen_a.ofport, 0);
    EXPECT_EQ(seen_b.interface, unbound);
    EXPECT_FALSE(seen_b.ovn_installed);
  }
  RunCommand(nbctl + "ls-del " + ls);
}

}  // namespace
}  // namespace govpool::network
