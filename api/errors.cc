#include "api/errors.h"

#include "api/codec.h"

namespace govpool::api {
namespace {

// Reasons that refine a canonical code and answer with their own HTTP status.
struct ReasonRule {
  std::string_view reason;
  StatusCode code;
  int http_status;
};
constexpr ReasonRule kReasons[] = {
    {"QUOTA_EXCEEDED", StatusCode::kResourceExhausted, 403},  // as Nova and Kubernetes answer
    {"NO_VALID_HOST", StatusCode::kResourceExhausted, 409},   // capacity, not a fault (Nova: 500)
    {"IDEMPOTENCY_KEY_REUSED", StatusCode::kInvalidArgument, 422},
    {"METHOD_NOT_ALLOWED", StatusCode::kInvalidArgument, 405},
    {"WATCH_EXPIRED", StatusCode::kFailedPrecondition, 410},
    {"HEADERS_TOO_LARGE", StatusCode::kInvalidArgument, 431},
    {"PAYLOAD_TOO_LARGE", StatusCode::kInvalidArgument, 413},
    // Storage (docs/storage.md): capacity refusals are 409 like NO_VALID_HOST.
    {"NO_VALID_STORAGE_POOL", StatusCode::kResourceExhausted, 409},
    {"STORAGE_POOL_NEARFULL", StatusCode::kResourceExhausted, 409},
    {"VOLUME_IN_USE", StatusCode::kFailedPrecondition, 409},
    {"HAS_DEPENDENTS", StatusCode::kFailedPrecondition, 409},
    {"IMAGE_NOT_READY", StatusCode::kFailedPrecondition, 409},
    {"BACKUP_IN_PROGRESS", StatusCode::kFailedPrecondition, 409},
    {"BACKUP_NOT_READY", StatusCode::kFailedPrecondition, 409},
    {"IMAGE_CHECKSUM_MISMATCH", StatusCode::kFailedPrecondition, 409},
    // Networks (docs/networking.md): an exhausted subnet is capacity, like NO_VALID_HOST.
    {"SUBNET_FULL", StatusCode::kResourceExhausted, 409},
    {"IP_ADDRESS_IN_USE", StatusCode::kConflict, 409},
    {"MAC_ADDRESS_IN_USE", StatusCode::kConflict, 409},
    {"PORT_IN_USE", StatusCode::kFailedPrecondition, 409},  // bound to a VM (like VOLUME_IN_USE)
    // Security groups, routers, floating IPs (docs/networking.md).
    {"SECURITY_GROUP_IN_USE", StatusCode::kFailedPrecondition, 409},
    {"ROUTER_IN_USE", StatusCode::kFailedPrecondition, 409},
    {"SUBNET_ALREADY_ATTACHED", StatusCode::kConflict, 409},
    {"SUBNET_OVERLAP", StatusCode::kConflict, 409},
    {"EXTERNAL_NETWORK_UNREACHABLE", StatusCode::kFailedPrecondition, 409},
    {"PORT_HAS_FLOATING_IP", StatusCode::kConflict, 409},
};

constexpr StatusCode kAllCodes[] = {
    StatusCode::kInvalidArgument,   StatusCode::kNotFound,         StatusCode::kAlreadyExists,
    StatusCode::kConflict,          StatusCode::kFailedPrecondition, StatusCode::kResourceExhausted,
    StatusCode::kPermissionDenied,  StatusCode::kUnauthenticated,  StatusCode::kUnavailable,
    StatusCode::kDeadlineExceeded,  StatusCode::kUnimplemented,    StatusCode::kInternal,
};

int HttpStatusForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kConflict: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

// For answers without a recognisable code: the most likely code for the HTTP status.
StatusCode CodeForHttp(int http_status) {
  switch (http_status) {
    case 400: case 405: case 413: case 422: case 431: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kConflict;
    case 410: case 412: return StatusCode::kFailedPrecondition;
    case 429: return StatusCode::kResourceExhausted;
    case 501: return StatusCode::kUnimplemented;
    case 502: case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default: return StatusCode::kInternal;
  }
}

}  // namespace

int HttpStatusFor(const Status& s) {
  for (const ReasonRule& r : kReasons) {
    if (s.reason() == r.reason) return r.http_status;
  }
  return HttpStatusForCode(s.code());
}

Status StatusForHttp(int http_status, std::string_view code, std::string message) {
  for (StatusCode c : kAllCodes) {
    if (code == StatusCodeName(c)) return Status(c, std::move(message));
  }
  for (const ReasonRule& r : kReasons) {
    if (code == r.reason) return Status(r.code, std::move(message)).WithReason(std::string(code));
  }
  Status s(CodeForHttp(http_status), std::move(message));
  // A reason this client does not know yet (a newer server's) still reaches the caller.
  if (!code.empty()) s = std::move(s).WithReason(std::string(code));
  return s;
}

HttpResponse ErrorResponse(const Status& status) {
  HttpResponse r;
  r.status = HttpStatusFor(status);
  r.body = EncodeError(status);
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"govpool\"");
  }
  return r;
}

HttpResponse JsonResponse(int http_status, std::string body) {
  HttpResponse r;
  r.status = http_status;
  r.body = std::move(body);
  return r;
}

}  // namespace govpool::api
