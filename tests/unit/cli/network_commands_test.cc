// govpoolctl's network, subnet and port commands against a scripted controller: names resolved
// to ids, request bodies built from the options (pools, the asked address), and the tables
// showing the addresses and MACs the controller chose; a VM's NICs (vm create --network, vm
// interface add|remove).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/cli/fake_controller.h"

namespace govpool::cli {
namespace {

using namespace testing;  // NOLINT: the fake controller and CtlTest

constexpr const char* kDeptId = "11111111-1111-4111-8111-111111111111";
constexpr const char* kNetId = "77777777-7777-4777-8777-777777777771";
constexpr const char* kSubnetId = "77777777-7777-4777-8777-777777777772";
constexpr const char* kPortId = "77777777-7777-4777-8777-777777777773";

api::Department Finance() {
  api::Department d;
  d.meta = MetaOf(kDeptId);
  d.name = "finance";
  return d;
}

api::Network Web() {
  api::Network n;
  n.meta = MetaOf(kNetId);
  n.name = "web";
  n.department_id = kDeptId;
  n.subnets = 1;
  n.ports = 1;
  return n;
}

api::Subnet WebV4() {
  api::Subnet s;
  s.meta = MetaOf(kSubnetId);
  s.name = "web-v4";
  s.network_id = kNetId;
  s.cidr = "10.0.0.0/24";
  s.gateway_ip = "10.0.0.1";
  return s;
}

class NetworkCommandsTest : public CtlTest {};

TEST_F(NetworkCommandsTest, SubnetCreateResolvesTheNetworkAndSendsThePools) {
  server_.OnJson("GET /v1/networks", Page(std::vector<api::Network>{Web()}));
  api::CreateSubnetRequest sent;
  server_.On("POST /v1/subnets", [&sent](const Request& r) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateSubnetRequest>(r.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    sent = *req;
    api::Subnet s = WebV4();
    s.allocation_pools = req->allocation_pools;
    return api::JsonResponse(201, api::Encode(s));
  });
  CtlRun r = Ctl({"subnet", "create", "web-v4", "--network", "web", "--cidr", "10.0.0.0/24", "--pool",
                  "10.0.0.10-10.0.0.20,10.0.0.30-10.0.0.40", "--dns", "9.9.9.9", "--no-dhcp"});
  EXPECT_OK(r);
  EXPECT_EQ(sent.network_id, kNetId);
  ASSERT_EQ(sent.allocation_pools.size(), 2u);
  EXPECT_EQ(sent.allocation_pools[1].start, "10.0.0.30");
  EXPECT_EQ(sent.allocation_pools[1].end, "10.0.0.40");
  EXPECT_EQ(sent.dns_servers, std::vector<std::string>{"9.9.9.9"});
  EXPECT_FALSE(sent.enable_dhcp);
  EXPECT_EQ(Field(r.out, "id"), kSubnetId);
}

TEST_F(NetworkCommandsTest, PortCreateAsksForTheAddressAndListShowsIt) {
  server_.OnJson("GET /v1/networks", Page(std::vector<api::Network>{Web()}));
  server_.OnJson("GET /v1/subnets", Page(std::vector<api::Subnet>{WebV4()}));
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
  api::Port port;
  port.meta = MetaOf(kPortId);
  port.name = "db";
  port.network_id = kNetId;
  port.department_id = kDeptId;
  port.mac_address = "fa:16:3e:00:00:01";
  port.fixed_ips = {{kSubnetId, "10.0.0.7"}};
  api::CreatePortRequest sent;
  server_.On("POST /v1/ports", [&sent, port](const Request& r) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreatePortRequest>(r.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    sent = *req;
    return api::JsonResponse(201, api::Encode(port));
  });
  CtlRun r = Ctl({"port", "create", "--network", "web", "--name", "db", "--subnet", "web-v4", "--ip", "10.0.0.7"});
  EXPECT_OK(r);
  EXPECT_EQ(sent.network_id, kNetId);
  ASSERT_EQ(sent.fixed_ips.size(), 1u);
  EXPECT_EQ(sent.fixed_ips[0].subnet_id, kSubnetId);
  EXPECT_EQ(sent.fixed_ips[0].ip_address, "10.0.0.7");

  server_.OnJson("GET /v1/ports", Page(std::vector<api::Port>{port}));
  CtlRun list = Ctl({"port", "list"});
  EXPECT_OK(list);
  EXPECT_NE(list.out.find("web"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("fa:16:3e:00:00:01"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("10.0.0.7"), std::string::npos) << list.out;

  CtlRun networks = Ctl({"network", "list"});
  EXPECT_OK(networks);
  EXPECT_NE(networks.out.find("finance"), std::string::npos) << networks.out;
}

TEST_F(NetworkCommandsTest, VmCreateSendsItsNicsInOrderAndInterfacesAttachAndDetach) {
  constexpr const char* kVmId = "88888888-8888-4888-8888-888888888881";
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{Finance()}));
  api::CreateVmRequest sent;
  server_.On("POST /v1/vms", [&sent, kVmId](const Request& r) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::CreateVmRequest>(r.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    sent = *req;
    api::Vm vm;
    vm.meta = MetaOf(kVmId);
    vm.name = req->name;
    vm.department_id = kDeptId;
    return api::JsonResponse(201, api::Encode(vm));
  });
  CtlRun created = Ctl({"vm", "create", "app", "--department", "finance", "--flavor", "small", "--network", "web",
                        "--network", "db:10.1.0.5"});
  EXPECT_OK(created);
  ASSERT_EQ(sent.networks.size(), 2u);
  EXPECT_EQ(sent.networks[0].network, "web");
  EXPECT_TRUE(sent.networks[0].fixed_ip.empty());
  EXPECT_EQ(sent.networks[1].network, "db");
  EXPECT_EQ(sent.networks[1].fixed_ip, "10.1.0.5");
  EXPECT_NE(Ctl({"vm", "create", "app", "--department", "finance", "--flavor", "small", "--network", "web:"}).exit_code, 0);

  api::NicRequest attached;
  server_.On(std::string("POST /v1/vms/") + kVmId + "/interfaces", [&attached](const Request& request) -> Result<api::HttpResponse> {
    auto req = api::Parse<api::NicRequest>(request.body);
    if (!req.ok()) return api::ErrorResponse(req.status());
    attached = *req;
    api::Port p;
    p.meta = MetaOf(kPortId);
    p.network_id = kNetId;
    p.department_id = kDeptId;
    p.mac_address = "fa:16:3e:00:00:02";
    return api::JsonResponse(201, api::Encode(p));
  });
  EXPECT_OK(Ctl({"vm", "interface", "add", kVmId, "--port", kPortId}));
  EXPECT_EQ(attached.port, kPortId);
  EXPECT_TRUE(attached.network.empty());
  EXPECT_NE(Ctl({"vm", "interface", "add", kVmId}).exit_code, 0) << "needs --network or --port";
  server_.On(std::string("DELETE /v1/vms/") + kVmId + "/interfaces/" + kPortId,
             [](const Request&) -> Result<api::HttpResponse> { return api::JsonResponse(204, ""); });
  CtlRun removed = Ctl({"vm", "interface", "remove", kVmId, "--port", kPortId});
  EXPECT_OK(removed);
  EXPECT_NE(removed.out.find("detached port"), std::string::npos) << removed.out;
}

}  // namespace
}  // namespace govpool::cli
