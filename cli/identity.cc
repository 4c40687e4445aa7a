// govpoolctl login, logout, passwd, whoami and totp enrol: a person's own session, password and
// second factor (the self-service /v1/auth routes). The session's secret goes to the config
// file (cli/config.h, StoreToken), never to the screen.
#include <cctype>
#include <memory>

#include "cli/commands.h"
#include "cli/qr_terminal.h"

namespace govpool::cli {
namespace {

// What an authenticator app shows: six digits, perhaps with a space in the middle. Anything
// else typed at the code prompt is taken for a recovery code.
bool LooksLikeTotpCode(const std::string& code) {
  int digits = 0;
  for (char c : code) {
    if (std::isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (c != ' ') return false;
  }
  return digits == 6;
}

// A TOTP code as sent: its digits ("123 456" -> "123456").
std::string Digits(const std::string& code) {
  std::string out;
  for (char c : code) {
    if (c != ' ') out += c;
  }
  return out;
}

std::string Trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") + 1 - b);
}

std::string DurationText(std::int64_t seconds) {
  if (seconds > 0 && seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds > 0 && seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

struct LoginArgs {
  std::string user;
  std::string totp_code;
  std::string recovery_code;
};

Status Login(Context& ctx, const LoginArgs& args) {
  if (ctx.config_path().empty()) {
    return UsageError("no config file to keep the session in: set HOME or give --config FILE");
  }
  api::LoginRequest req;
  req.user = args.user;
  if (req.user.empty()) {
    GP_ASSIGN_OR_RETURN(std::string user, ctx.Ask("User: ", false));
    req.user = Trimmed(user);
    if (req.user.empty()) return UsageError("no user name given");
  }
  GP_ASSIGN_OR_RETURN(req.password, ctx.Ask("Password: ", true));
  req.totp_code = Digits(args.totp_code);
  req.recovery_code = args.recovery_code;
  // Without the configured token: a stale session must not stand in the way of a new one.
  GP_ASSIGN_OR_RETURN(std::unique_ptr<api::Client> anonymous, ctx.OpenClient(""));
  // Not retried: every refused attempt counts towards the lockout.
  Result<api::LoginAnswer> answer = anonymous->Login(req);
  if (!answer.ok() && answer.status().reason() == "INVALID_CREDENTIALS" && req.totp_code.empty() &&
      req.recovery_code.empty()) {
    // The controller does not say which part was wrong (an attacker would learn from it): the
    // user may have a factor. Ask once for its code.
    GP_ASSIGN_OR_RETURN(std::string code,
                        ctx.Ask("TOTP code (or a recovery code; empty if you have no factor): ", false));
    code = Trimmed(code);
    if (code.empty()) return answer.status();
    if (LooksLikeTotpCode(code)) {
      req.totp_code = Digits(code);
    } else {
      req.recovery_code = code;
    }
    answer = anonymous->Login(req);
  }
  if (!answer.ok()) return answer.status();
  GP_RETURN_IF_ERROR(StoreToken(ctx.config_path(), answer->token));
  api::LoginAnswer shown = *answer;
  shown.token.clear();  // it is in the config file; a screen or a log is no place for it
  if (ctx.json()) {
    ctx.PrintObject(shown);
    return OkStatus();
  }
  ctx.out() << FormatFields({
      {"user", shown.user.name},
      {"role", std::string(api::ToString(shown.user.role))},
      {"expires_at", TimeText(shown.expires_at_ms)},
      {"idle_timeout", DurationText(shown.idle_timeout_s)},
      {"must_change_password", shown.must_change_password ? "true" : "false"},
      {"must_enrol_factor", shown.must_enrol_factor ? "true" : "false"},
  });
  ctx.err() << "session stored in " << ctx.config_path() << "\n";
  if (shown.must_change_password) {
    ctx.err() << "next: change your password with 'govpoolctl passwd' (nothing else is allowed before)\n";
  }
  if (shown.must_enrol_factor) {
    ctx.err() << "next: enrol a second factor with 'govpoolctl totp enrol' (nothing else is allowed before)\n";
  }
  return OkStatus();
}

Status Logout(Context& ctx) {
  const Status s = ctx.api().Logout();
  // A session that already ended (expired, revoked) is forgotten all the same.
  if (!s.ok() && s.code() != StatusCode::kUnauthenticated) return s;
  if (!ctx.config_path().empty()) {
    GP_ASSIGN_OR_RETURN(std::optional<ConfigFile> config, LoadConfigFile(ctx.config_path(), false));
    // Only a session is removed; an API token someone put there is theirs to keep.
    if (config && config->token && config->token->starts_with("gps_")) {
      GP_RETURN_IF_ERROR(StoreToken(ctx.config_path(), std::nullopt));
    }
  }
  if (!ctx.json()) ctx.out() << (s.ok() ? "logged out\n" : "the session had already ended\n");
  return OkStatus();
}

Status ChangePassword(Context& ctx) {
  api::ChangePasswordRequest req;
  GP_ASSIGN_OR_RETURN(req.current_password, ctx.Ask("Current password: ", true));
  GP_ASSIGN_OR_RETURN(req.new_password, ctx.Ask("New password: ", true));
  GP_ASSIGN_OR_RETURN(std::string again, ctx.Ask("New password again: ", true));
  if (again != req.new_password) return UsageError("the two new passwords differ; nothing changed");
  GP_RETURN_IF_ERROR(ctx.api().ChangePassword(req));
  if (!ctx.json()) ctx.out() << "password changed\n";
  return OkStatus();
}

Status WhoAmI(Context& ctx) {
  GP_ASSIGN_OR_RETURN(api::SessionAnswer s, ctx.Retried([&] { return ctx.api().GetSession(); }));
  ctx.PrintObject(s);
  return OkStatus();
}

// "ABCD EFGH ...": a base32 secret in groups of four, for typing it into an app by hand.
std::string Grouped(const std::string& secret) {
  std::string out;
  for (size_t i = 0; i < secret.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += secret[i];
  }
  return out;
}

Status EnrolTotp(Context& ctx) {
  // Not retried: each call begins a new enrolment with a new secret.
  GP_ASSIGN_OR_RETURN(api::TotpEnrolmentAnswer enrolment, ctx.api().BeginTotpEnrolment());
  if (ctx.json()) {
    ctx.PrintObject(enrolment);
  } else {
    ctx.out() << "Scan this code with an authenticator app (or type the secret into it):\n\n";
    if (auto qr = RenderQrForTerminal(enrolment.otpauth_uri); qr.ok()) ctx.out() << *qr << "\n";
    ctx.out() << FormatFields({{"uri", enrolment.otpauth_uri}, {"secret", Grouped(enrolment.secret_base32)}})
              << "\n";
  }
  ctx.out().flush();
  GP_ASSIGN_OR_RETURN(std::string code, ctx.Ask("Code shown by the app: ", false));
  api::ConfirmTotpRequest req;
  req.code = Digits(Trimmed(code));
  GP_ASSIGN_OR_RETURN(api::RecoveryCodesAnswer codes, ctx.api().ConfirmTotpEnrolment(req));
  if (ctx.json()) {
    ctx.PrintObject(codes);
    return OkStatus();
  }
  ctx.out() << "TOTP enrolled. Recovery codes, each good for one login without the app; they are\n"
               "not shown again: keep them offline.\n";
  for (const std::string& c : codes.recovery_codes) ctx.out() << "  " << c << "\n";
  return OkStatus();
}

}  // namespace

void AddIdentityCommands(CommandLine& cli) {
  {
    auto a = std::make_shared<LoginArgs>();
    cli.AddCommand("login", "log in: asks for the password (and TOTP code) and keeps the session in the config file")
        .Option("--user", &a->user, "NAME", "the user (asked when not given)")
        .Option("--totp-code", &a->totp_code, "CODE", "the authenticator app's code (asked when needed)")
        .Option("--recovery-code", &a->recovery_code, "CODE", "a recovery code instead of a TOTP code")
        .WritesConfig()
        .Run([a](Context& ctx) { return Login(ctx, *a); });
  }
  cli.AddCommand("logout", "end the session and remove it from the config file").WritesConfig().Run(Logout);
  cli.AddCommand("passwd", "change your password (asks for the current one and the new one twice)")
      .Run(ChangePassword);
  cli.AddCommand("whoami", "show your user, role, credential, restriction and expiry").Run(WhoAmI);
  Group& totp = cli.AddGroup("totp", "your second factor (TOTP)");
  totp.AddCommand("enrol", "enrol an authenticator app: shows a QR code, asks for a code, prints recovery codes")
      .Run(EnrolTotp);
}

}  // namespace govpool::cli
