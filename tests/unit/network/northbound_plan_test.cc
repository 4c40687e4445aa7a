// DesiredRows and Plan (pure), and NorthboundReconciler over FakeNorthbound: creates, updates,
// drift, duplicates, orphans, foreign rows, moves, failures and convergence.
#include <gtest/gtest.h>

#include "network/northbound.h"
#include "network/northbound_reconciler.h"
#include "tests/fakes/network/fake_northbound.h"

namespace govpool::network {
namespace {

LogicalNetwork Net(const std::string& id, int mtu = 1442) {
  return LogicalNetwork{.id = id,
                        .name = "name-" + id,
                        .mtu = mtu,
                        .subnets = {LogicalSubnet{.id = id + "-s1",
                                                  .cidr = "10.0.1.0/24",
                                                  .gateway_ip = "10.0.1.1",
                                                  .dns_servers = {"10.0.0.2", "10.0.0.3"},
                                                  .enable_dhcp = true},
                                    LogicalSubnet{.id = id + "-s2",
                                                  .cidr = "10.0.2.0/24",
                                                  .gateway_ip = "10.0.2.1",
                                                  .dns_servers = {},
                                                  .enable_dhcp = false}}};
}

LogicalPort Port(const std::string& id, const std::string& net, const std::string& ip) {
  return LogicalPort{.id = id, .network_id = net, .mac = "02:00:00:00:00:01", .ips = {ip}, .enabled = true};
}

TEST(NorthboundRowsTest, DesiredRowsModelOvn) {
  DesiredNetworks d{.networks = {Net("n1")},
                    .ports = {Port("p1", "n1", "10.0.1.5"), Port("p2", "n1", "10.0.2.5"), Port("p3", "nx", "10.0.1.6")}};
  NorthboundState rows = DesiredRows(d);
  ASSERT_EQ(rows.switches.size(), 1u);
  EXPECT_EQ(rows.switches[0].name, "govpool-n1");
  EXPECT_EQ(rows.switches[0].external_ids.at(kNetworkIdKey), "n1");
  ASSERT_EQ(rows.dhcp_options.size(), 1u) << "only the DHCP-enabled subnet";
  const DhcpOptionsRow& dhcp = rows.dhcp_options[0];
  EXPECT_EQ(dhcp.cidr, "10.0.1.0/24");
  EXPECT_EQ(dhcp.options.at("server_id"), "10.0.1.1");
  EXPECT_EQ(dhcp.options.at("router"), "10.0.1.1");
  EXPECT_EQ(dhcp.options.at("dns_server"), "{10.0.0.2, 10.0.0.3}");
  EXPECT_EQ(dhcp.options.at("mtu"), "1442");
  EXPECT_EQ(dhcp.options.at("lease_time"), "43200");
  EXPECT_EQ(dhcp.options.at("server_mac"), ServerMac("n1-s1"));
  EXPECT_EQ(dhcp.external_ids.at(kSubnetIdKey), "n1-s1");
  ASSERT_EQ(rows.ports.size(), 2u) << "p3's network is not desired";
  EXPECT_EQ(rows.ports[0].name, "p1");
  EXPECT_EQ(rows.ports[0].addresses, std::vector<std::string>{"02:00:00:00:00:01 10.0.1.5"});
  EXPECT_EQ(rows.ports[0].port_security, rows.ports[0].addresses);
  EXPECT_EQ(rows.ports[0].dhcp_subnet_id, "n1-s1");
  EXPECT_EQ(rows.ports[1].dhcp_subnet_id, "") << "its subnet has DHCP off";
}

TEST(NorthboundRowsTest, ServerMacIsStableLocalUnicast) {
  const std::string mac = ServerMac("subnet-a");
  EXPECT_EQ(mac, ServerMac("subnet-a"));
  EXPECT_NE(mac, ServerMac("subnet-b"));
  EXPECT_EQ(mac.size(), 17u);
  EXPECT_EQ(mac.substr(0, 3), "02:");
}

TEST(NorthboundRowsTest, Ipv4InCidr) {
  EXPECT_TRUE(Ipv4InCidr("10.0.1.5", "10.0.1.0/24"));
  EXPECT_FALSE(Ipv4InCidr("10.0.2.5", "10.0.1.0/24"));
  EXPECT_TRUE(Ipv4InCidr("192.168.7.9", "0.0.0.0/0"));
  EXPECT_TRUE(Ipv4InCidr("10.0.1.5", "10.0.1.5/32"));
  EXPECT_FALSE(Ipv4InCidr("fd00::1", "10.0.1.0/24"));
  EXPECT_FALSE(Ipv4InCidr("10.0.1.256", "10.0.1.0/24"));
  EXPECT_FALSE(Ipv4InCidr("10.0.1.5", "10.0.1.0/33"));
  EXPECT_FALSE(Ipv4InCidr("10.0.1.5", "10.0.1.0"));
}

TEST(NorthboundPlanTest, EmptyActualCreatesEverything) {
  NorthboundState want = DesiredRows({.networks = {Net("n1")}, .ports = {Port("p1", "n1", "10.0.1.5")}});
  NorthboundPlan plan = Plan(want, {});
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {1, 0, 0}, .dhcp_options = {1, 0, 0}, .ports = {1, 0, 0}}));
  EXPECT_EQ(plan.create_ports[0].switch_uuid, "") << "the switch created by the same plan";
  EXPECT_EQ(plan.create_ports[0].dhcp_subnet_id, "n1-s1");
  EXPECT_EQ(plan.create_ports[0].dhcpv4_options_uuid, "");
}

// An actual state equal to the desired one, with uuids.
NorthboundState Converged(const NorthboundState& want) {
  NorthboundState have = want;
  for (SwitchRow& s : have.switches) s.uuid = "sw-" + s.network_id;
  for (DhcpOptionsRow& d : have.dhcp_options) d.uuid = "dh-" + d.subnet_id;
  for (PortRow& p : have.ports) {
    p.uuid = "lp-" + p.port_id;
    p.switch_uuid = "sw-" + p.network_id;
    p.dhcpv4_options_uuid = p.dhcp_subnet_id.empty() ? "" : "dh-" + p.dhcp_subnet_id;
    p.dhcp_subnet_id.clear();  // Read does not resolve it
  }
  return have;
}

TEST(NorthboundPlanTest, ConvergedIsEmpty) {
  NorthboundState want = DesiredRows({.networks = {Net("n1"), Net("n2")},
                                      .ports = {Port("p1", "n1", "10.0.1.5"), Port("p2", "n2", "10.0.2.9")}});
  EXPECT_TRUE(Plan(want, Converged(want)).empty());
}

TEST(NorthboundPlanTest, DriftIsUpdated) {
  NorthboundState want = DesiredRows({.networks = {Net("n1")}, .ports = {Port("p1", "n1", "10.0.1.5")}});
  NorthboundState have = Converged(want);
  have.switches[0].name = "renamed";
  have.dhcp_options[0].options["mtu"] = "9000";
  have.ports[0].addresses = {"02:00:00:00:00:09 10.0.1.99"};
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {0, 1, 0}, .dhcp_options = {0, 1, 0}, .ports = {0, 1, 0}}));
  EXPECT_EQ(plan.update_switches[0].uuid, "sw-n1");
  EXPECT_EQ(plan.update_switches[0].name, "govpool-n1");
  EXPECT_EQ(plan.update_dhcp_options[0].options.at("mtu"), "1442");
  EXPECT_EQ(plan.update_ports[0].uuid, "lp-p1");
  EXPECT_EQ(plan.update_ports[0].addresses, want.ports[0].addresses);
  EXPECT_EQ(plan.update_ports[0].dhcpv4_options_uuid, "dh-n1-s1");
}

TEST(NorthboundPlanTest, DeletedDhcpIsCreatedAndPortsRepointed) {
  NorthboundState want = DesiredRows({.networks = {Net("n1")}, .ports = {Port("p1", "n1", "10.0.1.5")}});
  NorthboundState have = Converged(want);
  have.dhcp_options.clear();
  have.ports[0].dhcpv4_options_uuid = "";  // weak reference cleared
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {}, .dhcp_options = {1, 0, 0}, .ports = {0, 1, 0}}));
  EXPECT_EQ(plan.update_ports[0].dhcp_subnet_id, "n1-s1");
  EXPECT_EQ(plan.update_ports[0].dhcpv4_options_uuid, "");
}

TEST(NorthboundPlanTest, OrphansAndDuplicatesAreDeleted) {
  NorthboundState want = DesiredRows({.networks = {Net("n1")}, .ports = {Port("p1", "n1", "10.0.1.5")}});
  NorthboundState have = Converged(want);
  SwitchRow dup = have.switches[0];
  dup.uuid = "zz-dup";  // sorts after sw-n1: the original is kept
  have.switches.push_back(dup);
  have.switches.push_back(SwitchRow{.uuid = "sw-old", .network_id = "old", .name = "govpool-old", .external_ids = {}});
  have.dhcp_options.push_back(DhcpOptionsRow{.uuid = "dh-old", .subnet_id = "old-s", .network_id = "old",
                                             .cidr = "", .options = {}, .external_ids = {}});
  PortRow orphan = have.ports[0];
  orphan.uuid = "lp-old";
  orphan.port_id = orphan.name = "old-port";
  have.ports.push_back(orphan);
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {0, 0, 2}, .dhcp_options = {0, 0, 1}, .ports = {0, 0, 1}}));
  EXPECT_EQ(plan.delete_switches[0].uuid, "zz-dup");  // by network id: n1, then old
  EXPECT_EQ(plan.delete_switches[1].uuid, "sw-old");
  EXPECT_EQ(plan.delete_ports[0].uuid, "lp-old");
  EXPECT_EQ(plan.delete_ports[0].switch_uuid, "sw-n1") << "removed from the switch that holds it";
}

TEST(NorthboundPlanTest, PortInAnotherSwitchIsRecreated) {
  NorthboundState want = DesiredRows({.networks = {Net("n1"), Net("n2")}, .ports = {Port("p1", "n2", "10.0.1.5")}});
  NorthboundState have = Converged(want);
  have.ports[0].switch_uuid = "sw-n1";
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {}, .dhcp_options = {}, .ports = {1, 0, 1}}));
  EXPECT_EQ(plan.create_ports[0].switch_uuid, "sw-n2");
  EXPECT_EQ(plan.delete_ports[0].switch_uuid, "sw-n1");
}

TEST(NorthboundPlanTest, RemovedNetworkDeletesItsRows) {
  NorthboundState have = Converged(DesiredRows({.networks = {Net("n1")}, .ports = {Port("p1", "n1", "10.0.1.5")}}));
  NorthboundPlan plan = Plan(DesiredRows({}), have);
  EXPECT_EQ(plan.Changes(), (NorthboundChanges{.switches = {0, 0, 1}, .dhcp_options = {0, 0, 1}, .ports = {0, 0, 1}}));
}

// ---- The reconciler over the fake -------------------------------------------------------
TEST(NorthboundReconcilerTest, ConvergesRepairsAndLeavesForeignRowsAlone) {
  FakeNorthbound nb;
  NorthboundReconciler r(nb);
  const std::string foreign = nb.InsertSwitch("someone-elses", {{"owner", "neutron"}});
  DesiredNetworks d{.networks = {Net("n1"), Net("n2")},
                    .ports = {Port("p1", "n1", "10.0.1.5"), Port("p2", "n1", "10.0.1.6"), Port("p3", "n2", "10.0.1.5")}};
  auto first = r.Reconcile(d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, (NorthboundChanges{.switches = {2, 0, 0}, .dhcp_options = {2, 0, 0}, .ports = {3, 0, 0}}));
  auto again = r.Reconcile(d);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total(), 0);
  EXPECT_EQ(nb.apply_calls(), 1) << "a converged pass applies nothing";

  ASSERT_TRUE(nb.SetPortAddresses("p1", {"02:00:00:00:00:77"}));
  ASSERT_TRUE(nb.DeletePort("p2"));
  ASSERT_TRUE(nb.DeleteDhcpOptionsOfSubnet("n2-s1"));
  auto repair = r.Reconcile(d);
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(*repair, (NorthboundChanges{.switches = {}, .dhcp_options = {1, 0, 0}, .ports = {1, 2, 0}}));
  EXPECT_EQ(r.Reconcile(d)->total(), 0);

  // Apply failing: nothing changed, the next pass does it.
  nb.FailNextApply(Unavailable("down"));
  d.networks.pop_back();
  auto failed = r.Reconcile(d);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  nb.FailNextRead(DeadlineExceeded("slow"));
  EXPECT_EQ(r.Reconcile(d).status().code(), StatusCode::kDeadlineExceeded);
  auto removed = r.Reconcile(d);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, (NorthboundChanges{.switches = {0, 0, 1}, .dhcp_options = {0, 0, 1}, .ports = {0, 0, 1}}));
  EXPECT_TRUE(nb.SwitchExists(foreign));
  auto state = nb.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->switches.size(), 1u);
  EXPECT_EQ(state->ports.size(), 2u);
}

}  // namespace
}  // namespace govpool::network
