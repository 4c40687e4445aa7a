// Client: the typed client of the REST API, one method per route, returning the api types.
// It speaks the wire format through api/codec.h and turns error answers back into the Status
// the server meant (api/errors.h: code, reason such as QUOTA_EXCEEDED, message, details).
// Used by the agent, the CLI, the tests' support code and the benches.
//
// Errors: Unavailable / DeadlineExceeded when the server cannot be reached (HttpClient);
// otherwise the server's error. Not thread-safe (one HttpClient connection): use one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/client/http_client.h"
#include "api/types.h"
#include "common/result.h"

namespace govpool::api {

// Paging of a list call (GET on a collection).
struct PageQuery {
  std::int64_t limit = 0;  // 0: the server's default
  std::string page_token;
};
struct HostQuery : PageQuery {
  std::string pool;
  std::optional<HostStatus> status;
};
struct VmQuery : PageQuery {
  std::string department_id;
  std::string host_id;
  std::optional<VmState> state;
};
struct VolumeQuery : PageQuery {
  std::string department_id;
  std::string vm_id;
  std::string pool_id;
};
struct BackupQuery : PageQuery {
  std::string department_id;
  std::string volume_id;
  std::string policy_id;
};
struct NetworkQuery : PageQuery {
  std::string department_id;
};
struct SubnetQuery : PageQuery {
  std::string network_id;
};
struct PortQuery : PageQuery {
  std::string network_id;
  std::string device_id;
  std::string department_id;
};
struct SecurityGroupQuery : PageQuery {
  std::string department_id;
};
struct RouterQuery : PageQuery {
  std::string department_id;
};
struct FloatingIpQuery : PageQuery {
  std::string department_id;
  std::string port_id;
  std::string floating_network_id;
};
struct EventQuery {
  std::int64_t limit = 0;
  std::string host_id;
  std::string vm_id;
};
// GET /v1/audit and its export: empty or 0 fields are not sent.
struct AuditQuery : PageQuery {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::string user;
  std::string department_id;
  std::string outcome;
  std::string kind;
};
// GET /v1/reports/utilisation: empty fields take the server's defaults (by department, the
// last 24 hours).
struct UtilisationQuery {
  std::string group_by;  // department | pool
  std::string from;      // RFC 3339 time or YYYY-MM-DD
  std::string to;
};
// Options of a write: optimistic concurrency and idempotent retries.
struct WriteOptions {
  std::optional<std::int64_t> if_match;  // If-Match: the revision the caller last read
  std::string idempotency_key;           // Idempotency-Key (creates)
};

class Client {
 public:
  explicit Client(std::unique_ptr<HttpClient> http) : http_(std::move(http)) {}
  // InvalidArgument for a malformed base URL.
  static Result<std::unique_ptr<Client>> Create(const ClientOptions& options);

  // ---- Departments ----
  Result<Department> CreateDepartment(const CreateDepartmentRequest& req, const WriteOptions& w = {});
  Result<Department> GetDepartment(std::string_view id);
  Result<ListPage<Department>> ListDepartments(const PageQuery& q = {});
  Result<Department> PatchDepartment(std::string_view id, const PatchDepartmentRequest& req,
                                     const WriteOptions& w = {});
  Status DeleteDepartment(std::string_view id, const WriteOptions& w = {});
  Result<DepartmentUsage> GetDepartmentUsage(std::string_view id);

  // ---- Flavors ----
  Result<Flavor> CreateFlavor(const CreateFlavorRequest& req, const WriteOptions& w = {});
  Result<Flavor> GetFlavor(std::string_view id_or_name);
  Result<ListPage<Flavor>> ListFlavors(const PageQuery& q = {});
  Status DeleteFlavor(std::string_view id);

  // ---- Hosts (admins; agents register, heartbeat, watch and report their own) ----
  Result<Host> RegisterHost(const RegisterHostRequest& req);
  Result<Host> GetHost(std::string_view id);
  Result<ListPage<Host>> ListHosts(const HostQuery& q = {});
  Result<Host> PatchHost(std::string_view id, const PatchHostRequest& req, const WriteOptions& w = {});
  Result<Host> Heartbeat(std::string_view host_id, const HeartbeatRequest& req);
  // Long-poll: answers when the host's set changed after `revision`, or after timeout_seconds.
  Result<WatchAnswer> WatchHostVms(std::string_view host_id, std::int64_t revision, int timeout_seconds);
  Status ReportHostEvents(std::string_view host_id, const ReportEventsRequest& req);
  // Agent enrolment (docs/security.md, "TLS and agent enrolment"): a system-admin lets one
  // host's agent enrol; the agent trades the enrolment token (or, to renew, its current client
  // certificate) and a CSR for its client certificate.
  Result<NewHostEnrolmentAnswer> CreateHostEnrolment(const CreateHostEnrolmentRequest& req);
  // Every client certificate of the host's agent stops working (it must enrol again).
  Status RevokeHostCertificates(std::string_view host_id);
  Result<AgentCertificateAnswer> IssueAgentCertificate(const AgentCertificateRequest& req);

  // ---- VMs ----
  // count > 1 creates several VMs at once: all are returned.
  Result<std::vector<Vm>> CreateVms(const CreateVmRequest& req, const WriteOptions& w = {});
  Result<Vm> GetVm(std::string_view id);
  Result<ListPage<Vm>> ListVms(const VmQuery& q = {});
  // The VM (now deleting), or nullopt when its record is already gone (204).
  Result<std::optional<Vm>> DeleteVm(std::string_view id, bool force = false, const WriteOptions& w = {});
  Result<Vm> StartVm(std::string_view id);
  Result<Vm> StopVm(std::string_view id);
  Result<Vm> RebootVm(std::string_view id);
  // Hot attach (POST /v1/vms/{id}/interfaces): the new NIC's port. Detach: 204.
  Result<Port> AttachInterface(std::string_view vm_id, const NicRequest& req, const WriteOptions& w = {});
  Status DetachInterface(std::string_view vm_id, std::string_view port_id);
  // An agent's report; nullopt when a `deleted` report removed the record.
  Result<std::optional<Vm>> ReportVmStatus(std::string_view id, const VmStatusReport& report);

  // ---- Storage pools (admins write; everyone reads) ----
  Result<StoragePool> CreateStoragePool(const CreateStoragePoolRequest& req, const WriteOptions& w = {});
  Result<StoragePool> GetStoragePool(std::string_view id_or_name);
  Result<ListPage<StoragePool>> ListStoragePools(const PageQuery& q = {});
  Result<StoragePool> PatchStoragePool(std::string_view id, const PatchStoragePoolRequest& req,
                                       const WriteOptions& w = {});
  Status DeleteStoragePool(std::string_view id);

  // ---- Volumes ----
  Result<Volume> CreateVolume(const CreateVolumeRequest& req, const WriteOptions& w = {});
  Result<Volume> GetVolume(std::string_view id);
  Result<ListPage<Volume>> ListVolumes(const VolumeQuery& q = {});
  // The volume (now deleting: its storage agent removes it), or nullopt when its record is
  // already gone (204). `flatten`: flatten volumes cloned from its snapshots first.
  Result<std::optional<Volume>> DeleteVolume(std::string_view id, bool flatten = false,
                                             const WriteOptions& w = {});
  Result<Volume> ResizeVolume(std::string_view id, const ResizeVolumeRequest& req);
  Result<Volume> AttachVolume(std::string_view id, const AttachVolumeRequest& req);
  Result<Volume> DetachVolume(std::string_view id);
  // An agent's report; nullopt when a `deleted` report removed the record.
  Result<std::optional<Volume>> ReportVolumeStatus(std::string_view id, const VolumeStatusReport& report);

  // ---- Volume snapshots ----
  Result<VolumeSnapshot> CreateSnapshot(std::string_view volume_id, const CreateSnapshotRequest& req,
                                        const WriteOptions& w = {});
  Result<VolumeSnapshot> GetSnapshot(std::string_view volume_id, std::string_view snapshot_id);
  Result<ListPage<VolumeSnapshot>> ListSnapshots(std::string_view volume_id, const PageQuery& q = {});
  // The snapshot (now deleting), or nullopt when its record is already gone (204).
  Result<std::optional<VolumeSnapshot>> DeleteSnapshot(std::string_view volume_id,
                                                       std::string_view snapshot_id, bool flatten = false);
  // Rolls the (detached) volume back to the snapshot; answers the volume.
  Result<Volume> RollbackVolume(std::string_view volume_id, std::string_view snapshot_id);
  Result<std::optional<VolumeSnapshot>> ReportSnapshotStatus(std::string_view volume_id,
                                                             std::string_view snapshot_id,
                                                             const SnapshotStatusReport& report);

  // ---- Images ----
  Result<Image> CreateImage(const CreateImageRequest& req, const WriteOptions& w = {});
  Result<Image> GetImage(std::string_view id_or_name);
  Result<ListPage<Image>> ListImages(const PageQuery& q = {});
  // The image (now deleting), or nullopt when its record is already gone (204).
  Result<std::optional<Image>> DeleteImage(std::string_view id);
  Result<Image> VerifyImage(std::string_view id);
  Result<std::optional<Image>> ReportImageStatus(std::string_view id, const ImageStatusReport& report);
  // PUT /v1/images/{id}/data: streams `length` bytes from `source` through one fixed buffer
  // (a file of many GiB is never held in memory); `on_progress` sees the bytes sent so far.
  // The image as recorded once the upload is complete (importing).
  Result<Image> UploadImageData(std::string_view id, BodyReader source, std::uint64_t length,
                                ProgressCallback on_progress = {});
  // GET /v1/images/{id}/data into `sink`, chunk by chunk (agents importing an image).
  Status DownloadImageData(std::string_view id, BodyWriter sink);
  // GET /v1/system/backup: a consistent copy of the controller's state database.
  Status DownloadStateBackup(BodyWriter sink);

  // ---- Backups ----
  // ---- Capacity requests (docs/departments.md) ----
  Result<CapacityRequest> CreateCapacityRequest(const CreateCapacityRequest& req, const WriteOptions& w = {});
  Result<CapacityRequest> GetCapacityRequest(std::string_view id);
  Result<ListPage<CapacityRequest>> ListCapacityRequests(const PageQuery& q = {});
  // `verb`: submit, approve, reject or withdraw.
  Result<CapacityRequest> DecideCapacityRequest(std::string_view id, std::string_view verb,
                                                const CapacityDecision& decision, const WriteOptions& w = {});
  // ---- Webhooks (docs/departments.md, "Notifications") ----
  Result<Webhook> CreateWebhook(const CreateWebhookRequest& req, const WriteOptions& w = {});
  Result<Webhook> GetWebhook(std::string_view id);
  Result<ListPage<Webhook>> ListWebhooks(const PageQuery& q = {});
  Status DeleteWebhook(std::string_view id);
  Result<WebhookDelivery> PingWebhook(std::string_view id, const WriteOptions& w = {});
  Result<ListPage<WebhookDelivery>> ListWebhookDeliveries(std::string_view id, const PageQuery& q = {});
  Result<BackupPolicy> CreateBackupPolicy(const CreateBackupPolicyRequest& req, const WriteOptions& w = {});
  Result<BackupPolicy> GetBackupPolicy(std::string_view id);
  Result<ListPage<BackupPolicy>> ListBackupPolicies(const BackupQuery& q = {});
  Result<BackupPolicy> PatchBackupPolicy(std::string_view id, const PatchBackupPolicyRequest& req,
                                         const WriteOptions& w = {});
  Status DeleteBackupPolicy(std::string_view id, const WriteOptions& w = {});
  Result<Backup> CreateBackup(const CreateBackupRequest& req, const WriteOptions& w = {});
  Result<Backup> GetBackup(std::string_view id);
  Result<ListPage<Backup>> ListBackups(const BackupQuery& q = {});
  // The backup (now deleting), or nullopt when its record is already gone (204).
  Result<std::optional<Backup>> DeleteBackup(std::string_view id, const WriteOptions& w = {});
  // The new volume the backup is being restored into.
  Result<Volume> RestoreBackup(std::string_view id, const RestoreBackupRequest& req, const WriteOptions& w = {});
  Result<std::optional<Backup>> ReportBackupStatus(std::string_view id, const BackupStatusReport& report);

  // ---- Networks (docs/networking.md) ----
  Result<Network> CreateNetwork(const CreateNetworkRequest& req, const WriteOptions& w = {});
  Result<Network> GetNetwork(std::string_view id);
  Result<ListPage<Network>> ListNetworks(const NetworkQuery& q = {});
  Status DeleteNetwork(std::string_view id, const WriteOptions& w = {});
  Result<Subnet> CreateSubnet(const CreateSubnetRequest& req, const WriteOptions& w = {});
  Result<Subnet> GetSubnet(std::string_view id);
  Result<ListPage<Subnet>> ListSubnets(const SubnetQuery& q = {});
  Status DeleteSubnet(std::string_view id);
  Result<Port> CreatePort(const CreatePortRequest& req, const WriteOptions& w = {});
  Result<Port> GetPort(std::string_view id);
  Result<ListPage<Port>> ListPorts(const PortQuery& q = {});
  Status DeletePort(std::string_view id, const WriteOptions& w = {});
  // An agent's report on a NIC of a VM on its host (PUT /v1/ports/{id}/status).
  Result<Port> ReportPortStatus(std::string_view id, const PortStatusReport& report);
  Result<Port> PatchPort(std::string_view id, const PatchPortRequest& req, const WriteOptions& w = {});

  // ---- Security groups, routers, floating IPs (docs/networking.md) ----
  Result<SecurityGroup> CreateSecurityGroup(const CreateSecurityGroupRequest& req, const WriteOptions& w = {});
  Result<SecurityGroup> GetSecurityGroup(std::string_view id);
  Result<ListPage<SecurityGroup>> ListSecurityGroups(const SecurityGroupQuery& q = {});
  Result<SecurityGroup> PatchSecurityGroup(std::string_view id, const PatchSecurityGroupRequest& req,
                                           const WriteOptions& w = {});
  Status DeleteSecurityGroup(std::string_view id, const WriteOptions& w = {});
  // The group with the new rule (its last).
  Result<SecurityGroup> AddSecurityGroupRule(std::string_view group_id, const CreateSecurityGroupRuleRequest& req,
                                             const WriteOptions& w = {});
  Status DeleteSecurityGroupRule(std::string_view group_id, std::string_view rule_id);
  Result<Router> CreateRouter(const CreateRouterRequest& req, const WriteOptions& w = {});
  Result<Router> GetRouter(std::string_view id);
  Result<ListPage<Router>> ListRouters(const RouterQuery& q = {});
  Result<Router> PatchRouter(std::string_view id, const PatchRouterRequest& req, const WriteOptions& w = {});
  Status DeleteRouter(std::string_view id, const WriteOptions& w = {});
  Result<Router> AddRouterInterface(std::string_view router_id, const RouterInterfaceRequest& req,
                                    const WriteOptions& w = {});
  Result<Router> RemoveRouterInterface(std::string_view router_id, std::string_view subnet_id);
  Result<FloatingIp> CreateFloatingIp(const CreateFloatingIpRequest& req, const WriteOptions& w = {});
  Result<FloatingIp> GetFloatingIp(std::string_view id);
  Result<ListPage<FloatingIp>> ListFloatingIps(const FloatingIpQuery& q = {});
  Result<FloatingIp> PatchFloatingIp(std::string_view id, const PatchFloatingIpRequest& req, const WriteOptions& w = {});
  Status DeleteFloatingIp(std::string_view id, const WriteOptions& w = {});

  // ---- Server groups and placement preview ----
  Result<ServerGroup> CreateServerGroup(const CreateServerGroupRequest& req, const WriteOptions& w = {});
  Result<ServerGroup> GetServerGroup(std::string_view id);
  Result<ListPage<ServerGroup>> ListServerGroups(const PageQuery& q = {});
  Status DeleteServerGroup(std::string_view id);
  Result<PreviewAnswer> PreviewPlacement(const PreviewRequest& req);

  // ---- Login and self-service (docs/security.md, "People and sessions") ----
  // The answer's `token` is the session's secret: the bearer_token (ClientOptions) of a client
  // for the later calls. Login needs no bearer token.
  Result<LoginAnswer> Login(const LoginRequest& req);
  Status Logout();
  Result<SessionAnswer> GetSession();
  Status ChangePassword(const ChangePasswordRequest& req);
  Result<TotpEnrolmentAnswer> BeginTotpEnrolment();
  Result<RecoveryCodesAnswer> ConfirmTotpEnrolment(const ConfirmTotpRequest& req);
  Result<AuthPolicy> GetAuthPolicy();
  Result<AuthPolicy> PutAuthPolicy(const PutAuthPolicyRequest& req, const WriteOptions& w = {});

  // ---- Users, tokens, events ----
  Result<User> CreateUser(const CreateUserRequest& req, const WriteOptions& w = {});
  Result<User> GetUser(std::string_view id);
  Result<ListPage<User>> ListUsers(const PageQuery& q = {});
  Result<User> PatchUser(std::string_view id, const PatchUserRequest& req, const WriteOptions& w = {});
  Status DeleteUser(std::string_view id, const WriteOptions& w = {});
  Result<PasswordResetAnswer> ResetUserPassword(std::string_view id);
  Status ResetUserTotp(std::string_view id);
  Result<NewTokenAnswer> CreateToken(std::string_view user_id, const CreateTokenRequest& req);
  Result<ListPage<Token>> ListTokens(std::string_view user_id, const PageQuery& q = {});
  Status RevokeToken(std::string_view user_id, std::string_view token_id);
  Result<ListPage<Event>> ListEvents(const EventQuery& q = {});
  // GET /v1/reports/consolidation (system-admin).
  Result<ConsolidationReport> GetConsolidationReport();
  // GET /v1/reports/utilisation (departments' roles: their own), as JSON or as the CSV text.
  Result<UtilisationReport> GetUtilisationReport(const UtilisationQuery& q);
  Result<std::string> GetUtilisationCsv(const UtilisationQuery& q);

  // ---- The audit trail (audit-admin) ----
  Result<ListPage<AuditRecord>> ListAudit(const AuditQuery& q = {});
  // Streams the export ("jsonl" or "csv") to `sink` as it arrives (limit/page_token unused).
  Status ExportAudit(const AuditQuery& q, std::string_view format, BodyWriter sink);
  Result<AuditVerifyAnswer> VerifyAudit();

  HttpClient& http() { return *http_; }

 private:
  // One call: sends, then decodes a 2xx body as T (or nothing for 204), or returns the error.
  template <class T>
  Result<T> Call(std::string_view method, const std::string& target, const std::string& body,
                 const WriteOptions& w = {});
  Status CallNoContent(std::string_view method, const std::string& target, const WriteOptions& w = {});
  // A call whose record may already be gone: T, or nullopt for 204.
  template <class T>
  Result<std::optional<T>> CallMaybeGone(std::string_view method, const std::string& target,
                                         const std::string& body, const WriteOptions& w = {});
  Result<HttpResponse> Send(std::string_view method, const std::string& target,
                            const std::string& body, const WriteOptions& w);

  std::unique_ptr<HttpClient> http_;
};

}  // namespace govpool::api
