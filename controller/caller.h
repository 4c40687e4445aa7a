// Caller: who is making a request (resolved from the bearer token), and the authorization
// rules every service applies. Objects of other departments are reported as NotFound, never
// PermissionDenied, so their existence does not leak.
#pragma once

#include <string>

#include "api/types.h"
#include "common/status.h"

namespace govpool::controller {

// What a caller may do until it has done something first (docs/security.md, "People and
// sessions"): only the self-service routes of /v1/auth answer it otherwise.
enum class Restriction { kNone, kChangePassword, kEnrolFactor };

struct Caller {
  std::string user_id;
  std::string name;
  api::Role role = api::Role::kDeptMember;
  std::string department_id;
  // How it authenticated: a login session ("session") or an API token ("token"), and which.
  std::string credential_kind = {};
  std::string credential_id = {};
  Restriction restriction = Restriction::kNone;

  bool is_system_admin() const { return role == api::Role::kSystemAdmin; }
  bool is_agent() const { return role == api::Role::kAgent; }
  bool in_department(const std::string& id) const {
    return (role == api::Role::kDeptAdmin || role == api::Role::kDeptMember) && department_id == id;
  }
  // May read objects of department `id`.
  bool can_see_department(const std::string& id) const { return is_system_admin() || in_department(id); }
  // May create and delete objects in department `id`.
  bool can_manage_department(const std::string& id) const {
    return is_system_admin() || (role == api::Role::kDeptAdmin && department_id == id);
  }
};

inline Status RequireSystemAdmin(const Caller& c) {
  if (c.is_system_admin()) return OkStatus();
  return PermissionDenied("this operation needs the system-admin role (you are " + std::string(api::ToString(c.role)) + ")");
}

// Users, tokens and the password, lockout and session policy are the security-admin's.
inline Status RequireSecurityAdmin(const Caller& c) {
  if (c.role == api::Role::kSecurityAdmin) return OkStatus();
  return PermissionDenied("this operation needs the security-admin role (you are " + std::string(api::ToString(c.role)) + ")");
}

// `what` ("creating volumes") may be done by the caller in department `department_id`: an admin,
// or that department's dept-admin.
inline Status RequireManage(const Caller& c, const std::string& department_id, const std::string& what) {
  if (c.can_manage_department(department_id)) return OkStatus();
  return PermissionDenied(what + " needs the system-admin or dept-admin role");
}

}  // namespace govpool::controller
