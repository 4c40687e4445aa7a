// The controller's services: the operations of the REST API as functions over the in-memory
// State (reads) or State + Txn (writes), with authorization, validation, quota and placement.
// They know nothing about HTTP; the route files (controller/http/routes_*.cc) run them inside
// Db::Read / Db::Write. Write functions follow Db::Write's contract: they check everything,
// then mutate, and never fail after mutating.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "controller/caller.h"
#include "controller/state.h"

namespace govpool::controller {

struct ListOptions {
  std::int64_t limit = 100;  // 1..1000
  std::string page_token;    // the last id of the previous page
};

template <typename T>
using Page = api::ListPage<T>;

// Conflict (reason CONFLICT) when `if_match` is set and differs from the object's revision.
Status CheckIfMatch(const std::optional<std::int64_t>& if_match, const api::Meta& meta,
                    const std::string& what);

// ---- Departments (admin writes; department users read their own) ----
Result<api::Department> CreateDepartment(State& s, Txn& t, const Caller& c,
                                         const api::CreateDepartmentRequest& req);
Result<api::Department> GetDepartment(const State& s, const Caller& c, const std::string& id);
Page<api::Department> ListDepartments(const State& s, const Caller& c, const ListOptions& o);
Result<api::Department> PatchDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                                        const std::optional<std::int64_t>& if_match,
                                        const api::PatchDepartmentRequest& req);
// FailedPrecondition while the department still owns VMs or users.
Status DeleteDepartment(State& s, Txn& t, const Caller& c, const std::string& id,
                        const std::optional<std::int64_t>& if_match);
// Usage and limit of every quota resource (with whether it is enforced yet).
Result<api::DepartmentUsage> GetUsage(const State& s, const Caller& c, const std::string& id);
// ResourceExhausted (reason QUOTA_EXCEEDED; details resource, requested, used, limit) when
// `count` objects that each use `per_object` (QuotaUsageOf) would take an enforced resource of
// department `d` over its limit. The one quota check every create runs.
Status CheckQuota(const api::Department& d, const api::Quota& used, const api::Quota& per_object,
                  std::int64_t count);

// ---- Flavors (admin writes; everyone reads) ----
Result<api::Flavor> CreateFlavor(State& s, Txn& t, const Caller& c, const api::CreateFlavorRequest& req);
Result<api::Flavor> GetFlavor(const State& s, const Caller& c, const std::string& id_or_name);
Page<api::Flavor> ListFlavors(const State& s, const Caller& c, const ListOptions& o);
Status DeleteFlavor(State& s, Txn& t, const Caller& c, const std::string& id);

// ---- Hosts (admins; agents register and heartbeat their own) ----
struct HostFilter {
  std::string pool;
  std::optional<api::HostStatus> status;
};
// Idempotent by name: re-registering updates capacity and pool and marks the host up. An
// agent may re-register only hosts it registered (PermissionDenied otherwise).
Result<api::Host> RegisterHost(State& s, Txn& t, const Caller& c, const api::RegisterHostRequest& req);
Result<api::Host> GetHost(const State& s, const Caller& c, const std::string& id);
Page<api::Host> ListHosts(const State& s, const Caller& c, const HostFilter& f, const ListOptions& o);
Result<api::Host> PatchHost(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchHostRequest& req);
// Records a heartbeat and, when given, the host's actual usage (both in memory only).
Result<api::Host> Heartbeat(State& s, Txn& t, const Caller& c, const std::string& id,
                            const api::HostActualUsage* usage = nullptr);
// Removes the Idempotency-Key records created more than `max_age_ms` before t.now_ms(), in
// `t`; returns how many. A retry with an expired key is then treated as a new request.
std::int64_t ExpireIdempotencyRecords(State& s, Txn& t, std::int64_t max_age_ms);
// Marks up hosts whose last heartbeat is older than `timeout_ms` as down; returns their ids.
std::vector<std::string> MarkSilentHostsDown(State& s, Txn& t, std::int64_t timeout_ms);

// ---- VMs ----
struct VmFilter {
  std::string department_id;
  std::string host_id;
  std::optional<api::VmState> state;
};
// Checks quota, places the VM(s) and records them, atomically: req.count VMs named
// <name>-1..<name>-<count> (just <name> when count is 1) are all placed or none.
// ResourceExhausted with reason QUOTA_EXCEEDED (details: resource, requested, used, limit) or
// NO_VALID_HOST (details from the scheduler).
Result<std::vector<api::Vm>> CreateVms(State& s, Txn& t, const Caller& c, const api::CreateVmRequest& req);
Result<api::Vm> GetVm(const State& s, const Caller& c, const std::string& id);
Page<api::Vm> ListVms(const State& s, const Caller& c, const VmFilter& f, const ListOptions& o);
// On a host with an agent the VM turns `deleting` and its record goes once the agent confirms
// the cleanup; on a host without one (registered by an admin) it goes at once. `force`
// (admins only) removes the record at once whatever the host.
Result<api::Vm> DeleteVm(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::optional<std::int64_t>& if_match, bool force);
// action: "start" | "stop" | "reboot".
Result<api::Vm> VmAction(State& s, Txn& t, const Caller& c, const std::string& id,
                         const std::string& action);
// An agent reports the state of a VM on its host.
Result<api::Vm> ReportVmStatus(State& s, Txn& t, const Caller& c, const std::string& id,
                               const api::VmStatusReport& report);
// The VM as the API shows it (state `unknown` while its host is down).
api::Vm RenderVm(const State& s, const api::Vm& v);

// ---- Server groups (department admins of the group's department) ----
Result<api::ServerGroup> CreateServerGroup(State& s, Txn& t, const Caller& c,
                                           const api::CreateServerGroupRequest& req);
Result<api::ServerGroup> GetServerGroup(const State& s, const Caller& c, const std::string& id);
Page<api::ServerGroup> ListServerGroups(const State& s, const Caller& c, const ListOptions& o);
// FailedPrecondition while the group has members.
Status DeleteServerGroup(State& s, Txn& t, const Caller& c, const std::string& id);

// ---- Scheduler preview ----
struct Preview {
  bool fits = false;
  std::vector<std::pair<std::string, std::string>> assignments;  // host id, host name
  scheduler::Explanation explanation;
};
// Where a create would land and why; allocates nothing. Quota is not checked.
Result<Preview> PreviewPlacement(const State& s, const Caller& c, const api::PreviewRequest& req);

// ---- Events ----
// An agent reports events about its host (and VMs on it). Kept in memory (State::AddEvent).
Status ReportEvents(State& s, Txn& t, const Caller& c, const std::string& host_id,
                    const api::ReportEventsRequest& req);
struct EventFilter {
  std::string host_id;
  std::string vm_id;
  std::int64_t limit = 100;  // newest first
};
// Admins see every event; department users those of their department's VMs; agents those of
// their hosts.
std::vector<api::Event> ListEvents(const State& s, const Caller& c, const EventFilter& f);

// ---- Users and tokens (admins) ----
Result<api::User> CreateUser(State& s, Txn& t, const Caller& c, const api::CreateUserRequest& req);
Page<api::User> ListUsers(const State& s, const Caller& c, const ListOptions& o);
Result<api::User> GetUser(const State& s, const Caller& c, const std::string& id);
struct NewToken {
  api::User user;
  api::Token token;
  std::string secret;  // shown once
};
Result<NewToken> CreateToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                             const api::CreateTokenRequest& req);
// Resolves a bearer secret. Unauthenticated when unknown.
Result<Caller> Authenticate(const State& s, const std::string& secret);
// First start: creates the "admin" user and a token when there are no users yet; returns the
// secret, or nullopt when users already exist.
std::optional<std::string> BootstrapAdmin(State& s, Txn& t);

}  // namespace govpool::controller
