// Shared by the identity services (users.cc, auth.cc): credential prefixes, lockout keys, the
// audit entries of identity changes. Internal to controller/services.
#pragma once

#include <string>
#include <string_view>

#include "controller/auth_activity.h"
#include "controller/caller.h"
#include "controller/state.h"
#include "controller/txn.h"

namespace govpool::controller {

inline constexpr std::string_view kTokenPrefix = "gpt_";    // API tokens
inline constexpr std::string_view kSessionPrefix = "gps_";  // login sessions
inline constexpr std::string_view kEnrolmentPrefix = "gpe_";  // host enrolments
// The user id of an agent that authenticated with its client certificate: the host it is.
inline std::string CertificateAgentId(const std::string& host_name) { return "host:" + host_name; }

// AuthActivity's failure keys: per user name (as typed: unknown names count too, so they
// behave like known ones) and per source address.
inline std::string UserLockKey(const std::string& name) { return "user:" + name; }
inline std::string AddressLockKey(const std::string& address) { return "addr:" + address; }

inline AuthActivity::LockoutPolicy LockoutOf(const api::AuthPolicy& p) {
  return {p.lockout_attempts, p.lockout_window_s * 1000, p.lockout_duration_s * 1000};
}

// An audit entry of kind `kind` made by `c` ("anonymous" when it has no user) about `object_id`.
AuditEntry IdentityAudit(const Caller& c, std::string kind, std::string object_id, std::string detail);

// Removes the user's login sessions but `keep_session`.
void RemoveSessionsOf(State& s, Txn& t, const std::string& user_id, const std::string& keep_session);

}  // namespace govpool::controller
