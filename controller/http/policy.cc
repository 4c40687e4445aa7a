#include "controller/http/policy.h"

#include <algorithm>
#include <vector>

namespace govpool::controller::http {
namespace {

using api::Role;

// Columns of the table, by the role names of the issue.
constexpr RoleSet kSys{Role::kSystemAdmin};
constexpr RoleSet kSec{Role::kSecurityAdmin};
constexpr RoleSet kAudit{Role::kAuditAdmin};
// Objects of a department: system-admin for any department, dept-admin for its own.
constexpr RoleSet kManage{Role::kSystemAdmin, Role::kDeptAdmin};
// Reading a department's objects: also its members.
constexpr RoleSet kRead{Role::kSystemAdmin, Role::kDeptAdmin, Role::kDeptMember};
// The agent protocol (agent/controller_client.h). system-admin keeps it as before, e.g. to
// register a host by hand; services still let an agent touch only the hosts it registered.
constexpr RoleSet kAgentProto{Role::kSystemAdmin, Role::kAgent};
// The scrape: the system-admin, and the metrics-reader whose token a Prometheus server holds
// (least privilege: that token reads nothing else).
constexpr RoleSet kScrape{Role::kSystemAdmin, Role::kMetricsReader};
// A user's own API tokens (the service lets a user list and change only its own; the
// security-admin anybody's).
constexpr RoleSet kOwnTokens{Role::kSystemAdmin, Role::kSecurityAdmin, Role::kAuditAdmin,
                             Role::kDeptAdmin, Role::kDeptMember};

constexpr RoutePolicy Roles(std::string_view method, std::string_view pattern, RoleSet roles) {
  return {method, pattern, Access::kRoles, roles};
}
constexpr RoutePolicy Public(std::string_view method, std::string_view pattern) {
  return {method, pattern, Access::kPublic, {}};
}
constexpr RoutePolicy Self(std::string_view method, std::string_view pattern) {
  return {method, pattern, Access::kSelfService, {}};
}

constexpr RoutePolicy kTable[] = {
    // System: health and the document are public; metrics name hosts and departments.
    Public("GET", "/healthz"),
    Public("GET", "/readyz"),
    Public("GET", "/v1/openapi.yaml"),
    Roles("GET", "/metrics", kScrape),
    Roles("GET", "/v1/metrics/targets", kScrape),
    Roles("GET", "/v1/reports/consolidation", kSys),
    // Departments' own figures to their roles (pools: the system-admin only; services check).
    Roles("GET", "/v1/reports/utilisation", kRead),
    Roles("GET", "/v1/system/backup", kSys),

    // Sessions (docs/security.md, "People and sessions").
    Public("POST", "/v1/auth/login"),
    Self("POST", "/v1/auth/logout"),
    Self("GET", "/v1/auth/session"),
    Self("POST", "/v1/auth/password"),
    Self("POST", "/v1/auth/totp"),
    Self("POST", "/v1/auth/totp/confirm"),

    // Security administration.
    Roles("GET", "/v1/auth/policy", kSec),
    Roles("PUT", "/v1/auth/policy", kSec),
    Roles("POST", "/v1/users", kSec),
    Roles("GET", "/v1/users", kSec),
    Roles("GET", "/v1/users/{id}", kSec),
    Roles("PATCH", "/v1/users/{id}", kSec),
    Roles("DELETE", "/v1/users/{id}", kSec),
    Roles("POST", "/v1/users/{id}/password-reset", kSec),
    Roles("DELETE", "/v1/users/{id}/totp", kSec),
    Roles("POST", "/v1/users/{id}/tokens", kOwnTokens),
    Roles("GET", "/v1/users/{id}/tokens", kOwnTokens),
    Roles("DELETE", "/v1/users/{id}/tokens/{token_id}", kOwnTokens),

    // Audit.
    Roles("GET", "/v1/audit", kAudit),
    Roles("GET", "/v1/audit/export", kAudit),
    Roles("POST", "/v1/audit/verify", kAudit),

    // Departments and flavors. A dept-admin may PATCH its own department's member settings
    // only (the service checks which fields).
    Roles("POST", "/v1/departments", kSys),
    Roles("GET", "/v1/departments", kRead),
    Roles("GET", "/v1/departments/{id}", kRead),
    Roles("PATCH", "/v1/departments/{id}", kManage),
    Roles("DELETE", "/v1/departments/{id}", kSys),
    Roles("GET", "/v1/departments/{id}/usage", kRead),

    // Capacity requests (docs/departments.md): departments file and withdraw, the levels above
    // (dept-admins) and the platform (system-admin) decide; services check which level.
    Roles("POST", "/v1/capacity-requests", kRead),
    Roles("GET", "/v1/capacity-requests", kRead),
    Roles("GET", "/v1/capacity-requests/{id}", kRead),
    Roles("POST", "/v1/capacity-requests/{id}/submit", kRead),
    Roles("POST", "/v1/capacity-requests/{id}/approve", kManage),
    Roles("POST", "/v1/capacity-requests/{id}/reject", kManage),
    Roles("POST", "/v1/capacity-requests/{id}/withdraw", kRead),
    // Webhooks (docs/departments.md, "Notifications"): dept-admins for their departments, the
    // system-admin for any and for the platform's; members read their department's.
    Roles("POST", "/v1/webhooks", kManage),
    Roles("GET", "/v1/webhooks", kRead),
    Roles("GET", "/v1/webhooks/{id}", kRead),
    Roles("DELETE", "/v1/webhooks/{id}", kManage),
    Roles("POST", "/v1/webhooks/{id}/ping", kManage),
    Roles("GET", "/v1/webhooks/{id}/deliveries", kRead),
    Roles("POST", "/v1/flavors", kSys),
    Roles("GET", "/v1/flavors", kRead),
    Roles("GET", "/v1/flavors/{id}", kRead),
    Roles("DELETE", "/v1/flavors/{id}", kSys),

    // Hosts and the agent protocol.
    Roles("POST", "/v1/hosts/register", kAgentProto),
    Roles("GET", "/v1/hosts", kAgentProto),
    Roles("GET", "/v1/hosts/{id}", kAgentProto),
    Roles("PATCH", "/v1/hosts/{id}", kSys),
    Roles("DELETE", "/v1/hosts/{id}/certificates", kSys),
    Roles("POST", "/v1/hosts/{id}/heartbeat", kAgentProto),
    Roles("GET", "/v1/hosts/{id}/vms", kAgentProto),
    Roles("POST", "/v1/hosts/{id}/events", kAgentProto),
    Roles("POST", "/v1/host-enrolments", kSys),
    // The enrolment token in the body, or the agent's client certificate, is the credential.
    Public("POST", "/v1/agent-certificates"),
    Roles("GET", "/v1/events", kRead),

    // VMs. Power actions: dept-members only where their department allows it
    // (Department::member_power_actions, checked by the service).
    Roles("POST", "/v1/vms", kManage),
    Roles("GET", "/v1/vms", kRead),
    Roles("GET", "/v1/vms/{id}", kRead),
    Roles("DELETE", "/v1/vms/{id}", kManage),
    Roles("POST", "/v1/vms/{id}/interfaces", kManage),
    Roles("DELETE", "/v1/vms/{id}/interfaces/{port_id}", kManage),
    Roles("POST", "/v1/vms/{id}/start", kRead),
    Roles("POST", "/v1/vms/{id}/stop", kRead),
    Roles("POST", "/v1/vms/{id}/reboot", kRead),
    Roles("PUT", "/v1/vms/{id}/status", kAgentProto),
    Roles("POST", "/v1/server-groups", kManage),
    Roles("GET", "/v1/server-groups", kRead),
    Roles("GET", "/v1/server-groups/{id}", kRead),
    Roles("DELETE", "/v1/server-groups/{id}", kManage),
    Roles("POST", "/v1/scheduler/preview", kManage),

    // Storage.
    Roles("POST", "/v1/storage-pools", kSys),
    Roles("GET", "/v1/storage-pools", kRead),
    Roles("GET", "/v1/storage-pools/{id}", kRead),
    Roles("PATCH", "/v1/storage-pools/{id}", kSys),
    Roles("DELETE", "/v1/storage-pools/{id}", kSys),
    Roles("POST", "/v1/volumes", kManage),
    Roles("GET", "/v1/volumes", kRead),
    Roles("GET", "/v1/volumes/{id}", kRead),
    Roles("DELETE", "/v1/volumes/{id}", kManage),
    Roles("POST", "/v1/volumes/{id}/resize", kManage),
    Roles("POST", "/v1/volumes/{id}/attach", kManage),
    Roles("POST", "/v1/volumes/{id}/detach", kManage),
    Roles("PUT", "/v1/volumes/{id}/status", kAgentProto),
    Roles("POST", "/v1/volumes/{id}/snapshots", kManage),
    Roles("GET", "/v1/volumes/{id}/snapshots", kRead),
    Roles("GET", "/v1/volumes/{id}/snapshots/{sid}", kRead),
    Roles("DELETE", "/v1/volumes/{id}/snapshots/{sid}", kManage),
    Roles("POST", "/v1/volumes/{id}/snapshots/{sid}/rollback", kManage),
    Roles("PUT", "/v1/volumes/{id}/snapshots/{sid}/status", kAgentProto),
    Roles("POST", "/v1/images", kManage),
    Roles("GET", "/v1/images", kRead),
    Roles("GET", "/v1/images/{id}", kRead),
    Roles("DELETE", "/v1/images/{id}", kManage),
    Roles("POST", "/v1/images/{id}/verify", kManage),
    Roles("PUT", "/v1/images/{id}/status", kAgentProto),
    Roles("PUT", "/v1/images/{id}/data", kManage),
    Roles("GET", "/v1/images/{id}/data", {Role::kSystemAdmin, Role::kDeptAdmin, Role::kDeptMember, Role::kAgent}),
    Roles("POST", "/v1/backup-policies", kManage),
    Roles("GET", "/v1/backup-policies", kRead),
    Roles("GET", "/v1/backup-policies/{id}", kRead),
    Roles("PATCH", "/v1/backup-policies/{id}", kManage),
    Roles("DELETE", "/v1/backup-policies/{id}", kManage),
    Roles("POST", "/v1/backups", kManage),
    Roles("GET", "/v1/backups", kRead),
    Roles("GET", "/v1/backups/{id}", kRead),
    Roles("DELETE", "/v1/backups/{id}", kManage),
    Roles("POST", "/v1/backups/{id}/restore", kManage),
    Roles("PUT", "/v1/backups/{id}/status", kAgentProto),

    // Networks.
    Roles("POST", "/v1/networks", kManage),
    Roles("GET", "/v1/networks", kRead),
    Roles("GET", "/v1/networks/{id}", kRead),
    Roles("DELETE", "/v1/networks/{id}", kManage),
    Roles("POST", "/v1/subnets", kManage),
    Roles("GET", "/v1/subnets", kRead),
    Roles("GET", "/v1/subnets/{id}", kRead),
    Roles("DELETE", "/v1/subnets/{id}", kManage),
    Roles("POST", "/v1/ports", kManage),
    Roles("GET", "/v1/ports", kRead),
    Roles("GET", "/v1/ports/{id}", kRead),
    Roles("PATCH", "/v1/ports/{id}", kManage),
    Roles("DELETE", "/v1/ports/{id}", kManage),
    Roles("PUT", "/v1/ports/{id}/status", kAgentProto),
    Roles("POST", "/v1/security-groups", kManage),
    Roles("GET", "/v1/security-groups", kRead),
    Roles("GET", "/v1/security-groups/{id}", kRead),
    Roles("PATCH", "/v1/security-groups/{id}", kManage),
    Roles("DELETE", "/v1/security-groups/{id}", kManage),
    Roles("POST", "/v1/security-groups/{id}/rules", kManage),
    Roles("DELETE", "/v1/security-groups/{id}/rules/{rule_id}", kManage),
    Roles("POST", "/v1/routers", kManage),
    Roles("GET", "/v1/routers", kRead),
    Roles("GET", "/v1/routers/{id}", kRead),
    Roles("PATCH", "/v1/routers/{id}", kManage),
    Roles("DELETE", "/v1/routers/{id}", kManage),
    Roles("POST", "/v1/routers/{id}/interfaces", kManage),
    Roles("DELETE", "/v1/routers/{id}/interfaces/{subnet_id}", kManage),
    Roles("POST", "/v1/floating-ips", kManage),
    Roles("GET", "/v1/floating-ips", kRead),
    Roles("GET", "/v1/floating-ips/{id}", kRead),
    Roles("PATCH", "/v1/floating-ips/{id}", kManage),
    Roles("DELETE", "/v1/floating-ips/{id}", kManage),
};

}  // namespace

std::string RoleSet::ToString() const {
  std::string out;
  for (Role r : kAllRoles) {
    if (!Has(r)) continue;
    if (!out.empty()) out += ", ";
    out += api::ToString(r);
  }
  return out;
}

std::span<const RoutePolicy> PolicyTable() { return kTable; }

const RoutePolicy* FindPolicy(std::string_view method, std::string_view pattern) {
  const auto* it = std::find_if(std::begin(kTable), std::end(kTable), [&](const RoutePolicy& p) {
    return p.method == method && p.pattern == pattern;
  });
  return it == std::end(kTable) ? nullptr : it;
}

Status Authorize(const Caller& caller, std::string_view method, std::string_view pattern) {
  const std::string route = std::string(method) + " " + std::string(pattern);
  const RoutePolicy* p = FindPolicy(method, pattern);
  if (!p) {
    // Fail closed: a route nobody classified is nobody's.
    return PermissionDenied(route + " is in no row of the access policy, so nobody may call it")
        .WithDetail("route", route);
  }
  if (p->access == Access::kPublic || p->access == Access::kSelfService) return OkStatus();
  if (caller.restriction == Restriction::kChangePassword) {
    return PermissionDenied("change your password first (POST /v1/auth/password)")
        .WithReason("PASSWORD_CHANGE_REQUIRED")
        .WithDetail("route", route);
  }
  if (caller.restriction == Restriction::kEnrolFactor) {
    return PermissionDenied("enrol a second factor first (POST /v1/auth/totp)")
        .WithReason("FACTOR_ENROLMENT_REQUIRED")
        .WithDetail("route", route);
  }
  if (p->roles.Has(caller.role)) return OkStatus();
  std::vector<std::string> allowed;
  for (Role r : kAllRoles) {
    if (p->roles.Has(r)) allowed.emplace_back(api::ToString(r));
  }
  return PermissionDenied(route + " needs the role " + p->roles.ToString() + " (you are " +
                          std::string(api::ToString(caller.role)) + ")")
      .WithDetail("route", route)
      .WithDetail("allowed_roles", std::move(allowed));
}

std::string PolicyMarkdown() {
  std::string out = "| Route |";
  std::string rule = "|---|";
  for (Role r : kAllRoles) {
    out += " " + std::string(api::ToString(r)) + " |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const RoutePolicy& p : kTable) {
    out += "| `" + std::string(p.method) + " " + std::string(p.pattern) + "` |";
    for (Role r : kAllRoles) {
      switch (p.access) {
        case Access::kPublic: out += " public |"; break;
        case Access::kSelfService: out += " self |"; break;
        case Access::kRoles: out += p.roles.Has(r) ? " yes |" : " |"; break;
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace govpool::controller::http
