// The OVN Northbound model of govpool's tenant networks (docs/networking.md, "The Northbound
// model"), and the seam to the database: NorthboundDriver.
//
//   - LogicalNetwork / LogicalPort: the desired state, plain structs (the controller's networks,
//     subnets and ports, translated by the caller; no API or JSON types here).
//   - SwitchRow / DhcpOptionsRow / PortRow: one Northbound row each (Logical_Switch,
//     DHCP_Options, Logical_Switch_Port), in the columns govpool manages. DesiredRows() turns the
//     desired state into rows; NorthboundDriver::Read() returns the actual rows that are ours.
//   - Plan(desired, actual): a pure function giving the creates, updates and deletes that make
//     the actual rows equal the desired ones (drift repair, duplicates and orphans removed).
//   - NorthboundDriver::Apply(plan): carries a plan out in one OVSDB transaction.
//
// A row is "ours" when its external_ids carry govpool-network-id (Logical_Switch),
// govpool-subnet-id (DHCP_Options) or govpool-port-id (Logical_Switch_Port). Rows without them
// are never read, changed or deleted. Names are not unique in Logical_Switch, so rows are matched
// by those ids, never by name.
//
// Thread-safety: the value types are thread-compatible; Plan and DesiredRows are pure. A
// NorthboundDriver implementation states its own (OvnNorthbound: safe for concurrent use).
#pragma once

#include <cstdint>
#include <map>
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
};

struct LogicalPort {
  std::string id;  // govpool port id; the Logical_Switch_Port's name (OVS iface-id)
  std::string network_id;
  std::string mac;               // "02:..."
  std::vector<std::string> ips;  // fixed addresses, IPv4 or IPv6
  bool enabled = true;
};

struct DesiredNetworks {
  std::vector<LogicalNetwork> networks;
  std::vector<LogicalPort> ports;  // ports of networks not in `networks` are ignored
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
  bool operator==(const PortRow&) const = default;
};

// The rows that are ours (Read), or the rows wanted (DesiredRows).
struct NorthboundState {
  std::vector<SwitchRow> switches;
  std::vector<DhcpOptionsRow> dhcp_options;
  std::vector<PortRow> ports;
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
  int total() const { return switches.total() + dhcp_options.total() + ports.total(); }
  bool operator==(const NorthboundChanges&) const = default;
};

// What Apply does, in this order within one transaction: delete ports (removing them from
// their switch's `ports`), switches and DHCP options; create switches and DHCP options; update
// them; create ports (added to their switch's `ports`); update ports. Updates write every
// managed column of the row.
struct NorthboundPlan {
  std::vector<SwitchRow> create_switches, update_switches, delete_switches;
  std::vector<DhcpOptionsRow> create_dhcp_options, update_dhcp_options, delete_dhcp_options;
  std::vector<PortRow> create_ports, update_ports, delete_ports;

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
NorthboundState DesiredRows(const DesiredNetworks& desired);

// The DHCP server's MAC for a subnet: locally administered, unicast, derived from the subnet
// id (stable across restarts and controllers): "02:xx:xx:xx:xx:xx".
std::string ServerMac(const std::string& subnet_id);

// True when the IPv4 address `ip` lies in the IPv4 `cidr`; false for anything else.
bool Ipv4InCidr(const std::string& ip, const std::string& cidr);

// The changes that turn `actual` (Read) into `desired` (DesiredRows): missing rows are created;
// rows whose managed columns differ are updated; rows of ours with an id not desired (orphans)
// and all but one row per id (duplicates: the lowest _uuid is kept) are deleted. A port whose
// switch is not its network's (kept) switch is deleted and created again. Pure, deterministic.
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
