// HttpClient on Boost.Beast. The only client-side translation unit that includes Beast.
//
// Synchronous on the outside, asynchronous inside: every network step is an async operation
// on a private io_context driven by run_until(deadline), so one per-request deadline covers
// resolve, connect, TLS handshake, write and read. When the deadline passes, the socket is
// closed (which completes the pending operation with an error) and the connection dropped.
// Upload and Download stream their body with Beast's buffer_body (serializer / parser driven
// one kStreamChunkBytes buffer at a time) and re-arm the deadline before each step.
#include "api/client/http_client.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

namespace govpool::api {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kMaxResponseBodyBytes = 256ull * 1024 * 1024;

struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string host_header;
};

// http(s)://host[:port][/]: an HTTP URL (api::ParseHttpUrl: scheme, host, port) with no path
// or query.
bool ParseBaseUrl(std::string_view text, ParsedUrl& out) {
  const Result<HttpUrl> url = ParseHttpUrl(text);
  if (!url.ok() || url->target != "/") return false;
  out.tls = url->tls;
  out.host = url->host;
  out.port = url->port;
  out.host_header = url->host_header;
  return true;
}

// Why a Send attempt failed; decides between retrying, Unavailable and DeadlineExceeded.
struct Failure {
  Status status;
  bool retriable = false;  // nothing of the response was read on a reused connection
};

class BeastHttpClient final : public HttpClient {
 public:
  BeastHttpClient(ClientOptions options, ParsedUrl url)
      : options_(std::move(options)), url_(std::move(url)), resolver_(ioc_) {}

  Status Init() {
    if (!url_.tls) return OkStatus();
    tls_.emplace(ssl::context::tls_client);
    error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1,
                      ec);
    if (options_.insecure_skip_verify) {
      tls_->set_verify_mode(ssl::verify_none, ec);
    } else {
      tls_->set_verify_mode(ssl::verify_peer, ec);
      if (!options_.ca_file.empty()) {
        tls_->load_verify_file(options_.ca_file, ec);
        if (ec) {
          return InvalidArgument("http client: cannot load CA file " + options_.ca_file + ": " +
                                 ec.message());
        }
      } else {
        tls_->set_default_verify_paths(ec);
      }
    }
    if (options_.client_certificate_pem.empty() != options_.client_key_pem.empty()) {
      return InvalidArgument("http client: a client certificate needs its key, and the key its certificate");
    }
    if (!options_.client_certificate_pem.empty()) {
      tls_->use_certificate_chain(net::buffer(options_.client_certificate_pem), ec);
      if (!ec) tls_->use_private_key(net::buffer(options_.client_key_pem), ssl::context::pem, ec);
      if (ec) return InvalidArgument("http client: cannot use the client certificate: " + ec.message());
    }
    return OkStatus();
  }

  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body, const HeaderList& extra_headers) override {
    if (target.empty() || target.front() != '/') {
      return InvalidArgument("http client: target must start with '/'");
    }
    bhttp::request<bhttp::string_body> request;
    try {
      request = BuildRequest(method, target, body, extra_headers);
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("http client: bad request: ") + e.what());
    }
    ArmDeadline();

    for (int attempt = 0;; ++attempt) {
      Failure failure;
      HttpResponse response;
      const bool ok = Attempt(request, response, failure);
      if (ok) return response;
      Disconnect();
      if (failure.retriable && attempt == 0) continue;  // stale keep-alive connection
      return failure.status;
    }
  }

  Result<HttpResponse> Upload(std::string_view method, std::string_view target, BodyReader source,
                              std::optional<std::uint64_t> length, ProgressCallback on_progress,
                              const HeaderList& extra_headers) override {
    if (target.empty() || target.front() != '/') {
      return InvalidArgument("http client: target must start with '/'");
    }
    if (!source) return InvalidArgument("http client: upload without a body source");
    bhttp::request<bhttp::buffer_body> request;
    try {
      FillRequestHead(request, method, target, "application/octet-stream", extra_headers);
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("http client: bad request: ") + e.what());
    }
    request.set(bhttp::field::expect, "100-continue");
    if (length) {
      request.content_length(*length);
    } else {
      request.chunked(true);
    }
    for (int attempt = 0;; ++attempt) {
      Failure failure;
      HttpResponse response;
      const bool reused = connected_;
      bool ok = false;
      if (Status s = ConnectIfNeeded(); !s.ok()) {
        failure.status = s;
      } else if (tls_stream_) {
        ok = StreamUpload(*tls_stream_, request, source, length, on_progress, reused, response,
                          failure);
      } else {
        ok = StreamUpload(*socket_, request, source, length, on_progress, reused, response,
                          failure);
      }
      if (ok) return response;
      Disconnect();
      if (failure.retriable && attempt == 0) continue;
      return failure.status;
    }
  }

  Result<HttpResponse> Download(std::string_view target, BodyWriter sink,
                                const HeaderList& extra_headers) override {
    if (target.empty() || target.front() != '/') {
      return InvalidArgument("http client: target must start with '/'");
    }
    if (!sink) return InvalidArgument("http client: download without a body sink");
    bhttp::request<bhttp::string_body> request;
    try {
      request = BuildRequest("GET", target, {}, extra_headers);
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("http client: bad request: ") + e.what());
    }
    for (int attempt = 0;; ++attempt) {
      Failure failure;
      HttpResponse response;
      const bool reused = connected_;
      bool ok = false;
      if (Status s = ConnectIfNeeded(); !s.ok()) {
        failure.status = s;
      } else if (tls_stream_) {
        ok = StreamDownload(*tls_stream_, request, sink, reused, response, failure);
      } else {
        ok = StreamDownload(*socket_, request, sink, reused, response, failure);
      }
      if (ok) return response;
      Disconnect();
      if (failure.retriable && attempt == 0) continue;
      return failure.status;
    }
  }

 private:
  void ArmDeadline() {
    const auto timeout = std::chrono::milliseconds(
        options_.timeout_ms > 0 ? options_.timeout_ms : std::numeric_limits<int>::max());
    deadline_ = Clock::now() + timeout;
  }

  Status ConnectIfNeeded() {
    ArmDeadline();
    return connected_ ? OkStatus() : Connect();
  }

  // Method, target, Host, User-Agent, Authorization, `content_type` (when not empty) and the
  // extra headers, which override these. Throws std::invalid_argument for a bad header.
  template <typename Body>
  void FillRequestHead(bhttp::request<Body>& request, std::string_view method,
                       std::string_view target, std::string_view content_type,
                       const HeaderList& extra_headers) {
    request.version(11);
    request.method_string(method);
    request.target(target);
    request.set(bhttp::field::host, url_.host_header);
    request.set(bhttp::field::user_agent, "govpool-client");
    if (!options_.bearer_token.empty()) {
      request.set(bhttp::field::authorization, "Bearer " + options_.bearer_token);
    }
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    for (const auto& [name, value] : extra_headers) {
      if (name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        throw std::invalid_argument("header " + name + " contains CR, LF or ':'");
      }
      request.set(name, value);
    }
    request.keep_alive(true);
  }

  bhttp::request<bhttp::string_body> BuildRequest(std::string_view method,
                                                  std::string_view target, std::string_view body,
                                                  const HeaderList& extra_headers) {
    bhttp::request<bhttp::string_body> request;
    FillRequestHead(request, method, target, body.empty() ? "" : "application/json",
                    extra_headers);
    request.body() = std::string(body);
    request.prepare_payload();
    return request;
  }

  // One try on the current (or a new) connection. False with `failure` set on error.
  bool Attempt(const bhttp::request<bhttp::string_body>& request, HttpResponse& response,
               Failure& failure) {
    const bool reused = connected_;
    if (!connected_) {
      if (Status s = Connect(); !s.ok()) {
        failure.status = s;
        return false;
      }
    }
    const bool head = request.method() == bhttp::verb::head;
    return tls_stream_ ? Exchange(*tls_stream_, request, head, reused, response, failure)
                       : Exchange(*socket_, request, head, reused, response, failure);
  }

  template <typename Stream>
  bool Exchange(Stream& stream, const bhttp::request<bhttp::string_body>& request, bool head,
                bool reused, HttpResponse& response, Failure& failure) {
    error_code ec;
    bool done = false;
    bhttp::async_write(stream, request, [&](error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntilDone(done)) {
      failure.status = DeadlineExceeded("http client: timed out sending request to " + Where());
      return false;
    }
    if (ec) {
      // The server closed an idle keep-alive connection before our request reached it.
      failure.retriable = reused;
      failure.status = Unavailable("http client: sending to " + Where() + ": " + ec.message());
      return false;
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    if (head) parser.skip(true);
    buffer_.clear();
    done = false;
    bhttp::async_read(stream, buffer_, parser, [&](error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntilDone(done)) {
      failure.status = DeadlineExceeded("http client: timed out waiting for a response from " +
                                        Where());
      return false;
    }
    if (ec) {
      // Safe to resend only when the server sent nothing back at all.
      failure.retriable = reused && !parser.got_some() && buffer_.size() == 0;
      failure.status = Unavailable("http client: reading from " + Where() + ": " + ec.message());
      return false;
    }
    auto message = parser.release();
    FillResponseHead(message, response);
    response.body = std::move(message.body());
    if (!message.keep_alive()) Disconnect();
    return true;
  }

  static void FillResponseHead(const bhttp::response_header<>& message, HttpResponse& response) {
    response.status = static_cast<int>(message.result_int());
    response.content_type.clear();
    response.headers.clear();
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (const auto it = message.find(bhttp::field::content_type); it != message.end()) {
      response.content_type = std::string(it->value());
    }
  }

  // Runs one asynchronous step under a fresh deadline: `start(handler)` starts the operation.
  // Returns false on timeout; else `ec` is the operation's result.
  template <typename Start>
  bool Step(Start start, error_code& ec) {
    ArmDeadline();
    bool done = false;
    start([&](error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    return RunUntilDone(done);
  }

  // Reads a whole (non-streamed) answer whose header `parser` already has.
  template <typename Stream>
  bool ReadWholeAnswer(Stream& stream, bhttp::response_parser<bhttp::string_body>& parser,
                       HttpResponse& response, Failure& failure) {
    error_code ec;
    if (!Step([&](auto handler) { bhttp::async_read(stream, buffer_, parser, handler); }, ec)) {
      failure.status = DeadlineExceeded("http client: timed out waiting for a response from " +
                                        Where());
      return false;
    }
    if (ec) {
      failure.status = Unavailable("http client: reading from " + Where() + ": " + ec.message());
      return false;
    }
    auto message = parser.release();
    FillResponseHead(message, response);
    response.body = std::move(message.body());
    if (!message.keep_alive()) Disconnect();
    return true;
  }

  template <typename Stream>
  bool StreamUpload(Stream& stream, bhttp::request<bhttp::buffer_body>& request,
                    const BodyReader& source, std::optional<std::uint64_t> length,
                    const ProgressCallback& on_progress, bool reused, HttpResponse& response,
                    Failure& failure) {
    request.body().data = nullptr;
    request.body().size = 0;
    request.body().more = true;
    bhttp::request_serializer<bhttp::buffer_body> serializer(request);
    error_code ec;
    if (!Step([&](auto handler) { bhttp::async_write_header(stream, serializer, handler); }, ec)) {
      failure.status = DeadlineExceeded("http client: timed out sending request to " + Where());
      return false;
    }
    if (ec) {
      failure.retriable = reused;  // a stale keep-alive connection
      failure.status = Unavailable("http client: sending to " + Where() + ": " + ec.message());
      return false;
    }

    // 100 Continue, or the final answer when the server refuses the body.
    buffer_.clear();
    {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(kMaxResponseBodyBytes);
      if (!Step([&](auto handler) { bhttp::async_read_header(stream, buffer_, parser, handler); },
                ec)) {
        failure.status = DeadlineExceeded("http client: timed out waiting for a response from " +
                                          Where());
        return false;
      }
      if (ec) {
        failure.retriable = reused && !parser.got_some() && buffer_.size() == 0;
        failure.status = Unavailable("http client: reading from " + Where() + ": " + ec.message());
        return false;
      }
      if (parser.get().result() != bhttp::status::continue_) {
        if (!ReadWholeAnswer(stream, parser, response, failure)) return false;
        Disconnect();  // the body announced in the request was not sent
        return true;
      }
    }

    auto chunk = std::make_unique<char[]>(kStreamChunkBytes);
    std::uint64_t sent = 0;
    bool cut_short = false;  // the server answered (or failed) before the body's end
    for (;;) {
      Result<std::size_t> n = source(chunk.get(), kStreamChunkBytes);
      if (!n.ok()) {
        failure.status = n.status();
        return false;
      }
      if (*n > kStreamChunkBytes) {
        failure.status = InvalidArgument("http client: the upload source overran its buffer");
        return false;
      }
      if (length && *n > *length - sent) {
        failure.status = InvalidArgument("http client: the upload source yields more than the " +
                                         std::to_string(*length) + " bytes announced");
        return false;
      }
      if (*n == 0 && length && sent != *length) {
        failure.status = InvalidArgument("http client: the upload source ended after " +
                                         std::to_string(sent) + " of the " +
                                         std::to_string(*length) + " bytes announced");
        return false;
      }
      auto& body = request.body();
      body.data = *n > 0 ? chunk.get() : nullptr;
      body.size = *n;
      body.more = *n > 0;
      if (!Step([&](auto handler) { bhttp::async_write(stream, serializer, handler); }, ec)) {
        failure.status = DeadlineExceeded("http client: timed out sending request to " + Where());
        return false;
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {  // maybe the server answered and closed: try to read its answer
        cut_short = true;
        break;
      }
      sent += *n;
      if (*n > 0 && on_progress) on_progress(sent);
      if (*n == 0) break;
      error_code available_ec;
      if (Lowest()->available(available_ec) > 0) {  // an answer before the end: an error
        cut_short = true;
        break;
      }
    }

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    if (!ReadWholeAnswer(stream, parser, response, failure)) {
      if (cut_short && ec) {
        failure.status = Unavailable("http client: sending to " + Where() + ": " + ec.message());
      }
      return false;
    }
    if (cut_short) Disconnect();
    return true;
  }

  template <typename Stream>
  bool StreamDownload(Stream& stream, const bhttp::request<bhttp::string_body>& request,
                      const BodyWriter& sink, bool reused, HttpResponse& response,
                      Failure& failure) {
    error_code ec;
    if (!Step([&](auto handler) { bhttp::async_write(stream, request, handler); }, ec)) {
      failure.status = DeadlineExceeded("http client: timed out sending request to " + Where());
      return false;
    }
    if (ec) {
      failure.retriable = reused;
      failure.status = Unavailable("http client: sending to " + Where() + ": " + ec.message());
      return false;
    }
    buffer_.clear();
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::optional<std::uint64_t>());  // streamed: no limit
    if (!Step([&](auto handler) { bhttp::async_read_header(stream, buffer_, parser, handler); },
              ec)) {
      failure.status = DeadlineExceeded("http client: timed out waiting for a response from " +
                                        Where());
      return false;
    }
    if (ec) {
      failure.retriable = reused && !parser.got_some() && buffer_.size() == 0;
      failure.status = Unavailable("http client: reading from " + Where() + ": " + ec.message());
      return false;
    }
    if (parser.get().result_int() < 200 || parser.get().result_int() >= 300) {
      bhttp::response_parser<bhttp::string_body> whole(std::move(parser));
      whole.body_limit(kMaxResponseBodyBytes);
      return ReadWholeAnswer(stream, whole, response, failure);
    }
    FillResponseHead(parser.get().base(), response);
    auto chunk = std::make_unique<char[]>(kStreamChunkBytes);
    while (!parser.is_done()) {
      parser.get().body().data = chunk.get();
      parser.get().body().size = kStreamChunkBytes;
      if (!Step([&](auto handler) { bhttp::async_read_some(stream, buffer_, parser, handler); },
                ec)) {
        failure.status = DeadlineExceeded("http client: timed out reading the body from " +
                                          Where());
        return false;
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        failure.status = Unavailable("http client: reading the body from " + Where() + ": " +
                                     ec.message());
        return false;
      }
      const std::size_t got = kStreamChunkBytes - parser.get().body().size;
      if (got == 0) continue;
      if (Status s = sink(std::string_view(chunk.get(), got)); !s.ok()) {
        failure.status = s;
        return false;
      }
    }
    if (!parser.get().keep_alive()) Disconnect();
    return true;
  }

  Status Connect() {
    error_code ec;
    bool done = false;
    tcp::resolver::results_type endpoints;
    resolver_.async_resolve(url_.host, url_.port,
                            [&](error_code e, tcp::resolver::results_type r) {
                              ec = e;
                              endpoints = std::move(r);
                              done = true;
                            });
    if (!RunUntilDone(done)) {
      return DeadlineExceeded("http client: timed out resolving " + url_.host);
    }
    if (ec) return Unavailable("http client: cannot resolve " + url_.host + ": " + ec.message());

    socket_.emplace(ioc_);
    done = false;
    net::async_connect(*socket_, endpoints, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!RunUntilDone(done)) {
      Disconnect();
      return DeadlineExceeded("http client: timed out connecting to " + Where());
    }
    if (ec) {
      Disconnect();
      return Unavailable("http client: cannot connect to " + Where() + ": " + ec.message());
    }
    socket_->set_option(tcp::no_delay(true), ec);

    if (tls_) {
      tls_stream_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(*socket_), *tls_);
      socket_.reset();
      error_code not_ip;
      (void)net::ip::make_address(url_.host, not_ip);
      if (not_ip) {
        // SNI, so that virtual-hosted HTTPS front ends pick the right certificate.
        SSL_set_tlsext_host_name(tls_stream_->native_handle(), url_.host.c_str());
      }
      if (!options_.insecure_skip_verify) {
        tls_stream_->set_verify_callback(ssl::host_name_verification(url_.host));
      }
      done = false;
      tls_stream_->async_handshake(ssl::stream_base::client, [&](error_code e) {
        ec = e;
        done = true;
      });
      if (!RunUntilDone(done)) {
        Disconnect();
        return DeadlineExceeded("http client: timed out in TLS handshake with " + Where());
      }
      if (ec) {
        Disconnect();
        return Unavailable("http client: TLS handshake with " + Where() + " failed: " +
                           ec.message());
      }
    }
    connected_ = true;
    return OkStatus();
  }

  // Runs the io_context until `done` or the deadline. On timeout, cancels everything, waits
  // for the aborted handlers (they reference the caller's stack) and returns false.
  bool RunUntilDone(const bool& done) {
    ioc_.restart();
    while (!done && Clock::now() < deadline_) {
      ioc_.run_one_until(deadline_);
    }
    if (done) return true;
    resolver_.cancel();
    error_code ignored;
    if (tcp::socket* s = Lowest()) s->close(ignored);
    ioc_.restart();
    while (!done) {
      if (ioc_.run_one() == 0) break;  // nothing left: the handler already ran
    }
    return false;
  }

  void Disconnect() {
    if (tcp::socket* s = Lowest()) {
      error_code ignored;
      s->close(ignored);
    }
    tls_stream_.reset();
    socket_.reset();
    buffer_.clear();
    connected_ = false;
  }

  // The TCP socket of the current connection (inside the TLS stream for HTTPS), or null.
  tcp::socket* Lowest() {
    if (tls_stream_) return &tls_stream_->next_layer();
    return socket_ ? &*socket_ : nullptr;
  }

  std::string Where() const { return url_.host_header; }

  const ClientOptions options_;
  const ParsedUrl url_;
  net::io_context ioc_;
  tcp::resolver resolver_;
  std::optional<ssl::context> tls_;
  std::optional<tcp::socket> socket_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_stream_;  // HTTPS: owns the socket
  beast::flat_buffer buffer_;
  bool connected_ = false;
  Clock::time_point deadline_;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const ClientOptions& options) {
  ParsedUrl url;
  if (!ParseBaseUrl(options.base_url, url)) {
    return InvalidArgument("http client: malformed base_url '" + options.base_url +
                           "' (want http(s)://host[:port])");
  }
  auto client = std::make_unique<BeastHttpClient>(options, std::move(url));
  GP_RETURN_IF_ERROR(client->Init());
  return std::unique_ptr<HttpClient>(std::move(client));
}

}  // namespace govpool::api
