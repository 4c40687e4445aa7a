// Callers written straight into a State (no identity service, no password hashing), for tests
// and fuzz targets that drive ApiHandler as every role.
#pragma once

#include <cstdint>
#include <string>

#include "api/types.h"
#include "common/crypto.h"
#include "controller/state.h"
#include "controller/txn.h"

namespace govpool::controller::testing {

// 2100-01-01: tokens that outlive any test.
inline constexpr std::int64_t kFarFutureMs = std::int64_t{4102444800000};

// Saves a department named `name`; its id.
inline std::string SaveDepartment(State& s, Txn& t, const std::string& name) {
  api::Department d;
  d.name = name;
  s.Save(t, d);
  return d.meta.id;
}

// Saves a user `name` with `role` (in `department_id`, "" for platform roles) and a token of
// theirs that never expires; the token's secret, for an "Authorization: Bearer" header.
inline std::string SaveUserWithToken(State& s, Txn& t, const std::string& name, api::Role role,
                                     const std::string& department_id) {
  api::User u;
  u.name = name;
  u.role = role;
  u.department_id = department_id;
  s.Save(t, u);
  const std::string secret = "gpt_saved_" + name;
  api::Token token;
  token.user_id = u.meta.id;
  token.name = "saved";
  token.secret_sha256 = Sha256Hex(secret);
  token.expires_at_ms = kFarFutureMs;
  token.role = role;
  token.department_id = department_id;
  s.Save(t, token);
  return secret;
}

}  // namespace govpool::controller::testing
