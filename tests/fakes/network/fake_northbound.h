// FakeNorthbound: an in-memory NorthboundDriver that behaves like the OVN Northbound database
// for the rows govpool manages (tests/integration/network/northbound_contract_test.cc runs the
// same suite against it and the real database):
//   - Logical_Switch and DHCP_Options are root tables; Logical_Switch_Port is not: a port no
//     switch's `ports` holds is removed at the end of the transaction (OVSDB's garbage
//     collection), so deleting a switch deletes its ports.
//   - dhcpv4_options is a weak reference: deleting the DHCP_Options row clears it.
//   - Port_Group is a root table; its `ports` are weak references (a deleted port leaves it);
//     ACL is not a root table: an ACL no Port_Group's `acls` holds is removed.
//   - Logical_Router is a root table; its router ports, NAT and static routes live while it
//     holds them, a router port's gateway chassis while the port holds them.
//   - Logical_Switch_Port, Port_Group, Logical_Router_Port and Gateway_Chassis names are unique
//     (AlreadyExists), Apply is all or nothing.
//   - Rows without govpool's external_ids can be inserted (foreign rows) and are never read.
// Drift helpers change rows behind the driver's back, like a raw transaction would; fault
// injection: FailNextRead / FailNextApply.
//
// Thread-safety: every method is safe to call concurrently (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "network/northbound.h"

namespace govpool::network {

class FakeNorthbound final : public NorthboundDriver {
 public:
  Result<NorthboundState> Read() override;
  Status Apply(const NorthboundPlan& plan) override;

  // Fault injection: the next call fails with `status` and changes nothing.
  void FailNextRead(Status status);
  void FailNextApply(Status status);
  int apply_calls() const;

  // Raw row access (behind the driver's back). Insert* return the new _uuid; the rest return
  // false when no row matched.
  std::string InsertSwitch(const std::string& name, const StringMap& external_ids);
  std::string InsertDhcpOptions(const std::string& cidr, const StringMap& external_ids);
  bool SwitchExists(const std::string& uuid) const;
  bool DhcpOptionsExists(const std::string& uuid) const;
  bool SetPortAddresses(const std::string& port_name, const std::vector<std::string>& addresses);
  bool DeletePort(const std::string& port_name);  // removed from its switch's ports, and gone
  bool DeleteDhcpOptionsOfSubnet(const std::string& subnet_id);
  // The Port_Group named `name`: its ACLs' matches (sorted; empty when no such group), and
  // raw changes: drop one ACL (the first by match), add a drop-all ACL, or delete the group.
  std::vector<std::string> PortGroupAclMatches(const std::string& name) const;
  bool RemoveFirstAclOfPortGroup(const std::string& name);
  bool AddAclToPortGroup(const std::string& name, const std::string& match);
  bool DeletePortGroup(const std::string& name);
  int acl_rows() const;  // every ACL row, held or not
  // Routers: drop one NAT row of the router named `name` (the first by external_ip, then
  // logical_ip), delete a router port by name, change a router port's MAC.
  bool RemoveFirstNatOfRouter(const std::string& name);
  bool DeleteRouterPort(const std::string& lrp_name);
  bool SetRouterPortMac(const std::string& lrp_name, const std::string& mac);
  int router_child_rows() const;  // router ports + NAT + routes + gateway chassis rows

 private:
  struct Switch {
    std::string name;
    StringMap external_ids;
    std::vector<std::string> ports;
  };
  struct Dhcp {
    std::string cidr;
    StringMap options, external_ids;
  };
  struct Port {
    std::string name;
    std::vector<std::string> addresses, port_security;
    bool enabled = true;
    StringMap external_ids;
    std::string dhcpv4_options;
    std::string type;
    StringMap options;
  };
  // Children are kept as rows (uuid set in each); `gateway_chassis` of a RouterPortRow and
  // the child vectors of a RouterRow hold only uuids' rows by value, resolved on Read.
  struct Router {
    std::string name;
    StringMap external_ids;
    std::vector<std::string> ports, nat, static_routes;
  };
  struct PortGroup {
    std::string name;
    StringMap external_ids;
    std::vector<std::string> ports, acls;
  };
  struct Db {
    std::map<std::string, Switch> switches;
    std::map<std::string, Dhcp> dhcp;
    std::map<std::string, Port> ports;
    std::map<std::string, PortGroup> port_groups;
    std::map<std::string, AclRow> acls;  // uuid set in each
    std::map<std::string, Router> routers;
    std::map<std::string, RouterPortRow> router_ports;  // gateway_chassis: uuids only
    std::map<std::string, NatRow> nat;
    std::map<std::string, StaticRouteRow> static_routes;
    std::map<std::string, GatewayChassisRow> gateway_chassis;
  };
  std::string NewUuidLocked();
  static void CollectGarbage(Db& db);

  mutable std::mutex mu_;
  Db db_;
  int next_uuid_ = 1;
  int apply_calls_ = 0;
  Status fail_read_, fail_apply_;
};

}  // namespace govpool::network
