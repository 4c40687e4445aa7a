// Security groups, external networks, routers and floating IPs end to end through the real
// controller (docs/networking.md, "External networks, security groups, routers and floating
// IPs"): the typed client against the HTTP routes, the refusals' HTTP answers
// (SECURITY_GROUP_IN_USE, ROUTER_IN_USE, EXTERNAL_NETWORK_UNREACHABLE, PORT_IN_USE), If-Match,
// a raw PATCH with "port_id": null, and the records surviving a restart.
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

class NetworkSecurityApiTest : public ControllerTest {};

TEST_F(NetworkSecurityApiTest, GroupsRoutersAndFloatingIpsThroughHttp) {
  const api::Department dept =
      CreateDepartment("edge", {.networks = 2, .ports = 10, .security_groups = 2, .routers = 1, .floating_ips = 2});
  const std::string token = CreateUserToken("edge-admin", api::Role::kDeptAdmin, dept.meta.id);
  std::unique_ptr<api::Client> da = NewTypedClient(token);

  // The admin's external network; the department sees it but may not put a port on it.
  api::CreateNetworkRequest ext_req;
  ext_req.name = "public";
  ext_req.external = true;
  ext_req.physical_network = "physnet1";
  auto ext = client_->CreateNetwork(ext_req);
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ(da->CreateNetwork(ext_req).status().code(), StatusCode::kPermissionDenied);
  api::CreateSubnetRequest ext_sub;
  ext_sub.name = "public-v4";
  ext_sub.network_id = ext->meta.id;
  ext_sub.cidr = "203.0.113.0/29";
  auto ext_subnet = client_->CreateSubnet(ext_sub);
  ASSERT_TRUE(ext_subnet.ok()) << ext_subnet.status().ToString();
  auto seen = da->GetNetwork(ext->meta.id);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_TRUE(seen->external);
  EXPECT_EQ(seen->physical_network, "physnet1");

  // The department's network; its first port gets the default group.
  api::CreateNetworkRequest nreq;
  nreq.name = "web";
  nreq.department_id = dept.meta.id;
  auto net = da->CreateNetwork(nreq);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  api::CreateSubnetRequest sreq;
  sreq.name = "web-v4";
  sreq.network_id = net->meta.id;
  sreq.cidr = "10.0.0.0/24";
  auto subnet = da->CreateSubnet(sreq);
  ASSERT_TRUE(subnet.ok()) << subnet.status().ToString();
  api::CreatePortRequest preq;
  preq.network_id = net->meta.id;
  auto port = da->CreatePort(preq);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  ASSERT_EQ(port->security_group_ids.size(), 1u);
  auto def = da->GetSecurityGroup(port->security_group_ids[0]);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->name, "default");
  EXPECT_EQ(def->ports, 1);

  // A group with an HTTPS rule, put on the port with PATCH (If-Match).
  api::CreateSecurityGroupRequest greq;
  greq.name = "https";
  greq.department_id = dept.meta.id;
  auto group = da->CreateSecurityGroup(greq);
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  EXPECT_EQ(da->CreateSecurityGroup(greq).status().code(), StatusCode::kAlreadyExists);
  api::CreateSecurityGroupRuleRequest rule;
  rule.direction = api::RuleDirection::kIngress;
  rule.protocol = api::RuleProtocol::kTcp;
  rule.port_range_min = rule.port_range_max = 443;
  rule.remote_ip_prefix = "0.0.0.0/0";
  auto with_rule = da->AddSecurityGroupRule(group->meta.id, rule);
  ASSERT_TRUE(with_rule.ok()) << with_rule.status().ToString();
  ASSERT_FALSE(with_rule->rules.empty());
  EXPECT_EQ(with_rule->rules.back().port_range_min, 443);
  rule.protocol = api::RuleProtocol::kIcmp;  // ports with icmp: 400 from the request's rules
  EXPECT_EQ(da->AddSecurityGroupRule(group->meta.id, rule).status().code(), StatusCode::kInvalidArgument);

  api::PatchPortRequest patch;
  patch.security_group_ids = std::vector<std::string>{group->meta.id, def->meta.id};
  api::WriteOptions stale;
  stale.if_match = port->meta.revision - 1;
  EXPECT_EQ(da->PatchPort(port->meta.id, patch, stale).status().code(), StatusCode::kConflict);
  api::WriteOptions current;
  current.if_match = port->meta.revision;
  auto patched = da->PatchPort(port->meta.id, patch, current);
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->security_group_ids.size(), 2u);
  Status in_use = da->DeleteSecurityGroup(group->meta.id);
  EXPECT_EQ(in_use.reason(), "SECURITY_GROUP_IN_USE");

  // A router with its gateway on the external network and the subnet attached.
  api::CreateRouterRequest rreq;
  rreq.name = "edge-r";
  rreq.department_id = dept.meta.id;
  rreq.external_gateway.network_id = ext->meta.id;
  auto router = da->CreateRouter(rreq);
  ASSERT_TRUE(router.ok()) << router.status().ToString();
  EXPECT_EQ(router->external_gateway.ip_address, "203.0.113.2");
  EXPECT_TRUE(router->external_gateway.enable_snat);
  rreq.name = "second";
  EXPECT_EQ(da->CreateRouter(rreq).status().reason(), "QUOTA_EXCEEDED");

  // Allocated before the subnet is routed: associating is refused with the reason.
  api::CreateFloatingIpRequest freq;
  freq.floating_network_id = ext->meta.id;
  auto fip = da->CreateFloatingIp(freq);
  ASSERT_TRUE(fip.ok()) << fip.status().ToString();
  EXPECT_EQ(fip->department_id, dept.meta.id) << "the caller's department by default";
  EXPECT_EQ(fip->floating_ip_address, "203.0.113.3");
  api::PatchFloatingIpRequest assoc;
  assoc.port_id = port->meta.id;
  auto unreachable = da->PatchFloatingIp(fip->meta.id, assoc);
  EXPECT_EQ(unreachable.status().reason(), "EXTERNAL_NETWORK_UNREACHABLE");

  auto attached = da->AddRouterInterface(router->meta.id, {subnet->meta.id});
  ASSERT_TRUE(attached.ok()) << attached.status().ToString();
  ASSERT_EQ(attached->interfaces.size(), 1u);
  EXPECT_EQ(attached->interfaces[0].ip_address, "10.0.0.1");
  EXPECT_EQ(da->DeleteSubnet(subnet->meta.id).reason(), "HAS_DEPENDENTS");
  EXPECT_EQ(da->DeletePort(attached->interfaces[0].port_id).reason(), "PORT_IN_USE");
  auto associated = da->PatchFloatingIp(fip->meta.id, assoc);
  ASSERT_TRUE(associated.ok()) << associated.status().ToString();
  EXPECT_EQ(associated->fixed_ip_address, port->fixed_ips.at(0).ip_address);
  EXPECT_EQ(associated->router_id, router->meta.id);
  EXPECT_EQ(associated->status, "active");
  EXPECT_EQ(da->DeleteRouter(router->meta.id).reason(), "ROUTER_IN_USE");
  EXPECT_EQ(da->RemoveRouterInterface(router->meta.id, subnet->meta.id).status().reason(), "ROUTER_IN_USE");

  // Everything survives a restart; the next address is the next free one.
  Restart();
  da = NewTypedClient(token);
  auto back = da->GetFloatingIp(fip->meta.id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->port_id, port->meta.id);
  freq.floating_ip_address = "203.0.113.3";
  EXPECT_EQ(da->CreateFloatingIp(freq).status().reason(), "IP_ADDRESS_IN_USE");
  freq.floating_ip_address.clear();
  auto next = da->CreateFloatingIp(freq);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->floating_ip_address, "203.0.113.4");

  // "port_id": null disassociates (raw JSON: the typed client sends "").
  Api raw = NewClient(token);
  Reply r = raw.Send("PATCH", "/v1/floating-ips/" + fip->meta.id, R"({"port_id": null})");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Str("port_id"), "");
  EXPECT_EQ(r.Str("status"), "down");

  // Then the router can go, interface first.
  ASSERT_TRUE(da->RemoveRouterInterface(router->meta.id, subnet->meta.id).ok());
  EXPECT_TRUE(da->DeleteRouter(router->meta.id).ok());
  EXPECT_TRUE(da->DeleteFloatingIp(fip->meta.id).ok());
  EXPECT_TRUE(da->DeleteFloatingIp(next->meta.id).ok());
  auto ext_after = client_->GetSubnet(ext_subnet->meta.id);
  ASSERT_TRUE(ext_after.ok());
  EXPECT_EQ(ext_after->used_ips, 0) << "every external address is free again";
}

}  // namespace
}  // namespace govpool::testing
