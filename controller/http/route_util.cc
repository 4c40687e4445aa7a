#include "controller/http/route_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <charconv>

#include "api/codec.h"
#include "common/crypto.h"
#include "common/ids.h"

namespace govpool::controller::http {

Status CheckQuery(const api::HttpRequest& req, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : req.query) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      return InvalidArgument("unknown query parameter '" + key + "'").WithDetail("field", key);
    }
  }
  return OkStatus();
}

Result<ListOptions> ParseListOptions(const api::HttpRequest& req) {
  ListOptions o;
  if (const std::string* limit = req.QueryParam("limit")) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc() || p != limit->data() + limit->size() || v < 1 || v > 1000) {
      return InvalidArgument("limit must be an integer from 1 to 1000").WithDetail("field", "limit");
    }
    o.limit = v;
  }
  if (const std::string* token = req.QueryParam("page_token")) {
    if (!token->empty() && !IsUuid(*token)) {
      return InvalidArgument("page_token is not one this server issued").WithDetail("field", "page_token");
    }
    o.page_token = *token;
  }
  return o;
}

Result<std::optional<std::int64_t>> ParseIfMatch(const api::HttpRequest& req) {
  const std::string* h = req.Header("If-Match");
  if (!h) return std::optional<std::int64_t>();
  std::string_view v = *h;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::int64_t rev = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), rev);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || rev < 0) {
    return InvalidArgument("If-Match must be an object revision, e.g. If-Match: \"12\"")
        .WithDetail("field", "If-Match");
  }
  return std::optional<std::int64_t>(rev);
}

Status CheckId(const std::string& id, const std::string& what) {
  if (IsUuid(id)) return OkStatus();
  return NotFound(what + " " + id + " not found (ids are UUIDs)");
}

api::HttpResponse NoContent() {
  api::HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

api::HttpResponse WriteIdempotent(RouteContext& ctx,
                                  const std::function<api::HttpResponse(State&, Txn&)>& fn) {
  const std::string* key = ctx.request.Header("Idempotency-Key");
  if (!key) return ctx.db.Write([&](State& s, Txn& t) { return fn(s, t); });
  if (key->empty() || key->size() > 255) {
    return api::ErrorResponse(InvalidArgument("Idempotency-Key must be 1 to 255 characters")
                                  .WithDetail("field", "Idempotency-Key"));
  }
  const std::string record_id = Sha256Hex(ctx.caller.user_id + "\n" + *key);
  const std::string request_hash =
      Sha256Hex(ctx.request.method + " " + ctx.request.path + "\n" + ctx.request.body);
  return ctx.db.Write([&](State& s, Txn& t) -> api::HttpResponse {
    if (const IdempotencyRecord* r = s.FindIdempotency(record_id)) {
      if (r->request_hash != request_hash) {
        return api::ErrorResponse(
            InvalidArgument("Idempotency-Key '" + *key + "' was already used with a different request")
                .WithReason("IDEMPOTENCY_KEY_REUSED"));
      }
      api::HttpResponse replay = api::JsonResponse(static_cast<int>(r->status), r->body);
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      return replay;
    }
    api::HttpResponse response = fn(s, t);
    if (response.status >= 200 && response.status < 300) {
      IdempotencyRecord record{record_id, request_hash, response.status, response.body, t.now_ms()};
      s.Save(t, record);
    }
    return response;
  });
}

namespace {

class FileSource final : public api::BodySource {
 public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  Result<std::size_t> Read(char* buf, std::size_t n) override {
    for (;;) {
      const ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) return Internal(std::string("reading the response body's file: ") + std::strerror(errno));
    }
  }
  std::optional<std::uint64_t> content_length() const override { return size_; }

 private:
  int fd_;
  std::uint64_t size_;
};

}  // namespace

std::shared_ptr<api::BodySource> FileBodySource(int fd, std::uint64_t size) {
  return std::make_shared<FileSource>(fd, size);
}

}  // namespace govpool::controller::http
