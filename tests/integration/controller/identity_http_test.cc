// The first login of an administrator through the real controller over HTTP (docs/security.md,
// "People and sessions"): the bootstrap's one-time password, the forced change, TOTP
// enrolment (codes computed here with common/totp.h), a login with a code, an API token; and
// what a restricted session, a revoked token and a logout answer.
#include <chrono>
#include <sstream>

#include "common/totp.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

std::unique_ptr<api::Client> ClientWith(const std::string& url, const std::string& token) {
  api::ClientOptions o;
  o.base_url = url;
  o.bearer_token = token;
  return std::move(api::Client::Create(o)).value();
}

std::string CurrentCode(const std::string& base32, std::int64_t offset_steps = 0) {
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return TotpCode(*Base32Decode(base32), TotpStep(now_s) + offset_steps);
}

TEST_F(ControllerTest, FirstLoginOfAnAdministratorEndsWithATokenOfItsOwn) {
  // The bootstrap wrote the one-time passwords, one line per administrator.
  std::istringstream lines(controller_->initial_passwords());
  std::string name, password, sysadmin_password;
  while (lines >> name >> password) {
    if (name == "sysadmin") sysadmin_password = password;
  }
  ASSERT_FALSE(sysadmin_password.empty()) << controller_->initial_passwords();

  auto anonymous = ClientWith(controller_->base_url(), "");
  // Wrong passwords and unknown users answer alike.
  for (const auto& [user, pass] : {std::pair{"sysadmin", "wrong"}, std::pair{"nobody", "wrong"}}) {
    auto refused = anonymous->Login({user, pass, "", ""});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(refused.status().reason(), "INVALID_CREDENTIALS");
  }

  auto first = anonymous->Login({"sysadmin", sysadmin_password, "", ""});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->must_change_password);
  EXPECT_TRUE(first->must_enrol_factor);
  EXPECT_EQ(first->token.rfind("gps_", 0), 0u);
  auto session = ClientWith(controller_->base_url(), first->token);
  auto who = session->GetSession();
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->restriction, "change-password");
  EXPECT_EQ(who->user.name, "sysadmin");

  // Restricted: nothing but the self-service routes.
  auto refused = session->ListHosts();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().reason(), "PASSWORD_CHANGE_REQUIRED");

  const std::string new_password = "Sys-Admin-Pass-2026";
  auto weak = session->ChangePassword({sysadmin_password, "short"});
  EXPECT_EQ(weak.reason(), "PASSWORD_POLICY") << weak.ToString();
  ASSERT_TRUE(session->ChangePassword({sysadmin_password, new_password}).ok());
  EXPECT_EQ(session->GetSession()->restriction, "enrol-factor");
  EXPECT_EQ(session->ListHosts().status().reason(), "FACTOR_ENROLMENT_REQUIRED");

  auto enrolment = session->BeginTotpEnrolment();
  ASSERT_TRUE(enrolment.ok()) << enrolment.status().ToString();
  EXPECT_EQ(enrolment->otpauth_uri.rfind("otpauth://totp/", 0), 0u) << enrolment->otpauth_uri;
  auto recovery = session->ConfirmTotpEnrolment({CurrentCode(enrolment->secret_base32)});
  ASSERT_TRUE(recovery.ok()) << recovery.status().ToString();
  EXPECT_EQ(recovery->recovery_codes.size(), 10u);
  EXPECT_EQ(session->GetSession()->restriction, "none");
  ASSERT_TRUE(session->Logout().ok());
  EXPECT_EQ(session->GetSession().status().code(), StatusCode::kUnauthenticated);

  // From now on: password and code. The code the enrolment used is spent; the next step's
  // is accepted (adjacent step).
  EXPECT_EQ(anonymous->Login({"sysadmin", new_password, "", ""}).status().reason(), "INVALID_CREDENTIALS");
  auto second = anonymous->Login({"sysadmin", new_password, CurrentCode(enrolment->secret_base32, 1), ""});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->must_change_password);
  EXPECT_FALSE(second->must_enrol_factor);
  auto admin = ClientWith(controller_->base_url(), second->token);
  EXPECT_TRUE(admin->ListHosts().ok());

  // A token of its own, for automation: it works until revoked.
  api::CreateTokenRequest req;
  req.name = "ci";
  req.expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(1))
                          .count();
  auto token = admin->CreateToken(second->user.meta.id, req);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->role, api::Role::kSystemAdmin);
  auto ci = ClientWith(controller_->base_url(), token->token);
  EXPECT_TRUE(ci->ListHosts().ok());
  auto listed = admin->ListTokens(second->user.meta.id);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  bool seen = false;
  for (const api::Token& t : listed->items) {
    if (t.meta.id != token->token_id) continue;
    seen = true;
    EXPECT_GT(t.last_used_at_ms, 0);
    EXPECT_EQ(t.last_used_from, "127.0.0.1");
  }
  EXPECT_TRUE(seen);
  ASSERT_TRUE(admin->RevokeToken(second->user.meta.id, token->token_id).ok());
  EXPECT_EQ(ci->ListHosts().status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace govpool::testing
