// Packets through the real OVN: networks programmed into the Northbound database by govpool's
// own code (OvnNorthbound + NorthboundReconciler from DesiredNetworks), "guests" stood in for by
// network namespaces on OVS internal ports (NetnsEndpoint), on the local OVS + OVN
// (GOVPOOL_TEST_OVN_NB and GOVPOOL_OVS_DB, else scripts/start-ovn.sh; never skips).
//   - one network: two endpoints get their addresses from OVN's DHCP and ping each other.
//   - two networks (two departments) with the same CIDR: pings within a network work, across
//     never, also between endpoints with identical addresses on both sides (each reaches the
//     peer on its own network: its MAC answers ARP, its TCP server answers).
//   - two chassis (scripts/start-ovn-chassis.sh, stopped again at the end): endpoints on
//     different chassis get their leases and reach each other over Geneve.
// Each test waits for the ports' flows through LocalOvs::ReadBindings (ovn-installed), not by
// sleeping. Rows carry external_ids:govpool-owner=<run> (OvnNorthbound::Options::owner); every
// run removes them (a reconcile pass of nothing) and its endpoints, and asserts that no port of
// its prefix is left on br-int and no namespace of it remains.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "network/northbound.h"
#include "network/northbound_reconciler.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovs/local_ovs.h"
#include "network/ovsdb/ovsdb_client.h"
#include "tests/support/netns_endpoint.h"
#include "tests/support/test_guest.h"

namespace govpool::network {
namespace {
using govpool::testing::ListNetns;
using govpool::testing::ListOvsPorts;
using govpool::testing::NetnsEndpoint;
using std::chrono::seconds;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

bool AnyWithPrefix(const std::vector<std::string>& names, const std::string& prefix) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

class PacketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("GOVPOOL_OVS_DB").empty() || Env("GOVPOOL_TEST_OVN_NB").empty()) {
      ASSERT_EQ(govpool::testing::RunProjectScript("start-ovn.sh >/dev/null"), 0);
      const std::string run = govpool::testing::TestStateDir() + "/ovn/run";
      ovs_db_ = "unix:" + run + "/db.sock";
      nb_ = "unix:" + run + "/ovnnb_db.sock";
    } else {
      ovs_db_ = Env("GOVPOOL_OVS_DB");
      nb_ = Env("GOVPOOL_TEST_OVN_NB");
    }
    auto nb = ovsdb::Client::Connect(nb_);
    ASSERT_TRUE(nb.ok()) << nb.status().ToString();
    nb_client_ = std::move(nb).value();
    driver_ = std::make_unique<OvnNorthbound>(*nb_client_, OvnNorthbound::Options{.owner = "packet-test-" + run_});
    reconciler_ = std::make_unique<NorthboundReconciler>(*driver_);
    auto ovs = LocalOvs::Connect(ovs_db_);
    ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
    ovs_ = std::move(ovs).value();
  }

  void TearDown() override {
    endpoints_.clear();  // ports and namespaces first
    if (reconciler_ != nullptr) {
      auto removed = reconciler_->Reconcile(DesiredNetworks{});
      EXPECT_TRUE(removed.ok()) << removed.status().ToString();
      auto left = driver_->Read();
      ASSERT_TRUE(left.ok()) << left.status().ToString();
      EXPECT_TRUE(left->switches.empty() && left->dhcp_options.empty() && left->ports.empty());
    }
    EXPECT_FALSE(AnyWithPrefix(ListOvsPorts(ovs_db_), prefix_)) << "ports of this run left on br-int";
    EXPECT_FALSE(AnyWithPrefix(ListNetns(), prefix_)) << "namespaces of this run left";
  }

  // A port id that is also a usable interface and namespace name (at most 15 characters).
  std::string PortId(const std::string& suffix) const { return prefix_ + suffix; }

  static LogicalNetwork Network(const std::string& id, const std::string& cidr, const std::string& gateway) {
    LogicalNetwork n;
    n.id = id;
    n.name = id;
    n.mtu = 1400;
    LogicalSubnet s;
    s.id = id + "-subnet";
    s.cidr = cidr;
    s.gateway_ip = gateway;
    s.enable_dhcp = true;
    n.subnets.push_back(s);
    return n;
  }
  static LogicalPort Port(const std::string& id, const std::string& network_id, const std::string& mac,
                          const std::string& ip) {
    LogicalPort p;
    p.id = id;
    p.network_id = network_id;
    p.mac = mac;
    p.ips = {ip};
    return p;
  }

  // Programs the NB, attaches one endpoint per port and waits until ovn-controller has installed
  // every port's flows.
  void Attach(const DesiredNetworks& desired) {
    auto changes = reconciler_->Reconcile(desired);
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    for (const LogicalPort& p : desired.ports) {
      auto ep = NetnsEndpoint::Create({.ovs_db = ovs_db_, .name = p.id, .iface_id = p.id, .mac = p.mac});
      ASSERT_TRUE(ep.ok()) << ep.status().ToString();
      endpoints_[p.id] = std::move(ep).value();
    }
    const auto deadline = std::chrono::steady_clock::now() + seconds(20);
    std::vector<std::string> pending;
    do {
      auto bindings = ovs_->ReadBindings();
      ASSERT_TRUE(bindings.ok()) << bindings.status().ToString();
      pending.clear();
      for (const LogicalPort& p : desired.ports) {
        const bool installed = std::any_of(bindings->begin(), bindings->end(), [&](const PortBinding& b) {
          return b.iface_id == p.id && b.ovn_installed;
        });
        if (!installed) pending.push_back(p.id);
      }
      if (pending.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(pending.empty()) << pending.size() << " ports never reached ovn-installed, e.g. " << pending[0];
  }

  NetnsEndpoint& Ep(const std::string& suffix) { return *endpoints_.at(PortId(suffix)); }

  // The address DHCP gave the endpoint.
  std::string Lease(const std::string& suffix) {
    auto ip = Ep(suffix).Dhcp(seconds(10));
    EXPECT_TRUE(ip.ok()) << ip.status().ToString();
    return ip.ok() ? *ip : "";
  }

  // The MAC `from` has for `ip` in its neighbour table ("" when none).
  std::string NeighbourMac(const std::string& from, const std::string& ip) {
    const auto out = Ep(from).Run("ip neigh show " + ip);
    const auto pos = out.output.find("lladdr ");
    return pos == std::string::npos ? "" : out.output.substr(pos + 7, 17);
  }

  const std::string run_ = NewUuid().substr(0, 6);
  const std::string prefix_ = "gpk" + run_;  // port ids, interfaces, namespaces of this run
  std::string ovs_db_, nb_;
  std::unique_ptr<ovsdb::Client> nb_client_;
  std::unique_ptr<OvnNorthbound> driver_;
  std::unique_ptr<NorthboundReconciler> reconciler_;
  std::unique_ptr<LocalOvs> ovs_;
  std::map<std::string, std::unique_ptr<NetnsEndpoint>> endpoints_;
};

TEST_F(PacketTest, OneNetworkDhcpAndPing) {
  DesiredNetworks desired;
  const std::string net = prefix_ + "-net";
  desired.networks.push_back(Network(net, "10.91.0.0/24", "10.91.0.1"));
  desired.ports.push_back(Port(PortId("-a1"), net, "02:00:00:91:00:11", "10.91.0.11"));
  desired.ports.push_back(Port(PortId("-a2"), net, "02:00:00:91:00:12", "10.91.0.12"));
  ASSERT_NO_FATAL_FAILURE(Attach(desired));

  EXPECT_EQ(Lease("-a1"), "10.91.0.11");
  EXPECT_EQ(Lease("-a2"), "10.91.0.12");
  // The MTU and the default route came with the lease.
  EXPECT_NE(Ep("-a1").Run("ip link show " + PortId("-a1")).output.find("mtu 1400"), std::string::npos);
  EXPECT_NE(Ep("-a1").Run("ip route show default").output.find("via 10.91.0.1"), std::string::npos);

  EXPECT_GE(Ep("-a1").Ping("10.91.0.12", 3, seconds(3)), 1);
  EXPECT_GE(Ep("-a2").Ping("10.91.0.11", 3, seconds(3)), 1);
  EXPECT_EQ(NeighbourMac("-a1", "10.91.0.12"), "02:00:00:91:00:12");
  ASSERT_TRUE(Ep("-a2").ListenTcp(7070, "a2").ok());
  auto banner = Ep("-a1").TcpConnect("10.91.0.12", 7070, seconds(3));
  ASSERT_TRUE(banner.ok()) << banner.status().ToString();
  EXPECT_EQ(*banner, "a2");
}

TEST_F(PacketTest, OverlappingNetworksOfTwoDepartmentsAreIsolated) {
  // Department X and department Y both use 10.92.0.0/24; x1 and y1 even have the same address.
  DesiredNetworks desired;
  const std::string net_x = prefix_ + "-x", net_y = prefix_ + "-y";
  desired.networks.push_back(Network(net_x, "10.92.0.0/24", "10.92.0.1"));
  desired.networks.push_back(Network(net_y, "10.92.0.0/24", "10.92.0.1"));
  desired.ports.push_back(Port(PortId("-x1"), net_x, "02:00:00:92:01:11", "10.92.0.11"));
  desired.ports.push_back(Port(PortId("-x2"), net_x, "02:00:00:92:01:12", "10.92.0.12"));
  desired.ports.push_back(Port(PortId("-y1"), net_y, "02:00:00:92:02:11", "10.92.0.11"));
  desired.ports.push_back(Port(PortId("-y2"), net_y, "02:00:00:92:02:13", "10.92.0.13"));
  ASSERT_NO_FATAL_FAILURE(Attach(desired));

  EXPECT_EQ(Lease("-x1"), "10.92.0.11");
  EXPECT_EQ(Lease("-x2"), "10.92.0.12");
  EXPECT_EQ(Lease("-y1"), "10.92.0.11");
  EXPECT_EQ(Lease("-y2"), "10.92.0.13");

  // Within each network.
  EXPECT_GE(Ep("-x2").Ping("10.92.0.11", 3, seconds(3)), 1);
  EXPECT_GE(Ep("-y2").Ping("10.92.0.11", 3, seconds(3)), 1);
  EXPECT_GE(Ep("-x1").Ping("10.92.0.12", 3, seconds(3)), 1);
  EXPECT_GE(Ep("-y1").Ping("10.92.0.13", 3, seconds(3)), 1);
  // The identical address is answered by the peer on the endpoint's own network.
  EXPECT_EQ(NeighbourMac("-x2", "10.92.0.11"), "02:00:00:92:01:11");
  EXPECT_EQ(NeighbourMac("-y2", "10.92.0.11"), "02:00:00:92:02:11");
  ASSERT_TRUE(Ep("-x1").ListenTcp(7070, "x1").ok());
  ASSERT_TRUE(Ep("-y1").ListenTcp(7070, "y1").ok());
  auto from_x = Ep("-x2").TcpConnect("10.92.0.11", 7070, seconds(3));
  auto from_y = Ep("-y2").TcpConnect("10.92.0.11", 7070, seconds(3));
  ASSERT_TRUE(from_x.ok()) << from_x.status().ToString();
  ASSERT_TRUE(from_y.ok()) << from_y.status().ToString();
  EXPECT_EQ(*from_x, "x1");
  EXPECT_EQ(*from_y, "y1");

  // Across networks: never (x2's address does not exist on Y's network, y2's not on X's). The
  // four wait out their timeouts side by side.
  std::vector<std::future<int>> across;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"-y2", "10.92.0.12"}, {"-x2", "10.92.0.13"}, {"-y1", "10.92.0.12"}, {"-x1", "10.92.0.13"}}) {
    NetnsEndpoint* ep = &Ep(from);
    across.push_back(std::async(std::launch::async, [ep, to] { return ep->Ping(to, 3, seconds(2)); }));
  }
  for (auto& replies : across) EXPECT_EQ(replies.get(), 0);
  EXPECT_EQ(NeighbourMac("-y2", "10.92.0.12"), "");
}

// Two chassis of scripts/start-ovn-chassis.sh (each in its own namespace with its own OVS and
// ovn-controller, joined by a veth underlay): endpoints on different chassis get their leases
// from their own ovn-controller and reach each other over Geneve. The chassis are stopped at the
// end (a dead chassis left in the Southbound database would make every `--wait=hv` hang).
TEST_F(PacketTest, EndpointsOnTwoChassisReachEachOtherOverGeneve) {
  ASSERT_EQ(govpool::testing::RunProjectScript("start-ovn-chassis.sh >/dev/null"), 0);
  struct StopChassis {
    ~StopChassis() { govpool::testing::RunProjectScript("stop-ovn-chassis.sh >/dev/null"); }
  } stop_chassis;
  const std::string dir = govpool::testing::TestStateDir() + "/ovn-chassis";
  struct Chassis {
    std::string netns;
    std::string db;
  };
  const Chassis ch[2] = {{"govpool-ch1", "unix:" + dir + "/govpool-ch1/db.sock"},
                         {"govpool-ch2", "unix:" + dir + "/govpool-ch2/db.sock"}};

  DesiredNetworks desired;
  const std::string net = prefix_ + "-g";
  desired.networks.push_back(Network(net, "10.93.0.0/24", "10.93.0.1"));
  desired.ports.push_back(Port(PortId("-g1"), net, "02:00:00:93:00:11", "10.93.0.11"));
  desired.ports.push_back(Port(PortId("-g2"), net, "02:00:00:93:00:12", "10.93.0.12"));
  auto changes = reconciler_->Reconcile(desired);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  for (int i = 0; i < 2; ++i) {
    const LogicalPort& p = desired.ports[i];
    auto ep = NetnsEndpoint::Create(
        {.ovs_db = ch[i].db, .name = p.id, .iface_id = p.id, .mac = p.mac, .device_netns = ch[i].netns});
    ASSERT_TRUE(ep.ok()) << ep.status().ToString();
    endpoints_[p.id] = std::move(ep).value();
    // Bound on that chassis: its own database says ovn-installed.
    auto ovs = LocalOvs::Connect(ch[i].db);
    ASSERT_TRUE(ovs.ok()) << ovs.status().ToString();
    bool installed = false;
    for (const auto deadline = std::chrono::steady_clock::now() + seconds(20);
         !installed && std::chrono::steady_clock::now() < deadline;) {
      auto bindings = (*ovs)->ReadBindings();
      ASSERT_TRUE(bindings.ok()) << bindings.status().ToString();
      installed = std::any_of(bindings->begin(), bindings->end(),
                              [&](const PortBinding& b) { return b.iface_id == p.id && b.ovn_installed; });
      if (!installed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(installed) << p.id << " never reached ovn-installed on " << ch[i].netns;
  }

  EXPECT_EQ(Lease("-g1"), "10.93.0.11");
  EXPECT_EQ(Lease("-g2"), "10.93.0.12");
  // The first packet over a fresh tunnel may be lost (OVS resolves the peer first).
  EXPECT_GE(Ep("-g1").Ping("10.93.0.12", 5, seconds(5)), 3);
  EXPECT_GE(Ep("-g2").Ping("10.93.0.11", 3, seconds(3)), 3);
  ASSERT_TRUE(Ep("-g2").ListenTcp(7070, "g2").ok());
  auto banner = Ep("-g1").TcpConnect("10.93.0.12", 7070, seconds(3));
  ASSERT_TRUE(banner.ok()) << banner.status().ToString();
  EXPECT_EQ(*banner, "g2");
  // It went through the tunnel: chassis 1's datapath pushed Geneve headers.
  const auto flows = govpool::testing::RunCommand("ovs-appctl -t " + dir + "/govpool-ch1/ovs-vswitchd.ctl dpctl/dump-flows");
  EXPECT_NE(flows.output.find("tnl_push"), std::string::npos) << flows.output;

  endpoints_.clear();
  for (const Chassis& c : ch) EXPECT_FALSE(AnyWithPrefix(ListOvsPorts(c.db), prefix_)) << c.netns;
}

}  // namespace
}  // namespace govpool::network
