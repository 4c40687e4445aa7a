// Caller: who is making a request (resolved from the bearer token), and the authorization
// rules every service applies. Objects of other departments are reported as NotFound, never
// PermissionDenied, so their existence does not leak.
#pragma once

#include <string>

#include "common/status.h"

namespace govpool::controller {

struct Caller {
  std::string user_id;
  std::string name;
  std::string role;  // "admin" | "dept-admin" | "dept-member" | "agent"
  std::string department_id;

  bool is_admin() const { return role == "admin"; }
  bool is_agent() const { return role == "agent"; }
  bool in_department(const std::string& id) const {
    return (role == "dept-admin" || role == "dept-member") && department_id == id;
  }
  // May read objects of department `id`.
  bool can_see_department(const std::string& id) const { return is_admin() || in_department(id); }
  // May create and delete objects in department `id`.
  bool can_manage_department(const std::string& id) const {
    return is_admin() || (role == "dept-admin" && department_id == id);
  }
};

inline Status RequireAdmin(const Caller& c) {
  if (c.is_admin()) return OkStatus();
  return PermissionDenied("this operation needs the admin role (you are " + c.role + ")");
}

}  // namespace govpool::controller
