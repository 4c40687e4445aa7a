// The OVN Northbound model of govpool's tenant networks (docs/networking.md, "The Northbound
// model"), and the seam to the database: NorthboundDriver.
//
//   - LogicalNetwork / LogicalPort / LogicalSecurityGroup: the desired state, plain structs (the
//     controller's networks, subnets, ports and security groups, translated by the caller; no
//     API or JSON types here).
//   - SwitchRow / DhcpOptionsRow / PortRow / PortGroupRow (with its AclRows): one Northbound row
//     each (Logical_Switch, DHCP_Options, Logical_Switch_Port, Port_Group and ACL), in the
//     columns govpool manages. DesiredRows() turns the desired state into rows;
//     NorthboundDriver::Read() returns the actual rows that are ours.
//   - Plan(desired, actual): a pure function giving the creates, updates and deletes that make
//     the actual rows equal the desired ones (drift repair, duplicates and orphans removed).
//   - NorthboundDriver::Apply(plan): carries a plan out in one OVSDB transaction.
//
// A row is "ours" when its external_ids carry govpool-network-id (Logical_Switch),
// govpool-subnet-id (DHCP_Options), govpool-port-id (Logical_Switch_Port), or
// govpool-security-group-id / govpool-drop-network-id (Port_Group); an ACL is ours when one of
// our Port_Groups holds it (ACL is not a root table: it lives while a Port_Group's `acls` holds
// it). Rows without them are never read, changed or deleted. Names are not unique in
// Logical_Switch, so rows are matched by those ids, never by name.
//
// Thread-safety: the value types are thread-compatible; Plan and DesiredRows are pure. A
// NorthboundDriver implementation states its own (OvnNorthbound: safe for concurrent use).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::network {

// external_ids keys.
inline constexpr char kNetworkIdKey[] = "govpool-network-id";
inline constexpr char kNetworkNameKey[] = "govpool-network-name";
inline constexpr char kSubnetIdKey[] = "govpool-subnet-id";
inline constexpr char kPortIdKey[] = "govpool-port-id";
inline constexpr char kSecurityGroupIdKey[] = "govpool-security-group-id";
inline constexpr char kSecurityGroupNameKey[] = "govpool-security-group-name";
inline constexpr char kSecurityGroupRuleIdKey[] = "govpool-security-group-rule-id";
// The network whose drop Port_Group this is (see DesiredRows).
inline constexpr char kDropNetworkIdKey[] = "govpool-drop-network-id";
// Logical_Switch_Ports that are not VM ports (a router's, a provider network's localnet port)
// carry this key (= their name) instead of govpool-port-id.
inline constexpr char kSwitchPortKey[] = "govpool-switch-port";
inline constexpr char kRouterIdKey[] = "govpool-router-id";
inline constexpr char kRouterNameKey[] = "govpool-router-name";
inline constexpr char kFloatingIpIdKey[] = "govpool-floating-ip-id";
// ACL priorities: a port with security groups drops all IP traffic (kAclPriorityDrop) except
// what a rule of one of its groups allows (kAclPriorityAllow).
inline constexpr int kAclPriorityDrop = 1001;
inline constexpr int kAclPriorityAllow = 1002;
// DHCP lease time govpool gives (options:lease_time), seconds.
inline constexpr int kDhcpLeaseTimeS = 43200;

using StringMap = std::map<std::string, std::string>;

// ---- Desired state -------------------------------------------------------------------------
struct LogicalSubnet {
  std::string id;          // govpool subnet id
  std::string cidr;        // "10.0.1.0/24"
  std::string gateway_ip;  // "10.0.1.1"; DHCP server_id and router
  std::vector<std::string> dns_servers;
  bool enable_dhcp = true;
};

struct LogicalNetwork {
  std::string id;  // govpool network id
  std::string name;
  int mtu = 0;  // 0: none given to guests by DHCP
  std::vector<LogicalSubnet> subnets;
  // A provider (external) network: the name of the physical network it is bridged to (each
  // chassis maps it to a bridge by ovn-bridge-mappings). Empty: a tenant overlay network.
  std::string physical_network;
};

struct LogicalPort {
  std::string id;  // govpool port id; the Logical_Switch_Port's name (OVS iface-id)
  std::string network_id;
  std::string mac;               // "02:..."
  std::vector<std::string> ips;  // fixed addresses, IPv4 or IPv6
  bool enabled = true;
  // Empty: no filtering at all. Otherwise all IP traffic to and from the port is dropped except
  // what a rule of one of these groups allows (ids not in DesiredNetworks::security_groups
  // allow nothing).
  std::vector<std::string> security_group_ids;
};

// One allow rule, stateful (the replies of an allowed connection pass both ways).
struct SecurityGroupRule {
  std::string id;                     // optional; recorded in the ACL's external_ids
  std::string direction = "ingress";  // "ingress" (to the port) or "egress" (from the port)
  std::string ethertype = "IPv4";     // "IPv4" or "IPv6"
  std::string protocol = "any";       // "any", "tcp", "udp", "icmp", or an IP protocol number
  // tcp/udp: the destination port range (both unset or 0: every port; only port_min: that
  // port).
  // icmp: port_min is the ICMP type, port_max the code (unset: any).
  std::optional<int> port_min, port_max;
  std::string remote_cidr;      // "10.0.0.0/8"; empty: any (unless remote_group_id)
  std::string remote_group_id;  // the peer's addresses are those of this group's ports
};

struct LogicalSecurityGroup {
  std::string id;  // govpool security group id
  std::string name;
  std::vector<SecurityGroupRule> rules;
};

// A router interface on a subnet of a (tenant) network.
struct RouterInterface {
  std::string subnet_id;
  std::string network_id;
  std::string ip;  // the subnet's gateway address, "10.0.1.1"
  int prefix = 0;  // the subnet's prefix length, 24
  std::string mac;
  // The govpool port holding `ip` (device_owner router_interface), if any: a LogicalPort with
  // this id is not a VM port and is left out (the router-type switch port stands for it).
  std::string port_id;
};

// The router's leg on an external (provider) network: the gateway port.
struct RouterGateway {
  std::string network_id;  // a network with physical_network
  std::string ip;          // the router's address on it
  int prefix = 0;
  std::string mac;
  // Chassis that may host the gateway port, by name (ovn-controller's system-id), highest
  // priority first; the first alive one does.
  std::vector<std::string> gateway_chassis;
  std::string nexthop;  // the external network's gateway: the default route; "" none
  bool snat = true;     // SNAT the internal subnets to `ip`
  std::vector<std::string> snat_cidrs;  // the internal CIDRs to SNAT
  std::string port_id;  // the govpool port holding `ip` (router_gateway): left out of ports
};

struct FloatingIp {
  std::string id;  // govpool floating IP id
  std::string external_ip;
  std::string internal_ip;   // the VM's fixed address
  std::string logical_port;  // the VM's port id
  // Set: NAT happens on the VM's chassis (distributed; that chassis must map the external
  // network). Empty: on the gateway chassis.
  std::string external_mac;
  std::string floating_port_id;  // the govpool port holding external_ip: left out of ports
};

struct LogicalRouter {
  std::string id;  // govpool router id
  std::string name;
  std::vector<RouterInterface> interfaces;
  std::optional<RouterGateway> gateway;
  std::vector<FloatingIp> floating_ips;  // need `gateway`
};

struct DesiredNetworks {
  std::vector<LogicalNetwork> networks;
  std::vector<LogicalPort> ports;  // ports of networks not in `networks` are ignored
  std::vector<LogicalSecurityGroup> security_groups;
  std::vector<LogicalRouter> routers;
};

// ---- Rows ----------------------------------------------------------------------------------
// `uuid` is the row's OVSDB _uuid: set in actual rows (Read) and in a plan's updates and
// deletes, empty in desired rows and a plan's creates.
struct SwitchRow {
  std::string uuid;
  std::string network_id;  // external_ids:govpool-network-id
  std::string name;        // "govpool-<network id>"
  StringMap external_ids;
  bool operator==(const SwitchRow&) const = default;
};

struct DhcpOptionsRow {
  std::string uuid;
  std::string subnet_id;   // external_ids:govpool-subnet-id
  std::string network_id;  // external_ids:govpool-network-id
  std::string cidr;
  StringMap options;  // server_id, server_mac, router, lease_time, dns_server, mtu
  StringMap external_ids;
  bool operator==(const DhcpOptionsRow&) const = default;
};

struct PortRow {
  std::string uuid;
  std::string port_id;     // external_ids:govpool-port-id
  std::string network_id;  // external_ids:govpool-network-id
  std::string name;        // = port_id
  std::vector<std::string> addresses;      // ["MAC IP IP..."]
  std::vector<std::string> port_security;  // the same
  bool enabled = true;
  StringMap external_ids;
  // The Logical_Switch whose `ports` holds this row. Actual rows: its _uuid ("" when none).
  // Plans: the existing switch's _uuid, or "" for the switch of `network_id` created by the
  // same plan.
  std::string switch_uuid;
  // dhcpv4_options. Actual rows: the referenced _uuid ("" when none). Desired rows and plans:
  // `dhcp_subnet_id` names the subnet whose DHCP_Options row it points at ("" none), and
  // `dhcpv4_options_uuid` is that row's _uuid when it exists, "" when the plan creates it.
  std::string dhcpv4_options_uuid;
  std::string dhcp_subnet_id;
  std::string type;  // "" (a VM), "router", "localnet"
  StringMap options;  // router-port / network_name
  bool operator==(const PortRow&) const = default;
};

// One ACL of a Port_Group. Not a root table and without ids of its own: ACLs are compared by
// content (every field but uuid) within their Port_Group.
struct AclRow {
  std::string uuid;       // "" in desired rows, and in a plan: an ACL to create
  std::string direction;  // "from-lport" | "to-lport"
  int priority = 0;
  std::string match;
  std::string action;  // "allow", "allow-related", "drop"
  StringMap external_ids;
  bool SameContent(const AclRow& o) const {
    return direction == o.direction && priority == o.priority && match == o.match && action == o.action &&
           external_ids == o.external_ids;
  }
  bool operator==(const AclRow&) const = default;
};

struct PortGroupRow {
  std::string uuid;
  // The identity Plan matches by: "sg:<security group id>" (external_ids
  // govpool-security-group-id) or "drop:<network id>" (govpool-drop-network-id).
  std::string key;
  std::string name;  // "pg_<id>" / "pg_drop_<network id>", '-' (any non [A-Za-z0-9_]) -> '_'
  StringMap external_ids;
  // Members. Desired rows: port ids, sorted. Actual rows: empty. Plans: the ports' ids.
  std::vector<std::string> port_ids;
  // Members. Actual rows: their _uuids, sorted. Plans: per port_ids entry, the port's _uuid, or
  // "" for a port created by the same plan.
  std::vector<std::string> port_uuids;
  // Actual rows: the ACL rows `acls` holds. Desired rows: the ACLs wanted. Plans: the ACLs the
  // group holds afterwards, uuid set for an existing ACL kept, "" for one to create.
  std::vector<AclRow> acls;
  bool operator==(const PortGroupRow&) const = default;
};

// A router's children. Not root tables: they live while their router (Gateway_Chassis: its
// router port) holds them. NAT and routes are matched by content; router ports and gateway
// chassis by name (unique in OVN) and updated in place.
struct NatRow {
  std::string uuid;  // "" in desired rows, and in a plan: a row to create
  std::string type;  // "snat" | "dnat_and_snat"
  std::string external_ip, logical_ip;
  std::string logical_port, external_mac;  // "" none
  StringMap external_ids;
  bool SameContent(const NatRow& o) const {
    return type == o.type && external_ip == o.external_ip && logical_ip == o.logical_ip &&
           logical_port == o.logical_port && external_mac == o.external_mac && external_ids == o.external_ids;
  }
  bool operator==(const NatRow&) const = default;
};

struct StaticRouteRow {
  std::string uuid;
  std::string ip_prefix, nexthop;
  StringMap external_ids;
  bool SameContent(const StaticRouteRow& o) const {
    return ip_prefix == o.ip_prefix && nexthop == o.nexthop && external_ids == o.external_ids;
  }
  bool operator==(const StaticRouteRow&) const = default;
};

struct GatewayChassisRow {
  std::string uuid;
  std::string name;  // "<router port name>-<chassis>"
  std::string chassis_name;
  int priority = 0;
  bool SameContent(const GatewayChassisRow& o) const {
    return name == o.name && chassis_name == o.chassis_name && priority == o.priority;
  }
  bool operator==(const GatewayChassisRow&) const = default;
};

struct RouterPortRow {
  std::string uuid;
  std::string name;  // "lrp-<router id>-<subnet id>" or "lrp-<router id>-gw"
  std::string mac;
  std::vector<std::string> networks;  // ["10.0.1.1/24"]
  StringMap external_ids;             // govpool-router-id, govpool-network-id, govpool-subnet-id
  std::vector<GatewayChassisRow> gateway_chassis;
  bool changed = false;  // plans: an existing row (uuid set) whose columns are written
  bool SameContent(const RouterPortRow& o) const {
    if (name != o.name || mac != o.mac || networks != o.networks || external_ids != o.external_ids ||
        gateway_chassis.size() != o.gateway_chassis.size()) {
      return false;
    }
    for (std::size_t i = 0; i < gateway_chassis.size(); ++i) {
      if (!gateway_chassis[i].SameContent(o.gateway_chassis[i])) return false;
    }
    return true;
  }
  bool operator==(const RouterPortRow&) const = default;
};

// Logical_Router, by govpool-router-id. Actual rows: the children it holds (router ports and
// their gateway chassis sorted by name). Plans: the children it holds afterwards (uuid "": to
// create; RouterPortRow::changed / a gateway chassis with uuid "": written).
struct RouterRow {
  std::string uuid;
  std::string router_id;
  std::string name;  // "govpool-<router id>"
  StringMap external_ids;
  std::vector<RouterPortRow> ports;
  std::vector<NatRow> nat;
  std::vector<StaticRouteRow> static_routes;
  bool operator==(const RouterRow&) const = default;
};

// The rows that are ours (Read), or the rows wanted (DesiredRows).
struct NorthboundState {
  std::vector<SwitchRow> switches;
  std::vector<DhcpOptionsRow> dhcp_options;
  std::vector<PortRow> ports;
  std::vector<PortGroupRow> port_groups;
  std::vector<RouterRow> routers;
  // Every table (a table added above must be compared too: the controller's sync skips a pass
  // when the desired rows equal those it applied last).
  bool operator==(const NorthboundState&) const = default;
};

struct TableChanges {
  int created = 0;
  int updated = 0;
  int deleted = 0;
  int total() const { return created + updated + deleted; }
  bool operator==(const TableChanges&) const = default;
};

struct NorthboundChanges {
  TableChanges switches;
  TableChanges dhcp_options;
  TableChanges ports;
  TableChanges port_groups;
  TableChanges acls;  // ACL rows created, and deleted (dropped from their group or with it)
  TableChanges routers;
  TableChanges router_ports;  // updated: columns or gateway chassis changed
  TableChanges nat;
  TableChanges static_routes;
  int total() const {
    return switches.total() + dhcp_options.total() + ports.total() + port_groups.total() + acls.total() +
           routers.total() + router_ports.total() + nat.total() + static_routes.total();
  }
  bool operator==(const NorthboundChanges&) const = default;
};

// What Apply does, in this order within one transaction: delete ports (removing them from
// their switch's `ports`), switches, DHCP options, routers and port groups (their children go
// with them); create switches and DHCP options; update them; create ports (added to their
// switch's `ports`); update ports; create the ACLs of created and updated port groups; create
// port groups; update port groups (`ports` and `acls` written whole: an ACL left out is
// deleted by OVSDB's garbage collection); for created and updated routers create their new
// children and write their changed router ports, then create or update the router rows
// (`ports`, `nat`, `static_routes` written whole). Updates write every managed column.
struct NorthboundPlan {
  std::vector<SwitchRow> create_switches, update_switches, delete_switches;
  std::vector<DhcpOptionsRow> create_dhcp_options, update_dhcp_options, delete_dhcp_options;
  std::vector<PortRow> create_ports, update_ports, delete_ports;
  std::vector<PortGroupRow> create_port_groups, update_port_groups, delete_port_groups;
  int dropped_acls = 0;  // ACLs updated groups no longer hold (deleted by garbage collection)
  std::vector<RouterRow> create_routers, update_routers, delete_routers;
  // Children updated routers no longer hold (deleted by garbage collection).
  int dropped_router_ports = 0, dropped_nat = 0, dropped_static_routes = 0;

  bool empty() const { return Changes().total() == 0; }
  NorthboundChanges Changes() const;
};

// The rows for `desired`:
//   Logical_Switch per network: name "govpool-<id>", external_ids govpool-network-id and
//     govpool-network-name.
//   DHCP_Options per subnet with enable_dhcp: cidr; options server_id and router (the gateway,
//     when given), server_mac (ServerMac(subnet id)), lease_time, dns_server "{a, b}" (when
//     any), mtu (when > 0); external_ids govpool-subnet-id and govpool-network-id.
//   Logical_Switch_Port per port of a desired network: name = port id, addresses and
//     port_security ["MAC IP..."], enabled, dhcpv4_options -> the DHCP_Options of the first
//     DHCP-enabled subnet of its network containing one of its IPv4 addresses; external_ids
//     govpool-port-id and govpool-network-id.
//   Port_Group per security group: name "pg_<id>", external_ids govpool-security-group-id and
//     govpool-security-group-name, ports = the desired ports naming the group, and per rule one
//     ACL, priority kAclPriorityAllow, action allow-related, external_ids
//     govpool-security-group-id (and govpool-security-group-rule-id when the rule has an id):
//       ingress: to-lport   "outport == @pg_<id> && ip4[ && ip4.src == <cidr>|$pg_<remote>_ip4]
//                            [&& tcp && tcp.dst >= a && tcp.dst <= b]"
//       egress:  from-lport "inport == @pg_<id> && ip4[ && ip4.dst == ...]..."
//     (ip6 / icmp6 for IPv6; "icmp4.type == t && icmp4.code == c"; "ip.proto == n"). A rule
//     that cannot be written as a valid match (unknown protocol or ethertype, a remote group
//     not desired, a CIDR with other characters than hex digits, '.', ':' and '/') is left out.
//   Port_Group per network having ports with security groups ("drop group"): name
//     "pg_drop_<network id>", external_ids govpool-drop-network-id, ports = those ports; ACLs
//     from-lport "inport == @pg && ip" drop and to-lport "outport == @pg && ip" drop at
//     kAclPriorityDrop, and from-lport "inport == @pg && udp && udp.src == 68 && udp.dst == 67"
//     allow at kAclPriorityAllow (DHCP requests reach OVN's DHCP responder; ovn-northd itself
//     lets its replies through; ARP is not IP).
NorthboundState DesiredRows(const DesiredNetworks& desired);

// The OVN name of the Port_Group of a security group, or of a network's drop group: "pg_" /
// "pg_drop_" + the id with every character outside [A-Za-z0-9_] replaced by '_'.
std::string SecurityGroupPortGroupName(const std::string& security_group_id);
std::string DropPortGroupName(const std::string& network_id);

// The DHCP server's MAC for a subnet: locally administered, unicast, derived from the subnet
// id (stable across restarts and controllers): "02:xx:xx:xx:xx:xx".
std::string ServerMac(const std::string& subnet_id);

// True when the IPv4 address `ip` lies in the IPv4 `cidr`; false for anything else.
bool Ipv4InCidr(const std::string& ip, const std::string& cidr);

// The changes that turn `actual` (Read) into `desired` (DesiredRows): missing rows are created;
// rows whose managed columns differ are updated; rows of ours with an id not desired (orphans)
// and all but one row per id (duplicates: the lowest _uuid is kept) are deleted. A port whose
// switch is not its network's (kept) switch is deleted and created again. A Port_Group's ACLs
// are matched by content: an ACL equal to a wanted one is kept, the others are left out of the
// group (deleted) and the missing ones created. Pure, deterministic.
NorthboundPlan Plan(const NorthboundState& desired, const NorthboundState& actual);

// The seam: the only code that speaks OVSDB to the OVN Northbound database.
class NorthboundDriver {
 public:
  virtual ~NorthboundDriver() = default;

  // The rows that are ours (see above), with every managed column. Unavailable or
  // DeadlineExceeded when the database cannot be reached; Internal for an answer it cannot
  // read.
  virtual Result<NorthboundState> Read() = 0;

  // Carries `plan` out atomically (one OVSDB transaction: all of it or nothing). The plan must
  // come from Plan() over a recent Read(): a row the plan updates or deletes that is gone
  // already is no error (the next Read and Plan see the result). Errors as ovsdb::Client
  // (e.g. FailedPrecondition for a referential integrity violation, AlreadyExists when a
  // port name is taken by a row that is not ours).
  virtual Status Apply(const NorthboundPlan& plan) = 0;
};

}  // namespace govpool::network
