// LocalOvs: the agent's side of the host's Open vSwitch, over an ovsdb::Client connected to the
// local Open_vSwitch database. The only code that speaks OVSDB to that database.
//
//   ConfigureChassis  what ovn-controller reads to become this chassis: the Open_vSwitch row's
//                     external_ids system-id, hostname, ovn-remote, ovn-encap-type,
//                     ovn-encap-ip, ovn-bridge, ovn-bridge-datapath-type (only these keys are
//                     merged; others stay), and the integration bridge (created when missing,
//                     fail_mode=secure, datapath_type when asked). One transaction, none at all
//                     when everything already holds.
//   ReadBindings      every Interface with external_ids:iface-id (the OVN logical port it
//                     stands for): its name, ofport and whether ovn-controller has installed
//                     its flows (external_ids:ovn-installed="true").
//   AddInternalPort / DeletePort   an internal port on a bridge (test endpoints, tools).
//
// OvnControllerStatus asks the local ovn-controller, over its unixctl JSON-RPC socket
// (<rundir>/ovn-controller.<pid>.ctl, the pid in <rundir>/ovn-controller.pid), whether it is
// connected to the Southbound database (`connection-status`).
//
// Boost.JSON stays in local_ovs.cc; this header has plain types only (the Client is forward
// declared; LocalOvs::Connect makes its own). Thread-safety: the methods may be called
// concurrently (the Client is).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::ovsdb {
class Client;
}

namespace govpool::network {

// What makes this host an OVN chassis. Empty optional fields are not written.
struct ChassisConfig {
  std::string system_id = "";         // required: the chassis name in the Southbound database
  std::string hostname = "";          // empty: not written (ovn-controller then uses the host name)
  std::string ovn_remote = "";        // required: the Southbound database, e.g. "tcp:10.0.0.1:6642"
  std::string encap_type = "geneve";
  std::string encap_ip = "";          // required: this host's tunnel endpoint address
  std::string bridge = "br-int";  // the integration bridge (external_ids:ovn-bridge)
  // "netdev" for the userspace datapath (no kernel module); empty: the bridge's datapath type is
  // left as it is (new bridges get OVS's default, the kernel datapath) and
  // ovn-bridge-datapath-type is not written.
  std::string datapath_type = "";
  bool operator==(const ChassisConfig&) const = default;
};

// The external_ids keys ConfigureChassis owns.
std::vector<std::string> ChassisKeys();

// One Interface that stands for an OVN logical port.
struct PortBinding {
  std::string iface_id;    // external_ids:iface-id, the logical switch port's name
  std::string interface;   // the Interface's name (the device)
  std::int64_t ofport = -1;  // -1: none yet, or OVS could not attach the device
  bool ovn_installed = false;  // external_ids:ovn-installed == "true"
  bool operator==(const PortBinding&) const = default;
};

// What ConfigureChassis changed (both false: nothing was written).
struct ChassisChange {
  bool external_ids = false;
  bool bridge_created = false;
  bool bridge_updated = false;
  bool changed() const { return external_ids || bridge_created || bridge_updated; }
};

class LocalOvs {
 public:
  struct Options {
    std::string db = "Open_vSwitch";
  };
  // Over a borrowed Client (it must outlive the LocalOvs).
  LocalOvs(ovsdb::Client& client, Options options);
  explicit LocalOvs(ovsdb::Client& client) : LocalOvs(client, Options{}) {}
  // Over its own connection to `remote` ("unix:/var/run/openvswitch/db.sock"): the callers need
  // no OVSDB (nor Boost.JSON) header. ovsdb::Client::Connect's errors.
  static Result<std::unique_ptr<LocalOvs>> Connect(const std::string& remote, Options options);
  static Result<std::unique_ptr<LocalOvs>> Connect(const std::string& remote) { return Connect(remote, Options{}); }
  ~LocalOvs();
  LocalOvs(const LocalOvs&) = delete;
  LocalOvs& operator=(const LocalOvs&) = delete;

  // False once the connection closed or failed: every call then fails with Unavailable and the
  // owner connects again.
  bool connected() const;

  // Reads the Open_vSwitch row and the bridge, then writes what differs in one transaction
  // (our keys are replaced by map mutations, so keys written by others meanwhile stay; the
  // bridge's creation is guarded by a `wait` for its absence). InvalidArgument when a required
  // field is empty; FailedPrecondition when the database has no Open_vSwitch row (never
  // initialised) or someone else created the bridge meanwhile (call again); the Client's errors.
  Result<ChassisChange> ConfigureChassis(const ChassisConfig& config);

  // Every Interface carrying external_ids:iface-id, sorted by interface name. The Client's
  // errors; Internal for rows it cannot read.
  Result<std::vector<PortBinding>> ReadBindings();

  // The names of the ports on `bridge` (NotFound when there is no such bridge).
  Result<std::vector<std::string>> ListPorts(const std::string& bridge);

  // Adds port `name` with one internal Interface `name` to `bridge`, with the given
  // external_ids (e.g. {"iface-id": "<logical port>"}) on the Interface, in one transaction.
  // FailedPrecondition when the bridge does not exist; AlreadyExists when the name is taken.
  Status AddInternalPort(const std::string& bridge, const std::string& name,
                         const std::map<std::string, std::string>& interface_external_ids);
  // Removes port `name` (and its interfaces) from `bridge`; OK when it is not there.
  Status DeletePort(const std::string& bridge, const std::string& name);

 private:
  LocalOvs(std::unique_ptr<ovsdb::Client> client, Options options);

  std::unique_ptr<ovsdb::Client> owned_client_;  // set by Connect
  ovsdb::Client& client_;
  Options options_;
};

// ovn-controller's own view, from its unixctl socket.
struct OvnControllerStatus {
  int pid = 0;
  std::string connection;  // `connection-status`: "connected" or "not connected"
  bool connected() const { return connection == "connected"; }
};

// Reads <rundir>/ovn-controller.pid, connects to <rundir>/ovn-controller.<pid>.ctl and asks
// `connection-status`. Unavailable when the pidfile is missing or the socket does not answer
// (ovn-controller not running); DeadlineExceeded after `timeout_ms`.
Result<OvnControllerStatus> QueryOvnController(const std::string& rundir, int timeout_ms = 2000);

}  // namespace govpool::network
