// NetworkSync over Db (FakeStateStore) and FakeNorthbound: the records' translation into the
// Northbound model, passes that create, converge and remove rows, connection failures
// (connector errors, a lost connection dropped and made again), the loop reacting to record
// changes and repairing drift, and the metrics it feeds.
#include "controller/network_sync.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "controller/metrics.h"
#include "controller/services/services.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/network/fake_northbound.h"

namespace govpool::controller {
namespace {

// The sync owns the driver it connects; this one forwards to a FakeNorthbound the test keeps.
class ForwardingDriver final : public network::NorthboundDriver {
 public:
  explicit ForwardingDriver(network::FakeNorthbound& fake) : fake_(fake) {}
  Result<network::NorthboundState> Read() override { return fake_.Read(); }
  Status Apply(const network::NorthboundPlan& plan) override { return fake_.Apply(plan); }

 private:
  network::FakeNorthbound& fake_;
};

class NetworkSyncTest : public ::testing::Test {
 protected:
  NetworkSyncTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    admin_ = {"u-admin", "admin", api::Role::kSystemAdmin, ""};
    api::CreateDepartmentRequest dept;
    dept.name = "tax";
    department_id_ = Must(db_->Write([&](State& s, Txn& t) { return CreateDepartment(s, t, admin_, dept); })).meta.id;
  }

  template <typename T>
  T Must(Result<T> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : T{};
  }
  NorthboundConnector Connector() {
    return [this]() -> Result<std::unique_ptr<network::NorthboundDriver>> {
      ++connects_;
      if (!connect_error_.ok()) return connect_error_;
      return std::unique_ptr<network::NorthboundDriver>(std::make_unique<ForwardingDriver>(fake_));
    };
  }
  api::Network MakeNetwork(const std::string& name) {
    api::CreateNetworkRequest req;
    req.name = name;
    req.department_id = department_id_;
    req.mtu = 1400;
    return Must(db_->Write([&](State& s, Txn& t) { return CreateNetwork(s, t, admin_, req); }));
  }
  api::Subnet MakeSubnet(const std::string& network_id, const std::string& cidr) {
    api::CreateSubnetRequest req;
    req.name = "sn";
    req.network_id = network_id;
    req.cidr = cidr;
    req.dns_servers = {"10.1.1.53"};
    return Must(db_->Write([&](State& s, Txn& t) { return CreateSubnet(s, t, admin_, req); }));
  }
  api::Port MakePort(const std::string& network_id) {
    api::CreatePortRequest req;
    req.network_id = network_id;
    return Must(db_->Write([&](State& s, Txn& t) { return CreatePort(s, t, admin_, req); }));
  }
  void RemovePort(const std::string& id) {
    Status s = db_->Write([&](State& st, Txn& t) { return DeletePort(st, t, admin_, id, std::nullopt); });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  network::NorthboundState Rows() { return Must(fake_.Read()); }
  // Waits (at most 10 s: a bound for a broken loop, not a timing assertion) for `done`.
  template <typename Fn>
  bool Eventually(Fn done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  testing::FakeClock clock_;
  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  std::unique_ptr<Db> db_;
  Caller admin_;
  std::string department_id_;
  network::FakeNorthbound fake_;
  int connects_ = 0;
  Status connect_error_;
};

TEST_F(NetworkSyncTest, TranslatesNetworksSubnetsAndPorts) {
  const api::Network net = MakeNetwork("web");
  const api::Subnet sn = MakeSubnet(net.meta.id, "10.1.1.0/24");
  const api::Port port = MakePort(net.meta.id);

  const network::DesiredNetworks desired = db_->Read([](const State& s) { return DesiredNetworksOf(s); });
  ASSERT_EQ(desired.networks.size(), 1u);
  const network::LogicalNetwork& n = desired.networks[0];
  EXPECT_EQ(n.id, net.meta.id);
  EXPECT_EQ(n.name, "web");
  EXPECT_EQ(n.mtu, 1400);
  ASSERT_EQ(n.subnets.size(), 1u);
  EXPECT_EQ(n.subnets[0].id, sn.meta.id);
  EXPECT_EQ(n.subnets[0].cidr, "10.1.1.0/24");
  EXPECT_EQ(n.subnets[0].gateway_ip, "10.1.1.1");
  EXPECT_EQ(n.subnets[0].dns_servers, std::vector<std::string>{"10.1.1.53"});
  EXPECT_TRUE(n.subnets[0].enable_dhcp);
  ASSERT_EQ(desired.ports.size(), 1u);
  EXPECT_EQ(desired.ports[0].id, port.meta.id);
  EXPECT_EQ(desired.ports[0].network_id, net.meta.id);
  EXPECT_EQ(desired.ports[0].mac, port.mac_address);
  ASSERT_EQ(port.fixed_ips.size(), 1u);
  EXPECT_EQ(desired.ports[0].ips, std::vector<std::string>{port.fixed_ips[0].ip_address});
}

TEST_F(NetworkSyncTest, PassesCreateConvergeAndRemoveRows) {
  const api::Network net = MakeNetwork("web");
  MakeSubnet(net.meta.id, "10.1.1.0/24");
  const api::Port a = MakePort(net.meta.id);
  const api::Port b = MakePort(net.meta.id);
  NetworkSync sync(*db_, Connector());

  auto first = sync.RunOnce();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->switches.created, 1);
  EXPECT_EQ(first->dhcp_options.created, 1);
  EXPECT_EQ(first->ports.created, 2);
  const network::NorthboundState want =
      network::DesiredRows(db_->Read([](const State& s) { return DesiredNetworksOf(s); }));
  network::NorthboundState got = Rows();
  EXPECT_EQ(got.switches.size(), 1u);
  EXPECT_EQ(got.ports.size(), 2u);

  auto second = sync.RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->total(), 0) << "converged: nothing to do";

  RemovePort(a.meta.id);
  auto third = sync.RunOnce();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->ports.deleted, 1);
  got = Rows();
  ASSERT_EQ(got.ports.size(), 1u);
  EXPECT_EQ(got.ports[0].port_id, b.meta.id);

  const NetworkSyncStatus st = sync.status();
  EXPECT_TRUE(st.in_sync);
  EXPECT_EQ(st.passes, 3);
  EXPECT_EQ(st.failures, 0);
  EXPECT_EQ(st.rows_changed, first->total() + third->total());
  EXPECT_EQ(connects_, 1) << "one connection for every pass";
}

TEST_F(NetworkSyncTest, ConnectorErrorsAreRetriedAndLostConnectionsMadeAgain) {
  const api::Network net = MakeNetwork("web");
  MakePort(net.meta.id);
  NetworkSync sync(*db_, Connector());

  connect_error_ = Unavailable("connection refused");
  auto failed = sync.RunOnce();
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(sync.status().in_sync);
  EXPECT_FALSE(sync.status().connected);
  EXPECT_NE(sync.status().last_error.find("connection refused"), std::string::npos);
  EXPECT_TRUE(Rows().switches.empty());

  connect_error_ = OkStatus();
  ASSERT_TRUE(sync.RunOnce().ok());
  EXPECT_EQ(connects_, 2);
  EXPECT_EQ(Rows().ports.size(), 1u);

  // The connection breaks: the pass fails, the driver is dropped, the next pass reconnects.
  fake_.FailNextRead(Unavailable("connection closed"));
  EXPECT_FALSE(sync.RunOnce().ok());
  EXPECT_EQ(sync.status().failures, 2);
  ASSERT_TRUE(sync.RunOnce().ok());
  EXPECT_EQ(connects_, 3);

  // Any other error keeps the connection (a refused transaction is not a lost connection).
  fake_.FailNextApply(FailedPrecondition("referential integrity violation"));
  MakePort(net.meta.id);
  EXPECT_EQ(sync.RunOnce().status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(sync.RunOnce().ok());
  EXPECT_EQ(connects_, 3);
  EXPECT_EQ(Rows().ports.size(), 2u);
  EXPECT_TRUE(sync.status().last_error.empty());
}

TEST_F(NetworkSyncTest, LoopFollowsRecordChangesAndRepairsDrift) {
  NetworkSyncOptions options;
  options.poll_interval = std::chrono::milliseconds(5);
  options.resync_interval = std::chrono::milliseconds(50);
  options.retry_min = std::chrono::milliseconds(5);
  ControllerMetrics metrics;
  NetworkSync sync(*db_, Connector(), options, &metrics);
  sync.Start();

  const api::Network net = MakeNetwork("web");
  MakeSubnet(net.meta.id, "10.1.1.0/24");
  const api::Port port = MakePort(net.meta.id);
  ASSERT_TRUE(Eventually([&] { return Rows().ports.size() == 1; }));

  // Someone deletes the logical port by hand: the next full pass puts it back.
  ASSERT_TRUE(fake_.DeletePort(port.meta.id));
  ASSERT_TRUE(Eventually([&] { return Rows().ports.size() == 1; }));
  // A failing database: the loop retries until it is back.
  fake_.FailNextApply(Unavailable("connection closed"));
  RemovePort(port.meta.id);
  ASSERT_TRUE(Eventually([&] { return Rows().ports.empty() && sync.status().in_sync; }));
  sync.Stop();

  const NetworkSyncStatus st = sync.status();
  EXPECT_GE(st.failures, 1);
  EXPECT_GE(connects_, 2);
  const std::string text = metrics.Render(*db_);
  EXPECT_NE(text.find("govpool_northbound_in_sync 1"), std::string::npos) << text;
  EXPECT_NE(text.find("govpool_northbound_sync_passes_total{outcome=\"failed\"}"), std::string::npos);
  EXPECT_NE(text.find("govpool_northbound_rows_changed_total"), std::string::npos);
}

}  // namespace
}  // namespace govpool::controller

namespace govpool::controller {
namespace {

TEST(TranslateNetworksTest, SecurityGroupsRoutersAndFloatingIps) {
  api::Network inside;
  inside.meta.id = "n-in";
  inside.name = "inside";
  api::Network outside;
  outside.meta.id = "n-ext";
  outside.name = "public";
  outside.external = true;
  outside.physical_network = "physnet1";
  api::Subnet in_sn;
  in_sn.meta.id = "s-in";
  in_sn.network_id = "n-in";
  in_sn.cidr = "10.0.1.0/24";
  in_sn.gateway_ip = "10.0.1.1";
  api::Subnet ext_sn;
  ext_sn.meta.id = "s-ext";
  ext_sn.network_id = "n-ext";
  ext_sn.cidr = "172.24.0.0/24";
  ext_sn.gateway_ip = "172.24.0.1";
  auto port = [](std::string id, std::string net, std::string mac, std::string ip, std::string owner) {
    api::Port p;
    p.meta.id = std::move(id);
    p.network_id = std::move(net);
    p.mac_address = std::move(mac);
    p.fixed_ips = {{"", std::move(ip)}};
    p.device_owner = std::move(owner);
    return p;
  };
  api::Port vm = port("p-vm", "n-in", "02:00:00:00:00:10", "10.0.1.10", "");
  vm.security_group_ids = {"sg-web", "sg-default"};
  const api::Port rif = port("p-rif", "n-in", "02:00:00:00:00:01", "10.0.1.1", "router_interface");
  const api::Port rgw = port("p-rgw", "n-ext", "02:00:00:00:00:02", "172.24.0.5", "router_gateway");
  const api::Port fport = port("p-fip", "n-ext", "02:00:00:00:00:03", "172.24.0.9", "floating_ip");
  api::SecurityGroup web;
  web.meta.id = "sg-web";
  web.name = "web";
  api::SecurityGroupRule ssh;
  ssh.id = "r1";
  ssh.protocol = api::RuleProtocol::kTcp;
  ssh.port_range_min = 22;
  ssh.port_range_max = 22;
  ssh.remote_ip_prefix = "192.0.2.7/32";
  api::SecurityGroupRule out;
  out.id = "r2";
  out.direction = api::RuleDirection::kEgress;
  web.rules = {ssh, out};
  api::Router router;
  router.meta.id = "r-1";
  router.name = "edge";
  router.interfaces = {{"s-in", "p-rif", "10.0.1.1"}};
  router.external_gateway = {"n-ext", true, "p-rgw", "s-ext", "172.24.0.5"};
  api::FloatingIp fip;
  fip.meta.id = "f-1";
  fip.floating_ip_address = "172.24.0.9";
  fip.floating_port_id = "p-fip";
  fip.port_id = "p-vm";
  fip.fixed_ip_address = "10.0.1.10";
  fip.router_id = "r-1";
  api::FloatingIp idle = fip;
  idle.meta.id = "f-2";
  idle.port_id = "";
  idle.router_id = "";

  NetworkRecords records;
  records.networks = {&outside, &inside};
  records.subnets = {&ext_sn, &in_sn};
  records.ports = {&fport, &rgw, &rif, &vm};
  records.security_groups = {&web};
  records.routers = {&router};
  records.floating_ips = {&fip, &idle};
  const network::DesiredNetworks d = TranslateNetworks(records, {"chassis-a", "chassis-b"});

  ASSERT_EQ(d.networks.size(), 2u);
  EXPECT_EQ(d.networks[0].id, "n-ext") << "ordered by id";
  EXPECT_EQ(d.networks[0].physical_network, "physnet1");
  EXPECT_EQ(d.networks[1].physical_network, "");
  ASSERT_EQ(d.ports.size(), 1u) << "the router's and the floating IP's ports are not switch ports";
  EXPECT_EQ(d.ports[0].id, "p-vm");
  EXPECT_EQ(d.ports[0].security_group_ids, (std::vector<std::string>{"sg-default", "sg-web"}));
  ASSERT_EQ(d.security_groups.size(), 1u);
  ASSERT_EQ(d.security_groups[0].rules.size(), 2u);
  const network::SecurityGroupRule& r = d.security_groups[0].rules[0];
  EXPECT_EQ(r.direction, "ingress");
  EXPECT_EQ(r.ethertype, "IPv4");
  EXPECT_EQ(r.protocol, "tcp");
  EXPECT_EQ(r.port_min, 22);
  EXPECT_EQ(r.port_max, 22);
  EXPECT_EQ(r.remote_cidr, "192.0.2.7/32");
  EXPECT_EQ(d.security_groups[0].rules[1].direction, "egress");
  EXPECT_FALSE(d.security_groups[0].rules[1].port_min.has_value());

  ASSERT_EQ(d.routers.size(), 1u);
  const network::LogicalRouter& lr = d.routers[0];
  ASSERT_EQ(lr.interfaces.size(), 1u);
  EXPECT_EQ(lr.interfaces[0].network_id, "n-in");
  EXPECT_EQ(lr.interfaces[0].ip, "10.0.1.1");
  EXPECT_EQ(lr.interfaces[0].prefix, 24);
  EXPECT_EQ(lr.interfaces[0].mac, "02:00:00:00:00:01");
  ASSERT_TRUE(lr.gateway.has_value());
  EXPECT_EQ(lr.gateway->ip, "172.24.0.5");
  EXPECT_EQ(lr.gateway->prefix, 24);
  EXPECT_EQ(lr.gateway->mac, "02:00:00:00:00:02");
  EXPECT_EQ(lr.gateway->nexthop, "172.24.0.1");
  EXPECT_EQ(lr.gateway->gateway_chassis, (std::vector<std::string>{"chassis-a", "chassis-b"}));
  EXPECT_TRUE(lr.gateway->snat);
  EXPECT_EQ(lr.gateway->snat_cidrs, std::vector<std::string>{"10.0.1.0/24"});
  ASSERT_EQ(lr.floating_ips.size(), 1u) << "only associated floating IPs are NATed";
  EXPECT_EQ(lr.floating_ips[0].external_ip, "172.24.0.9");
  EXPECT_EQ(lr.floating_ips[0].internal_ip, "10.0.1.10");
  EXPECT_EQ(lr.floating_ips[0].logical_port, "p-vm");
}

}  // namespace
}  // namespace govpool::controller
