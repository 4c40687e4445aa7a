// Writing a secret to a file that only this user can read, all at once or not at all.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace govpool {

// Writes `content` to `path` with mode 0600 (whatever the umask): into a temporary file in the
// same folder, fsync'ed, then renamed over `path`, so a crash or a full disk leaves either the
// old file or the whole new one, never a part. Symlinks at the temporary name are not followed.
// Unavailable (with the system's reason) when it cannot.
Status WritePrivateFile(const std::string& path, std::string_view content);

}  // namespace govpool
