// Context: what one govpoolctl command runs with. The typed API client (api/client/client.h),
// the output streams and flags (--json, --wide), the retry policy, paging, and the lookups
// between names and ids: each collection a command needs for them (departments, hosts, ...) is
// listed at most once per command and then cached, for resolving "ID|NAME" arguments and for
// showing names in tables alike. Not thread-safe: one Context per command.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "api/client/client.h"
#include "api/codec.h"
#include "api/types.h"
#include "cli/errors.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/result.h"

namespace govpool::cli {

// Page size of the lists govpoolctl reads whole.
inline constexpr std::int64_t kDefaultPageSize = 500;

// The Status of a call's outcome (a Status or a Result<T>).
inline const Status& StatusOf(const Status& s) { return s; }
template <class T>
Status StatusOf(const Result<T>& r) { return r.status(); }

class Context {
 public:
  struct Options {
    bool json = false;
    bool wide = false;
    // Waits between retries (and polls); tests pass one that does not sleep.
    std::function<void(std::chrono::milliseconds)> sleep;
    // stderr is a terminal: progress is one line redrawn in place (cli/progress.h).
    bool err_terminal = false;
    // The steady clock (progress rates, timeouts); tests pass one that follows `sleep`.
    std::function<std::chrono::steady_clock::time_point()> now;
    // Asks a person a question (cli/prompt.h: login's password, TOTP codes); tests script it.
    std::function<Result<std::string>(const std::string& prompt, bool secret)> ask;
    // The config file `login` stores its session in; "" when there is none (no HOME).
    std::string config_path;
    // The wall clock in ms since the epoch (token expiries); tests pass a fixed one.
    std::function<std::int64_t()> now_ms;
    // A client of the same controller with another bearer token ("" for none): `login` must
    // not send a session that may have expired.
    std::function<Result<std::unique_ptr<api::Client>>(const std::string& bearer_token)> open_client;
  };
  Context(api::Client& client, std::ostream& out, std::ostream& err, Options options);
  ~Context();

  api::Client& api() { return client_; }
  bool json() const { return options_.json; }
  bool wide() const { return options_.wide; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool err_is_terminal() const { return options_.err_terminal; }
  std::chrono::steady_clock::time_point Now() const { return options_.now(); }
  std::int64_t NowMs() const { return options_.now_ms(); }
  const std::string& config_path() const { return options_.config_path; }
  // The answer of a person to `prompt` (echo off for a `secret`).
  Result<std::string> Ask(const std::string& prompt, bool secret) { return options_.ask(prompt, secret); }
  Result<std::unique_ptr<api::Client>> OpenClient(const std::string& bearer_token) {
    return options_.open_client(bearer_token);
  }
  void Sleep(std::chrono::milliseconds d) { options_.sleep(d); }

  // ---- Calls ----
  // `call()` (returning a Status or a Result); when the controller could not be reached, up to
  // twice more, 200 and 400 ms later. Only for calls that are safe to repeat: reads and
  // idempotent writes (host registration by name).
  template <class F>
  auto Retried(F&& call) -> decltype(call()) {
    for (int attempt = 0;; ++attempt) {
      auto result = call();
      const Status s = StatusOf(result);
      if (s.ok() || attempt >= 2 || !IsUnreachable(s) || s.code() != StatusCode::kUnavailable) {
        return result;
      }
      Pause(attempt);
    }
  }
  // A create: `call(write_options)` with a fresh Idempotency-Key, retried with the same key (the
  // server answers a repeated key with the first answer, so a retry never makes a second object).
  template <class F>
  auto Create(F&& call) {
    api::WriteOptions w;
    w.idempotency_key = NewUuid();
    return Retried([&] { return call(w); });
  }
  // Every item of a paged list: `list(query)` page after page (each read retried), following
  // next_page_token until it is empty.
  template <class T, class Query, class List>
  Result<std::vector<T>> ListAll(List&& list, Query query) {
    std::vector<T> items;
    if (query.limit == 0) query.limit = kDefaultPageSize;
    for (;;) {
      GP_ASSIGN_OR_RETURN(api::ListPage<T> page, Retried([&] { return list(query); }));
      for (T& item : page.items) items.push_back(std::move(item));
      if (page.next_page_token.empty()) return items;
      if (page.next_page_token == query.page_token) {
        return Internal("the server answered page token '" + query.page_token + "' with itself")
            .WithReason("PAGINATION_LOOP");
      }
      query.page_token = std::move(page.next_page_token);
    }
  }

  // ---- Names and ids ----
  // An "ID|NAME" argument: `ref` itself when it is a UUID, else the id of the one object so
  // named. NOT_FOUND when none is visible to the caller, AMBIGUOUS when several are (e.g. VMs
  // of one name in two departments); other errors are those of listing the collection.
  Result<std::string> DepartmentId(const std::string& ref);
  Result<std::string> HostId(const std::string& ref);
  Result<std::string> VmId(const std::string& ref);
  Result<std::string> UserId(const std::string& ref);
  Result<std::string> ServerGroupId(const std::string& ref);
  Result<std::string> StoragePoolId(const std::string& ref);
  Result<std::string> VolumeId(const std::string& ref);
  Result<std::string> ImageId(const std::string& ref);
  Result<std::string> BackupPolicyId(const std::string& ref);
  Result<std::string> BackupId(const std::string& ref);
  Result<std::string> NetworkId(const std::string& ref);
  Result<std::string> SubnetId(const std::string& ref);
  Result<std::string> PortId(const std::string& ref);
  Result<std::string> SecurityGroupId(const std::string& ref);
  Result<std::string> RouterId(const std::string& ref);
  // The name to show for an id in a table: the object's name, or the id itself when the name
  // cannot be known (the caller may not list the collection, e.g. a department user and hosts,
  // or the object is gone). "" for "". Never fails.
  std::string DepartmentName(const std::string& id);
  std::string HostName(const std::string& id);
  std::string VmName(const std::string& id);
  std::string ServerGroupName(const std::string& id);
  std::string StoragePoolName(const std::string& id);
  std::string VolumeName(const std::string& id);
  std::string ImageName(const std::string& id);
  std::string BackupPolicyName(const std::string& id);
  std::string NetworkName(const std::string& id);
  std::string SubnetName(const std::string& id);
  std::string SecurityGroupName(const std::string& id);

  // ---- Output (output.cc) ----
  // One object: the API's JSON (api::Encode) with --json, else "field  value" lines from its
  // declaration (fields.h).
  void PrintObject(const api::Department& value);
  void PrintObject(const api::Flavor& value);
  void PrintObject(const api::Host& value);
  void PrintObject(const api::Vm& value);
  void PrintObject(const api::ServerGroup& value);
  void PrintObject(const api::User& value);
  void PrintObject(const api::NewTokenAnswer& value);
  void PrintObject(const api::SessionAnswer& value);
  void PrintObject(const api::PasswordResetAnswer& value);
  void PrintObject(const api::TotpEnrolmentAnswer& value);
  void PrintObject(const api::RecoveryCodesAnswer& value);
  // With the session's secret as the caller left it (login blanks it: it is in the config file).
  void PrintObject(const api::LoginAnswer& value);
  void PrintObject(const api::StoragePool& value);
  void PrintObject(const api::Volume& value);
  void PrintObject(const api::VolumeSnapshot& value);
  void PrintObject(const api::Image& value);
  void PrintObject(const api::BackupPolicy& value);
  void PrintObject(const api::CapacityRequest& value);
  void PrintObject(const api::Webhook& value);
  void PrintObject(const api::WebhookDelivery& value);
  void PrintObject(const api::Backup& value);
  void PrintObject(const api::Network& value);
  void PrintObject(const api::Subnet& value);
  void PrintObject(const api::Port& value);
  void PrintObject(const api::SecurityGroup& value);
  void PrintObject(const api::Router& value);
  void PrintObject(const api::FloatingIp& value);
  // A whole list: {"items":[...],"next_page_token":""} with --json, else the table of
  // `columns` (the wide_only ones with --wide).
  void PrintList(const std::vector<api::Department>& items, const std::vector<Column<api::Department>>& columns);
  void PrintList(const std::vector<api::CapacityRequest>& items,
                 const std::vector<Column<api::CapacityRequest>>& columns);
  void PrintList(const std::vector<api::Webhook>& items, const std::vector<Column<api::Webhook>>& columns);
  void PrintList(const std::vector<api::WebhookDelivery>& items,
                 const std::vector<Column<api::WebhookDelivery>>& columns);
  void PrintList(const std::vector<api::Flavor>& items, const std::vector<Column<api::Flavor>>& columns);
  void PrintList(const std::vector<api::Host>& items, const std::vector<Column<api::Host>>& columns);
  void PrintList(const std::vector<api::Vm>& items, const std::vector<Column<api::Vm>>& columns);
  void PrintList(const std::vector<api::ServerGroup>& items, const std::vector<Column<api::ServerGroup>>& columns);
  void PrintList(const std::vector<api::User>& items, const std::vector<Column<api::User>>& columns);
  void PrintList(const std::vector<api::Token>& items, const std::vector<Column<api::Token>>& columns);
  void PrintList(const std::vector<api::Event>& items, const std::vector<Column<api::Event>>& columns);
  void PrintList(const std::vector<api::StoragePool>& items, const std::vector<Column<api::StoragePool>>& columns);
  void PrintList(const std::vector<api::Volume>& items, const std::vector<Column<api::Volume>>& columns);
  void PrintList(const std::vector<api::VolumeSnapshot>& items,
                 const std::vector<Column<api::VolumeSnapshot>>& columns);
  void PrintList(const std::vector<api::Image>& items, const std::vector<Column<api::Image>>& columns);
  void PrintList(const std::vector<api::BackupPolicy>& items,
                 const std::vector<Column<api::BackupPolicy>>& columns);
  void PrintList(const std::vector<api::Backup>& items, const std::vector<Column<api::Backup>>& columns);
  void PrintList(const std::vector<api::Network>& items, const std::vector<Column<api::Network>>& columns);
  void PrintList(const std::vector<api::Subnet>& items, const std::vector<Column<api::Subnet>>& columns);
  void PrintList(const std::vector<api::Port>& items, const std::vector<Column<api::Port>>& columns);
  void PrintList(const std::vector<api::SecurityGroup>& items,
                 const std::vector<Column<api::SecurityGroup>>& columns);
  void PrintList(const std::vector<api::Router>& items, const std::vector<Column<api::Router>>& columns);
  void PrintList(const std::vector<api::FloatingIp>& items, const std::vector<Column<api::FloatingIp>>& columns);

 private:
  struct Catalogs;  // the collections listed so far (context.cc)
  void Pause(int attempt);

  api::Client& client_;
  std::ostream& out_;
  std::ostream& err_;
  Options options_;
  std::unique_ptr<Catalogs> catalogs_;
};

}  // namespace govpool::cli
