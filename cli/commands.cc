#include "cli/commands.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "api/client/http_client.h"
#include "api/codec.h"
#include "api/http_message.h"
#include "cli/args.h"
#include "cli/config.h"
#include "cli/table.h"
#include "common/ids.h"

namespace govpool::cli {
namespace {

namespace json = boost::json;

// How a request may be repeated after a transport failure.
enum class CallKind {
  kRead,        // GET or an idempotent write: retried
  kCreate,      // POST with a fresh Idempotency-Key: retried with the same key
  kCreateOnce,  // POST with an Idempotency-Key the route may not honour: not retried
  kWrite,       // not retried
};

constexpr int kDefaultPageSize = 500;

struct Reply {
  int status = 0;
  std::string body;
  json::value value;  // null for an empty body
};

// One cell or field value as text.
std::string Text(const json::value* v) {
  if (!v) return "";
  switch (v->kind()) {
    case json::kind::null:
      return "";
    case json::kind::string:
      return std::string(v->get_string());
    case json::kind::bool_:
      return v->get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v->get_int64());
    case json::kind::uint64:
      return std::to_string(v->get_uint64());
    case json::kind::double_: {
      std::ostringstream s;
      s << v->get_double();
      return s.str();
    }
    case json::kind::array: {
      const json::array& a = v->get_array();
      bool scalars = true;
      for (const json::value& e : a) scalars = scalars && !e.is_object() && !e.is_array();
      if (!scalars) return json::serialize(*v);
      std::string out;
      for (const json::value& e : a) out += (out.empty() ? "" : ",") + Text(&e);
      return out;
    }
    case json::kind::object:
      return json::serialize(*v);
  }
  return "";
}

// The value at a dotted path ("quota.instances"); nullptr when absent.
const json::value* At(const json::value& v, std::string_view path) {
  const json::value* cur = &v;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    const json::object* o = cur->if_object();
    if (!o) return nullptr;
    cur = o->if_contains(key);
    if (!cur) return nullptr;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

std::string Str(const json::value& v, std::string_view path) { return Text(At(v, path)); }

std::string Limit(const json::value* v) {
  if (v && v->is_int64() && v->get_int64() < 0) return "unlimited";
  return Text(v);
}

void Flatten(const json::value& v, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  const json::object* o = v.if_object();
  if (!o) {
    out.emplace_back(prefix, Text(&v));
    return;
  }
  for (const auto& kv : *o) {
    std::string key = prefix.empty() ? std::string(kv.key()) : prefix + "." + std::string(kv.key());
    if (kv.value().is_object() && !kv.value().get_object().empty()) {
      Flatten(kv.value(), key, out);
    } else {
      out.emplace_back(key, Text(&kv.value()));
    }
  }
}

// "(resource=instances, requested=1, used=10, limit=10)" or "" for no details.
std::string FormatDetails(const json::value* details) {
  const json::object* o = details ? details->if_object() : nullptr;
  if (!o || o->empty()) return "";
  std::string out = " (";
  bool first = true;
  for (const auto& kv : *o) {
    if (!first) out += ", ";
    first = false;
    out += std::string(kv.key()) + "=" +
           (kv.value().is_string() ? std::string(kv.value().get_string()) : json::serialize(kv.value()));
  }
  return out + ")";
}

struct Column {
  const char* header;
  const char* path;
  bool is_limit = false;
};

const std::vector<Column> kDepartmentColumns = {
    {"ID", "id"},
    {"NAME", "name"},
    {"INSTANCES", "quota.instances", true},
    {"VCPUS", "quota.vcpus", true},
    {"MEMORY_MIB", "quota.memory_mib", true},
    {"DESCRIPTION", "description"},
};
const std::vector<Column> kFlavorColumns = {
    {"ID", "id"}, {"NAME", "name"}, {"VCPUS", "vcpus"}, {"MEMORY_MIB", "memory_mib"},
    {"DISK_GIB", "disk_gib"},
};
const std::vector<Column> kHostColumns = {
    {"ID", "id"},
    {"NAME", "name"},
    {"POOL", "pool"},
    {"STATUS", "status"},
    {"ENABLED", "enabled"},
    {"MAINT", "maintenance"},
    {"CPUS", "capacity.cpus"},
    {"VCPUS_USED", "allocated.vcpus"},
    {"VCPUS_FREE", "free.vcpus"},
    {"MEM_FREE_MIB", "free.memory_mib"},
    {"DISK_FREE_GIB", "free.disk_gib"},
    {"VMS", "instances"},
};
const std::vector<Column> kVmColumns = {
    {"ID", "id"},           {"NAME", "name"},     {"DEPARTMENT", "department_id"},
    {"FLAVOR", "flavor_name"}, {"HOST", "host_id"}, {"STATE", "state"},
    {"POWER", "power"},
};
const std::vector<Column> kUserColumns = {
    {"ID", "id"}, {"NAME", "name"}, {"ROLE", "role"}, {"DEPARTMENT", "department_id"},
};

std::string Table(const std::vector<Column>& columns, const json::array& items) {
  Row header;
  for (const Column& c : columns) header.push_back(c.header);
  std::vector<Row> rows;
  for (const json::value& item : items) {
    Row row;
    for (const Column& c : columns) {
      const json::value* v = At(item, c.path);
      row.push_back(c.is_limit ? Limit(v) : Text(v));
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

std::string Fields(const json::value& v) {
  std::vector<std::pair<std::string, std::string>> fields;
  Flatten(v, "", fields);
  return FormatFields(fields);
}

class Session {
 public:
  Session(const Invocation& inv, api::HttpClient& client, std::string url, bool have_token,
          std::ostream& out, std::ostream& err)
      : inv_(inv), client_(client), url_(std::move(url)), have_token_(have_token), out_(out),
        err_(err) {}

  Status Run() {
    const std::string key = inv_.command->group + " " + inv_.command->verb;
    static const std::map<std::string, Status (Session::*)()> kHandlers = {
        {"department create", &Session::DepartmentCreate},
        {"department list", &Session::DepartmentList},
        {"department show", &Session::DepartmentShow},
        {"department update", &Session::DepartmentUpdate},
        {"department delete", &Session::DepartmentDelete},
        {"department usage", &Session::DepartmentUsage},
        {"flavor create", &Session::FlavorCreate},
        {"flavor list", &Session::FlavorList},
        {"flavor show", &Session::FlavorShow},
        {"flavor delete", &Session::FlavorDelete},
        {"host register", &Session::HostRegister},
        {"host list", &Session::HostList},
        {"host show", &Session::HostShow},
        {"host update", &Session::HostUpdate},
        {"vm create", &Session::VmCreate},
        {"vm list", &Session::VmList},
        {"vm show", &Session::VmShow},
        {"vm delete", &Session::VmDelete},
        {"vm start", &Session::VmAction},
        {"vm stop", &Session::VmAction},
        {"vm reboot", &Session::VmAction},
        {"user create", &Session::UserCreate},
        {"user list", &Session::UserList},
        {"user show", &Session::UserShow},
        {"token create", &Session::TokenCreate},
    };
    auto it = kHandlers.find(key);
    if (it == kHandlers.end()) return UsageError("unknown command '" + key + "'");
    return (this->*(it->second))();
  }

 private:
  // ---- HTTP plumbing ----

  Result<Reply> Call(std::string_view method, const std::string& target, const std::string& body,
                     CallKind kind, api::HeaderList headers = {}) {
    if (kind == CallKind::kCreate || kind == CallKind::kCreateOnce) {
      headers.emplace_back("Idempotency-Key", NewUuid());
    }
    const bool retry = kind == CallKind::kRead || kind == CallKind::kCreate;
    Result<api::HttpResponse> response = Unavailable("not sent");
    for (int attempt = 0;; ++attempt) {
      response = client_.Send(method, target, body, headers);
      if (response.ok() || !retry || attempt >= 2 ||
          response.status().code() != StatusCode::kUnavailable) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
    }
    if (!response.ok()) {
      const Status& s = response.status();
      if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded) {
        return Status(s.code(), "cannot reach the controller at " + url_ + ": " + s.message());
      }
      return s;
    }
    Reply reply;
    reply.status = response->status;
    reply.body = std::move(response->body);
    if (!reply.body.empty()) {
      boost::system::error_code ec;
      reply.value = json::parse(reply.body, ec);
      if (ec && reply.status < 400) {
        return ApiError("MALFORMED_RESPONSE: " + std::string(method) + " " + target +
                        " answered HTTP " + std::to_string(reply.status) + " with a body that is "
                        "not JSON: " + ec.message());
      }
      if (ec) reply.value = nullptr;
    }
    if (reply.status >= 400) return ErrorFromReply(reply);
    return reply;
  }

  Status ErrorFromReply(const Reply& reply) {
    const json::value* code = At(reply.value, "error.code");
    const json::value* message = At(reply.value, "error.message");
    if (!code || !code->is_string()) {
      std::string body = reply.body.substr(0, 200);
      return ApiError("HTTP_" + std::to_string(reply.status) + ": " +
                      (body.empty() ? "the server answered with no error body" : body));
    }
    std::string text = std::string(code->get_string()) + ": " + Text(message) +
                       FormatDetails(At(reply.value, "error.details"));
    if (code->get_string() == "UNAUTHENTICATED" && !have_token_) {
      text += "; no token is configured: use --token, --token-file, GOVPOOL_TOKEN or the config "
              "file";
    }
    return ApiError(std::move(text));
  }

  Result<Reply> Get(const std::string& target) { return Call("GET", target, "", CallKind::kRead); }

  // All pages of a list: follows next_page_token until it is empty.
  Result<json::array> ListAll(const std::string& path, std::string query = "",
                              int page_size = kDefaultPageSize) {
    json::array items;
    std::string token;
    for (int pages = 0;; ++pages) {
      if (pages > 100'000) return ApiError("PAGINATION_LOOP: " + path + " never ends");
      std::string target = path + "?limit=" + std::to_string(page_size) + query;
      if (!token.empty()) target += "&page_token=" + api::PercentEncode(token);
      GP_ASSIGN_OR_RETURN(Reply reply, Get(target));
      const json::value* page = At(reply.value, "items");
      if (!page || !page->is_array()) {
        return ApiError("MALFORMED_RESPONSE: " + path + " answered without an items array");
      }
      for (const json::value& v : page->get_array()) items.push_back(v);
      std::string next = Str(reply.value, "next_page_token");
      if (next.empty()) break;
      if (next == token) return ApiError("PAGINATION_LOOP: " + path + " repeated a page token");
      token = std::move(next);
    }
    return items;
  }

  // An id for `ref`: itself when it is a UUID, else the one object of `collection` so named.
  Result<std::string> Resolve(const std::string& collection, std::string_view kind,
                              const std::string& ref) {
    if (IsUuid(ref)) return ref;
    GP_ASSIGN_OR_RETURN(json::array items, ListAll(collection));
    std::vector<std::string> ids;
    for (const json::value& item : items) {
      if (Str(item, "name") == ref) ids.push_back(Str(item, "id"));
    }
    if (ids.empty()) {
      return ApiError("NOT_FOUND: no " + std::string(kind) + " named '" + ref + "' (or not visible to you)");
    }
    if (ids.size() > 1) {
      return ApiError("AMBIGUOUS: " + std::to_string(ids.size()) + " " + std::string(kind) +
                      "s are named '" + ref + "'; use an id");
    }
    return ids.front();
  }

  // ---- output ----

  void PrintObject(const Reply& reply) {
    if (inv_.global.json) {
      out_ << reply.body << "\n";
    } else {
      out_ << Fields(reply.value);
    }
  }

  void PrintList(const json::array& items, const std::vector<Column>& columns) {
    if (inv_.global.json) {
      out_ << json::serialize(json::object{{"items", items}, {"next_page_token", ""}}) << "\n";
    } else {
      out_ << Table(columns, items);
    }
  }

  void PrintDeleted(const Reply& reply, std::string_view kind, const std::string& id) {
    if (inv_.global.json) {
      if (!reply.body.empty()) out_ << reply.body << "\n";
      return;
    }
    if (reply.status == 202) {
      out_ << "deleting " << kind << " " << id << " (its host cleans up)\n";
    } else {
      out_ << "deleted " << kind << " " << id << "\n";
    }
  }

  // ---- options ----

  const std::string& Arg(size_t i) const { return inv_.args.at(i); }

  Result<std::string> Required(const std::string& name) {
    const std::string* v = inv_.Option(name);
    if (!v) return UsageError("--" + name + " is required for '" + CommandPath(inv_) + "'");
    return *v;
  }

  Result<std::int64_t> RequiredInt(const std::string& name, std::int64_t min, std::int64_t max) {
    GP_ASSIGN_OR_RETURN(std::string text, Required(name));
    return ParseInt(text, min, max, "--" + name);
  }

  Result<api::HeaderList> IfMatch() {
    api::HeaderList headers;
    if (const std::string* rev = inv_.Option("if-match")) {
      GP_ASSIGN_OR_RETURN(std::int64_t r, ParseInt(*rev, 0, INT64_MAX, "--if-match"));
      headers.emplace_back("If-Match", std::to_string(r));
    }
    return headers;
  }

  Result<json::object> QuotaObject(const std::string& text) {
    GP_ASSIGN_OR_RETURN(auto pairs, ParseQuota(text));
    json::object quota;
    for (const auto& [resource, limit] : pairs) quota[resource] = limit;
    return quota;
  }

  static std::string Enc(const std::string& s) { return api::PercentEncode(s); }

  // ---- departments ----

  Result<std::string> DepartmentId(const std::string& ref) {
    return Resolve("/v1/departments", "department", ref);
  }

  Status DepartmentCreate() {
    json::object body{{"name", Arg(0)}};
    if (const std::string* d = inv_.Option("description")) body["description"] = *d;
    if (const std::string* q = inv_.Option("quota")) {
      GP_ASSIGN_OR_RETURN(body["quota"], QuotaObject(*q));
    }
    GP_ASSIGN_OR_RETURN(Reply reply,
                        Call("POST", "/v1/departments", json::serialize(body), CallKind::kCreate));
    PrintObject(reply);
    return OkStatus();
  }

  Status DepartmentList() {
    GP_ASSIGN_OR_RETURN(json::array items, ListAll("/v1/departments"));
    PrintList(items, kDepartmentColumns);
    return OkStatus();
  }

  Status DepartmentShow() {
    GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/departments/" + Enc(id)));
    PrintObject(reply);
    return OkStatus();
  }

  Status DepartmentUpdate() {
    json::object body;
    if (const std::string* n = inv_.Option("name")) body["name"] = *n;
    if (const std::string* d = inv_.Option("description")) body["description"] = *d;
    if (const std::string* q = inv_.Option("quota")) {
      GP_ASSIGN_OR_RETURN(body["quota"], QuotaObject(*q));
    }
    if (body.empty()) return UsageError("nothing to change: give --name, --description or --quota");
    GP_ASSIGN_OR_RETURN(api::HeaderList headers, IfMatch());
    GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Call("PATCH", "/v1/departments/" + Enc(id),
                                          json::serialize(body), CallKind::kWrite, headers));
    PrintObject(reply);
    return OkStatus();
  }

  Status DepartmentDelete() {
    GP_ASSIGN_OR_RETURN(api::HeaderList headers, IfMatch());
    GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply,
                        Call("DELETE", "/v1/departments/" + Enc(id), "", CallKind::kWrite, headers));
    PrintDeleted(reply, "department", id);
    return OkStatus();
  }

  Status DepartmentUsage() {
    GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/departments/" + Enc(id) + "/usage"));
    if (inv_.global.json) {
      out_ << reply.body << "\n";
      return OkStatus();
    }
    const json::value* usage = At(reply.value, "usage");
    if (!usage || !usage->is_object()) {
      return ApiError("MALFORMED_RESPONSE: usage answered without a usage object");
    }
    std::vector<Row> rows;
    for (const auto& kv : usage->get_object()) {
      rows.push_back({std::string(kv.key()), Str(kv.value(), "used"), Limit(At(kv.value(), "limit"))});
    }
    out_ << FormatTable({"RESOURCE", "USED", "LIMIT"}, rows);
    return OkStatus();
  }

  // ---- flavors ----

  Status FlavorCreate() {
    GP_ASSIGN_OR_RETURN(std::int64_t vcpus, RequiredInt("vcpus", 1, api::kMaxVcpus));
    GP_ASSIGN_OR_RETURN(std::int64_t memory, RequiredInt("memory-mib", 1, api::kMaxMemoryMib));
    GP_ASSIGN_OR_RETURN(std::int64_t disk, RequiredInt("disk-gib", 0, api::kMaxDiskGib));
    json::object body{{"name", Arg(0)}, {"vcpus", vcpus}, {"memory_mib", memory}, {"disk_gib", disk}};
    if (const std::string* d = inv_.Option("description")) body["description"] = *d;
    GP_ASSIGN_OR_RETURN(Reply reply,
                        Call("POST", "/v1/flavors", json::serialize(body), CallKind::kCreate));
    PrintObject(reply);
    return OkStatus();
  }

  Status FlavorList() {
    GP_ASSIGN_OR_RETURN(json::array items, ListAll("/v1/flavors"));
    PrintList(items, kFlavorColumns);
    return OkStatus();
  }

  Status FlavorShow() {
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/flavors/" + Enc(Arg(0))));
    PrintObject(reply);
    return OkStatus();
  }

  Status FlavorDelete() {
    GP_ASSIGN_OR_RETURN(Reply reply, Call("DELETE", "/v1/flavors/" + Enc(Arg(0)), "", CallKind::kWrite));
    PrintDeleted(reply, "flavor", Arg(0));
    return OkStatus();
  }

  // ---- hosts ----

  Result<std::string> HostId(const std::string& ref) { return Resolve("/v1/hosts", "host", ref); }

  Status HostRegister() {
    GP_ASSIGN_OR_RETURN(std::int64_t cpus, RequiredInt("cpus", 1, 1'000'000));
    GP_ASSIGN_OR_RETURN(std::int64_t memory, RequiredInt("memory-mib", 1, api::kMaxMemoryMib));
    GP_ASSIGN_OR_RETURN(std::int64_t disk, RequiredInt("disk-gib", 0, api::kMaxDiskGib));
    json::object body{{"name", Arg(0)},
                      {"capacity", json::object{{"cpus", cpus}, {"memory_mib", memory}, {"disk_gib", disk}}}};
    if (const std::string* p = inv_.Option("pool")) body["pool"] = *p;
    if (const std::string* t = inv_.Option("traits")) {
      json::array traits;
      for (const std::string& s : ParseList(*t)) traits.push_back(json::value(s));
      body["traits"] = std::move(traits);
    }
    // Registration is idempotent by name, so a retry is safe.
    GP_ASSIGN_OR_RETURN(Reply reply,
                        Call("POST", "/v1/hosts/register", json::serialize(body), CallKind::kRead));
    PrintObject(reply);
    return OkStatus();
  }

  Status HostList() {
    std::string query;
    if (const std::string* p = inv_.Option("pool")) query += "&pool=" + Enc(*p);
    if (const std::string* s = inv_.Option("status")) query += "&status=" + Enc(*s);
    GP_ASSIGN_OR_RETURN(json::array items, ListAll("/v1/hosts", query));
    PrintList(items, kHostColumns);
    return OkStatus();
  }

  Status HostShow() {
    GP_ASSIGN_OR_RETURN(std::string id, HostId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/hosts/" + Enc(id)));
    PrintObject(reply);
    return OkStatus();
  }

  Status HostUpdate() {
    json::object body;
    if (inv_.Has("enable") && inv_.Has("disable")) return UsageError("give --enable or --disable, not both");
    if (inv_.Has("enable")) body["enabled"] = true;
    if (inv_.Has("disable")) body["enabled"] = false;
    if (const std::string* m = inv_.Option("maintenance")) {
      GP_ASSIGN_OR_RETURN(bool on, ParseOnOff(*m, "--maintenance"));
      body["maintenance"] = on;
    }
    if (const std::string* p = inv_.Option("pool")) body["pool"] = *p;
    static const std::pair<const char*, const char*> kRatios[] = {
        {"cpu-ratio", "cpu_allocation_ratio"},
        {"memory-ratio", "memory_allocation_ratio"},
        {"disk-ratio", "disk_allocation_ratio"}};
    for (const auto& [flag, field] : kRatios) {
      if (const std::string* r = inv_.Option(flag)) {
        GP_ASSIGN_OR_RETURN(double ratio,
                            ParseDouble(*r, 0.1, api::kMaxAllocationRatio, std::string("--") + flag));
        body[field] = ratio;
      }
    }
    for (const char* list : {"traits", "aggregates"}) {
      if (const std::string* t = inv_.Option(list)) {
        json::array values;
        for (const std::string& s : ParseList(*t)) values.push_back(json::value(s));
        body[list] = std::move(values);
      }
    }
    if (body.empty()) {
      return UsageError("nothing to change: give --enable, --disable, --maintenance, --pool, "
                        "--cpu-ratio, --memory-ratio, --disk-ratio, --traits or --aggregates");
    }
    GP_ASSIGN_OR_RETURN(api::HeaderList headers, IfMatch());
    GP_ASSIGN_OR_RETURN(std::string id, HostId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Call("PATCH", "/v1/hosts/" + Enc(id), json::serialize(body),
                                          CallKind::kWrite, headers));
    PrintObject(reply);
    return OkStatus();
  }

  // ---- VMs ----

  Result<std::string> VmId(const std::string& ref) { return Resolve("/v1/vms", "vm", ref); }

  Status VmCreate() {
    GP_ASSIGN_OR_RETURN(std::string department, Required("department"));
    GP_ASSIGN_OR_RETURN(std::string flavor, Required("flavor"));
    GP_ASSIGN_OR_RETURN(std::string department_id, DepartmentId(department));
    json::object body{{"name", Arg(0)}, {"department_id", department_id}, {"flavor", flavor}};
    if (const std::string* p = inv_.Option("pool")) body["pool"] = *p;
    if (inv_.Has("stopped")) body["power"] = "stopped";
    GP_ASSIGN_OR_RETURN(Reply reply, Call("POST", "/v1/vms", json::serialize(body), CallKind::kCreate));
    PrintObject(reply);
    return OkStatus();
  }

  Status VmList() {
    std::string query;
    if (const std::string* d = inv_.Option("department")) {
      GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(*d));
      query += "&department_id=" + Enc(id);
    }
    if (const std::string* h = inv_.Option("host")) {
      GP_ASSIGN_OR_RETURN(std::string id, HostId(*h));
      query += "&host_id=" + Enc(id);
    }
    if (const std::string* s = inv_.Option("state")) query += "&state=" + Enc(*s);
    std::int64_t page_size = kDefaultPageSize;
    if (const std::string* p = inv_.Option("page-size")) {
      GP_ASSIGN_OR_RETURN(page_size, ParseInt(*p, 1, 1000, "--page-size"));
    }
    GP_ASSIGN_OR_RETURN(json::array items, ListAll("/v1/vms", query, static_cast<int>(page_size)));
    PrintList(items, kVmColumns);
    return OkStatus();
  }

  Status VmShow() {
    GP_ASSIGN_OR_RETURN(std::string id, VmId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/vms/" + Enc(id)));
    PrintObject(reply);
    return OkStatus();
  }

  Status VmDelete() {
    GP_ASSIGN_OR_RETURN(api::HeaderList headers, IfMatch());
    GP_ASSIGN_OR_RETURN(std::string id, VmId(Arg(0)));
    std::string target = "/v1/vms/" + Enc(id);
    if (inv_.Has("force")) target += "?force=true";
    GP_ASSIGN_OR_RETURN(Reply reply, Call("DELETE", target, "", CallKind::kWrite, headers));
    PrintDeleted(reply, "vm", id);
    return OkStatus();
  }

  Status VmAction() {
    GP_ASSIGN_OR_RETURN(std::string id, VmId(Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Call("POST", "/v1/vms/" + Enc(id) + "/" + inv_.command->verb,
                                          "", CallKind::kWrite));
    if (inv_.global.json) {
      out_ << reply.body << "\n";
    } else {
      out_ << Table(kVmColumns, json::array{reply.value});
    }
    return OkStatus();
  }

  // ---- users and tokens ----

  Status UserCreate() {
    GP_ASSIGN_OR_RETURN(std::string role, Required("role"));
    json::object body{{"name", Arg(0)}, {"role", role}};
    if (const std::string* d = inv_.Option("department")) {
      GP_ASSIGN_OR_RETURN(std::string id, DepartmentId(*d));
      body["department_id"] = id;
    }
    GP_ASSIGN_OR_RETURN(Reply reply, Call("POST", "/v1/users", json::serialize(body), CallKind::kCreate));
    PrintObject(reply);
    return OkStatus();
  }

  Status UserList() {
    GP_ASSIGN_OR_RETURN(json::array items, ListAll("/v1/users"));
    PrintList(items, kUserColumns);
    return OkStatus();
  }

  Status UserShow() {
    GP_ASSIGN_OR_RETURN(std::string id, Resolve("/v1/users", "user", Arg(0)));
    GP_ASSIGN_OR_RETURN(Reply reply, Get("/v1/users/" + Enc(id)));
    PrintObject(reply);
    return OkStatus();
  }

  Status TokenCreate() {
    GP_ASSIGN_OR_RETURN(std::string id, Resolve("/v1/users", "user", Arg(0)));
    json::object body;
    if (const std::string* n = inv_.Option("name")) body["name"] = *n;
    // Not retried: the route does not promise to honour Idempotency-Key, and a retry could mint
    // a second token.
    GP_ASSIGN_OR_RETURN(Reply reply, Call("POST", "/v1/users/" + Enc(id) + "/tokens",
                                          json::serialize(body), CallKind::kCreateOnce));
    PrintObject(reply);
    if (!inv_.global.json) err_ << "note: the token secret is shown only once; store it now\n";
    return OkStatus();
  }

  const Invocation& inv_;
  api::HttpClient& client_;
  std::string url_;
  bool have_token_;
  std::ostream& out_;
  std::ostream& err_;
};

std::optional<std::string> GetEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

int Fail(std::ostream& err, const Status& status) {
  err << "error: " << ErrorText(status) << "\n";
  return ExitCodeFor(status);
}

int RunParsed(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const std::function<std::optional<std::string>(const char*)> getenv = GetEnv;
  std::string config_path = inv.global.config ? *inv.global.config : DefaultConfigPath(getenv);
  std::optional<ConfigFile> config;
  if (!config_path.empty()) {
    auto loaded = LoadConfigFile(config_path, inv.global.config.has_value());
    if (!loaded.ok()) return Fail(err, loaded.status());
    config = std::move(*loaded);
  }
  auto settings = ResolveSettings(inv.global, getenv, config);
  if (!settings.ok()) return Fail(err, settings.status());
  api::ClientOptions options;
  options.base_url = settings->url;
  options.ca_file = settings->ca_file;
  if (settings->token) options.bearer_token = *settings->token;
  if (settings->token_file) {
    auto token = ReadTokenFile(*settings->token_file);
    if (!token.ok()) return Fail(err, token.status());
    options.bearer_token = *token;
  }
  auto client = api::HttpClient::Create(options);
  if (!client.ok()) return Fail(err, UsageError("bad URL '" + settings->url + "': " + client.status().message()));
  Session session(inv, **client, settings->url, !options.bearer_token.empty(), out, err);
  Status s = session.Run();
  if (!s.ok()) return Fail(err, s);
  return kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto inv = ParseCommandLine(args);
  if (!inv.ok()) {
    err << "error: " << ErrorText(inv.status()) << "\n";
    std::string hint = "govpoolctl";
    if (args.size() > 1 && FindCommand(args[0], args[1])) {
      hint += " " + args[0] + " " + args[1];
    } else if (!args.empty()) {
      for (const CommandSpec& c : Commands()) {
        if (c.group == args[0]) {
          hint += " " + args[0];
          break;
        }
      }
    }
    err << "Run '" << hint << " --help' for usage.\n";
    return ExitCodeFor(inv.status());
  }
  if (inv->help) {
    const bool asked = std::any_of(args.begin(), args.end(),
                                   [](const std::string& a) { return a == "--help" || a == "-h"; });
    std::ostream& to = asked ? out : err;
    if (inv->command) {
      to << CommandHelp(*inv->command);
    } else if (!inv->group.empty()) {
      to << GroupHelp(inv->group);
    } else {
      to << TopHelp();
    }
    return asked ? kExitOk : kExitUsage;
  }
  try {
    return RunParsed(*inv, out, err);
  } catch (const std::exception& e) {
    return Fail(err, Internal(std::string("unexpected failure: ") + e.what()));
  }
}

}  // namespace govpool::cli
