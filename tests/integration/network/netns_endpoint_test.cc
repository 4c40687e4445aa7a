// NetnsEndpoint (tests/support/netns_endpoint.h) against the local OVS + OVN (GOVPOOL_OVS_DB and
// GOVPOOL_TEST_OVN_NB, else scripts/start-ovn.sh): a logical switch made with ovn-nbctl (no
// govpool code) with two ports and OVN's DHCP; two endpoints get leases, ping each other, talk
// TCP; afterwards no port of the run is left on br-int and no namespace remains.
#include "tests/support/netns_endpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/ids.h"
#include "tests/support/test_guest.h"

namespace govpool::testing {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

struct Local {
  std::string ovs_db;
  std::string nb;
};

Local LocalOvn() {
  if (Env("GOVPOOL_OVS_DB").empty() || Env("GOVPOOL_TEST_OVN_NB").empty()) {
    EXPECT_EQ(RunProjectScript("start-ovn.sh >/dev/null"), 0);
    const std::string run = TestStateDir() + "/ovn/run";
    return {"unix:" + run + "/db.sock", "unix:" + run + "/ovnnb_db.sock"};
  }
  return {Env("GOVPOOL_OVS_DB"), Env("GOVPOOL_TEST_OVN_NB")};
}

bool HasPrefix(const std::vector<std::string>& names, const std::string& prefix) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

TEST(NetnsEndpointTest, DhcpPingTcpAndCleanup) {
  const Local ovn = LocalOvn();
  const std::string run = NewUuid().substr(0, 6);
  const std::string prefix = "gpe" + run;  // interface and namespace names of this run
  const std::string ls = "govpool-test-" + run;
  const std::string nbctl = "ovn-nbctl --timeout=10 --db=" + ShellQuote(ovn.nb) + " ";

  auto out = RunCommand(nbctl + "ls-add " + ls + " -- lsp-add " + ls + " " + prefix + "-a -- lsp-add " +
                        ls + " " + prefix + "-b -- lsp-set-addresses " + prefix +
                        "-a '02:00:00:aa:00:01 10.77.0.11' -- lsp-set-addresses " + prefix +
                        "-b '02:00:00:aa:00:02 10.77.0.12'");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  out = RunCommand(nbctl + "create dhcp_options cidr=10.77.0.0/24 options='\"server_id\"=\"10.77.0.1\" "
                           "\"server_mac\"=\"02:00:00:aa:00:fe\" \"lease_time\"=\"3600\" "
                           "\"router\"=\"10.77.0.1\" \"mtu\"=\"1400\"' external_ids:govpool-test=" + run);
  ASSERT_EQ(out.exit_code, 0) << out.output;
  std::string dhcp = out.output;
  dhcp.erase(dhcp.find_last_not_of("\n") + 1);
  for (const char* p : {"-a", "-b"}) {
    out = RunCommand(nbctl + "lsp-set-dhcpv4-options " + prefix + p + " " + dhcp);
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }
  {
    auto a = NetnsEndpoint::Create({.ovs_db = ovn.ovs_db, .name = prefix + "-a", .iface_id = prefix + "-a",
                                    .mac = "02:00:00:aa:00:01"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = NetnsEndpoint::Create({.ovs_db = ovn.ovs_db, .name = prefix + "-b", .iface_id = prefix + "-b",
                                    .mac = "02:00:00:aa:00:02"});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_TRUE(HasPrefix(ListNetns(), prefix));
    EXPECT_TRUE(HasPrefix(ListOvsPorts(ovn.ovs_db), prefix));
    // Wait until ovn-controller installed both ports' flows.
    out = RunCommand(nbctl + "--wait=hv sync");
    ASSERT_EQ(out.exit_code, 0) << out.output;

    auto ip_a = (*a)->Dhcp(std::chrono::seconds(10));
    ASSERT_TRUE(ip_a.ok()) << ip_a.status().ToString();
    EXPECT_EQ(*ip_a, "10.77.0.11");
    auto ip_b = (*b)->Dhcp(std::chrono::seconds(10));
    ASSERT_TRUE(ip_b.ok()) << ip_b.status().ToString();
    EXPECT_EQ(*ip_b, "10.77.0.12");
    EXPECT_NE((*a)->Run("ip link show " + (*a)->interface()).output.find("mtu 1400"), std::string::npos);

    EXPECT_GE((*a)->Ping("10.77.0.12", 3, std::chrono::seconds(5)), 2);
    EXPECT_GE((*b)->Ping("10.77.0.11", 3, std::chrono::seconds(5)), 2);
    EXPECT_EQ((*a)->Ping("10.77.0.99", 1, std::chrono::seconds(1)), 0);

    ASSERT_TRUE((*b)->ListenTcp(7070, "hello-govpool").ok());
    auto got = (*a)->TcpConnect("10.77.0.12", 7070, std::chrono::seconds(3));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "hello-govpool");
    EXPECT_FALSE((*a)->TcpConnect("10.77.0.12", 7071, std::chrono::seconds(2)).ok());
  }
  EXPECT_FALSE(HasPrefix(ListNetns(), prefix));
  EXPECT_FALSE(HasPrefix(ListOvsPorts(ovn.ovs_db), prefix));
  out = RunCommand("ip -o link show | grep -c " + prefix);
  EXPECT_EQ(out.output, "0\n") << "devices left";

  RunCommand(nbctl + "ls-del " + ls + " -- destroy dhcp_options " + dhcp);
}

}  // namespace
}  // namespace govpool::testing
