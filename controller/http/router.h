// Router: maps (method, path pattern) to route handlers. Patterns are literal segments and
// `{name}` parameters, e.g. "/v1/vms/{id}/start". No Beast here: plain types only.
// Thread-safety: build it before serving; matching is then read-only and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/http_message.h"
#include "api/http_stream.h"
#include "common/result.h"
#include "controller/caller.h"

namespace govpool::controller {
class Db;
}

namespace govpool::controller::http {

// What a route handler gets: the request, its authenticated caller and path parameters.
struct RouteContext {
  const api::HttpRequest& request;
  const Caller& caller;
  std::map<std::string, std::string> params;
  Db& db;
  // Asynchronous handlers (long-poll watches) set `deferred` and answer through `respond`
  // later, exactly once; the handler's return value is then ignored.
  bool deferred = false;
  std::function<void(api::HttpResponse)> respond;

  const std::string& param(const std::string& name) const { return params.at(name); }
};

using RouteHandler = std::function<api::HttpResponse(RouteContext&)>;

// An upload route's handler: called on an I/O thread once the request's headers are read and
// the caller is authenticated, before any body byte is accepted. ctx.request has the method,
// path, query and headers (Content-Length when the client sent one; absent for chunked), and
// an empty body. Returns the sink that receives the body as it arrives, or an error, which is
// answered without reading the body (the connection is then closed). `deferred` and `respond`
// are not used.
using UploadHandler = std::function<Result<std::unique_ptr<api::BodySink>>(RouteContext&)>;

struct Route {
  std::string method;
  std::string pattern;
  RouteHandler handler;
  bool authenticated = true;
  std::vector<std::string> segments;
  // Upload routes only: set, and `handler` is not used.
  UploadHandler upload;
  std::uint64_t max_upload_bytes = 0;
  // How long its handler may take to answer beyond the server's handler timeout
  // (ApiHandler::SetHandlerTimeout): a long-poll's longest wait, a backup's copy. 0: nothing more.
  int extra_handling_ms = 0;
};

class Router {
 public:
  // The returned reference is valid until the next Add (to set extra_handling_ms).
  Route& Add(std::string method, std::string pattern, RouteHandler handler);
  // For /healthz, the OpenAPI document and logging in: the access policy (policy.h) must
  // call the route public too, or ApiHandler refuses it.
  void AddPublic(std::string method, std::string pattern, RouteHandler handler);
  // An authenticated route whose request body is streamed to the sink `handler` returns
  // (api/http_stream.h), up to `max_body_bytes` (a longer body is refused with 413
  // PAYLOAD_TOO_LARGE and the sink aborted); the server's max_body_bytes does not apply.
  void AddUpload(std::string method, std::string pattern, std::uint64_t max_body_bytes,
                 UploadHandler handler);

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
  };
  // NotFound when no pattern matches the path; METHOD_NOT_ALLOWED (with details "allow")
  // when the path matches but not the method.
  Result<Match> Find(const std::string& method, const std::string& path) const;
  // (method, pattern) of every route, for the OpenAPI conformance test.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  std::vector<Route> routes_;
};

}  // namespace govpool::controller::http
