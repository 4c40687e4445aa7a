#include "agent/host_network.h"

#include <utility>

#include "common/log.h"

namespace govpool::agent {

// ---------------------------------------------------------------- OvsVSwitch
OvsVSwitch::OvsVSwitch(std::string ovs_db, std::string ovn_rundir)
    : ovs_db_(std::move(ovs_db)), ovn_rundir_(std::move(ovn_rundir)) {}

OvsVSwitch::~OvsVSwitch() = default;

Result<network::LocalOvs*> OvsVSwitch::Ovs() {
  if (ovs_ != nullptr && !ovs_->connected()) ovs_.reset();  // lost: connect again
  if (ovs_ == nullptr) {
    auto ovs = network::LocalOvs::Connect(ovs_db_);
    if (!ovs.ok()) return ovs.status().Annotate("the local Open vSwitch database " + ovs_db_);
    ovs_ = std::move(ovs).value();
  }
  return ovs_.get();
}

Result<network::ChassisChange> OvsVSwitch::ConfigureChassis(const network::ChassisConfig& config) {
  GP_ASSIGN_OR_RETURN(network::LocalOvs * ovs, Ovs());
  return ovs->ConfigureChassis(config);
}

Result<std::vector<network::PortBinding>> OvsVSwitch::ReadBindings() {
  GP_ASSIGN_OR_RETURN(network::LocalOvs * ovs, Ovs());
  return ovs->ReadBindings();
}

Result<network::OvnControllerStatus> OvsVSwitch::QueryOvnController() {
  return network::QueryOvnController(ovn_rundir_);
}

// ---------------------------------------------------------------- HostNetwork
HostNetwork::HostNetwork(VSwitch& vswitch, PortStatusReporter report, HostNetworkOptions options)
    : vswitch_(vswitch), report_(std::move(report)), options_(std::move(options)) {}

Result<HostNetworkPass> HostNetwork::Reconcile(const std::vector<DesiredPort>& ports) {
  HostNetworkPass pass;
  auto change = vswitch_.ConfigureChassis(options_.chassis);
  if (!change.ok()) {
    problem_ = "cannot configure the chassis: " + change.status().ToString();
    // Unreachable database: nothing else can be read either.
    if (change.status().code() == StatusCode::kUnavailable) return change.status();
    log::Warn("chassis configuration failed; retried next pass",
              {{"system_id", options_.chassis.system_id}, {"error", change.status().ToString()}});
  } else if (change->changed()) {
    pass.chassis_changed = true;
    log::Info("chassis configured", {{"system_id", options_.chassis.system_id},
                                     {"ovn_remote", options_.chassis.ovn_remote},
                                     {"encap_ip", options_.chassis.encap_ip},
                                     {"bridge_created", change->bridge_created}});
  }

  auto controller = vswitch_.QueryOvnController();
  pass.ovn_controller_connected = controller.ok() && controller->connected();
  std::string controller_problem;
  if (!controller.ok()) {
    controller_problem = "ovn-controller: " + controller.status().message();
  } else if (!controller->connected()) {
    controller_problem = "ovn-controller (pid " + std::to_string(controller->pid) +
                         ") is not connected to the Southbound database (" + controller->connection + ")";
  }
  if (pass.ovn_controller_connected != logged_connected_) {
    if (pass.ovn_controller_connected) {
      log::Info("ovn-controller connected", {{"system_id", options_.chassis.system_id}});
    } else {
      log::Warn("ovn-controller not connected", {{"problem", controller_problem}});
    }
    logged_connected_ = pass.ovn_controller_connected;
  }
  if (change.ok()) problem_ = controller_problem;

  auto bindings = vswitch_.ReadBindings();
  if (!bindings.ok()) return bindings.status().Annotate("reading the port bindings");
  std::map<std::string, const network::PortBinding*> by_port;
  for (const auto& b : *bindings) {
    // Two interfaces claiming one port: an installed one wins.
    auto [it, fresh] = by_port.emplace(b.iface_id, &b);
    if (!fresh && b.ovn_installed) it->second = &b;
  }

  std::map<std::string, PortStatusUpdate> still_reported;
  for (const DesiredPort& port : ports) {
    PortStatusUpdate update{.port_id = port.id, .status = "down", .host_id = options_.host_id, .reason = ""};
    auto it = by_port.find(port.id);
    if (it == by_port.end()) {
      update.reason = "no interface with iface-id " + port.id + " on this host yet";
    } else if (!it->second->ovn_installed) {
      update.reason = "interface " + it->second->interface + " is waiting for ovn-controller to install its flows";
    } else {
      update.status = "active";
      ++pass.active_ports;
    }
    auto last = reported_.find(port.id);
    const bool controller_agrees = port.status == update.status && port.host_id == update.host_id;
    const bool already_sent = last != reported_.end() && last->second == update;
    if (controller_agrees || already_sent) {
      still_reported.emplace(port.id, update);  // the controller knows it, or will
      continue;
    }
    Status s = report_(update);
    if (!s.ok()) {
      log::Warn("port status report failed; retried next pass",
                {{"port", port.id}, {"status", update.status}, {"error", s.ToString()}});
      continue;
    }
    ++pass.reports;
    still_reported.emplace(port.id, update);
  }
  reported_ = std::move(still_reported);  // ports no longer desired are forgotten
  return pass;
}

}  // namespace govpool::agent
