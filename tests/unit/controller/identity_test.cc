// Identity over an in-memory State with a fake clock (docs/security.md, "People and
// sessions"): login, lockout per user and per address, TOTP (adjacent step, replay), session
// idle and absolute expiry, token expiry, scope and revocation, password policy, forced change
// and restricted sessions, users disabled and deleted, the bootstrap.
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/password_hash.h"
#include "common/totp.h"
#include "controller/services/services.h"
#include "scheduler/scheduler.h"

namespace govpool::controller {
namespace {

constexpr std::int64_t kStartMs = 1'700'000'000'000;
constexpr std::int64_t kMinute = 60'000;
constexpr const char* kPassword = "Correct-Horse-9-Battery";

class IdentityTest : public ::testing::Test {
 protected:
  IdentityTest() : s_(std::move(scheduler::Scheduler::Create(scheduler::Config{})).value()) {
    s_.auth_activity().Restart(now_ms_);
  }

  template <typename Fn>
  auto W(Fn fn) {
    Txn t(s_.revision() + 1, now_ms_);
    auto r = fn(s_, t);
    if (!t.mutations().empty()) s_.set_revision(t.revision());
    audit_.insert(audit_.end(), t.audit().begin(), t.audit().end());
    return r;
  }
  void Advance(std::int64_t ms) { now_ms_ += ms; }

  // The bootstrap's three administrators; secadmin_ is the security-admin's caller.
  Bootstrap Boot(bool tokens = false) {
    auto b = W([&](State& s, Txn& t) { return BootstrapAdministrators(s, t, tokens, 24 * 60 * kMinute); });
    EXPECT_TRUE(b.has_value());
    const api::User* sec = s_.FindUserByName("secadmin");
    secadmin_ = Caller{sec->meta.id, sec->name, sec->role, ""};
    return *b;
  }
  // A user with `password` set directly (no forced change).
  api::User MakeUser(const std::string& name, api::Role role, const std::string& password = kPassword,
                     const std::string& department_id = "") {
    const bool department_role = role == api::Role::kDeptAdmin || role == api::Role::kDeptMember;
    api::CreateUserRequest req{name, role, department_id.empty() && department_role ? Department() : department_id};
    auto u = W([&](State& s, Txn& t) { return CreateUser(s, t, secadmin_, req); });
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    api::User user = *s_.FindUser(u->meta.id);
    user.password_hash = HashPassword(password);
    W([&](State& s, Txn& t) {
      s.Save(t, user);
      return 0;
    });
    return user;
  }
  // A department for department roles (made once).
  std::string Department() {
    if (department_id_.empty()) {
      api::CreateDepartmentRequest req;
      req.name = "d";
      const Caller sys{"", "sys", api::Role::kSystemAdmin, ""};
      department_id_ = W([&](State& s, Txn& t) { return CreateDepartment(s, t, sys, req); })->meta.id;
    }
    return department_id_;
  }
  Result<api::LoginAnswer> Login(const std::string& user, const std::string& password,
                                 const std::string& code = "", const std::string& source = "10.0.0.1",
                                 const std::string& recovery = "") {
    api::LoginRequest req{user, password, code, recovery};
    const LoginAttempt attempt = PrepareLogin(s_, user, source, now_ms_);
    const bool ok = VerifyLoginPassword(attempt.password_hash, password);
    return W([&](State& s, Txn& t) { return FinishLogin(s, t, req, attempt, ok, source); });
  }
  Result<Caller> Auth(const std::string& secret) { return Authenticate(s_, secret, now_ms_, "10.0.0.9"); }
  std::string Code(const std::string& base32, std::int64_t at_ms) {
    return TotpCode(*Base32Decode(base32), TotpStep(at_ms / 1000));
  }
  int AuditCount(const std::string& kind) const {
    int n = 0;
    for (const AuditEntry& e : audit_) n += e.kind == kind;
    return n;
  }
  // Changes the caller's password as the route does.
  Status ChangePassword(const Caller& c, const std::string& current, const std::string& next) {
    api::User u = *CallerUser(s_, c);
    if (!VerifyLoginPassword(u.password_hash, current)) return InvalidArgument("current");
    GP_RETURN_IF_ERROR(CheckNewPassword(s_.auth_policy(), u, next));
    const std::string hash = HashPassword(next);
    return W([&](State& s, Txn& t) { return CommitPassword(s, t, c, u.password_hash, hash); });
  }
  // Enrols a TOTP factor for the session caller `c`; returns the secret and recovery codes.
  std::pair<std::string, std::vector<std::string>> Enrol(const Caller& c) {
    auto begun = W([&](State& s, Txn& t) { return BeginTotp(s, t, c); });
    EXPECT_TRUE(begun.ok()) << begun.status().ToString();
    auto codes = W([&](State& s, Txn& t) {
      return ConfirmTotp(s, t, c, api::ConfirmTotpRequest{Code(begun->secret_base32, now_ms_)});
    });
    EXPECT_TRUE(codes.ok()) << codes.status().ToString();
    return {begun->secret_base32, codes->recovery_codes};
  }

  std::int64_t now_ms_ = kStartMs;
  State s_;
  Caller secadmin_;
  std::string department_id_;
  std::vector<AuditEntry> audit_;
};

void ExpectInvalidCredentials(const Result<api::LoginAnswer>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().reason(), "INVALID_CREDENTIALS");
  EXPECT_EQ(r.status().message(), "the user name, password or code is not valid");
}

TEST_F(IdentityTest, BootstrapCreatesThreeAdministratorsWithOneTimePasswordsAndOptionalTokens) {
  const Bootstrap b = Boot(/*tokens=*/true);
  ASSERT_EQ(b.administrators.size(), 3u);
  ASSERT_EQ(audit_.size(), 6u) << "a user and a token each";
  for (const AuditEntry& e : audit_) {
    EXPECT_EQ(e.user, "bootstrap") << e.kind << ": the first start's records name who made them";
    EXPECT_TRUE(e.role.empty());
  }
  EXPECT_FALSE(W([](State& s, Txn& t) { return BootstrapAdministrators(s, t, true, 1000); }).has_value());
  for (const auto& a : b.administrators) {
    const api::User* u = s_.FindUserByName(a.name);
    ASSERT_NE(u, nullptr) << a.name;
    EXPECT_EQ(u->role, a.role);
    EXPECT_TRUE(u->must_change_password);
    EXPECT_FALSE(u->totp_enrolled);
    auto c = Auth(a.token);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->role, a.role);
    EXPECT_EQ(c->restriction, Restriction::kNone) << "automation tokens are not restricted";
    // The one-time password logs in, restricted to changing it.
    auto login = Login(a.name, a.one_time_password);
    ASSERT_TRUE(login.ok()) << login.status().ToString();
    EXPECT_TRUE(login->must_change_password);
    EXPECT_TRUE(login->must_enrol_factor);
    EXPECT_EQ(Auth(login->token)->restriction, Restriction::kChangePassword);
  }
  // The tokens expire after the TTL.
  Advance(24 * 60 * kMinute);
  EXPECT_EQ(Auth(b.administrators[0].token).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityTest, AFirstStartThatNeverHandedOutThePasswordsIsResumedUntilSomeoneSignsIn) {
  const Bootstrap lost = Boot(/*tokens=*/true);  // committed; the passwords file never written
  auto again = W([](State& s, Txn& t) { return ResumeBootstrap(s, t, true, 60 * kMinute); });
  ASSERT_TRUE(again.has_value());
  ASSERT_EQ(again->administrators.size(), 3u);
  EXPECT_EQ(s_.users().size(), 3u) << "the same users, new credentials";
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(again->administrators[i].name, lost.administrators[i].name);
    ExpectInvalidCredentials(Login(lost.administrators[i].name, lost.administrators[i].one_time_password));
    EXPECT_EQ(Auth(lost.administrators[i].token).status().code(), StatusCode::kUnauthenticated)
        << "the token nobody received is revoked";
    EXPECT_TRUE(Auth(again->administrators[i].token).ok());
  }
  EXPECT_EQ(AuditCount("user_changed"), 6);
  // Once an administrator has signed in, the platform has its administrators: nothing more.
  ASSERT_TRUE(Login("auditadmin", again->administrators[2].one_time_password).ok());
  EXPECT_FALSE(W([](State& s, Txn& t) { return ResumeBootstrap(s, t, false, 0); }).has_value());
}

TEST_F(IdentityTest, FirstLoginOfAnAdministratorChangesThePasswordThenEnrolsThenUsesTheCode) {
  const Bootstrap b = Boot();
  const auto& sys = b.administrators[0];
  auto first = Login(sys.name, sys.one_time_password);
  ASSERT_TRUE(first.ok());
  Caller c = *Auth(first->token);
  EXPECT_EQ(c.restriction, Restriction::kChangePassword);
  // The policy refuses weak passwords and the user's name.
  EXPECT_EQ(ChangePassword(c, sys.one_time_password, "short").reason(), "PASSWORD_POLICY");
  EXPECT_EQ(ChangePassword(c, sys.one_time_password, "sysadmin-Sysadmin-1").reason(), "PASSWORD_POLICY");
  ASSERT_TRUE(ChangePassword(c, sys.one_time_password, kPassword).ok());
  c = *Auth(first->token);
  EXPECT_EQ(c.restriction, Restriction::kEnrolFactor);
  EXPECT_EQ(AuditCount("password_changed"), 1);

  const auto [secret, recovery] = Enrol(c);
  EXPECT_EQ(recovery.size(), 10u);
  EXPECT_EQ(Auth(first->token)->restriction, Restriction::kNone);
  EXPECT_EQ(AuditCount("totp_enrolled"), 1);

  // From now on the password alone is not enough.
  Advance(kMinute);
  ExpectInvalidCredentials(Login(sys.name, kPassword));
  auto second = Login(sys.name, kPassword, Code(secret, now_ms_));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->must_change_password);
  EXPECT_FALSE(second->must_enrol_factor);
  // A recovery code works once.
  Advance(kMinute);
  EXPECT_TRUE(Login(sys.name, kPassword, "", "10.0.0.1", recovery[0]).ok());
  ExpectInvalidCredentials(Login(sys.name, kPassword, "", "10.0.0.1", recovery[0]));
}

TEST_F(IdentityTest, TotpAcceptsTheAdjacentStepAndRefusesAReplay) {
  Boot();
  const api::User u = MakeUser("ops", api::Role::kSystemAdmin);
  auto login = Login("ops", kPassword);
  ASSERT_TRUE(login.ok());
  const auto [secret, recovery] = Enrol(*Auth(login->token));
  Advance(5 * kMinute);
  // The previous step's code (the phone's clock is behind) is accepted...
  const std::string previous = Code(secret, now_ms_ - 30'000);
  EXPECT_TRUE(Login("ops", kPassword, previous).ok());
  // ...once: replaying it, or an older one, is refused.
  ExpectInvalidCredentials(Login("ops", kPassword, previous));
  ExpectInvalidCredentials(Login("ops", kPassword, Code(secret, now_ms_ - 60'000)));
  // Two steps away is too far.
  ExpectInvalidCredentials(Login("ops", kPassword, Code(secret, now_ms_ + 90'000)));
  EXPECT_TRUE(Login("ops", kPassword, Code(secret, now_ms_ + 30'000)).ok());
}

TEST_F(IdentityTest, TheRightPasswordWithoutACodeIsRefusedButDoesNotCountTowardsTheLockout) {
  Boot();
  MakeUser("ops", api::Role::kSystemAdmin);
  auto login = Login("ops", kPassword);
  ASSERT_TRUE(login.ok());
  const auto [secret, recovery] = Enrol(*Auth(login->token));
  // Clients ask for the code only after the first answer (the CLI does): each login starts
  // with the password alone. Six of them in the window lock nothing.
  for (int i = 0; i < 6; ++i) {
    Advance(kMinute);
    ExpectInvalidCredentials(Login("ops", kPassword));
    ASSERT_TRUE(Login("ops", kPassword, Code(secret, now_ms_)).ok()) << i;
  }
  EXPECT_EQ(AuditCount("lockout"), 0);
  EXPECT_EQ(AuditCount("login_failed"), 6) << "each is on record all the same";
  // A wrong code does count.
  for (int i = 0; i < 5; ++i) ExpectInvalidCredentials(Login("ops", kPassword, "000000"));
  EXPECT_EQ(AuditCount("lockout"), 2) << "the user and its one source address";
}

TEST_F(IdentityTest, EveryFailureAnswersTheSameAndUnknownUsersToo) {
  Boot();
  MakeUser("alice", api::Role::kSecurityAdmin);
  ExpectInvalidCredentials(Login("alice", "wrong"));
  ExpectInvalidCredentials(Login("nobody", kPassword));
  api::User alice = *s_.FindUserByName("alice");
  alice.disabled = true;
  W([&](State& s, Txn& t) {
    s.Save(t, alice);
    return 0;
  });
  ExpectInvalidCredentials(Login("alice", kPassword));
  EXPECT_EQ(AuditCount("login_failed"), 3);
  EXPECT_EQ(AuditCount("login"), 0);
}

TEST_F(IdentityTest, LockoutPerUserAfterFiveFailuresInTheWindow) {
  Boot();
  MakeUser("bob", api::Role::kDeptMember);
  for (int i = 0; i < 4; ++i) ExpectInvalidCredentials(Login("bob", "wrong", "", "10.0.0." + std::to_string(i)));
  // Failures older than the window do not count.
  Advance(16 * kMinute);
  for (int i = 0; i < 4; ++i) ExpectInvalidCredentials(Login("bob", "wrong", "", "10.0.1." + std::to_string(i)));
  EXPECT_TRUE(Login("bob", kPassword, "", "10.0.2.1").ok()) << "4 in the window: not locked";
  for (int i = 0; i < 5; ++i) ExpectInvalidCredentials(Login("bob", "wrong", "", "10.0.3." + std::to_string(i)));
  EXPECT_EQ(AuditCount("lockout"), 1);
  // Locked: the right password from a fresh address answers the same 401.
  ExpectInvalidCredentials(Login("bob", kPassword, "", "10.0.4.1"));
  const api::User shown = *GetUser(s_, secadmin_, s_.FindUserByName("bob")->meta.id, now_ms_);
  EXPECT_EQ(shown.locked_until_ms, now_ms_ + 15 * kMinute);
  Advance(15 * kMinute + 1);
  EXPECT_TRUE(Login("bob", kPassword, "", "10.0.4.1").ok());
}

TEST_F(IdentityTest, LockoutPerSourceAddressAcrossUserNames) {
  Boot();
  MakeUser("carol", api::Role::kDeptMember);
  for (int i = 0; i < 5; ++i) ExpectInvalidCredentials(Login("guess" + std::to_string(i), "x", "", "192.0.2.7"));
  EXPECT_EQ(AuditCount("lockout"), 1);
  ExpectInvalidCredentials(Login("carol", kPassword, "", "192.0.2.7"));
  EXPECT_TRUE(Login("carol", kPassword, "", "192.0.2.8").ok()) << "another address is not locked";
}

TEST_F(IdentityTest, SessionsEndWhenIdleOrAtTheirAbsoluteLifetimeAndOnLogout) {
  Boot();
  MakeUser("dave", api::Role::kDeptMember);
  auto login = Login("dave", kPassword);
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->idle_timeout_s, 15 * 60);
  EXPECT_EQ(login->expires_at_ms, now_ms_ + 8 * 60 * kMinute);
  // Used every 14 minutes it stays alive, up to 8 hours.
  for (int i = 0; i < 34; ++i) {
    Advance(14 * kMinute);
    ASSERT_TRUE(Auth(login->token).ok()) << i;
  }
  Advance(5 * kMinute);  // 8 h 1 min
  EXPECT_EQ(Auth(login->token).status().code(), StatusCode::kUnauthenticated);

  auto idle = Login("dave", kPassword);
  Advance(15 * kMinute + 1);
  EXPECT_EQ(Auth(idle->token).status().code(), StatusCode::kUnauthenticated);

  auto out = Login("dave", kPassword);
  const Caller c = *Auth(out->token);
  EXPECT_EQ(c.credential_kind, "session");
  ASSERT_TRUE(W([&](State& s, Txn& t) { return Logout(s, t, c); }).ok());
  EXPECT_EQ(Auth(out->token).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityTest, ExpireSessionsRemovesOnlyTheSessionsThatNoLongerAuthenticate) {
  Boot();
  MakeUser("dave", api::Role::kDeptMember);
  auto idle = Login("dave", kPassword);
  auto busy = Login("dave", kPassword);
  ASSERT_TRUE(idle.ok() && busy.ok());
  const std::size_t before = s_.sessions().size();
  Advance(10 * kMinute);
  ASSERT_TRUE(Auth(busy->token).ok());
  Advance(5 * kMinute + 1);  // `idle` unused for 15 min + 1 ms, `busy` for 5 min
  EXPECT_EQ(W([&](State& s, Txn& t) { return ExpireSessions(s, t); }), 1);
  EXPECT_EQ(s_.sessions().size(), before - 1);
  ASSERT_TRUE(Auth(busy->token).ok());
  EXPECT_EQ(W([&](State& s, Txn& t) { return ExpireSessions(s, t); }), 0);

  // At its absolute lifetime a session in use goes too.
  for (int i = 0; i < 40; ++i) {
    Advance(14 * kMinute);
    if (!Auth(busy->token).ok()) break;
  }
  EXPECT_EQ(W([&](State& s, Txn& t) { return ExpireSessions(s, t); }), 1);
  EXPECT_EQ(s_.sessions().size(), before - 2);
}

TEST_F(IdentityTest, TokensNeedAnExpiryAreScopedAndRevoked) {
  Boot();
  api::CreateDepartmentRequest dreq;
  dreq.name = "a";
  const Caller sys{"", "sys", api::Role::kSystemAdmin, ""};
  auto dept = W([&](State& s, Txn& t) { return CreateDepartment(s, t, sys, dreq); });
  ASSERT_TRUE(dept.ok());
  const api::User boss = MakeUser("boss", api::Role::kDeptAdmin, kPassword, dept->meta.id);
  const Caller boss_c{boss.meta.id, boss.name, boss.role, boss.department_id};
  auto make = [&](const Caller& c, std::int64_t expires, std::optional<api::Role> role = std::nullopt) {
    api::CreateTokenRequest req;
    req.name = "ci";
    req.expires_at_ms = expires;
    req.role = role;
    return W([&](State& s, Txn& t) { return CreateToken(s, t, c, boss.meta.id, req); });
  };
  EXPECT_EQ(make(boss_c, now_ms_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make(boss_c, now_ms_ + api::kMaxTokenLifetimeMs + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make(boss_c, now_ms_ + kMinute, api::Role::kSystemAdmin).status().code(), StatusCode::kPermissionDenied);
  // Another user's tokens are not found, unless the caller is the security-admin.
  const Caller other{"someone", "someone", api::Role::kDeptAdmin, dept->meta.id};
  EXPECT_EQ(make(other, now_ms_ + kMinute).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(make(secadmin_, now_ms_ + kMinute).ok());

  auto member = make(boss_c, now_ms_ + 60 * kMinute, api::Role::kDeptMember);
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  auto c = Auth(member->secret);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->role, api::Role::kDeptMember) << "the token's scope, not the user's role";
  EXPECT_EQ(c->department_id, dept->meta.id);
  EXPECT_EQ(c->credential_kind, "token");
  auto listed = ListTokens(s_, boss_c, boss.meta.id, {});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  for (const api::Token& t : listed->items) {
    if (t.meta.id != member->token.meta.id) continue;
    EXPECT_EQ(t.last_used_at_ms, now_ms_);
    EXPECT_EQ(t.last_used_from, "10.0.0.9");
  }
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RevokeToken(s, t, boss_c, boss.meta.id, member->token.meta.id); }).ok());
  EXPECT_EQ(Auth(member->secret).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(AuditCount("token_revoked"), 1);

  auto short_lived = make(boss_c, now_ms_ + kMinute);
  Advance(kMinute);
  EXPECT_EQ(Auth(short_lived->secret).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(IdentityTest, TheSecurityAdminCannotActAsAnotherAdministrator) {
  const Bootstrap b = Boot();
  const std::string sys_id = s_.FindUserByName("sysadmin")->meta.id;
  api::CreateTokenRequest req;
  req.expires_at_ms = now_ms_ + kMinute;
  EXPECT_EQ(W([&](State& s, Txn& t) { return CreateToken(s, t, secadmin_, sys_id, req); }).status().code(),
            StatusCode::kNotFound);
  const Caller sys{sys_id, "sysadmin", api::Role::kSystemAdmin, ""};
  EXPECT_EQ(GetUser(s_, sys, sys_id).status().code(), StatusCode::kPermissionDenied)
      << "users are the security-admin's";
}

TEST_F(IdentityTest, AUserHoldsAtMostItsLimitOfTokens) {
  Boot();
  const api::User boss = MakeUser("boss", api::Role::kDeptAdmin, kPassword, Department());
  const Caller boss_c{boss.meta.id, boss.name, boss.role, boss.department_id};
  auto make = [&] {
    api::CreateTokenRequest req;
    req.name = "ci";
    req.expires_at_ms = now_ms_ + 60 * kMinute;
    return W([&](State& s, Txn& t) { return CreateToken(s, t, boss_c, boss.meta.id, req); });
  };
  std::string first;
  for (int i = 0; i < kMaxTokensPerUser; ++i) {
    auto token = make();
    ASSERT_TRUE(token.ok()) << i << ": " << token.status().ToString();
    if (first.empty()) first = token->token.meta.id;
  }
  auto over = make();
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_NE(over.status().message().find("user 'boss' already has 100 tokens"), std::string::npos)
      << over.status().message();
  ASSERT_TRUE(W([&](State& s, Txn& t) { return RevokeToken(s, t, boss_c, boss.meta.id, first); }).ok());
  EXPECT_TRUE(make().ok()) << "a revocation frees a place";
}

TEST_F(IdentityTest, ADepartmentHoldsAtMostItsLimitOfUsers) {
  Boot();
  const std::string full = Department();
  auto make = [&](const std::string& name, const std::string& department_id) {
    api::CreateUserRequest req{name, api::Role::kDeptMember, department_id};
    return W([&](State& s, Txn& t) { return CreateUser(s, t, secadmin_, req); });
  };
  std::string first;
  for (int i = 0; i < kMaxUsersPerDepartment; ++i) {
    auto u = make("member-" + std::to_string(i), full);
    ASSERT_TRUE(u.ok()) << i << ": " << u.status().ToString();
    if (first.empty()) first = u->meta.id;
  }
  auto over = make("one-too-many", full);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().reason(), "QUOTA_EXCEEDED");
  EXPECT_NE(over.status().message().find("already has 1000 users"), std::string::npos) << over.status().message();
  // Another department is not held back by this one; a deletion frees a place.
  api::CreateDepartmentRequest other;
  other.name = "other";
  const Caller sys{"", "sys", api::Role::kSystemAdmin, ""};
  const std::string other_id = W([&](State& s, Txn& t) { return CreateDepartment(s, t, sys, other); })->meta.id;
  EXPECT_TRUE(make("elsewhere", other_id).ok());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteUser(s, t, secadmin_, first, std::nullopt); }).ok());
  EXPECT_TRUE(make("one-too-many", full).ok());
}

TEST_F(IdentityTest, ASystemAdminIssuesAMetricsReaderTokenAndNobodyElseNarrowsToOne) {
  Boot();
  const std::string sys_id = s_.FindUserByName("sysadmin")->meta.id;
  const Caller sys{sys_id, "sysadmin", api::Role::kSystemAdmin, ""};
  const api::User boss = MakeUser("boss", api::Role::kDeptAdmin, kPassword, Department());
  const Caller boss_c{boss.meta.id, boss.name, boss.role, boss.department_id};
  auto make = [&](const Caller& c, const std::string& user_id, const std::string& department = "") {
    api::CreateTokenRequest req;
    req.name = "prometheus";
    req.expires_at_ms = now_ms_ + 60 * kMinute;
    req.role = api::Role::kMetricsReader;
    req.department_id = department;
    return W([&](State& s, Txn& t) { return CreateToken(s, t, c, user_id, req); });
  };
  auto scrape = make(sys, sys_id);
  ASSERT_TRUE(scrape.ok()) << scrape.status().ToString();
  auto c = Auth(scrape->secret);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->role, api::Role::kMetricsReader) << "the token's scope, not the system-admin's";
  EXPECT_EQ(c->department_id, "");
  // Not with a department, and not from a role that does not read metrics itself.
  EXPECT_EQ(make(sys, sys_id, Department()).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(make(boss_c, boss.meta.id).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(make(secadmin_, secadmin_.user_id).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(IdentityTest, DisablingOrDeletingAUserEndsItsCredentialsAndResetForcesAChange) {
  Boot();
  const api::User eve = MakeUser("eve", api::Role::kDeptMember);
  auto login = Login("eve", kPassword);
  api::CreateTokenRequest req;
  req.expires_at_ms = now_ms_ + 60 * kMinute;
  const Caller eve_c{eve.meta.id, eve.name, eve.role, ""};
  auto token = W([&](State& s, Txn& t) { return CreateToken(s, t, eve_c, eve.meta.id, req); });
  ASSERT_TRUE(token.ok());

  api::PatchUserRequest off;
  off.disabled = true;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchUser(s, t, secadmin_, eve.meta.id, std::nullopt, off); }).ok());
  EXPECT_EQ(Auth(login->token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth(token->secret).status().code(), StatusCode::kUnauthenticated);
  api::PatchUserRequest on;
  on.disabled = false;
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PatchUser(s, t, secadmin_, eve.meta.id, std::nullopt, on); }).ok());
  EXPECT_TRUE(Auth(token->secret).ok());

  // A reset: a one-time password, forced change, the old sessions end.
  const std::string otp = NewOneTimePassword(s_.auth_policy());
  ASSERT_TRUE(W([&](State& s, Txn& t) { return ResetPassword(s, t, secadmin_, eve.meta.id, HashPassword(otp)); }).ok());
  EXPECT_EQ(Auth(login->token).status().code(), StatusCode::kUnauthenticated);
  auto fresh = Login("eve", otp);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Auth(fresh->token)->restriction, Restriction::kChangePassword);
  // The new password may not be one of the last ones.
  EXPECT_EQ(ChangePassword(*Auth(fresh->token), otp, kPassword).reason(), "PASSWORD_POLICY");
  EXPECT_TRUE(ChangePassword(*Auth(fresh->token), otp, "Another-Good-Pass-7").ok());

  ASSERT_TRUE(W([&](State& s, Txn& t) { return DeleteUser(s, t, secadmin_, eve.meta.id, std::nullopt); }).ok());
  EXPECT_EQ(Auth(fresh->token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth(token->secret).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(s_.TokensOfUser(eve.meta.id).empty());
  EXPECT_TRUE(s_.SessionsOfUser(eve.meta.id).empty());
}

TEST_F(IdentityTest, ThePolicyIsTheSecurityAdminsAndChangesLockoutAndSessions) {
  Boot();
  api::PutAuthPolicyRequest req;
  req.lockout_attempts = 2;
  req.session_idle_timeout_s = 60;
  const Caller sys{"x", "sysadmin", api::Role::kSystemAdmin, ""};
  EXPECT_EQ(W([&](State& s, Txn& t) { return PutAuthPolicy(s, t, sys, std::nullopt, req); }).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(W([&](State& s, Txn& t) { return PutAuthPolicy(s, t, secadmin_, std::nullopt, req); }).ok());
  EXPECT_EQ(AuditCount("policy_changed"), 1);
  MakeUser("fay", api::Role::kDeptMember);
  auto login = Login("fay", kPassword);
  Advance(61'000);
  EXPECT_EQ(Auth(login->token).status().code(), StatusCode::kUnauthenticated);
  ExpectInvalidCredentials(Login("fay", "x", "", "10.1.0.1"));
  ExpectInvalidCredentials(Login("fay", "x", "", "10.1.0.2"));
  EXPECT_EQ(AuditCount("lockout"), 1);
}

}  // namespace
}  // namespace govpool::controller
