// northbound_bench: how long NorthboundReconciler takes against a real OVN Northbound database
// for `--networks` networks (one DHCP subnet each) with `--ports` ports each. Prints JSON. Not a
// test. All rows carry a govpool-owner of this run (OvnNorthbound::Options::owner) and are
// deleted at the end. Passes, each timed (wall clock: Read + Plan + Apply):
//   create      from nothing (one transaction with every row)
//   converged   nothing to do, reading from the monitor cache, and by select
//   drift       one port's address changed in the desired state
//   delete_all  the desired state emptied
// With --security-groups, every network also has a security group (egress allowed, ingress
// from the group and to TCP 22 from anywhere) holding all its ports: per network two more
// Port_Groups (the group and the network's drop group) and six ACLs.
//
// Usage: northbound_bench [--nb=REMOTE] [--networks=1000] [--ports=10] [--security-groups]
//   --nb defaults to $GOVPOOL_TEST_OVN_NB, then unix:/var/tmp/govpool/ovn/run/ovnnb_db.sock.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "common/ids.h"
#include "network/northbound.h"
#include "network/northbound_reconciler.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovsdb/ovsdb_client.h"

namespace govpool::network {
namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int Run(int argc, char** argv) {
  std::string nb = std::getenv("GOVPOOL_TEST_OVN_NB") != nullptr ? std::getenv("GOVPOOL_TEST_OVN_NB")
                                                                 : "unix:/var/tmp/govpool/ovn/run/ovnnb_db.sock";
  int networks = 1000, ports = 10;
  bool security_groups = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--nb=", 5) == 0) nb = argv[i] + 5;
    else if (std::strncmp(argv[i], "--networks=", 11) == 0) networks = std::atoi(argv[i] + 11);
    else if (std::strncmp(argv[i], "--ports=", 8) == 0) ports = std::atoi(argv[i] + 8);
    else if (std::strcmp(argv[i], "--security-groups") == 0) security_groups = true;
    else {
      std::fprintf(stderr, "usage: northbound_bench [--nb=REMOTE] [--networks=N] [--ports=N] [--security-groups]\n");
      return 2;
    }
  }
  auto client = ovsdb::Client::Connect(nb, ovsdb::Options{.connect_timeout_ms = 5000, .call_timeout_ms = 300000});
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  const std::string owner = "bench-" + NewUuid().substr(0, 8);
  OvnNorthbound monitored(**client, {.db = "OVN_Northbound", .owner = owner});
  if (Status s = monitored.StartMonitor(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  OvnNorthbound selecting(**client, {.db = "OVN_Northbound", .owner = owner});
  NorthboundReconciler reconciler(monitored), select_reconciler(selecting);

  DesiredNetworks desired;
  for (int n = 0; n < networks; ++n) {
    const std::string id = owner + "-n" + std::to_string(n);
    desired.networks.push_back(LogicalNetwork{
        .id = id,
        .name = "n" + std::to_string(n),
        .mtu = 1442,
        .subnets = {LogicalSubnet{.id = id + "-s", .cidr = "10.0.0.0/16", .gateway_ip = "10.0.0.1",
                                  .dns_servers = {"10.0.0.2"}, .enable_dhcp = true}},
        .physical_network = ""});
    if (security_groups) {
      auto rule = [](const char* direction, const char* protocol, std::optional<int> port, const std::string& group) {
        return SecurityGroupRule{.id = "", .direction = direction, .ethertype = "IPv4", .protocol = protocol,
                                 .port_min = port, .port_max = port, .remote_cidr = "", .remote_group_id = group};
      };
      desired.security_groups.push_back(LogicalSecurityGroup{
          .id = id + "-sg",
          .name = "default",
          .rules = {rule("egress", "any", {}, ""), rule("ingress", "any", {}, id + "-sg"), rule("ingress", "tcp", 22, "")}});
    }
    for (int p = 0; p < ports; ++p) {
      char mac[18];
      std::snprintf(mac, sizeof mac, "02:%02x:%02x:%02x:%02x:%02x", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff,
                    (p >> 8) & 0xff, p & 0xff);
      desired.ports.push_back(LogicalPort{.id = id + "-p" + std::to_string(p), .network_id = id, .mac = mac,
                                          .ips = {"10.0." + std::to_string(1 + p / 250) + "." + std::to_string(2 + p % 250)},
                                          .enabled = true,
                                          .security_group_ids = {}});
      if (security_groups) desired.ports.back().security_group_ids = {id + "-sg"};
    }
  }
  bool ok = true;
  auto pass = [&](const char* name, NorthboundReconciler& r, const DesiredNetworks& d) {
    const auto t0 = Clock::now();
    auto changes = r.Reconcile(d);
    const double ms = Ms(Clock::now() - t0);
    if (!changes.ok()) {
      std::fprintf(stderr, "%s: %s\n", name, changes.status().ToString().c_str());
      ok = false;
      return std::string("{\"pass\":\"") + name + "\",\"error\":true}";
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "{\"pass\":\"%s\",\"ms\":%.1f,\"changes\":%d}", name, ms, changes->total());
    return std::string(buf);
  };
  std::string out = "{\"networks\":" + std::to_string(networks) + ",\"ports\":" + std::to_string(networks * ports) +
                    ",\"security_groups\":" + (security_groups ? "true" : "false") + ",\"passes\":[";
  out += pass("create", reconciler, desired);
  out += "," + pass("converged_monitor", reconciler, desired);
  out += "," + pass("converged_select", select_reconciler, desired);
  desired.ports[0].ips = {"10.0.9.9"};
  out += "," + pass("drift_one_port", reconciler, desired);
  out += "," + pass("delete_all", reconciler, DesiredNetworks{});
  out += "]}";
  std::printf("%s\n", out.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace govpool::network

int main(int argc, char** argv) { return govpool::network::Run(argc, argv); }
