// govpoolctl admin ...: the controller's own care. `admin backup` saves consistent online
// copies of its state database (GET /v1/system/backup), once or on a schedule with retention
// (docs/operations.md, "Backup and restore").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/table.h"
#include "cli/values.h"

namespace govpool::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBackupPrefix = "govpool-state-";
constexpr std::string_view kBackupSuffix = ".db";

struct BackupArgs {
  std::string target;  // a file, or a directory for timestamped files
  std::string every;   // "" once; else a duration between backups
  std::int64_t keep = 0;  // in a directory: the newest this many stay (0: all)
};

// "20261203T074501Z": sorts as it reads.
std::string Stamp(std::int64_t ms) {
  std::string t = TimeText(ms);  // 2026-12-03T07:45:01.123Z
  std::string out;
  for (char c : t.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

// Downloads one backup to `path` (through path.part, mode 0600, synced, then renamed).
Status SaveBackup(Context& ctx, const std::string& path) {
  const std::string part = path + ".part";
  ::unlink(part.c_str());
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return UsageError("cannot write " + part + ": " + std::strerror(errno));
  std::uint64_t bytes = 0;
  Status got = ctx.api().DownloadStateBackup([&](std::string_view chunk) -> Status {
    for (std::size_t done = 0; done < chunk.size();) {
      const ssize_t n = ::write(fd, chunk.data() + done, chunk.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Unavailable("cannot write " + part + ": " + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    bytes += chunk.size();
    return OkStatus();
  });
  const bool synced = got.ok() && ::fsync(fd) == 0;
  ::close(fd);
  if (!got.ok() || !synced || ::rename(part.c_str(), path.c_str()) != 0) {
    ::unlink(part.c_str());
    return got.ok() ? Unavailable("cannot finish " + path + ": " + std::strerror(errno)) : got;
  }
  ctx.out() << path << "  " << bytes << " bytes\n";
  return OkStatus();
}

// Removes the oldest backups in `dir` beyond the newest `keep`.
void Prune(Context& ctx, const std::string& dir, std::int64_t keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kBackupPrefix) && name.ends_with(kBackupSuffix)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < names.size(); ++i) {
    fs::remove(fs::path(dir) / names[i], ec);
    if (!ec) ctx.err() << "removed the old backup " << (fs::path(dir) / names[i]).string() << "\n";
  }
}

Status Backup(Context& ctx, const BackupArgs& a) {
  std::error_code ec;
  const bool to_dir = fs::is_directory(a.target, ec) || a.target.ends_with('/');
  if (!to_dir && (!a.every.empty() || a.keep > 0)) {
    return UsageError("--every and --keep need a directory to put timestamped backups in");
  }
  std::int64_t every_ms = 0;
  if (!a.every.empty()) {
    GP_ASSIGN_OR_RETURN(every_ms, ParseDurationMs(a.every, "--every"));
  }
  if (to_dir) {
    fs::create_directories(a.target, ec);
    ::chmod(a.target.c_str(), 0700);
  }
  for (;;) {
    const std::string path = to_dir ? (fs::path(a.target) / (std::string(kBackupPrefix) + Stamp(ctx.NowMs()) +
                                                             std::string(kBackupSuffix))).string()
                                    : a.target;
    Status saved = SaveBackup(ctx, path);
    if (every_ms == 0) return saved;
    // On a schedule a failure is said and the next slot tried: the schedule itself goes on.
    if (!saved.ok()) ctx.err() << "backup failed: " << saved.ToString() << "\n";
    if (saved.ok() && a.keep > 0) Prune(ctx, a.target, a.keep);
    ctx.Sleep(std::chrono::milliseconds(every_ms));
  }
}

}  // namespace

void AddAdminCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("admin", "the controller's own care (system-admin)");
  auto a = std::make_shared<BackupArgs>();
  g.AddCommand("backup",
               "save a consistent online copy of the controller's state (restore: govpool-controller --restore FILE)")
      .Arg("FILE|DIR", &a->target, "a file, or a directory for govpool-state-<time>.db files")
      .Option("--every", &a->every, "DURATION", "keep running: a backup every DURATION (e.g. 6h, 1d)")
      .Option("--keep", &a->keep, "N", "in DIR, keep the newest N backups (0: all)", 0, 100'000)
      .Run([a](Context& ctx) { return Backup(ctx, *a); });
}

}  // namespace govpool::cli
