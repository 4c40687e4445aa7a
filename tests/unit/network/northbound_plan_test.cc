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
                                                  .enable_dhcp = false}},
                        .physical_network = ""};
}

DesiredNetworks Desired(std::vector<LogicalNetwork> networks, std::vector<LogicalPort> ports,
                        std::vector<LogicalSecurityGroup> groups = {}, std::vector<LogicalRouter> routers = {}) {
  DesiredNetworks d;
  d.networks = std::move(networks);
  d.ports = std::move(ports);
  d.security_groups = std::move(groups);
  d.routers = std::move(routers);
  return d;
}

// The changes of the first three tables (the rest zero).
NorthboundChanges Changes(TableChanges switches, TableChanges dhcp_options, TableChanges ports) {
  NorthboundChanges c;
  c.switches = switches;
  c.dhcp_options = dhcp_options;
  c.ports = ports;
  return c;
}

LogicalPort Port(const std::string& id, const std::string& net, const std::string& ip,
                 std::vector<std::string> groups = {}) {
  return LogicalPort{.id = id, .network_id = net, .mac = "02:00:00:00:00:01", .ips = {ip}, .enabled = true,
                     .security_group_ids = std::move(groups)};
}

TEST(NorthboundRowsTest, DesiredRowsModelOvn) {
  DesiredNetworks d = Desired({Net("n1")},
                    {Port("p1", "n1", "10.0.1.5"), Port("p2", "n1", "10.0.2.5"), Port("p3", "nx", "10.0.1.6")});
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
  NorthboundState want = DesiredRows(Desired({Net("n1")}, {Port("p1", "n1", "10.0.1.5")}));
  NorthboundPlan plan = Plan(want, {});
  EXPECT_EQ(plan.Changes(), Changes({1, 0, 0}, {1, 0, 0}, {1, 0, 0}));
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
  for (PortGroupRow& g : have.port_groups) {
    g.uuid = "pg-" + g.key;
    for (const std::string& id : g.port_ids) g.port_uuids.push_back("lp-" + id);
    g.port_ids.clear();  // Read does not resolve them
    for (std::size_t i = 0; i < g.acls.size(); ++i) g.acls[i].uuid = "acl-" + g.key + "-" + std::to_string(i);
  }
  for (RouterRow& r : have.routers) {
    r.uuid = "lr-" + r.router_id;
    for (RouterPortRow& p : r.ports) {
      p.uuid = "lrp-uuid-" + p.name;
      for (GatewayChassisRow& g : p.gateway_chassis) g.uuid = "gc-" + g.name;
    }
    for (std::size_t i = 0; i < r.nat.size(); ++i) r.nat[i].uuid = "nat-" + std::to_string(i);
    for (std::size_t i = 0; i < r.static_routes.size(); ++i) r.static_routes[i].uuid = "route-" + std::to_string(i);
  }
  return have;
}

TEST(NorthboundPlanTest, ConvergedIsEmpty) {
  NorthboundState want = DesiredRows(Desired({Net("n1"), Net("n2")},
                                      {Port("p1", "n1", "10.0.1.5"), Port("p2", "n2", "10.0.2.9")}));
  EXPECT_TRUE(Plan(want, Converged(want)).empty());
}

TEST(NorthboundPlanTest, DriftIsUpdated) {
  NorthboundState want = DesiredRows(Desired({Net("n1")}, {Port("p1", "n1", "10.0.1.5")}));
  NorthboundState have = Converged(want);
  have.switches[0].name = "renamed";
  have.dhcp_options[0].options["mtu"] = "9000";
  have.ports[0].addresses = {"02:00:00:00:00:09 10.0.1.99"};
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), Changes({0, 1, 0}, {0, 1, 0}, {0, 1, 0}));
  EXPECT_EQ(plan.update_switches[0].uuid, "sw-n1");
  EXPECT_EQ(plan.update_switches[0].name, "govpool-n1");
  EXPECT_EQ(plan.update_dhcp_options[0].options.at("mtu"), "1442");
  EXPECT_EQ(plan.update_ports[0].uuid, "lp-p1");
  EXPECT_EQ(plan.update_ports[0].addresses, want.ports[0].addresses);
  EXPECT_EQ(plan.update_ports[0].dhcpv4_options_uuid, "dh-n1-s1");
}

TEST(NorthboundPlanTest, DeletedDhcpIsCreatedAndPortsRepointed) {
  NorthboundState want = DesiredRows(Desired({Net("n1")}, {Port("p1", "n1", "10.0.1.5")}));
  NorthboundState have = Converged(want);
  have.dhcp_options.clear();
  have.ports[0].dhcpv4_options_uuid = "";  // weak reference cleared
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), Changes({}, {1, 0, 0}, {0, 1, 0}));
  EXPECT_EQ(plan.update_ports[0].dhcp_subnet_id, "n1-s1");
  EXPECT_EQ(plan.update_ports[0].dhcpv4_options_uuid, "");
}

TEST(NorthboundPlanTest, OrphansAndDuplicatesAreDeleted) {
  NorthboundState want = DesiredRows(Desired({Net("n1")}, {Port("p1", "n1", "10.0.1.5")}));
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
  EXPECT_EQ(plan.Changes(), Changes({0, 0, 2}, {0, 0, 1}, {0, 0, 1}));
  EXPECT_EQ(plan.delete_switches[0].uuid, "zz-dup");  // by network id: n1, then old
  EXPECT_EQ(plan.delete_switches[1].uuid, "sw-old");
  EXPECT_EQ(plan.delete_ports[0].uuid, "lp-old");
  EXPECT_EQ(plan.delete_ports[0].switch_uuid, "sw-n1") << "removed from the switch that holds it";
}

TEST(NorthboundPlanTest, PortInAnotherSwitchIsRecreated) {
  NorthboundState want = DesiredRows(Desired({Net("n1"), Net("n2")}, {Port("p1", "n2", "10.0.1.5")}));
  NorthboundState have = Converged(want);
  have.ports[0].switch_uuid = "sw-n1";
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes(), Changes({}, {}, {1, 0, 1}));
  EXPECT_EQ(plan.create_ports[0].switch_uuid, "sw-n2");
  EXPECT_EQ(plan.delete_ports[0].switch_uuid, "sw-n1");
}

TEST(NorthboundPlanTest, RemovedNetworkDeletesItsRows) {
  NorthboundState have = Converged(DesiredRows(Desired({Net("n1")}, {Port("p1", "n1", "10.0.1.5")})));
  NorthboundPlan plan = Plan(DesiredRows(DesiredNetworks{}), have);
  EXPECT_EQ(plan.Changes(), Changes({0, 0, 1}, {0, 0, 1}, {0, 0, 1}));
}

// ---- Security groups ---------------------------------------------------------------------
LogicalSecurityGroup Web(const std::string& id) {
  return LogicalSecurityGroup{
      .id = id,
      .name = "web",
      .rules = {SecurityGroupRule{.id = "r1", .direction = "ingress", .ethertype = "IPv4", .protocol = "tcp",
                                  .port_min = 80, .port_max = 90, .remote_cidr = "10.9.0.0/16", .remote_group_id = ""},
                SecurityGroupRule{.id = "", .direction = "egress", .ethertype = "IPv4", .protocol = "any",
                                  .port_min = {}, .port_max = {}, .remote_cidr = "", .remote_group_id = ""},
                SecurityGroupRule{.id = "", .direction = "ingress", .ethertype = "IPv4", .protocol = "any",
                                  .port_min = {}, .port_max = {}, .remote_cidr = "", .remote_group_id = id}}};
}

DesiredNetworks WithGroups() {
  return Desired({Net("n1")},
                 {Port("p1", "n1", "10.0.1.5", {"sg-1"}), Port("p2", "n1", "10.0.1.6", {"sg-1", "sg-2"}),
                  Port("p3", "n1", "10.0.1.7")},
                 {Web("sg-1"), LogicalSecurityGroup{.id = "sg-2", .name = "empty", .rules = {}}});
}

std::vector<std::string> Matches(const PortGroupRow& g) {
  std::vector<std::string> m;
  for (const AclRow& a : g.acls) m.push_back(a.direction + " " + std::to_string(a.priority) + " " + a.action + " " + a.match);
  return m;
}

TEST(NorthboundRowsTest, SecurityGroupsBecomePortGroupsWithAcls) {
  NorthboundState rows = DesiredRows(WithGroups());
  ASSERT_EQ(rows.port_groups.size(), 3u);
  const PortGroupRow& sg1 = rows.port_groups[0];
  EXPECT_EQ(sg1.key, "sg:sg-1");
  EXPECT_EQ(sg1.name, "pg_sg_1");
  EXPECT_EQ(sg1.external_ids.at(kSecurityGroupIdKey), "sg-1");
  EXPECT_EQ(sg1.external_ids.at(kSecurityGroupNameKey), "web");
  EXPECT_EQ(sg1.port_ids, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(Matches(sg1),
            (std::vector<std::string>{
                "to-lport 1002 allow-related outport == @pg_sg_1 && ip4 && ip4.src == 10.9.0.0/16 && tcp && "
                "tcp.dst >= 80 && tcp.dst <= 90",
                "from-lport 1002 allow-related inport == @pg_sg_1 && ip4",
                "to-lport 1002 allow-related outport == @pg_sg_1 && ip4 && ip4.src == $pg_sg_1_ip4"}));
  EXPECT_EQ(sg1.acls[0].external_ids.at(kSecurityGroupRuleIdKey), "r1");
  EXPECT_EQ(sg1.acls[1].external_ids.count(kSecurityGroupRuleIdKey), 0u);
  EXPECT_EQ(rows.port_groups[1].key, "sg:sg-2");
  EXPECT_EQ(rows.port_groups[1].port_ids, std::vector<std::string>{"p2"});
  EXPECT_TRUE(rows.port_groups[1].acls.empty());
  const PortGroupRow& drop = rows.port_groups[2];
  EXPECT_EQ(drop.key, "drop:n1");
  EXPECT_EQ(drop.name, "pg_drop_n1");
  EXPECT_EQ(drop.external_ids, (StringMap{{kDropNetworkIdKey, "n1"}}));
  EXPECT_EQ(drop.port_ids, (std::vector<std::string>{"p1", "p2"})) << "p3 has no groups: not filtered";
  EXPECT_EQ(Matches(drop), (std::vector<std::string>{
                               "from-lport 1001 drop inport == @pg_drop_n1 && ip",
                               "to-lport 1001 drop outport == @pg_drop_n1 && ip",
                               "from-lport 1002 allow inport == @pg_drop_n1 && udp && udp.src == 68 && udp.dst == 67"}));
}

TEST(NorthboundRowsTest, RuleMatches) {
  auto match_of = [](SecurityGroupRule rule) {
    NorthboundState rows = DesiredRows(
        Desired({}, {}, {LogicalSecurityGroup{.id = "g", .name = "", .rules = {rule}}}));
    return rows.port_groups.at(0).acls.empty() ? std::string("(none)") : rows.port_groups[0].acls[0].match;
  };
  SecurityGroupRule r;
  r.protocol = "udp";
  r.port_min = 53;
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && udp && udp.dst == 53");
  r.direction = "egress";
  r.ethertype = "IPv6";
  r.remote_cidr = "fd00::/8";
  EXPECT_EQ(match_of(r), "inport == @pg_g && ip6 && ip6.dst == fd00::/8 && udp && udp.dst == 53");
  r.direction = "ingress";
  r.ethertype = "IPv4";
  r.remote_cidr.clear();
  r.port_min = 0;
  r.port_max = 0;
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && udp") << "0/0: every port";
  r.port_max = 1024;
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && udp && udp.dst >= 1 && udp.dst <= 1024");
  r = {};
  r.protocol = "icmp";
  r.port_min = 8;
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && icmp4 && icmp4.type == 8");
  r.port_max = 0;
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0");
  r = {};
  r.protocol = "47";
  EXPECT_EQ(match_of(r), "outport == @pg_g && ip4 && ip.proto == 47");
  r.protocol = "sctp";
  EXPECT_EQ(match_of(r), "(none)") << "unknown protocol";
  r = {};
  r.ethertype = "ARP";
  EXPECT_EQ(match_of(r), "(none)");
  r = {};
  r.remote_cidr = "10.0.0.0/8 || 1 == 1";
  EXPECT_EQ(match_of(r), "(none)") << "never pasted into a match";
  r = {};
  r.remote_group_id = "not-desired";
  EXPECT_EQ(match_of(r), "(none)") << "its address set would not exist";
}

TEST(NorthboundPlanTest, PortGroupsCreatedWithTheirPortsAndAcls) {
  NorthboundPlan plan = Plan(DesiredRows(WithGroups()), {});
  EXPECT_EQ(plan.Changes().port_groups, (TableChanges{3, 0, 0}));
  EXPECT_EQ(plan.Changes().acls, (TableChanges{6, 0, 0}));
  EXPECT_EQ(plan.create_port_groups[0].port_uuids, (std::vector<std::string>{"", ""})) << "created by the same plan";
}

TEST(NorthboundPlanTest, PortGroupsConvergedIsEmpty) {
  NorthboundState want = DesiredRows(WithGroups());
  EXPECT_TRUE(Plan(want, Converged(want)).empty());
}

TEST(NorthboundPlanTest, PortGroupDriftIsRepairedKeepingEqualAcls) {
  NorthboundState want = DesiredRows(WithGroups());
  NorthboundState have = Converged(want);
  have.port_groups[0].acls.erase(have.port_groups[0].acls.begin());  // a rule's ACL deleted
  have.port_groups[1].acls.push_back(AclRow{.uuid = "acl-foreign", .direction = "to-lport", .priority = 2000,
                                            .match = "1", .action = "allow", .external_ids = {}});
  have.port_groups[2].port_uuids = {"lp-p1", "lp-p3"};  // p2 out, p3 in
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes().port_groups, (TableChanges{0, 3, 0}));
  EXPECT_EQ(plan.Changes().acls, (TableChanges{1, 0, 1}));
  const PortGroupRow& sg1 = plan.update_port_groups[0];
  EXPECT_EQ(sg1.uuid, "pg-sg:sg-1");
  ASSERT_EQ(sg1.acls.size(), 3u);
  EXPECT_EQ(sg1.acls[0].uuid, "") << "recreated";
  EXPECT_EQ(sg1.acls[1].uuid, "acl-sg:sg-1-1") << "kept";
  EXPECT_TRUE(plan.update_port_groups[1].acls.empty()) << "the foreign ACL is left out";
  EXPECT_EQ(plan.update_port_groups[2].port_uuids, (std::vector<std::string>{"lp-p1", "lp-p2"}));
}

TEST(NorthboundPlanTest, PortGroupOrphansAndDuplicatesAreDeleted) {
  NorthboundState want = DesiredRows(WithGroups());
  NorthboundState have = Converged(want);
  PortGroupRow dup = have.port_groups[0];
  dup.uuid = "zz-dup";
  dup.name = "pg_sg_1_dup";
  have.port_groups.push_back(dup);
  want.port_groups.erase(want.port_groups.begin() + 1);  // sg-2 no longer desired
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes().port_groups, (TableChanges{0, 0, 2}));
  EXPECT_EQ(plan.Changes().acls, (TableChanges{0, 0, 3})) << "the duplicate's three ACLs go with it";
  EXPECT_EQ(plan.delete_port_groups[0].uuid, "zz-dup");
  EXPECT_EQ(plan.delete_port_groups[1].uuid, "pg-sg:sg-2");
}

TEST(NorthboundPlanTest, RecreatedPortRejoinsItsGroups) {
  NorthboundState want = DesiredRows(WithGroups());
  NorthboundState have = Converged(want);
  have.ports[0].switch_uuid = "elsewhere";  // p1 moves by delete + create
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes().ports, (TableChanges{1, 0, 1}));
  ASSERT_EQ(plan.Changes().port_groups, (TableChanges{0, 2, 0})) << "sg-1 and the drop group";
  EXPECT_EQ(plan.update_port_groups[0].port_uuids, (std::vector<std::string>{"", "lp-p2"}));
}

// ---- Routers -------------------------------------------------------------------------------
DesiredNetworks WithRouter() {
  LogicalNetwork ext{.id = "ext",
                     .name = "external",
                     .mtu = 0,
                     .subnets = {LogicalSubnet{.id = "ext-s", .cidr = "172.16.0.0/24", .gateway_ip = "172.16.0.1",
                                               .dns_servers = {}, .enable_dhcp = false}},
                     .physical_network = "physnet1"};
  LogicalRouter r{.id = "r1",
                  .name = "edge",
                  .interfaces = {RouterInterface{.subnet_id = "n1-s1", .network_id = "n1", .ip = "10.0.1.1",
                                                 .prefix = 24, .mac = "02:00:00:00:01:fe", .port_id = "p-rif"},
                                 RouterInterface{.subnet_id = "nx-s1", .network_id = "nx", .ip = "10.0.9.1",
                                                 .prefix = 24, .mac = "02:00:00:00:09:fe", .port_id = ""}},
                  .gateway = RouterGateway{.network_id = "ext", .ip = "172.16.0.10", .prefix = 24,
                                           .mac = "02:00:00:00:ff:01", .gateway_chassis = {"chassis-1", "chassis-2"},
                                           .nexthop = "172.16.0.1", .snat = true, .snat_cidrs = {"10.0.1.0/24"},
                                           .port_id = "p-gw"},
                  .floating_ips = {FloatingIp{.id = "f1", .external_ip = "172.16.0.100", .internal_ip = "10.0.1.5",
                                              .logical_port = "p1", .external_mac = "",
                                              .floating_port_id = "p-fip"}}};
  // The API's ports holding the router's and the floating IP's addresses are left out.
  return Desired({Net("n1"), ext},
                 {Port("p1", "n1", "10.0.1.5"), Port("p-rif", "n1", "10.0.1.1"), Port("p-gw", "ext", "172.16.0.10"),
                  Port("p-fip", "ext", "172.16.0.100")},
                 {}, {r});
}

TEST(NorthboundRowsTest, RoutersBecomeRoutersPortsAndNat) {
  NorthboundState rows = DesiredRows(WithRouter());
  ASSERT_EQ(rows.routers.size(), 1u);
  const RouterRow& r = rows.routers[0];
  EXPECT_EQ(r.name, "govpool-r1");
  EXPECT_EQ(r.external_ids, (StringMap{{kRouterIdKey, "r1"}, {kRouterNameKey, "edge"}}));
  ASSERT_EQ(r.ports.size(), 2u) << "nx is not a desired network";
  const RouterPortRow& gw = r.ports[0];
  EXPECT_EQ(gw.name, "lrp-r1-gw");
  EXPECT_EQ(gw.networks, std::vector<std::string>{"172.16.0.10/24"});
  ASSERT_EQ(gw.gateway_chassis.size(), 2u);
  EXPECT_EQ(gw.gateway_chassis[0], (GatewayChassisRow{.uuid = "", .name = "lrp-r1-gw-chassis-1",
                                                      .chassis_name = "chassis-1", .priority = 2}));
  EXPECT_EQ(gw.gateway_chassis[1].priority, 1);
  const RouterPortRow& inside = r.ports[1];
  EXPECT_EQ(inside.name, "lrp-r1-n1-s1");
  EXPECT_EQ(inside.mac, "02:00:00:00:01:fe");
  EXPECT_EQ(inside.networks, std::vector<std::string>{"10.0.1.1/24"});
  EXPECT_EQ(inside.external_ids.at(kSubnetIdKey), "n1-s1");
  EXPECT_TRUE(inside.gateway_chassis.empty());
  ASSERT_EQ(r.static_routes.size(), 1u);
  EXPECT_EQ(r.static_routes[0].ip_prefix, "0.0.0.0/0");
  EXPECT_EQ(r.static_routes[0].nexthop, "172.16.0.1");
  ASSERT_EQ(r.nat.size(), 2u);
  EXPECT_EQ(r.nat[0].type, "snat");
  EXPECT_EQ(r.nat[0].external_ip, "172.16.0.10");
  EXPECT_EQ(r.nat[0].logical_ip, "10.0.1.0/24");
  EXPECT_EQ(r.nat[1].type, "dnat_and_snat");
  EXPECT_EQ(r.nat[1].external_ip, "172.16.0.100");
  EXPECT_EQ(r.nat[1].logical_ip, "10.0.1.5");
  EXPECT_EQ(r.nat[1].logical_port, "") << "centralized: no external_mac";
  EXPECT_EQ(r.nat[1].external_ids.at(kFloatingIpIdKey), "f1");

  ASSERT_EQ(rows.ports.size(), 4u) << "p-rif, p-gw and p-fip are the router's: left out";
  EXPECT_EQ(rows.ports[0].name, "p1");
  const PortRow& localnet = rows.ports[1];
  EXPECT_EQ(localnet.name, "ln-ext");
  EXPECT_EQ(localnet.type, "localnet");
  EXPECT_EQ(localnet.options, (StringMap{{"network_name", "physnet1"}}));
  EXPECT_EQ(localnet.addresses, std::vector<std::string>{"unknown"});
  EXPECT_TRUE(localnet.port_security.empty());
  EXPECT_EQ(localnet.external_ids.at(kSwitchPortKey), "ln-ext");
  const PortRow& leg = rows.ports[2];
  EXPECT_EQ(leg.name, "rp-r1-n1-s1");
  EXPECT_EQ(leg.network_id, "n1");
  EXPECT_EQ(leg.type, "router");
  EXPECT_EQ(leg.options, (StringMap{{"router-port", "lrp-r1-n1-s1"}}));
  EXPECT_EQ(leg.addresses, std::vector<std::string>{"router"});
  EXPECT_EQ(leg.dhcp_subnet_id, "");
  EXPECT_EQ(rows.ports[3].name, "rp-r1-gw");
  EXPECT_EQ(rows.ports[3].network_id, "ext");

  // A distributed floating IP names the VM's port and a MAC.
  DesiredNetworks d = WithRouter();
  d.routers[0].floating_ips[0].external_mac = "02:00:00:00:ff:64";
  const NatRow fip = DesiredRows(d).routers[0].nat[1];
  EXPECT_EQ(fip.logical_port, "p1");
  EXPECT_EQ(fip.external_mac, "02:00:00:00:ff:64");
  // Without a gateway: no gateway port, routes or NAT.
  d.routers[0].gateway.reset();
  const RouterRow inner = DesiredRows(d).routers[0];
  EXPECT_EQ(inner.ports.size(), 1u);
  EXPECT_TRUE(inner.nat.empty());
  EXPECT_TRUE(inner.static_routes.empty());
}

TEST(NorthboundPlanTest, RoutersCreatedConvergedAndRepaired) {
  NorthboundState want = DesiredRows(WithRouter());
  NorthboundPlan create = Plan(want, {});
  EXPECT_EQ(create.Changes().routers, (TableChanges{1, 0, 0}));
  EXPECT_EQ(create.Changes().router_ports, (TableChanges{2, 0, 0}));
  EXPECT_EQ(create.Changes().nat, (TableChanges{2, 0, 0}));
  EXPECT_EQ(create.Changes().static_routes, (TableChanges{1, 0, 0}));
  EXPECT_EQ(create.Changes().ports, (TableChanges{4, 0, 0}));
  EXPECT_TRUE(Plan(want, Converged(want)).empty());

  NorthboundState have = Converged(want);
  RouterRow& r = have.routers[0];
  r.nat.erase(r.nat.begin());                       // the SNAT row deleted
  r.ports[1].mac = "02:00:00:00:00:66";              // drift in a router port
  r.ports[0].gateway_chassis[1].priority = 9;        // and in a gateway chassis
  r.static_routes.push_back(StaticRouteRow{.uuid = "route-x", .ip_prefix = "10.9.0.0/16", .nexthop = "172.16.0.9",
                                           .external_ids = {}});
  have.ports[2].options.clear();  // the router-type port's router-port
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes().routers, (TableChanges{0, 1, 0}));
  EXPECT_EQ(plan.Changes().router_ports, (TableChanges{0, 2, 0}));
  EXPECT_EQ(plan.Changes().nat, (TableChanges{1, 0, 0}));
  EXPECT_EQ(plan.Changes().static_routes, (TableChanges{0, 0, 1}));
  EXPECT_EQ(plan.Changes().ports, (TableChanges{0, 1, 0}));
  const RouterRow& up = plan.update_routers[0];
  EXPECT_EQ(up.uuid, "lr-r1");
  EXPECT_TRUE(up.ports[0].changed);
  EXPECT_EQ(up.ports[0].gateway_chassis[0].uuid, "gc-lrp-r1-gw-chassis-1") << "kept";
  EXPECT_EQ(up.ports[0].gateway_chassis[1].uuid, "") << "replaced";
  EXPECT_TRUE(up.ports[1].changed);
  EXPECT_EQ(up.ports[1].uuid, "lrp-uuid-lrp-r1-n1-s1") << "updated in place";
  EXPECT_EQ(up.nat[0].uuid, "");
  EXPECT_EQ(up.nat[1].uuid, "nat-1");
}

TEST(NorthboundPlanTest, RouterOrphansAndDuplicatesAreDeleted) {
  NorthboundState want = DesiredRows(WithRouter());
  NorthboundState have = Converged(want);
  RouterRow dup = have.routers[0];
  dup.uuid = "zz-dup";
  have.routers.push_back(dup);
  RouterRow old = have.routers[0];
  old.uuid = "lr-old";
  old.router_id = "old";
  have.routers.push_back(old);
  NorthboundPlan plan = Plan(want, have);
  EXPECT_EQ(plan.Changes().routers, (TableChanges{0, 0, 2}));
  EXPECT_EQ(plan.Changes().router_ports, (TableChanges{0, 0, 4})) << "their children go with them";
  EXPECT_EQ(plan.delete_routers[0].uuid, "lr-old");
  EXPECT_EQ(plan.delete_routers[1].uuid, "zz-dup");
  NorthboundPlan all = Plan(DesiredRows(DesiredNetworks{}), Converged(want));
  EXPECT_EQ(all.Changes().routers, (TableChanges{0, 0, 1}));
  EXPECT_EQ(all.Changes().ports, (TableChanges{0, 0, 4}));
}

// ---- The reconciler over the fake -------------------------------------------------------
TEST(NorthboundReconcilerTest, ConvergesRepairsAndLeavesForeignRowsAlone) {
  FakeNorthbound nb;
  NorthboundReconciler r(nb);
  const std::string foreign = nb.InsertSwitch("someone-elses", {{"owner", "neutron"}});
  DesiredNetworks d = Desired({Net("n1"), Net("n2")},
                    {Port("p1", "n1", "10.0.1.5"), Port("p2", "n1", "10.0.1.6"), Port("p3", "n2", "10.0.1.5")});
  auto first = r.Reconcile(d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, Changes({2, 0, 0}, {2, 0, 0}, {3, 0, 0}));
  auto again = r.Reconcile(d);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total(), 0);
  EXPECT_EQ(nb.apply_calls(), 1) << "a converged pass applies nothing";

  ASSERT_TRUE(nb.SetPortAddresses("p1", {"02:00:00:00:00:77"}));
  ASSERT_TRUE(nb.DeletePort("p2"));
  ASSERT_TRUE(nb.DeleteDhcpOptionsOfSubnet("n2-s1"));
  auto repair = r.Reconcile(d);
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(*repair, Changes({}, {1, 0, 0}, {1, 2, 0}));
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
  EXPECT_EQ(*removed, Changes({0, 0, 1}, {0, 0, 1}, {0, 0, 1}));
  EXPECT_TRUE(nb.SwitchExists(foreign));
  auto state = nb.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->switches.size(), 1u);
  EXPECT_EQ(state->ports.size(), 2u);
}

TEST(NorthboundReconcilerTest, SecurityGroupsConvergeAndRepair) {
  FakeNorthbound nb;
  NorthboundReconciler r(nb);
  DesiredNetworks d = WithGroups();
  auto first = r.Reconcile(d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->port_groups, (TableChanges{3, 0, 0}));
  EXPECT_EQ(nb.acl_rows(), 6);
  EXPECT_EQ(r.Reconcile(d)->total(), 0);

  ASSERT_TRUE(nb.RemoveFirstAclOfPortGroup("pg_drop_n1"));
  ASSERT_TRUE(nb.AddAclToPortGroup("pg_sg_2", "1 == 1"));
  ASSERT_TRUE(nb.DeletePort("p1"));  // leaves its groups (weak references)
  auto repair = r.Reconcile(d);
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(repair->ports, (TableChanges{1, 0, 0}));
  EXPECT_EQ(repair->port_groups, (TableChanges{0, 3, 0}));
  EXPECT_EQ(repair->acls, (TableChanges{1, 0, 1}));
  EXPECT_EQ(r.Reconcile(d)->total(), 0);
  EXPECT_EQ(nb.acl_rows(), 6);

  d.security_groups.pop_back();  // sg-2 goes; p2 still names it: it allows nothing
  auto removed = r.Reconcile(d);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->port_groups, (TableChanges{0, 0, 1}));
  EXPECT_TRUE(nb.PortGroupAclMatches("pg_sg_2").empty());
  d.ports = {Port("p3", "n1", "10.0.1.7")};
  removed = r.Reconcile(d);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->port_groups, (TableChanges{0, 1, 1})) << "sg-1 emptied, the drop group gone";
  EXPECT_EQ(nb.acl_rows(), 3);
}

TEST(NorthboundReconcilerTest, RoutersConvergeAndRepair) {
  FakeNorthbound nb;
  NorthboundReconciler r(nb);
  DesiredNetworks d = WithRouter();
  auto first = r.Reconcile(d);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->routers, (TableChanges{1, 0, 0}));
  EXPECT_EQ(nb.router_child_rows(), 2 + 2 + 1 + 2);
  EXPECT_EQ(r.Reconcile(d)->total(), 0);

  ASSERT_TRUE(nb.RemoveFirstNatOfRouter("govpool-r1"));
  ASSERT_TRUE(nb.SetRouterPortMac("lrp-r1-n1-s1", "02:00:00:00:00:99"));
  auto repair = r.Reconcile(d);
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(repair->router_ports, (TableChanges{0, 1, 0}));
  EXPECT_EQ(repair->nat, (TableChanges{1, 0, 0}));
  EXPECT_EQ(r.Reconcile(d)->total(), 0);

  ASSERT_TRUE(nb.DeleteRouterPort("lrp-r1-gw"));  // its gateway chassis go with it
  EXPECT_EQ(nb.router_child_rows(), 1 + 2 + 1);
  repair = r.Reconcile(d);
  ASSERT_TRUE(repair.ok());
  EXPECT_EQ(repair->router_ports, (TableChanges{1, 0, 0}));
  EXPECT_EQ(r.Reconcile(d)->total(), 0);
  EXPECT_EQ(nb.router_child_rows(), 7);

  d.routers[0].floating_ips.clear();
  d.ports.pop_back();  // the floating IP's port goes with it
  d.routers[0].gateway->snat = false;
  auto fewer = r.Reconcile(d);
  ASSERT_TRUE(fewer.ok());
  EXPECT_EQ(fewer->nat, (TableChanges{0, 0, 2}));
  EXPECT_EQ(fewer->ports.total(), 0);
  EXPECT_EQ(nb.router_child_rows(), 5);
  d.routers.clear();
  d.ports.resize(1);  // and the router's ports with the router
  auto gone = r.Reconcile(d);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->routers, (TableChanges{0, 0, 1}));
  EXPECT_EQ(gone->ports, (TableChanges{0, 0, 2})) << "the router-type switch ports";
  EXPECT_EQ(nb.router_child_rows(), 0);
}

}  // namespace
}  // namespace govpool::network
