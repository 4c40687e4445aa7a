// NetnsEndpoint: a stand-in for a guest in packet tests. A network namespace attached to the
// integration bridge the way the agent attaches a guest's NIC: an OVS internal port on the
// bridge with external_ids:iface-id=<logical port>, so ovn-controller binds it to that OVN
// logical switch port; the port's device is moved into a new namespace, given the port's MAC
// and MTU, and brought up. Commands run inside the namespace (`ip netns exec`); busybox
// provides the guest's tools (udhcpc, ping, nc).
//
// With the userspace datapath (datapath_type=netdev) the internal port is a tap device that
// ovs-vswitchd keeps open; moved into the namespace it keeps forwarding (ovs-vswitchd logs
// "No such device" for it and OVSDB shows link_state=down; harmless). Internal ports need no
// checksum-offload tweak, unlike veth ports (docs/networking.md).
//
// The destructor removes everything Create made: the OVS port (which closes the tap), the
// namespace, background listeners and the temporary directory. Needs root. Not thread-safe.
//
//   auto ep = NetnsEndpoint::Create({.ovs_db = env, .name = "gpt1a2b3c4d-0",
//                                    .iface_id = port_id, .mac = "02:..."});
//   auto ip = (*ep)->Dhcp(std::chrono::seconds(5));
//   EXPECT_GT((*ep)->Ping(peer_ip, 3, 5), 0);
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::network {
class LocalOvs;
}

namespace govpool::testing {

class ChildProcess;
class TempDir;

struct NetnsEndpointOptions {
  std::string ovs_db;             // the local Open_vSwitch database, e.g. "unix:/.../db.sock"
  std::string bridge = "br-int";  // the integration bridge
  // The OVS port and interface name, and the namespace's name: at most 15 characters (a Linux
  // interface name), letters, digits, '-' and '_'. Tests give each run a prefix of their own so
  // that leftovers can be found (ListOvsPorts, ListNetns).
  std::string name;
  std::string iface_id;  // external_ids:iface-id, the OVN logical switch port's name
  std::string mac;       // the port's MAC address ("02:..."), set on the device in the namespace
  int mtu = 1400;        // set on the device (the userspace datapath cannot set it itself)
  // The namespace ovs-vswitchd runs in, where it creates the device: "" for the current one; the
  // chassis' namespace for a chassis of scripts/start-ovn-chassis.sh (then ovs_db is its database).
  std::string device_netns = "";
};

// The exit code and the combined stdout and stderr of a command.
struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

class NetnsEndpoint {
 public:
  // Creates the port, the namespace, moves the device and configures it. InvalidArgument for a
  // bad name; Internal (with the failing command's output) when a step fails, after removing
  // what the earlier steps made.
  static Result<std::unique_ptr<NetnsEndpoint>> Create(NetnsEndpointOptions options);

  ~NetnsEndpoint();
  NetnsEndpoint(const NetnsEndpoint&) = delete;
  NetnsEndpoint& operator=(const NetnsEndpoint&) = delete;

  const std::string& name() const { return options_.name; }
  const std::string& netns() const { return options_.name; }
  const std::string& interface() const { return options_.name; }
  const std::string& iface_id() const { return options_.iface_id; }
  const std::string& mac() const { return options_.mac; }

  // Runs `command` with /bin/sh inside the namespace.
  CommandOutput Run(const std::string& command) const;

  // Asks for a lease (busybox udhcpc: one DISCOVER a second until `timeout`); a hook script
  // sets the address, the default route and the MTU the server sent. The IPv4 address the
  // interface then has. DeadlineExceeded when no lease came.
  Result<std::string> Dhcp(std::chrono::seconds timeout);
  // Sets a static address ("10.0.0.5/24") instead (replacing any other IPv4 address).
  Status SetAddress(const std::string& cidr);
  // The interface's IPv4 address, "" when it has none.
  std::string Address() const;

  // Sends `count` echo requests to `ip` (five a second, busybox ping) and waits at most
  // `timeout` in all; how many replies came.
  int Ping(const std::string& ip, int count, std::chrono::seconds timeout) const;

  // A TCP server in the namespace on `port` that sends `banner` (a word) to every client and
  // closes; it stops with the endpoint or StopListening.
  Status ListenTcp(int port, const std::string& banner);
  void StopListening();
  // Connects to ip:port (waiting at most `timeout` for the connection) and returns what the
  // server sent until it closed. Unavailable when the connection failed.
  Result<std::string> TcpConnect(const std::string& ip, int port, std::chrono::seconds timeout) const;

 private:
  explicit NetnsEndpoint(NetnsEndpointOptions options);
  void Cleanup();

  NetnsEndpointOptions options_;
  std::unique_ptr<network::LocalOvs> ovs_;  // adds and deletes the port
  std::unique_ptr<TempDir> dir_;  // the udhcpc hook, listener logs
  std::vector<std::unique_ptr<ChildProcess>> listeners_;
  bool port_added_ = false;
  bool netns_added_ = false;
};

// Runs `command` with /bin/sh in the current namespace.
CommandOutput RunCommand(const std::string& command);
// `value` quoted for /bin/sh.
std::string ShellQuote(const std::string& value);

// The names of the network namespaces on this machine (`ip netns list`).
std::vector<std::string> ListNetns();
// The names of the ports on `bridge` in the Open_vSwitch database `ovs_db` (the bridge's own port
// included); empty when it cannot be read.
std::vector<std::string> ListOvsPorts(const std::string& ovs_db, const std::string& bridge = "br-int");

}  // namespace govpool::testing
