#include "agent/drivers/ceph/rbd_block_storage.h"

#include <rados/librados.hpp>
#include <rbd/librbd.hpp>

// Boost.JSON here, outside api/codec.cc: pool usage and the OSD map's pool flags exist only as
// monitor-command output ("df", "osd dump"), and librados gives that as JSON text. The two
// documents are deep and versioned by Ceph, not by govpool, so a hand-written scanner would be
// the fragile choice; only this translation unit parses them.
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <list>
#include <mutex>
#include <utility>

namespace govpool::agent {

struct RbdBlockStorage::Cluster {
  librados::Rados rados;
  bool connected = false;
  ~Cluster() {
    if (connected) rados.shutdown();
  }
};

namespace {

using Cluster = RbdBlockStorage::Cluster;

std::string Spec(const std::string& pool, const std::string& image) { return pool + "/" + image; }
std::string Spec(const std::string& pool, const std::string& image, const std::string& snap) {
  return pool + "/" + image + "@" + snap;
}

Status OpenPool(Cluster& cluster, const std::string& pool, librados::IoCtx* io) {
  const int r = cluster.rados.ioctx_create(pool.c_str(), *io);
  return r < 0 ? ErrnoToStatus(r, "open pool " + pool) : OkStatus();
}

// Opens pool/image (at `snapshot` when not empty, read-only then) into `image`.
Status OpenImageIn(Cluster& cluster, const std::string& pool, const std::string& name,
                   librados::IoCtx* io, librbd::Image* image, const std::string& snapshot = "") {
  GP_RETURN_IF_ERROR(OpenPool(cluster, pool, io));
  librbd::RBD rbd;
  const int r = snapshot.empty() ? rbd.open(*io, *image, name.c_str())
                                 : rbd.open_read_only(*io, *image, name.c_str(), snapshot.c_str());
  if (r < 0) {
    return ErrnoToStatus(r, "rbd open " + (snapshot.empty() ? Spec(pool, name)
                                                             : Spec(pool, name, snapshot)));
  }
  return OkStatus();
}

// Clones of image@snapshot as "pool/image" (clones already in the trash left out).
Result<std::vector<std::string>> ChildrenOf(librbd::Image& image, const std::string& spec,
                                            const std::string& snapshot) {
  int r = image.snap_set(snapshot.c_str());
  if (r < 0) return ErrnoToStatus(r, "rbd snap set " + spec + "@" + snapshot);
  std::vector<librbd::linked_image_spec_t> children;
  r = image.list_children3(&children);
  const int unset = image.snap_set(nullptr);
  if (r < 0) return ErrnoToStatus(r, "rbd children " + spec + "@" + snapshot);
  if (unset < 0) return ErrnoToStatus(unset, "rbd snap unset " + spec);
  std::vector<std::string> names;
  for (const auto& child : children) {
    if (!child.trash) names.push_back(child.pool_name + "/" + child.image_name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// An open image (or, read-only, one of its snapshots) with its own pool context; keeps the
// connection alive.
class RbdImageHandle final : public ImageHandle {
 public:
  RbdImageHandle(std::shared_ptr<Cluster> cluster, std::string spec, bool read_only)
      : cluster_(std::move(cluster)), spec_(std::move(spec)), read_only_(read_only) {}
  ~RbdImageHandle() override { Close().IgnoreError(); }

  librados::IoCtx& io() { return io_; }
  librbd::Image& image() { return image_; }
  // Called once image() was opened: only an open librbd::Image may be flushed or closed.
  void MarkOpen() { closed_ = false; }

  Status Write(std::int64_t offset, std::string_view data) override {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPrecondition("rbd write " + spec_ + ": image handle is closed");
    // librbd says EROFS too, but only once the range is valid; a snapshot refuses any write.
    if (read_only_) return ErrnoToStatus(-EROFS, "rbd write " + spec_);
    GP_RETURN_IF_ERROR(CheckRange("rbd write", offset, static_cast<std::int64_t>(data.size())));
    ceph::bufferlist bl;
    bl.append(data.data(), static_cast<unsigned>(data.size()));
    const ssize_t r = image_.write2(static_cast<std::uint64_t>(offset), data.size(), bl, 0);
    if (r < 0) return ErrnoToStatus(static_cast<int>(r), "rbd write " + spec_);
    if (static_cast<size_t>(r) != data.size()) {
      return Internal("rbd write " + spec_ + ": short write of " + std::to_string(r) + " bytes");
    }
    return OkStatus();
  }

  Status Discard(std::int64_t offset, std::int64_t length) override {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPrecondition("rbd discard " + spec_ + ": image handle is closed");
    if (read_only_) return ErrnoToStatus(-EROFS, "rbd discard " + spec_);
    GP_RETURN_IF_ERROR(CheckRange("rbd discard", offset, length));
    // write_zeroes with no flags is librbd's discard without the granularity: whole objects are
    // removed (or, in a clone, truncated so the parent stops showing through), partial ones
    // zeroed. librbd takes at most INT32_MAX bytes per call.
    constexpr std::int64_t kChunk = std::int64_t{1} << 30;
    for (std::int64_t pos = offset; pos < offset + length;) {
      const std::int64_t n = std::min(kChunk, offset + length - pos);
      const ssize_t r = image_.write_zeroes(static_cast<std::uint64_t>(pos),
                                            static_cast<size_t>(n), /*zero_flags=*/0,
                                            /*op_flags=*/0);
      if (r < 0) {
        return ErrnoToStatus(static_cast<int>(r), "rbd discard " + spec_ + " [" +
                                                      std::to_string(pos) + ", +" +
                                                      std::to_string(n) + ")");
      }
      pos += n;
    }
    return OkStatus();
  }

  Result<std::string> Read(std::int64_t offset, std::int64_t length) override {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPrecondition("rbd read " + spec_ + ": image handle is closed");
    GP_RETURN_IF_ERROR(CheckRange("rbd read", offset, length));
    ceph::bufferlist bl;
    const ssize_t r = image_.read(static_cast<std::uint64_t>(offset),
                                  static_cast<size_t>(length), bl);
    if (r < 0) return ErrnoToStatus(static_cast<int>(r), "rbd read " + spec_);
    return bl.to_str();
  }

  Status Close() override {
    std::lock_guard lock(mu_);
    if (closed_) return OkStatus();
    closed_ = true;
    const int flushed = image_.flush();
    const int closed = image_.close();
    if (flushed < 0) return ErrnoToStatus(flushed, "rbd flush " + spec_);
    if (closed < 0) return ErrnoToStatus(closed, "rbd close " + spec_);
    return OkStatus();
  }

 private:
  // librbd clips I/O at the end of the image (a short count) and refuses it past the end;
  // the contract wants the whole range or an error, so the range is checked first.
  Status CheckRange(const char* op, std::int64_t offset, std::int64_t length) {
    std::uint64_t size = 0;
    const int r = image_.size(&size);
    if (r < 0) return ErrnoToStatus(r, std::string(op) + " " + spec_);
    if (offset < 0 || length < 0 || static_cast<std::uint64_t>(offset + length) > size) {
      return InvalidArgument(std::string(op) + " " + spec_ + ": [" + std::to_string(offset) +
                             ", +" + std::to_string(length) + ") is outside the image's " +
                             std::to_string(size) + " bytes");
    }
    return OkStatus();
  }

  std::shared_ptr<Cluster> cluster_;  // outlives io_ and image_ (declared first)
  std::string spec_;
  bool read_only_;  // a snapshot (open_read_only)
  std::mutex mu_;
  bool closed_ = true;  // until MarkOpen
  librados::IoCtx io_;
  librbd::Image image_;
};

// Finds the member of `array` whose `key` is the string `name`.
const boost::json::object* FindByName(const boost::json::value* array, std::string_view key,
                                      std::string_view name) {
  if (array == nullptr || !array->is_array()) return nullptr;
  for (const auto& v : array->as_array()) {
    if (!v.is_object()) continue;
    const auto* n = v.as_object().if_contains(key);
    if (n != nullptr && n->is_string() && n->as_string() == name) return &v.as_object();
  }
  return nullptr;
}

std::int64_t IntOr0(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

double DoubleOr(const boost::json::object& o, std::string_view key, double fallback) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return fallback;
}

}  // namespace

Status ErrnoToStatus(int err, const std::string& what) {
  if (err >= 0) return OkStatus();
  const int e = -err;
  std::string message = what + ": " + std::strerror(e);
  switch (e) {
    case ENOENT:
      return NotFound(std::move(message));
    case EEXIST:
      return AlreadyExists(std::move(message));
    case EBUSY:
    case ENOTEMPTY:
    case EROFS:
      return FailedPrecondition(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return ResourceExhausted(std::move(message));
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ENOTCONN:
    case ESHUTDOWN:
    case EAGAIN:
      return Unavailable(std::move(message));
    case EPERM:
    case EACCES:
      return PermissionDenied(std::move(message));
    case EINVAL:
    case ERANGE:
    case ENAMETOOLONG:
      return InvalidArgument(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Result<std::unique_ptr<RbdBlockStorage>> RbdBlockStorage::Connect(const RbdOptions& options) {
  if (!options.conf_path.empty() && !std::filesystem::exists(options.conf_path)) {
    return NotFound("ceph connect: no ceph.conf at " + options.conf_path);
  }
  auto cluster = std::make_shared<Cluster>();
  const std::string name = "client." + options.client_id;
  int r = cluster->rados.init2(name.c_str(), "ceph", 0);
  if (r < 0) return ErrnoToStatus(r, "ceph init " + name);
  r = cluster->rados.conf_read_file(options.conf_path.empty() ? nullptr
                                                              : options.conf_path.c_str());
  if (r < 0) return ErrnoToStatus(r, "ceph read conf " + options.conf_path);
  // These options take whole seconds ("secs" in Ceph 16): round up, at least 1.
  const auto seconds = [](std::int64_t ms) {
    return std::to_string(std::max<std::int64_t>(1, (ms + 999) / 1000));
  };
  r = cluster->rados.conf_set("client_mount_timeout",
                              seconds(options.connect_timeout_ms).c_str());
  if (r < 0) return ErrnoToStatus(r, "ceph set client_mount_timeout");
  if (options.op_timeout_ms > 0) {
    for (const char* option : {"rados_mon_op_timeout", "rados_osd_op_timeout"}) {
      r = cluster->rados.conf_set(option, seconds(options.op_timeout_ms).c_str());
      if (r < 0) return ErrnoToStatus(r, std::string("ceph set ") + option);
    }
  }
  r = cluster->rados.connect();
  if (r < 0) return ErrnoToStatus(r, "ceph connect as " + name + " (" + options.conf_path + ")");
  cluster->connected = true;
  return std::unique_ptr<RbdBlockStorage>(new RbdBlockStorage(std::move(cluster)));
}

RbdBlockStorage::RbdBlockStorage(std::shared_ptr<Cluster> cluster)
    : cluster_(std::move(cluster)) {}
RbdBlockStorage::~RbdBlockStorage() = default;

Result<std::string> RbdBlockStorage::MonCommand(const std::string& json_command) {
  ceph::bufferlist in, out;
  std::string status_text;
  const int r = cluster_->rados.mon_command(json_command, in, &out, &status_text);
  if (r < 0) {
    return ErrnoToStatus(r, "ceph mon command " + json_command +
                                (status_text.empty() ? "" : " (" + status_text + ")"));
  }
  return out.to_str();
}

Result<bool> RbdBlockStorage::PoolExists(const std::string& pool) {
  const std::int64_t id = cluster_->rados.pool_lookup(pool.c_str());
  if (id == -ENOENT) return false;
  if (id < 0) return ErrnoToStatus(static_cast<int>(id), "ceph pool lookup " + pool);
  return true;
}

Result<PoolStats> RbdBlockStorage::GetPoolStats(const std::string& pool) {
  GP_ASSIGN_OR_RETURN(std::string dump_text,
                      MonCommand(R"({"prefix":"osd dump","format":"json"})"));
  GP_ASSIGN_OR_RETURN(std::string df_text, MonCommand(R"({"prefix":"df","format":"json"})"));
  boost::system::error_code ec;
  const boost::json::value dump = boost::json::parse(dump_text, ec);
  if (ec || !dump.is_object()) return Internal("ceph osd dump: unparsable JSON output");
  const boost::json::value df = boost::json::parse(df_text, ec);
  if (ec || !df.is_object()) return Internal("ceph df: unparsable JSON output");

  const auto* map_pool = FindByName(dump.as_object().if_contains("pools"), "pool_name", pool);
  if (map_pool == nullptr) return NotFound("ceph pool stats " + pool + ": no such pool");
  const auto* df_pool = FindByName(df.as_object().if_contains("pools"), "name", pool);
  const boost::json::object* df_stats = nullptr;
  if (df_pool != nullptr) {
    const auto* s = df_pool->if_contains("stats");
    if (s != nullptr && s->is_object()) df_stats = &s->as_object();
  }
  // A pool created a moment ago may not be in the manager's digest yet: it holds nothing.
  const std::int64_t used = df_stats != nullptr ? IntOr0(*df_stats, "stored") : 0;
  const std::int64_t max_avail = df_stats != nullptr ? IntOr0(*df_stats, "max_avail") : 0;
  const std::int64_t quota = IntOr0(*map_pool, "quota_max_bytes");
  const double nearfull_ratio = DoubleOr(dump.as_object(), "nearfull_ratio", 0.85);

  std::vector<std::string> flags;
  if (const auto* f = map_pool->if_contains("flags_names"); f != nullptr && f->is_string()) {
    std::string_view text = f->as_string();
    while (!text.empty()) {
      const size_t comma = text.find(',');
      flags.emplace_back(text.substr(0, comma));
      text = comma == std::string_view::npos ? "" : text.substr(comma + 1);
    }
  }
  const auto has = [&](std::string_view flag) {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  };

  PoolStats stats;
  stats.used_bytes = used;
  if (quota > 0) {
    // "df" reports the OSDs' room as max_avail whatever the quota; the quota is the real bound.
    stats.capacity_bytes = quota;
    stats.available_bytes = std::clamp<std::int64_t>(quota - used, 0, max_avail);
  } else {
    stats.capacity_bytes = used + max_avail;
    stats.available_bytes = max_avail;
  }
  stats.used_ratio = stats.capacity_bytes > 0
                         ? static_cast<double>(used) / static_cast<double>(stats.capacity_bytes)
                         : 0;
  // The OSD map sets "full" (with "full_quota" when the quota is the reason) and "nearfull" /
  // "backfillfull" when the pool's OSDs cross those ratios. Ceph has no nearfull flag for a
  // quota, so govpool applies the cluster's nearfull_ratio to it (docs/storage.md).
  stats.full = has("full") || has("full_quota");
  stats.nearfull = stats.full || has("nearfull") || has("backfillfull") ||
                   (quota > 0 && static_cast<double>(used) >=
                                     nearfull_ratio * static_cast<double>(quota));
  return stats;
}

Result<std::vector<std::string>> RbdBlockStorage::ListImages(const std::string& pool) {
  librados::IoCtx io;
  GP_RETURN_IF_ERROR(OpenPool(*cluster_, pool, &io));
  std::vector<librbd::image_spec_t> images;
  const int r = librbd::RBD().list2(io, &images);
  if (r < 0) return ErrnoToStatus(r, "rbd ls " + pool);
  std::vector<std::string> names;
  names.reserve(images.size());
  for (const auto& i : images) names.push_back(i.name);
  std::sort(names.begin(), names.end());
  return names;
}

Result<ImageInfo> RbdBlockStorage::GetImage(const std::string& pool, const std::string& image) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  ImageInfo info;
  info.name = image;
  std::uint64_t size = 0;
  int r = img.size(&size);
  if (r < 0) return ErrnoToStatus(r, "rbd info " + Spec(pool, image));
  info.size_bytes = static_cast<std::int64_t>(size);
  librbd::linked_image_spec_t parent;
  librbd::snap_spec_t parent_snap;
  r = img.get_parent(&parent, &parent_snap);
  if (r == 0) {
    info.parent = Spec(parent.pool_name, parent.image_name, parent_snap.name);
  } else if (r != -ENOENT) {
    return ErrnoToStatus(r, "rbd parent of " + Spec(pool, image));
  }
  return info;
}

Status RbdBlockStorage::CreateImage(const std::string& pool, const std::string& image,
                                    std::int64_t size_bytes) {
  if (size_bytes < 0) return InvalidArgument("rbd create " + Spec(pool, image) + ": negative size");
  librados::IoCtx io;
  GP_RETURN_IF_ERROR(OpenPool(*cluster_, pool, &io));
  librbd::ImageOptions opts;
  opts.set(RBD_IMAGE_OPTION_FORMAT, static_cast<std::uint64_t>(2));
  const int r = librbd::RBD().create4(io, image.c_str(), static_cast<std::uint64_t>(size_bytes),
                                      opts);
  return ErrnoToStatus(r, "rbd create " + Spec(pool, image));
}

Status RbdBlockStorage::ResizeImage(const std::string& pool, const std::string& image,
                                    std::int64_t size_bytes) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  std::uint64_t size = 0;
  int r = img.size(&size);
  if (r < 0) return ErrnoToStatus(r, "rbd info " + Spec(pool, image));
  if (size_bytes < 0 || static_cast<std::uint64_t>(size_bytes) < size) {
    return FailedPrecondition("rbd resize " + Spec(pool, image) + ": shrinking from " +
                              std::to_string(size) + " to " + std::to_string(size_bytes) +
                              " bytes is refused");
  }
  if (static_cast<std::uint64_t>(size_bytes) == size) return OkStatus();
  r = img.resize(static_cast<std::uint64_t>(size_bytes));
  return ErrnoToStatus(r, "rbd resize " + Spec(pool, image));
}

Status RbdBlockStorage::RemoveImage(const std::string& pool, const std::string& image) {
  const std::string spec = Spec(pool, image);
  librados::IoCtx io;
  {
    librbd::Image img;
    GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
    // Our own open is one watcher; another means the image is in use (RBD::remove would say
    // EBUSY, but only after the snapshots below were gone).
    std::list<librbd::image_watcher_t> watchers;
    int r = img.list_watchers(watchers);
    if (r < 0) return ErrnoToStatus(r, "rbd status " + spec);
    if (watchers.size() > 1) {
      return FailedPrecondition("rbd remove " + spec + ": the image is in use (" +
                                std::to_string(watchers.size() - 1) + " other watcher(s))");
    }
    std::vector<librbd::snap_info_t> snaps;
    r = img.snap_list(snaps);
    if (r < 0) return ErrnoToStatus(r, "rbd snap ls " + spec);
    // Refuse before changing anything: a snapshot with clones keeps the whole image.
    for (const auto& snap : snaps) {
      GP_ASSIGN_OR_RETURN(auto children, ChildrenOf(img, spec, snap.name));
      if (!children.empty()) {
        return FailedPrecondition("rbd remove " + spec + ": snapshot " + snap.name +
                                  " has clones: " + Join(children));
      }
    }
    for (const auto& snap : snaps) {
      bool is_protected = false;
      r = img.snap_is_protected(snap.name.c_str(), &is_protected);
      if (r < 0) return ErrnoToStatus(r, "rbd snap info " + Spec(pool, image, snap.name));
      if (is_protected) {
        r = img.snap_unprotect(snap.name.c_str());
        if (r < 0) return ErrnoToStatus(r, "rbd snap unprotect " + Spec(pool, image, snap.name));
      }
      r = img.snap_remove(snap.name.c_str());
      if (r < 0) return ErrnoToStatus(r, "rbd snap rm " + Spec(pool, image, snap.name));
    }
    r = img.close();
    if (r < 0) return ErrnoToStatus(r, "rbd close " + spec);
  }
  // RBD::remove deletes the image in place (the trash is `rbd trash mv`, never used here).
  const int r = librbd::RBD().remove(io, image.c_str());
  return ErrnoToStatus(r, "rbd remove " + spec);
}

Status RbdBlockStorage::CloneImage(const std::string& parent_pool, const std::string& parent_image,
                                   const std::string& parent_snapshot, const std::string& pool,
                                   const std::string& image) {
  const std::string what = "rbd clone " + Spec(parent_pool, parent_image, parent_snapshot) +
                           " -> " + Spec(pool, image);
  librados::IoCtx parent_io;
  {
    // Clone v2 would accept an unprotected snapshot; the contract (and clone v1) wants it
    // protected, so check here and behave the same whatever the cluster's clone format.
    librbd::Image parent;
    Status s = OpenImageIn(*cluster_, parent_pool, parent_image, &parent_io, &parent);
    if (!s.ok()) return s.Annotate(what);
    bool is_protected = false;
    const int r = parent.snap_is_protected(parent_snapshot.c_str(), &is_protected);
    if (r < 0) return ErrnoToStatus(r, what);
    if (!is_protected) return FailedPrecondition(what + ": the snapshot is not protected");
  }
  librados::IoCtx io;
  if (Status s = OpenPool(*cluster_, pool, &io); !s.ok()) return s.Annotate(what);
  librbd::ImageOptions opts;
  const int r = librbd::RBD().clone3(parent_io, parent_image.c_str(), parent_snapshot.c_str(), io,
                                     image.c_str(), opts);
  return ErrnoToStatus(r, what);
}

Status RbdBlockStorage::FlattenImage(const std::string& pool, const std::string& image) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  librbd::linked_image_spec_t parent;
  librbd::snap_spec_t parent_snap;
  int r = img.get_parent(&parent, &parent_snap);
  if (r == -ENOENT) return OkStatus();  // not a clone (or flattened already): nothing to do
  if (r < 0) return ErrnoToStatus(r, "rbd parent of " + Spec(pool, image));
  r = img.flatten();
  return ErrnoToStatus(r, "rbd flatten " + Spec(pool, image));
}

Result<std::vector<std::string>> RbdBlockStorage::ListChildren(const std::string& pool,
                                                               const std::string& image,
                                                               const std::string& snapshot) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  return ChildrenOf(img, Spec(pool, image), snapshot);
}

Result<std::unique_ptr<ImageHandle>> RbdBlockStorage::OpenImage(const std::string& pool,
                                                                const std::string& image) {
  auto handle = std::make_unique<RbdImageHandle>(cluster_, Spec(pool, image), /*read_only=*/false);
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &handle->io(), &handle->image()));
  handle->MarkOpen();
  return std::unique_ptr<ImageHandle>(std::move(handle));
}

Result<std::unique_ptr<ImageHandle>> RbdBlockStorage::OpenSnapshot(const std::string& pool,
                                                                   const std::string& image,
                                                                   const std::string& snapshot) {
  // OpenImageIn opens the head (read-write) for an empty snapshot name.
  if (snapshot.empty()) {
    return InvalidArgument("rbd open " + Spec(pool, image, snapshot) + ": no snapshot named");
  }
  auto handle = std::make_unique<RbdImageHandle>(cluster_, Spec(pool, image, snapshot),
                                                 /*read_only=*/true);
  GP_RETURN_IF_ERROR(
      OpenImageIn(*cluster_, pool, image, &handle->io(), &handle->image(), snapshot));
  handle->MarkOpen();
  return std::unique_ptr<ImageHandle>(std::move(handle));
}

Status RbdBlockStorage::RenameImage(const std::string& pool, const std::string& from,
                                    const std::string& to) {
  const std::string what = "rbd rename " + Spec(pool, from) + " -> " + Spec(pool, to);
  librados::IoCtx io;
  if (Status s = OpenPool(*cluster_, pool, &io); !s.ok()) return s.Annotate(what);
  // librbd opens `from` first (ENOENT), then refuses an existing `to` (EEXIST).
  const int r = librbd::RBD().rename(io, from.c_str(), to.c_str());
  return ErrnoToStatus(r, what);
}

Result<std::vector<SnapshotInfo>> RbdBlockStorage::ListSnapshots(const std::string& pool,
                                                                 const std::string& image) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  std::vector<librbd::snap_info_t> snaps;
  int r = img.snap_list(snaps);
  if (r < 0) return ErrnoToStatus(r, "rbd snap ls " + Spec(pool, image));
  std::vector<SnapshotInfo> out;
  for (const auto& snap : snaps) {
    SnapshotInfo info;
    info.name = snap.name;
    info.size_bytes = static_cast<std::int64_t>(snap.size);
    r = img.snap_is_protected(snap.name.c_str(), &info.is_protected);
    if (r < 0) return ErrnoToStatus(r, "rbd snap info " + Spec(pool, image, snap.name));
    out.push_back(std::move(info));
  }
  return out;
}

Status RbdBlockStorage::CreateSnapshot(const std::string& pool, const std::string& image,
                                       const std::string& snapshot, bool protect) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  const std::string spec = Spec(pool, image, snapshot);
  int r = img.snap_create(snapshot.c_str());
  if (r < 0) return ErrnoToStatus(r, "rbd snap create " + spec);
  if (!protect) return OkStatus();
  r = img.snap_protect(snapshot.c_str());
  if (r < 0) {
    // All or nothing: a snapshot that could not be protected is not left behind.
    (void)img.snap_remove(snapshot.c_str());
    return ErrnoToStatus(r, "rbd snap protect " + spec);
  }
  return OkStatus();
}

Status RbdBlockStorage::RemoveSnapshot(const std::string& pool, const std::string& image,
                                       const std::string& snapshot) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  const std::string spec = Spec(pool, image, snapshot);
  bool is_protected = false;
  int r = img.snap_is_protected(snapshot.c_str(), &is_protected);
  if (r < 0) return ErrnoToStatus(r, "rbd snap rm " + spec);
  GP_ASSIGN_OR_RETURN(auto children, ChildrenOf(img, Spec(pool, image), snapshot));
  if (!children.empty()) {
    return FailedPrecondition("rbd snap rm " + spec + ": the snapshot has clones: " +
                              Join(children));
  }
  if (is_protected) {
    r = img.snap_unprotect(snapshot.c_str());
    if (r < 0) return ErrnoToStatus(r, "rbd snap unprotect " + spec);
  }
  r = img.snap_remove(snapshot.c_str());
  return ErrnoToStatus(r, "rbd snap rm " + spec);
}

Status RbdBlockStorage::RollbackSnapshot(const std::string& pool, const std::string& image,
                                         const std::string& snapshot) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img));
  const std::string spec = Spec(pool, image, snapshot);
  // Our own open counts as one watcher; any other means the image is in use (a VM, a handle).
  // librbd would otherwise ask the holder for the exclusive lock and roll back under it.
  std::list<librbd::image_watcher_t> watchers;
  int r = img.list_watchers(watchers);
  if (r < 0) return ErrnoToStatus(r, "rbd status " + Spec(pool, image));
  if (watchers.size() > 1) {
    return FailedPrecondition("rbd snap rollback " + spec + ": the image is in use (" +
                              std::to_string(watchers.size() - 1) + " other watcher(s))");
  }
  r = img.snap_rollback(snapshot.c_str());
  return ErrnoToStatus(r, "rbd snap rollback " + spec);
}

Status RbdBlockStorage::DiffIterate(const std::string& pool, const std::string& image,
                                    const std::string& from_snapshot,
                                    const std::string& to_snapshot,
                                    const std::function<Status(const Extent&)>& visit) {
  librados::IoCtx io;
  librbd::Image img;
  GP_RETURN_IF_ERROR(OpenImageIn(*cluster_, pool, image, &io, &img, to_snapshot));
  const std::string what = "rbd diff " + Spec(pool, image) + " from " +
                           (from_snapshot.empty() ? "creation" : "@" + from_snapshot) + " to " +
                           (to_snapshot.empty() ? "head" : "@" + to_snapshot);
  std::uint64_t size = 0;
  int r = img.size(&size);
  if (r < 0) return ErrnoToStatus(r, what);
  // Collected first, then visited in offset order (librbd walks objects, possibly in parallel).
  std::vector<Extent> extents;
  const auto collect = [](std::uint64_t offset, size_t length, int exists, void* arg) -> int {
    static_cast<std::vector<Extent>*>(arg)->push_back(
        {static_cast<std::int64_t>(offset), static_cast<std::int64_t>(length), exists != 0});
    return 0;
  };
  r = img.diff_iterate2(from_snapshot.empty() ? nullptr : from_snapshot.c_str(), 0, size,
                        /*include_parent=*/from_snapshot.empty(), /*whole_object=*/false, collect,
                        &extents);
  if (r < 0) return ErrnoToStatus(r, what);
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  // librbd reports per object; runs that touch across object boundaries are merged, so the
  // caller sees the same extents whatever the object size.
  std::vector<Extent> merged;
  for (const Extent& e : extents) {
    if (!merged.empty() && merged.back().exists == e.exists &&
        merged.back().offset + merged.back().length == e.offset) {
      merged.back().length += e.length;
    } else {
      merged.push_back(e);
    }
  }
  for (const Extent& e : merged) GP_RETURN_IF_ERROR(visit(e));
  return OkStatus();
}

Result<std::vector<std::string>> RbdBlockStorage::ListTrash(const std::string& pool) {
  librados::IoCtx io;
  GP_RETURN_IF_ERROR(OpenPool(*cluster_, pool, &io));
  std::vector<librbd::trash_image_info_t> entries;
  const int r = librbd::RBD().trash_list(io, entries);
  if (r < 0) return ErrnoToStatus(r, "rbd trash ls " + pool);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace govpool::agent
