// End-to-end: a real guest on an OVN network. A network with a DHCP subnet and three logical
// ports are programmed into the real Northbound database by govpool's own code (OvnNorthbound +
// NorthboundReconciler; rows carry govpool-owner=<run>); the tiny test guest boots through the
// real LibvirtHypervisor (qemu:///system, TCG) with one NIC on port 1; a network namespace on an
// OVS internal port (NetnsEndpoint) is port 2. The guest gets its address from OVN's DHCP
// (GOVPOOL-GUEST-IP on its console) and answers the endpoint's ping; a NIC hot-plugged on port 3
// gets its address too and leaves no tap when unplugged. At the end no domain, tap, OVS port,
// namespace or Northbound row of the run is left. Prints the time from the domain's start to
// the first answered ping ("time for a VM's port to pass traffic", docs/performance.md).
// Starts libvirtd, OVS + OVN (scripts/start-ovn.sh, which also links the default OVS socket
// libvirt's ovs-vsctl uses) and builds the guest itself: never skips. Needs root.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/drivers/hypervisor.h"
#include "agent/drivers/libvirt/libvirt_hypervisor.h"
#include "common/ids.h"
#include "network/northbound.h"
#include "network/northbound_reconciler.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovsdb/ovsdb_client.h"
#include "tests/support/netns_endpoint.h"
#include "tests/support/test_guest.h"

namespace govpool::e2e {
namespace {

namespace fs = std::filesystem;
using agent::DomainSpec;
using agent::LibvirtHypervisor;
using agent::LibvirtOptions;
using agent::NicSpec;
using agent::NicTapName;
using network::DesiredNetworks;
using network::LogicalNetwork;
using network::LogicalPort;
using network::LogicalSubnet;
using network::NorthboundReconciler;
using network::OvnNorthbound;
using std::chrono::steady_clock;
using testing::ListNetns;
using testing::ListOvsPorts;
using testing::NetnsEndpoint;
using testing::RunProjectScript;
using testing::TestGuestDir;
using testing::TestStateDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

double SecondsSince(steady_clock::time_point t0) {
  return std::chrono::duration<double>(steady_clock::now() - t0).count();
}

class VmNetworkE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunProjectScript("start-libvirtd.sh >/dev/null"), 0);
    ASSERT_EQ(RunProjectScript("make-test-guest.sh '" + TestGuestDir() + "'"), 0);
    // Always run it (idempotent): it also makes the default OVS socket lead to this OVS.
    ASSERT_EQ(RunProjectScript("start-ovn.sh >/dev/null"), 0);
    const std::string run = TestStateDir() + "/ovn/run";
    const char* ovs = std::getenv("GOVPOOL_OVS_DB");
    const char* nb = std::getenv("GOVPOOL_TEST_OVN_NB");
    ovs_db_ = ovs != nullptr && *ovs != '\0' ? ovs : "unix:" + run + "/db.sock";
    nb_ = nb != nullptr && *nb != '\0' ? nb : "unix:" + run + "/ovnnb_db.sock";

    run_dir_ = TestStateDir() + "/test-runs/vmnet-" + run_;
    fs::create_directories(run_dir_);
    // QEMU runs as an unprivileged user: it must traverse into the directory of its files.
    fs::permissions(run_dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);

    auto client = ovsdb::Client::Connect(nb_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    nb_client_ = std::move(client).value();
    driver_ = std::make_unique<OvnNorthbound>(*nb_client_, OvnNorthbound::Options{.owner = "vmnet-e2e-" + run_});
    reconciler_ = std::make_unique<NorthboundReconciler>(*driver_);

    auto hv = LibvirtHypervisor::Open(LibvirtOptions{});
    ASSERT_TRUE(hv.ok()) << hv.status().ToString();
    hv_ = std::move(hv).value();
  }

  void TearDown() override {
    if (hv_ != nullptr && !domain_.empty()) {
      hv_->DestroyDomain(domain_).IgnoreError();
      hv_->UndefineDomain(domain_).IgnoreError();
      EXPECT_EQ(hv_->GetDomain(domain_).status().code(), StatusCode::kNotFound) << "domain left";
    }
    endpoint_.reset();
    for (const std::string& port : ports_) {
      const std::string tap = NicTapName(port);
      EXPECT_FALSE(fs::exists("/sys/class/net/" + tap)) << "tap " << tap << " left";
      const auto on_bridge = ListOvsPorts(ovs_db_);
      EXPECT_EQ(std::count(on_bridge.begin(), on_bridge.end(), tap), 0) << "OVS port " << tap << " left";
    }
    const auto netns = ListNetns();
    EXPECT_EQ(std::count(netns.begin(), netns.end(), endpoint_name_), 0) << "namespace left";
    if (reconciler_ != nullptr) {
      auto removed = reconciler_->Reconcile(DesiredNetworks{});
      EXPECT_TRUE(removed.ok()) << removed.status().ToString();
      auto left = driver_->Read();
      ASSERT_TRUE(left.ok()) << left.status().ToString();
      EXPECT_TRUE(left->switches.empty() && left->dhcp_options.empty() && left->ports.empty())
          << "Northbound rows of this run left";
    }
    if (!HasFailure()) {
      std::error_code ec;
      fs::remove_all(run_dir_, ec);
    }
  }

  // The console line "GOVPOOL-GUEST-IP <nic> <addr>/<prefix>": the address ("" when absent).
  std::string GuestAddress(const std::string& nic) const {
    const std::regex line("GOVPOOL-GUEST-IP " + nic + " ([0-9.]+)/([0-9]+)");
    std::smatch m;
    const std::string console = ReadFile(console_);
    return std::regex_search(console, m, line) ? m[1].str() : "";
  }

  const std::string run_ = NewUuid().substr(0, 6);
  const std::string endpoint_name_ = "gpv" + run_ + "-ep";
  std::string ovs_db_, nb_, run_dir_, console_, domain_;
  std::vector<std::string> ports_;  // the guest's port ids (their taps must go)
  std::unique_ptr<ovsdb::Client> nb_client_;
  std::unique_ptr<OvnNorthbound> driver_;
  std::unique_ptr<NorthboundReconciler> reconciler_;
  std::unique_ptr<LibvirtHypervisor> hv_;
  std::unique_ptr<NetnsEndpoint> endpoint_;
};

TEST_F(VmNetworkE2eTest, GuestGetsItsAddressFromOvnAndAnswersPingAlsoOnAHotPluggedNic) {
  // The network: 10.96.0.0/24 with OVN's DHCP; port 1 the guest, 2 the endpoint, 3 hot-plugged.
  LogicalNetwork net;
  net.id = "vmnet-" + run_;
  net.name = net.id;
  net.mtu = 1400;
  LogicalSubnet subnet;
  subnet.id = net.id + "-subnet";
  subnet.cidr = "10.96.0.0/24";
  subnet.gateway_ip = "10.96.0.1";
  subnet.enable_dhcp = true;
  net.subnets.push_back(subnet);
  DesiredNetworks desired;
  desired.networks.push_back(net);
  std::vector<NicSpec> nics;
  for (int i = 1; i <= 3; ++i) {
    LogicalPort p;
    p.id = NewUuid();
    p.network_id = net.id;
    p.mac = "02:96:" + run_.substr(0, 2) + ":" + run_.substr(2, 2) + ":" + run_.substr(4, 2) + ":0" +
            std::to_string(i);
    p.ips = {"10.96.0.1" + std::to_string(i)};
    desired.ports.push_back(p);
    NicSpec nic;
    nic.port_id = p.id;
    nic.mac = p.mac;
    nics.push_back(nic);
  }
  auto changes = reconciler_->Reconcile(desired);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ports_ = {nics[0].port_id, nics[2].port_id};

  // The guest, with one NIC (port 1).
  DomainSpec spec;
  spec.uuid = NewUuid();
  spec.name = "govpool-test-" + spec.uuid.substr(0, 8);
  spec.domain_type = "qemu";
  spec.memory_mib = 128;
  spec.kernel_path = TestGuestDir() + "/vmlinuz";
  spec.initrd_path = TestGuestDir() + "/initrd.img";
  spec.kernel_cmdline = "console=ttyS0 panic=-1";
  spec.serial_log_path = console_ = run_dir_ + "/console.log";
  spec.metadata = {{"vm_id", spec.uuid}};  // no host_id: no agent touches it
  spec.nics = {nics[0]};
  ASSERT_TRUE(hv_->DefineDomain(spec).ok());
  domain_ = spec.uuid;

  // The endpoint (port 2), with its address set by hand: the guest's DHCP is under test.
  auto ep = NetnsEndpoint::Create({.ovs_db = ovs_db_, .name = endpoint_name_,
                                   .iface_id = desired.ports[1].id, .mac = desired.ports[1].mac});
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  endpoint_ = std::move(ep).value();
  ASSERT_TRUE(endpoint_->SetAddress("10.96.0.12/24").ok());

  const auto started = steady_clock::now();
  ASSERT_TRUE(hv_->StartDomain(spec.uuid).ok());
  const std::string tap = NicTapName(nics[0].port_id);
  EXPECT_TRUE(fs::exists("/sys/class/net/" + tap)) << "no tap " << tap;
  {
    const auto on_bridge = ListOvsPorts(ovs_db_);
    EXPECT_EQ(std::count(on_bridge.begin(), on_bridge.end(), tap), 1) << tap << " is not on br-int";
  }
  ASSERT_TRUE(WaitFor([&] { return ReadFile(console_).find(testing::kGuestBootedMarker) != std::string::npos; },
                      std::chrono::seconds(240)))
      << "the guest did not boot:\n" << ReadFile(console_).substr(0, 8000);
  const double to_boot = SecondsSince(started);
  ASSERT_TRUE(WaitFor([&] { return !GuestAddress("eth0").empty(); }, std::chrono::seconds(240)))
      << "no GOVPOOL-GUEST-IP eth0 on " << console_ << ":\n" << ReadFile(console_).substr(0, 8000);
  const double to_address = SecondsSince(started);
  EXPECT_EQ(GuestAddress("eth0"), "10.96.0.11") << "the address OVN's DHCP gives port 1";
  ASSERT_TRUE(WaitFor([&] { return endpoint_->Ping("10.96.0.11", 1, std::chrono::seconds(1)) > 0; },
                      std::chrono::seconds(60)))
      << "the guest does not answer ping";
  const double to_ping = SecondsSince(started);
  EXPECT_GE(endpoint_->Ping("10.96.0.11", 3, std::chrono::seconds(5)), 2);
  std::printf("[ timing ] domain start -> guest booted (its /init runs): %.1f s; -> its DHCP address: "
              "%.1f s; -> first answered ping: %.1f s\n",
              to_boot, to_address, to_ping);

  // A hot-plugged NIC (port 3) gets its address as well.
  const auto plugged = steady_clock::now();
  Status st = hv_->AttachNic(spec.uuid, nics[2]);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(WaitFor([&] { return !GuestAddress("eth1").empty(); }, std::chrono::seconds(120)))
      << "no GOVPOOL-GUEST-IP eth1 on " << console_ << ":\n" << ReadFile(console_).substr(0, 8000);
  EXPECT_EQ(GuestAddress("eth1"), "10.96.0.13");
  std::printf("[ timing ] hot-plug -> the new NIC has its DHCP address: %.1f s\n", SecondsSince(plugged));
  auto info = hv_->GetDomain(spec.uuid);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->nics, (std::vector<NicSpec>{nics[0], nics[2]}));

  // Unplugged, its tap and OVS port go.
  st = hv_->DetachNic(spec.uuid, nics[2].port_id);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(WaitFor([&] { return !fs::exists("/sys/class/net/" + NicTapName(nics[2].port_id)); },
                      std::chrono::seconds(10)));

  // Tear down here (TearDown checks what is left): the domain, then its tap goes with it.
  ASSERT_TRUE(hv_->DestroyDomain(spec.uuid).ok());
  ASSERT_TRUE(hv_->UndefineDomain(spec.uuid).ok());
}

}  // namespace
}  // namespace govpool::e2e
