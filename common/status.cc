#include "common/status.h"

namespace govpool {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kConflict: return "CONFLICT";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
  }
  return "INTERNAL";
}

std::string_view Status::reason() const {
  return reason_.empty() ? StatusCodeName(code_) : std::string_view(reason_);
}

Status Status::WithReason(std::string reason) const& {
  Status copy = *this;
  copy.reason_ = std::move(reason);
  return copy;
}
Status Status::WithReason(std::string reason) && {
  reason_ = std::move(reason);
  return std::move(*this);
}
Status Status::WithDetail(std::string key, DetailValue value) const& {
  Status copy = *this;
  copy.details_.emplace_back(std::move(key), std::move(value));
  return copy;
}
Status Status::WithDetail(std::string key, DetailValue value) && {
  details_.emplace_back(std::move(key), std::move(value));
  return std::move(*this);
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(reason()) + ": " + message_;
}

}  // namespace govpool
