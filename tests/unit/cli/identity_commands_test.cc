// govpoolctl's identity commands against the scripted controller: login (password and TOTP
// prompts, the session kept in a 0600 config file), logout, passwd, totp enrol, tokens and the
// administrator's user commands.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/config.h"
#include "cli/values.h"
#include "tests/unit/cli/fake_controller.h"

namespace govpool::cli {
namespace {

using testing::CtlRun;
using testing::Field;
using testing::MetaOf;
using testing::Page;
using testing::Request;

constexpr const char* kAliceId = "66666666-6666-4666-8666-666666666666";
constexpr const char* kBobId = "88888888-8888-4888-8888-888888888888";
constexpr const char* kDeptId = "11111111-1111-4111-8111-111111111111";

api::User Alice() {
  api::User u;
  u.meta = MetaOf(kAliceId);
  u.name = "alice";
  u.role = api::Role::kSecurityAdmin;
  return u;
}

api::User Bob() {
  api::User u;
  u.meta = MetaOf(kBobId);
  u.name = "bob";
  u.role = api::Role::kDeptAdmin;
  u.department_id = kDeptId;
  return u;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class IdentityCommandsTest : public testing::CtlTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/govpoolctl-identity-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_ = dir_ + "/govpool/config";  // its folder does not exist yet
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A login answer for alice with the session secret "gps_new".
  void AnswerLogin(bool must_change_password, bool must_enrol_factor) {
    api::LoginAnswer a;
    a.token = "gps_new";
    a.expires_at_ms = kNowMs + 8LL * 3600 * 1000;
    a.idle_timeout_s = 900;
    a.user = Alice();
    a.must_change_password = must_change_password;
    a.must_enrol_factor = must_enrol_factor;
    server_.OnJson("POST /v1/auth/login", api::Encode(a));
  }

  std::string dir_;
  std::string config_;
};

TEST_F(IdentityCommandsTest, LoginAsksForThePasswordAndKeepsTheSessionInAPrivateConfigFile) {
  AnswerLogin(/*must_change_password=*/true, /*must_enrol_factor=*/true);
  answers_ = {"correct horse"};
  // GOVPOOL_TOKEN is set (CtlTest): login must not send it.
  CtlRun r = Ctl({"--config", config_, "login", "--user", "alice"});
  EXPECT_OK(r);
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].first, "Password: ");
  EXPECT_TRUE(asked_[0].second) << "the password is read with echo off";
  ASSERT_EQ(server_.Count("POST /v1/auth/login"), 1);
  const Request& login = server_.requests.back();
  EXPECT_EQ(login.Header("Authorization"), "");
  auto sent = api::Decode<api::LoginRequest>(login.body);
  ASSERT_TRUE(sent.ok()) << login.body;
  EXPECT_EQ(sent->user, "alice");
  EXPECT_EQ(sent->password, "correct horse");
  EXPECT_EQ(sent->totp_code, "");
  // The session is in the config file, 0600 (its new folder 0700), and not on the screen.
  EXPECT_EQ(ReadFile(config_), "token = gps_new\n");
  EXPECT_EQ(ModeOf(config_), 0600u);
  EXPECT_EQ(ModeOf(dir_ + "/govpool"), 0700u);
  EXPECT_EQ(r.out.find("gps_new"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("gps_new"), std::string::npos) << r.err;
  EXPECT_EQ(Field(r.out, "user"), "alice") << r.out;
  EXPECT_EQ(Field(r.out, "expires_at"), "2027-01-15T16:00:00.000Z") << r.out;
  EXPECT_EQ(Field(r.out, "idle_timeout"), "15m") << r.out;
  EXPECT_EQ(Field(r.out, "must_change_password"), "true") << r.out;
  EXPECT_EQ(Field(r.out, "must_enrol_factor"), "true") << r.out;
  EXPECT_NE(r.err.find("govpoolctl passwd"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("govpoolctl totp enrol"), std::string::npos) << r.err;

  // The next command uses the stored session (no GOVPOOL_TOKEN this time).
  api::SessionAnswer me;
  me.user = Alice();
  me.role = api::Role::kSecurityAdmin;
  me.credential_kind = "session";
  server_.OnJson("GET /v1/auth/session", api::Encode(me));
  CtlRun who = Ctl({"--config", config_, "whoami"}, /*with_token=*/false);
  EXPECT_OK(who);
  EXPECT_EQ(server_.requests.back().Header("Authorization"), "Bearer gps_new");
  EXPECT_EQ(Field(who.out, "user.name"), "alice") << who.out;
  EXPECT_EQ(Field(who.out, "credential_kind"), "session") << who.out;
}

TEST_F(IdentityCommandsTest, LoginAsksForTheUserWhenNotGivenAndKeepsOtherConfigLines) {
  std::filesystem::create_directories(dir_ + "/govpool");
  {
    std::ofstream f(config_);
    f << "# mine\nurl = http://fake:1\ntoken_file = /somewhere/else\nca_file = ca.pem\n";
  }
  ::chmod(config_.c_str(), 0644);
  AnswerLogin(false, false);
  answers_ = {"alice", "pw"};
  CtlRun r = Ctl({"--config", config_, "login"});
  EXPECT_OK(r);
  ASSERT_EQ(asked_.size(), 2u);
  EXPECT_EQ(asked_[0], std::make_pair(std::string("User: "), false));
  EXPECT_EQ(ReadFile(config_), "# mine\nurl = http://fake:1\ntoken = gps_new\nca_file = ca.pem\n");
  EXPECT_EQ(ModeOf(config_), 0600u) << "a file holding a session is tightened";
  EXPECT_EQ(r.err.find("next:"), std::string::npos) << r.err;
}

TEST_F(IdentityCommandsTest, LoginRefusedForLackOfACodeAsksForItOnce) {
  int attempts = 0;
  server_.On("POST /v1/auth/login", [&](const Request& req) -> Result<api::HttpResponse> {
    ++attempts;
    auto sent = api::Decode<api::LoginRequest>(req.body);
    if (!sent.ok() || sent->totp_code != "123456") {
      return api::ErrorResponse(Unauthenticated("invalid credentials").WithReason("INVALID_CREDENTIALS"));
    }
    api::LoginAnswer a;
    a.token = "gps_new";
    a.user = Alice();
    return api::JsonResponse(200, api::Encode(a));
  });
  answers_ = {"pw", "123 456"};
  CtlRun r = Ctl({"--config", config_, "login", "--user", "alice"});
  EXPECT_OK(r);
  EXPECT_EQ(attempts, 2);
  ASSERT_EQ(asked_.size(), 2u);
  EXPECT_NE(asked_[1].first.find("TOTP code"), std::string::npos);
  EXPECT_EQ(ReadFile(config_), "token = gps_new\n");

  // A wrong code: refused with the server's words, nothing stored, no third attempt.
  std::filesystem::remove(config_);
  attempts = 0;
  answers_ = {"pw", "654321"};
  CtlRun wrong = Ctl({"--config", config_, "login", "--user", "alice"});
  EXPECT_EQ(wrong.exit_code, kExitApiError) << wrong.err;
  EXPECT_NE(wrong.err.find("INVALID_CREDENTIALS"), std::string::npos) << wrong.err;
  EXPECT_EQ(attempts, 2);
  EXPECT_FALSE(std::filesystem::exists(config_));

  // No factor (empty answer): one attempt's refusal is the answer.
  attempts = 0;
  answers_ = {"pw", ""};
  CtlRun none = Ctl({"--config", config_, "login", "--user", "alice"});
  EXPECT_EQ(none.exit_code, kExitApiError);
  EXPECT_EQ(attempts, 1);

  // A code given up front is sent with the first attempt; a recovery code as such.
  attempts = 0;
  answers_ = {"pw"};
  EXPECT_OK(Ctl({"--config", config_, "login", "--user", "alice", "--totp-code", "123456"}));
  EXPECT_EQ(attempts, 1);
  answers_ = {"pw", "k7wq-m3zp-4xta-9bnc"};
  Ctl({"--config", config_, "login", "--user", "alice"});
  auto sent = api::Decode<api::LoginRequest>(server_.requests.back().body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->recovery_code, "k7wq-m3zp-4xta-9bnc");
  EXPECT_EQ(sent->totp_code, "");
}

TEST_F(IdentityCommandsTest, LoginRefusesAGroupWritableConfigFile) {
  std::filesystem::create_directories(dir_ + "/govpool");
  { std::ofstream f(config_); f << "url = http://fake:1\n"; }
  ::chmod(config_.c_str(), 0664);
  AnswerLogin(false, false);
  answers_ = {"pw"};
  CtlRun r = Ctl({"--config", config_, "login", "--user", "alice"});
  EXPECT_EQ(r.exit_code, kExitUsage) << r.err;
  EXPECT_NE(r.err.find("writable by group or others"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(config_), "url = http://fake:1\n");
}

TEST_F(IdentityCommandsTest, LogoutEndsTheSessionAndForgetsIt) {
  std::filesystem::create_directories(dir_ + "/govpool");
  { std::ofstream f(config_); f << "url = http://fake:1\ntoken = gps_old\n"; }
  ::chmod(config_.c_str(), 0600);
  server_.On("POST /v1/auth/logout", [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  CtlRun r = Ctl({"--config", config_, "logout"}, /*with_token=*/false);
  EXPECT_OK(r);
  EXPECT_EQ(server_.requests.back().Header("Authorization"), "Bearer gps_old");
  EXPECT_EQ(ReadFile(config_), "url = http://fake:1\n");
  EXPECT_EQ(r.out, "logged out\n");
  // An already ended session is forgotten too.
  { std::ofstream f(config_); f << "token = gps_old\n"; }
  server_.OnError("POST /v1/auth/logout", Unauthenticated("session expired"));
  CtlRun ended = Ctl({"--config", config_, "logout"}, /*with_token=*/false);
  EXPECT_OK(ended);
  EXPECT_EQ(ReadFile(config_), "");
}

TEST_F(IdentityCommandsTest, PasswdAsksTwiceAndRefusesAMismatch) {
  server_.On("POST /v1/auth/password", [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  answers_ = {"old pw", "New-Passw0rd-1", "New-Passw0rd-2"};
  CtlRun mismatch = Ctl({"passwd"});
  EXPECT_EQ(mismatch.exit_code, kExitUsage);
  EXPECT_NE(mismatch.err.find("differ"), std::string::npos) << mismatch.err;
  EXPECT_EQ(server_.Count("POST /v1/auth/password"), 0);

  asked_.clear();
  answers_ = {"old pw", "New-Passw0rd-1", "New-Passw0rd-1"};
  CtlRun r = Ctl({"passwd"});
  EXPECT_OK(r);
  ASSERT_EQ(asked_.size(), 3u);
  for (const auto& [prompt, secret] : asked_) EXPECT_TRUE(secret) << prompt;
  auto sent = api::Decode<api::ChangePasswordRequest>(server_.requests.back().body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->current_password, "old pw");
  EXPECT_EQ(sent->new_password, "New-Passw0rd-1");
  // The policy's refusal comes through with its reason.
  server_.OnError("POST /v1/auth/password",
                  InvalidArgument("password is too short").WithReason("PASSWORD_POLICY"));
  answers_ = {"old pw", "short", "short"};
  CtlRun refused = Ctl({"passwd"});
  EXPECT_EQ(refused.exit_code, kExitApiError);
  EXPECT_NE(refused.err.find("PASSWORD_POLICY"), std::string::npos) << refused.err;
}

TEST_F(IdentityCommandsTest, TotpEnrolShowsTheUriAndQrThenPrintsRecoveryCodes) {
  api::TotpEnrolmentAnswer e{"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                             "otpauth://totp/govpool:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=govpool&algorithm=SHA1&digits=6&period=30"};
  server_.OnJson("POST /v1/auth/totp", api::Encode(e));
  server_.OnJson("POST /v1/auth/totp/confirm",
                 api::Encode(api::RecoveryCodesAnswer{{"aaaa-bbbb-cccc-dddd", "eeee-ffff-gggg-hhhh"}}));
  answers_ = {"287082"};
  CtlRun r = Ctl({"totp", "enrol"});
  EXPECT_OK(r);
  EXPECT_EQ(Field(r.out, "uri"), e.otpauth_uri) << r.out;
  EXPECT_EQ(Field(r.out, "secret"), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ") << r.out;
  EXPECT_NE(r.out.find("\u2588\u2588\u2588\u2588"), std::string::npos) << "a QR code";
  EXPECT_NE(r.out.find("  aaaa-bbbb-cccc-dddd\n  eeee-ffff-gggg-hhhh\n"), std::string::npos) << r.out;
  auto sent = api::Decode<api::ConfirmTotpRequest>(server_.requests.back().body);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->code, "287082");
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_FALSE(asked_[0].second);
}

TEST_F(IdentityCommandsTest, TokenCreateForYourselfWithAnExpiryAndScope) {
  api::SessionAnswer me;
  me.user = Bob();
  server_.OnJson("GET /v1/auth/session", api::Encode(me));
  api::Department d;
  d.meta = MetaOf(kDeptId);
  d.name = "finance";
  server_.OnJson("GET /v1/departments", Page(std::vector<api::Department>{d}));
  api::NewTokenAnswer answer;
  answer.user = Bob();
  answer.token_id = "77777777-7777-4777-8777-777777777777";
  answer.name = "ci";
  answer.token = "gpt_secret";
  server_.OnJson("POST /v1/users/" + std::string(kBobId) + "/tokens", api::Encode(answer), 201);
  CtlRun r = Ctl({"token", "create", "ci", "--expires", "30d", "--role", "dept-member", "--department",
                  "finance"});
  EXPECT_OK(r);
  EXPECT_EQ(Field(r.out, "token"), "gpt_secret") << r.out;
  EXPECT_NE(r.err.find("only once"), std::string::npos);
  const Request& req = server_.requests.back();
  EXPECT_TRUE(req.Header("Idempotency-Key").empty()) << "never replayed: the secret is shown once";
  auto sent = api::Decode<api::CreateTokenRequest>(req.body);
  ASSERT_TRUE(sent.ok()) << req.body;
  EXPECT_EQ(sent->name, "ci");
  EXPECT_EQ(sent->expires_at_ms, kNowMs + 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(sent->role, api::Role::kDeptMember);
  EXPECT_EQ(sent->department_id, kDeptId);

  // --expires is required and must be a duration.
  EXPECT_EQ(Ctl({"token", "create", "ci"}).exit_code, kExitUsage);
  CtlRun bad = Ctl({"token", "create", "ci", "--expires", "soon"});
  EXPECT_EQ(bad.exit_code, kExitUsage);
  EXPECT_NE(bad.err.find("--expires must be a duration"), std::string::npos) << bad.err;
}

TEST_F(IdentityCommandsTest, TokenListShowsExpiryAndLastUse) {
  server_.OnJson("GET /v1/users", Page(std::vector<api::User>{Alice(), Bob()}));
  api::Token t;
  t.meta = MetaOf("77777777-7777-4777-8777-777777777777");
  t.user_id = kBobId;
  t.name = "ci";
  t.expires_at_ms = kNowMs + 1000;
  t.role = api::Role::kDeptMember;
  t.last_used_at_ms = kNowMs - 1000;
  t.last_used_from = "10.0.0.7";
  server_.OnJson("GET /v1/users/" + std::string(kBobId) + "/tokens", Page(std::vector<api::Token>{t}));
  CtlRun list = Ctl({"token", "list", "--user", "bob"});
  EXPECT_OK(list);
  EXPECT_NE(list.out.find("ci    dept-member"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("10.0.0.7"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("2027-01-15T08:00:01.000Z"), std::string::npos) << list.out;
}

TEST_F(IdentityCommandsTest, TokenRevokeForAnotherUser) {
  server_.OnJson("GET /v1/users", Page(std::vector<api::User>{Alice(), Bob()}));
  api::Token t;
  t.meta = MetaOf("77777777-7777-4777-8777-777777777777");
  server_.On("DELETE /v1/users/" + std::string(kBobId) + "/tokens/" + t.meta.id,
             [](const Request&) -> Result<api::HttpResponse> { return api::JsonResponse(204, ""); });
  CtlRun revoke = Ctl({"token", "revoke", t.meta.id, "--user", "bob"});
  EXPECT_OK(revoke);
  EXPECT_EQ(revoke.out, "revoked token " + t.meta.id + "\n");
}

TEST_F(IdentityCommandsTest, UserDisableEnableDeleteAndResets) {
  server_.OnJson("GET /v1/users", Page(std::vector<api::User>{Alice(), Bob()}));
  const std::string bob = "/v1/users/" + std::string(kBobId);
  server_.On("PATCH " + bob, [](const Request& req) -> Result<api::HttpResponse> {
    api::User u = Bob();
    auto patch = api::Decode<api::PatchUserRequest>(req.body);
    u.disabled = patch.ok() && patch->disabled.value_or(false);
    return api::JsonResponse(200, api::Encode(u));
  });
  CtlRun off = Ctl({"user", "disable", "bob"});
  EXPECT_OK(off);
  EXPECT_EQ(Field(off.out, "disabled"), "true") << off.out;
  CtlRun on = Ctl({"user", "enable", "bob"});
  EXPECT_OK(on);
  EXPECT_EQ(Field(on.out, "disabled"), "false") << on.out;

  server_.OnJson("POST " + bob + "/password-reset", api::Encode(api::PasswordResetAnswer{kBobId, "Xy7-one-time"}));
  CtlRun reset = Ctl({"user", "reset-password", "bob"});
  EXPECT_OK(reset);
  EXPECT_EQ(Field(reset.out, "one_time_password"), "Xy7-one-time") << reset.out;

  server_.On("DELETE " + bob + "/totp", [](const Request&) -> Result<api::HttpResponse> {
    return api::JsonResponse(204, "");
  });
  EXPECT_OK(Ctl({"user", "reset-totp", "bob"}));
  EXPECT_EQ(server_.Count("DELETE " + bob + "/totp"), 1);

  server_.On("DELETE " + bob, [](const Request&) -> Result<api::HttpResponse> { return api::JsonResponse(204, ""); });
  CtlRun del = Ctl({"user", "delete", "bob", "--if-match", "3"});
  EXPECT_OK(del);
  EXPECT_EQ(del.out, "deleted user " + std::string(kBobId) + "\n");
  EXPECT_EQ(server_.requests.back().Header("If-Match"), "3");
}

TEST(WithTokenTest, ReplacesTokenAndTokenFileLinesOrRemovesThem) {
  EXPECT_EQ(WithToken("", std::string("gps_a")), "token = gps_a\n");
  EXPECT_EQ(WithToken("url = x\ntoken = old\n# token = c\n", std::string("gps_a")),
            "url = x\ntoken = gps_a\n# token = c\n");
  EXPECT_EQ(WithToken("token_file = f\nurl = x\ntoken=y\n", std::string("gps_a")), "token = gps_a\nurl = x\n");
  EXPECT_EQ(WithToken("url = x\ntoken = old\n", std::nullopt), "url = x\n");
}

TEST(DurationTest, UnitsAndRefusals) {
  EXPECT_EQ(*ParseDurationMs("30d", "--expires"), 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("12h", "--expires"), 12LL * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("90m", "--expires"), 90LL * 60 * 1000);
  EXPECT_EQ(*ParseDurationMs("2w", "--expires"), 14LL * 24 * 3600 * 1000);
  EXPECT_EQ(*ParseDurationMs("45s", "--expires"), 45'000);
  for (const char* bad : {"", "d", "30", "0d", "-1d", "1.5d", "30y", "d30"}) {
    EXPECT_FALSE(ParseDurationMs(bad, "--expires").ok()) << bad;
  }
}

}  // namespace
}  // namespace govpool::cli
