// PUT /v1/images/{id}/data: the image's file, streamed to the staging directory (never held
// in memory) while its SHA-256 is computed; progress is recorded every few seconds, so
// GET /v1/images/{id} shows uploaded_bytes moving. GET /v1/images/{id}/data streams the staged
// file back: the importing agent reads it from there. docs/storage.md, "Images".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "api/codec.h"
#include "api/http_stream.h"
#include "common/crypto.h"
#include "common/log.h"
#include "controller/http/route_util.h"
#include "controller/http/routes.h"

namespace govpool::controller::http {
namespace {

constexpr std::uint64_t kMaxImageBytes = 1ULL << 40;  // 1 TiB
constexpr auto kProgressEvery = std::chrono::seconds(2);

Status ErrnoStatus(const std::string& what) {
  return Internal(what + ": " + std::strerror(errno));
}

// Writes the upload to <id>.part, renames it to <id> once complete and recorded.
class ImageFileSink final : public api::BodySink {
 public:
  ImageFileSink(Db& db, Caller caller, const ImageStaging& staging, std::string id, int fd)
      : db_(db), caller_(std::move(caller)), staging_(staging), id_(std::move(id)), fd_(fd),
        last_progress_(std::chrono::steady_clock::now()) {}
  ~ImageFileSink() override { CloseFd(); }

  Status Write(std::string_view chunk) override {
    for (std::size_t done = 0; done < chunk.size();) {
      const ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing the staged image");
      }
      done += static_cast<std::size_t>(n);
    }
    sha_.Update(chunk);
    bytes_ += static_cast<std::int64_t>(chunk.size());
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ >= kProgressEvery) {
      last_progress_ = now;
      db_.Write([&](State& s, Txn& t) { return RecordImageUploadProgress(s, t, id_, bytes_).status(); })
          .IgnoreError();
    }
    return OkStatus();
  }

  Result<api::HttpResponse> Finish() override {
    if (::fsync(fd_) != 0) {
      Status s = ErrnoStatus("flushing the staged image");
      Abort(s);
      return s;
    }
    CloseFd();
    if (::rename(staging_.PartPath(id_).c_str(), staging_.FilePath(id_).c_str()) != 0) {
      Status s = ErrnoStatus("keeping the staged image");
      Abort(s);
      return s;
    }
    const std::string sha256 = sha_.FinishHex();
    auto image = db_.Write([&](State& s, Txn& t) { return FinishImageUpload(s, t, caller_, id_, bytes_, sha256); });
    if (!image.ok()) {
      std::remove(staging_.FilePath(id_).c_str());
      return image.status();
    }
    log::Info("image upload complete", {{"image_id", id_}, {"bytes", bytes_}});
    return api::JsonResponse(200, api::Encode(*image));
  }

  void Abort(Status why) override {
    CloseFd();
    std::remove(staging_.PartPath(id_).c_str());
    log::Warn("image upload aborted", {{"image_id", id_}, {"bytes", bytes_}, {"reason", why.ToString()}});
    db_.Write([&](State& s, Txn& t) { return FailImageUpload(s, t, id_, why.message()).status(); })
        .IgnoreError();
  }

 private:
  void CloseFd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Db& db_;
  const Caller caller_;
  const ImageStaging& staging_;
  const std::string id_;
  int fd_;
  Sha256Stream sha_;
  std::int64_t bytes_ = 0;
  std::chrono::steady_clock::time_point last_progress_;
};

}  // namespace

void SetImageDataRoutes(Router& r, const ImageStaging& staging) {
  r.AddUpload("PUT", "/v1/images/{id}/data", kMaxImageBytes,
              [&staging](RouteContext& ctx) -> Result<std::unique_ptr<api::BodySink>> {
                const std::string id = ctx.param("id");
                GP_RETURN_IF_ERROR(CheckId(id, "image"));
                GP_RETURN_IF_ERROR(CheckQuery(ctx.request, {}));
                GP_RETURN_IF_ERROR(staging.EnsureDir());
                GP_RETURN_IF_ERROR(ctx.db.Write([&](State& s, Txn& t) {
                  return BeginImageUpload(s, t, ctx.caller, id).status();
                }));
                const int fd = ::open(staging.PartPath(id).c_str(),
                                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0) {
                  Status s = ErrnoStatus("creating the staged image");
                  ctx.db.Write([&](State& st, Txn& t) { return FailImageUpload(st, t, id, s.message()).status(); })
                      .IgnoreError();
                  return s;
                }
                return std::unique_ptr<api::BodySink>(
                    std::make_unique<ImageFileSink>(ctx.db, ctx.caller, staging, id, fd));
              });
  r.Add("GET", "/v1/images/{id}/data", [&staging](RouteContext& ctx) {
    const std::string id = ctx.param("id");
    if (Status s = CheckId(id, "image"); !s.ok()) return api::ErrorResponse(s);
    if (Status s = CheckQuery(ctx.request, {}); !s.ok()) return api::ErrorResponse(s);
    auto image = ctx.db.Read([&](const State& s) { return GetImage(s, ctx.caller, id); });
    if (!image.ok()) return api::ErrorResponse(image.status());
    const int fd = ::open(staging.FilePath(id).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      return api::ErrorResponse(
          FailedPrecondition("image '" + image->name + "' has no staged data (state " +
                             std::string(api::ToString(image->state)) + ")")
              .WithReason("IMAGE_NOT_READY"));
    }
    api::HttpResponse resp;
    resp.status = 200;
    resp.content_type = "application/octet-stream";
    resp.body_source = FileBodySource(fd, static_cast<std::uint64_t>(st.st_size));
    return resp;
  });
}

}  // namespace govpool::controller::http
