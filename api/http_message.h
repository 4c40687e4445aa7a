// Plain HTTP request/response values shared by the server (controller/http), the client
// library (api/client) and handlers. No sockets, no Beast: handlers and services see only
// these. Thread-compatible value types.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace govpool::api {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class BodySource;  // api/http_stream.h

// Case-insensitive header lookup; nullptr when absent.
const std::string* FindHeader(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target, e.g. "/v1/vms?department_id=x"
  std::string path;    // decoded path, e.g. "/v1/vms"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  HeaderList headers;
  std::string body;
  std::string remote_address;  // the peer's IP address, without port
  // Set only when the peer presented a client certificate that the server's client CA
  // verified (mutual TLS): its subject's CN and serial number (lower-case hex).
  std::string client_certificate_cn;
  std::string client_certificate_serial;

  const std::string* Header(std::string_view name) const { return FindHeader(headers, name); }
  const std::string* QueryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
  // Set: the body is streamed from this source (api/http_stream.h) instead of `body`, with
  // Content-Length when the source knows its length, chunked otherwise.
  std::shared_ptr<BodySource> body_source;

  const std::string* Header(std::string_view name) const { return FindHeader(headers, name); }
};

// Splits a request target into decoded path and query parameters ('+' is a space in the
// query, not in the path; empty "&&" pairs are dropped; bytes RFC 3986 wants escaped are
// taken literally). Returns false when the target is malformed: not starting with '/', a bad
// percent-escape, or one that decodes to a NUL byte.
bool ParseTarget(std::string_view target, std::string& path,
                 std::vector<std::pair<std::string, std::string>>& query);
// `s` with every byte but the RFC 3986 unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX.
std::string PercentEncode(std::string_view s);
// The token of an `Authorization: Bearer <token>` header value (non-empty); nullopt for
// another scheme or no token. The view points into `authorization`.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// An absolute http(s) URL split for a client: where to connect (`origin`, scheme://authority,
// as HttpClient's base_url takes it; `host` decoded, IPv6 without brackets; `port`, the
// scheme's default when none is written; `host_header`, the authority as written) and what to
// ask for there (`target`: path and query, "/" when empty). `loopback`: the host is
// 127.0.0.0/8, ::1 or "localhost".
struct HttpUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string host_header;
  std::string origin;
  std::string target;
  bool loopback = false;
};
// InvalidArgument, saying why, unless `text` is an absolute URL with a lower-case http or https
// scheme, a host (name, IPv4 or [IPv6]), an optional port 1-65535 ("host:" means the default),
// and no user info or fragment.
Result<HttpUrl> ParseHttpUrl(std::string_view text);

}  // namespace govpool::api
