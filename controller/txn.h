// Txn: one write transaction of the controller's state: the revision it writes at, its time,
// and the records it changed (which Db makes durable in one commit).
// Not synchronised: used by one writer under Db's exclusive lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/state_store.h"

namespace govpool::controller {

// One entry of the audit trail (docs/security.md, "Audit trail"), as the code that knows what
// happened describes it. Entries added to a Txn are committed in the same durable batch as its
// changes; the committer gives each its sequence number, time and place in the hash chain.
struct AuditEntry {
  // "request" for the record every API request leaves; its own kind for what the rules name
  // separately: "login", "login_failed", "lockout", "logout", "password_changed",
  // "totp_enrolled", "token_created", "token_revoked", "user_changed", "policy_changed",
  // "vm_delete", "vm_restart".
  std::string kind = "request";
  std::string user = "anonymous";  // user name
  std::string user_id = {};
  std::string role = {};
  std::string source = {};  // the client's address
  std::string method = {};
  std::string route = {};   // the route's pattern, e.g. /v1/vms/{id}
  std::string object_id = {};
  std::string department_id = {};
  std::string outcome = {};  // allowed | denied | failed
  int status = 0;       // the HTTP status answered
  std::string body_sha256 = {};  // changes: SHA-256 of the request body (hex)
  std::string detail = {};       // free text, never a secret
};

class Txn {
 public:
  Txn(std::int64_t revision, std::int64_t now_ms) : revision_(revision), now_ms_(now_ms) {}
  std::int64_t revision() const { return revision_; }
  std::int64_t now_ms() const { return now_ms_; }
  void Put(std::string kind, std::string id, std::string value) {
    mutations_.push_back({std::move(kind), std::move(id), std::move(value)});
  }
  void Delete(std::string kind, std::string id) {
    mutations_.push_back({std::move(kind), std::move(id), std::nullopt});
  }
  std::vector<Mutation>& mutations() { return mutations_; }
  // Adds an audit record committed with this transaction's changes (or alone, when it has none).
  void Audit(AuditEntry entry) { audit_.push_back(std::move(entry)); }
  std::vector<AuditEntry>& audit() { return audit_; }

 private:
  std::int64_t revision_;
  std::int64_t now_ms_;
  std::vector<Mutation> mutations_;
  std::vector<AuditEntry> audit_;
};

}  // namespace govpool::controller
