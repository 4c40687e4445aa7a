// The OpenAPI document (api/openapi/govpool.yaml) against the declarations (api/types.h): each
// component schema named below has exactly the properties its C++ type declares, with the same
// JSON types, enum values and nested shapes, and a request schema requires exactly the fields
// its type marks kRequired. Documented enum values must be declared ones. The route list itself is compared with the router in
// tests/unit/controller/openapi_conformance_test.cc.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/fields.h"
#include "api/types.h"

#ifndef GOVPOOL_OPENAPI_FILE
#error "GOVPOOL_OPENAPI_FILE must name api/openapi/govpool.yaml"
#endif

namespace govpool::api {
namespace {

using schema::Shape;

class Document {
 public:
  explicit Document(const YAML::Node& root) : root_(root) {}

  YAML::Node Schema(const std::string& name) const { return root_["components"]["schemas"][name]; }

  // Follows $ref and merges allOf: the effective object schema.
  struct Resolved {
    std::string type;
    std::map<std::string, YAML::Node> properties;
    std::set<std::string> required;
    YAML::Node node;
  };
  Resolved Resolve(YAML::Node node) const {
    Resolved out;
    node = Deref(node);
    out.node = node;
    if (node["allOf"]) {
      out.type = "object";
      for (const auto& part : node["allOf"]) Merge(out, Resolve(part));
      return out;
    }
    if (node["type"]) out.type = node["type"].as<std::string>();
    if (node["properties"]) {
      if (out.type.empty()) out.type = "object";
      for (const auto& kv : node["properties"]) out.properties[kv.first.as<std::string>()] = kv.second;
    }
    if (node["required"]) {
      for (const auto& r : node["required"]) out.required.insert(r.as<std::string>());
    }
    return out;
  }

  YAML::Node Deref(YAML::Node node) const {
    for (int depth = 0; node["$ref"] && depth < 8; ++depth) {
      const std::string ref = node["$ref"].as<std::string>();
      const std::string prefix = "#/components/schemas/";
      if (ref.rfind(prefix, 0) != 0) break;
      node = Schema(ref.substr(prefix.size()));
    }
    return node;
  }

 private:
  static void Merge(Resolved& into, const Resolved& part) {
    for (const auto& [k, v] : part.properties) into.properties[k] = v;
    into.required.insert(part.required.begin(), part.required.end());
  }
  YAML::Node root_;
};

// Compares the document's schema `node` (at `path`) with the declared properties.
void CompareObject(const Document& doc, const YAML::Node& node, const std::vector<Shape>& declared,
                   const std::string& path, bool check_required) {
  const Document::Resolved resolved = doc.Resolve(node);
  ASSERT_EQ(resolved.type, "object") << path;
  std::set<std::string> declared_names, declared_required;
  for (const Shape& s : declared) {
    declared_names.insert(s.name);
    if (s.required) declared_required.insert(s.name);
  }
  for (const auto& [name, prop] : resolved.properties) {
    EXPECT_TRUE(declared_names.count(name)) << path << "." << name << " is documented but not declared";
  }
  if (check_required) {
    EXPECT_EQ(resolved.required, declared_required) << path << ": required fields differ";
  }
  for (const Shape& s : declared) {
    const std::string where = path + "." + s.name;
    auto it = resolved.properties.find(s.name);
    if (it == resolved.properties.end()) {
      ADD_FAILURE() << where << " is declared but not documented";
      continue;
    }
    YAML::Node prop = doc.Deref(it->second);
    if (s.type == "object" && !s.properties.empty() && prop["additionalProperties"].IsMap()) {
      // A map of declared objects (e.g. usage by resource).
      CompareObject(doc, prop["additionalProperties"], s.properties, where + "{}", false);
      continue;
    }
    if (s.type == "object" && !s.properties.empty()) {
      CompareObject(doc, prop, s.properties, where, check_required);
      continue;
    }
    if (prop["anyOf"] || prop["oneOf"]) continue;  // documented alternatives: not compared here
    const std::string doc_type = doc.Resolve(prop).type;
    EXPECT_EQ(doc_type, s.type) << where << ": JSON type";
    if (!s.enum_values.empty() && prop["enum"]) {
      // The document may list fewer values where a field never shows some (a VM is never
      // shown `deleted`; agents may not report `scheduled`), never a value the code lacks.
      const std::set<std::string> declared_values(s.enum_values.begin(), s.enum_values.end());
      for (const auto& e : prop["enum"]) {
        EXPECT_TRUE(declared_values.count(e.as<std::string>()))
            << where << ": documented value '" << e.as<std::string>() << "' is not declared";
      }
    }
    if (s.type == "array" && prop["items"]) {
      if (!s.properties.empty()) {
        CompareObject(doc, prop["items"], s.properties, where + "[]", check_required);
      } else {
        EXPECT_EQ(doc.Resolve(prop["items"]).type, s.items_type) << where << "[]: JSON type";
      }
    }
  }
}

struct Case {
  std::string schema;  // component name in the document
  std::function<std::vector<Shape>()> declared;
  bool request = false;  // requests: `required` must match kRequired
};

template <class T>
Case Of(std::string schema, bool request = false) {
  return {std::move(schema), [] { return schema::ShapeOf<T>(); }, request};
}

class OpenApiSchemaTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { root_ = new YAML::Node(YAML::LoadFile(GOVPOOL_OPENAPI_FILE)); }
  static void TearDownTestSuite() { delete root_; }
  static YAML::Node* root_;
};
YAML::Node* OpenApiSchemaTest::root_ = nullptr;

TEST_P(OpenApiSchemaTest, DocumentMatchesTheDeclaration) {
  const Case& c = GetParam();
  Document doc(*root_);
  ASSERT_TRUE(doc.Schema(c.schema)) << "no component schema " << c.schema;
  CompareObject(doc, doc.Schema(c.schema), c.declared(), c.schema, c.request);
}

INSTANTIATE_TEST_SUITE_P(
    Declared, OpenApiSchemaTest,
    ::testing::Values(
        Of<Department>("Department"), Of<ListPage<Department>>("DepartmentList"),
        Of<CreateDepartmentRequest>("CreateDepartmentRequest", true),
        Of<PatchDepartmentRequest>("PatchDepartmentRequest", true), Of<DepartmentUsage>("Usage"),
        Of<Flavor>("Flavor"), Of<ListPage<Flavor>>("FlavorList"),
        Of<CreateFlavorRequest>("CreateFlavorRequest", true), Of<Host>("Host"),
        Of<ListPage<Host>>("HostList"), Of<RegisterHostRequest>("RegisterHostRequest", true),
        Of<PatchHostRequest>("PatchHostRequest", true), Of<HeartbeatRequest>("HeartbeatRequest", true),
        Of<Vm>("Vm"), Of<ListPage<Vm>>("VmList"), Of<WatchAnswer>("VmWatch"),
        Of<CreateVmRequest>("CreateVmRequest", true), Of<VmStatusReport>("VmStatusReport", true),
        Of<ServerGroup>("ServerGroup"), Of<ListPage<ServerGroup>>("ServerGroupList"),
        Of<CreateServerGroupRequest>("CreateServerGroupRequest", true),
        Of<PreviewRequest>("PreviewRequest", true), Of<PreviewAnswer>("Preview"),
        Of<ReportEventsRequest>("ReportEventsRequest", true), Of<Event>("Event"),
        Of<ListPage<Event>>("EventList"), Of<User>("User"), Of<ListPage<User>>("UserList"),
        Of<CreateUserRequest>("CreateUserRequest", true), Of<NewTokenAnswer>("NewToken"),
        // Identity.
        Of<PatchUserRequest>("PatchUserRequest", true), Of<PasswordResetAnswer>("PasswordReset"),
        Of<Token>("Token"), Of<ListPage<Token>>("TokenList"),
        Of<CreateTokenRequest>("CreateTokenRequest", true), Of<LoginRequest>("LoginRequest", true),
        Of<LoginAnswer>("Login"), Of<SessionAnswer>("Session"),
        Of<ChangePasswordRequest>("ChangePasswordRequest", true),
        Of<TotpEnrolmentAnswer>("TotpEnrolment"), Of<ConfirmTotpRequest>("ConfirmTotpRequest", true),
        Of<RecoveryCodesAnswer>("RecoveryCodes"), Of<AuthPolicy>("AuthPolicy"),
        Of<PutAuthPolicyRequest>("PutAuthPolicyRequest", true), Of<HostEnrolment>("HostEnrolment"),
        Of<CreateHostEnrolmentRequest>("CreateHostEnrolmentRequest", true),
        Of<NewHostEnrolmentAnswer>("NewHostEnrolment"),
        Of<AgentCertificateRequest>("AgentCertificateRequest", true),
        Of<AgentCertificateAnswer>("AgentCertificate"),
        // Storage.
        Of<StoragePool>("StoragePool"), Of<StoragePoolStats>("StoragePoolStats"),
        Of<ListPage<StoragePool>>("StoragePoolList"),
        Of<CreateStoragePoolRequest>("CreateStoragePoolRequest", true),
        Of<PatchStoragePoolRequest>("PatchStoragePoolRequest", true),
        Of<StoragePoolReport>("StoragePoolReport", true), Of<Volume>("Volume"),
        Of<ListPage<Volume>>("VolumeList"), Of<CreateVolumeRequest>("CreateVolumeRequest", true),
        Of<AttachVolumeRequest>("AttachVolumeRequest", true),
        Of<ResizeVolumeRequest>("ResizeVolumeRequest", true),
        Of<VolumeStatusReport>("VolumeStatusReport", true), Of<VolumeSnapshot>("VolumeSnapshot"),
        Of<ListPage<VolumeSnapshot>>("VolumeSnapshotList"),
        Of<CreateSnapshotRequest>("CreateSnapshotRequest", true),
        Of<SnapshotStatusReport>("SnapshotStatusReport", true), Of<Image>("Image"),
        Of<ListPage<Image>>("ImageList"), Of<CreateImageRequest>("CreateImageRequest", true),
        Of<ImageStatusReport>("ImageStatusReport", true),
        // Backups.
        Of<BackupPolicy>("BackupPolicy"), Of<ListPage<BackupPolicy>>("BackupPolicyList"),
        Of<CreateBackupPolicyRequest>("CreateBackupPolicyRequest", true),
        Of<PatchBackupPolicyRequest>("PatchBackupPolicyRequest", true), Of<Backup>("Backup"),
        Of<ListPage<Backup>>("BackupList"), Of<CreateBackupRequest>("CreateBackupRequest", true),
        Of<RestoreBackupRequest>("RestoreBackupRequest", true),
        Of<BackupStatusReport>("BackupStatusReport", true),
        // Networks.
        Of<Network>("Network"), Of<ListPage<Network>>("NetworkList"),
        Of<CreateNetworkRequest>("CreateNetworkRequest", true), Of<Subnet>("Subnet"),
        Of<ListPage<Subnet>>("SubnetList"), Of<CreateSubnetRequest>("CreateSubnetRequest", true),
        Of<Port>("Port"), Of<ListPage<Port>>("PortList"),
        Of<CreatePortRequest>("CreatePortRequest", true),
        // Security groups, routers, floating IPs.
        Of<PatchPortRequest>("PatchPortRequest", true), Of<SecurityGroup>("SecurityGroup"),
        Of<ListPage<SecurityGroup>>("SecurityGroupList"),
        Of<CreateSecurityGroupRequest>("CreateSecurityGroupRequest", true),
        Of<PatchSecurityGroupRequest>("PatchSecurityGroupRequest", true),
        Of<CreateSecurityGroupRuleRequest>("CreateSecurityGroupRuleRequest", true), Of<Router>("Router"),
        Of<ListPage<Router>>("RouterList"), Of<CreateRouterRequest>("CreateRouterRequest", true),
        Of<PatchRouterRequest>("PatchRouterRequest", true),
        Of<RouterInterfaceRequest>("RouterInterfaceRequest", true), Of<FloatingIp>("FloatingIp"),
        Of<ListPage<FloatingIp>>("FloatingIpList"), Of<CreateFloatingIpRequest>("CreateFloatingIpRequest", true),
        Of<PatchFloatingIpRequest>("PatchFloatingIpRequest", true),
        // The audit trail.
        Of<AuditRecord>("AuditRecord"), Of<ListPage<AuditRecord>>("AuditRecordList"),
        Of<AuditVerifyAnswer>("AuditVerify"),
        // Capacity requests and their webhooks.
        Of<CapacityRequest>("CapacityRequest"), Of<ListPage<CapacityRequest>>("CapacityRequestList"),
        Of<CreateCapacityRequest>("CreateCapacityRequest", true), Of<CapacityDecision>("CapacityDecision", true),
        Of<Webhook>("Webhook"), Of<ListPage<Webhook>>("WebhookList"),
        Of<CreateWebhookRequest>("CreateWebhookRequest", true), Of<WebhookNotification>("WebhookNotification"),
        Of<WebhookDelivery>("WebhookDelivery"), Of<ListPage<WebhookDelivery>>("WebhookDeliveryList")),
    [](const ::testing::TestParamInfo<Case>& param) { return param.param.schema; });

// Every error status an operation documents is one the Status->HTTP table can answer, and
// every operation documents its failures.
TEST(OpenApiStatusTest, DocumentedErrorsAreAnswersTheServerGives) {
  const YAML::Node root = YAML::LoadFile(GOVPOOL_OPENAPI_FILE);
  std::set<int> answerable;
  for (const Status& s :
       {InvalidArgument(""), NotFound(""), AlreadyExists(""), Conflict(""), FailedPrecondition(""),
        ResourceExhausted(""), PermissionDenied(""), Unauthenticated(""), Unavailable(""),
        DeadlineExceeded(""), Unimplemented(""), Internal(""),
        ResourceExhausted("").WithReason("QUOTA_EXCEEDED"), ResourceExhausted("").WithReason("NO_VALID_HOST"),
        InvalidArgument("").WithReason("IDEMPOTENCY_KEY_REUSED"),
        InvalidArgument("").WithReason("METHOD_NOT_ALLOWED"),
        InvalidArgument("").WithReason("HEADERS_TOO_LARGE"),
        InvalidArgument("").WithReason("PAYLOAD_TOO_LARGE"),
        ResourceExhausted("").WithReason("NO_VALID_STORAGE_POOL"),
        ResourceExhausted("").WithReason("STORAGE_POOL_NEARFULL"),
        FailedPrecondition("").WithReason("VOLUME_IN_USE"),
        FailedPrecondition("").WithReason("HAS_DEPENDENTS"),
        FailedPrecondition("").WithReason("IMAGE_NOT_READY"),
        FailedPrecondition("").WithReason("IMAGE_CHECKSUM_MISMATCH"),
        FailedPrecondition("").WithReason("BACKUP_IN_PROGRESS"),
        FailedPrecondition("").WithReason("BACKUP_NOT_READY")}) {
    answerable.insert(HttpStatusFor(s));
  }
  int operations = 0;
  for (const auto& path : root["paths"]) {
    for (const auto& op : path.second) {
      const std::string method = op.first.as<std::string>();
      if (method == "parameters") continue;
      ++operations;
      const std::string where = method + " " + path.first.as<std::string>();
      bool has_error = false;
      for (const auto& response : op.second["responses"]) {
        const int code = std::stoi(response.first.as<std::string>());
        if (code < 400) continue;
        has_error = true;
        EXPECT_TRUE(answerable.count(code)) << where << " documents " << code << ", which no Status maps to";
      }
      EXPECT_TRUE(has_error || path.first.as<std::string>().rfind("/v1/", 0) != 0)
          << where << " documents no error answer";
    }
  }
  EXPECT_GE(operations, 30);
}

}  // namespace
}  // namespace govpool::api
