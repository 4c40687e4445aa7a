// The network routes end to end through the real controller (docs/networking.md, "Networks
// (controller side)"): networks, subnets and ports created with the typed client, addresses
// allocated by the controller's IPAM, the refusals' HTTP answers (SUBNET_FULL,
// IP_ADDRESS_IN_USE, HAS_DEPENDENTS), the allocations surviving a restart, concurrent
// creates never sharing an address, and NICs of VMs with the agent's side of them.
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

// NICs of VMs end to end (docs/networking.md, "NICs of VMs"): created with the VM in one write
// (or not at all), shown as `nics`, handed to the host's agent in its watch answer (which a port
// change wakes), reported by that agent, hot attached and detached, and released when the VM's
// record goes, with the port quota exact throughout.
TEST_F(NetworkApiTest, VmNicsThroughTheApiAndTheAgentsWatch) {
  const api::Department dept = CreateDepartment("nics", {.instances = 5, .vcpus = 10, .memory_mib = 8192, .networks = 1, .ports = 3});
  std::unique_ptr<api::Client> da = NewTypedClient(CreateUserToken("nics-admin", api::Role::kDeptAdmin, dept.meta.id));
  std::unique_ptr<api::Client> agent = NewTypedClient(CreateUserToken("nics-agent", api::Role::kAgent, ""));
  CreateFlavor("tiny", 1, 256, 1);
  api::RegisterHostRequest hreq;
  hreq.name = "nics-host";
  hreq.capacity = {8, 8192, 100, {}};
  // Pre-registered by the system-admin, so its token agent's host takes VMs (not pending).
  ASSERT_TRUE(client_->RegisterHost(hreq).ok());
  auto host = agent->RegisterHost(hreq);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  ASSERT_TRUE(agent->Heartbeat(host->meta.id, {}).ok());
  api::CreateNetworkRequest nreq;
  nreq.name = "web";
  nreq.department_id = dept.meta.id;
  auto net = da->CreateNetwork(nreq);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  api::CreateSubnetRequest sreq;
  sreq.name = "web-v4";
  sreq.network_id = net->meta.id;
  sreq.cidr = "10.0.0.0/24";
  ASSERT_TRUE(da->CreateSubnet(sreq).ok());
  auto ports_used = [&] {
    auto usage = client_->GetDepartmentUsage(dept.meta.id);
    EXPECT_TRUE(usage.ok());
    return usage.ok() ? usage->usage.at("ports").used : -1;
  };

  api::CreateVmRequest vreq;
  vreq.name = "app";
  vreq.department_id = dept.meta.id;
  vreq.flavor = "tiny";
  vreq.networks = {{"web", "", ""}, {net->meta.id, "10.0.0.50", ""}};
  auto vms = da->CreateVms(vreq);
  ASSERT_TRUE(vms.ok()) << vms.status().ToString();
  const api::Vm vm = vms->front();
  ASSERT_EQ(vm.nics.size(), 2u);
  EXPECT_EQ(vm.nics[0].ip_addresses, std::vector<std::string>{"10.0.0.2"});
  EXPECT_EQ(vm.nics[1].ip_addresses, std::vector<std::string>{"10.0.0.50"});
  EXPECT_EQ(ports_used(), 2);

  // Two more NICs do not fit the quota: no VM, no port.
  api::CreateVmRequest over = vreq;
  over.name = "over";
  over.networks = {{"web", "", ""}, {"web", "", ""}};
  auto refused = da->CreateVms(over);
  EXPECT_EQ(refused.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_EQ(ports_used(), 2);
  api::VmQuery vq;
  vq.department_id = dept.meta.id;
  EXPECT_EQ(da->ListVms(vq)->items.size(), 1u);

  // The agent's watch carries the VM's ports in NIC order.
  auto answer = agent->WatchHostVms(host->meta.id, 0, 0);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  ASSERT_EQ(answer->items.size(), 1u);
  ASSERT_EQ(answer->ports.size(), 2u);
  EXPECT_EQ(answer->ports[0].meta.id, vm.port_ids[0]);
  EXPECT_EQ(answer->ports[1].meta.id, vm.port_ids[1]);
  EXPECT_EQ(answer->ports[0].device_id, vm.meta.id);

  // A hot attach wakes a held watch; the answer has the third port.
  Result<api::WatchAnswer> woken = Unavailable("not answered");
  std::thread watcher([&] { woken = agent->WatchHostVms(host->meta.id, answer->revision, 30); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto added = da->AttachInterface(vm.meta.id, {"web", "", ""});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  watcher.join();
  ASSERT_TRUE(woken.ok()) << woken.status().ToString();
  ASSERT_EQ(woken->ports.size(), 3u);
  EXPECT_EQ(woken->ports[2].meta.id, added->meta.id);
  EXPECT_EQ(woken->items.at(0).generation, vm.generation + 1);
  EXPECT_EQ(da->AttachInterface(vm.meta.id, {"web", "", ""}).status().reason(), "QUOTA_EXCEEDED");

  // The agent of the VM's host reports a port plugged; a dept-admin may not.
  auto reported = agent->ReportPortStatus(added->meta.id, {"active", host->meta.id, ""});
  ASSERT_TRUE(reported.ok()) << reported.status().ToString();
  EXPECT_EQ(da->GetPort(added->meta.id)->status, "active");
  EXPECT_EQ(da->GetPort(added->meta.id)->host_id, host->meta.id);
  EXPECT_EQ(da->ReportPortStatus(added->meta.id, {"active", host->meta.id, ""}).status().code(),
            StatusCode::kPermissionDenied);

  // A NIC's port is not deleted through /v1/ports; detaching deletes one made for the VM.
  Status in_use = da->DeletePort(added->meta.id);
  EXPECT_EQ(in_use.reason(), "PORT_IN_USE");
  EXPECT_EQ(in_use.code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(da->DetachInterface(vm.meta.id, added->meta.id).ok());
  EXPECT_EQ(da->GetPort(added->meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(da->GetVm(vm.meta.id)->nics.size(), 2u);
  EXPECT_EQ(ports_used(), 2);

  // The NICs survive a restart; deleting the VM (confirmed by its agent) deletes its ports.
  Restart();
  da = NewTypedClient(CreateUserToken("nics-admin-2", api::Role::kDeptAdmin, dept.meta.id));
  auto shown = da->GetVm(vm.meta.id);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->nics.size(), 2u);
  EXPECT_EQ(shown->nics[1].port_id, vm.port_ids[1]);
  auto deleting = da->DeleteVm(vm.meta.id);
  ASSERT_TRUE(deleting.ok()) << deleting.status().ToString();
  ASSERT_TRUE(deleting->has_value());
  EXPECT_EQ(ports_used(), 2) << "the ports stay until the agent confirms the cleanup";
  ASSERT_TRUE(client_->ReportVmStatus(vm.meta.id, {api::VmState::kDeleted, "", (*deleting)->generation}).ok());
  EXPECT_EQ(ports_used(), 0);
  api::PortQuery pq;
  pq.network_id = net->meta.id;
  EXPECT_TRUE(da->ListPorts(pq)->items.empty());
  EXPECT_TRUE(da->DeleteNetwork(net->meta.id).ok());
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
