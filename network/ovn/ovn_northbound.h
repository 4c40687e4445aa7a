// OvnNorthbound: the NorthboundDriver over the real OVN Northbound database, through an
// ovsdb::Client (RFC 7047). The only code that speaks OVSDB to the Northbound database.
//
//   Read    after StartMonitor: from a cache kept by a `monitor_cond` on the ten tables
//           (Logical_Switch, DHCP_Options, Logical_Switch_Port, Port_Group, ACL,
//           Logical_Router, Logical_Router_Port, NAT, Logical_Router_Static_Route,
//           Gateway_Chassis; their initial contents, then every `update2`), no round trip; the
//           rows are read in place under the cache's lock (updates wait meanwhile). ovsdb-server sends a session's updates for its own
//           transaction before the transaction's reply (ovsdb-server(7) 4.1.6), so a Read after
//           Apply on the same Client sees what Apply did; changes made by other clients arrive
//           a moment later (the next pass sees them: the reconciler is level-triggered).
//           Without StartMonitor: one `transact` of ten `select`s (a consistent snapshot).
//           Either way filtered here to the rows that are ours (OVSDB conditions cannot test
//           whether a map has a key); ACLs, router ports, NAT, routes and gateway chassis are
//           read as the children of our Port_Groups and Logical_Routers.
//   Apply   one `transact` per plan, no `wait`: `delete`s (a port is first removed from its
//           switch's `ports` by `mutate`; routers and port groups take their children along by
//           garbage collection), `insert`s with uuid-names (DHCP_Options, then ports referring
//           to them, then new switches whose `ports` name their new ports), `mutate` of
//           existing switches' `ports`, and `update`s of every managed column; then new ACLs and
//           the Port_Group rows naming them, new or changed router children and the
//           Logical_Router rows naming them (children left out are garbage collected).
//
// Options::owner scopes the rows further: when set, every root row written (switch, DHCP
// options, port, port group, router) carries external_ids:govpool-owner=<owner>, and only rows
// with that value are ours (tests sharing one
// database, or two deployments sharing one OVN). When empty, rows with a govpool-owner key are
// not ours. The key is stripped from the rows Read returns, so Plan never sees it.
//
// Thread-safety: Read and Apply may be called concurrently (the Client is); the Client is
// borrowed and must outlive the driver.
#pragma once

#include <memory>
#include <string>

#include "network/northbound.h"
#include "network/ovsdb/ovsdb_client.h"

namespace govpool::network {

inline constexpr char kOwnerKey[] = "govpool-owner";

class OvnNorthbound final : public NorthboundDriver {
 public:
  struct Options {
    std::string db = "OVN_Northbound";
    std::string owner;
  };
  OvnNorthbound(ovsdb::Client& client, Options options);
  // Cancels the monitor (must not run inside a monitor callback of the Client).
  ~OvnNorthbound() override;
  OvnNorthbound(const OvnNorthbound&) = delete;
  OvnNorthbound& operator=(const OvnNorthbound&) = delete;

  // ovsdb::Client::MonitorCond on the ten tables; from then on Read answers from the cache.
  // Its errors (then Read keeps using select). FailedPrecondition when already started.
  Status StartMonitor();

  // From the monitor cache (Unavailable once the connection is lost, Internal once an update
  // could not be applied to it: the owner makes a new Client and driver), else ovsdb::Client::Transact (ten selects) and its errors; Internal
  // for rows it cannot read.
  Result<NorthboundState> Read() override;
  // ovsdb::Client::Transact (one transaction). Its errors (nothing committed on error).
  Status Apply(const NorthboundPlan& plan) override;

 private:
  struct Cache;
  void OnUpdate(const ovsdb::TableUpdates& updates);

  ovsdb::Client& client_;
  Options options_;
  std::string monitor_id_;        // set by StartMonitor
  std::unique_ptr<Cache> cache_;  // set by StartMonitor; guarded by its own mutex
};

}  // namespace govpool::network
