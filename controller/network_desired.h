// The controller's records translated into the OVN Northbound model (network/northbound.h):
// what NetworkSync (network_sync.h) makes the Northbound database hold. Pure functions over
// plain records; the integration tests use the same translation over what the API lists.
//
//   networks        every network with its subnets (an external one with its physical network)
//   ports           every port of a VM or of nobody (the router's and floating IPs' ports are
//                   not switch ports: the router stands for them), with its security groups
//   security groups every group with its rules
//   routers         every router: an interface per attached subnet (the subnet's gateway
//                   address and the interface port's MAC); with an external gateway, its
//                   address, the external subnet's gateway as default route, SNAT of the
//                   attached subnets when enabled, the gateway chassis given by the operator,
//                   and the floating IPs associated through it
#pragma once

#include <string>
#include <vector>

#include "api/types.h"
#include "network/northbound.h"

namespace govpool::controller {

class State;

// The records to translate (borrowed; each vector in any order).
struct NetworkRecords {
  std::vector<const api::Network*> networks;
  std::vector<const api::Subnet*> subnets;
  std::vector<const api::Port*> ports;
  std::vector<const api::SecurityGroup*> security_groups;
  std::vector<const api::Router*> routers;
  std::vector<const api::FloatingIp*> floating_ips;
};

// Chassis (ovn-controller system-ids) that may host routers' gateway ports, highest priority
// first (--ovn-gateway-chassis). Empty: gateways get none, so no external traffic flows.
using GatewayChassis = std::vector<std::string>;

// Deterministic: the output is ordered by id whatever the input order.
::govpool::network::DesiredNetworks TranslateNetworks(const NetworkRecords& records,
                                                      const GatewayChassis& gateway_chassis);

// The records of `s`, translated.
::govpool::network::DesiredNetworks DesiredNetworksOf(const State& s, const GatewayChassis& gateway_chassis = {});

}  // namespace govpool::controller
