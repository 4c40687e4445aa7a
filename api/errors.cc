#include "api/errors.h"

#include "api/codec.h"

namespace govpool::api {

int HttpStatusFor(const Status& s) {
  // Reasons that refine a code and answer differently from it.
  const std::string_view reason = s.reason();
  if (reason == "QUOTA_EXCEEDED") return 403;  // as Nova and Kubernetes answer quota refusals
  if (reason == "NO_VALID_HOST") return 409;   // capacity, not a server fault (Nova's 500)
  if (reason == "IDEMPOTENCY_KEY_REUSED") return 422;
  if (reason == "METHOD_NOT_ALLOWED") return 405;
  if (reason == "WATCH_EXPIRED") return 410;
  switch (s.code()) {
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
