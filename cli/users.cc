// govpoolctl user ... and token ...: users with their roles, and their bearer tokens.
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
      {"DEPARTMENT_ID", [](const U& u) { return u.department_id; }, true},
  };
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

struct TokenArgs {
  std::string user;
  api::CreateTokenRequest req;
};

Status CreateToken(Context& ctx, const TokenArgs& args) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.UserId(args.user));
  // Not retried: the route does not honour Idempotency-Key on purpose (a replay would hand the
  // secret out twice), so a retry could mint a second token.
  GP_ASSIGN_OR_RETURN(api::NewTokenAnswer t, ctx.api().CreateToken(id, args.req));
  ctx.PrintObject(t);
  if (!ctx.json()) ctx.err() << "note: the token secret is shown only once; store it now\n";
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

  Group& tokens = cli.AddGroup("token", "bearer tokens");
  {
    auto a = std::make_shared<TokenArgs>();
    tokens.AddCommand("create", "issue a bearer token for a user (admin); the secret is printed once")
        .Arg("USER_ID|USER_NAME", &a->user, "the user")
        .Option("--name", &a->req.name, "NAME", "a label for the token")
        .Run([a](Context& ctx) { return CreateToken(ctx, *a); });
  }
}

}  // namespace govpool::cli
