// OvnNorthbound: the NorthboundDriver over the real OVN Northbound database, through an
// ovsdb::Client (RFC 7047). The only code that speaks OVSDB to the Northbound database.
//
//   Read    one `transact` of three `select`s (Logical_Switch, DHCP_Options,
//           Logical_Switch_Port; a consistent snapshot), filtered here to the rows that are
//           ours (OVSDB conditions cannot test whether a map has a key). Not a monitor cache
//           yet: see docs/networking.md, "The Northbound model".
//   Apply   one `transact` per plan, no `wait`: `delete`s (a port is first removed from its
//           switch's `ports` by `mutate`), `insert`s with uuid-names (DHCP_Options, then ports
//           referring to them, then new switches whose `ports` name their new ports), `mutate`
//           of existing switches' `ports`, and `update`s of every managed column.
//
// Options::owner scopes the rows further: when set, every row written carries
// external_ids:govpool-owner=<owner>, and only rows with that value are ours (tests sharing one
// database, or two deployments sharing one OVN). When empty, rows with a govpool-owner key are
// not ours. The key is stripped from the rows Read returns, so Plan never sees it.
//
// Thread-safety: Read and Apply may be called concurrently (the Client is); the Client is
// borrowed and must outlive the driver.
#pragma once

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
  OvnNorthbound(ovsdb::Client& client, Options options) : client_(client), options_(std::move(options)) {}

  // ovsdb::Client::Transact (three selects). Its errors; Internal for rows it cannot read.
  Result<NorthboundState> Read() override;
  // ovsdb::Client::Transact (one transaction). Its errors (nothing committed on error).
  Status Apply(const NorthboundPlan& plan) override;

 private:
  ovsdb::Client& client_;
  Options options_;
};

}  // namespace govpool::network
