// Unit tests of security groups, external networks, routers and floating IPs over an in-memory
// State (docs/networking.md, "Security groups", "Routers and floating IPs"): the default group
// made with a department's first port, rule validation and normalisation, ports' groups (same
// department, PATCH, SECURITY_GROUP_IN_USE), quotas, router gateways and interfaces taking
// their addresses through IPAM, the refusals (ROUTER_IN_USE, SUBNET_ALREADY_ATTACHED,
// SUBNET_OVERLAP, EXTERNAL_NETWORK_UNREACHABLE), floating IPs never sharing an address, and
// the records surviving a restart.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/services/services.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {
namespace {

std::unique_ptr<scheduler::Scheduler> NewScheduler() {
  return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value();
}

class NetworkSecurityTest : public ::testing::Test {
 protected:
  template <typename Fn>
  auto W(Fn fn) {
    Txn t(s_.revision() + 1, ++now_ms_);
    auto r = fn(s_, t);
    if (!t.mutations().empty()) s_.set_revision(t.revision());
    for (const Mutation& m : t.mutations()) {
      if (m.value) {
        log_[{m.kind, m.id}] = *m.value;
      } else {
        log_.erase({m.kind, m.id});
      }
    }
    return r;
  }
  template <typename T>
  T Ok(Result<T> r) {
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : T{};
  }

  NetworkSecurityTest() : s_(NewScheduler()) {
    admin_ = {"u-admin", "admin", api::Role::kSystemAdmin, ""};
    api::Quota q;
    q.security_groups = 2;
    q.routers = 2;
    q.floating_ips = 2;
    q.ports = 20;
    dept_ = Ok(W([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "tax";
      req.quota = q;
      return CreateDepartment(s, t, admin_, req);
    }));
    other_dept_ = Ok(W([&](State& s, Txn& t) {
      api::CreateDepartmentRequest req;
      req.name = "audit";
      return CreateDepartment(s, t, admin_, req);
    }));
    da_ = {"u-da", "da", api::Role::kDeptAdmin, dept_.meta.id};
    member_ = {"u-m", "m", api::Role::kDeptMember, dept_.meta.id};
    outsider_ = {"u-o", "o", api::Role::kDeptAdmin, other_dept_.meta.id};
  }

  api::Network Net(const std::string& name, const std::string& cidr) {
    api::CreateNetworkRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    api::Network n = Ok(W([&](State& s, Txn& t) { return CreateNetwork(s, t, da_, req); }));
    subnet_[name] = Ok(Sub(n.meta.id, cidr, da_));
    return n;
  }
  Result<api::Subnet> Sub(const std::string& network_id, const std::string& cidr, const Caller& by) {
    api::CreateSubnetRequest req;
    req.name = "sn-" + cidr.substr(0, cidr.find('/'));
    req.network_id = network_id;
    req.cidr = cidr;
    return W([&](State& s, Txn& t) { return CreateSubnet(s, t, by, req); });
  }
  // An external network with subnet `cidr` (the gateway its first host).
  api::Network External(const std::string& name, const std::string& cidr) {
    api::CreateNetworkRequest req;
    req.name = name;
    req.external = true;
    req.physical_network = "physnet1";
    api::Network n = Ok(W([&](State& s, Txn& t) { return CreateNetwork(s, t, admin_, req); }));
    subnet_[name] = Ok(Sub(n.meta.id, cidr, admin_));
    return n;
  }
  Result<api::Port> Port(const std::string& network_id, std::vector<std::string> groups = {}) {
    api::CreatePortRequest req;
    req.network_id = network_id;
    req.security_group_ids = std::move(groups);
    return W([&](State& s, Txn& t) { return CreatePort(s, t, da_, req); });
  }
  Result<api::SecurityGroup> Group(const std::string& name, const Caller* by = nullptr) {
    api::CreateSecurityGroupRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    return W([&](State& s, Txn& t) { return CreateSecurityGroup(s, t, by ? *by : da_, req); });
  }
  Result<api::SecurityGroupRule> Rule(const std::string& group_id, api::CreateSecurityGroupRuleRequest req) {
    return W([&](State& s, Txn& t) { return AddSecurityGroupRule(s, t, da_, group_id, req); });
  }
  Result<api::Router> NewRouter(const std::string& name, const std::string& external_id = "") {
    api::CreateRouterRequest req;
    req.name = name;
    req.department_id = dept_.meta.id;
    req.external_gateway.network_id = external_id;
    return W([&](State& s, Txn& t) { return CreateRouter(s, t, da_, req); });
  }
  Result<api::Router> Attach(const std::string& router_id, const std::string& subnet_id) {
    return W([&](State& s, Txn& t) { return AddRouterInterface(s, t, da_, router_id, {subnet_id}); });
  }
  Result<api::FloatingIp> Fip(const std::string& external_id, const std::string& address = "",
                              const std::string& port_id = "") {
    api::CreateFloatingIpRequest req;
    req.department_id = dept_.meta.id;
    req.floating_network_id = external_id;
    req.floating_ip_address = address;
    req.port_id = port_id;
    return W([&](State& s, Txn& t) { return CreateFloatingIp(s, t, da_, req); });
  }
  Result<api::FloatingIp> Associate(const std::string& fip_id, const std::string& port_id) {
    api::PatchFloatingIpRequest req;
    req.port_id = port_id;
    return W([&](State& s, Txn& t) { return PatchFloatingIp(s, t, da_, fip_id, std::nullopt, req); });
  }

  State s_;
  std::int64_t now_ms_ = 1'700'000'000'000;
  std::map<std::pair<std::string, std::string>, std::string> log_;  // what a store would hold
  std::map<std::string, api::Subnet> subnet_;                       // by network name
  Caller admin_, da_, member_, outsider_;
  api::Department dept_, other_dept_;
};

TEST_F(NetworkSecurityTest, FirstPortMakesTheDefaultGroup) {
  api::Network n = Net("web", "10.0.0.0/24");
  EXPECT_EQ(s_.FindSecurityGroupByName(dept_.meta.id, kDefaultSecurityGroup), nullptr);
  api::Port first = Ok(Port(n.meta.id));
  const api::SecurityGroup* def = s_.FindSecurityGroupByName(dept_.meta.id, kDefaultSecurityGroup);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(first.security_group_ids, std::vector<std::string>{def->meta.id});
  // Ingress from its own members and all egress, for IPv4 and IPv6.
  int ingress_from_self = 0, egress_anywhere = 0;
  for (const api::SecurityGroupRule& r : def->rules) {
    if (r.direction == api::RuleDirection::kIngress && r.remote_group_id == def->meta.id) ++ingress_from_self;
    if (r.direction == api::RuleDirection::kEgress && r.remote_ip_prefix.empty() && r.remote_group_id.empty()) {
      ++egress_anywhere;
    }
  }
  EXPECT_EQ(def->rules.size(), 4u);
  EXPECT_EQ(ingress_from_self, 2);
  EXPECT_EQ(egress_anywhere, 2);
  api::Port second = Ok(Port(n.meta.id));
  EXPECT_EQ(second.security_group_ids, std::vector<std::string>{def->meta.id}) << "made once";
  EXPECT_EQ(s_.security_groups().size(), 1u);
  EXPECT_EQ(s_.Usage(dept_.meta.id).security_groups, 0) << "the default group counts no quota";
  EXPECT_EQ(s_.RenderSecurityGroup(*def).ports, 2);
  EXPECT_EQ(Group("default").status().code(), StatusCode::kInvalidArgument) << "the name is reserved";
}

TEST_F(NetworkSecurityTest, GroupsQuotaNamesAndRules) {
  api::SecurityGroup web = Ok(Group("web"));
  ASSERT_TRUE(Group("db").ok());
  EXPECT_EQ(Group("web").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Group("third").status().reason(), "QUOTA_EXCEEDED") << "quota security_groups is 2";
  EXPECT_EQ(Group("x", &member_).status().code(), StatusCode::kPermissionDenied);

  api::CreateSecurityGroupRuleRequest ssh;
  ssh.direction = api::RuleDirection::kIngress;
  ssh.protocol = api::RuleProtocol::kTcp;
  ssh.port_range_min = ssh.port_range_max = 22;
  ssh.remote_ip_prefix = "192.168.7.9/16";
  api::SecurityGroupRule rule = Ok(Rule(web.meta.id, ssh));
  EXPECT_EQ(rule.remote_ip_prefix, "192.168.0.0/16") << "normalised to the network address";
  EXPECT_FALSE(rule.id.empty());
  EXPECT_EQ(Rule(web.meta.id, ssh).status().code(), StatusCode::kAlreadyExists);
  api::CreateSecurityGroupRuleRequest bad = ssh;
  bad.remote_ip_prefix = "300.1.1.1/8";
  EXPECT_EQ(Rule(web.meta.id, bad).status().code(), StatusCode::kInvalidArgument);
  bad = ssh;
  bad.remote_ip_prefix = "";
  bad.remote_group_id = "no-such-group";
  EXPECT_EQ(Rule(web.meta.id, bad).status().code(), StatusCode::kInvalidArgument);
  // A group of another department is no remote group here.
  api::CreateSecurityGroupRequest theirs_req;
  theirs_req.name = "theirs";
  theirs_req.department_id = other_dept_.meta.id;
  api::SecurityGroup theirs = Ok(W([&](State& s, Txn& t) { return CreateSecurityGroup(s, t, outsider_, theirs_req); }));
  bad.remote_group_id = theirs.meta.id;
  EXPECT_EQ(Rule(web.meta.id, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetSecurityGroup(s_, outsider_, web.meta.id).status().code(), StatusCode::kNotFound);

  const std::size_t before = s_.FindSecurityGroup(web.meta.id)->rules.size();
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteSecurityGroupRule(s, t, da_, web.meta.id, rule.id); }).ok());
  EXPECT_EQ(s_.FindSecurityGroup(web.meta.id)->rules.size(), before - 1);
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeleteSecurityGroupRule(s, t, da_, web.meta.id, rule.id); }).code(),
            StatusCode::kNotFound);

  // The rules limit.
  for (int port = 1; s_.FindSecurityGroup(web.meta.id)->rules.size() < kMaxSecurityGroupRules; ++port) {
    api::CreateSecurityGroupRuleRequest r = ssh;
    r.port_range_min = r.port_range_max = port;
    ASSERT_TRUE(Rule(web.meta.id, r).ok());
  }
  ssh.port_range_min = ssh.port_range_max = 9999;
  EXPECT_EQ(Rule(web.meta.id, ssh).status().reason(), "QUOTA_EXCEEDED");
}

TEST_F(NetworkSecurityTest, PortGroupsAreCheckedChangedAndProtectTheGroup) {
  api::Network n = Net("web", "10.0.0.0/24");
  api::SecurityGroup web = Ok(Group("web"));
  api::Port p = Ok(Port(n.meta.id, {web.meta.id}));
  EXPECT_EQ(p.security_group_ids, std::vector<std::string>{web.meta.id});
  EXPECT_EQ(s_.FindSecurityGroupByName(dept_.meta.id, kDefaultSecurityGroup), nullptr)
      << "a port with groups needs no default";
  EXPECT_EQ(Port(n.meta.id, {"sg-nope"}).status().code(), StatusCode::kInvalidArgument);

  Status in_use = W([&](State& s, Txn& t) { return DeleteSecurityGroup(s, t, da_, web.meta.id); });
  EXPECT_EQ(in_use.reason(), "SECURITY_GROUP_IN_USE");

  api::PatchPortRequest patch;
  patch.name = "renamed";
  patch.security_group_ids = std::vector<std::string>{};
  const std::int64_t revision = p.meta.revision;
  api::Port changed = Ok(W([&](State& s, Txn& t) { return PatchPort(s, t, da_, p.meta.id, revision, patch); }));
  EXPECT_TRUE(changed.security_group_ids.empty()) << "[] leaves it in no group";
  EXPECT_EQ(changed.name, "renamed");
  EXPECT_GT(changed.meta.revision, revision) << "a new revision: the sync picks it up";
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchPort(s, t, da_, p.meta.id, revision, patch); }).status().code(),
            StatusCode::kConflict)
      << "If-Match";
  patch.security_group_ids = std::vector<std::string>{"sg-nope"};
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchPort(s, t, da_, p.meta.id, std::nullopt, patch); }).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(W([&](State& s, Txn& t) { return DeleteSecurityGroup(s, t, da_, web.meta.id); }).ok());
  EXPECT_EQ(s_.Usage(dept_.meta.id).security_groups, 0);
}

TEST_F(NetworkSecurityTest, ExternalNetworksAreAdminsAndSeenByAll) {
  api::CreateNetworkRequest req;
  req.name = "ext";
  req.external = true;
  req.physical_network = "physnet1";
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateNetwork(s, t, da_, req); }).status().code(),
            StatusCode::kPermissionDenied);
  api::Network ext = External("ext", "203.0.113.0/28");
  EXPECT_TRUE(ext.external);
  EXPECT_EQ(ext.physical_network, "physnet1");
  EXPECT_TRUE(ext.department_id.empty());
  EXPECT_TRUE(GetNetwork(s_, outsider_, ext.meta.id).ok());
  EXPECT_EQ(Port(ext.meta.id).status().code(), StatusCode::kPermissionDenied)
      << "departments reach it through routers and floating IPs";
  EXPECT_EQ(Sub(ext.meta.id, "198.51.100.0/24", da_).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(NetworkSecurityTest, RouterGatewayAndInterfacesTakeAddresses) {
  api::Network ext = External("ext", "203.0.113.0/28");
  Net("web", "10.0.0.0/24");
  Net("db", "10.0.1.0/24");
  api::Router r = Ok(NewRouter("r1", ext.meta.id));
  EXPECT_EQ(r.external_gateway.network_id, ext.meta.id);
  EXPECT_TRUE(r.external_gateway.enable_snat);
  EXPECT_EQ(r.external_gateway.ip_address, "203.0.113.2");
  const api::Port* gw = s_.FindPort(r.external_gateway.port_id);
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(gw->device_owner, "router_gateway");
  EXPECT_EQ(gw->device_id, r.meta.id);
  EXPECT_TRUE(s_.IpamOf(subnet_["ext"].meta.id)->IsUsed(0xcb007102u)) << "203.0.113.2 is taken";
  EXPECT_EQ(s_.Usage(dept_.meta.id).ports, 0) << "router ports count no ports quota";

  r = Ok(Attach(r.meta.id, subnet_["web"].meta.id));
  ASSERT_EQ(r.interfaces.size(), 1u);
  EXPECT_EQ(r.interfaces[0].ip_address, "10.0.0.1");
  const api::Port* itf = s_.FindPort(r.interfaces[0].port_id);
  ASSERT_NE(itf, nullptr);
  EXPECT_EQ(itf->device_owner, "router_interface");
  EXPECT_NE(itf->mac_address, gw->mac_address);
  EXPECT_EQ(s_.RouterOfSubnet(subnet_["web"].meta.id)->meta.id, r.meta.id);

  EXPECT_EQ(Attach(r.meta.id, subnet_["web"].meta.id).status().reason(), "SUBNET_ALREADY_ATTACHED");
  api::Router r2 = Ok(NewRouter("r2"));
  EXPECT_EQ(Attach(r2.meta.id, subnet_["web"].meta.id).status().reason(), "SUBNET_ALREADY_ATTACHED");
  EXPECT_EQ(NewRouter("r3").status().reason(), "QUOTA_EXCEEDED") << "quota routers is 2";
  EXPECT_EQ(NewRouter("r1").status().code(), StatusCode::kAlreadyExists);
  // Overlap with another subnet on the router (another network may reuse the CIDR).
  Net("copy", "10.0.0.0/25");
  EXPECT_EQ(Attach(r.meta.id, subnet_["copy"].meta.id).status().reason(), "SUBNET_OVERLAP");
  EXPECT_TRUE(Attach(r.meta.id, subnet_["db"].meta.id).ok());
  // Another department's subnet, or an external one, is refused.
  EXPECT_EQ(Attach(r.meta.id, subnet_["ext"].meta.id).status().code(), StatusCode::kInvalidArgument);

  Status subnet_delete = W([&](State& s, Txn& t) { return DeleteSubnet(s, t, da_, subnet_["web"].meta.id); });
  EXPECT_EQ(subnet_delete.reason(), "HAS_DEPENDENTS");
  Status router_delete = W([&](State& s, Txn& t) { return DeleteRouter(s, t, da_, r.meta.id); });
  EXPECT_EQ(router_delete.reason(), "ROUTER_IN_USE");
  Status port_delete = W([&](State& s, Txn& t) { return DeletePort(s, t, da_, itf->meta.id); });
  EXPECT_EQ(port_delete.reason(), "PORT_IN_USE") << "removed through its router only";

  for (const std::string name : {"web", "db"}) {
    ASSERT_TRUE(W([&](State& s, Txn& t) { return RemoveRouterInterface(s, t, da_, r.meta.id, subnet_[name].meta.id); })
                    .ok());
  }
  EXPECT_EQ(s_.IpamOf(subnet_["web"].meta.id)->used_count(), 0) << "the gateway address is given back";
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteRouter(s, t, da_, r.meta.id); }).ok());
  EXPECT_EQ(s_.FindPort(r.external_gateway.port_id), nullptr) << "its gateway port goes with it";
  EXPECT_EQ(s_.IpamOf(subnet_["ext"].meta.id)->used_count(), 0);
}

TEST_F(NetworkSecurityTest, FloatingIpsNeedARouteAndNeverShareAnAddress) {
  api::Network ext = External("ext", "203.0.113.0/29");  // hosts .1 (gateway) .2-.6
  api::Network web = Net("web", "10.0.0.0/24");
  api::Port vm_port = Ok(Port(web.meta.id));
  api::FloatingIp fip = Ok(Fip(ext.meta.id));
  EXPECT_EQ(fip.floating_ip_address, "203.0.113.2");
  EXPECT_EQ(fip.status, "down");
  EXPECT_EQ(s_.FindPort(fip.floating_port_id)->device_owner, "floating_ip");
  EXPECT_EQ(Fip(ext.meta.id, "203.0.113.2").status().reason(), "IP_ADDRESS_IN_USE");
  EXPECT_EQ(Fip(web.meta.id).status().code(), StatusCode::kInvalidArgument) << "not an external network";

  // No router on the port's subnet, then a router without that gateway: unreachable.
  auto no_router = Associate(fip.meta.id, vm_port.meta.id);
  EXPECT_EQ(no_router.status().reason(), "EXTERNAL_NETWORK_UNREACHABLE");
  EXPECT_NE(no_router.status().message().find("attached to no router"), std::string::npos) << no_router.status().message();
  api::Router r = Ok(NewRouter("r1"));
  ASSERT_TRUE(Attach(r.meta.id, subnet_["web"].meta.id).ok());
  auto no_gateway = Associate(fip.meta.id, vm_port.meta.id);
  EXPECT_EQ(no_gateway.status().reason(), "EXTERNAL_NETWORK_UNREACHABLE");
  EXPECT_NE(no_gateway.status().message().find("has no external gateway"), std::string::npos);

  api::PatchRouterRequest set_gateway;
  set_gateway.external_gateway = api::RouterGatewayRequest{ext.meta.id, false};
  r = Ok(W([&](State& s, Txn& t) { return PatchRouter(s, t, da_, r.meta.id, std::nullopt, set_gateway); }));
  EXPECT_EQ(r.external_gateway.ip_address, "203.0.113.3") << "the next free address after the floating IP's";
  EXPECT_FALSE(r.external_gateway.enable_snat);

  fip = Ok(Associate(fip.meta.id, vm_port.meta.id));
  EXPECT_EQ(fip.port_id, vm_port.meta.id);
  EXPECT_EQ(fip.fixed_ip_address, vm_port.fixed_ips.at(0).ip_address);
  EXPECT_EQ(fip.router_id, r.meta.id);
  EXPECT_EQ(fip.status, "active");
  EXPECT_EQ(Fip(ext.meta.id, "", vm_port.meta.id).status().reason(), "PORT_HAS_FLOATING_IP");

  // What depends on the association is refused while it lasts.
  EXPECT_EQ(W([&](State& s, Txn& t) { return RemoveRouterInterface(s, t, da_, r.meta.id, subnet_["web"].meta.id); })
                .status()
                .reason(),
            "ROUTER_IN_USE");
  set_gateway.external_gateway = api::RouterGatewayRequest{"", true};
  EXPECT_EQ(W([&](State& s, Txn& t) { return PatchRouter(s, t, da_, r.meta.id, std::nullopt, set_gateway); })
                .status()
                .reason(),
            "ROUTER_IN_USE");

  // Deleting the port disassociates; the quota holds two floating IPs.
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeletePort(s, t, da_, vm_port.meta.id); }).ok());
  EXPECT_TRUE(s_.FindFloatingIp(fip.meta.id)->port_id.empty());
  EXPECT_EQ(s_.FindFloatingIp(fip.meta.id)->status, "down");
  api::FloatingIp second = Ok(Fip(ext.meta.id, "203.0.113.6"));
  EXPECT_EQ(Fip(ext.meta.id).status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(s_.Usage(dept_.meta.id).floating_ips, 2);

  // Restart: the records rebuild the same addresses, indexes and usage.
  State restarted(NewScheduler());
  for (const auto& [key, value] : log_) ASSERT_TRUE(restarted.LoadRecord(key.first, key.second, value).ok()) << key.first;
  ASSERT_TRUE(restarted.FinishLoad(s_.revision()).ok());
  EXPECT_EQ(restarted.IpamOf(subnet_["ext"].meta.id)->used_count(), 3);
  EXPECT_EQ(restarted.IpamOf(subnet_["ext"].meta.id)->NextFree(), s_.IpamOf(subnet_["ext"].meta.id)->NextFree());
  EXPECT_EQ(restarted.Usage(dept_.meta.id).floating_ips, 2);
  EXPECT_EQ(restarted.Usage(dept_.meta.id).routers, 1);
  EXPECT_EQ(restarted.RouterOfSubnet(subnet_["web"].meta.id)->meta.id, r.meta.id);

  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteFloatingIp(s, t, da_, second.meta.id); }).ok());
  EXPECT_FALSE(s_.IpamOf(subnet_["ext"].meta.id)->IsUsed(0xcb007106u)) << "203.0.113.6 is free again";
  EXPECT_EQ(W([&](State& s, Txn& t) { return DeletePort(s, t, da_, fip.floating_port_id); }).reason(), "PORT_IN_USE");
  EXPECT_GT(s_.DepartmentObjectCount(dept_.meta.id), 0) << "routers and floating IPs keep the department";
}

}  // namespace
}  // namespace govpool::controller
