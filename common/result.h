// Result<T>: either a value or a non-OK Status. The return type of fallible functions that
// produce something. Thread-compatible value type.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace govpool {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    assert(!std::get<0>(v_).ok() && "Result built from an OK status has no value");
  }

  bool ok() const { return v_.index() == 1; }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<0>(v_); }

  T& value() & { return std::get<1>(v_); }
  const T& value() const& { return std::get<1>(v_); }
  T&& value() && { return std::get<1>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace govpool

// Evaluates `rexpr` (a Result); returns its Status on error, else moves the value into `lhs`.
#define GP_ASSIGN_OR_RETURN(lhs, rexpr) \
  GP_ASSIGN_OR_RETURN_IMPL(GP_STATUS_CONCAT(gp_result_, __LINE__), lhs, rexpr)
#define GP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                             \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
