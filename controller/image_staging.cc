#include "controller/image_staging.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace govpool::controller {

Status ImageStaging::EnsureDir() const {
  if (dir_.empty()) return Unavailable("image uploads are off: the controller has no staging directory");
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return Internal("creating the image staging directory: " + std::string(std::strerror(errno)));
  }
  return OkStatus();
}

std::vector<std::string> ImageStaging::Sweep(const State& s) const {
  std::vector<std::string> removed;
  if (dir_.empty()) return removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 36 + 5 && name.ends_with(".part")) {
      // An upload's file: kept only while that upload runs.
      name.resize(36);
      const api::Image* i = s.FindImage(name);
      if (i && i->state == api::ImageState::kUploading) continue;
      std::error_code rm;
      if (std::filesystem::remove(entry.path(), rm)) removed.push_back(name);
      continue;
    }
    if (name.size() != 36) continue;  // only complete uploads named by a UUID
    const api::Image* i = s.FindImage(name);
    const bool needed = i && !i->deleting &&
                        (i->state == api::ImageState::kImporting || i->state == api::ImageState::kError ||
                         i->state == api::ImageState::kUploading);
    if (needed) continue;
    std::error_code rm;
    if (std::filesystem::remove(entry.path(), rm)) removed.push_back(name);
  }
  return removed;
}

}  // namespace govpool::controller
