// HostNetwork over a fake VSwitch: the chassis is configured every pass (written only when it
// differs), ovn-controller's state is observed, ports are reported active once ovn-installed and
// down otherwise, only on change, and a failed report is retried.
#include "agent/host_network.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/agent/fake_vswitch.h"

namespace govpool::agent {
namespace {
using network::PortBinding;

class HostNetworkTest : public ::testing::Test {
 protected:
  HostNetworkTest()
      : net_(vswitch_,
             [this](const PortStatusUpdate& u) {
               sent_.push_back(u);
               return fail_reports_ ? Unavailable("controller away") : OkStatus();
             },
             HostNetworkOptions{.host_id = "host-1",
                                .chassis = {.system_id = "chassis-1",
                                            .hostname = "node1",
                                            .ovn_remote = "tcp:10.0.0.1:6642",
                                            .encap_ip = "10.0.0.11",
                                            .datapath_type = "netdev"}}) {}

  FakeVSwitch vswitch_;
  std::vector<PortStatusUpdate> sent_;
  bool fail_reports_ = false;
  HostNetwork net_;
};

TEST_F(HostNetworkTest, ConfiguresTheChassisEveryPassAndWritesOnlyChanges) {
  auto first = net_.Reconcile({});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->chassis_changed);
  EXPECT_EQ(vswitch_.configured.system_id, "chassis-1");
  EXPECT_EQ(vswitch_.configured.ovn_remote, "tcp:10.0.0.1:6642");
  EXPECT_EQ(vswitch_.configured.datapath_type, "netdev");
  auto second = net_.Reconcile({});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->chassis_changed);
  EXPECT_EQ(vswitch_.configure_calls, 2);
  // Someone reset the database: the next pass repairs it.
  vswitch_.configured = {};
  vswitch_.bridge = false;
  auto third = net_.Reconcile({});
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->chassis_changed);
  EXPECT_TRUE(vswitch_.bridge);
}

TEST_F(HostNetworkTest, ObservesOvnController) {
  auto pass = net_.Reconcile({});
  ASSERT_TRUE(pass.ok());
  EXPECT_TRUE(pass->ovn_controller_connected);
  EXPECT_EQ(net_.problem(), "");

  vswitch_.controller_connection = "not connected";
  pass = net_.Reconcile({});
  ASSERT_TRUE(pass.ok());  // not an error of the pass
  EXPECT_FALSE(pass->ovn_controller_connected);
  EXPECT_NE(net_.problem().find("not connected to the Southbound"), std::string::npos) << net_.problem();

  vswitch_.controller_running = false;
  pass = net_.Reconcile({});
  ASSERT_TRUE(pass.ok());
  EXPECT_FALSE(pass->ovn_controller_connected);
  EXPECT_NE(net_.problem().find("ovn-controller"), std::string::npos) << net_.problem();

  vswitch_.controller_running = true;
  vswitch_.controller_connection = "connected";
  pass = net_.Reconcile({});
  ASSERT_TRUE(pass.ok());
  EXPECT_TRUE(pass->ovn_controller_connected);
  EXPECT_EQ(net_.problem(), "");
}

TEST_F(HostNetworkTest, ReportsBindingsOnlyOnChange) {
  const std::vector<DesiredPort> ports{{.id = "p1", .status = "down", .host_id = ""},
                                       {.id = "p2", .status = "down", .host_id = ""}};
  // No interfaces yet: both down, reported once (the controller shows no host yet).
  auto pass = net_.Reconcile(ports);
  ASSERT_TRUE(pass.ok());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].port_id, "p1");
  EXPECT_EQ(sent_[0].status, "down");
  EXPECT_EQ(sent_[0].host_id, "host-1");
  EXPECT_NE(sent_[0].reason.find("no interface"), std::string::npos);
  pass = net_.Reconcile(ports);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->reports, 0);
  EXPECT_EQ(sent_.size(), 2u);

  // p1's interface appears (down: flows not installed yet; the reason changes), then installed.
  vswitch_.bindings = {{.iface_id = "p1", .interface = "tap1", .ofport = 3, .ovn_installed = false}};
  pass = net_.Reconcile(ports);
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[2].status, "down");
  EXPECT_NE(sent_[2].reason.find("tap1"), std::string::npos);
  vswitch_.bindings[0].ovn_installed = true;
  pass = net_.Reconcile(ports);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->active_ports, 1);
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_EQ(sent_[3], (PortStatusUpdate{.port_id = "p1", .status = "active", .host_id = "host-1", .reason = ""}));

  // The controller now shows what was reported: nothing more is sent.
  const std::vector<DesiredPort> shown{{.id = "p1", .status = "active", .host_id = "host-1"},
                                       {.id = "p2", .status = "down", .host_id = "host-1"}};
  pass = net_.Reconcile(shown);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->reports, 0);
  EXPECT_EQ(sent_.size(), 4u);

  // The interface goes (the guest stopped): down again.
  vswitch_.bindings.clear();
  pass = net_.Reconcile(shown);
  ASSERT_EQ(sent_.size(), 5u);
  EXPECT_EQ(sent_[4].port_id, "p1");
  EXPECT_EQ(sent_[4].status, "down");
}

TEST_F(HostNetworkTest, AFailedReportIsRetried) {
  vswitch_.bindings = {{.iface_id = "p1", .interface = "tap1", .ofport = 3, .ovn_installed = true}};
  const std::vector<DesiredPort> ports{{.id = "p1", .status = "down", .host_id = ""}};
  fail_reports_ = true;
  auto pass = net_.Reconcile(ports);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->reports, 0);
  EXPECT_EQ(sent_.size(), 1u);
  fail_reports_ = false;
  pass = net_.Reconcile(ports);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->reports, 1);
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].status, "active");
}

TEST_F(HostNetworkTest, UnreachableDatabaseReportsNothing) {
  vswitch_.database_up = false;
  auto pass = net_.Reconcile({{.id = "p1", .status = "active", .host_id = "host-1"}});
  EXPECT_EQ(pass.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(sent_.empty());
  EXPECT_NE(net_.problem().find("cannot configure the chassis"), std::string::npos);
}

TEST_F(HostNetworkTest, AnInstalledInterfaceWinsOverAStaleOne) {
  vswitch_.bindings = {{.iface_id = "p1", .interface = "old", .ofport = -1, .ovn_installed = false},
                       {.iface_id = "p1", .interface = "tap1", .ofport = 3, .ovn_installed = true}};
  auto pass = net_.Reconcile({{.id = "p1", .status = "down", .host_id = ""}});
  ASSERT_TRUE(pass.ok());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].status, "active");
}

}  // namespace
}  // namespace govpool::agent
