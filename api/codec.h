// JSON codecs for the wire types (Boost.JSON stays inside codec.cc).
//
// Encode*: the API (and storage) JSON of a resource. Decode*: reads a stored resource back;
// it tolerates unknown fields so that older binaries can read newer records.
// Parse*Request: reads a request body strictly: malformed JSON, unknown fields, wrong types,
// missing required fields and out-of-range numbers are InvalidArgument with details
// {"field": "<path>"} naming the offending field. Thread-safe (pure functions).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/types.h"
#include "common/result.h"
#include "common/status.h"

namespace govpool::api {

// Limits that make numbers "absurd" when exceeded.
inline constexpr std::int64_t kMaxVcpus = 4096;
inline constexpr std::int64_t kMaxMemoryMib = 64LL * 1024 * 1024;  // 64 TiB
inline constexpr std::int64_t kMaxDiskGib = 1024LL * 1024;         // 1 PiB
inline constexpr std::int64_t kMaxQuota = 1'000'000'000;
inline constexpr double kMaxAllocationRatio = 64.0;

std::string EncodeDepartment(const Department& d);
std::string EncodeFlavor(const Flavor& f);
std::string EncodeHost(const Host& h);
std::string EncodeVm(const Vm& v);
std::string EncodeUser(const User& u);
std::string EncodeServerGroup(const ServerGroup& g);
std::string EncodeToken(const Token& t);  // storage only: includes the secret's digest
std::string EncodeIdempotencyRecord(const IdempotencyRecord& r);  // storage only

Result<Department> DecodeDepartment(std::string_view json);
Result<Flavor> DecodeFlavor(std::string_view json);
Result<Host> DecodeHost(std::string_view json);
Result<Vm> DecodeVm(std::string_view json);
Result<User> DecodeUser(std::string_view json);
Result<ServerGroup> DecodeServerGroup(std::string_view json);
Result<Token> DecodeToken(std::string_view json);
Result<IdempotencyRecord> DecodeIdempotencyRecord(std::string_view json);

Result<CreateDepartmentRequest> ParseCreateDepartmentRequest(std::string_view body);
Result<PatchDepartmentRequest> ParsePatchDepartmentRequest(std::string_view body);
Result<CreateFlavorRequest> ParseCreateFlavorRequest(std::string_view body);
Result<RegisterHostRequest> ParseRegisterHostRequest(std::string_view body);
Result<PatchHostRequest> ParsePatchHostRequest(std::string_view body);
// An empty body is a heartbeat without usage.
Result<HeartbeatRequest> ParseHeartbeatRequest(std::string_view body);
std::string EncodeHeartbeatRequest(const HeartbeatRequest& req);
Result<CreateVmRequest> ParseCreateVmRequest(std::string_view body);
Result<CreateServerGroupRequest> ParseCreateServerGroupRequest(std::string_view body);
Result<PreviewRequest> ParsePreviewRequest(std::string_view body);
Result<CreateUserRequest> ParseCreateUserRequest(std::string_view body);
Result<CreateTokenRequest> ParseCreateTokenRequest(std::string_view body);
Result<VmStatusReport> ParseVmStatusReport(std::string_view body);
Result<ReportEventsRequest> ParseReportEventsRequest(std::string_view body);
std::string EncodeReportEventsRequest(const ReportEventsRequest& req);
std::string EncodeEvent(const Event& e);
// Accepts an empty body or "{}" (for action endpoints); anything else is InvalidArgument.
Status ParseEmptyBody(std::string_view body);

// {"items":[<items...>],"next_page_token":"..."}; items are already-encoded JSON objects.
std::string EncodeList(const std::vector<std::string>& encoded_items,
                       std::string_view next_page_token);
// {"department_id":...,"usage":{"instances":{"used":3,"limit":10},...}}
std::string EncodeUsage(const std::string& department_id, const Quota& used, const Quota& limit);
// {"fits":true,"assignments":[{"host_id":..,"host_name":..}],"explanation":{...}}
struct PreviewAssignment {
  std::string host_id;
  std::string host_name;
};
std::string EncodePreview(bool fits, const std::vector<PreviewAssignment>& assignments,
                          std::int64_t hosts_total, std::int64_t hosts_fit,
                          const std::map<std::string, std::int64_t>& rejected,
                          const std::string& summary);
// {"error":{"code":"...","message":"...","details":{...}}}
std::string EncodeError(const Status& status);
// {"user":{...},"token":"<secret>","token_id":"..."}: the only time a secret leaves the server.
std::string EncodeNewToken(const User& user, const Token& token, std::string_view secret);

}  // namespace govpool::api
