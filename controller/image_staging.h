// ImageStaging: the controller's directory of uploaded image files, between the upload
// (PUT /v1/images/{id}/data) and the agent's import (GET /v1/images/{id}/data).
//   <dir>/<id>.part  an upload in progress (removed when it fails)
//   <dir>/<id>       a complete upload, kept until the image is imported (available) or gone:
//                    Sweep removes it then, so no copy of a department's data lingers.
// Ids are validated UUIDs before they become paths (callers check with CheckId), so a name
// never leaves the directory. Files are created 0600.
//
// Thread-safety: the methods touch only the file system; they are safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/state.h"

namespace govpool::controller {

class ImageStaging {
 public:
  // `dir` is created (0700) on first use; empty disables uploads (Unavailable).
  explicit ImageStaging(std::string dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }
  std::string PartPath(const std::string& id) const { return dir_ + "/" + id + ".part"; }
  std::string FilePath(const std::string& id) const { return dir_ + "/" + id; }
  Status EnsureDir() const;

  // Files no image needs any more (its record is gone, or it is available or being deleted),
  // removed, and `.part` files of uploads no longer running (a controller that stopped
  // mid-upload). Returns the ids removed.
  std::vector<std::string> Sweep(const State& s) const;

 private:
  std::string dir_;
};

}  // namespace govpool::controller
