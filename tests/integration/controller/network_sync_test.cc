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

#include "controller/network_desired.h"
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

  // Every page of a list call.
  template <typename T, typename Query, typename List>
  std::vector<T> All(Query q, List list) {
    std::vector<T> all;
    q.limit = 500;
    do {
      auto page = list(q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return all;
      all.insert(all.end(), page->items.begin(), page->items.end());
      q.page_token = page->next_page_token;
    } while (!q.page_token.empty());
    return all;
  }
  // The rows the controller's records call for: the controller's own translation over what the
  // API lists (the translation itself is unit-tested; this checks the sync applies it).
  network::NorthboundState WantedRows() {
    const auto networks = All<api::Network>(api::NetworkQuery{}, [&](const auto& q) { return client_->ListNetworks(q); });
    std::vector<api::Subnet> subnets;
    for (const api::Network& n : networks) {
      api::SubnetQuery q;
      q.network_id = n.meta.id;
      auto some = All<api::Subnet>(q, [&](const auto& qq) { return client_->ListSubnets(qq); });
      subnets.insert(subnets.end(), some.begin(), some.end());
    }
    const auto ports = All<api::Port>(api::PortQuery{}, [&](const auto& q) { return client_->ListPorts(q); });
    const auto groups = All<api::SecurityGroup>(api::SecurityGroupQuery{}, [&](const auto& q) { return client_->ListSecurityGroups(q); });
    const auto routers = All<api::Router>(api::RouterQuery{}, [&](const auto& q) { return client_->ListRouters(q); });
    const auto floating = All<api::FloatingIp>(api::FloatingIpQuery{}, [&](const auto& q) { return client_->ListFloatingIps(q); });
    controller::NetworkRecords records;
    for (const auto& r : networks) records.networks.push_back(&r);
    for (const auto& r : subnets) records.subnets.push_back(&r);
    for (const auto& r : ports) records.ports.push_back(&r);
    for (const auto& r : groups) records.security_groups.push_back(&r);
    for (const auto& r : routers) records.routers.push_back(&r);
    for (const auto& r : floating) records.floating_ips.push_back(&r);
    return network::DesiredRows(controller::TranslateNetworks(records, {}));
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
    *why = "still to change: port groups " + std::to_string(c.port_groups.total()) + ", acls " +
           std::to_string(c.acls.total()) + ", switches " + std::to_string(c.switches.total()) + ", dhcp " +
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
