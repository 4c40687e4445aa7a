// Users and API tokens (docs/security.md, "People and sessions"): the security-admin's.
#include <algorithm>

#include "common/crypto.h"
#include "controller/services/identity_util.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

// Administrator roles the security-admin must not reach through a user's credentials: issuing
// a token of a system-admin or audit-admin would let it act as one (MLPS 8.1.5).
bool IsOtherAdministrator(api::Role r) {
  return r == api::Role::kSystemAdmin || r == api::Role::kAuditAdmin;
}

Result<const api::User*> FindManagedUser(const State& s, const Caller& c, const std::string& id) {
  GP_RETURN_IF_ERROR(RequireSecurityAdmin(c));
  const api::User* u = s.FindUser(id);
  if (!u) return NotFound("user " + id + " not found");
  return u;
}

// The user whose tokens `c` may manage: itself, or (security-admin) a user that is no other
// administrator. Others answer NotFound, so their existence does not leak.
Result<const api::User*> FindTokenOwner(const State& s, const Caller& c, const std::string& id) {
  const api::User* u = s.FindUser(id);
  const bool self = u && u->meta.id == c.user_id;
  const bool managed = u && c.role == api::Role::kSecurityAdmin && !IsOtherAdministrator(u->role);
  if (!self && !managed) return NotFound("user " + id + " not found");
  return u;
}

void RemoveCredentialsOf(State& s, Txn& t, const std::string& user_id) {
  RemoveSessionsOf(s, t, user_id, {});
  const std::set<std::string> tokens = s.TokensOfUser(user_id);  // copy: Remove changes it
  for (const std::string& id : tokens) {
    s.Remove<api::Token>(t, id);
    s.auth_activity().Forget(id);
  }
}

}  // namespace

void RemoveSessionsOf(State& s, Txn& t, const std::string& user_id, const std::string& keep_session) {
  const std::set<std::string> sessions = s.SessionsOfUser(user_id);  // copy: Remove changes it
  for (const std::string& id : sessions) {
    if (id == keep_session) continue;
    s.Remove<api::Session>(t, id);
    s.auth_activity().Forget(id);
  }
}

AuditEntry IdentityAudit(const Caller& c, std::string kind, std::string object_id, std::string detail) {
  AuditEntry e;
  e.kind = std::move(kind);
  if (!c.user_id.empty()) {
    e.user = c.name;
    e.user_id = c.user_id;
    e.role = std::string(api::ToString(c.role));
  } else {
    e.user = c.name;  // the controller itself (the first start's "bootstrap"): no user, no role
  }
  e.object_id = std::move(object_id);
  e.outcome = "allowed";
  e.detail = std::move(detail);
  return e;
}

api::User RenderUser(const State& s, const api::User& u, std::int64_t now_ms) {
  api::User out = u;
  const api::AuthPolicy policy = s.auth_policy();
  const AuthActivity::Failures f =
      s.auth_activity().FailuresOf(UserLockKey(u.name), now_ms, policy.lockout_window_s * 1000);
  out.failed_logins = f.count;
  out.locked_until_ms = f.locked_until_ms;
  return out;
}

Result<api::User> CreateUser(State& s, Txn& t, const Caller& c, const api::CreateUserRequest& req) {
  GP_RETURN_IF_ERROR(RequireSecurityAdmin(c));
  const bool department_role = req.role == api::Role::kDeptAdmin || req.role == api::Role::kDeptMember;
  if (department_role && req.department_id.empty()) {
    return InvalidArgument("role " + std::string(api::ToString(req.role)) + " needs a department_id").WithDetail("field", "department_id");
  }
  if (!department_role && !req.department_id.empty()) {
    return InvalidArgument("role " + std::string(api::ToString(req.role)) + " takes no department_id").WithDetail("field", "department_id");
  }
  if (department_role && !s.FindDepartment(req.department_id)) {
    return InvalidArgument("department " + req.department_id + " does not exist")
        .WithDetail("field", "department_id");
  }
  if (s.FindUserByName(req.name)) {
    return AlreadyExists("a user named '" + req.name + "' already exists").WithDetail("name", req.name);
  }
  GP_RETURN_IF_ERROR(CheckCountLimit(static_cast<std::int64_t>(s.users().size()), kMaxUsers, "users", "the platform"));
  if (department_role) {
    // Creating users is rare: counting them is cheaper than an index kept for it.
    const auto in_department = std::count_if(s.users().begin(), s.users().end(), [&](const auto& entry) {
      return entry.second.department_id == req.department_id;
    });
    GP_RETURN_IF_ERROR(CheckCountLimit(in_department, kMaxUsersPerDepartment, "users",
                                       "department " + req.department_id));
  }
  api::User u;
  u.name = req.name;
  u.role = req.role;
  u.department_id = req.department_id;
  s.Save(t, u);
  t.Audit(IdentityAudit(c, "user_changed", u.meta.id, "created " + u.name + " (" + std::string(api::ToString(u.role)) + ")"));
  return u;
}

Page<api::User> ListUsers(const State& s, const Caller& c, const ListOptions& o, std::int64_t now_ms) {
  const bool allowed = RequireSecurityAdmin(c).ok();
  return PageOf(
      s.users(), o, [&](const api::User&) { return allowed; },
      [&](const api::User& u) { return RenderUser(s, u, now_ms); });
}

Result<api::User> GetUser(const State& s, const Caller& c, const std::string& id, std::int64_t now_ms) {
  GP_ASSIGN_OR_RETURN(const api::User* u, FindManagedUser(s, c, id));
  return RenderUser(s, *u, now_ms);
}

Result<api::User> PatchUser(State& s, Txn& t, const Caller& c, const std::string& id,
                            const std::optional<std::int64_t>& if_match, const api::PatchUserRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::User* found, FindManagedUser(s, c, id));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "user " + id));
  if (req.disabled && *req.disabled && id == c.user_id) {
    return FailedPrecondition("you cannot disable yourself");
  }
  api::User u = *found;
  if (req.disabled && *req.disabled != u.disabled) {
    u.disabled = *req.disabled;
    s.Save(t, u);
    t.Audit(IdentityAudit(c, "user_changed", id, (u.disabled ? "disabled " : "enabled ") + u.name));
  }
  return RenderUser(s, u, t.now_ms());
}

Status DeleteUser(State& s, Txn& t, const Caller& c, const std::string& id,
                  const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(const api::User* found, FindManagedUser(s, c, id));
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, found->meta, "user " + id));
  if (id == c.user_id) return FailedPrecondition("you cannot delete yourself");
  const std::string name = found->name;
  RemoveCredentialsOf(s, t, id);
  s.Remove<api::User>(t, id);
  t.Audit(IdentityAudit(c, "user_changed", id, "deleted " + name));
  return OkStatus();
}

std::string NewOneTimePassword(const api::AuthPolicy& policy) {
  // Four character classes whatever the random part holds, and longer than the policy asks.
  const std::size_t length = static_cast<std::size_t>(std::max<std::int64_t>(policy.password_min_length, 16));
  return "Gp1-" + RandomSecret(length);
}

Status ResetPassword(State& s, Txn& t, const Caller& c, const std::string& id,
                     const std::string& one_time_password_hash) {
  GP_ASSIGN_OR_RETURN(const api::User* found, FindManagedUser(s, c, id));
  api::User u = *found;
  // The password it had stays in the history (a one-time password never enters it).
  if (!u.password_hash.empty() && !u.must_change_password) {
    u.password_history.push_back(u.password_hash);
    while (static_cast<std::int64_t>(u.password_history.size()) > s.auth_policy().password_history) {
      u.password_history.erase(u.password_history.begin());
    }
  }
  u.password_hash = one_time_password_hash;
  u.must_change_password = true;
  u.password_changed_at_ms = t.now_ms();
  s.Save(t, u);
  RemoveSessionsOf(s, t, id, {});
  s.auth_activity().ClearFailures(UserLockKey(u.name));
  t.Audit(IdentityAudit(c, "user_changed", id, "password reset for " + u.name));
  return OkStatus();
}

Status ResetTotp(State& s, Txn& t, const Caller& c, const std::string& id) {
  GP_ASSIGN_OR_RETURN(const api::User* found, FindManagedUser(s, c, id));
  api::User u = *found;
  u.totp_enrolled = false;
  u.totp_secret.clear();
  u.totp_last_step = 0;
  u.recovery_code_hashes.clear();
  s.Save(t, u);
  t.Audit(IdentityAudit(c, "user_changed", id, "TOTP factor removed for " + u.name));
  return OkStatus();
}

Result<NewToken> CreateToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                             const api::CreateTokenRequest& req) {
  GP_ASSIGN_OR_RETURN(const api::User* user, FindTokenOwner(s, c, user_id));
  if (req.expires_at_ms <= t.now_ms() || req.expires_at_ms > t.now_ms() + api::kMaxTokenLifetimeMs) {
    return InvalidArgument("expires_at must be in the future and at most 365 days ahead")
        .WithDetail("field", "expires_at");
  }
  const api::Role role = req.role.value_or(user->role);
  const std::string department_id = req.department_id.empty() ? user->department_id : req.department_id;
  const bool own_scope = role == user->role && department_id == user->department_id;
  const bool member_of_own = user->role == api::Role::kDeptAdmin && role == api::Role::kDeptMember &&
                             department_id == user->department_id;
  // A system-admin may hand Prometheus a token that reads /metrics and nothing else.
  const bool scrape_of_admin = user->role == api::Role::kSystemAdmin && role == api::Role::kMetricsReader &&
                               department_id.empty();
  GP_RETURN_IF_ERROR(CheckCountLimit(static_cast<std::int64_t>(s.TokensOfUser(user->meta.id).size()),
                                     kMaxTokensPerUser, "tokens", "user '" + user->name + "'"));
  if (!own_scope && !member_of_own && !scrape_of_admin) {
    return PermissionDenied("a token's scope is at most its user's (" + std::string(api::ToString(user->role)) +
                            (user->department_id.empty() ? "" : " of department " + user->department_id) + ")")
        .WithDetail("field", "role");
  }
  NewToken out;
  out.user = *user;
  out.secret = std::string(kTokenPrefix) + RandomSecret(32);
  out.token.user_id = user->meta.id;
  out.token.name = req.name;
  out.token.secret_sha256 = Sha256Hex(out.secret);
  out.token.expires_at_ms = req.expires_at_ms;
  out.token.role = role;
  out.token.department_id = department_id;
  s.Save(t, out.token);
  t.Audit(IdentityAudit(c, "token_created", out.token.meta.id,
                        "token '" + req.name + "' of " + user->name + " (" + std::string(api::ToString(role)) + ")"));
  return out;
}

Result<Page<api::Token>> ListTokens(const State& s, const Caller& c, const std::string& user_id,
                                    const ListOptions& o) {
  GP_ASSIGN_OR_RETURN(const api::User* user, FindTokenOwner(s, c, user_id));
  std::map<std::string, api::Token> mine;
  for (const std::string& id : s.TokensOfUser(user->meta.id)) mine.emplace(id, *s.FindToken(id));
  return PageOf(
      mine, o, [](const api::Token&) { return true; },
      [&](const api::Token& tok) {
        api::Token out = tok;
        if (auto use = s.auth_activity().LastUse(tok.meta.id)) {
          out.last_used_at_ms = use->at_ms;
          out.last_used_from = use->from;
        }
        return out;
      });
}

Status RevokeToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                   const std::string& token_id) {
  GP_ASSIGN_OR_RETURN(const api::User* user, FindTokenOwner(s, c, user_id));
  const api::Token* tok = s.FindToken(token_id);
  if (!tok || tok->user_id != user->meta.id) return NotFound("token " + token_id + " not found");
  const std::string detail = "token '" + tok->name + "' of " + user->name;
  s.Remove<api::Token>(t, token_id);
  s.auth_activity().Forget(token_id);
  t.Audit(IdentityAudit(c, "token_revoked", token_id, detail));
  return OkStatus();
}

}  // namespace govpool::controller
