// The network routes end to end through the real controller (docs/networking.md, "Networks
// (controller side)"): networks, subnets and ports created with the typed client, addresses
// allocated by the controller's IPAM, the refusals' HTTP answers (SUBNET_FULL,
// IP_ADDRESS_IN_USE, HAS_DEPENDENTS), the allocations surviving a restart, and concurrent
// creates never sharing an address.
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

class NetworkApiTest : public ControllerTest {};

TEST_F(NetworkApiTest, NetworkSubnetAndPortsThroughTheTypedClient) {
  const api::Department dept = CreateDepartment("net", {.networks = 2, .ports = 10});
  std::unique_ptr<api::Client> da = NewTypedClient(CreateUserToken("net-admin", api::Role::kDeptAdmin, dept.meta.id));

  api::CreateNetworkRequest nreq;
  nreq.name = "web";
  nreq.department_id = dept.meta.id;
  auto net = da->CreateNetwork(nreq);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  EXPECT_EQ(net->mtu, 1442);
  EXPECT_EQ(net->status, "active");

  api::CreateSubnetRequest sreq;
  sreq.name = "web-v4";
  sreq.network_id = net->meta.id;
  sreq.cidr = "10.0.0.0/29";
  sreq.dns_servers = {"10.0.0.1"};
  auto subnet = da->CreateSubnet(sreq);
  ASSERT_TRUE(subnet.ok()) << subnet.status().ToString();
  EXPECT_EQ(subnet->gateway_ip, "10.0.0.1");
  ASSERT_EQ(subnet->allocation_pools.size(), 1u);
  EXPECT_EQ(subnet->allocation_pools[0].start, "10.0.0.2");
  EXPECT_EQ(subnet->allocation_pools[0].end, "10.0.0.6");

  api::CreatePortRequest preq;
  preq.network_id = net->meta.id;
  auto first = da->CreatePort(preq);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->fixed_ips.size(), 1u);
  EXPECT_EQ(first->fixed_ips[0].ip_address, "10.0.0.2");
  EXPECT_EQ(first->fixed_ips[0].subnet_id, subnet->meta.id);
  EXPECT_EQ(first->mac_address.size(), 17u);
  EXPECT_EQ(first->department_id, dept.meta.id);

  api::CreatePortRequest fixed = preq;
  fixed.fixed_ips = {{subnet->meta.id, "10.0.0.5"}};
  auto second = da->CreatePort(fixed);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->fixed_ips.at(0).ip_address, "10.0.0.5");
  auto taken = da->CreatePort(fixed);
  EXPECT_EQ(taken.status().reason(), "IP_ADDRESS_IN_USE");
  fixed.fixed_ips = {{subnet->meta.id, "10.0.0.9"}};
  EXPECT_EQ(da->CreatePort(fixed).status().code(), StatusCode::kInvalidArgument);

  // .3, .4 and .6 are left.
  for (const char* want : {"10.0.0.3", "10.0.0.4", "10.0.0.6"}) {
    auto p = da->CreatePort(preq);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->fixed_ips.at(0).ip_address, want);
  }
  auto full = da->CreatePort(preq);
  EXPECT_EQ(full.status().reason(), "SUBNET_FULL");
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);

  auto shown = da->GetNetwork(net->meta.id);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  EXPECT_EQ(shown->ports, 5);
  EXPECT_EQ(shown->subnets, 1);
  api::PortQuery pq;
  pq.network_id = net->meta.id;
  auto ports = da->ListPorts(pq);
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  EXPECT_EQ(ports->items.size(), 5u);
  auto usage = client_->GetDepartmentUsage(dept.meta.id);
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_EQ(usage->usage.at("ports").used, 5);
  EXPECT_EQ(usage->usage.at("networks").used, 1);
  EXPECT_TRUE(usage->usage.at("networks").enforced);

  Status refused = da->DeleteNetwork(net->meta.id);
  EXPECT_EQ(refused.reason(), "HAS_DEPENDENTS");
  EXPECT_EQ(da->DeleteSubnet(subnet->meta.id).reason(), "HAS_DEPENDENTS");

  // After a restart the allocations are rebuilt from the records: the freed address is the
  // next one handed out, nothing else is.
  ASSERT_TRUE(da->DeletePort(first->meta.id).ok());
  Restart();
  da = NewTypedClient(CreateUserToken("net-admin-2", api::Role::kDeptAdmin, dept.meta.id));
  auto again = da->CreatePort(preq);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->fixed_ips.at(0).ip_address, "10.0.0.2");
  EXPECT_EQ(da->CreatePort(preq).status().reason(), "SUBNET_FULL");

  auto all = da->ListPorts(pq);
  ASSERT_TRUE(all.ok());
  for (const api::Port& p : all->items) ASSERT_TRUE(da->DeletePort(p.meta.id).ok()) << p.meta.id;
  EXPECT_TRUE(da->DeleteNetwork(net->meta.id).ok());
  EXPECT_EQ(da->GetSubnet(subnet->meta.id).status().code(), StatusCode::kNotFound);
}

// Ports created from many clients at once: each gets its own address and MAC (the controller
// allocates inside its serialized write), and the subnet ends exactly full.
TEST_F(NetworkApiTest, ConcurrentPortCreatesNeverShareAnAddress) {
  const api::Department dept = CreateDepartment("race", {.networks = 1, .ports = 100});
  const std::string token = CreateUserToken("race-admin", api::Role::kDeptAdmin, dept.meta.id);
  std::unique_ptr<api::Client> da = NewTypedClient(token);
  api::CreateNetworkRequest nreq;
  nreq.name = "busy";
  nreq.department_id = dept.meta.id;
  auto net = da->CreateNetwork(nreq);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  api::CreateSubnetRequest sreq;
  sreq.name = "busy-v4";
  sreq.network_id = net->meta.id;
  sreq.cidr = "192.168.7.0/27";  // .2-.30: 29 addresses
  ASSERT_TRUE(da->CreateSubnet(sreq).ok());

  constexpr int kThreads = 8, kPerThread = 5;  // 40 creates for 29 addresses
  std::mutex mu;
  std::vector<std::string> addresses, macs;
  int full = 0, other = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      std::unique_ptr<api::Client> c = NewTypedClient(token);
      api::CreatePortRequest preq;
      preq.network_id = net->meta.id;
      for (int j = 0; j < kPerThread; ++j) {
        auto p = c->CreatePort(preq);
        std::lock_guard lock(mu);
        if (p.ok() && p->fixed_ips.size() == 1) {
          addresses.push_back(p->fixed_ips[0].ip_address);
          macs.push_back(p->mac_address);
        } else if (p.status().reason() == "SUBNET_FULL") {
          ++full;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_EQ(addresses.size(), 29u);
  EXPECT_EQ(full, kThreads * kPerThread - 29);
  EXPECT_EQ(std::set<std::string>(addresses.begin(), addresses.end()).size(), addresses.size());
  EXPECT_EQ(std::set<std::string>(macs.begin(), macs.end()).size(), macs.size());
}

}  // namespace
}  // namespace govpool::testing
