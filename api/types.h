// The wire contract's types: resources as the REST API shows them and the requests it takes.
// Plain structs with no JSON or sockets; api/codec.h converts them. Field names match the
// OpenAPI document (api/openapi/govpool.yaml) one to one. Units are in the names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace govpool::api {

// Common metadata of every stored object.
struct Meta {
  std::string id;               // UUID
  std::int64_t revision = 0;    // store revision of the last change (If-Match compares it)
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// Per-department limits. -1 means unlimited.
struct Quota {
  std::int64_t instances = 10;
  std::int64_t vcpus = 20;
  std::int64_t memory_mib = 51200;
  std::int64_t volumes = 10;
  std::int64_t volume_gib = 1000;
  std::int64_t snapshots = 10;
  std::int64_t networks = 5;
};
inline constexpr const char* kQuotaResources[] = {"instances", "vcpus",     "memory_mib", "volumes",
                                                 "volume_gib", "snapshots", "networks"};
std::int64_t* QuotaField(Quota& q, std::string_view resource);  // nullptr if unknown
std::int64_t QuotaValue(const Quota& q, std::string_view resource);

struct Department {
  Meta meta;
  std::string name;
  std::string description;
  Quota quota;
  // Confinement for classified workloads: when non-empty, the department's VMs go only to
  // hosts in these pools.
  std::vector<std::string> allowed_pools;
};

struct Flavor {
  Meta meta;
  std::string name;
  std::string description;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  // Host traits a VM of this flavor needs / must avoid (e.g. "ssd", "gpu").
  std::vector<std::string> required_traits;
  std::vector<std::string> forbidden_traits;
  // Host aggregates a VM of this flavor must be placed in (all of them).
  std::vector<std::string> required_aggregates;
};

// A server group: VMs placed together (affinity) or apart (anti-affinity); hard groups are a
// filter, soft ones a preference.
struct ServerGroup {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string policy;  // "affinity" | "anti-affinity"
  bool hard = true;
};

struct NumaCell {
  std::int32_t id = 0;
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
};

struct HostCapacity {
  std::int64_t cpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::vector<NumaCell> numa_cells;
};

struct ResourceAmounts {
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
};

// What a host's hypervisor actually runs, as its agent last reported (in memory only: a
// restarted controller shows nothing until the next heartbeat).
struct HostActualUsage {
  std::int64_t domains = 0;          // all domains defined on the host, govpool's or not
  std::int64_t govpool_domains = 0;  // of those, carrying govpool metadata
  std::int64_t running = 0;          // running domains
  std::int64_t vcpus = 0;            // of running domains
  std::int64_t memory_mib = 0;       // of running domains
  std::int64_t reported_at_ms = 0;   // 0: never reported
};

struct Host {
  Meta meta;
  std::string name;
  std::string pool;
  std::string status = "up";  // "up" | "down"
  bool enabled = true;
  bool maintenance = false;
  HostCapacity capacity;
  double cpu_allocation_ratio = 4.0;
  double memory_allocation_ratio = 1.0;
  double disk_allocation_ratio = 1.0;
  std::vector<std::string> traits;
  std::vector<std::string> aggregates;
  // Hosts dedicated to departments take only their VMs. Empty: shared.
  std::vector<std::string> dedicated_departments;
  std::int64_t max_instances = 0;  // 0: unlimited
  std::int64_t last_heartbeat_ms = 0;
  // The agent user that registered the host; empty when registered by an administrator
  // (simulations): such a host has no agent, so VM deletes complete at once.
  std::string agent_user_id;
  HostActualUsage actual;  // in memory only (see HostActualUsage)
  // Derived, not stored: filled when rendering.
  ResourceAmounts allocated;
  ResourceAmounts free;
  std::int64_t instances = 0;
};

// Where a VM's resources sit on its host (the scheduler's assignment).
struct NumaShare {
  std::int32_t cell = 0;
  ResourceAmounts resources;
};

struct Vm {
  Meta meta;
  std::string name;
  std::string department_id;
  std::string flavor_id;
  std::string flavor_name;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::string pool;
  std::string server_group_id;
  std::string host_id;
  std::vector<NumaShare> numa;
  std::string power = "running";  // desired power state: "running" | "stopped"
  bool deleting = false;          // desired: gone
  std::int64_t generation = 1;    // bumped on every change of desired state
  std::int64_t reboot_count = 0;  // desired reboots; an agent reboots when it lags
  // Reported by the host's agent.
  std::string state = "scheduled";  // scheduled|building|running|stopped|deleting|error|unknown
  std::string state_reason;
  std::int64_t observed_generation = 0;
};

struct User {
  Meta meta;
  std::string name;
  std::string role;  // "admin" | "dept-admin" | "dept-member" | "agent"
  std::string department_id;  // for department roles
};

// A bearer token. Only the SHA-256 of the secret is stored.
struct Token {
  Meta meta;
  std::string user_id;
  std::string name;
  std::string secret_sha256;
};

// Something an agent noticed and acted on, e.g. a domain destroyed behind govpool's back and
// restored ("redefined", "restarted", "orphan_removed"). Kept in the controller's memory (the
// last 10,000); not durable.
struct Event {
  std::string id;
  std::string host_id;
  std::string vm_id;
  std::string department_id;  // of the VM when reported; empty when unknown
  std::string kind;
  std::string message;
  std::int64_t at_ms = 0;
};
struct ReportEventsRequest {
  std::vector<Event> events;  // vm_id, kind and message are read
};

// Storage only: a replayable answer to a POST with an Idempotency-Key.
struct IdempotencyRecord {
  std::string id;            // sha256(user id + key)
  std::string request_hash;  // sha256(method + target + body)
  int status = 0;
  std::string body;
  std::int64_t created_at_ms = 0;
};

// ---- Requests ----
struct CreateDepartmentRequest {
  std::string name;
  std::string description;
  Quota quota;
  std::vector<std::string> allowed_pools;
};
struct PatchDepartmentRequest {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> allowed_pools;
  std::vector<std::pair<std::string, std::int64_t>> quota;  // resource -> new limit
};
struct CreateFlavorRequest {
  std::string name;
  std::string description;
  std::int64_t vcpus = 0;
  std::int64_t memory_mib = 0;
  std::int64_t disk_gib = 0;
  std::vector<std::string> required_traits;
  std::vector<std::string> forbidden_traits;
  std::vector<std::string> required_aggregates;
};
struct CreateServerGroupRequest {
  std::string name;
  std::string department_id;
  std::string policy;
  bool hard = true;
};
struct RegisterHostRequest {
  std::string name;
  std::string pool;
  HostCapacity capacity;
  std::vector<std::string> traits;
};
// POST /v1/hosts/{id}/heartbeat; the body is optional.
struct HeartbeatRequest {
  std::optional<HostActualUsage> usage;
};
struct PatchHostRequest {
  std::optional<bool> enabled;
  std::optional<bool> maintenance;
  std::optional<std::string> pool;
  std::optional<double> cpu_allocation_ratio;
  std::optional<double> memory_allocation_ratio;
  std::optional<double> disk_allocation_ratio;
  std::optional<std::vector<std::string>> traits;
  std::optional<std::vector<std::string>> aggregates;
  std::optional<std::vector<std::string>> dedicated_departments;
  std::optional<std::int64_t> max_instances;
};
struct CreateVmRequest {
  std::string name;
  std::string department_id;
  std::string flavor;  // name or id
  std::string pool;
  std::string power = "running";
  std::string server_group;  // id; empty: none
  // count > 1 creates <name>-1 ... <name>-<count>, all placed or none.
  std::int64_t count = 1;
};
// Where a create would land and why, without allocating (POST /v1/scheduler/preview).
struct PreviewRequest {
  std::string department_id;
  std::string flavor;
  std::string pool;
  std::string server_group;
  std::int64_t count = 1;
};
struct CreateUserRequest {
  std::string name;
  std::string role;
  std::string department_id;
};
struct CreateTokenRequest {
  std::string name;
};
// An agent's report about one VM.
struct VmStatusReport {
  std::string state;
  std::string state_reason;
  std::int64_t observed_generation = 0;
};

}  // namespace govpool::api
