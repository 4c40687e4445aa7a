// Authentication, login sessions and the self-service routes (docs/security.md, "People and
// sessions").
#include <algorithm>

#include "common/crypto.h"
#include "common/password_hash.h"
#include "common/password_policy.h"
#include "common/totp.h"
#include "controller/services/identity_util.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

constexpr const char* kInvalidCredentials = "the user name, password or code is not valid";
constexpr const char* kTotpIssuer = "govpool";

bool IsAdministrator(api::Role r) {
  return r == api::Role::kSystemAdmin || r == api::Role::kSecurityAdmin || r == api::Role::kAuditAdmin;
}

Restriction RestrictionOf(const api::User& u) {
  if (u.must_change_password) return Restriction::kChangePassword;
  if (IsAdministrator(u.role) && !u.totp_enrolled) return Restriction::kEnrolFactor;
  return Restriction::kNone;
}

const char* RestrictionName(Restriction r) {
  switch (r) {
    case Restriction::kChangePassword: return "change-password";
    case Restriction::kEnrolFactor: return "enrol-factor";
    case Restriction::kNone: break;
  }
  return "none";
}

Status InvalidCredentials() {
  return Unauthenticated(kInvalidCredentials).WithReason("INVALID_CREDENTIALS");
}

// A hash no password matches in practice, made once: unknown users are verified against it so
// that they cost the same Argon2id time as known ones.
const std::string& DummyHash() {
  static const std::string hash = HashPassword(RandomSecret(32));
  return hash;
}

PasswordPolicy PasswordPolicyOf(const api::AuthPolicy& p) {
  PasswordPolicy out;
  out.min_length = static_cast<int>(p.password_min_length);
  out.min_classes = static_cast<int>(p.password_min_classes);
  out.history = static_cast<int>(p.password_history);
  return out;
}

Result<api::User> SessionUser(const State& s, const Caller& c) {
  if (c.credential_kind != "session") {
    return InvalidArgument("this needs a login session (POST /v1/auth/login), not an API token");
  }
  return CallerUser(s, c);
}

// When `session` was last used: its last request, or its creation or the state's (re)load,
// whichever is later, when it was not used since (use times are kept in memory only).
std::int64_t LastUseMs(const api::Session& session, const AuthActivity& activity) {
  auto use = activity.LastUse(session.meta.id);
  return use ? use->at_ms : std::max(session.meta.created_at_ms, activity.epoch_ms());
}

}  // namespace

Result<Caller> Authenticate(const State& s, const std::string& secret, std::int64_t now_ms,
                            const std::string& source) {
  // Only digests are stored and looked up, so the secret never sits in memory at rest and the
  // lookup does not compare secrets byte by byte.
  const std::string digest = Sha256Hex(secret);
  AuthActivity& activity = s.auth_activity();
  if (const api::Session* session = s.FindSessionBySecretHash(digest)) {
    if (session->expires_at_ms <= now_ms) return Unauthenticated("the login session has expired");
    const api::AuthPolicy policy = s.auth_policy();
    if (now_ms - LastUseMs(*session, activity) > policy.session_idle_timeout_s * 1000) {
      return Unauthenticated("the login session ended after " + std::to_string(policy.session_idle_timeout_s) +
                             " s without a request");
    }
    const api::User* user = s.FindUser(session->user_id);
    if (!user || user->disabled) return Unauthenticated("the session's user is disabled or gone");
    activity.Touch(session->meta.id, now_ms, source);
    return Caller{user->meta.id, user->name, user->role, user->department_id, "session",
                  session->meta.id, RestrictionOf(*user)};
  }
  const api::Token* token = s.FindTokenBySecretHash(digest);
  if (!token) return Unauthenticated("the bearer token is not valid");
  if (token->expires_at_ms <= now_ms) return Unauthenticated("the API token has expired");
  const api::User* user = s.FindUser(token->user_id);
  if (!user || user->disabled) return Unauthenticated("the token's user is disabled or gone");
  activity.Touch(token->meta.id, now_ms, source);
  // The token's scope, never more than the user's own (checked when it was issued).
  return Caller{user->meta.id, user->name, token->role, token->department_id, "token",
                token->meta.id, Restriction::kNone};
}

LoginAttempt PrepareLogin(const State& s, const std::string& user_name, const std::string& source,
                          std::int64_t now_ms) {
  LoginAttempt a;
  const AuthActivity& activity = s.auth_activity();
  a.locked = activity.Locked(UserLockKey(user_name), now_ms) || activity.Locked(AddressLockKey(source), now_ms);
  if (const api::User* u = s.FindUserByName(user_name)) a.password_hash = u->password_hash;
  return a;
}

bool VerifyLoginPassword(const std::string& hash, const std::string& password) {
  if (hash.empty()) {
    VerifyPassword(DummyHash(), password);
    return false;
  }
  return VerifyPassword(hash, password);
}

Result<api::LoginAnswer> FinishLogin(State& s, Txn& t, const api::LoginRequest& req,
                                     const LoginAttempt& attempt, bool password_ok,
                                     const std::string& source) {
  const std::int64_t now = t.now_ms();
  const api::AuthPolicy policy = s.auth_policy();
  AuthActivity& activity = s.auth_activity();
  const api::User* found = s.FindUserByName(req.user);
  api::User user = found ? *found : api::User{};

  // Why it failed, for the audit trail only: the caller learns nothing but "invalid".
  std::string why;
  if (attempt.locked || activity.Locked(UserLockKey(req.user), now) ||
      activity.Locked(AddressLockKey(source), now)) {
    why = "locked out";
  } else if (!found) {
    why = "unknown user";
  } else if (!password_ok || user.password_hash != attempt.password_hash) {
    why = "wrong password";
  } else if (user.disabled) {
    why = "user disabled";
  }
  // The second factor, once enrolled: a TOTP code of a later step than the last used one, or
  // an unused recovery code (consumed).
  if (why.empty() && user.totp_enrolled) {
    bool factor_ok = false;
    if (!req.totp_code.empty()) {
      auto secret = Base32Decode(user.totp_secret);
      auto step = secret ? VerifyTotp(*secret, req.totp_code, now / 1000, user.totp_last_step) : std::nullopt;
      if (step) {
        user.totp_last_step = *step;
        factor_ok = true;
      }
    } else if (!req.recovery_code.empty()) {
      const std::string digest = Sha256Hex(NormalizeRecoveryCode(req.recovery_code));
      auto it = std::find_if(user.recovery_code_hashes.begin(), user.recovery_code_hashes.end(),
                             [&](const std::string& h) { return ConstantTimeEquals(h, digest); });
      if (it != user.recovery_code_hashes.end()) {
        user.recovery_code_hashes.erase(it);
        factor_ok = true;
      }
    }
    if (!factor_ok) why = req.totp_code.empty() && req.recovery_code.empty() ? "code missing" : "wrong code";
  }

  Caller who;  // for the audit records: the user named, when it exists
  if (found) who = Caller{user.meta.id, user.name, user.role, user.department_id};
  if (!why.empty()) {
    AuditEntry failed = IdentityAudit(who, "login_failed", found ? user.meta.id : "", why);
    if (!found) failed.user = req.user.substr(0, 64);  // the name typed, for the assessor
    failed.source = source;
    failed.outcome = "denied";
    failed.status = 401;
    t.Audit(failed);
    // A right password without a code guessed nothing (clients ask for the code only after
    // this answer, as the CLI does); counting it would lock out administrators who log in.
    if (why != "locked out" && why != "code missing") {
      const auto lockout = LockoutOf(policy);
      for (const std::string& key : {UserLockKey(req.user), AddressLockKey(source)}) {
        if (!activity.RecordFailure(key, now, lockout)) continue;
        AuditEntry locked = failed;
        locked.kind = "lockout";
        locked.detail = key + " locked for " + std::to_string(policy.lockout_duration_s) + " s after " +
                        std::to_string(policy.lockout_attempts) + " failed logins";
        t.Audit(locked);
      }
    }
    return InvalidCredentials();
  }

  activity.ClearFailures(UserLockKey(user.name));
  user.last_login_at_ms = now;
  s.Save(t, user);
  const std::string secret = std::string(kSessionPrefix) + RandomSecret(32);
  api::Session session;
  session.user_id = user.meta.id;
  session.secret_sha256 = Sha256Hex(secret);
  session.expires_at_ms = now + policy.session_lifetime_s * 1000;
  session.source = source;
  s.Save(t, session);
  activity.Touch(session.meta.id, now, source);
  AuditEntry ok = IdentityAudit(who, "login", session.meta.id, "session started");
  ok.source = source;
  t.Audit(ok);

  api::LoginAnswer answer;
  answer.token = secret;
  answer.expires_at_ms = session.expires_at_ms;
  answer.idle_timeout_s = policy.session_idle_timeout_s;
  answer.user = RenderUser(s, user, now);
  answer.must_change_password = user.must_change_password;
  answer.must_enrol_factor = IsAdministrator(user.role) && !user.totp_enrolled;
  return answer;
}

Status Logout(State& s, Txn& t, const Caller& c) {
  GP_RETURN_IF_ERROR(SessionUser(s, c).status());
  s.Remove<api::Session>(t, c.credential_id);
  s.auth_activity().Forget(c.credential_id);
  t.Audit(IdentityAudit(c, "logout", c.credential_id, "session ended"));
  return OkStatus();
}

std::int64_t ExpireSessions(State& s, Txn& t) {
  const api::AuthPolicy policy = s.auth_policy();
  AuthActivity& activity = s.auth_activity();
  std::vector<std::string> ended;
  for (const auto& [id, session] : s.sessions()) {
    // The same judgement as Authenticate's, so a purged session is one that answers 401 already.
    if (session.expires_at_ms <= t.now_ms() ||
        t.now_ms() - LastUseMs(session, activity) > policy.session_idle_timeout_s * 1000) {
      ended.push_back(id);
    }
  }
  for (const auto& id : ended) {
    s.Remove<api::Session>(t, id);
    activity.Forget(id);
  }
  return static_cast<std::int64_t>(ended.size());
}

Result<api::SessionAnswer> DescribeSession(const State& s, const Caller& c, std::int64_t now_ms) {
  GP_ASSIGN_OR_RETURN(api::User user, CallerUser(s, c));
  api::SessionAnswer a;
  a.user = RenderUser(s, user, now_ms);
  a.role = c.role;
  a.department_id = c.department_id;
  a.credential_kind = c.credential_kind;
  a.credential_id = c.credential_id;
  a.restriction = RestrictionName(c.restriction);
  if (c.credential_kind == "session") {
    if (const api::Session* session = s.FindSession(c.credential_id)) a.expires_at_ms = session->expires_at_ms;
    a.idle_timeout_s = s.auth_policy().session_idle_timeout_s;
  } else if (const api::Token* token = s.FindToken(c.credential_id)) {
    a.expires_at_ms = token->expires_at_ms;
  }
  return a;
}

Result<api::User> CallerUser(const State& s, const Caller& c) {
  const api::User* u = s.FindUser(c.user_id);
  if (!u) return Unauthenticated("the caller's user no longer exists");
  return *u;
}

Status CheckNewPassword(const api::AuthPolicy& policy, const api::User& user, const std::string& password) {
  std::vector<std::string> previous = user.password_history;  // oldest first
  if (!user.password_hash.empty()) previous.push_back(user.password_hash);
  Status st = CheckPassword(PasswordPolicyOf(policy), user.name, password, previous);
  if (!st.ok()) return std::move(st).WithDetail("field", "new_password");
  return st;
}

Status CommitPassword(State& s, Txn& t, const Caller& c, const std::string& previous_hash,
                      const std::string& new_hash) {
  GP_ASSIGN_OR_RETURN(api::User user, SessionUser(s, c));
  if (user.password_hash != previous_hash) {
    return Conflict("the password was changed meanwhile: try again");
  }
  const std::int64_t keep = s.auth_policy().password_history;
  if (!user.password_hash.empty() && !user.must_change_password) user.password_history.push_back(user.password_hash);
  while (static_cast<std::int64_t>(user.password_history.size()) > keep) {
    user.password_history.erase(user.password_history.begin());
  }
  user.password_hash = new_hash;
  user.must_change_password = false;
  user.password_changed_at_ms = t.now_ms();
  s.Save(t, user);
  // Other sessions end: whoever knew the old password is out.
  RemoveSessionsOf(s, t, user.meta.id, c.credential_id);
  t.Audit(IdentityAudit(c, "password_changed", user.meta.id, "by the user"));
  return OkStatus();
}

Result<api::TotpEnrolmentAnswer> BeginTotp(State& s, Txn& t, const Caller& c) {
  GP_ASSIGN_OR_RETURN(api::User user, SessionUser(s, c));
  if (user.totp_enrolled) {
    return Conflict("a TOTP factor is enrolled already; the security-admin can remove a lost one");
  }
  const std::vector<unsigned char> secret = NewTotpSecret();
  user.totp_secret = Base32Encode(secret);
  user.totp_last_step = 0;
  s.Save(t, user);
  return api::TotpEnrolmentAnswer{user.totp_secret, OtpauthUri(kTotpIssuer, user.name, secret)};
}

Result<api::RecoveryCodesAnswer> ConfirmTotp(State& s, Txn& t, const Caller& c,
                                             const api::ConfirmTotpRequest& req) {
  GP_ASSIGN_OR_RETURN(api::User user, SessionUser(s, c));
  if (user.totp_enrolled) return Conflict("a TOTP factor is enrolled already");
  auto secret = Base32Decode(user.totp_secret);
  if (user.totp_secret.empty() || !secret) {
    return Conflict("no TOTP enrolment was begun: POST /v1/auth/totp first");
  }
  auto step = VerifyTotp(*secret, req.code, t.now_ms() / 1000, user.totp_last_step);
  if (!step) return InvalidArgument("the code does not match the enrolled secret now").WithDetail("field", "code");
  api::RecoveryCodesAnswer answer;
  answer.recovery_codes = NewRecoveryCodes();
  user.recovery_code_hashes.clear();
  for (const std::string& code : answer.recovery_codes) {
    user.recovery_code_hashes.push_back(Sha256Hex(NormalizeRecoveryCode(code)));
  }
  user.totp_enrolled = true;
  user.totp_last_step = *step;
  s.Save(t, user);
  t.Audit(IdentityAudit(c, "totp_enrolled", user.meta.id, "with " + std::to_string(answer.recovery_codes.size()) + " recovery codes"));
  return answer;
}

Result<api::AuthPolicy> GetAuthPolicy(const State& s, const Caller& c) {
  GP_RETURN_IF_ERROR(RequireSecurityAdmin(c));
  return s.auth_policy();
}

Result<api::AuthPolicy> PutAuthPolicy(State& s, Txn& t, const Caller& c,
                                      const std::optional<std::int64_t>& if_match,
                                      const api::PutAuthPolicyRequest& req) {
  GP_RETURN_IF_ERROR(RequireSecurityAdmin(c));
  api::AuthPolicy p = s.auth_policy();
  GP_RETURN_IF_ERROR(CheckIfMatch(if_match, p.meta, "the auth policy"));
  if (req.session_idle_timeout_s > req.session_lifetime_s) {
    return InvalidArgument("session_idle_timeout_s must not exceed session_lifetime_s")
        .WithDetail("field", "session_idle_timeout_s");
  }
  p.password_min_length = req.password_min_length;
  p.password_min_classes = req.password_min_classes;
  p.password_history = req.password_history;
  p.lockout_attempts = req.lockout_attempts;
  p.lockout_window_s = req.lockout_window_s;
  p.lockout_duration_s = req.lockout_duration_s;
  p.session_idle_timeout_s = req.session_idle_timeout_s;
  p.session_lifetime_s = req.session_lifetime_s;
  s.Save(t, p);
  t.Audit(IdentityAudit(c, "policy_changed", kAuthPolicyId, "password, lockout and session policy replaced"));
  return p;
}

namespace {

constexpr std::pair<api::Role, const char*> kBootstrapAdministrators[] = {
    {api::Role::kSystemAdmin, "sysadmin"},
    {api::Role::kSecurityAdmin, "secadmin"},
    {api::Role::kAuditAdmin, "auditadmin"},
};

// Gives `u` (saved in `t`) a new one-time password and, with `issue_tokens`, a bootstrap token.
Bootstrap::Administrator IssueFirstCredentials(State& s, Txn& t, api::User u, bool issue_tokens,
                                               std::int64_t token_ttl_ms, const std::string& detail) {
  Bootstrap::Administrator a{u.role, u.name, NewOneTimePassword(s.auth_policy()), ""};
  u.password_hash = HashPassword(a.one_time_password);
  u.must_change_password = true;
  u.password_changed_at_ms = t.now_ms();
  s.Save(t, u);
  const Caller system{"", "bootstrap", u.role, ""};
  t.Audit(IdentityAudit(system, "user_changed", u.meta.id, detail));
  if (issue_tokens) {
    a.token = std::string(kTokenPrefix) + RandomSecret(32);
    api::Token token;
    token.user_id = u.meta.id;
    token.name = "bootstrap";
    token.secret_sha256 = Sha256Hex(a.token);
    token.expires_at_ms = t.now_ms() + token_ttl_ms;
    token.role = u.role;
    s.Save(t, token);
    t.Audit(IdentityAudit(system, "token_created", token.meta.id, "bootstrap token of " + a.name));
  }
  return a;
}

}  // namespace

std::optional<Bootstrap> BootstrapAdministrators(State& s, Txn& t, bool issue_tokens,
                                                 std::int64_t token_ttl_ms) {
  if (!s.users().empty()) return std::nullopt;
  Bootstrap out;
  for (const auto& [role, name] : kBootstrapAdministrators) {
    api::User u;
    u.name = name;
    u.role = role;
    out.administrators.push_back(IssueFirstCredentials(s, t, std::move(u), issue_tokens, token_ttl_ms,
                                                       std::string("created ") + name + " at the first start"));
  }
  return out;
}

std::optional<Bootstrap> ResumeBootstrap(State& s, Txn& t, bool issue_tokens, std::int64_t token_ttl_ms) {
  if (s.users().size() != std::size(kBootstrapAdministrators)) return std::nullopt;
  std::vector<api::User> untouched;
  for (const auto& [role, name] : kBootstrapAdministrators) {
    const api::User* u = s.FindUserByName(name);
    if (!u || u->role != role || !u->must_change_password || u->totp_enrolled || u->disabled ||
        !s.SessionsOfUser(u->meta.id).empty()) {
      return std::nullopt;  // someone has taken over: the platform has its administrators
    }
    untouched.push_back(*u);
  }
  Bootstrap out;
  for (api::User& u : untouched) {
    // The credentials nobody received are void.
    const std::set<std::string> tokens = s.TokensOfUser(u.meta.id);
    for (const std::string& id : tokens) {
      s.Remove<api::Token>(t, id);
      s.auth_activity().Forget(id);
    }
    out.administrators.push_back(IssueFirstCredentials(
        s, t, std::move(u), issue_tokens, token_ttl_ms,
        "one-time password issued again: the first start ended before it was handed out"));
  }
  return out;
}

}  // namespace govpool::controller
