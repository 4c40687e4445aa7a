// govpoolctl image ...: bootable images (public ones from admins, private ones per department).
// An image is created `queued`; its data is then uploaded (`image upload`: PUT
// /v1/images/{id}/data, streamed from the file through one fixed buffer, progress on stderr)
// and imported by a storage agent into its pool (`image wait` follows it until available).
// `show`, `upload` and `wait` ask the server for an image by name (it looks in the caller's
// department, then among public images) and fall back to the list of visible images; deletes
// and verify take the id, so names are resolved here.
#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/progress.h"

namespace govpool::cli {
namespace {

// Bytes as MiB, rounded up ("" when 0: nothing uploaded yet).
std::string Mib(std::int64_t bytes) {
  if (bytes <= 0) return "";
  return std::to_string((bytes + 1024 * 1024 - 1) / (1024 * 1024));
}

std::vector<Column<api::Image>> ImageColumns(Context& ctx) {
  using I = api::Image;
  return {
      {"ID", [](const I& i) { return i.meta.id; }},
      {"NAME", [](const I& i) { return i.name; }},
      {"DEPARTMENT", [&ctx](const I& i) { return ctx.DepartmentName(i.department_id); }},
      {"DEPARTMENT_ID", [](const I& i) { return i.department_id; }, true},
      {"VISIBILITY", [](const I& i) { return std::string(api::ToString(i.visibility)); }},
      {"FORMAT", [](const I& i) { return std::string(api::ToString(i.format)); }},
      {"SIZE_MIB", [](const I& i) { return Mib(i.size_bytes); }},
      {"POOL", [&ctx](const I& i) { return ctx.StoragePoolName(i.pool_id); }},
      {"POOL_ID", [](const I& i) { return i.pool_id; }, true},
      {"STATE", [](const I& i) { return std::string(api::ToString(i.state)); }},
      {"HOST", [&ctx](const I& i) { return ctx.HostName(i.host_id); }, true},
      {"SHA256", [](const I& i) { return i.sha256; }, true},
  };
}

// The image `ref` names. The server resolves a name within the caller's department, then among
// public images; a name it does not find (an admin naming a department's private image) is
// looked up in the list of images the caller can see.
Result<api::Image> GetImage(Context& ctx, const std::string& ref) {
  Result<api::Image> got = ctx.Retried([&] { return ctx.api().GetImage(ref); });
  if (got.ok() || IsUuid(ref) || got.status().code() != StatusCode::kNotFound) return got;
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ImageId(ref));
  return ctx.Retried([&] { return ctx.api().GetImage(id); });
}

// A file opened for reading, closed when it goes.
class InputFile {
 public:
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  // A regular file (its size is sent as the upload's Content-Length); a usage error otherwise.
  static Result<std::unique_ptr<InputFile>> Open(const std::string& path) {
    auto f = std::unique_ptr<InputFile>(new InputFile(path));
    f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f->fd_ < 0) return UsageError("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(f->fd_, &st) != 0) return UsageError("cannot stat " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return UsageError(path + " is not a regular file");
    f->size_ = static_cast<std::uint64_t>(st.st_size);
    return f;
  }
  std::uint64_t size() const { return size_; }
  // Starts with qcow2's magic "QFI\xfb" (read without moving the offset).
  bool LooksQcow2() const {
    char magic[4];
    return ::pread(fd_, magic, sizeof magic, 0) == 4 && std::memcmp(magic, "QFI\xfb", 4) == 0;
  }
  // The next bytes (0 at the end); the upload's BodyReader.
  Result<std::size_t> Read(char* buf, std::size_t n) {
    for (;;) {
      ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) return Internal("reading " + path_ + ": " + std::strerror(errno));
    }
  }

 private:
  explicit InputFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The last part of a path, for progress lines.
std::string BaseName(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A qcow2 image needs a qcow2 file (the agent's conversion would fail); a raw image of a file
// that looks like qcow2 is allowed (a disk may hold anything) with a warning.
Status CheckFormat(Context& ctx, const InputFile& file, const std::string& path,
                   api::ImageFormat format, const std::string& name) {
  const bool qcow2 = file.LooksQcow2();
  if (format == api::ImageFormat::kQcow2 && !qcow2) {
    return UsageError(path + " is not a qcow2 file (no QFI\\xfb header) but image " + name +
                      " is qcow2; use a raw image for it (image create --format raw)");
  }
  if (format == api::ImageFormat::kRaw && qcow2) {
    ctx.err() << "warning: " << path << " looks like qcow2 but image " << name
              << " is raw: the guest will see the qcow2 file itself as its disk\n";
  }
  return OkStatus();
}

// Streams `file` into `image` (PUT /v1/images/{id}/data), progress on stderr when `progress`.
// Not retried: the body cannot be sent twice, and the server records an aborted upload.
Result<api::Image> Upload(Context& ctx, const api::Image& image, InputFile& file,
                          const std::string& path, bool progress) {
  GP_RETURN_IF_ERROR(CheckFormat(ctx, file, path, image.format, image.name));
  std::unique_ptr<ProgressLine> line;
  if (progress) {
    line = std::make_unique<ProgressLine>(ctx.err(), "uploading " + BaseName(path), file.size(),
                                          ctx.err_is_terminal(), [&ctx] { return ctx.Now(); });
  }
  Result<api::Image> uploaded = ctx.api().UploadImageData(
      image.meta.id, [&file](char* buf, std::size_t n) { return file.Read(buf, n); }, file.size(),
      [&line](std::uint64_t sent) {
        if (line) line->Update(sent);
      });
  if (line) line->End();
  return uploaded;
}

struct CreateArgs {
  api::CreateImageRequest req;
  std::string department;
  std::optional<api::ImageFormat> format;
  std::string file;
  bool progress = true;
};

Status Create(Context& ctx, CreateArgs args) {
  std::unique_ptr<InputFile> file;
  if (!args.file.empty()) {  // opened first: a wrong path makes no record
    GP_ASSIGN_OR_RETURN(file, InputFile::Open(args.file));
    if (!args.format) {
      args.format = file->LooksQcow2() ? api::ImageFormat::kQcow2 : api::ImageFormat::kRaw;
    } else if (*args.format == api::ImageFormat::kQcow2) {
      GP_RETURN_IF_ERROR(CheckFormat(ctx, *file, args.file, *args.format, args.req.name));
    }
  }
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  }
  if (args.format) args.req.format = *args.format;
  GP_ASSIGN_OR_RETURN(api::Image image, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateImage(args.req, w);
  }));
  if (file) {
    Result<api::Image> uploaded = Upload(ctx, image, *file, args.file, args.progress);
    if (!uploaded.ok()) {
      return uploaded.status().Annotate("image " + image.meta.id +
                                        " was created (queued) but its upload failed (retry with "
                                        "`govpoolctl image upload " + image.meta.id + " FILE`)");
    }
    image = std::move(*uploaded);
  }
  ctx.PrintObject(image);
  return OkStatus();
}

struct UploadArgs {
  std::string ref;
  std::string file;
  bool progress = true;
};

Status UploadCommand(Context& ctx, const UploadArgs& args) {
  GP_ASSIGN_OR_RETURN(std::unique_ptr<InputFile> file, InputFile::Open(args.file));
  GP_ASSIGN_OR_RETURN(api::Image image, GetImage(ctx, args.ref));
  GP_ASSIGN_OR_RETURN(api::Image uploaded, Upload(ctx, image, *file, args.file, args.progress));
  ctx.PrintObject(uploaded);
  return OkStatus();
}

struct WaitArgs {
  std::string ref;
  std::int64_t timeout_s = 0;
  bool progress = true;
};

// Polls the image every second until it is available with its latest verify done (printed),
// in error or being deleted (a failure), or `timeout_s` passed (0: no limit).
Status Wait(Context& ctx, const WaitArgs& args) {
  const auto deadline = ctx.Now() + std::chrono::seconds(args.timeout_s);
  std::optional<api::ImageState> last_state;
  std::unique_ptr<ProgressLine> line;
  std::string id;  // once the first answer named it
  for (;;) {
    Result<api::Image> got = id.empty() ? GetImage(ctx, args.ref)
                                        : ctx.Retried([&] { return ctx.api().GetImage(id); });
    if (!got.ok()) {
      if (line) line->End();
      return got.status();
    }
    const api::Image& image = *got;
    id = image.meta.id;
    // Bytes first: an import that ended between two polls shows its last bytes.
    if (line) line->Update(static_cast<std::uint64_t>(image.imported_bytes));
    if (image.state != last_state) {
      if (line) line->End();
      line.reset();
      last_state = image.state;
      if (args.progress && image.state == api::ImageState::kImporting) {
        // A raw upload is the disk itself; a qcow2 one's disk size is known once converted.
        const std::int64_t total = image.virtual_size_bytes > 0 ? image.virtual_size_bytes
                                   : image.format == api::ImageFormat::kRaw ? image.size_bytes
                                                                            : 0;
        line = std::make_unique<ProgressLine>(ctx.err(), "importing " + image.name,
                                              static_cast<std::uint64_t>(total),
                                              ctx.err_is_terminal(), [&ctx] { return ctx.Now(); });
        line->Update(static_cast<std::uint64_t>(image.imported_bytes));
      } else if (args.progress) {
        ctx.err() << "image " << image.name << ": " << api::ToString(image.state) << "\n";
      }
    }
    const bool verified = image.observed_generation >= image.generation;
    if (image.state == api::ImageState::kAvailable && verified) {
      if (line) line->End();
      ctx.PrintObject(image);
      return OkStatus();
    }
    if (image.state == api::ImageState::kError) {
      if (line) line->End();
      return FailedPrecondition("image " + image.name + " is in state error: " + image.state_reason)
          .WithReason("IMAGE_ERROR");
    }
    if (image.state == api::ImageState::kDeleting || image.state == api::ImageState::kDeleted) {
      if (line) line->End();
      return FailedPrecondition("image " + image.name + " is being deleted").WithReason("IMAGE_DELETING");
    }
    if (args.timeout_s > 0 && ctx.Now() >= deadline) {
      if (line) line->End();
      return DeadlineExceeded("image " + image.name + " is still " +
                              std::string(api::ToString(image.state)) + " after " +
                              std::to_string(args.timeout_s) + " s")
          .WithReason("TIMEOUT");
    }
    ctx.Sleep(std::chrono::seconds(1));
  }
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::Image> items,
                      ctx.ListAll<api::Image>(
                          [&](const api::PageQuery& q) { return ctx.api().ListImages(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, ImageColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(api::Image image, GetImage(ctx, ref));
  ctx.PrintObject(image);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ImageId(ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::Image> image, ctx.api().DeleteImage(id));
  if (ctx.json()) {
    if (image) ctx.PrintObject(*image);
  } else if (image) {
    ctx.out() << "deleting image " << id << " (its storage agent removes it)\n";
  } else {
    ctx.out() << "deleted image " << id << "\n";
  }
  return OkStatus();
}

Status Verify(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ImageId(ref));
  GP_ASSIGN_OR_RETURN(api::Image image, ctx.api().VerifyImage(id));
  if (ctx.json()) {
    ctx.PrintObject(image);
  } else {
    ctx.out() << "verifying image " << id
              << " (its storage agent re-reads it; see verified_at and state in `image show`)\n";
  }
  return OkStatus();
}

}  // namespace

void AddImageCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("image", "bootable images (uploaded, then imported into a storage pool)");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "create an image record (queued until its data is uploaded)")
        .Arg("NAME", &a->req.name, "the image's name")
        .Option("--department", &a->department, "ID|NAME",
                "owning department (default: a public image; admins only)")
        .Choice("--format", &a->format, "the uploaded data's format (default raw)")
        .Option("--pool", &a->req.pool, "ID|NAME", "storage pool (default: the scheduler chooses)")
        .Option("--sha256", &a->req.sha256, "HEX", "expected SHA-256 of the upload; checked when given")
        .Option("--file", &a->file, "FILE",
                "then upload FILE (as `image upload`); --format defaults to what FILE is")
        .Flag("--progress,!--no-progress", &a->progress, "with --file: show the upload's progress on stderr (default)")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  {
    auto a = std::make_shared<UploadArgs>();
    g.AddCommand("upload", "upload an image's data (raw or qcow2) from a file, streamed")
        .Arg("ID|NAME", &a->ref, "the image (queued)")
        .Arg("FILE", &a->file, "the data: a raw disk or a qcow2 file, as the image's format says")
        .Flag("--progress,!--no-progress", &a->progress,
              "show bytes sent, percent and rate on stderr (default): one line redrawn on a "
              "terminal, a line every 10% otherwise")
        .Run([a](Context& ctx) { return UploadCommand(ctx, *a); });
  }
  {
    auto a = std::make_shared<WaitArgs>();
    g.AddCommand("wait", "wait until an image is imported (available), then show it")
        .Arg("ID|NAME", &a->ref, "the image")
        .Option("--timeout", &a->timeout_s, "S", "give up after S seconds (default 0: no limit)", 0,
                api::kMaxInt)
        .Flag("--progress,!--no-progress", &a->progress,
              "show the state and the bytes imported on stderr (default)")
        .Run([a](Context& ctx) { return Wait(ctx, *a); });
  }
  g.AddCommand("list", "list the images you can see (public ones and your department's)").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show an image")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete an image no volume depends on")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("verify", "ask the storage agent to re-read the image and check its hash")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Verify(ctx, *ref); });
  }
}

}  // namespace govpool::cli
