// Tests for controller/http (HttpServer) and api/client (HttpClient), against each other and
// against raw POSIX sockets for malformed input. Hermetic: port 0, temp directories, a
// self-signed certificate generated at test time with the `openssl` command.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/client/http_client.h"
#include "api/server/http_server.h"

namespace govpool::api {
namespace {

using api::ClientOptions;
using api::HttpClient;
using api::HttpRequest;
using api::HttpResponse;
using namespace std::chrono_literals;

// Echoes method, path, query and body back as text, and a few request headers as X-Echo-*.
void EchoHandler(HttpRequest request, Responder respond) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = request.method + " " + request.path;
  for (const auto& [k, v] : request.query) response.body += " " + k + "=" + v;
  response.body += "\n" + request.body;
  response.headers.emplace_back("X-Echo-Remote", request.remote_address);
  if (const std::string* auth = request.Header("authorization")) {
    response.headers.emplace_back("X-Echo-Auth", *auth);
  }
  if (const std::string* type = request.Header("content-type")) {
    response.headers.emplace_back("X-Echo-Content-Type", *type);
  }
  respond(std::move(response));
}

std::unique_ptr<HttpServer> StartServer(Handler handler, ServerOptions options = {}) {
  auto server = HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  if (!server.ok()) return nullptr;
  return std::move(server).value();
}

std::unique_ptr<HttpClient> MakeClient(std::uint16_t port, ClientOptions options = {},
                                       std::string_view scheme = "http") {
  options.base_url = std::string(scheme) + "://127.0.0.1:" + std::to_string(port);
  auto client = HttpClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  if (!client.ok()) return nullptr;
  return std::move(client).value();
}

// Collects Responders so a test can answer later, from another thread.
class ParkingHandler {
 public:
  Handler AsHandler() {
    return [this](HttpRequest request, Responder respond) {
      std::lock_guard<std::mutex> lock(mu_);
      parked_.push_back(std::move(respond));
      paths_.push_back(request.path);
      cv_.notify_all();
    };
  }
  // Waits until `n` requests are parked; false on timeout.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return parked_.size() >= n; });
  }
  Responder Take(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return parked_.at(i);
  }
  // The responder of the parked request for `path`: for requests on different connections,
  // whose arrival order the server does not promise.
  Responder TakePath(std::string_view path) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < paths_.size(); ++i) {
      if (paths_[i] == path) return parked_[i];
    }
    ADD_FAILURE() << "no parked request for " << path;
    return [](api::HttpResponse) {};
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    parked_.clear();
    paths_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Responder> parked_;
  std::vector<std::string> paths_;
};

HttpResponse TextResponse(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// A blocking raw TCP connection to 127.0.0.1:port for sending malformed HTTP.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{};
    tv.tv_sec = 5;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawConnection() { Close(); }
  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until EOF, error or the 5 s receive timeout. `eof` tells whether the peer closed.
  std::string ReadAll(bool* eof = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        if (eof) *eof = (n == 0);
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
  }
  // Reads until `needle` has been seen `count` times (or EOF/timeout).
  std::string ReadUntil(std::string_view needle, int count = 1) {
    std::string out;
    char buf[4096];
    for (;;) {
      int seen = 0;
      for (size_t pos = out.find(needle); pos != std::string::npos;
           pos = out.find(needle, pos + 1)) {
        ++seen;
      }
      if (seen >= count) return out;
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST(HttpServerTest, RoundTrip) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.bearer_token = "t0k";
  auto client = MakeClient(server->port(), options);
  auto response = client->Send("POST", "/v1/vms?limit=10&name=a%20b", R"({"x":1})");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "text/plain");
  EXPECT_EQ(response->body, "POST /v1/vms limit=10 name=a b\n{\"x\":1}");
  ASSERT_NE(response->Header("server"), nullptr);
  EXPECT_EQ(*response->Header("server"), "govpool");
  ASSERT_NE(response->Header("content-length"), nullptr);
  ASSERT_NE(response->Header("x-echo-auth"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-auth"), "Bearer t0k");
  ASSERT_NE(response->Header("x-echo-content-type"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-content-type"), "application/json");
  ASSERT_NE(response->Header("x-echo-remote"), nullptr);
  EXPECT_EQ(*response->Header("x-echo-remote"), "127.0.0.1");

  // No body: no Content-Type from the client; unknown methods reach the handler as strings.
  response = client->Send("PURGE", "/x");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "PURGE /x\n");
  EXPECT_EQ(response->Header("x-echo-content-type"), nullptr);
  EXPECT_EQ(response->Header("x-echo-auth") ? *response->Header("x-echo-auth") : "", "Bearer t0k");

  server->Stop();
  server->Stop();  // idempotent
}

TEST(HttpServerTest, StartRejectsBadOptions) {
  ServerOptions options;
  options.tls_cert_path = "/nonexistent/cert.pem";
  options.tls_key_path = "/nonexistent/key.pem";
  auto server = HttpServer::Start(options, EchoHandler);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);

  options = {};
  options.tls_cert_path = "/only/cert.pem";
  EXPECT_EQ(HttpServer::Start(options, EchoHandler).status().code(),
            StatusCode::kInvalidArgument);

  // Port already in use → Unavailable.
  auto first = StartServer(EchoHandler);
  ASSERT_NE(first, nullptr);
  options = {};
  options.port = first->port();
  auto second = HttpServer::Start(options, EchoHandler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

TEST(HttpClientTest, CreateRejectsMalformedUrls) {
  for (const char* url : {"", "ftp://x:1", "http://", "http://host:99999", "http://host:1/path",
                          "http://host:x", "http://[::1"}) {
    ClientOptions options;
    options.base_url = url;
    auto client = HttpClient::Create(options);
    EXPECT_FALSE(client.ok()) << url;
    if (!client.ok()) {
      EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << url;
    }
  }
  for (const char* url : {"http://127.0.0.1:8080", "https://example.com", "http://[::1]:80/"}) {
    ClientOptions options;
    options.base_url = url;
    EXPECT_TRUE(HttpClient::Create(options).ok()) << url;
  }
}

TEST(HttpServerTest, KeepAliveReusesOneConnection) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  for (int i = 0; i < 200; ++i) {
    auto response = client->Send("GET", "/n?i=" + std::to_string(i));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    ASSERT_EQ(response->body, "GET /n i=" + std::to_string(i) + "\n");
  }
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  EXPECT_EQ(server->stats().requests, 200u);
}

TEST(HttpServerTest, ConcurrentClients) {
  ServerOptions options;
  options.threads = 4;
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 64;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = MakeClient(server->port());
      if (!client) return;
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = std::to_string(c) + ":" + std::to_string(i);
        auto response = client->Send("PUT", "/c", body);
        if (response.ok() && response->status == 200 && response->body == "PUT /c\n" + body) {
          ok.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(server->stats().connections_accepted, static_cast<std::uint64_t>(kClients));
}

TEST(HttpServerTest, ResponderCalledLaterFromAnotherThread) {
  ParkingHandler parking;
  ServerOptions options;
  options.idle_timeout_ms = 100;  // must not apply while the handler owns the request
  auto server = StartServer(parking.AsHandler(), options);
  ASSERT_NE(server, nullptr);
  std::thread answerer([&] {
    ASSERT_TRUE(parking.WaitFor(1));
    std::this_thread::sleep_for(400ms);
    parking.Take(0)(TextResponse("late", 202));
    parking.Take(0)(TextResponse("twice"));  // ignored: exactly once
  });
  auto client = MakeClient(server->port());
  auto response = client->Send("GET", "/v1/watch");
  answerer.join();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "late");
}

// A handler that never answers (a stalled commit) gets no hold on the connection beyond its
// bound: the server answers 503 with Retry-After, drops the late answer, and the same
// connection serves the next request. Another request asks for more (a long-poll) and gets it.
TEST(HttpServerTest, AHandlerPastItsTimeoutIsAnswered503AndTheConnectionGoesOn) {
  ParkingHandler parking;
  ServerOptions options;
  options.handler_timeout_ms = [](const HttpRequest& request) { return request.path == "/long" ? 60'000 : 200; };
  auto server = StartServer(parking.AsHandler(), options);
  ASSERT_NE(server, nullptr);
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.Send("GET /stalls HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string timed_out = raw.ReadUntil("}}");
  EXPECT_NE(timed_out.find("HTTP/1.1 503"), std::string::npos) << timed_out;
  EXPECT_NE(timed_out.find("Retry-After: 1"), std::string::npos) << timed_out;
  EXPECT_NE(timed_out.find("\"code\":\"UNAVAILABLE\""), std::string::npos) << timed_out;
  EXPECT_EQ(server->stats().handler_timeouts, 1u);
  ASSERT_TRUE(parking.WaitFor(1));
  parking.Take(0)(TextResponse("too late"));  // dropped: the client had its answer

  // The same connection: a long-poll is not cut at 200 ms; its answer is the handler's.
  ASSERT_TRUE(raw.Send("GET /long HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(parking.WaitFor(2));
  std::this_thread::sleep_for(500ms);
  parking.Take(1)(TextResponse("in time"));
  const std::string answered = raw.ReadUntil("in time");
  EXPECT_NE(answered.find("HTTP/1.1 200"), std::string::npos) << answered;
  EXPECT_EQ(answered.find("too late"), std::string::npos) << answered;
  EXPECT_EQ(server->stats().handler_timeouts, 1u);
}

TEST(HttpServerTest, ResponderAfterClientDisconnectAndAfterStop) {
  ParkingHandler parking;
  auto server = StartServer(parking.AsHandler());
  ASSERT_NE(server, nullptr);
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(parking.WaitFor(1));
  }  // client gone
  std::thread([&] { parking.Take(0)(TextResponse("nobody listens")); }).join();

  // The server still serves.
  {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(parking.WaitFor(2));
    parking.Take(1)(TextResponse("hello"));
    EXPECT_NE(raw.ReadUntil("hello").find("200 OK"), std::string::npos);
  }

  // A request outstanding across Stop() and the server's destruction: answering later is safe.
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.Send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(parking.WaitFor(3));
  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);  // does not wait for the long-poll
  server.reset();
  Responder late = parking.Take(2);
  parking.Clear();
  std::thread([late] { late(TextResponse("after stop")); }).join();
}

TEST(HttpServerTest, HandlerThatDropsOrThrowsGets500) {
  // With a handler deadline too: a dropped Responder is answered at once, not at the deadline.
  ServerOptions options;
  options.handler_timeout_ms = [](const HttpRequest&) { return 60'000; };
  auto server = StartServer(
      [](HttpRequest request, Responder respond) {
        if (request.path == "/throw") throw std::runtime_error("boom");
        if (request.path == "/drop") return;  // Responder destroyed unanswered
        respond(TextResponse("fine"));
      },
      options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  auto response = client->Send("GET", "/throw");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 500);
  const auto dropped_at = std::chrono::steady_clock::now();
  response = client->Send("GET", "/drop");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - dropped_at, 20s) << "not held until the 60 s deadline";
  EXPECT_EQ(server->stats().handler_timeouts, 0u);
  EXPECT_NE(response->body.find("\"code\":\"INTERNAL\""), std::string::npos);
  response = client->Send("GET", "/ok");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "fine");
}

TEST(HttpServerTest, OversizeBodyIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  auto response = client->Send("POST", "/v1/vms", std::string(1025, 'x'));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(response->body,
            R"({"error":{"code":"PAYLOAD_TOO_LARGE","message":"request body exceeds 1024 bytes","details":{}}})");
  // A body at the limit passes; the client reconnected after the server closed.
  response = client->Send("POST", "/v1/vms", std::string(1024, 'y'));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);

  // A huge declared Content-Length is refused from the header alone, before any body.
  RawConnection raw(server->port());
  ASSERT_TRUE(raw.Send("POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n"));
  std::string reply = raw.ReadAll();
  EXPECT_NE(reply.find("HTTP/1.1 413"), std::string::npos) << reply;

  // Chunked bodies are counted as they arrive.
  RawConnection chunked(server->port());
  std::string request = "POST /v1/vms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'z') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(chunked.Send(request));
  reply = chunked.ReadAll();
  EXPECT_NE(reply.find("HTTP/1.1 413"), std::string::npos) << reply;
  EXPECT_NE(reply.find("PAYLOAD_TOO_LARGE"), std::string::npos) << reply;
}

TEST(HttpServerTest, LargeRefusedBodyStillGets413) {
  // The client is still writing 2 MiB when the server answers from the header alone; the
  // server drains instead of resetting, so the client reads the 413 rather than an error.
  auto server = StartServer(EchoHandler);  // default limit: 1 MiB
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  auto response = client->Send("PUT", "/big", std::string(2 * 1024 * 1024, 'x'));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  EXPECT_NE(response->body.find("request body exceeds 1048576 bytes"), std::string::npos);
}

TEST(HttpServerTest, ExpectContinue) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  RawConnection raw(server->port());
  raw.Send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(raw.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  raw.Send("hello");
  EXPECT_NE(raw.ReadUntil("POST /e\nhello").find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(HttpServerTest, OversizeHeaderIs431) {
  ServerOptions options;
  options.max_header_bytes = 4096;
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  auto response = client->Send("GET", "/", {}, {{"X-Big", std::string(8192, 'h')}});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->body,
            R"({"error":{"code":"HEADERS_TOO_LARGE","message":"request headers exceed 4096 bytes","details":{}}})");
  response = client->Send("GET", "/small");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServerTest, GarbageIs400AndServerKeepsServing) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 16),
      "GET / HTTP/9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "G@T / HTTP/1.1\r\n\r\n",
  };
  for (const std::string& bytes : garbage) {
    RawConnection raw(server->port());
    ASSERT_TRUE(raw.connected());
    raw.Send(bytes);
    bool eof = false;
    const std::string reply = raw.ReadAll(&eof);
    EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos) << bytes << " → " << reply;
    EXPECT_NE(reply.find(R"({"error":{"code":"MALFORMED_REQUEST")"), std::string::npos) << reply;
    EXPECT_TRUE(eof);
  }
  // A well-framed request with a bad target gets 400 and the connection stays usable.
  RawConnection raw(server->port());
  raw.Send("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string reply = raw.ReadUntil("GET /ok");
  EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("malformed request target"), std::string::npos) << reply;
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;

  auto client = MakeClient(server->port());
  auto response = client->Send("GET", "/still/alive");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServerTest, PipelinedRequestsAnsweredInOrderAndConnectionCloseHonoured) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  RawConnection raw(server->port());
  raw.Send(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  bool eof = false;
  const std::string reply = raw.ReadAll(&eof);
  EXPECT_TRUE(eof);  // closed after the third response, without waiting for the idle timeout
  const size_t one = reply.find("GET /one");
  const size_t two = reply.find("POST /two\nabc");
  const size_t three = reply.find("GET /three");
  ASSERT_NE(one, std::string::npos) << reply;
  ASSERT_NE(two, std::string::npos) << reply;
  ASSERT_NE(three, std::string::npos) << reply;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
}

TEST(HttpServerTest, HeadHasLengthButNoBody) {
  auto server = StartServer(EchoHandler);
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->port());
  auto response = client->Send("HEAD", "/h");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "");
  ASSERT_NE(response->Header("content-length"), nullptr);
  EXPECT_EQ(*response->Header("content-length"), "8");  // "HEAD /h\n"
  response = client->Send("GET", "/after-head");  // the connection is still in sync
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "GET /after-head\n");
}

TEST(HttpServerTest, IdleAndReadTimeoutsClose) {
  ServerOptions options;
  options.idle_timeout_ms = 200;
  options.read_timeout_ms = 300;
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  {  // nothing sent: closed after the idle timeout
    RawConnection raw(server->port());
    const auto start = std::chrono::steady_clock::now();
    bool eof = false;
    EXPECT_EQ(raw.ReadAll(&eof), "");
    EXPECT_TRUE(eof);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  }
  {  // a request that never completes: closed after the read timeout
    RawConnection raw(server->port());
    raw.Send("GET /slow HTTP/1.1\r\nHost:");
    bool eof = false;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(raw.ReadAll(&eof), "");
    EXPECT_TRUE(eof);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  }
  {  // keep-alive connection after a response: closed after the idle timeout
    RawConnection raw(server->port());
    raw.Send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n");
    bool eof = false;
    const std::string reply = raw.ReadAll(&eof);
    EXPECT_NE(reply.find("GET /k"), std::string::npos);
    EXPECT_TRUE(eof);
  }
  // The client notices the stale connection and retries once on a new one.
  auto client = MakeClient(server->port());
  ASSERT_TRUE(client->Send("GET", "/1").ok());
  std::this_thread::sleep_for(500ms);
  auto response = client->Send("GET", "/2");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "GET /2\n");
}

TEST(HttpClientTest, TimeoutIsDeadlineExceeded) {
  ParkingHandler parking;
  auto server = StartServer(parking.AsHandler());
  ASSERT_NE(server, nullptr);
  ClientOptions options;
  options.timeout_ms = 200;
  auto client = MakeClient(server->port(), options);
  const auto start = std::chrono::steady_clock::now();
  auto response = client->Send("GET", "/never");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded)
      << response.status().ToString();
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
  // The client recovers on a new connection.
  std::thread answer([&] {
    ASSERT_TRUE(parking.WaitFor(2));
    parking.Take(1)(TextResponse("now"));
  });
  response = client->Send("GET", "/now");
  answer.join();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "now");
  parking.Take(0)(TextResponse("too late"));
}

TEST(HttpClientTest, DeadPortIsUnavailable) {
  std::uint16_t port = 0;
  {
    auto server = StartServer(EchoHandler);
    ASSERT_NE(server, nullptr);
    port = server->port();
  }  // closed: nothing listens there now
  auto client = MakeClient(port);
  auto response = client->Send("GET", "/");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
}

// A temp directory holding a self-signed certificate for 127.0.0.1 / localhost.
class TlsFiles {
 public:
  TlsFiles() {
    char tmpl[] = "/tmp/govpool_http_test_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        key_ + " -out " + cert_ + " >/dev/null 2>&1";
    ok_ = std::system(command.c_str()) == 0;
  }
  ~TlsFiles() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  bool ok() const { return ok_; }
  const std::string& cert() const { return cert_; }
  const std::string& key() const { return key_; }

 private:
  std::string dir_, cert_, key_;
  bool ok_ = false;
};

// ReloadTls: new connections get the new files; a certificate copied without its key is refused
// and the working pair stays served; plain HTTP has nothing to reload.
TEST(HttpsTest, ReloadTlsServesNewFilesAndRefusesAHalfReplacedPair) {
  TlsFiles old_pair, new_pair;
  if (!old_pair.ok() || !new_pair.ok()) GTEST_SKIP() << "the openssl command is not available";
  TlsFiles served;  // the paths the server reads; starts as a copy of old_pair
  const auto overwrite = std::filesystem::copy_options::overwrite_existing;
  std::filesystem::copy_file(old_pair.cert(), served.cert(), overwrite);
  std::filesystem::copy_file(old_pair.key(), served.key(), overwrite);
  ServerOptions options;
  options.tls_cert_path = served.cert();
  options.tls_key_path = served.key();
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  auto trusting = [&](const TlsFiles& pair) {
    ClientOptions o;
    o.ca_file = pair.cert();
    return MakeClient(server->port(), o, "https");
  };
  ASSERT_TRUE(trusting(old_pair)->Send("GET", "/").ok());

  std::filesystem::copy_file(new_pair.cert(), served.cert(), overwrite);  // the key not yet
  const Status half = server->ReloadTls();
  EXPECT_EQ(half.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(half.message().find("mismatch"), std::string::npos) << half.ToString();
  EXPECT_TRUE(trusting(old_pair)->Send("GET", "/").ok()) << "the working pair stays served";

  std::filesystem::copy_file(new_pair.key(), served.key(), overwrite);
  ASSERT_TRUE(server->ReloadTls().ok());
  EXPECT_TRUE(trusting(new_pair)->Send("GET", "/").ok());
  EXPECT_FALSE(trusting(old_pair)->Send("GET", "/").ok()) << "new connections get the new certificate";

  auto plain = StartServer(EchoHandler);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->ReloadTls().code(), StatusCode::kFailedPrecondition);
}

TEST(HttpsTest, RoundTripWithVerification) {
  TlsFiles files;
  if (!files.ok()) GTEST_SKIP() << "the openssl command is not available";
  ServerOptions options;
  options.tls_cert_path = files.cert();
  options.tls_key_path = files.key();
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);

  ClientOptions verified;
  verified.ca_file = files.cert();
  auto client = MakeClient(server->port(), verified, "https");
  for (int i = 0; i < 20; ++i) {
    auto response = client->Send("POST", "/v1/secure", "body" + std::to_string(i));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->body, "POST /v1/secure\nbody" + std::to_string(i));
  }
  EXPECT_EQ(server->stats().connections_accepted, 1u);

  ClientOptions insecure;
  insecure.insecure_skip_verify = true;
  auto insecure_client = MakeClient(server->port(), insecure, "https");
  auto response = insecure_client->Send("GET", "/x");
  ASSERT_TRUE(response.ok()) << response.status().ToString();

  // Without trusting the self-signed certificate the handshake fails.
  auto untrusting = MakeClient(server->port(), {}, "https");
  response = untrusting->Send("GET", "/x");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);

  // Plain HTTP against the HTTPS port: not served (the server only speaks TLS).
  auto plain = MakeClient(server->port());
  response = plain->Send("GET", "/x");
  EXPECT_TRUE(!response.ok() || response->status != 200);

  // The server still works after those failures.
  response = client->Send("GET", "/again");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "GET /again\n");
}

TEST(HttpsTest, OversizeBodyOverTls) {
  TlsFiles files;
  if (!files.ok()) GTEST_SKIP() << "the openssl command is not available";
  ServerOptions options;
  options.tls_cert_path = files.cert();
  options.tls_key_path = files.key();
  options.max_body_bytes = 100;
  auto server = StartServer(EchoHandler, options);
  ASSERT_NE(server, nullptr);
  ClientOptions client_options;
  client_options.ca_file = files.cert();
  auto client = MakeClient(server->port(), client_options, "https");
  auto response = client->Send("POST", "/big", std::string(101, 'b'));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  response = client->Send("POST", "/big", std::string(256 * 1024, 'b'));  // still being sent
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  response = client->Send("POST", "/small", "ok");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
}

}  // namespace
}  // namespace govpool::api

namespace govpool::api {
namespace {

// Idle sockets cannot lock others out: above a connection limit the connection that has waited
// longest for a request is closed to make room; a busy one (its request being handled) never.
TEST(HttpServerLimitsTest, IdleConnectionsMakeRoomForNewOnes) {
  ParkingHandler parking;
  ServerOptions options;
  options.max_connections_per_address = 3;
  auto server = StartServer(parking.AsHandler(), options);
  ASSERT_NE(server, nullptr);
  // One connection busy with a long-poll, then two idle ones (the older one first).
  RawConnection busy(server->port());
  ASSERT_TRUE(busy.Send("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(parking.WaitFor(1));
  RawConnection idle_old(server->port());
  ASSERT_TRUE(idle_old.connected());
  std::this_thread::sleep_for(20ms);
  RawConnection idle_new(server->port());
  ASSERT_TRUE(idle_new.connected());
  for (int i = 0; i < 100 && server->stats().active_connections < 3; ++i) std::this_thread::sleep_for(10ms);

  // A fourth: the older idle one goes; the newcomer is served.
  RawConnection newcomer(server->port());
  ASSERT_TRUE(newcomer.Send("GET /new HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(parking.WaitFor(2));
  parking.Take(1)(TextResponse("served"));
  EXPECT_NE(newcomer.ReadUntil("served").find("200 OK"), std::string::npos);
  bool eof = false;
  idle_old.ReadAll(&eof);
  EXPECT_TRUE(eof) << "the connection that waited longest was closed";
  EXPECT_EQ(server->stats().connections_evicted, 1u);
  // The long-poll is still there and answers.
  parking.Take(0)(TextResponse("still here"));
  EXPECT_NE(busy.ReadUntil("still here").find("200 OK"), std::string::npos);
}

TEST(HttpServerLimitsTest, WhenEveryConnectionIsBusyANewcomerIsRefused) {
  ParkingHandler parking;
  ServerOptions options;
  options.max_connections = 2;
  auto server = StartServer(parking.AsHandler(), options);
  ASSERT_NE(server, nullptr);
  RawConnection a(server->port()), b(server->port());
  ASSERT_TRUE(a.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.Send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(parking.WaitFor(2));
  RawConnection refused(server->port());
  refused.Send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  bool eof = false;
  EXPECT_EQ(refused.ReadAll(&eof), "");
  EXPECT_EQ(server->stats().connections_refused, 1u);
  // Once one is answered and the client goes, there is room again.
  parking.TakePath("/a")(TextResponse("done"));
  EXPECT_NE(a.ReadUntil("done").find("200 OK"), std::string::npos);
  a.Close();
  for (int i = 0; i < 100 && server->stats().active_connections > 1; ++i) std::this_thread::sleep_for(10ms);
  auto client = MakeClient(server->port());
  std::thread answer([&] {
    ASSERT_TRUE(parking.WaitFor(3));
    parking.Take(2)(TextResponse("room"));
  });
  auto response = client->Send("GET", "/d");
  answer.join();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "room");
  parking.TakePath("/b")(TextResponse("bye"));
}

}  // namespace
}  // namespace govpool::api
