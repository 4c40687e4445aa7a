// HostNetwork: the agent's tenant-network duties on its host (docs/agent.md, "Tenant networks"),
// over the VSwitch seam:
//   - make the host an OVN chassis: the local Open_vSwitch row's external_ids (system-id,
//     ovn-remote, encap type and IP, bridge, datapath type) and the integration bridge
//     (network::LocalOvs::ConfigureChassis: nothing is written when it already holds), at start
//     and every pass, so a reset database or a hand edit is repaired;
//   - check that ovn-controller runs and is connected to the Southbound database (its unixctl
//     `connection-status`); the result is kept for health() and logged when it changes;
//   - report each desired port's binding: `active` once an Interface with
//     external_ids:iface-id=<port id> exists on this host and ovn-controller marked it
//     ovn-installed (its flows are in place: it forwards), `down` otherwise. A state is
//     reported only when it differs from what the controller shows (host included) and from
//     the last report made (a failed report is retried next pass).
// The guest's NIC itself (libvirt's <virtualport type='openvswitch'> with the port id as
// interfaceid) is the VM reconciler's; this only observes the result.
//
// Thread-safety: not thread-safe; one HostNetwork per host, driven by one thread at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "network/ovs/local_ovs.h"

namespace govpool::agent {

// The seam over the host's Open vSwitch database and ovn-controller.
class VSwitch {
 public:
  virtual ~VSwitch() = default;
  virtual Result<network::ChassisChange> ConfigureChassis(const network::ChassisConfig& config) = 0;
  virtual Result<std::vector<network::PortBinding>> ReadBindings() = 0;
  virtual Result<network::OvnControllerStatus> QueryOvnController() = 0;
};

// VSwitch over network::LocalOvs (connected on first use, and again after the connection was
// lost) and ovn-controller's unixctl socket in `ovn_rundir`.
class OvsVSwitch final : public VSwitch {
 public:
  OvsVSwitch(std::string ovs_db, std::string ovn_rundir);
  ~OvsVSwitch() override;
  Result<network::ChassisChange> ConfigureChassis(const network::ChassisConfig& config) override;
  Result<std::vector<network::PortBinding>> ReadBindings() override;
  Result<network::OvnControllerStatus> QueryOvnController() override;

 private:
  Result<network::LocalOvs*> Ovs();
  std::string ovs_db_;
  std::string ovn_rundir_;
  std::unique_ptr<network::LocalOvs> ovs_;
};

// A port this host should have, and what the controller shows of it.
struct DesiredPort {
  std::string id;       // the port id: the OVN logical port and the interface's iface-id
  std::string status;   // as the controller shows it: active|down|error
  std::string host_id;  // as the controller shows it
};

// One report to the controller (PUT /v1/ports/{id}/status).
struct PortStatusUpdate {
  std::string port_id;
  std::string status;  // active|down
  std::string host_id;
  std::string reason;  // why it is down ("" when active)
  bool operator==(const PortStatusUpdate&) const = default;
};
using PortStatusReporter = std::function<Status(const PortStatusUpdate&)>;

struct HostNetworkOptions {
  std::string host_id;  // this host's id at the controller (sent with the reports)
  network::ChassisConfig chassis;
};

// What one pass did and saw.
struct HostNetworkPass {
  bool chassis_changed = false;  // the chassis configuration had to be written
  bool ovn_controller_connected = false;
  int active_ports = 0;
  int reports = 0;  // reports sent (successfully)
};

class HostNetwork {
 public:
  HostNetwork(VSwitch& vswitch, PortStatusReporter report, HostNetworkOptions options);

  // One pass over `ports` (every port this host should have). Unavailable (or the VSwitch's
  // error) when the Open_vSwitch database cannot be read: nothing is reported then. An
  // ovn-controller that is not running or not connected is no error (see the pass result and
  // health()); a failed report is logged and retried next pass.
  Result<HostNetworkPass> Reconcile(const std::vector<DesiredPort>& ports);

  // The last pass's view: whether the chassis was configured and ovn-controller connected, in
  // words for logs and heartbeats ("" when healthy).
  const std::string& problem() const { return problem_; }

 private:
  VSwitch& vswitch_;
  PortStatusReporter report_;
  HostNetworkOptions options_;
  std::map<std::string, PortStatusUpdate> reported_;  // the last successful report per port
  std::string problem_ = "not configured yet";
  bool logged_connected_ = false;
};

}  // namespace govpool::agent
