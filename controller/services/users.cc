#include "common/crypto.h"
#include "controller/services/paging.h"
#include "controller/services/services.h"

namespace govpool::controller {
namespace {

constexpr std::string_view kTokenPrefix = "gpt_";

}  // namespace

Result<api::User> CreateUser(State& s, Txn& t, const Caller& c, const api::CreateUserRequest& req) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
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
  api::User u;
  u.name = req.name;
  u.role = req.role;
  u.department_id = req.department_id;
  s.Save(t, u);
  return u;
}

Page<api::User> ListUsers(const State& s, const Caller& c, const ListOptions& o) {
  return PageOf(s.users(), o, [&](const api::User&) { return c.is_system_admin(); });
}

Result<api::User> GetUser(const State& s, const Caller& c, const std::string& id) {
  GP_RETURN_IF_ERROR(RequireSystemAdmin(c));
  const api::User* u = s.FindUser(id);
  if (!u) return NotFound("user " + id + " not found");
  return *u;
}

Result<NewToken> CreateToken(State& s, Txn& t, const Caller& c, const std::string& user_id,
                             const api::CreateTokenRequest& req) {
  GP_ASSIGN_OR_RETURN(api::User user, GetUser(s, c, user_id));
  NewToken out;
  out.user = user;
  out.secret = std::string(kTokenPrefix) + RandomSecret(32);
  out.token.user_id = user.meta.id;
  out.token.name = req.name;
  out.token.secret_sha256 = Sha256Hex(out.secret);
  s.Save(t, out.token);
  return out;
}

Result<Caller> Authenticate(const State& s, const std::string& secret) {
  // Only the digest is stored and looked up, so the secret never sits in memory at rest and
  // the lookup does not compare secrets byte by byte.
  const api::Token* token = s.FindTokenBySecretHash(Sha256Hex(secret));
  if (!token) return Unauthenticated("the bearer token is not valid");
  const api::User* user = s.FindUser(token->user_id);
  if (!user) return Unauthenticated("the bearer token's user no longer exists");
  return Caller{user->meta.id, user->name, user->role, user->department_id};
}

std::optional<std::string> BootstrapAdmin(State& s, Txn& t) {
  if (!s.users().empty()) return std::nullopt;
  api::User admin;
  admin.name = "admin";
  admin.role = api::Role::kSystemAdmin;
  s.Save(t, admin);
  api::Token token;
  const std::string secret = std::string(kTokenPrefix) + RandomSecret(32);
  token.user_id = admin.meta.id;
  token.name = "bootstrap";
  token.secret_sha256 = Sha256Hex(secret);
  s.Save(t, token);
  return secret;
}

}  // namespace govpool::controller
