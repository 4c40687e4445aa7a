// Status: the outcome of a fallible operation, carried across folder boundaries instead of
// exceptions. A Status is a canonical code, an optional stable API reason (e.g. "QUOTA_EXCEEDED"
// refining kResourceExhausted), a message a person can act on, and structured details that
// the API layer serialises into the error body. Immutable value type; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace govpool {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed or out of range
  kNotFound,            // the object does not exist (or is invisible to the caller)
  kAlreadyExists,       // a create collided with an existing object
  kConflict,            // optimistic concurrency: a revision was stale
  kFailedPrecondition,  // the system is not in a state that allows the operation
  kResourceExhausted,   // quota or capacity exhausted
  kPermissionDenied,    // authenticated, but not allowed
  kUnauthenticated,     // no or bad credentials
  kUnavailable,         // transient: retry later
  kDeadlineExceeded,    // timed out
  kUnimplemented,
  kInternal,            // a bug or an unexpected library failure
};

std::string_view StatusCodeName(StatusCode code);  // "INVALID_ARGUMENT", ...

// A detail value: enough structure for error bodies such as
// {"resource":"instances","requested":1,"used":10,"limit":10} or
// {"hosts_total":10,"rejected":{"insufficient_memory":9}}.
using DetailValue = std::variant<std::string, std::int64_t, double, bool,
                                 std::map<std::string, std::int64_t>,
                                 std::vector<std::string>>;
using Details = std::vector<std::pair<std::string, DetailValue>>;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The stable, machine-readable API code: the explicit reason if set, else the code's name.
  std::string_view reason() const;
  const Details& details() const { return details_; }

  // Builders; they return a copy so calls chain on temporaries.
  Status WithReason(std::string reason) const&;
  Status WithReason(std::string reason) &&;
  Status WithDetail(std::string key, DetailValue value) const&;
  Status WithDetail(std::string key, DetailValue value) &&;
  // Prefixes the message with context: "creating vm web-1: <message>".
  Status Annotate(std::string_view context) const;

  std::string ToString() const;  // "NOT_FOUND: vm 123 not found"
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string reason_;
  std::string message_;
  Details details_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

}  // namespace govpool

#define GP_STATUS_CONCAT_INNER(a, b) a##b
#define GP_STATUS_CONCAT(a, b) GP_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define GP_RETURN_IF_ERROR(expr)                          \
  do {                                                    \
    ::govpool::Status gp_status_ = (expr);                \
    if (!gp_status_.ok()) return gp_status_;              \
  } while (0)
