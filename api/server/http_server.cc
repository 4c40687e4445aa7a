// HttpServer on Boost.Beast/Asio. The only server-side translation unit that includes Beast.
//
// Structure:
//  * Core: the io_context, the handler, the options and the registry of live sessions. It is
//    shared (shared_ptr) by the server object and by every session, so a Responder kept by a
//    handler after Stop() (or after the server object is gone) never touches a dead
//    io_context: the io_context dies with the last session.
//  * Session<Stream>: one connection, plain TCP or TLS, all of its work serialised on its own
//    strand. One request at a time: read header (+100-continue) → read body → call the handler
//    → wait for the Responder → write → next request (already-buffered pipelined bytes first).
//  * Streamed bodies: after the header, the UploadDispatcher may take the request as an upload:
//    the header parser is converted to a buffer_body parser and the body is read through one
//    kStreamBufferBytes buffer into the BodySink (read_some → Write → read_some ...), then
//    Finish answers it. A response with a body_source is written with a buffer_body
//    serializer the same way (Read → write → Read ...). Nothing else of the body is buffered
//    beyond Beast's read buffer (at most 64 KiB of unparsed bytes).
//  * Timers: one steady_timer per session, re-armed per phase: idle_timeout while waiting for
//    the first byte of a request, read_timeout while a request (or a TLS handshake, or a
//    response write) is in progress, none while the handler owns the request (long-poll).
//
// Shutdown: Stop() marks the core stopping under its mutex, closes the acceptor and every
// session, releases the work guard and joins the threads. Responders check the stopping flag
// under the same mutex before posting, so no handler is queued onto an io_context whose
// threads have exited (that would leak the session and, through it, the core).
#include "api/server/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "api/errors.h"
#include "common/pki.h"
#include "common/strings.h"

namespace govpool::api {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

constexpr char kServerName[] = "govpool";
// TLS 1.2's suites (OpenSSL names): ECDHE only, AEAD only.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// After an error response we stop reading requests but keep draining what the client still
// sends for this long, so that closing the socket with unread data (which makes the kernel
// send RST) does not destroy the error response before the client has read it.
constexpr int kLingerMs = 2000;


bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection from any thread (posts onto the session's strand).
  virtual void Shutdown() = 0;

  // Since when (SteadyMs) the connection has been waiting for a complete request header (a
  // new connection, its TLS handshake, a keep-alive wait, a slow header), or kBusy while a
  // request is read, handled or answered. Only waiting connections are evicted to make room.
  static constexpr std::int64_t kBusy = -1;
  std::atomic<std::int64_t> waiting_since_ms{SteadyMs()};
};

// State shared by the server object and every session; see the file comment.
struct Core {
  Core(ServerOptions opts, Handler h, UploadDispatcher u)
      : options(std::move(opts)), handler(std::move(h)), uploads(std::move(u)),
        serves_tls(!options.tls_cert_path.empty()) {}

  // Posts `fn` onto `executor` unless the server is stopping. Returns false when dropped.
  template <typename Executor, typename Fn>
  bool PostIfRunning(const Executor& executor, Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return false;
    net::post(executor, std::forward<Fn>(fn));
    return true;
  }

  // Registers a new session from `address`; false when the server is stopping (the caller
  // closes it).
  bool Register(SessionBase* key, std::weak_ptr<SessionBase> session, const std::string& address) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return false;
    sessions.emplace(key, Entry{std::move(session), address});
    ++per_address[address];
    return true;
  }
  void Unregister(SessionBase* key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = sessions.find(key);
    if (it == sessions.end()) return;
    if (auto n = per_address.find(it->second.address); n != per_address.end() && --n->second == 0) {
      per_address.erase(n);
    }
    sessions.erase(it);
  }

  // Makes room for a new connection from `address` (options' connection limits): nothing to
  // do under the limits; else the connection that has been waiting longest for a request (of
  // that address when its own limit is reached, else of any) is chosen to be closed, and
  // returned. False when a limit is reached and no connection is waiting: refuse the new one.
  bool MakeRoom(const std::string& address, std::shared_ptr<SessionBase>& evict) {
    std::lock_guard<std::mutex> lock(mu);
    const auto from_address = per_address.find(address);
    const bool address_full = options.max_connections_per_address > 0 && from_address != per_address.end() &&
                              from_address->second >= options.max_connections_per_address;
    const bool server_full = options.max_connections > 0 && sessions.size() >= options.max_connections;
    if (!address_full && !server_full) return true;
    SessionBase* oldest = nullptr;
    std::int64_t oldest_since = 0;
    for (const auto& [key, entry] : sessions) {
      if (address_full && entry.address != address) continue;
      const std::int64_t since = key->waiting_since_ms.load(std::memory_order_relaxed);
      if (since == SessionBase::kBusy || (oldest && since >= oldest_since)) continue;
      oldest = key;
      oldest_since = since;
    }
    if (!oldest) return false;
    evict = sessions[oldest].session.lock();
    if (!evict) return false;
    // Chosen once: a connection on its way out is not chosen again for the next newcomer.
    oldest->waiting_since_ms.store(SessionBase::kBusy, std::memory_order_relaxed);
    return true;
  }
  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }

  // Declared first: destroyed last, after everything that may reference it.
  net::io_context ioc;
  const ServerOptions options;
  const Handler handler;
  const UploadDispatcher uploads;  // may be empty
  const bool serves_tls;  // HTTPS only
  // The context new TLS connections use (ReloadTls swaps it; a session keeps the one it began
  // with). Guarded by mu.
  std::shared_ptr<ssl::context> tls;
  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard<std::mutex> lock(mu);
    return tls;
  }

  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> active_connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> error_responses{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> connections_evicted{0};
  std::atomic<std::uint64_t> handler_timeouts{0};

  struct Entry {
    std::weak_ptr<SessionBase> session;
    std::string address;
  };
  std::mutex mu;
  bool stopping = false;                                   // guarded by mu
  std::unordered_map<SessionBase*, Entry> sessions;        // guarded by mu
  std::unordered_map<std::string, std::size_t> per_address;  // live sessions per peer; guarded by mu
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kIsTls = !std::is_same_v<Stream, tcp::socket>;

  Session(std::shared_ptr<Core> core, tcp::socket socket)
      : core_(std::move(core)),
        timer_(socket.get_executor()),
        tls_context_(kIsTls ? core_->CurrentTls() : nullptr),
        stream_(MakeStream(tls_context_.get(), std::move(socket))) {
    error_code ec;
    const tcp::endpoint peer = Lowest().remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
    core_->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    core_->active_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~Session() override {
    AbortUpload(Unavailable("the connection closed before the upload completed"));
    core_->active_connections.fetch_sub(1, std::memory_order_relaxed);
    core_->Unregister(this);
  }

  void Start() {
    if (!core_->Register(this, this->weak_from_this(), remote_address_)) {
      net::post(Lowest().get_executor(), [self = this->shared_from_this()] { self->Close(); });
      return;
    }
    net::dispatch(Lowest().get_executor(), [self = this->shared_from_this()] {
      if constexpr (kIsTls) {
        self->Handshake();
      } else {
        self->ReadRequest();
      }
    });
  }

  void Shutdown() override {
    // Called with core->stopping already set, so post directly (PostIfRunning would refuse).
    net::post(Lowest().get_executor(), [self = this->shared_from_this()] { self->Close(); });
  }

  // Called (via the Responder) from any thread. Hops onto the strand.
  void Deliver(api::HttpResponse response) {
    core_->PostIfRunning(Lowest().get_executor(),
                         [self = this->shared_from_this(), r = std::move(response)]() mutable {
                           self->OnResponse(std::move(r));
                         });
  }

 private:
  enum class State { kReading, kHandling, kWriting, kClosed };

  static Stream MakeStream(ssl::context* tls, tcp::socket socket) {
    if constexpr (kIsTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return socket;
    }
  }

  tcp::socket& Lowest() { return beast::get_lowest_layer(stream_); }

  // Arms the single timer; when it fires the socket is closed, which fails the pending op.
  void ArmTimer(int timeout_ms) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(std::chrono::milliseconds(std::max(timeout_ms, 1)));
    timer_.async_wait([self = this->shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->timer_generation_) return;
      self->Close();
    });
  }
  void DisarmTimer() {
    ++timer_generation_;
    timer_.cancel();
  }

  void Handshake() {
    if constexpr (kIsTls) {
      ArmTimer(core_->options.read_timeout_ms);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->Close();
                                self->RememberClientCertificate();
                                self->ReadRequest();
                              });
    }
  }

  // A client certificate the client CA verified names every request of this connection.
  void RememberClientCertificate() {
    if constexpr (kIsTls) {
      SSL* ssl = stream_.native_handle();
      X509* peer = SSL_get0_peer_certificate(ssl);
      if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) return;
      X509_NAME* subject = X509_get_subject_name(peer);
      const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
      if (at < 0) return;
      ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
      BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
      char* hex = serial ? BN_bn2hex(serial) : nullptr;
      if (hex) {
        client_cn_.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                          static_cast<std::size_t>(ASN1_STRING_length(cn)));
        client_serial_ = hex;
        for (char& ch : client_serial_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      OPENSSL_free(hex);
      BN_free(serial);
    }
  }

  void ReadRequest() {
    if (state_ == State::kClosed) return;
    state_ = State::kReading;
    if (core_->Stopping()) return Close();
    waiting_since_ms.store(SteadyMs(), std::memory_order_relaxed);
    if (buffer_.size() > 0) return ReadHeader();  // pipelined bytes already buffered
    // Idle: wait for the first byte under the idle timeout; the read timeout starts then.
    ArmTimer(core_->options.idle_timeout_ms);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(core_->options.max_header_bytes, UINT32_MAX)));
    // No body limit yet: an upload has its own, known only once the header is read (Beast
    // would otherwise refuse a large Content-Length while parsing the header).
    parser_->body_limit(boost::optional<std::uint64_t>());
    ArmTimer(core_->options.read_timeout_ms);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(error_code ec) {
    if (ec) return OnReadError(ec);
    waiting_since_ms.store(kBusy, std::memory_order_relaxed);
    if (core_->uploads) {
      api::HttpRequest head = HeadOf(parser_->get());
      if (api::ParseTarget(head.target, head.path, head.query)) {
        std::optional<StreamedUpload> upload;
        try {
          upload = core_->uploads(head);
        } catch (const std::exception& e) {
          return SendError(api::ErrorResponse(Internal(std::string("upload dispatch failed: ") + e.what())));
        } catch (...) {
          return SendError(api::ErrorResponse(Internal("upload dispatch failed")));
        }
        if (upload) {
          handler_timeout_ms_ = HandlerTimeoutFor(head);
          return StartUpload(std::move(*upload));
        }
      }
    }
    const auto length = parser_->content_length();
    if (length && *length > core_->options.max_body_bytes) {
      return OnReadError(bhttp::error::body_limit);
    }
    parser_->body_limit(core_->options.max_body_bytes);
    SendContinueThen([self = this->shared_from_this()] { self->ReadBody(); });
  }

  bool WantsContinue() const {
    const auto& header = parser_ ? parser_->get().base() : upload_parser_->get().base();
    const bool done = parser_ ? parser_->is_done() : upload_parser_->is_done();
    const auto expect = header.find(bhttp::field::expect);
    return expect != header.end() && beast::iequals(expect->value(), "100-continue") && !done;
  }

  // Answers `Expect: 100-continue` (when asked and a body is to come), then calls `next`.
  template <typename Next>
  void SendContinueThen(Next next) {
    if (!WantsContinue()) return next();
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this(), next = std::move(next)](error_code wec,
                                                                              std::size_t) {
                       if (wec) {
                         self->AbortUpload(Unavailable("the connection failed: " + wec.message()));
                         return self->Close();
                       }
                       next();
                     });
  }

  // The request line and headers as the plain type; no body.
  api::HttpRequest HeadOf(const bhttp::request_header<>& message) const {
    api::HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.remote_address = remote_address_;
    request.client_certificate_cn = client_cn_;
    request.client_certificate_serial = client_serial_;
    return request;
  }

  // ---- Streamed request bodies (uploads) ----

  void StartUpload(StreamedUpload upload) {
    core_->requests.fetch_add(1, std::memory_order_relaxed);
    if (!upload.sink) {
      // Refused (unauthenticated, forbidden, no such object...): no body byte is read.
      if (!upload.on_finish) return SendError(std::move(upload.refusal), /*server_error=*/false);
      parser_.reset();
      state_ = State::kHandling;
      refusing_ = true;  // OnResponse sends it as an error: close, draining the unread body
      Responder respond = MakeResponder(handler_timeout_ms_);
      try {
        upload.on_finish(std::move(upload.refusal), respond);
      } catch (...) {
        respond(api::ErrorResponse(Internal("refusing the upload failed")));
      }
      return;
    }
    sink_ = std::move(upload.sink);
    upload_finish_ = std::move(upload.on_finish);
    upload_max_ = upload.max_body_bytes;
    upload_bytes_ = 0;
    const auto length = parser_->content_length();
    if (length && *length > upload_max_) return UploadTooLarge();
    keep_alive_ = parser_->get().keep_alive();
    is_head_ = false;
    try {
      upload_parser_.emplace(std::move(*parser_));
    } catch (const std::exception& e) {  // cannot happen: no body byte was parsed yet
      const Status why = Internal(std::string("cannot stream the request body: ") + e.what());
      AbortUpload(why);
      return SendError(api::ErrorResponse(why));
    }
    parser_.reset();
    upload_parser_->body_limit(upload_max_);
    stream_buffer_ = std::make_unique<char[]>(kStreamBufferBytes);
    SendContinueThen([self = this->shared_from_this()] { self->ReadUploadChunk(); });
  }

  void ReadUploadChunk() {
    if (!sink_) return;  // aborted meanwhile
    if (upload_parser_->is_done()) return FinishUpload();
    auto& body = upload_parser_->get().body();
    body.data = stream_buffer_.get();
    body.size = kStreamBufferBytes;
    ArmTimer(core_->options.read_timeout_ms);  // per read: a long upload is fine, a stall not
    bhttp::async_read_some(stream_, buffer_, *upload_parser_,
                           [self = this->shared_from_this()](error_code ec, std::size_t) {
                             self->OnUploadChunk(ec);
                           });
  }

  void OnUploadChunk(error_code ec) {
    if (!sink_) return;
    if (ec == bhttp::error::need_buffer) ec = {};  // the buffer is full: hand it over
    if (ec == bhttp::error::body_limit) return UploadTooLarge();
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        const Status why = InvalidArgument("malformed request body: " + ec.message())
                               .WithReason("MALFORMED_REQUEST");
        AbortUpload(why);
        return SendError(api::ErrorResponse(why));
      }
      // The client went away or stalled (timer), or the server is stopping.
      AbortUpload(Unavailable("the upload was cut off after " + std::to_string(upload_bytes_) +
                              " bytes (" + ec.message() + ")"));
      return Close();
    }
    const std::size_t got = kStreamBufferBytes - upload_parser_->get().body().size;
    if (got > 0) {
      upload_bytes_ += got;
      Status written;
      try {
        written = sink_->Write(std::string_view(stream_buffer_.get(), got));
      } catch (const std::exception& e) {
        written = Internal(std::string("writing the upload failed: ") + e.what());
      }
      if (!written.ok()) {
        AbortUpload(written);
        return SendError(api::ErrorResponse(written), /*server_error=*/false);
      }
    }
    ReadUploadChunk();
  }

  void UploadTooLarge() {
    const Status why =
        InvalidArgument("request body exceeds " + std::to_string(upload_max_) + " bytes")
            .WithReason("PAYLOAD_TOO_LARGE");
    AbortUpload(why);
    SendError(api::ErrorResponse(why));
  }

  // The whole body arrived: Finish answers the request, like a handler.
  void FinishUpload() {
    DisarmTimer();
    upload_parser_.reset();
    stream_buffer_.reset();
    std::unique_ptr<api::BodySink> sink = std::move(sink_);
    auto on_finish = std::move(upload_finish_);
    upload_finish_ = nullptr;
    state_ = State::kHandling;
    Responder respond = MakeResponder(handler_timeout_ms_);
    Result<api::HttpResponse> finished = Internal("the upload's sink failed to finish");
    try {
      finished = sink->Finish();
    } catch (const std::exception& e) {
      finished = Internal(std::string("finishing the upload failed: ") + e.what());
    } catch (...) {
    }
    sink.reset();
    if (on_finish) {
      try {
        on_finish(std::move(finished), respond);
      } catch (...) {
        respond(api::ErrorResponse(Internal("finishing the upload failed")));
      }
      return;
    }
    respond(finished.ok() ? std::move(finished).value() : api::ErrorResponse(finished.status()));
  }

  // Tells the sink (once) that its upload will not complete.
  void AbortUpload(const Status& why) {
    std::unique_ptr<api::BodySink> sink = std::move(sink_);
    upload_parser_.reset();
    upload_finish_ = nullptr;
    if (!sink) return;
    try {
      sink->Abort(why);
    } catch (...) {
    }
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->OnRequest();
                      });
  }

  void OnReadError(error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return SendError(api::ErrorResponse(InvalidArgument("request headers exceed " +
                                                     std::to_string(core_->options.max_header_bytes) +
                                                     " bytes")
                                         .WithReason("HEADERS_TOO_LARGE")));
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(api::ErrorResponse(
          InvalidArgument("request body exceeds " + std::to_string(core_->options.max_body_bytes) +
                          " bytes")
              .WithReason("PAYLOAD_TOO_LARGE")));
    }
    // EOF between or inside messages, timeouts, resets, aborts: nothing useful to answer.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return Close();
    }
    SendError(api::ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message())
                                .WithReason("MALFORMED_REQUEST")));
  }

  void OnRequest() {
    DisarmTimer();  // the handler's own bound, if any, is armed below
    bhttp::request<bhttp::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    is_head_ = message.method() == bhttp::verb::head;

    api::HttpRequest request = HeadOf(message.base());
    request.body = std::move(message.body());
    if (!api::ParseTarget(request.target, request.path, request.query)) {
      state_ = State::kHandling;
      core_->error_responses.fetch_add(1, std::memory_order_relaxed);
      return OnResponse(
          api::ErrorResponse(InvalidArgument("malformed request target").WithReason("MALFORMED_REQUEST")));
    }

    state_ = State::kHandling;
    core_->requests.fetch_add(1, std::memory_order_relaxed);
    Responder respond = MakeResponder(HandlerTimeoutFor(request));
    try {
      core_->handler(std::move(request), respond);
    } catch (const std::exception& e) {
      respond(api::ErrorResponse(Internal(std::string("handler failed: ") + e.what())));
    } catch (...) {
      respond(api::ErrorResponse(Internal("handler failed")));
    }
  }

  int HandlerTimeoutFor(const api::HttpRequest& request) const {
    return core_->options.handler_timeout_ms ? core_->options.handler_timeout_ms(request) : 0;
  }

  // The Responder owns a Pending; if the handler drops it without answering, the client
  // still gets a 500 instead of a hung connection.
  struct Pending {
    explicit Pending(std::shared_ptr<Session> s) : session(std::move(s)) {}
    ~Pending() {
      if (!done.exchange(true)) {
        session->Deliver(api::ErrorResponse(Internal("the handler dropped the request")));
      }
    }
    std::shared_ptr<Session> session;
    std::atomic<bool> done{false};
  };
  // A new request's Responder; with a deadline (timeout_ms > 0) the server answers 503 itself
  // unless the handler does first (its answer re-arms the timer for writing, which cancels
  // this). The exactly-once flag drops whichever answer comes second, so the connection stays
  // usable. The timer holds the Pending weakly: a handler that drops its Responder still gets
  // its 500 at once.
  Responder MakeResponder(int timeout_ms = 0) {
    auto pending = std::make_shared<Pending>(this->shared_from_this());
    if (timeout_ms > 0) {
      const std::uint64_t generation = ++timer_generation_;
      timer_.expires_after(std::chrono::milliseconds(timeout_ms));
      timer_.async_wait([self = this->shared_from_this(), generation, timeout_ms,
                         weak = std::weak_ptr<Pending>(pending)](error_code ec) {
        if (ec || generation != self->timer_generation_) return;
        const std::shared_ptr<Pending> waiting = weak.lock();
        if (!waiting || waiting->done.exchange(true)) return;
        self->core_->handler_timeouts.fetch_add(1, std::memory_order_relaxed);
        api::HttpResponse r = api::ErrorResponse(
            Unavailable("the request was not answered within " + std::to_string(timeout_ms) +
                        " ms; it may still take effect: read the object, or repeat the request with "
                        "the same Idempotency-Key"));
        r.headers.emplace_back("Retry-After", "1");
        self->Deliver(std::move(r));
      });
    }
    return [pending](api::HttpResponse response) {
      if (pending->done.exchange(true)) return;  // exactly once; later calls are ignored
      pending->session->Deliver(std::move(response));
    };
  }

  // On the strand. Builds the wire response and writes it.
  void OnResponse(api::HttpResponse response) {
    if (state_ != State::kHandling) return;  // connection closed meanwhile
    if (refusing_) {
      refusing_ = false;
      return SendError(std::move(response), /*server_error=*/false);
    }
    state_ = State::kWriting;
    const bool keep_alive = keep_alive_ && !core_->Stopping();
    if (response.body_source && !is_head_) return WriteStreamed(std::move(response), keep_alive);
    res_ = BuildResponse(std::move(response), keep_alive, is_head_);
    ArmTimer(core_->options.read_timeout_ms);
    bhttp::async_write(stream_, res_,
                       [self = this->shared_from_this(), keep_alive](error_code ec, std::size_t) {
                         if (ec) return self->Close();
                         self->res_ = {};
                         if (!keep_alive) return self->CloseGracefully();
                         self->ReadRequest();
                       });
  }

  // ---- Streamed response bodies (downloads) ----

  void WriteStreamed(api::HttpResponse in, bool keep_alive) {
    source_ = std::move(in.body_source);
    source_length_ = source_->content_length();
    source_sent_ = 0;
    stream_keep_alive_ = keep_alive;
    stream_res_.emplace();
    FillHead(*stream_res_, in, keep_alive);
    if (source_length_) {
      stream_res_->content_length(*source_length_);
    } else {
      stream_res_->chunked(true);
    }
    stream_res_->body().data = nullptr;
    stream_res_->body().more = true;
    stream_sr_.emplace(*stream_res_);
    stream_buffer_ = std::make_unique<char[]>(kStreamBufferBytes);
    ArmTimer(core_->options.read_timeout_ms);
    bhttp::async_write_header(stream_, *stream_sr_,
                              [self = this->shared_from_this()](error_code ec, std::size_t) {
                                if (ec) return self->EndStreamed(/*ok=*/false);
                                self->WriteStreamedChunk();
                              });
  }

  void WriteStreamedChunk() {
    Result<std::size_t> n = Internal("the response body source failed");
    try {
      n = source_->Read(stream_buffer_.get(), kStreamBufferBytes);
    } catch (...) {
    }
    // The head is out: an error can only cut the body short (the client sees a short body or
    // a missing last chunk).
    if (!n.ok() || *n > kStreamBufferBytes) return EndStreamed(/*ok=*/false);
    auto& body = stream_res_->body();
    if (*n == 0) {
      if (source_length_ && source_sent_ != *source_length_) return EndStreamed(/*ok=*/false);
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      if (source_length_ && *n > *source_length_ - source_sent_) return EndStreamed(/*ok=*/false);
      source_sent_ += *n;
      body.data = stream_buffer_.get();
      body.size = *n;
      body.more = true;
    }
    ArmTimer(core_->options.read_timeout_ms);  // per write: a slow reader is fine, a stall not
    bhttp::async_write(stream_, *stream_sr_,
                       [self = this->shared_from_this()](error_code ec, std::size_t) {
                         if (ec == bhttp::error::need_buffer) ec = {};
                         if (ec) return self->EndStreamed(/*ok=*/false);
                         if (self->stream_sr_->is_done()) return self->EndStreamed(/*ok=*/true);
                         self->WriteStreamedChunk();
                       });
  }

  void EndStreamed(bool ok) {
    stream_sr_.reset();
    stream_res_.reset();
    source_.reset();
    stream_buffer_.reset();
    if (!ok) return Close();
    if (!stream_keep_alive_) return CloseGracefully();
    ReadRequest();
  }

  // Writes an error for a request that could not be read (or an upload's refusal), then closes.
  void SendError(api::HttpResponse response, bool server_error = true) {
    if (server_error) core_->error_responses.fetch_add(1, std::memory_order_relaxed);
    parser_.reset();
    upload_parser_.reset();
    state_ = State::kWriting;
    res_ = BuildResponse(std::move(response), /*keep_alive=*/false, /*head=*/false);
    ArmTimer(core_->options.read_timeout_ms);
    bhttp::async_write(stream_, res_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->Close();
      self->CloseAndDrain();
    });
  }

  // Status line and headers of `in` (framing headers excepted) onto `out`.
  template <typename Body>
  static void FillHead(bhttp::response<Body>& out, const api::HttpResponse& in, bool keep_alive) {
    out.version(11);
    const int status = (in.status >= 100 && in.status <= 999) ? in.status : 500;
    out.result(static_cast<unsigned>(status));
    out.set(bhttp::field::server, kServerName);
    if (!in.content_type.empty() && !HasCrLf(in.content_type)) {
      out.set(bhttp::field::content_type, in.content_type);
    }
    for (const auto& [name, value] : in.headers) {
      // Framing headers are ours; header injection is refused.
      if (beast::iequals(name, "content-length") || beast::iequals(name, "connection") ||
          beast::iequals(name, "transfer-encoding") || name.empty() || HasCrLf(name) ||
          name.find(':') != std::string::npos || HasCrLf(value)) {
        continue;
      }
      out.insert(name, value);
    }
    out.keep_alive(keep_alive);
  }

  static bhttp::response<bhttp::string_body> BuildResponse(api::HttpResponse in, bool keep_alive,
                                                           bool head) {
    bhttp::response<bhttp::string_body> out;
    FillHead(out, in, keep_alive);
    std::uint64_t size = in.body.size();
    if (in.body_source) {  // HEAD of a streamed body: its length, when known
      in.body.clear();
      size = in.body_source->content_length().value_or(0);
      head = true;
    }
    out.body() = std::move(in.body);
    out.prepare_payload();
    if (head) {
      out.body().clear();
      if (!in.body_source || in.body_source->content_length()) {
        out.content_length(size);
      } else {
        out.erase(bhttp::field::content_length);  // unknown: the GET answer is chunked
      }
    }
    return out;
  }

  // Ends a connection after a response to `Connection: close` (or during Stop). TLS gets a
  // best-effort close_notify bounded by the linger timer.
  void CloseGracefully() {
    if constexpr (kIsTls) {
      if (state_ == State::kClosed) return;
      state_ = State::kClosed;
      ArmTimer(kLingerMs);
      stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->Close(); });
    } else {
      CloseAndDrain();
    }
  }

  // After an error response the client may still be sending a body we refused. Half-close,
  // then read and discard raw bytes (ciphertext too, for TLS: we are not going to decrypt
  // them) until the client closes or the linger time ends, so the kernel does not answer the
  // unread data with an RST that destroys our response before the client has read it.
  void CloseAndDrain() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    error_code ignored;
    Lowest().shutdown(tcp::socket::shutdown_send, ignored);
    ArmTimer(kLingerMs);
    Drain();
  }

  void Drain() {
    Lowest().async_read_some(net::buffer(drain_buffer_),
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               if (ec) return self->Close();
                               self->Drain();
                             });
  }

  void Close() {
    state_ = State::kClosed;
    DisarmTimer();
    error_code ignored;
    Lowest().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close(ignored);
  }

  const std::shared_ptr<Core> core_;
  net::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  int handler_timeout_ms_ = 0;  // of the upload in progress
  const std::shared_ptr<ssl::context> tls_context_;  // null for plain HTTP; before stream_
  Stream stream_;
  std::string remote_address_;
  std::string client_cn_;      // of a verified client certificate; empty without one
  std::string client_serial_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  // A streamed body in progress (upload or download): its one buffer.
  std::unique_ptr<char[]> stream_buffer_;
  // Upload: the body parser (converted from parser_ after the header) and the sink; sink_ is
  // null once Finish or Abort was called.
  std::optional<bhttp::request_parser<bhttp::buffer_body>> upload_parser_;
  std::unique_ptr<api::BodySink> sink_;
  std::function<void(Result<api::HttpResponse>, Responder)> upload_finish_;
  std::uint64_t upload_max_ = 0;
  std::uint64_t upload_bytes_ = 0;
  // Download: the response head + buffer, its serializer (declared after: destroyed first).
  std::shared_ptr<api::BodySource> source_;
  std::optional<std::uint64_t> source_length_;
  std::uint64_t source_sent_ = 0;
  bool stream_keep_alive_ = false;
  std::optional<bhttp::response<bhttp::buffer_body>> stream_res_;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> stream_sr_;
  State state_ = State::kReading;
  bool keep_alive_ = true;
  bool refusing_ = false;  // the answer on its way refuses an upload whose body was not read
  bool is_head_ = false;
  std::array<char, 4096> drain_buffer_{};
};

using PlainSession = Session<tcp::socket>;
using TlsSession = Session<ssl::stream<tcp::socket>>;

// The HTTPS context for `options`: TLS 1.2+, forward-secret AEAD suites, the certificate chain
// and key (whose file mode is checked), and the client CA when set.
Result<std::shared_ptr<ssl::context>> MakeTlsContext(const ServerOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  ssl::context& tls = *context;
  error_code ec;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                  ec);
  // TLS 1.3's suites are all AEAD with forward secrecy; for 1.2 only ECDHE with GCM or
  // ChaCha20-Poly1305 (no RSA key exchange, no CBC, no SHA-1 MACs).
  SSL_CTX* native = tls.native_handle();
  if (!ec && (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
              SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)) {
    return Internal("http server: cannot restrict the TLS versions and suites");
  }
  if (Status key = pki::CheckPrivateKeyFile(options.tls_key_path); !key.ok()) {
    return InvalidArgument("http server: " + key.message());
  }
  if (!ec) tls.use_certificate_chain_file(options.tls_cert_path, ec);
  if (ec) {
    return InvalidArgument("http server: cannot load TLS certificate " +
                           options.tls_cert_path + ": " + ec.message());
  }
  // OpenSSL refuses a key that does not match the certificate ("key values mismatch"), so a
  // reload half-way through an operator's copy keeps the working pair.
  tls.use_private_key_file(options.tls_key_path, ssl::context::pem, ec);
  if (ec) {
    return InvalidArgument("http server: cannot load TLS key " + options.tls_key_path + ": " +
                           ec.message());
  }
  if (!options.tls_client_ca_path.empty()) {
    tls.load_verify_file(options.tls_client_ca_path, ec);
    if (ec) {
      return InvalidArgument("http server: cannot load the client CA " + options.tls_client_ca_path + ": " +
                             ec.message());
    }
    // Asked, not required: people and automation authenticate with tokens on the same port.
    tls.set_verify_mode(ssl::verify_peer, ec);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.tls_client_ca_path.c_str());
    if (names) SSL_CTX_set_client_CA_list(native, names);
  }
  return context;
}

class BeastHttpServer final : public HttpServer {
 public:
  BeastHttpServer(std::shared_ptr<Core> core, tcp::acceptor acceptor)
      : core_(std::move(core)),
        acceptor_(std::move(acceptor)),
        work_(net::make_work_guard(core_->ioc)),
        port_(acceptor_.local_endpoint().port()) {}

  ~BeastHttpServer() override { Stop(); }

  void Run() {
    Accept();
    const int threads = std::max(1, core_->options.threads);
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([core = core_] {
        for (;;) {
          try {
            core->ioc.run();
            return;
          } catch (...) {
            // A throwing completion handler must not take the process down; keep serving.
          }
        }
      });
    }
  }

  std::uint16_t port() const override { return port_; }

  Status ReloadTls() override {
    if (!core_->serves_tls) return FailedPrecondition("http server: plain HTTP has no certificate to reload");
    GP_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> fresh, MakeTlsContext(core_->options));
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->tls = std::move(fresh);
    return OkStatus();
  }

  ServerStats stats() const override {
    ServerStats stats;
    stats.connections_accepted = core_->connections_accepted.load(std::memory_order_relaxed);
    stats.active_connections = core_->active_connections.load(std::memory_order_relaxed);
    stats.requests = core_->requests.load(std::memory_order_relaxed);
    stats.error_responses = core_->error_responses.load(std::memory_order_relaxed);
    stats.connections_refused = core_->connections_refused.load(std::memory_order_relaxed);
    stats.connections_evicted = core_->connections_evicted.load(std::memory_order_relaxed);
    stats.handler_timeouts = core_->handler_timeouts.load(std::memory_order_relaxed);
    return stats;
  }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stopping = true;
      for (auto& [key, entry] : core_->sessions) {
        if (auto session = entry.session.lock()) live.push_back(std::move(session));
      }
    }
    net::post(acceptor_.get_executor(), [this] {
      error_code ignored;
      acceptor_.close(ignored);
      backoff_.cancel();
    });
    for (auto& session : live) session->Shutdown();
    live.clear();
    work_.reset();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(core_->ioc), [this](error_code ec, tcp::socket s) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        const tcp::endpoint peer = s.remote_endpoint(ignored);
        std::shared_ptr<SessionBase> evict;
        if (!core_->MakeRoom(ignored ? std::string() : peer.address().to_string(), evict)) {
          // Every connection is busy with a request: the newcomer waits for none of them.
          core_->connections_refused.fetch_add(1, std::memory_order_relaxed);
          s.close(ignored);
          if (core_->Stopping()) return;
          return Accept();
        }
        if (evict) {
          core_->connections_evicted.fetch_add(1, std::memory_order_relaxed);
          evict->Shutdown();
          evict.reset();
        }
        if (core_->serves_tls) {
          std::make_shared<TlsSession>(core_, std::move(s))->Start();
        } else {
          std::make_shared<PlainSession>(core_, std::move(s))->Start();
        }
      }
      if (core_->Stopping()) return;
      if (!ec) return Accept();
      // Errors such as EMFILE are transient: keep accepting, after a pause so that a
      // persistent error does not spin a thread.
      backoff_.expires_after(std::chrono::milliseconds(50));
      backoff_.async_wait([this](error_code wec) {
        if (!wec && !core_->Stopping()) Accept();
      });
    });
  }

  const std::shared_ptr<Core> core_;
  // The acceptor is only touched by the accept loop and Stop's posted close. Accept
  // handlers run on the acceptor's (implicit) executor; since only one accept is outstanding
  // at a time they never run concurrently with each other.
  tcp::acceptor acceptor_;
  net::steady_timer backoff_{acceptor_.get_executor()};  // accept-error pause
  net::executor_work_guard<net::io_context::executor_type> work_;
  const std::uint16_t port_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                       Handler handler, UploadDispatcher uploads) {
  if (!handler) return InvalidArgument("http server: no handler");
  auto core = std::make_shared<Core>(options, std::move(handler), std::move(uploads));

  const bool has_cert = !options.tls_cert_path.empty();
  const bool has_key = !options.tls_key_path.empty();
  if (has_cert != has_key) {
    return InvalidArgument("http server: tls_cert_path and tls_key_path must be set together");
  }
  if (has_cert) {
    auto tls = MakeTlsContext(options);
    if (!tls.ok()) return tls.status();
    core->tls = std::move(tls).value();
  } else if (!options.tls_client_ca_path.empty()) {
    return InvalidArgument("http server: tls_client_ca_path needs tls_cert_path and tls_key_path");
  }

  error_code ec;
  net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    tcp::resolver resolver(core->ioc);
    auto results = resolver.resolve(options.address, "", ec);
    if (ec || results.empty()) {
      return InvalidArgument("http server: bad listen address '" + options.address + "'");
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, options.port);
  tcp::acceptor acceptor(net::make_strand(core->ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("http server: cannot listen on " + options.address + ":" +
                       std::to_string(options.port) + ": " + ec.message());
  }
  auto server = std::make_unique<BeastHttpServer>(std::move(core), std::move(acceptor));
  server->Run();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace govpool::api
