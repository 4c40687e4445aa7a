// ovsdb::Client: a small client of the OVSDB management protocol (RFC 7047, JSON-RPC 1.0 over a
// stream socket), shared by the controller's network driver (the OVN Northbound database) and
// the agent's VSwitch driver (the host's Open_vSwitch database). It speaks the protocol only:
// the callers build the operations (RFC 7047 section 5.2) and read the results as Boost.JSON
// values; no schema knowledge, no row cache, no IDL.
//
// One Client is one connection (`unix:PATH` or `tcp:HOST:PORT`), opened by Connect. A reader
// thread owned by the Client reads the stream (unframed, concatenated JSON texts), answers the
// server's `echo` requests (its inactivity probe), matches responses to calls by id, and runs
// monitor callbacks.
//
// Thread-safety: every method may be called from any thread, concurrently; calls block the
// calling thread until their response arrives, the call's timeout passes or the connection
// fails. Monitor callbacks run on the reader thread, one at a time, in the order the server sent
// the updates; a callback must not block, must not throw, and must not call this Client's
// blocking methods (the response it would wait for can only be read after it returns:
// DeadlineExceeded).
//
// Errors (canonical codes, OVSDB's own `error` and `details` text kept in the message and in the
// Status details "ovsdb_error" / "ovsdb_details"):
//   Unavailable        cannot connect, or the connection closed or failed (every pending call
//                      fails with it too). No reconnect: the owner makes a new Client (and a new
//                      monitor, whose initial contents resynchronise it).
//   DeadlineExceeded   no response within the call's timeout (Options::call_timeout_ms).
//   InvalidArgument    OVSDB refused the request (syntax error, unknown column or table,
//                      constraint violation, domain/range error, duplicate uuid-name, ...).
//   NotFound           unknown database; MonitorCancel of an unknown monitor.
//   AlreadyExists      a transaction broke a table's index (two rows with the same key).
//   FailedPrecondition referential integrity violation, a `wait` that did not hold, not owner.
//   ResourceExhausted, PermissionDenied, Internal: the matching OVSDB errors; Internal also for
//                      malformed answers.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace govpool::ovsdb {

struct Options {
  int connect_timeout_ms = 5000;
  int call_timeout_ms = 30000;  // each call's wait for its response
};

// What a monitor callback receives. For Monitor (RFC 7047 `monitor`), `tables` is
// <table-updates>: {"<table>": {"<row uuid>": {"old": <row>?, "new": <row>?}}}. For MonitorCond
// (`monitor_cond`, notifications `update2`), it is <table-updates2>:
// {"<table>": {"<row uuid>": {"initial"|"insert"|"delete"|"modify": <row or diff>}}}.
struct TableUpdates {
  bool initial = false;  // true once: the initial contents, from the monitor request's reply
  boost::json::object tables;
};
using UpdateCallback = std::function<void(const TableUpdates&)>;

// <monitor-requests> builder for one table: `columns` empty means all columns; `where` (an
// array of conditions, MonitorCond only) empty means every row.
struct MonitorRequest {
  std::string table;
  std::vector<std::string> columns;
  boost::json::array where;
};

// Maps OVSDB's error string (RFC 7047 section 3.1 and ovsdb-server's own, e.g. "constraint
// violation") and its details to a Status as described above. Exposed for tests.
Status ErrorStatus(std::string_view context, std::string_view error, std::string_view details);

class Client {
 public:
  // Connects to `remote`: "unix:/path/to/db.sock" or "tcp:HOST:PORT" (HOST an IPv4/IPv6
  // address or a name). InvalidArgument for any other form; Unavailable when the connection
  // cannot be made within options.connect_timeout_ms.
  static Result<std::unique_ptr<Client>> Connect(std::string_view remote, Options options = {});

  // Closes the connection and joins the reader thread; pending calls fail with Unavailable.
  // Must not run on the reader thread (i.e. inside a monitor callback).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `list_dbs`: the names of the server's databases.
  Result<std::vector<std::string>> ListDbs();

  // `get_schema`: the database's schema (RFC 7047 section 3.2). NotFound for an unknown db.
  Result<boost::json::value> GetSchema(std::string_view db);

  // `transact`: runs `operations` (RFC 7047 section 5.2, e.g. {"op":"insert",...}) atomically
  // in `db`. Success returns one result per operation (e.g. {"uuid":["uuid","..."]} for an
  // insert, {"rows":[...]} for a select, {"count":N} for update/delete/mutate). When any
  // operation fails, or the commit does (a constraint or referential integrity check), OVSDB
  // rolls the whole transaction back and this returns the error Status of the first failure,
  // naming the operation's index and `op`.
  Result<boost::json::array> Transact(std::string_view db, boost::json::array operations);

  // `monitor_cond` with the given id (any string unique on this connection): `callback` gets
  // the table's initial contents (TableUpdates::initial, before this returns) and then every
  // change (`update2` notifications) until MonitorCancel or the Client's end. OK once the
  // server accepted the monitor; its error Status otherwise (then the callback is never called).
  Status MonitorCond(std::string_view db, std::string_view monitor_id,
                     const std::vector<MonitorRequest>& requests, UpdateCallback callback);
  // `monitor` (the original form, notifications `update` with old/new rows). `where` of the
  // requests must be empty (InvalidArgument otherwise).
  Status Monitor(std::string_view db, std::string_view monitor_id,
                 const std::vector<MonitorRequest>& requests, UpdateCallback callback);
  // `monitor_cancel`: no callback runs after this returns OK.
  Status MonitorCancel(std::string_view monitor_id);

  // `echo`: a round trip (the server answers with the same params).
  Status Echo();

  // Lower level: one JSON-RPC request; its `result` on success, the mapped error Status when
  // the response's `error` is not null.
  Result<boost::json::value> Call(std::string_view method, boost::json::array params);

  // True until the connection closed or failed.
  bool connected() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  Status StartMonitor(std::string_view method, std::string_view db, std::string_view monitor_id,
                      const std::vector<MonitorRequest>& requests, UpdateCallback callback);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govpool::ovsdb
