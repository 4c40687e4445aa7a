// govpoolctl user ... and token ...: users with their roles, and their API tokens.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

std::vector<Column<api::User>> UserColumns(Context& ctx) {
  using U = api::User;
  return {
      {"ID", [](const U& u) { return u.meta.id; }},
      {"NAME", [](const U& u) { return u.name; }},
      {"ROLE", [](const U& u) { return std::string(api::ToString(u.role)); }},
      {"DEPARTMENT", [&ctx](const U& u) { return ctx.DepartmentName(u.department_id); }},
      {"DISABLED", [](const U& u) { return std::string(u.disabled ? "true" : "false"); }},
      {"TOTP", [](const U& u) { return std::string(u.totp_enrolled ? "enrolled" : ""); }},
      {"LAST_LOGIN", [](const U& u) { return TimeText(u.last_login_at_ms); }, true},
      {"DEPARTMENT_ID", [](const U& u) { return u.department_id; }, true},
  };
}

std::vector<Column<api::Token>> TokenColumns(Context& ctx) {
  using T = api::Token;
  return {
      {"ID", [](const T& t) { return t.meta.id; }},
      {"NAME", [](const T& t) { return t.name; }},
      {"ROLE", [](const T& t) { return std::string(api::ToString(t.role)); }},
      {"DEPARTMENT", [&ctx](const T& t) { return ctx.DepartmentName(t.department_id); }},
      {"EXPIRES", [](const T& t) { return TimeText(t.expires_at_ms); }},
      {"LAST_USED", [](const T& t) { return TimeText(t.last_used_at_ms); }},
      {"FROM", [](const T& t) { return t.last_used_from; }},
      {"DEPARTMENT_ID", [](const T& t) { return t.department_id; }, true},
  };
}

// The user a token command is about: --user (ID|NAME), else the caller.
Result<std::string> TokenUserId(Context& ctx, const std::string& user) {
  if (!user.empty()) return ctx.UserId(user);
  GP_ASSIGN_OR_RETURN(api::SessionAnswer me, ctx.Retried([&] { return ctx.api().GetSession(); }));
  return me.user.meta.id;
}

struct CreateArgs {
  std::string name;
  std::optional<api::Role> role;
  std::string department;
};

Status Create(Context& ctx, const CreateArgs& args) {
  api::CreateUserRequest req;
  req.name = args.name;
  req.role = args.role.value_or(api::Role::kDeptMember);
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(req.department_id, ctx.DepartmentId(args.department));
  }
  GP_ASSIGN_OR_RETURN(api::User u, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateUser(req, w);
  }));
  ctx.PrintObject(u);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::User> items,
                      ctx.ListAll<api::User>(
                          [&](const api::PageQuery& q) { return ctx.api().ListUsers(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, UserColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(ref));
  GP_ASSIGN_OR_RETURN(api::User u, ctx.Retried([&] { return ctx.api().GetUser(id); }));
  ctx.PrintObject(u);
  return OkStatus();
}

Status SetDisabled(Context& ctx, const std::string& ref, bool disabled) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(ref));
  api::PatchUserRequest req;
  req.disabled = disabled;
  GP_ASSIGN_OR_RETURN(api::User u, ctx.Retried([&] { return ctx.api().PatchUser(id, req); }));
  ctx.PrintObject(u);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref, const std::optional<std::int64_t>& if_match) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(ref));
  GP_RETURN_IF_ERROR(ctx.Retried([&] { return ctx.api().DeleteUser(id, IfMatch(if_match)); }));
  PrintDeleted(ctx, "user", id);
  return OkStatus();
}

Status ResetPassword(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(ref));
  // Not retried: each reset makes a new one-time password.
  GP_ASSIGN_OR_RETURN(api::PasswordResetAnswer a, ctx.api().ResetUserPassword(id));
  ctx.PrintObject(a);
  if (!ctx.json()) {
    ctx.err() << "note: hand the one-time password over in person; it must be changed at the first login\n";
  }
  return OkStatus();
}

Status ResetTotp(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(ref));
  GP_RETURN_IF_ERROR(ctx.Retried([&] { return ctx.api().ResetUserTotp(id); }));
  if (!ctx.json()) ctx.out() << "removed the second factor of user " << id << "; it is enrolled again at the next login\n";
  return OkStatus();
}

struct TokenArgs {
  std::string user;
  std::string expires;  // "30d"
  std::optional<api::Role> role;
  std::string department;
  api::CreateTokenRequest req;
};

Status CreateToken(Context& ctx, TokenArgs args) {
  GP_ASSIGN_OR_RETURN(std::string id, TokenUserId(ctx, args.user));
  GP_ASSIGN_OR_RETURN(std::int64_t lifetime_ms, ParseDurationMs(args.expires, "--expires"));
  args.req.expires_at_ms = ctx.NowMs() + lifetime_ms;
  args.req.role = args.role;
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  }
  // Not retried: the route does not honour Idempotency-Key on purpose (a replay would hand the
  // secret out twice), so a retry could mint a second token.
  GP_ASSIGN_OR_RETURN(api::NewTokenAnswer t, ctx.api().CreateToken(id, args.req));
  ctx.PrintObject(t);
  if (!ctx.json()) ctx.err() << "note: the token secret is shown only once; store it now\n";
  return OkStatus();
}

Status ListTokens(Context& ctx, const std::string& user) {
  GP_ASSIGN_OR_RETURN(std::string id, TokenUserId(ctx, user));
  GP_ASSIGN_OR_RETURN(std::vector<api::Token> items,
                      ctx.ListAll<api::Token>(
                          [&](const api::PageQuery& q) { return ctx.api().ListTokens(id, q); },
                          api::PageQuery{}));
  ctx.PrintList(items, TokenColumns(ctx));
  return OkStatus();
}

Status RevokeToken(Context& ctx, const std::string& user, const std::string& token_id) {
  GP_ASSIGN_OR_RETURN(std::string id, TokenUserId(ctx, user));
  GP_RETURN_IF_ERROR(ctx.Retried([&] { return ctx.api().RevokeToken(id, token_id); }));
  if (!ctx.json()) ctx.out() << "revoked token " << token_id << "\n";
  return OkStatus();
}

}  // namespace

void AddUserCommands(CommandLine& cli) {
  Group& users = cli.AddGroup("user", "users and roles");
  {
    auto a = std::make_shared<CreateArgs>();
    users.AddCommand("create", "create a user (admin)")
        .Arg("NAME", &a->name, "the user's name")
        .Choice("--role", &a->role, "the user's role").Required()
        .Option("--department", &a->department, "ID|NAME",
                "department of a dept-admin or dept-member")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  users.AddCommand("list", "list users (admin)").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    users.AddCommand("show", "show a user (admin)")
        .Arg("ID|NAME", ref.get(), "the user")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  for (const bool disabled : {true, false}) {
    auto ref = std::make_shared<std::string>();
    users.AddCommand(disabled ? "disable" : "enable",
                     disabled ? "disable a user: its sessions and tokens stop working at once (admin)"
                              : "enable a disabled user again (admin)")
        .Arg("ID|NAME", ref.get(), "the user")
        .Run([ref, disabled](Context& ctx) { return SetDisabled(ctx, *ref, disabled); });
  }
  {
    auto ref = std::make_shared<std::string>();
    auto if_match = std::make_shared<std::optional<std::int64_t>>();
    Command& c = users.AddCommand("delete", "delete a user; what it owned is kept and still attributed (admin)")
                     .Arg("ID|NAME", ref.get(), "the user");
    IfMatchOption(c, if_match.get()).Run([ref, if_match](Context& ctx) { return Delete(ctx, *ref, *if_match); });
  }
  {
    auto ref = std::make_shared<std::string>();
    users.AddCommand("reset-password", "give a user a one-time password to change at the next login (admin)")
        .Arg("ID|NAME", ref.get(), "the user")
        .Run([ref](Context& ctx) { return ResetPassword(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    users.AddCommand("reset-totp", "remove a user's lost second factor; it enrols again at the next login (admin)")
        .Arg("ID|NAME", ref.get(), "the user")
        .Run([ref](Context& ctx) { return ResetTotp(ctx, *ref); });
  }

  Group& tokens = cli.AddGroup("token", "API tokens for automation");
  {
    auto a = std::make_shared<TokenArgs>();
    tokens.AddCommand("create", "issue an API token (yours, or --user's as admin); the secret is printed once")
        .Arg("NAME", &a->req.name, "a label for the token")
        .Option("--expires", &a->expires, "DURATION", "lifetime, e.g. 30d, 12h (at most 365d)").Required()
        .Choice("--role", &a->role, "the token's role (default: the user's; a dept-admin may give dept-member)")
        .Option("--department", &a->department, "ID|NAME", "the token's department (default: the user's)")
        .Option("--user", &a->user, "ID|NAME", "whose token (default: yours)")
        .Run([a](Context& ctx) { return CreateToken(ctx, *a); });
  }
  {
    auto user = std::make_shared<std::string>();
    tokens.AddCommand("list", "list API tokens with expiry and last use (yours, or --user's as admin)")
        .Option("--user", user.get(), "ID|NAME", "whose tokens (default: yours)")
        .Run([user](Context& ctx) { return ListTokens(ctx, *user); });
  }
  {
    auto user = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    tokens.AddCommand("revoke", "revoke an API token: it answers 401 at once")
        .Arg("ID", id.get(), "the token's id")
        .Option("--user", user.get(), "ID|NAME", "whose token (default: yours)")
        .Run([user, id](Context& ctx) { return RevokeToken(ctx, *user, *id); });
  }
}

}  // namespace govpool::cli
