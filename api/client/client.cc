#include "api/client/client.h"

#include "api/codec.h"
#include "api/errors.h"
#include "api/http_message.h"

namespace govpool::api {
namespace {

// Builds "path?k=v&..." from the parameters that are set.
class Target {
 public:
  explicit Target(std::string path) : target_(std::move(path)) {}
  Target& Add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    target_ += first_ ? '?' : '&';
    first_ = false;
    target_ += key;
    target_ += '=';
    target_ += PercentEncode(value);
    return *this;
  }
  Target& Add(std::string_view key, std::int64_t value, bool always = false) {
    return (value != 0 || always) ? Add(key, std::to_string(value)) : *this;
  }
  Target& Page(const PageQuery& q) { return Add("limit", q.limit).Add("page_token", q.page_token); }
  const std::string& str() const { return target_; }

 private:
  std::string target_;
  bool first_ = true;
};

std::string Path(std::string_view collection, std::string_view id, std::string_view tail = {}) {
  std::string p(collection);
  p += '/';
  p += PercentEncode(id);
  p += tail;
  return p;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  GP_ASSIGN_OR_RETURN(auto http, HttpClient::Create(options));
  return std::make_unique<Client>(std::move(http));
}

Result<HttpResponse> Client::Send(std::string_view method, const std::string& target,
                                  const std::string& body, const WriteOptions& w) {
  HeaderList headers;
  if (w.if_match) headers.emplace_back("If-Match", std::to_string(*w.if_match));
  if (!w.idempotency_key.empty()) headers.emplace_back("Idempotency-Key", w.idempotency_key);
  GP_ASSIGN_OR_RETURN(HttpResponse resp, http_->Send(method, target, body, headers));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  return resp;
}

template <class T>
Result<T> Client::Call(std::string_view method, const std::string& target, const std::string& body,
                       const WriteOptions& w) {
  GP_ASSIGN_OR_RETURN(HttpResponse resp, Send(method, target, body, w));
  auto value = Decode<T>(resp.body);
  if (!value.ok()) {
    return Internal(std::string(method) + " " + target + ": the answer does not decode: " +
                    value.status().message());
  }
  return value;
}

template <class T>
Result<std::optional<T>> Client::CallMaybeGone(std::string_view method, const std::string& target,
                                               const std::string& body, const WriteOptions& w) {
  GP_ASSIGN_OR_RETURN(HttpResponse resp, Send(method, target, body, w));
  if (resp.status == 204) return std::optional<T>();
  auto value = Decode<T>(resp.body);
  if (!value.ok()) {
    return Internal(std::string(method) + " " + target + ": the answer does not decode: " +
                    value.status().message());
  }
  return std::optional<T>(std::move(value).value());
}

Status Client::CallNoContent(std::string_view method, const std::string& target, const WriteOptions& w) {
  return Send(method, target, {}, w).status();
}

// ---- Departments ----
Result<Department> Client::CreateDepartment(const CreateDepartmentRequest& req, const WriteOptions& w) {
  return Call<Department>("POST", "/v1/departments", Encode(req), w);
}
Result<Department> Client::GetDepartment(std::string_view id) {
  return Call<Department>("GET", Path("/v1/departments", id), {});
}
Result<ListPage<Department>> Client::ListDepartments(const PageQuery& q) {
  return Call<ListPage<Department>>("GET", Target("/v1/departments").Page(q).str(), {});
}
Result<Department> Client::PatchDepartment(std::string_view id, const PatchDepartmentRequest& req,
                                           const WriteOptions& w) {
  return Call<Department>("PATCH", Path("/v1/departments", id), Encode(req), w);
}
Status Client::DeleteDepartment(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/departments", id), w);
}
Result<DepartmentUsage> Client::GetDepartmentUsage(std::string_view id) {
  return Call<DepartmentUsage>("GET", Path("/v1/departments", id, "/usage"), {});
}

// ---- Flavors ----
Result<Flavor> Client::CreateFlavor(const CreateFlavorRequest& req, const WriteOptions& w) {
  return Call<Flavor>("POST", "/v1/flavors", Encode(req), w);
}
Result<Flavor> Client::GetFlavor(std::string_view id_or_name) {
  return Call<Flavor>("GET", Path("/v1/flavors", id_or_name), {});
}
Result<ListPage<Flavor>> Client::ListFlavors(const PageQuery& q) {
  return Call<ListPage<Flavor>>("GET", Target("/v1/flavors").Page(q).str(), {});
}
Status Client::DeleteFlavor(std::string_view id) { return CallNoContent("DELETE", Path("/v1/flavors", id)); }

// ---- Hosts ----
Result<Host> Client::RegisterHost(const RegisterHostRequest& req) {
  return Call<Host>("POST", "/v1/hosts/register", Encode(req));
}
Status Client::RevokeHostCertificates(std::string_view host_id) {
  return CallNoContent("DELETE", Path("/v1/hosts", host_id, "/certificates"));
}
Result<NewHostEnrolmentAnswer> Client::CreateHostEnrolment(const CreateHostEnrolmentRequest& req) {
  return Call<NewHostEnrolmentAnswer>("POST", "/v1/host-enrolments", Encode(req));
}
Result<AgentCertificateAnswer> Client::IssueAgentCertificate(const AgentCertificateRequest& req) {
  return Call<AgentCertificateAnswer>("POST", "/v1/agent-certificates", Encode(req));
}
Result<Host> Client::GetHost(std::string_view id) { return Call<Host>("GET", Path("/v1/hosts", id), {}); }
Result<ListPage<Host>> Client::ListHosts(const HostQuery& q) {
  Target t("/v1/hosts");
  t.Page(q).Add("pool", q.pool);
  if (q.status) t.Add("status", ToString(*q.status));
  return Call<ListPage<Host>>("GET", t.str(), {});
}
Result<Host> Client::PatchHost(std::string_view id, const PatchHostRequest& req, const WriteOptions& w) {
  return Call<Host>("PATCH", Path("/v1/hosts", id), Encode(req), w);
}
Result<Host> Client::Heartbeat(std::string_view host_id, const HeartbeatRequest& req) {
  return Call<Host>("POST", Path("/v1/hosts", host_id, "/heartbeat"), Encode(req));
}
Result<WatchAnswer> Client::WatchHostVms(std::string_view host_id, std::int64_t revision,
                                         int timeout_seconds) {
  return Call<WatchAnswer>("GET",
                           Target(Path("/v1/hosts", host_id, "/vms"))
                               .Add("revision", revision, true)
                               .Add("timeout_seconds", timeout_seconds, true)
                               .str(),
                           {});
}
Status Client::ReportHostEvents(std::string_view host_id, const ReportEventsRequest& req) {
  return Send("POST", Path("/v1/hosts", host_id, "/events"), Encode(req), {}).status();
}

// ---- VMs ----
Result<std::vector<Vm>> Client::CreateVms(const CreateVmRequest& req, const WriteOptions& w) {
  if (req.count > 1) {
    GP_ASSIGN_OR_RETURN(auto page, Call<ListPage<Vm>>("POST", "/v1/vms", Encode(req), w));
    return std::move(page.items);
  }
  GP_ASSIGN_OR_RETURN(Vm vm, Call<Vm>("POST", "/v1/vms", Encode(req), w));
  return std::vector<Vm>{std::move(vm)};
}
Result<Vm> Client::GetVm(std::string_view id) { return Call<Vm>("GET", Path("/v1/vms", id), {}); }
Result<ListPage<Vm>> Client::ListVms(const VmQuery& q) {
  Target t("/v1/vms");
  t.Page(q).Add("department_id", q.department_id).Add("host_id", q.host_id);
  if (q.state) t.Add("state", ToString(*q.state));
  return Call<ListPage<Vm>>("GET", t.str(), {});
}
Result<std::optional<Vm>> Client::DeleteVm(std::string_view id, bool force, const WriteOptions& w) {
  Target t(Path("/v1/vms", id));
  if (force) t.Add("force", "true");
  GP_ASSIGN_OR_RETURN(HttpResponse resp, Send("DELETE", t.str(), {}, w));
  if (resp.status == 204) return std::optional<Vm>();
  GP_ASSIGN_OR_RETURN(Vm vm, Decode<Vm>(resp.body));
  return std::optional<Vm>(std::move(vm));
}
Result<Vm> Client::StartVm(std::string_view id) { return Call<Vm>("POST", Path("/v1/vms", id, "/start"), {}); }
Result<Vm> Client::StopVm(std::string_view id) { return Call<Vm>("POST", Path("/v1/vms", id, "/stop"), {}); }
Result<Vm> Client::RebootVm(std::string_view id) { return Call<Vm>("POST", Path("/v1/vms", id, "/reboot"), {}); }
Result<Port> Client::AttachInterface(std::string_view vm_id, const NicRequest& req, const WriteOptions& w) {
  return Call<Port>("POST", Path("/v1/vms", vm_id, "/interfaces"), Encode(req), w);
}
Status Client::DetachInterface(std::string_view vm_id, std::string_view port_id) {
  return CallNoContent("DELETE", Path("/v1/vms", vm_id, "/interfaces/" + PercentEncode(port_id)));
}
Result<std::optional<Vm>> Client::ReportVmStatus(std::string_view id, const VmStatusReport& report) {
  GP_ASSIGN_OR_RETURN(HttpResponse resp, Send("PUT", Path("/v1/vms", id, "/status"), Encode(report), {}));
  if (resp.status == 204) return std::optional<Vm>();
  GP_ASSIGN_OR_RETURN(Vm vm, Decode<Vm>(resp.body));
  return std::optional<Vm>(std::move(vm));
}

// ---- Storage pools ----
Result<StoragePool> Client::CreateStoragePool(const CreateStoragePoolRequest& req, const WriteOptions& w) {
  return Call<StoragePool>("POST", "/v1/storage-pools", Encode(req), w);
}
Result<StoragePool> Client::GetStoragePool(std::string_view id_or_name) {
  return Call<StoragePool>("GET", Path("/v1/storage-pools", id_or_name), {});
}
Result<ListPage<StoragePool>> Client::ListStoragePools(const PageQuery& q) {
  return Call<ListPage<StoragePool>>("GET", Target("/v1/storage-pools").Page(q).str(), {});
}
Result<StoragePool> Client::PatchStoragePool(std::string_view id, const PatchStoragePoolRequest& req,
                                             const WriteOptions& w) {
  return Call<StoragePool>("PATCH", Path("/v1/storage-pools", id), Encode(req), w);
}
Status Client::DeleteStoragePool(std::string_view id) {
  return CallNoContent("DELETE", Path("/v1/storage-pools", id));
}

// ---- Volumes ----
Result<Volume> Client::CreateVolume(const CreateVolumeRequest& req, const WriteOptions& w) {
  return Call<Volume>("POST", "/v1/volumes", Encode(req), w);
}
Result<Volume> Client::GetVolume(std::string_view id) { return Call<Volume>("GET", Path("/v1/volumes", id), {}); }
Result<ListPage<Volume>> Client::ListVolumes(const VolumeQuery& q) {
  Target t("/v1/volumes");
  t.Page(q).Add("department_id", q.department_id).Add("vm_id", q.vm_id).Add("pool_id", q.pool_id);
  return Call<ListPage<Volume>>("GET", t.str(), {});
}
Result<std::optional<Volume>> Client::DeleteVolume(std::string_view id, bool flatten, const WriteOptions& w) {
  Target t(Path("/v1/volumes", id));
  if (flatten) t.Add("flatten", "true");
  return CallMaybeGone<Volume>("DELETE", t.str(), {}, w);
}
Result<Volume> Client::ResizeVolume(std::string_view id, const ResizeVolumeRequest& req) {
  return Call<Volume>("POST", Path("/v1/volumes", id, "/resize"), Encode(req));
}
Result<Volume> Client::AttachVolume(std::string_view id, const AttachVolumeRequest& req) {
  return Call<Volume>("POST", Path("/v1/volumes", id, "/attach"), Encode(req));
}
Result<Volume> Client::DetachVolume(std::string_view id) {
  return Call<Volume>("POST", Path("/v1/volumes", id, "/detach"), {});
}
Result<std::optional<Volume>> Client::ReportVolumeStatus(std::string_view id, const VolumeStatusReport& report) {
  return CallMaybeGone<Volume>("PUT", Path("/v1/volumes", id, "/status"), Encode(report));
}

// ---- Volume snapshots ----
namespace {
std::string SnapshotPath(std::string_view volume_id, std::string_view snapshot_id,
                         std::string_view tail = {}) {
  return Path("/v1/volumes", volume_id, "/snapshots/" + PercentEncode(snapshot_id) + std::string(tail));
}
}  // namespace
Result<VolumeSnapshot> Client::CreateSnapshot(std::string_view volume_id, const CreateSnapshotRequest& req,
                                              const WriteOptions& w) {
  return Call<VolumeSnapshot>("POST", Path("/v1/volumes", volume_id, "/snapshots"), Encode(req), w);
}
Result<VolumeSnapshot> Client::GetSnapshot(std::string_view volume_id, std::string_view snapshot_id) {
  return Call<VolumeSnapshot>("GET", SnapshotPath(volume_id, snapshot_id), {});
}
Result<ListPage<VolumeSnapshot>> Client::ListSnapshots(std::string_view volume_id, const PageQuery& q) {
  return Call<ListPage<VolumeSnapshot>>(
      "GET", Target(Path("/v1/volumes", volume_id, "/snapshots")).Page(q).str(), {});
}
Result<std::optional<VolumeSnapshot>> Client::DeleteSnapshot(std::string_view volume_id,
                                                             std::string_view snapshot_id, bool flatten) {
  Target t(SnapshotPath(volume_id, snapshot_id));
  if (flatten) t.Add("flatten", "true");
  return CallMaybeGone<VolumeSnapshot>("DELETE", t.str(), {});
}
Result<Volume> Client::RollbackVolume(std::string_view volume_id, std::string_view snapshot_id) {
  return Call<Volume>("POST", SnapshotPath(volume_id, snapshot_id, "/rollback"), {});
}
Result<std::optional<VolumeSnapshot>> Client::ReportSnapshotStatus(std::string_view volume_id,
                                                                   std::string_view snapshot_id,
                                                                   const SnapshotStatusReport& report) {
  return CallMaybeGone<VolumeSnapshot>("PUT", SnapshotPath(volume_id, snapshot_id, "/status"), Encode(report));
}

// ---- Capacity requests ----
Result<CapacityRequest> Client::CreateCapacityRequest(const api::CreateCapacityRequest& req, const WriteOptions& w) {
  return Call<CapacityRequest>("POST", "/v1/capacity-requests", Encode(req), w);
}
Result<CapacityRequest> Client::GetCapacityRequest(std::string_view id) {
  return Call<CapacityRequest>("GET", Path("/v1/capacity-requests", id), {});
}
Result<ListPage<CapacityRequest>> Client::ListCapacityRequests(const PageQuery& q) {
  Target t("/v1/capacity-requests");
  t.Page(q);
  return Call<ListPage<CapacityRequest>>("GET", t.str(), {});
}
Result<CapacityRequest> Client::DecideCapacityRequest(std::string_view id, std::string_view verb,
                                                      const CapacityDecision& decision, const WriteOptions& w) {
  return Call<CapacityRequest>("POST", Path("/v1/capacity-requests", id, "/" + std::string(verb)), Encode(decision), w);
}

// ---- Webhooks ----
Result<Webhook> Client::CreateWebhook(const CreateWebhookRequest& req, const WriteOptions& w) {
  return Call<Webhook>("POST", "/v1/webhooks", Encode(req), w);
}
Result<Webhook> Client::GetWebhook(std::string_view id) { return Call<Webhook>("GET", Path("/v1/webhooks", id), {}); }
Result<ListPage<Webhook>> Client::ListWebhooks(const PageQuery& q) {
  Target t("/v1/webhooks");
  t.Page(q);
  return Call<ListPage<Webhook>>("GET", t.str(), {});
}
Status Client::DeleteWebhook(std::string_view id) { return CallNoContent("DELETE", Path("/v1/webhooks", id)); }
Result<WebhookDelivery> Client::PingWebhook(std::string_view id, const WriteOptions& w) {
  return Call<WebhookDelivery>("POST", Path("/v1/webhooks", id, "/ping"), {}, w);
}
Result<ListPage<WebhookDelivery>> Client::ListWebhookDeliveries(std::string_view id, const PageQuery& q) {
  Target t(Path("/v1/webhooks", id, "/deliveries"));
  t.Page(q);
  return Call<ListPage<WebhookDelivery>>("GET", t.str(), {});
}

// ---- Backups ----
Result<BackupPolicy> Client::CreateBackupPolicy(const CreateBackupPolicyRequest& req, const WriteOptions& w) {
  return Call<BackupPolicy>("POST", "/v1/backup-policies", Encode(req), w);
}
Result<BackupPolicy> Client::GetBackupPolicy(std::string_view id) {
  return Call<BackupPolicy>("GET", Path("/v1/backup-policies", id), {});
}
Result<ListPage<BackupPolicy>> Client::ListBackupPolicies(const BackupQuery& q) {
  Target t("/v1/backup-policies");
  t.Page(q).Add("department_id", q.department_id);
  return Call<ListPage<BackupPolicy>>("GET", t.str(), {});
}
Result<BackupPolicy> Client::PatchBackupPolicy(std::string_view id, const PatchBackupPolicyRequest& req,
                                               const WriteOptions& w) {
  return Call<BackupPolicy>("PATCH", Path("/v1/backup-policies", id), Encode(req), w);
}
Status Client::DeleteBackupPolicy(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/backup-policies", id), w);
}
Result<Backup> Client::CreateBackup(const CreateBackupRequest& req, const WriteOptions& w) {
  return Call<Backup>("POST", "/v1/backups", Encode(req), w);
}
Result<Backup> Client::GetBackup(std::string_view id) { return Call<Backup>("GET", Path("/v1/backups", id), {}); }
Result<ListPage<Backup>> Client::ListBackups(const BackupQuery& q) {
  Target t("/v1/backups");
  t.Page(q).Add("department_id", q.department_id).Add("volume_id", q.volume_id).Add("policy_id", q.policy_id);
  return Call<ListPage<Backup>>("GET", t.str(), {});
}
Result<std::optional<Backup>> Client::DeleteBackup(std::string_view id, const WriteOptions& w) {
  return CallMaybeGone<Backup>("DELETE", Path("/v1/backups", id), {}, w);
}
Result<Network> Client::CreateNetwork(const CreateNetworkRequest& req, const WriteOptions& w) {
  return Call<Network>("POST", "/v1/networks", Encode(req), w);
}
Result<Network> Client::GetNetwork(std::string_view id) { return Call<Network>("GET", Path("/v1/networks", id), {}); }
Result<ListPage<Network>> Client::ListNetworks(const NetworkQuery& q) {
  Target t("/v1/networks");
  t.Page(q).Add("department_id", q.department_id);
  return Call<ListPage<Network>>("GET", t.str(), {});
}
Status Client::DeleteNetwork(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/networks", id), w);
}
Result<Subnet> Client::CreateSubnet(const CreateSubnetRequest& req, const WriteOptions& w) {
  return Call<Subnet>("POST", "/v1/subnets", Encode(req), w);
}
Result<Subnet> Client::GetSubnet(std::string_view id) { return Call<Subnet>("GET", Path("/v1/subnets", id), {}); }
Result<ListPage<Subnet>> Client::ListSubnets(const SubnetQuery& q) {
  Target t("/v1/subnets");
  t.Page(q).Add("network_id", q.network_id);
  return Call<ListPage<Subnet>>("GET", t.str(), {});
}
Status Client::DeleteSubnet(std::string_view id) { return CallNoContent("DELETE", Path("/v1/subnets", id), {}); }
Result<Port> Client::CreatePort(const CreatePortRequest& req, const WriteOptions& w) {
  return Call<Port>("POST", "/v1/ports", Encode(req), w);
}
Result<Port> Client::GetPort(std::string_view id) { return Call<Port>("GET", Path("/v1/ports", id), {}); }
Result<ListPage<Port>> Client::ListPorts(const PortQuery& q) {
  Target t("/v1/ports");
  t.Page(q).Add("network_id", q.network_id).Add("device_id", q.device_id).Add("department_id", q.department_id);
  return Call<ListPage<Port>>("GET", t.str(), {});
}
Status Client::DeletePort(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/ports", id), w);
}
Result<Port> Client::ReportPortStatus(std::string_view id, const PortStatusReport& report) {
  return Call<Port>("PUT", Path("/v1/ports", id, "/status"), Encode(report));
}
Result<Port> Client::PatchPort(std::string_view id, const PatchPortRequest& req, const WriteOptions& w) {
  return Call<Port>("PATCH", Path("/v1/ports", id), Encode(req), w);
}
Result<SecurityGroup> Client::CreateSecurityGroup(const CreateSecurityGroupRequest& req, const WriteOptions& w) {
  return Call<SecurityGroup>("POST", "/v1/security-groups", Encode(req), w);
}
Result<SecurityGroup> Client::GetSecurityGroup(std::string_view id) {
  return Call<SecurityGroup>("GET", Path("/v1/security-groups", id), {});
}
Result<ListPage<SecurityGroup>> Client::ListSecurityGroups(const SecurityGroupQuery& q) {
  Target t("/v1/security-groups");
  t.Page(q).Add("department_id", q.department_id);
  return Call<ListPage<SecurityGroup>>("GET", t.str(), {});
}
Result<SecurityGroup> Client::PatchSecurityGroup(std::string_view id, const PatchSecurityGroupRequest& req,
                                                 const WriteOptions& w) {
  return Call<SecurityGroup>("PATCH", Path("/v1/security-groups", id), Encode(req), w);
}
Status Client::DeleteSecurityGroup(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/security-groups", id), w);
}
Result<SecurityGroup> Client::AddSecurityGroupRule(std::string_view group_id, const CreateSecurityGroupRuleRequest& req,
                                                   const WriteOptions& w) {
  return Call<SecurityGroup>("POST", Path("/v1/security-groups", group_id, "/rules"), Encode(req), w);
}
Status Client::DeleteSecurityGroupRule(std::string_view group_id, std::string_view rule_id) {
  return CallNoContent("DELETE", Path("/v1/security-groups", group_id, "/rules/" + PercentEncode(rule_id)), {});
}
Result<Router> Client::CreateRouter(const CreateRouterRequest& req, const WriteOptions& w) {
  return Call<Router>("POST", "/v1/routers", Encode(req), w);
}
Result<Router> Client::GetRouter(std::string_view id) { return Call<Router>("GET", Path("/v1/routers", id), {}); }
Result<ListPage<Router>> Client::ListRouters(const RouterQuery& q) {
  Target t("/v1/routers");
  t.Page(q).Add("department_id", q.department_id);
  return Call<ListPage<Router>>("GET", t.str(), {});
}
Result<Router> Client::PatchRouter(std::string_view id, const PatchRouterRequest& req, const WriteOptions& w) {
  return Call<Router>("PATCH", Path("/v1/routers", id), Encode(req), w);
}
Status Client::DeleteRouter(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/routers", id), w);
}
Result<Router> Client::AddRouterInterface(std::string_view router_id, const RouterInterfaceRequest& req,
                                          const WriteOptions& w) {
  return Call<Router>("POST", Path("/v1/routers", router_id, "/interfaces"), Encode(req), w);
}
Result<Router> Client::RemoveRouterInterface(std::string_view router_id, std::string_view subnet_id) {
  return Call<Router>("DELETE", Path("/v1/routers", router_id, "/interfaces/" + PercentEncode(subnet_id)), {});
}
Result<FloatingIp> Client::CreateFloatingIp(const CreateFloatingIpRequest& req, const WriteOptions& w) {
  return Call<FloatingIp>("POST", "/v1/floating-ips", Encode(req), w);
}
Result<FloatingIp> Client::GetFloatingIp(std::string_view id) {
  return Call<FloatingIp>("GET", Path("/v1/floating-ips", id), {});
}
Result<ListPage<FloatingIp>> Client::ListFloatingIps(const FloatingIpQuery& q) {
  Target t("/v1/floating-ips");
  t.Page(q).Add("department_id", q.department_id).Add("port_id", q.port_id).Add("floating_network_id",
                                                                                q.floating_network_id);
  return Call<ListPage<FloatingIp>>("GET", t.str(), {});
}
Result<FloatingIp> Client::PatchFloatingIp(std::string_view id, const PatchFloatingIpRequest& req,
                                           const WriteOptions& w) {
  return Call<FloatingIp>("PATCH", Path("/v1/floating-ips", id), Encode(req), w);
}
Status Client::DeleteFloatingIp(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/floating-ips", id), w);
}
Result<Volume> Client::RestoreBackup(std::string_view id, const RestoreBackupRequest& req, const WriteOptions& w) {
  return Call<Volume>("POST", Path("/v1/backups", id, "/restore"), Encode(req), w);
}
Result<std::optional<Backup>> Client::ReportBackupStatus(std::string_view id, const BackupStatusReport& report) {
  return CallMaybeGone<Backup>("PUT", Path("/v1/backups", id, "/status"), Encode(report));
}

// ---- Images ----
Result<Image> Client::CreateImage(const CreateImageRequest& req, const WriteOptions& w) {
  return Call<Image>("POST", "/v1/images", Encode(req), w);
}
Result<Image> Client::GetImage(std::string_view id_or_name) {
  return Call<Image>("GET", Path("/v1/images", id_or_name), {});
}
Result<ListPage<Image>> Client::ListImages(const PageQuery& q) {
  return Call<ListPage<Image>>("GET", Target("/v1/images").Page(q).str(), {});
}
Result<std::optional<Image>> Client::DeleteImage(std::string_view id) {
  return CallMaybeGone<Image>("DELETE", Path("/v1/images", id), {});
}
Result<Image> Client::VerifyImage(std::string_view id) {
  return Call<Image>("POST", Path("/v1/images", id, "/verify"), {});
}
Result<std::optional<Image>> Client::ReportImageStatus(std::string_view id, const ImageStatusReport& report) {
  return CallMaybeGone<Image>("PUT", Path("/v1/images", id, "/status"), Encode(report));
}
Result<Image> Client::UploadImageData(std::string_view id, BodyReader source, std::uint64_t length,
                                      ProgressCallback on_progress) {
  const std::string target = Path("/v1/images", id, "/data");
  GP_ASSIGN_OR_RETURN(HttpResponse resp,
                      http_->Upload("PUT", target, std::move(source), length, std::move(on_progress),
                                    {{"Content-Type", "application/octet-stream"}}));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  auto value = Decode<Image>(resp.body);
  if (!value.ok()) return Internal("PUT " + target + ": the answer does not decode: " + value.status().message());
  return value;
}
Status Client::DownloadImageData(std::string_view id, BodyWriter sink) {
  const std::string target = Path("/v1/images", id, "/data");
  GP_ASSIGN_OR_RETURN(HttpResponse resp, http_->Download(target, std::move(sink)));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  return OkStatus();
}
Status Client::DownloadStateBackup(BodyWriter sink) {
  GP_ASSIGN_OR_RETURN(HttpResponse resp, http_->Download("/v1/system/backup", std::move(sink)));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  return OkStatus();
}

// ---- Server groups, preview ----
Result<ServerGroup> Client::CreateServerGroup(const CreateServerGroupRequest& req, const WriteOptions& w) {
  return Call<ServerGroup>("POST", "/v1/server-groups", Encode(req), w);
}
Result<ServerGroup> Client::GetServerGroup(std::string_view id) {
  return Call<ServerGroup>("GET", Path("/v1/server-groups", id), {});
}
Result<ListPage<ServerGroup>> Client::ListServerGroups(const PageQuery& q) {
  return Call<ListPage<ServerGroup>>("GET", Target("/v1/server-groups").Page(q).str(), {});
}
Status Client::DeleteServerGroup(std::string_view id) {
  return CallNoContent("DELETE", Path("/v1/server-groups", id));
}
Result<PreviewAnswer> Client::PreviewPlacement(const PreviewRequest& req) {
  return Call<PreviewAnswer>("POST", "/v1/scheduler/preview", Encode(req));
}

// ---- Login and self-service ----
Result<LoginAnswer> Client::Login(const LoginRequest& req) {
  return Call<LoginAnswer>("POST", "/v1/auth/login", Encode(req));
}
Status Client::Logout() { return CallNoContent("POST", "/v1/auth/logout"); }
Result<SessionAnswer> Client::GetSession() { return Call<SessionAnswer>("GET", "/v1/auth/session", {}); }
Status Client::ChangePassword(const ChangePasswordRequest& req) {
  return Send("POST", "/v1/auth/password", Encode(req), {}).status();
}
Result<TotpEnrolmentAnswer> Client::BeginTotpEnrolment() {
  return Call<TotpEnrolmentAnswer>("POST", "/v1/auth/totp", {});
}
Result<RecoveryCodesAnswer> Client::ConfirmTotpEnrolment(const ConfirmTotpRequest& req) {
  return Call<RecoveryCodesAnswer>("POST", "/v1/auth/totp/confirm", Encode(req));
}
Result<AuthPolicy> Client::GetAuthPolicy() { return Call<AuthPolicy>("GET", "/v1/auth/policy", {}); }
Result<AuthPolicy> Client::PutAuthPolicy(const PutAuthPolicyRequest& req, const WriteOptions& w) {
  return Call<AuthPolicy>("PUT", "/v1/auth/policy", Encode(req), w);
}

// ---- Users, tokens, events ----
Result<User> Client::CreateUser(const CreateUserRequest& req, const WriteOptions& w) {
  return Call<User>("POST", "/v1/users", Encode(req), w);
}
Result<User> Client::GetUser(std::string_view id) { return Call<User>("GET", Path("/v1/users", id), {}); }
Result<ListPage<User>> Client::ListUsers(const PageQuery& q) {
  return Call<ListPage<User>>("GET", Target("/v1/users").Page(q).str(), {});
}
Result<User> Client::PatchUser(std::string_view id, const PatchUserRequest& req, const WriteOptions& w) {
  return Call<User>("PATCH", Path("/v1/users", id), Encode(req), w);
}
Status Client::DeleteUser(std::string_view id, const WriteOptions& w) {
  return CallNoContent("DELETE", Path("/v1/users", id), w);
}
Result<PasswordResetAnswer> Client::ResetUserPassword(std::string_view id) {
  return Call<PasswordResetAnswer>("POST", Path("/v1/users", id, "/password-reset"), {});
}
Status Client::ResetUserTotp(std::string_view id) { return CallNoContent("DELETE", Path("/v1/users", id, "/totp")); }
Result<NewTokenAnswer> Client::CreateToken(std::string_view user_id, const CreateTokenRequest& req) {
  return Call<NewTokenAnswer>("POST", Path("/v1/users", user_id, "/tokens"), Encode(req));
}
Result<ListPage<Token>> Client::ListTokens(std::string_view user_id, const PageQuery& q) {
  return Call<ListPage<Token>>("GET", Target(Path("/v1/users", user_id, "/tokens")).Page(q).str(), {});
}
Status Client::RevokeToken(std::string_view user_id, std::string_view token_id) {
  return CallNoContent("DELETE", Path("/v1/users", user_id, "/tokens/" + PercentEncode(token_id)));
}
Result<ListPage<Event>> Client::ListEvents(const EventQuery& q) {
  return Call<ListPage<Event>>(
      "GET", Target("/v1/events").Add("limit", q.limit).Add("host_id", q.host_id).Add("vm_id", q.vm_id).str(), {});
}

Result<ConsolidationReport> Client::GetConsolidationReport() {
  return Call<ConsolidationReport>("GET", "/v1/reports/consolidation", {});
}

namespace {
Target UtilisationTarget(const UtilisationQuery& q) {
  Target t("/v1/reports/utilisation");
  t.Add("group_by", q.group_by).Add("from", q.from).Add("to", q.to);
  return t;
}
}  // namespace
Result<UtilisationReport> Client::GetUtilisationReport(const UtilisationQuery& q) {
  return Call<UtilisationReport>("GET", UtilisationTarget(q).str(), {});
}
Result<std::string> Client::GetUtilisationCsv(const UtilisationQuery& q) {
  Target t = UtilisationTarget(q);
  t.Add("format", std::string("csv"));
  std::string csv;
  GP_ASSIGN_OR_RETURN(HttpResponse resp, http_->Download(t.str(), [&](std::string_view chunk) {
    csv += chunk;
    return OkStatus();
  }));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  return csv;
}

// ---- The audit trail ----
namespace {
Target AuditTarget(std::string path, const AuditQuery& q) {
  Target t(std::move(path));
  t.Add("from_ms", q.from_ms).Add("to_ms", q.to_ms).Add("user", q.user)
      .Add("department_id", q.department_id).Add("outcome", q.outcome).Add("kind", q.kind);
  return t;
}
}  // namespace
Result<ListPage<AuditRecord>> Client::ListAudit(const AuditQuery& q) {
  return Call<ListPage<AuditRecord>>("GET", AuditTarget("/v1/audit", q).Page(q).str(), {});
}
Status Client::ExportAudit(const AuditQuery& q, std::string_view format, BodyWriter sink) {
  Target t = AuditTarget("/v1/audit/export", q);
  t.Add("format", std::string(format));
  GP_ASSIGN_OR_RETURN(HttpResponse resp, http_->Download(t.str(), std::move(sink)));
  if (resp.status < 200 || resp.status >= 300) return StatusFromResponse(resp);
  return OkStatus();
}
Result<AuditVerifyAnswer> Client::VerifyAudit() { return Call<AuditVerifyAnswer>("POST", "/v1/audit/verify", {}); }

}  // namespace govpool::api
