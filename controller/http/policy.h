// The access policy of the REST API (docs/security.md, "Separated administrators"): ONE table
// of (method, route pattern) -> the roles that may call it. ApiHandler consults it after
// authentication and before the route's handler runs, so a caller who may not use a route
// never learns anything from it (not even its body validation errors). Services still check
// objects: another department's object answers 404, whatever the table says.
//
// The three administrator roles are separated (MLPS 8.1.5): system-admin runs the cloud
// (hosts, pools, flavors, departments, quotas, any department's resources), security-admin the
// people (users, tokens, password and lockout policy), audit-admin reads the audit trail; no
// route is open to more than one of them except the self-service routes of /v1/auth.
//
// A route the router has and the table lacks is denied (fail closed); a unit test checks that
// the table and the router name the same routes, and that docs/security.md shows this table.
// Thread-safety: the table is constant.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "api/types.h"
#include "common/status.h"
#include "controller/caller.h"

namespace govpool::controller::http {

// A set of roles, one bit per api::Role.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<api::Role> roles) {
    for (api::Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Has(api::Role r) const { return (bits_ & Bit(r)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  // "system-admin, dept-admin" (in api::Role order), "" when empty.
  std::string ToString() const;

 private:
  static constexpr std::uint32_t Bit(api::Role r) { return 1u << static_cast<unsigned>(r); }
  std::uint32_t bits_ = 0;
};

// Every role, in api::Role order (the table's columns).
inline constexpr api::Role kAllRoles[] = {api::Role::kSystemAdmin, api::Role::kSecurityAdmin,
                                          api::Role::kAuditAdmin,  api::Role::kDeptAdmin,
                                          api::Role::kDeptMember,  api::Role::kAgent,
                                          api::Role::kMetricsReader};

enum class Access {
  kRoles,        // authenticated, one of `roles`
  kPublic,       // no authentication (Router::AddPublic)
  kSelfService,  // every authenticated role, restricted callers included (/v1/auth)
};

struct RoutePolicy {
  std::string_view method;
  std::string_view pattern;
  Access access = Access::kRoles;
  RoleSet roles;  // kRoles only; empty otherwise
};

// The table, in the order docs/security.md shows it.
std::span<const RoutePolicy> PolicyTable();

// The row of (method, pattern), or null.
const RoutePolicy* FindPolicy(std::string_view method, std::string_view pattern);

// May `caller` (authenticated) call the route (method, pattern)? OK, or PermissionDenied naming
// the route and the roles that may; a restricted caller (Caller::restriction) on a route that
// is not self-service gets reason PASSWORD_CHANGE_REQUIRED or FACTOR_ENROLMENT_REQUIRED. A route
// without a row is denied.
Status Authorize(const Caller& caller, std::string_view method, std::string_view pattern);

// The table as the markdown docs/security.md carries: a header row with the roles, then one
// row per route ("yes" where allowed, "public" / "self" for those kinds), e.g.
// "| `GET /v1/vms` | yes | | | yes | yes | |".
std::string PolicyMarkdown();

}  // namespace govpool::controller::http
