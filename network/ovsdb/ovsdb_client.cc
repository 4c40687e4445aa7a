// ovsdb::Client over plain POSIX stream sockets (no Asio: see docs/networking.md, "OVSDB
// client"), Boost.JSON's stream_parser splitting the unframed stream into JSON texts.
#include "network/ovsdb/ovsdb_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace govpool::ovsdb {
namespace json = boost::json;

namespace {

std::string Errno(int err) { return std::system_category().message(err); }

std::string TextOf(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

// Sets O_NONBLOCK on or off.
bool SetNonBlocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) return false;
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  return fcntl(fd, F_SETFL, flags) == 0;
}

// connect(2) bounded by timeout_ms; returns 0 or an errno value.
int ConnectWithTimeout(int fd, const sockaddr* addr, socklen_t len, int timeout_ms) {
  if (!SetNonBlocking(fd, true)) return errno;
  int err = 0;
  if (connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) return errno;
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    int n;
    do {
      n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return ETIMEDOUT;
    if (n < 0) return errno;
    socklen_t err_len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return errno;
    if (err != 0) return err;
  }
  return SetNonBlocking(fd, false) ? 0 : errno;
}

Result<int> OpenUnix(const std::string& path, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgument("ovsdb: unix socket path empty or longer than " +
                           std::to_string(sizeof(addr.sun_path) - 1) + " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable("ovsdb: socket: " + Errno(errno));
  const int err = ConnectWithTimeout(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), timeout_ms);
  if (err != 0) {
    close(fd);
    return Unavailable("ovsdb: cannot connect to unix:" + path + ": " + Errno(err));
  }
  return fd;
}

Result<int> OpenTcp(std::string_view host_port, int timeout_ms) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == host_port.size()) {
    return InvalidArgument("ovsdb: expected tcp:HOST:PORT, got tcp:" + std::string(host_port));
  }
  std::string host(host_port.substr(0, colon));
  const std::string port(host_port.substr(colon + 1));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("ovsdb: cannot resolve " + host + ":" + port + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = Errno(errno);
      continue;
    }
    if (const int err = ConnectWithTimeout(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms); err != 0) {
      last_error = Errno(err);
      close(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(found);
    return fd;
  }
  freeaddrinfo(found);
  return Unavailable("ovsdb: cannot connect to tcp:" + std::string(host_port) + ": " + last_error);
}

}  // namespace

Status ErrorStatus(std::string_view context, std::string_view error, std::string_view details) {
  std::string message = std::string(context) + ": ovsdb error \"" + std::string(error) + "\"";
  if (!details.empty()) message += ": " + std::string(details);
  StatusCode code = StatusCode::kInternal;
  if (error == "unknown database") {
    code = StatusCode::kNotFound;
  } else if (error == "constraint violation") {
    // ovsdb-server reports an index collision as a constraint violation whose details say the
    // transaction "causes multiple rows ... to have identical values".
    code = details.find("identical values") != std::string_view::npos ? StatusCode::kAlreadyExists
                                                                        : StatusCode::kInvalidArgument;
  } else if (error == "syntax error" || error == "domain error" || error == "range error" ||
             error == "duplicate uuid-name" || error == "unknown table" || error == "unknown column" ||
             error == "unknown monitor" || error == "duplicate monitor ID" ||
             error == "invalid parameters" || error == "unknown operator") {
    code = StatusCode::kInvalidArgument;
  } else if (error == "referential integrity violation" || error == "timed out" ||
             error == "not owner" || error == "aborted") {
    code = StatusCode::kFailedPrecondition;
  } else if (error == "resources exhausted") {
    code = StatusCode::kResourceExhausted;
  } else if (error == "permission error") {
    code = StatusCode::kPermissionDenied;
  } else if (error == "I/O error") {
    code = StatusCode::kUnavailable;
  } else if (error == "not supported" || error == "unknown method") {
    code = StatusCode::kUnimplemented;
  }
  if (error == "unknown monitor") code = StatusCode::kNotFound;
  return Status(code, std::move(message))
      .WithDetail("ovsdb_error", std::string(error))
      .WithDetail("ovsdb_details", std::string(details));
}

namespace {

// The Status of a JSON-RPC `error` member: an <error> object {"error":..., "details":...} or,
// from some servers, a bare string.
Status RpcError(std::string_view context, const json::value& error) {
  if (error.is_object()) {
    const json::object& o = error.get_object();
    const json::value* e = o.if_contains("error");
    const json::value* d = o.if_contains("details");
    return ErrorStatus(context, e != nullptr ? TextOf(*e) : json::serialize(error),
                       d != nullptr ? TextOf(*d) : "");
  }
  return ErrorStatus(context, TextOf(error), "");
}

}  // namespace

struct Client::Impl {
  struct Pending {
    bool done = false;
    json::value result;
    json::value error;
  };

  std::string remote;
  Options options;
  int fd = -1;
  std::thread reader;

  std::mutex write_mu;  // one message at a time on the socket

  std::mutex mu;  // everything below
  std::condition_variable cv;
  std::int64_t next_id = 1;
  std::map<std::int64_t, std::shared_ptr<Pending>> pending;
  std::map<std::string, UpdateCallback> monitors;   // by monitor id
  std::map<std::int64_t, std::string> monitor_calls;  // call id -> monitor id it starts
  bool closed = false;
  std::string close_reason;

  ~Impl() {
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    if (reader.joinable()) reader.join();
    if (fd >= 0) close(fd);
  }

  // Writes one JSON text; on failure the connection is shut down (the reader then fails every
  // pending call).
  Status Send(const json::value& message) {
    const std::string text = json::serialize(message);
    std::lock_guard<std::mutex> lock(write_mu);
    std::size_t sent = 0;
    while (sent < text.size()) {
      const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? Errno(errno) : "short write";
        shutdown(fd, SHUT_RDWR);
        return Unavailable("ovsdb: writing to " + remote + ": " + why);
      }
      sent += static_cast<std::size_t>(n);
    }
    return OkStatus();
  }

  void ReadLoop() {
    json::parse_options popts;
    popts.max_depth = 128;
    json::stream_parser parser({}, popts);
    std::string why = "connection closed by the server";
    char buf[65536];
    for (;;) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) why = "read failed: " + Errno(errno);
        break;
      }
      std::size_t off = 0;
      bool bad = false;
      while (off < static_cast<std::size_t>(n)) {
        boost::system::error_code ec;
        off += parser.write_some(buf + off, static_cast<std::size_t>(n) - off, ec);
        if (ec) {
          why = "malformed JSON from the server: " + ec.message();
          bad = true;
          break;
        }
        if (parser.done()) {
          json::value message = parser.release();
          parser.reset();
          Dispatch(message);
        }
      }
      if (bad) break;
    }
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
    if (close_reason.empty()) close_reason = why;
    cv.notify_all();
  }

  void Dispatch(json::value& message) {
    if (!message.is_object()) return;
    json::object& m = message.get_object();
    const json::value* method = m.if_contains("method");
    if (method != nullptr && method->is_string()) {
      const json::value* id = m.if_contains("id");
      const json::value* params = m.if_contains("params");
      if (method->get_string() == "echo") {
        if (id != nullptr && !id->is_null()) {
          Send(json::object{{"id", *id}, {"result", params != nullptr ? *params : json::array{}},
                            {"error", nullptr}})
              .IgnoreError();  // a failed write shuts the connection down
        }
        return;
      }
      if ((method->get_string() == "update" || method->get_string() == "update2") &&
          params != nullptr && params->is_array() && params->get_array().size() >= 2 &&
          params->get_array()[0].is_string() && params->get_array()[1].is_object()) {
        UpdateCallback callback;
        {
          std::lock_guard<std::mutex> lock(mu);
          auto it = monitors.find(std::string(params->get_array()[0].get_string()));
          if (it == monitors.end()) return;
          callback = it->second;
        }
        callback(TableUpdates{.initial = false, .tables = params->get_array()[1].get_object()});
        return;
      }
      if (id != nullptr && !id->is_null()) {  // a request we do not serve
        Send(json::object{{"id", *id}, {"result", nullptr}, {"error", "unknown method"}}).IgnoreError();
      }
      return;  // other notifications ("locked", "stolen", "update3") are not used
    }
    const json::value* id = m.if_contains("id");
    if (id == nullptr || !(id->is_int64() || id->is_uint64())) return;
    const std::int64_t call_id = id->is_int64() ? id->get_int64() : static_cast<std::int64_t>(id->get_uint64());
    const json::value* error = m.if_contains("error");
    json::value* result = m.if_contains("result");
    const bool failed = error != nullptr && !error->is_null();
    UpdateCallback initial_callback;
    std::shared_ptr<Pending> waiter;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto p = pending.find(call_id);
      if (p == pending.end()) return;  // timed out meanwhile
      waiter = p->second;
      pending.erase(p);
      if (auto mc = monitor_calls.find(call_id); mc != monitor_calls.end()) {
        if (failed) {
          monitors.erase(mc->second);
        } else if (auto mon = monitors.find(mc->second); mon != monitors.end()) {
          initial_callback = mon->second;
        }
        monitor_calls.erase(mc);
      }
    }
    // The initial contents reach the callback before any later update (read after this reply)
    // and before the caller's MonitorCond returns.
    if (initial_callback && result != nullptr && result->is_object()) {
      initial_callback(TableUpdates{.initial = true, .tables = result->get_object()});
    }
    std::lock_guard<std::mutex> lock(mu);
    waiter->done = true;
    if (failed) waiter->error = *error;
    if (result != nullptr) waiter->result = std::move(*result);
    cv.notify_all();
  }

  // Sends one request and waits for its response. `monitor_id` (when not empty) names the
  // monitor whose callback (already in `monitors`) this request's reply starts.
  Result<json::value> Call(std::string_view method, json::array params, const std::string& monitor_id = {}) {
    auto waiter = std::make_shared<Pending>();
    std::int64_t id;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closed) return Unavailable("ovsdb: " + remote + ": " + close_reason);
      id = next_id++;
      pending[id] = waiter;
      if (!monitor_id.empty()) monitor_calls[id] = monitor_id;
    }
    const std::string context = "ovsdb " + std::string(method);
    Status sent = Send(json::object{{"id", id}, {"method", method}, {"params", std::move(params)}});
    std::unique_lock<std::mutex> lock(mu);
    if (sent.ok()) {
      cv.wait_for(lock, std::chrono::milliseconds(options.call_timeout_ms),
                  [&] { return waiter->done || closed; });
    }
    if (!waiter->done) {
      pending.erase(id);
      if (!monitor_id.empty()) {
        monitor_calls.erase(id);
        monitors.erase(monitor_id);
      }
      if (!sent.ok()) return sent;
      if (closed) return Unavailable(context + ": " + remote + ": " + close_reason);
      return DeadlineExceeded(context + ": no response from " + remote + " within " +
                              std::to_string(options.call_timeout_ms) + " ms");
    }
    if (!waiter->error.is_null()) return RpcError(context, waiter->error);
    return std::move(waiter->result);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->close_reason.empty()) impl_->close_reason = "client closed";
  }
  impl_.reset();  // shuts the socket down, joins the reader, closes
}

Result<std::unique_ptr<Client>> Client::Connect(std::string_view remote, Options options) {
  Result<int> fd = InvalidArgument("ovsdb: remote must be unix:PATH or tcp:HOST:PORT, got \"" +
                                   std::string(remote) + "\"");
  if (remote.starts_with("unix:")) {
    fd = OpenUnix(std::string(remote.substr(5)), options.connect_timeout_ms);
  } else if (remote.starts_with("tcp:")) {
    fd = OpenTcp(remote.substr(4), options.connect_timeout_ms);
  }
  if (!fd.ok()) return fd.status();
  auto impl = std::make_unique<Impl>();
  impl->remote = std::string(remote);
  impl->options = options;
  impl->fd = *fd;
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->ReadLoop(); });
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

bool Client::connected() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return !impl_->closed;
}

Result<json::value> Client::Call(std::string_view method, json::array params) {
  return impl_->Call(method, std::move(params));
}

Result<std::vector<std::string>> Client::ListDbs() {
  GP_ASSIGN_OR_RETURN(json::value result, impl_->Call("list_dbs", {}));
  if (!result.is_array()) return Internal("ovsdb list_dbs: not an array: " + json::serialize(result));
  std::vector<std::string> names;
  for (const json::value& v : result.get_array()) {
    if (!v.is_string()) return Internal("ovsdb list_dbs: not a name: " + json::serialize(v));
    names.emplace_back(v.get_string());
  }
  return names;
}

Result<json::value> Client::GetSchema(std::string_view db) {
  return impl_->Call("get_schema", json::array{json::string(db)});
}

Result<json::array> Client::Transact(std::string_view db, json::array operations) {
  const std::size_t count = operations.size();
  json::array params;
  params.reserve(count + 1);
  params.emplace_back(json::string(db));
  std::vector<std::string> names;  // "insert on Logical_Switch", for error messages
  for (json::value& op : operations) {
    std::string name = "operation";
    if (const json::object* o = op.if_object()) {
      if (const json::value* v = o->if_contains("op"); v != nullptr && v->is_string()) name = v->get_string();
      if (const json::value* v = o->if_contains("table"); v != nullptr && v->is_string()) {
        name += " on " + std::string(v->get_string());
      }
    }
    names.push_back(std::move(name));
    params.emplace_back(std::move(op));
  }
  GP_ASSIGN_OR_RETURN(json::value result, impl_->Call("transact", std::move(params)));
  if (!result.is_array()) return Internal("ovsdb transact: result not an array: " + json::serialize(result));
  json::array& results = result.get_array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json::object* o = results[i].if_object();
    const json::value* error = o != nullptr ? o->if_contains("error") : nullptr;
    if (error == nullptr || error->is_null()) continue;
    const json::value* details = o->if_contains("details");
    // An element past the operations is the commit's own error (constraints, references).
    const std::string context = i < count ? "ovsdb transact on " + std::string(db) + ": operation " +
                                                std::to_string(i) + " (" + names[i] + ")"
                                          : "ovsdb transact on " + std::string(db) + ": commit";
    return ErrorStatus(context, TextOf(*error), details != nullptr ? TextOf(*details) : "");
  }
  if (results.size() < count) {
    return Internal("ovsdb transact: " + std::to_string(results.size()) + " results for " +
                    std::to_string(count) + " operations");
  }
  return std::move(results);
}

Status Client::StartMonitor(std::string_view method, std::string_view db, std::string_view monitor_id,
                            const std::vector<MonitorRequest>& requests, UpdateCallback callback) {
  if (monitor_id.empty()) return InvalidArgument("ovsdb " + std::string(method) + ": empty monitor id");
  if (!callback) return InvalidArgument("ovsdb " + std::string(method) + ": no callback");
  json::object tables;
  for (const MonitorRequest& r : requests) {
    json::object request;
    if (!r.columns.empty()) {
      json::array columns;
      for (const std::string& c : r.columns) columns.emplace_back(json::string(c));
      request["columns"] = std::move(columns);
    }
    if (!r.where.empty()) {
      if (method == "monitor") return InvalidArgument("ovsdb monitor: `where` needs MonitorCond");
      request["where"] = r.where;
    }
    json::value& list = tables[r.table];
    if (!list.is_array()) list = json::array{};
    list.get_array().emplace_back(std::move(request));
  }
  const std::string id(monitor_id);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->monitors.contains(id)) {
      return AlreadyExists("ovsdb " + std::string(method) + ": monitor id \"" + id + "\" in use");
    }
    impl_->monitors[id] = std::move(callback);
  }
  Result<json::value> reply =
      impl_->Call(method, json::array{json::string(db), json::string(id), std::move(tables)}, id);
  return reply.status();
}

Status Client::MonitorCond(std::string_view db, std::string_view monitor_id,
                           const std::vector<MonitorRequest>& requests, UpdateCallback callback) {
  return StartMonitor("monitor_cond", db, monitor_id, requests, std::move(callback));
}

Status Client::Monitor(std::string_view db, std::string_view monitor_id,
                       const std::vector<MonitorRequest>& requests, UpdateCallback callback) {
  return StartMonitor("monitor", db, monitor_id, requests, std::move(callback));
}

Status Client::MonitorCancel(std::string_view monitor_id) {
  const std::string id(monitor_id);
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->monitors.contains(id)) return NotFound("ovsdb monitor_cancel: no monitor \"" + id + "\"");
  }
  Result<json::value> reply = impl_->Call("monitor_cancel", json::array{json::string(id)});
  // Updates sent before the server's reply were read (and their callbacks run) before it.
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->monitors.erase(id);
  return reply.status();
}

Status Client::Echo() {
  GP_ASSIGN_OR_RETURN(json::value result, impl_->Call("echo", json::array{"govpool"}));
  if (result != json::value(json::array{"govpool"})) {
    return Internal("ovsdb echo: answered " + json::serialize(result));
  }
  return OkStatus();
}

}  // namespace govpool::ovsdb
