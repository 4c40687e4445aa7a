// govpoolctl's commands, one file per resource (departments.cc, flavors.cc, hosts.cc, vms.cc,
// server_groups.cc, users.cc, events.cc, storage_pools.cc, volumes.cc, snapshots.cc, images.cc,
// backup_policies.cc, backups.cc). Each Add*Commands adds its group to the command
// line: the arguments and options (parsed by CLI11 through cli/command_line.h) and a handler
// that calls the typed API client through a Context and prints the typed answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/types.h"
#include "cli/command_line.h"
#include "cli/context.h"

namespace govpool::cli {

void AddDepartmentCommands(CommandLine& cli);
void AddFlavorCommands(CommandLine& cli);
void AddHostCommands(CommandLine& cli);
void AddVmCommands(CommandLine& cli);
void AddServerGroupCommands(CommandLine& cli);
void AddUserCommands(CommandLine& cli);  // the user and token groups
void AddIdentityCommands(CommandLine& cli);  // login, logout, passwd, whoami; the totp group
void AddEventCommands(CommandLine& cli);
void AddAuditCommands(CommandLine& cli);  // list, export, verify (audit.cc)
void AddStoragePoolCommands(CommandLine& cli);
void AddVolumeCommands(CommandLine& cli);
void AddSnapshotCommands(CommandLine& cli);
void AddImageCommands(CommandLine& cli);
void AddBackupPolicyCommands(CommandLine& cli);
void AddBackupCommands(CommandLine& cli);
void AddNetworkCommands(CommandLine& cli);  // the network, subnet and port groups
void AddNetworkSecurityCommands(CommandLine& cli);  // security-group, router, floating-ip
void AddAdminCommands(CommandLine& cli);  // backup (admin.cc)
void AddReportCommands(CommandLine& cli);  // consolidation, utilisation (reports.cc)
void AddCapacityRequestCommands(CommandLine& cli);  // request (capacity_requests.cc)
void AddWebhookCommands(CommandLine& cli);  // webhook (webhooks.cc)

// Every group, in help order.
inline void AddAllCommands(CommandLine& cli) {
  AddIdentityCommands(cli);
  AddDepartmentCommands(cli);
  AddCapacityRequestCommands(cli);
  AddWebhookCommands(cli);
  AddFlavorCommands(cli);
  AddHostCommands(cli);
  AddVmCommands(cli);
  AddStoragePoolCommands(cli);
  AddVolumeCommands(cli);
  AddSnapshotCommands(cli);
  AddBackupPolicyCommands(cli);
  AddBackupCommands(cli);
  AddImageCommands(cli);
  AddAdminCommands(cli);
  AddReportCommands(cli);
  AddNetworkCommands(cli);
  AddNetworkSecurityCommands(cli);
  AddServerGroupCommands(cli);
  AddUserCommands(cli);
  AddEventCommands(cli);
  AddAuditCommands(cli);
}

// --if-match REVISION, for updates and deletes.
inline Command& IfMatchOption(Command& c, std::optional<std::int64_t>* revision) {
  return c.Option("--if-match", revision, "REVISION",
                  "only if the object is still at REVISION (optimistic concurrency)", 0,
                  api::kMaxInt);
}

inline api::WriteOptions IfMatch(const std::optional<std::int64_t>& revision) {
  api::WriteOptions w;
  w.if_match = revision;
  return w;
}

// "deleted KIND ID" (nothing with --json: the server answered without a body).
inline void PrintDeleted(Context& ctx, const std::string& kind, const std::string& id) {
  if (!ctx.json()) ctx.out() << "deleted " << kind << " " << id << "\n";
}

}  // namespace govpool::cli
