// ConnectNorthbound: a NorthboundDriver that owns its connection. Connects an ovsdb::Client to
// the OVN Northbound database at `remote`, makes an OvnNorthbound over it and starts its monitor
// (Read then answers from the monitor cache). The owner keeps one for as long as its Read and
// Apply succeed; once they answer Unavailable (the connection is lost: ovsdb::Client does not
// reconnect) it drops it and connects again, and the new monitor's initial contents
// resynchronise the cache.
//
// Thread-safety: as OvnNorthbound (Read and Apply may be called concurrently).
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "network/northbound.h"
#include "network/ovn/ovn_northbound.h"
#include "network/ovsdb/ovsdb_client.h"

namespace govpool::network {

// Errors: ovsdb::Client::Connect's (InvalidArgument for a malformed remote, Unavailable when it
// cannot connect) and OvnNorthbound::StartMonitor's (e.g. NotFound when the server has no such
// database).
Result<std::unique_ptr<NorthboundDriver>> ConnectNorthbound(const std::string& remote,
                                                            OvnNorthbound::Options options = {},
                                                            ovsdb::Options client_options = {});

}  // namespace govpool::network
