// Packets through the real OVN: networks programmed into the Northbound database by govpool's
// own code (OvnNorthbound + NorthboundReconciler from DesiredNetworks), "guests" stood in for by
// network namespaces on OVS internal ports (NetnsEndpoint), on the local OVS + OVN
// (GOVPOOL_TEST_OVN_NB and GOVPOOL_OVS_DB, else scripts/start-ovn.sh; never skips).
//   - one network: two endpoints get their addresses from OVN's DHCP and ping each other.
//   - two networks (two departments) with the same CIDR: pings within a network work, across
//     never, also between endpoints with identical addresses on both sides (each reaches the
//     peer on its own network: its MAC answers ARP, its TCP server answers).
//   - a security group: TCP 22 from one address only, egress any; the allowed client gets in,
//     another client and ICMP do not, the server's own connections get their replies (stateful)
//     while the same connection the other way is refused; a rule added later takes effect on
//     the running endpoint.
//   - a router joining two networks: DHCP names the router interface, pings and TCP across.
//   - an external network bridged on this chassis (a bridge of the run, ovn-bridge-mappings): SNAT
//     and a floating IP as the public sees them; mapping and bridge are restored and removed.
//   - two chassis (scripts/start-ovn-chassis.sh, stopped again at the end): endpoints on
//     different chassis get their leases and reach each other over Geneve.
// Each test waits for the ports' flows through LocalOvs::ReadBindings (ovn-installed), not by
// sleeping. Rows carry external_ids:govpool-owner=<run> (OvnNorthbound::Options::owner); every
// run removes them (a reconcile pass of nothing) and its endpoints, and asserts that no row, no
// port of its prefix on br-int and no namespace of it remains, and that ovs-vswitchd answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
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
      EXPECT_TRUE(left->port_groups.empty()) << left->port_groups.size() << " port groups left";
      EXPECT_TRUE(left->routers.empty()) << left->routers.size() << " routers left";
    }
    EXPECT_FALSE(AnyWithPrefix(ListOvsPorts(ovs_db_), prefix_)) << "ports of this run left on br-int";
    EXPECT_FALSE(AnyWithPrefix(ListNetns(), prefix_)) << "namespaces of this run left";
    // ovs-vswitchd survived the test (its userspace conntrack has asserted before, on a load
    // balancer setup; docs/networking.md). Its control socket lies beside the database's.
    const std::string db_path = ovs_db_.substr(ovs_db_.find(':') + 1);
    const std::string ctl = db_path.substr(0, db_path.rfind('/')) + "/ovs-vswitchd.ctl";
    const auto alive = govpool::testing::RunCommand("ovs-appctl -t " + govpool::testing::ShellQuote(ctl) + " version");
    EXPECT_EQ(alive.exit_code, 0) << "ovs-vswitchd does not answer: " << alive.output;
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

  static SecurityGroupRule Rule(const std::string& id, const std::string& direction, const std::string& protocol,
                                std::optional<int> port = std::nullopt, const std::string& remote_cidr = "") {
    SecurityGroupRule r;
    r.id = id;
    r.direction = direction;
    r.protocol = protocol;
    r.port_min = port;
    r.remote_cidr = remote_cidr;
    return r;
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

  // Whether the TCP connections from `from` (endpoint suffix) to ip:port succeed, each waiting at
  // most `timeout`; side by side, so denied ones wait out their timeouts together.
  std::vector<bool> TcpConnects(const std::vector<std::pair<std::string, std::string>>& from_ip, int port,
                                std::chrono::seconds timeout) {
    std::vector<std::future<bool>> results;
    for (const auto& [from, ip] : from_ip) {
      NetnsEndpoint* ep = &Ep(from);
      results.push_back(std::async(std::launch::async, [ep, ip, port, timeout] {
        return ep->TcpConnect(ip, port, timeout).ok();
      }));
    }
    std::vector<bool> ok;
    for (auto& r : results) ok.push_back(r.get());
    return ok;
  }

  // Pings `ip` from `from` until a reply comes or `within` passes: a changed ACL or route takes
  // effect once ovn-northd and ovn-controller have caught up, which nothing here can wait for.
  bool PingsWithin(const std::string& from, const std::string& ip, std::chrono::seconds within) {
    for (const auto deadline = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < deadline;) {
      if (Ep(from).Ping(ip, 1, seconds(1)) > 0) return true;
    }
    return false;
  }

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

// A security group on a running "VM": the server s1 admits TCP 22 from c1's address only and
// may send anything (egress); c1 and c2 have no group. Stateful: the replies of what s1 opened
// come back, although nobody could have opened that connection towards s1. Then a rule is added
// and takes effect on the running endpoint (same port, same namespace).
TEST_F(PacketTest, SecurityGroupAllowsOnlyItsRulesStatefully) {
  DesiredNetworks desired;
  const std::string net = prefix_ + "-s", sg = prefix_ + "-sg";
  desired.networks.push_back(Network(net, "10.94.0.0/24", "10.94.0.1"));
  LogicalPort server = Port(PortId("-s1"), net, "02:00:00:94:00:10", "10.94.0.10");
  server.security_group_ids = {sg};
  desired.ports.push_back(server);
  desired.ports.push_back(Port(PortId("-c1"), net, "02:00:00:94:00:11", "10.94.0.11"));
  desired.ports.push_back(Port(PortId("-c2"), net, "02:00:00:94:00:12", "10.94.0.12"));
  LogicalSecurityGroup group{.id = sg, .name = "ssh-from-c1", .rules = {}};
  group.rules.push_back(Rule("ssh", "ingress", "tcp", 22, "10.94.0.11/32"));
  group.rules.push_back(Rule("out", "egress", "any"));
  desired.security_groups.push_back(group);
  ASSERT_NO_FATAL_FAILURE(Attach(desired));

  // DHCP passes the drop group (its own allow rule).
  EXPECT_EQ(Lease("-s1"), "10.94.0.10");
  EXPECT_EQ(Lease("-c1"), "10.94.0.11");
  EXPECT_EQ(Lease("-c2"), "10.94.0.12");
  // Without a group, c1 and c2 reach each other (the control for the denials below).
  EXPECT_TRUE(PingsWithin("-c1", "10.94.0.12", seconds(5)));

  ASSERT_TRUE(Ep("-s1").ListenTcp(22, "s1ssh").ok());
  ASSERT_TRUE(Ep("-s1").ListenTcp(7070, "s1web").ok());
  ASSERT_TRUE(Ep("-c1").ListenTcp(7070, "c1web").ok());
  // Ingress: TCP 22 from c1 only; nothing else reaches s1 (not even from c1: port 7070, ICMP).
  auto ssh = Ep("-c1").TcpConnect("10.94.0.10", 22, seconds(3));
  ASSERT_TRUE(ssh.ok()) << ssh.status().ToString();
  EXPECT_EQ(*ssh, "s1ssh");
  // Egress, stateful: s1 opens a connection to c1 and its replies come back.
  auto out = Ep("-s1").TcpConnect("10.94.0.11", 7070, seconds(3));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "c1web");
  {
    // Denied, side by side: c2 to port 22, c1 to the port no rule names (c1 could not open
    // towards s1 what s1 opened towards c1), and pings from both.
    auto ping_c1 = std::async(std::launch::async, [&] { return Ep("-c1").Ping("10.94.0.10", 3, seconds(2)); });
    auto ping_c2 = std::async(std::launch::async, [&] { return Ep("-c2").Ping("10.94.0.10", 3, seconds(2)); });
    const auto denied = TcpConnects({{"-c2", "10.94.0.10"}}, 22, seconds(2));
    const auto reverse = TcpConnects({{"-c1", "10.94.0.10"}}, 7070, seconds(2));
    EXPECT_FALSE(denied[0]) << "c2 reached s1:22";
    EXPECT_FALSE(reverse[0]) << "c1 opened a connection to s1:7070";
    EXPECT_EQ(ping_c1.get(), 0);
    EXPECT_EQ(ping_c2.get(), 0);
  }

  // The group changes under the running endpoint: ICMP from anywhere is admitted too.
  desired.security_groups[0].rules.push_back(Rule("icmp", "ingress", "icmp"));
  auto changes = reconciler_->Reconcile(desired);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_TRUE(PingsWithin("-c2", "10.94.0.10", seconds(10))) << "the added rule never took effect";
  EXPECT_GE(Ep("-c1").Ping("10.94.0.10", 3, seconds(3)), 1);
  // The other rules still hold.
  const auto after = TcpConnects({{"-c2", "10.94.0.10"}, {"-c1", "10.94.0.10"}}, 22, seconds(3));
  EXPECT_FALSE(after[0]) << "c2 reached s1:22 after the change";
  EXPECT_TRUE(after[1]) << "c1 no longer reaches s1:22 after the change";
}

// Two networks joined by a router: each endpoint's lease names its router interface as the
// default route, and they reach each other (ICMP and TCP) and both gateway addresses.
TEST_F(PacketTest, RouterJoinsTwoNetworks) {
  DesiredNetworks desired;
  const std::string net_a = prefix_ + "-ra", net_b = prefix_ + "-rb";
  desired.networks.push_back(Network(net_a, "10.95.1.0/24", "10.95.1.1"));
  desired.networks.push_back(Network(net_b, "10.95.2.0/24", "10.95.2.1"));
  desired.ports.push_back(Port(PortId("-a1"), net_a, "02:00:00:95:01:11", "10.95.1.11"));
  desired.ports.push_back(Port(PortId("-b1"), net_b, "02:00:00:95:02:11", "10.95.2.11"));
  LogicalRouter router{.id = prefix_ + "-r", .name = "r", .interfaces = {}, .gateway = std::nullopt,
                       .floating_ips = {}};
  router.interfaces.push_back({.subnet_id = net_a + "-subnet", .network_id = net_a, .ip = "10.95.1.1",
                               .prefix = 24, .mac = "02:00:00:95:01:01", .port_id = ""});
  router.interfaces.push_back({.subnet_id = net_b + "-subnet", .network_id = net_b, .ip = "10.95.2.1",
                               .prefix = 24, .mac = "02:00:00:95:02:01", .port_id = ""});
  desired.routers.push_back(router);
  ASSERT_NO_FATAL_FAILURE(Attach(desired));

  EXPECT_EQ(Lease("-a1"), "10.95.1.11");
  EXPECT_EQ(Lease("-b1"), "10.95.2.11");
  EXPECT_NE(Ep("-a1").Run("ip route show default").output.find("via 10.95.1.1"), std::string::npos);
  EXPECT_NE(Ep("-b1").Run("ip route show default").output.find("via 10.95.2.1"), std::string::npos);

  // The router answers on its own interface first (the first packet may wait for ARP).
  EXPECT_TRUE(PingsWithin("-a1", "10.95.1.1", seconds(5)));
  EXPECT_TRUE(PingsWithin("-a1", "10.95.2.11", seconds(5)));
  EXPECT_GE(Ep("-b1").Ping("10.95.1.11", 3, seconds(3)), 3);
  EXPECT_GE(Ep("-b1").Ping("10.95.1.1", 3, seconds(3)), 3);
  // Routed, not bridged: a1 knows b1's address through the router's MAC only.
  EXPECT_EQ(NeighbourMac("-a1", "10.95.1.1"), "02:00:00:95:01:01");
  EXPECT_EQ(NeighbourMac("-a1", "10.95.2.11"), "");
  ASSERT_TRUE(Ep("-b1").ListenTcp(7070, "b1").ok());
  auto banner = Ep("-a1").TcpConnect("10.95.2.11", 7070, seconds(3));
  ASSERT_TRUE(banner.ok()) << banner.status().ToString();
  EXPECT_EQ(*banner, "b1");
  // The TTL went down by one on the way (busybox ping prints "ttl=63").
  EXPECT_NE(Ep("-a1").Run("busybox ping -c 1 -W 2 10.95.2.11").output.find("ttl=63"), std::string::npos);
}

// An external (provider) network "physnet-test", bridged on this chassis: a netdev bridge of this
// run mapped by ovn-bridge-mappings, with an internal port in a namespace playing the public (the
// external network's gateway, 172.31.95.1). A router with an interface on a tenant network and
// its gateway on the external one (gateway chassis: this chassis' system-id), SNAT for the tenant
// subnet and a floating IP for a1. The public sees a2's connection come from the router's
// gateway address and a1's from its floating IP, and reaches a1 through the floating IP. The
// mapping is restored and the bridge removed at the end.
TEST_F(PacketTest, ExternalNetworkWithSnatAndFloatingIp) {
  using govpool::testing::RunCommand;
  using govpool::testing::ShellQuote;
  const std::string vsctl = "ovs-vsctl --timeout=10 --db=" + ShellQuote(ovs_db_) + " ";
  auto system_id = RunCommand(vsctl + "get Open_vSwitch . external_ids:system-id");
  ASSERT_EQ(system_id.exit_code, 0) << system_id.output;
  std::string chassis = system_id.output;
  std::erase_if(chassis, [](char c) { return c == '"' || c == '\n'; });
  ASSERT_FALSE(chassis.empty());
  // The mappings before (absent: "" and an error from `get`), restored afterwards. Values are
  // written quoted (OVSDB string syntax): a list of mappings holds ',' and ':'.
  const auto mappings_before = RunCommand(vsctl + "get Open_vSwitch . external_ids:ovn-bridge-mappings");
  std::string before = mappings_before.exit_code == 0 ? mappings_before.output : "";
  std::erase_if(before, [](char c) { return c == '"' || c == '\n'; });
  const std::string bridge = prefix_ + "-ex", public_port = PortId("-pub");
  // Runs once: at the end of the test (then checked), or when an assertion leaves it early.
  struct Restore {
    std::function<void()> undo;
    void Now() {
      if (undo) std::exchange(undo, nullptr)();
    }
    ~Restore() { Now(); }
  } restore{[&] {
    endpoints_.erase(public_port);  // its port on the bridge first
    RunCommand(vsctl + (before.empty() ? "remove Open_vSwitch . external_ids ovn-bridge-mappings"
                                       : "set Open_vSwitch . external_ids:ovn-bridge-mappings=" + ShellQuote('"' + before + '"')));
    RunCommand(vsctl + "--if-exists del-br " + ShellQuote(bridge));
  }};
  auto added = RunCommand(vsctl + "add-br " + ShellQuote(bridge) + " -- set Bridge " + ShellQuote(bridge) +
                          " datapath_type=netdev");
  ASSERT_EQ(added.exit_code, 0) << added.output;
  const std::string mapping = "physnet-test:" + bridge;
  auto mapped = RunCommand(vsctl + "set Open_vSwitch . external_ids:ovn-bridge-mappings=" +
                           ShellQuote('"' + (before.empty() ? mapping : before + "," + mapping) + '"'));
  ASSERT_EQ(mapped.exit_code, 0) << mapped.output;
  {
    auto ep = NetnsEndpoint::Create(
        {.ovs_db = ovs_db_, .bridge = bridge, .name = public_port, .iface_id = public_port, .mac = "02:00:00:95:ff:01"});
    ASSERT_TRUE(ep.ok()) << ep.status().ToString();
    endpoints_[public_port] = std::move(ep).value();
    ASSERT_TRUE(Ep("-pub").SetAddress("172.31.95.1/24").ok());
  }

  DesiredNetworks desired;
  const std::string net = prefix_ + "-t", ext = prefix_ + "-e";
  desired.networks.push_back(Network(net, "10.96.1.0/24", "10.96.1.1"));
  LogicalNetwork external = Network(ext, "172.31.95.0/24", "172.31.95.1");
  external.subnets[0].enable_dhcp = false;
  external.physical_network = "physnet-test";
  desired.networks.push_back(external);
  desired.ports.push_back(Port(PortId("-a1"), net, "02:00:00:96:01:11", "10.96.1.11"));
  desired.ports.push_back(Port(PortId("-a2"), net, "02:00:00:96:01:12", "10.96.1.12"));
  LogicalRouter router{.id = prefix_ + "-r", .name = "r", .interfaces = {}, .gateway = std::nullopt,
                       .floating_ips = {}};
  router.interfaces.push_back({.subnet_id = net + "-subnet", .network_id = net, .ip = "10.96.1.1", .prefix = 24,
                               .mac = "02:00:00:96:01:01", .port_id = ""});
  router.gateway = RouterGateway{.network_id = ext, .ip = "172.31.95.10", .prefix = 24, .mac = "02:00:00:95:ff:10",
                                 .gateway_chassis = {chassis}, .nexthop = "172.31.95.1", .snat = true,
                                 .snat_cidrs = {"10.96.1.0/24"}, .port_id = ""};
  router.floating_ips.push_back({.id = "fip", .external_ip = "172.31.95.100", .internal_ip = "10.96.1.11",
                                 .logical_port = PortId("-a1"), .external_mac = "", .floating_port_id = ""});
  desired.routers.push_back(router);
  ASSERT_NO_FATAL_FAILURE(Attach(desired));
  EXPECT_EQ(Lease("-a1"), "10.96.1.11");
  EXPECT_EQ(Lease("-a2"), "10.96.1.12");

  // The floating IP from the public (the gateway port is claimed shortly after the router).
  EXPECT_TRUE(PingsWithin("-pub", "172.31.95.100", seconds(10))) << "floating IP never answered";
  ASSERT_TRUE(Ep("-a1").ListenTcp(7070, "a1").ok());
  auto in = Ep("-pub").TcpConnect("172.31.95.100", 7070, seconds(3));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(*in, "a1");
  // The router's gateway address answers too.
  EXPECT_GE(Ep("-pub").Ping("172.31.95.10", 3, seconds(3)), 1);

  // Outbound: the public's server answers each client with its view of the connection
  // (netstat inside the public namespace while it is open), so the source address shows
  // ("::ffff:172.31.95.10:42420": busybox nc listens on IPv6).
  const auto seen_from_public = [&](const std::string& from) -> std::string {
    auto server = std::async(std::launch::async, [&] {
      return Ep("-pub").Run("timeout 10 busybox nc -l -p 9000 -e /bin/sh -c 'busybox netstat -tn | grep :9000'");
    });
    Ep("-pub").Run("for i in $(seq 100); do busybox netstat -ltn | grep -q ':9000 ' && exit 0; sleep 0.05; done");
    auto seen = Ep(from).TcpConnect("172.31.95.1", 9000, seconds(5));
    server.get();
    return seen.ok() ? *seen : "connect failed: " + seen.status().ToString();
  };
  EXPECT_TRUE(PingsWithin("-a2", "172.31.95.1", seconds(5)));
  const std::string via_snat = seen_from_public("-a2");
  EXPECT_NE(via_snat.find(":172.31.95.10:"), std::string::npos) << via_snat;
  EXPECT_EQ(via_snat.find("10.96.1."), std::string::npos) << via_snat;
  const std::string via_fip = seen_from_public("-a1");
  EXPECT_NE(via_fip.find(":172.31.95.100:"), std::string::npos) << via_fip;
  EXPECT_EQ(via_fip.find("10.96.1."), std::string::npos) << via_fip;

  // Nothing of the external network is left on this chassis.
  restore.Now();
  EXPECT_NE(RunCommand(vsctl + "br-exists " + ShellQuote(bridge)).exit_code, 0) << bridge << " left";
  auto mappings_after = RunCommand(vsctl + "get Open_vSwitch . external_ids:ovn-bridge-mappings");
  std::string after = mappings_after.exit_code == 0 ? mappings_after.output : "";
  std::erase_if(after, [](char c) { return c == '"' || c == '\n'; });
  EXPECT_EQ(after, before) << "ovn-bridge-mappings not restored";
  EXPECT_FALSE(AnyWithPrefix(ListNetns(), public_port));
}

}  // namespace
}  // namespace govpool::network
