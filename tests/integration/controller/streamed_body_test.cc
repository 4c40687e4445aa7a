// Streamed request and response bodies (api/http_stream.h) end to end, in process: Db on
// SQLite in a temp directory, ApiHandler with test upload and download routes, HttpServer with
// ApiHandler::StartUpload as its UploadDispatcher, and the HttpClient's Upload/Download.
// In process so that the sink's calls can be checked directly and the RSS measured.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/client/http_client.h"
#include "api/errors.h"
#include "api/http_stream.h"
#include "common/clock.h"
#include "controller/db.h"
#include "controller/http/api_handler.h"
#include "api/server/http_server.h"
#include "controller/metrics.h"
#include "controller/services/services.h"
#include "controller/store/sqlite_state_store.h"

namespace govpool::testing {
namespace {

using namespace std::chrono_literals;
using api::HttpResponse;
using controller::http::RouteContext;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kSmallLimit = 1 * kMiB;  // the /test/small-upload route's maximum

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest, &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Deterministic pseudo-random bytes (splitmix64), generated chunk by chunk: the same seed
// gives the same stream whatever the chunk sizes.
class Generator {
 public:
  Generator(std::uint64_t seed, std::uint64_t length) : state_(seed), left_(length) {}
  std::size_t Fill(char* buf, std::size_t n) {
    std::size_t written = 0;
    while (written < n && left_ > 0) {
      if (have_ == 0) {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        word_ = z ^ (z >> 31);
        have_ = 8;
      }
      buf[written++] = static_cast<char>(word_ & 0xff);
      word_ >>= 8;
      --have_;
      --left_;
    }
    return written;
  }
  std::uint64_t left() const { return left_; }

 private:
  std::uint64_t state_;
  std::uint64_t left_;
  std::uint64_t word_ = 0;
  int have_ = 0;
};

std::string Sha256Of(std::uint64_t seed, std::uint64_t length) {
  Generator g(seed, length);
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  while (std::size_t n = g.Fill(buf.data(), buf.size())) sha.Update({buf.data(), n});
  return sha.Hex();
}

// What the test sinks saw, shared by all of them.
struct SinkLog {
  std::mutex mu;
  int created = 0;
  int finished = 0;
  int aborted = 0;
  Status abort_status;
  std::uint64_t bytes = 0;  // of the last sink
  std::string sha256;       // of the last finished sink
  std::size_t largest_write = 0;

  int Aborted() {
    std::lock_guard<std::mutex> lock(mu);
    return aborted;
  }
};

class HashingSink : public api::BodySink {
 public:
  explicit HashingSink(SinkLog& log) : log_(log) {
    std::lock_guard<std::mutex> lock(log_.mu);
    ++log_.created;
    log_.bytes = 0;
  }
  Status Write(std::string_view chunk) override {
    sha_.Update(chunk);
    std::lock_guard<std::mutex> lock(log_.mu);
    log_.bytes += chunk.size();
    log_.largest_write = std::max(log_.largest_write, chunk.size());
    return OkStatus();
  }
  Result<HttpResponse> Finish() override {
    std::string hex = sha_.Hex();
    std::uint64_t bytes = 0;
    {
      std::lock_guard<std::mutex> lock(log_.mu);
      ++log_.finished;
      log_.sha256 = hex;
      bytes = log_.bytes;
    }
    return api::JsonResponse(200, "{\"bytes\":" + std::to_string(bytes) + ",\"sha256\":\"" + hex +
                                      "\"}");
  }
  void Abort(Status why) override {
    std::lock_guard<std::mutex> lock(log_.mu);
    ++log_.aborted;
    log_.abort_status = std::move(why);
  }

 private:
  SinkLog& log_;
  Sha256 sha_;
};

class GeneratedSource : public api::BodySource {
 public:
  GeneratedSource(std::uint64_t seed, std::uint64_t length, bool known_length)
      : gen_(seed, length), length_(length), known_length_(known_length) {}
  Result<std::size_t> Read(char* buf, std::size_t n) override { return gen_.Fill(buf, n); }
  std::optional<std::uint64_t> content_length() const override {
    return known_length_ ? std::optional<std::uint64_t>(length_) : std::nullopt;
  }

 private:
  Generator gen_;
  std::uint64_t length_;
  bool known_length_;
};

std::uint64_t RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// Samples the process's peak RSS on a thread while alive.
class RssSampler {
 public:
  RssSampler() : peak_(RssKiB()), thread_([this] {
    while (!stop_) {
      const std::uint64_t now = RssKiB();
      std::uint64_t seen = peak_.load();
      while (now > seen && !peak_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(5ms);
    }
  }) {}
  ~RssSampler() { Stop(); }
  std::uint64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> peak_;
  std::thread thread_;
};

class StreamedBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("govpool-stream-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto store = controller::SqliteStateStore::Open((dir_ / "state.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto db = controller::Db::Open(std::move(store).value(), SystemClock(), [] {
      return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value();
    });
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto boot = db_->Write([](controller::State& s, controller::Txn& t) {
      return controller::BootstrapAdministrators(s, t, /*issue_tokens=*/true, 3600 * 1000);
    });
    ASSERT_TRUE(boot.has_value());
    ASSERT_TRUE(db_->Sync().ok());
    token_ = boot->administrators[0].token;  // the system-admin's

    api_ = std::make_unique<controller::http::ApiHandler>(*db_, metrics_);
    auto& router = api_->router();
    router.AddUpload("PUT", "/test/uploads/{name}", 64ull * 1024 * kMiB,
                     [this](RouteContext& ctx) -> Result<std::unique_ptr<api::BodySink>> {
                       if (ctx.param("name") == "refused") return PermissionDenied("not this one");
                       return std::unique_ptr<api::BodySink>(new HashingSink(log_));
                     });
    router.AddUpload("PUT", "/test/small-upload", kSmallLimit, [this](RouteContext&) {
      return Result<std::unique_ptr<api::BodySink>>(std::make_unique<HashingSink>(log_));
    });
    router.Add("GET", "/test/download", [](RouteContext& ctx) {
      const std::string* size = ctx.request.QueryParam("bytes");
      const std::string* seed = ctx.request.QueryParam("seed");
      HttpResponse response;
      response.content_type = "application/octet-stream";
      response.body_source = std::make_shared<GeneratedSource>(
          std::stoull(*seed), std::stoull(*size), ctx.request.QueryParam("chunked") == nullptr);
      return response;
    });
    router.Add("GET", "/test/echo", [](RouteContext& ctx) {
      return api::JsonResponse(200, "{\"body\":" + std::to_string(ctx.request.body.size()) + "}");
    });
    for (const auto& [method, pattern] : router.Routes()) {
      if (pattern.starts_with("/test/")) api_->AllowTestRoute(method, pattern, {api::Role::kSystemAdmin});
    }

    api::ServerOptions options;
    options.threads = 2;
    options.read_timeout_ms = 10'000;
    auto server = api::HttpServer::Start(
        options,
        [this](api::HttpRequest req, api::Responder respond) {
          api_->Handle(std::move(req), std::move(respond));
        },
        [this](const api::HttpRequest& head) { return api_->StartUpload(head); });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    client_ = Client(token_);
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
    api_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<api::HttpClient> Client(const std::string& token) {
    api::ClientOptions o;
    o.base_url = url_;
    o.bearer_token = token;
    o.timeout_ms = 20'000;
    return std::move(api::HttpClient::Create(o)).value();
  }

  struct UploadOutcome {
    Result<HttpResponse> response = Internal("not run");
    std::uint64_t progress = 0;
    int progress_calls = 0;
  };
  UploadOutcome Upload(api::HttpClient& client, const std::string& target, std::uint64_t seed,
                       std::uint64_t bytes, bool chunked) {
    UploadOutcome out;
    Generator gen(seed, bytes);
    out.response = client.Upload(
        "PUT", target, [&](char* buf, std::size_t n) -> Result<std::size_t> { return gen.Fill(buf, n); },
        chunked ? std::nullopt : std::optional<std::uint64_t>(bytes),
        [&](std::uint64_t sent) {
          out.progress = sent;
          ++out.progress_calls;
        });
    return out;
  }

  // A raw TCP connection, for clients that misbehave.
  int RawConnect() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static void SendAll(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      sent += static_cast<std::size_t>(n);
    }
  }
  static std::string RecvSome(int fd) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<controller::Db> db_;
  controller::ControllerMetrics metrics_;
  std::unique_ptr<controller::http::ApiHandler> api_;
  std::unique_ptr<api::HttpServer> server_;
  std::string url_;
  std::string token_;
  std::unique_ptr<api::HttpClient> client_;
  SinkLog log_;
};

TEST_F(StreamedBodyTest, UploadWithContentLengthStreamsEveryByteInBoundedMemory) {
  // Warm up (threads, buffers, allocator) so that the baseline includes them.
  ASSERT_TRUE(Upload(*client_, "/test/uploads/warmup", 1, 4 * kMiB, false).response.ok());

  constexpr std::uint64_t kBytes = 200 * kMiB;
  const std::string want = Sha256Of(42, kBytes);
  RssSampler rss;
  const std::uint64_t before_kib = RssKiB();
  UploadOutcome out = Upload(*client_, "/test/uploads/disk.qcow2", 42, kBytes, false);
  const std::uint64_t peak_kib = rss.Stop();

  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 200) << out.response->body;
  EXPECT_EQ(out.response->body,
            "{\"bytes\":" + std::to_string(kBytes) + ",\"sha256\":\"" + want + "\"}");
  EXPECT_EQ(out.progress, kBytes);
  EXPECT_GE(out.progress_calls, static_cast<int>(kBytes / api::kStreamChunkBytes));
  std::lock_guard<std::mutex> lock(log_.mu);
  EXPECT_EQ(log_.bytes, kBytes);
  EXPECT_EQ(log_.sha256, want);
  EXPECT_EQ(log_.aborted, 0);
  EXPECT_LE(log_.largest_write, api::kStreamBufferBytes);
  // Server and client are in this process: neither held the body.
  EXPECT_LT(peak_kib, before_kib + 8 * 1024) << "RSS grew from " << before_kib << " KiB to "
                                             << peak_kib << " KiB during a 200 MiB upload";
}

TEST_F(StreamedBodyTest, ChunkedUploadStreamsEveryByte) {
  constexpr std::uint64_t kBytes = 20 * kMiB + 12345;
  UploadOutcome out = Upload(*client_, "/test/uploads/chunked", 7, kBytes, true);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 200) << out.response->body;
  const std::string want = Sha256Of(7, kBytes);
  EXPECT_EQ(out.response->body,
            "{\"bytes\":" + std::to_string(kBytes) + ",\"sha256\":\"" + want + "\"}");
  // The connection stays usable after a streamed body.
  auto again = client_->Send("GET", "/test/echo", "{}");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(again->body, "{\"body\":2}");
}

TEST_F(StreamedBodyTest, EmptyUploadFinishes) {
  UploadOutcome out = Upload(*client_, "/test/uploads/empty", 1, 0, false);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 200) << out.response->body;
  EXPECT_EQ(log_.finished, 1);
}

TEST_F(StreamedBodyTest, OverLimitWithContentLengthIsRefusedBeforeTheBody) {
  UploadOutcome out = Upload(*client_, "/test/small-upload", 3, kSmallLimit + 1, false);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 413) << out.response->body;
  EXPECT_NE(out.response->body.find("PAYLOAD_TOO_LARGE"), std::string::npos) << out.response->body;
  EXPECT_EQ(out.progress, 0u);  // Expect: 100-continue: no body byte was sent
  std::lock_guard<std::mutex> lock(log_.mu);
  EXPECT_EQ(log_.aborted, 1);
  EXPECT_EQ(log_.abort_status.reason(), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(log_.finished, 0);
}

TEST_F(StreamedBodyTest, OverLimitChunkedIsCutOffWith413) {
  UploadOutcome out = Upload(*client_, "/test/small-upload", 3, 8 * kMiB, true);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 413) << out.response->body;
  EXPECT_NE(out.response->body.find("PAYLOAD_TOO_LARGE"), std::string::npos) << out.response->body;
  EXPECT_LT(out.progress, 8 * kMiB);  // the client stopped when the answer came
  std::lock_guard<std::mutex> lock(log_.mu);
  EXPECT_EQ(log_.aborted, 1);
  EXPECT_EQ(log_.abort_status.reason(), "PAYLOAD_TOO_LARGE");
  EXPECT_LE(log_.bytes, kSmallLimit);
  EXPECT_EQ(log_.finished, 0);
}

TEST_F(StreamedBodyTest, UnauthenticatedUploadGets401WithoutReadingTheBody) {
  auto anonymous = Client("");
  UploadOutcome out = Upload(*anonymous, "/test/uploads/x", 5, 50 * kMiB, false);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 401) << out.response->body;
  EXPECT_EQ(out.progress, 0u);
  EXPECT_EQ(log_.created, 0);

  // A route's own refusal, the same way.
  out = Upload(*client_, "/test/uploads/refused", 5, 50 * kMiB, false);
  ASSERT_TRUE(out.response.ok()) << out.response.status().ToString();
  EXPECT_EQ(out.response->status, 403) << out.response->body;
  EXPECT_EQ(out.progress, 0u);

  // Without Expect: 100-continue the answer still comes right after the headers: the server
  // does not wait for the 100 MiB it was promised (none of which is ever sent).
  const int fd = RawConnect();
  SendAll(fd, "PUT /test/uploads/x HTTP/1.1\r\nHost: t\r\nContent-Length: 104857600\r\n\r\n");
  const std::string answer = RecvSome(fd);
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
  EXPECT_EQ(log_.created, 0);
}

TEST_F(StreamedBodyTest, ClientDisconnectMidUploadAbortsTheSink) {
  const int fd = RawConnect();
  SendAll(fd, "PUT /test/uploads/cut HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token_ +
                  "\r\nContent-Length: 104857600\r\n\r\n");
  SendAll(fd, std::string(3 * kMiB, 'x'));
  ASSERT_TRUE([&] {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard<std::mutex> lock(log_.mu);
        if (log_.bytes == 3 * kMiB) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }()) << "the sink did not see the first 3 MiB";
  ::close(fd);
  for (int i = 0; i < 1000 && log_.Aborted() == 0; ++i) std::this_thread::sleep_for(10ms);
  std::lock_guard<std::mutex> lock(log_.mu);
  EXPECT_EQ(log_.aborted, 1);
  EXPECT_EQ(log_.abort_status.code(), StatusCode::kUnavailable) << log_.abort_status.ToString();
  EXPECT_EQ(log_.finished, 0);
}

TEST_F(StreamedBodyTest, DownloadStreamsTheBodyBack) {
  constexpr std::uint64_t kBytes = 200 * kMiB;
  const std::string want = Sha256Of(99, kBytes);
  Sha256 sha;
  std::uint64_t got = 0;
  std::size_t largest = 0;
  RssSampler rss;
  const std::uint64_t before_kib = RssKiB();
  auto response = client_->Download("/test/download?seed=99&bytes=" + std::to_string(kBytes),
                                    [&](std::string_view chunk) {
                                      sha.Update(chunk);
                                      got += chunk.size();
                                      largest = std::max(largest, chunk.size());
                                      return OkStatus();
                                    });
  const std::uint64_t peak_kib = rss.Stop();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  ASSERT_NE(response->Header("Content-Length"), nullptr);
  EXPECT_EQ(*response->Header("Content-Length"), std::to_string(kBytes));
  EXPECT_EQ(response->content_type, "application/octet-stream");
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(got, kBytes);
  EXPECT_EQ(sha.Hex(), want);
  EXPECT_LE(largest, api::kStreamChunkBytes);
  EXPECT_LT(peak_kib, before_kib + 8 * 1024) << "RSS grew from " << before_kib << " KiB to "
                                             << peak_kib << " KiB during a 200 MiB download";
}

TEST_F(StreamedBodyTest, DownloadWithoutLengthIsChunkedAndErrorsComeWhole) {
  constexpr std::uint64_t kBytes = 5 * kMiB + 3;
  Sha256 sha;
  std::uint64_t got = 0;
  auto response = client_->Download(
      "/test/download?chunked=1&seed=5&bytes=" + std::to_string(kBytes), [&](std::string_view c) {
        sha.Update(c);
        got += c.size();
        return OkStatus();
      });
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  ASSERT_NE(response->Header("Transfer-Encoding"), nullptr);
  EXPECT_EQ(got, kBytes);
  EXPECT_EQ(sha.Hex(), Sha256Of(5, kBytes));

  // A sink's error stops the download.
  auto stopped = client_->Download("/test/download?seed=5&bytes=" + std::to_string(kBytes),
                                   [](std::string_view) { return Unavailable("disk full"); });
  EXPECT_EQ(stopped.status().ToString(), Unavailable("disk full").ToString());

  // An error answer is not streamed: it comes back whole, JSON.
  got = 0;
  auto missing = client_->Download("/test/nothing-here", [&](std::string_view c) {
    got += c.size();
    return OkStatus();
  });
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("ROUTE_NOT_FOUND"), std::string::npos) << missing->body;
  EXPECT_EQ(got, 0u);
}

}  // namespace
}  // namespace govpool::testing
