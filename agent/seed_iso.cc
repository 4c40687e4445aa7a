#include "agent/seed_iso.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>

// struct burn_source (the image's byte stream) is declared by libisofs itself when libburn is
// not used.
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs.h>

namespace govpool::agent {
namespace {

// Every timestamp of the image: 2000-01-01T00:00:00Z, so the bytes depend on the files only.
constexpr std::time_t kFixedTime = 946684800;
char kFixedVolumeTime[] = "2000010100000000";  // libisofs' YYYYMMDDhhmmsscc (non-const API)

Status IsoError(const char* step, int code) {
  return Internal(std::string("seed image: ") + step + ": " + iso_error_to_msg(code));
}

Status InitLibisofs() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] {
    result = iso_init();
    // libisofs would print its messages on stderr; errors come back as return codes.
    char never[] = "NEVER";
    char id[] = "";
    if (result >= 0) iso_set_msgs_severities(never, never, id);
  });
  return result < 0 ? IsoError("initialising libisofs", result) : OkStatus();
}

struct ImageUnref {
  void operator()(IsoImage* image) const { iso_image_unref(image); }
};
struct OptsFree {
  void operator()(IsoWriteOpts* opts) const { iso_write_opts_free(opts); }
};
struct SourceFree {
  void operator()(burn_source* src) const {
    src->free_data(src);
    std::free(src);
  }
};

Status AddFile(IsoImage* image, const char* name, const std::string& content) {
  // The stream owns (and frees) a malloc'ed copy.
  auto* buf = static_cast<unsigned char*>(std::malloc(content.empty() ? 1 : content.size()));
  if (buf == nullptr) return Internal("seed image: out of memory");
  std::memcpy(buf, content.data(), content.size());
  IsoStream* stream = nullptr;
  if (int rc = iso_memory_stream_new(buf, content.size(), &stream); rc < 0) {
    std::free(buf);
    return IsoError("making a file stream", rc);
  }
  IsoFile* file = nullptr;
  if (int rc = iso_image_add_new_file(image, iso_image_get_root(image), name, stream, &file); rc < 0) {
    iso_stream_unref(stream);
    return IsoError("adding a file", rc);
  }
  IsoNode* node = reinterpret_cast<IsoNode*>(file);
  iso_node_set_permissions(node, 0444);
  iso_node_set_uid(node, 0);
  iso_node_set_gid(node, 0);
  iso_node_set_mtime(node, kFixedTime);
  iso_node_set_atime(node, kFixedTime);
  iso_node_set_ctime(node, kFixedTime);
  return OkStatus();
}

}  // namespace

Result<std::string> BuildSeedIso(const CloudInitFiles& files) {
  GP_RETURN_IF_ERROR(InitLibisofs());
  IsoImage* raw_image = nullptr;
  if (int rc = iso_image_new(kSeedVolumeLabel, &raw_image); rc < 0) return IsoError("creating the image", rc);
  std::unique_ptr<IsoImage, ImageUnref> image(raw_image);
  iso_image_set_volume_id(image.get(), kSeedVolumeLabel);
  IsoNode* root = reinterpret_cast<IsoNode*>(iso_image_get_root(image.get()));
  iso_node_set_permissions(root, 0555);
  iso_node_set_mtime(root, kFixedTime);
  iso_node_set_atime(root, kFixedTime);
  iso_node_set_ctime(root, kFixedTime);
  GP_RETURN_IF_ERROR(AddFile(image.get(), "meta-data", files.meta_data));
  GP_RETURN_IF_ERROR(AddFile(image.get(), "user-data", files.user_data));
  GP_RETURN_IF_ERROR(AddFile(image.get(), "network-config", files.network_config));

  IsoWriteOpts* raw_opts = nullptr;
  if (int rc = iso_write_opts_new(&raw_opts, 0); rc < 0) return IsoError("write options", rc);
  std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
  iso_write_opts_set_rockridge(opts.get(), 1);
  iso_write_opts_set_joliet(opts.get(), 1);
  // Keep the label lower-case ("cidata"), as cloud-localds writes it.
  iso_write_opts_set_relaxed_vol_atts(opts.get(), 1);
  iso_write_opts_set_always_gmt(opts.get(), 1);
  iso_write_opts_set_replace_mode(opts.get(), 1, 1, 1, 1);
  iso_write_opts_set_default_dir_mode(opts.get(), 0555);
  iso_write_opts_set_default_file_mode(opts.get(), 0444);
  iso_write_opts_set_default_uid(opts.get(), 0);
  iso_write_opts_set_default_gid(opts.get(), 0);
  iso_write_opts_set_replace_timestamps(opts.get(), 2);
  iso_write_opts_set_default_timestamp(opts.get(), kFixedTime);
  iso_write_opts_set_pvd_times(opts.get(), kFixedTime, kFixedTime, 0, 0, kFixedVolumeTime);

  burn_source* raw_src = nullptr;
  if (int rc = iso_image_create_burn_source(image.get(), opts.get(), &raw_src); rc < 0) {
    return IsoError("starting the image writer", rc);
  }
  std::unique_ptr<burn_source, SourceFree> src(raw_src);
  std::string bytes;
  unsigned char block[2048];
  while (true) {
    const int n = src->read_xt(src.get(), block, sizeof block);
    if (n < 0) return Internal("seed image: libisofs failed while writing the image");
    if (n == 0) break;
    bytes.append(reinterpret_cast<const char*>(block), static_cast<size_t>(n));
  }
  return bytes;
}

Result<bool> EnsureSeedIso(const std::string& path, const CloudInitFiles& files) {
  namespace fs = std::filesystem;
  if (path.empty() || path.front() != '/') return InvalidArgument("seed image path '" + path + "' is not absolute");
  GP_ASSIGN_OR_RETURN(std::string bytes, BuildSeedIso(files));
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      const std::string current{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (current == bytes) return false;
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Internal("creating the directory of " + path + ": " + ec.message());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return Internal("writing " + tmp + " failed");
    }
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                           fs::perms::others_read, ec);
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Internal("renaming " + tmp + " to " + path + ": " + ec.message());
  }
  return true;
}

}  // namespace govpool::agent
