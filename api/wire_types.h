// Every wire type, once, as an X-macro: GOVPOOL_API_WIRE_TYPES(X) expands X(T) for each type
// the codecs (codec.h) are defined for. Adding a type to the API adds one line here; codec.cc
// instantiates the codecs from it, codec.h constrains them to it (`WireType`) and the decoder
// fuzzer (tests/fuzz) feeds every one of them.
#pragma once

#include "api/types.h"

#define GOVPOOL_API_WIRE_TYPES(X)                                                        \
  X(Department) X(Flavor) X(ServerGroup) X(Host) X(Vm) X(User) X(Token) X(Event)         \
  X(IdempotencyRecord) X(HostCapacity) X(HostActualUsage) X(Quota)                       \
  X(CreateDepartmentRequest) X(PatchDepartmentRequest) X(CreateFlavorRequest)            \
  X(CreateServerGroupRequest) X(RegisterHostRequest) X(HeartbeatRequest)                 \
  X(PatchHostRequest) X(CreateVmRequest) X(PreviewRequest) X(CreateUserRequest)          \
  X(CreateTokenRequest) X(VmStatusReport) X(ReportEventsRequest)                         \
  X(ListPage<Department>) X(ListPage<Flavor>) X(ListPage<ServerGroup>) X(ListPage<Host>) \
  X(ListPage<Vm>) X(ListPage<User>) X(ListPage<Event>) X(WatchAnswer)                    \
  X(DepartmentUsage) X(PreviewAnswer) X(NewTokenAnswer)                                 \
  X(Session) X(AuthPolicy) X(ListPage<Token>) X(PatchUserRequest) X(LoginRequest)        \
  X(ChangePasswordRequest) X(ConfirmTotpRequest) X(PutAuthPolicyRequest) X(LoginAnswer)  \
  X(SessionAnswer) X(TotpEnrolmentAnswer) X(RecoveryCodesAnswer) X(PasswordResetAnswer)  \
  X(StoragePool) X(Volume) X(VolumeSnapshot) X(Image) X(StoragePoolReport)               \
  X(CreateStoragePoolRequest) X(PatchStoragePoolRequest) X(CreateVolumeRequest)          \
  X(AttachVolumeRequest) X(ResizeVolumeRequest) X(CreateSnapshotRequest)                 \
  X(CreateImageRequest) X(VolumeStatusReport) X(SnapshotStatusReport)                    \
  X(ImageStatusReport) X(ListPage<StoragePool>) X(ListPage<Volume>)                      \
  X(ListPage<VolumeSnapshot>) X(ListPage<Image>) X(BackupPolicy) X(Backup)               \
  X(CreateBackupPolicyRequest) X(PatchBackupPolicyRequest) X(CreateBackupRequest)        \
  X(RestoreBackupRequest) X(BackupStatusReport) X(ListPage<BackupPolicy>)                \
  X(ListPage<Backup>) X(Network) X(Subnet) X(Port) X(CreateNetworkRequest)              \
  X(CreateSubnetRequest) X(CreatePortRequest) X(ListPage<Network>) X(ListPage<Subnet>)   \
  X(ListPage<Port>) X(NicRequest) X(PortStatusReport)                                   \
  X(SecurityGroup) X(Router) X(FloatingIp) X(PatchPortRequest)                            \
  X(CreateSecurityGroupRequest) X(PatchSecurityGroupRequest)                              \
  X(CreateSecurityGroupRuleRequest) X(CreateRouterRequest) X(PatchRouterRequest)          \
  X(RouterInterfaceRequest) X(CreateFloatingIpRequest) X(PatchFloatingIpRequest)          \
  X(ListPage<SecurityGroup>) X(ListPage<Router>) X(ListPage<FloatingIp>)               \
  X(AuditRecord) X(AuditCheckpoint) X(AuditVerifyAnswer) X(ListPage<AuditRecord>)          \
  X(HostEnrolment) X(CreateHostEnrolmentRequest) X(NewHostEnrolmentAnswer)                \
  X(AgentCertificateRequest) X(AgentCertificateAnswer) X(AgentCertificate)               \
  X(PoolConsolidation) X(ConsolidationReport) X(VmActualUsage)       \
  X(UtilisationFigures) X(UtilisationHour) X(UtilisationSeries) X(UtilisationReport) \
  X(CapacityRequest) X(CreateCapacityRequest) X(CapacityDecision) X(ListPage<CapacityRequest>) \
  X(Webhook) X(CreateWebhookRequest) X(WebhookNotification) X(WebhookDelivery) X(ListPage<Webhook>) \
  X(ListPage<WebhookDelivery>)

namespace govpool::api {

// True for the types listed above: the codecs' constraint. Cheap to see, unlike the field lists
// (api/fields.h) that define what the codecs do with each type.
template <class T>
inline constexpr bool kIsWireType = false;
#define GOVPOOL_API_MARK_WIRE_TYPE(T) \
  template <>                         \
  inline constexpr bool kIsWireType<T> = true;
GOVPOOL_API_WIRE_TYPES(GOVPOOL_API_MARK_WIRE_TYPE)
#undef GOVPOOL_API_MARK_WIRE_TYPE

template <class T>
concept WireType = kIsWireType<T>;

}  // namespace govpool::api
