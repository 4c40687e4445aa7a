// The controller's OVN Northbound sync against the real Northbound database (scripts/
// start-ovn.sh; GOVPOOL_TEST_OVN_NB names it): records created through the API become rows;
// the controller killed (SIGKILL) in the middle of creating ports, and restarted, leaves the
// Northbound exactly equal to its records (no orphan, nothing missing); rows changed, added or
// removed behind its back while it was down are repaired by its first pass. The controller runs
// with --ovn-nb-owner, so its rows are its own (other tests share the database).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "network/northbound.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovsdb/ovsdb_client.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

std::string NbRemote() {
  const char* nb = std::getenv("GOVPOOL_TEST_OVN_NB");
  return nb != nullptr ? nb : "";
}

class NetworkSyncTest : public ControllerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(NbRemote().empty()) << "GOVPOOL_TEST_OVN_NB must name the OVN Northbound database "
                                        "(scripts/start-ovn.sh prints it)";
    owner_ = "sync-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    auto client = ovsdb::Client::Connect(NbRemote());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    nb_client_ = std::move(client).value();
    nb_ = std::make_unique<network::OvnNorthbound>(*nb_client_, network::OvnNorthbound::Options{.owner = owner_});
    ControllerTest::SetUp();
  }
  void TearDown() override {
    ControllerTest::TearDown();  // the controller is gone: nothing writes our rows any more
    if (nb_) {
      // Leave nothing behind in the shared database.
      auto rows = nb_->Read();
      if (rows.ok()) {
        EXPECT_TRUE(nb_->Apply(network::Plan(network::NorthboundState{}, *rows)).ok());
      }
    }
  }
  std::vector<std::string> ExtraArgs() override {
    return {"--ovn-nb", NbRemote(), "--ovn-nb-owner", owner_};
  }

  // The rows the controller's records call for, from what the API shows.
  network::NorthboundState WantedRows() {
    network::DesiredNetworks desired;
    api::NetworkQuery net_query;
    net_query.limit = 1000;
    auto nets = client_->ListNetworks(net_query);
    EXPECT_TRUE(nets.ok()) << nets.status().ToString();
    if (!nets.ok()) return {};
    for (const api::Network& n : nets->items) {
      network::LogicalNetwork net;
      net.id = n.meta.id;
      net.name = n.name;
      net.mtu = static_cast<int>(n.mtu);
      api::SubnetQuery subnet_query;
      subnet_query.limit = 1000;
      subnet_query.network_id = n.meta.id;
      auto subnets = client_->ListSubnets(subnet_query);
      EXPECT_TRUE(subnets.ok());
      if (subnets.ok()) {
        for (const api::Subnet& sn : subnets->items) {
          net.subnets.push_back({sn.meta.id, sn.cidr, sn.gateway_ip, sn.dns_servers, sn.enable_dhcp});
        }
      }
      desired.networks.push_back(std::move(net));
    }
    std::string token;
    do {
      api::PortQuery port_query;
      port_query.limit = 500;
      port_query.page_token = token;
      auto ports = client_->ListPorts(port_query);
      EXPECT_TRUE(ports.ok()) << ports.status().ToString();
      if (!ports.ok()) return {};
      for (const api::Port& p : ports->items) {
        network::LogicalPort port;
        port.id = p.meta.id;
        port.network_id = p.network_id;
        port.mac = p.mac_address;
        for (const api::FixedIp& ip : p.fixed_ips) port.ips.push_back(ip.ip_address);
        desired.ports.push_back(std::move(port));
      }
      token = ports->next_page_token;
    } while (!token.empty());
    return network::DesiredRows(desired);
  }
  // True once the Northbound holds exactly the wanted rows (waits up to 30 s: a bound for a
  // sync that never converges, not a timing assertion).
  bool NorthboundConverges(std::string* why) {
    const network::NorthboundState want = WantedRows();
    network::NorthboundPlan plan;
    for (int i = 0; i < 300; ++i) {
      auto rows = nb_->Read();
      if (rows.ok()) {
        plan = network::Plan(want, *rows);
        if (plan.empty()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const network::NorthboundChanges c = plan.Changes();
    *why = "still to change: switches " + std::to_string(c.switches.total()) + ", dhcp " +
           std::to_string(c.dhcp_options.total()) + ", ports " + std::to_string(c.ports.total()) +
           " (created " + std::to_string(c.ports.created) + ", deleted " + std::to_string(c.ports.deleted) + ")";
    return false;
  }

  std::string owner_;
  std::unique_ptr<ovsdb::Client> nb_client_;
  std::unique_ptr<network::OvnNorthbound> nb_;
};

TEST_F(NetworkSyncTest, KilledMidwayTheNorthboundConvergesToTheRecordsAfterRestart) {
  const api::Department dept = CreateDepartment("sync", {.networks = 5, .ports = 1000});
  api::CreateNetworkRequest nreq;
  nreq.name = "web";
  nreq.department_id = dept.meta.id;
  auto net = client_->CreateNetwork(nreq);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  api::CreateSubnetRequest sreq;
  sreq.name = "web-v4";
  sreq.network_id = net->meta.id;
  sreq.cidr = "10.77.0.0/22";
  ASSERT_TRUE(client_->CreateSubnet(sreq).ok());
  api::CreatePortRequest preq;
  preq.network_id = net->meta.id;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client_->CreatePort(preq).ok());
  std::string why;
  ASSERT_TRUE(NorthboundConverges(&why)) << why;
  auto rows = nb_->Read();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->switches.size(), 1u);
  EXPECT_EQ(rows->dhcp_options.size(), 1u);
  EXPECT_EQ(rows->ports.size(), 5u);

  // Four clients create (and delete every third) port as fast as they can; the controller is
  // killed in the middle of it.
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  const std::string token = controller_->admin_token();
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      std::unique_ptr<api::Client> c = NewTypedClient(token);
      for (int n = 0; !stop; ++n) {
        auto p = c->CreatePort(preq);
        if (!p.ok()) return;  // the controller is gone
        ++created;
        if (n % 3 == 2 && !c->DeletePort(p->meta.id).ok()) return;
      }
    });
  }
  while (created < 40) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  controller_->Kill(SIGKILL);
  stop = true;
  for (std::thread& t : writers) t.join();

  // While it is down, the database drifts: one of its rows goes, a row of a port that does not
  // exist appears, another row's addresses change.
  rows = nb_->Read();
  ASSERT_TRUE(rows.ok());
  ASSERT_GE(rows->ports.size(), 2u);
  // The rows read, in the form Plan takes desired rows (no uuids; DHCP by subnet id).
  network::NorthboundState drifted;
  std::map<std::string, std::string> subnet_of_dhcp;
  for (network::DhcpOptionsRow d : rows->dhcp_options) {
    subnet_of_dhcp[d.uuid] = d.subnet_id;
    d.uuid.clear();
    drifted.dhcp_options.push_back(std::move(d));
  }
  for (network::SwitchRow sw : rows->switches) {
    sw.uuid.clear();
    drifted.switches.push_back(std::move(sw));
  }
  for (network::PortRow p : rows->ports) {
    p.dhcp_subnet_id = subnet_of_dhcp[p.dhcpv4_options_uuid];
    p.uuid.clear();
    p.switch_uuid.clear();
    p.dhcpv4_options_uuid.clear();
    drifted.ports.push_back(std::move(p));
  }
  drifted.ports.erase(drifted.ports.begin());
  drifted.ports[0].addresses = {"02:00:00:00:00:01 10.77.3.250"};
  network::PortRow orphan = drifted.ports[0];
  orphan.port_id = orphan.name = "00000000-0000-4000-8000-00000000dead";
  orphan.external_ids[network::kPortIdKey] = orphan.port_id;
  drifted.ports.push_back(orphan);
  ASSERT_TRUE(nb_->Apply(network::Plan(drifted, *rows)).ok());

  Restart();
  ASSERT_TRUE(NorthboundConverges(&why)) << why;
  rows = nb_->Read();
  ASSERT_TRUE(rows.ok());
  api::PortQuery all_ports;
  all_ports.limit = 1000;
  auto ports = client_->ListPorts(all_ports);
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ(rows->ports.size(), ports->items.size());
  EXPECT_GT(ports->items.size(), 5u + 20u) << "ports created before the kill survive it";
  std::set<std::string> names;
  for (const network::PortRow& p : rows->ports) names.insert(p.name);
  EXPECT_EQ(names.count(orphan.port_id), 0u) << "the orphan row is gone";

  // The controller goes on following its records.
  auto extra = client_->CreatePort(preq);
  ASSERT_TRUE(extra.ok());
  ASSERT_FALSE(client_->DeleteNetwork(net->meta.id).ok())
      << "a network with ports is not deleted";
  ASSERT_TRUE(NorthboundConverges(&why)) << why;
}

}  // namespace
}  // namespace govpool::testing
