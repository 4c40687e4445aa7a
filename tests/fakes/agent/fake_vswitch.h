// FakeVSwitch: the VSwitch seam (agent/host_network.h) in memory, for unit tests. The chassis
// configuration is kept as given (reported as changed when it differs from the last one, the
// bridge as created the first time); bindings and ovn-controller's state are set by the test;
// `database_up = false` makes every database call Unavailable. Not thread-safe.
#pragma once

#include <string>
#include <vector>

#include "agent/host_network.h"

namespace govpool::agent {

class FakeVSwitch final : public VSwitch {
 public:
  Result<network::ChassisChange> ConfigureChassis(const network::ChassisConfig& config) override {
    ++configure_calls;
    if (!database_up) return Unavailable("ovsdb: cannot connect");
    network::ChassisChange change;
    change.external_ids = !(configured == config);
    change.bridge_created = !bridge;
    configured = config;
    bridge = true;
    return change;
  }
  Result<std::vector<network::PortBinding>> ReadBindings() override {
    if (!database_up) return Unavailable("ovsdb: cannot connect");
    return bindings;
  }
  Result<network::OvnControllerStatus> QueryOvnController() override {
    if (!controller_running) return Unavailable("no pid in ovn-controller.pid");
    return network::OvnControllerStatus{.pid = 42, .connection = controller_connection};
  }

  bool database_up = true;
  bool controller_running = true;
  std::string controller_connection = "connected";
  network::ChassisConfig configured;  // the last configuration written
  bool bridge = false;                // the integration bridge exists
  int configure_calls = 0;
  std::vector<network::PortBinding> bindings;
};

}  // namespace govpool::agent
