// Security groups, routers and floating IPs as the port code needs them (docs/networking.md,
// "Security groups", "Routers and floating IPs"). Not part of the services' API: only
// controller/services/*.cc include it.
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "controller/state.h"
#include "controller/txn.h"

namespace govpool::controller::network {

// Checks the security groups a port of department `department_id` asks for (`field` names
// them in errors): each exists in that department (InvalidArgument otherwise).
Status CheckPortSecurityGroups(const State& s, const std::string& department_id,
                               const std::vector<std::string>& group_ids, const std::string& field);
// For a new NIC port about to be saved: with no security group, it gets its department's
// "default" group, which is created (in `t`) when the department has none yet. Never fails;
// ports the controller makes for routers and floating IPs (device_owner set) are left alone.
void AssignDefaultSecurityGroup(State& s, Txn& t, api::Port& p);
// A port that a router or floating IP owns: deleted only through its owner (409 PORT_IN_USE).
Status OwnedPortInUse(const api::Port& p);
// A port going away: the floating IPs associated with it are disassociated (in `t`).
void DisassociateFloatingIps(State& s, Txn& t, const std::string& port_id);

// From networks.cc: a unique generated MAC, and addresses of network `n` allocated as for
// POST /v1/ports (`asked` empty: one from the first subnet with a free address).
Result<std::string> NewPortMac(const State& s);
Result<std::vector<api::FixedIp>> AllocatePortAddresses(const State& s, const api::Network& n,
                                                        const std::vector<api::FixedIp>& asked);

}  // namespace govpool::controller::network
