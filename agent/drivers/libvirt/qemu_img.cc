#include "agent/drivers/libvirt/qemu_img.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/ids.h"

extern char** environ;

namespace govpool::agent::libvirt {

Status RunProgram(const std::vector<std::string>& argv) {
  if (argv.empty()) return InvalidArgument("RunProgram: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Internal(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    const std::string msg = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return rc == ENOENT ? Unavailable(msg + " (is it installed? qemu-img is in qemu-utils)")
                        : Internal(msg);
  }
  std::string output;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      if (output.size() < 8192) output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Internal(std::string("waitpid: ") + std::strerror(errno));
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return OkStatus();
  std::string how = WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  return Internal(argv[0] + " " + how + ": " + output);
}

Status CreateQcow2(const std::string& qemu_img, const std::string& path, std::int64_t size_gib) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return OkStatus();
  const std::filesystem::path p(path);
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) {
    return Internal("creating directory " + p.parent_path().string() + ": " + ec.message());
  }
  const std::string tmp = path + ".tmp-" + NewUuid().substr(0, 8);
  Status s = RunProgram({qemu_img, "create", "-q", "-f", "qcow2", tmp,
                         std::to_string(size_gib) + "G"});
  if (!s.ok()) {
    std::filesystem::remove(tmp, ec);
    return s.Annotate("creating disk " + path);
  }
  // rename(2) replaces silently; link(2) fails if `path` appeared meanwhile (a concurrent
  // CreateDisk of the same path): then keep the other one, which is equally good.
  if (link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    const int err = errno;
    std::filesystem::remove(tmp, ec);
    return Internal("creating disk " + path + ": link: " + std::strerror(err));
  }
  std::filesystem::remove(tmp, ec);
  return OkStatus();
}

Result<std::int64_t> ZeroDataExtents(int fd) {
  static const std::vector<char> zeros(1 << 20, 0);
  std::int64_t written = 0;
  auto zero_range = [&](off_t at, off_t end) -> Status {
    while (at < end) {
      const size_t n = static_cast<size_t>(std::min<off_t>(end - at, static_cast<off_t>(zeros.size())));
      const ssize_t w = ::pwrite(fd, zeros.data(), n, at);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Internal(std::string("overwriting the disk: ") + std::strerror(errno));
      at += w;
      written += w;
    }
    return OkStatus();
  };
  // SEEK_DATA/SEEK_HOLE walk the allocated extents only: holes read as zeros already. The walk
  // ends with ENXIO; a filesystem without them (EINVAL) gets the whole file overwritten.
  off_t at = ::lseek(fd, 0, SEEK_DATA);
  if (at < 0 && errno == EINVAL) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Internal(std::string("reading the disk's size: ") + std::strerror(errno));
    GP_RETURN_IF_ERROR(zero_range(0, st.st_size));
  }
  for (; at >= 0; at = ::lseek(fd, at, SEEK_DATA)) {
    const off_t end = ::lseek(fd, at, SEEK_HOLE);
    if (end < 0) break;
    GP_RETURN_IF_ERROR(zero_range(at, end));
    at = end;
  }
  if (::fdatasync(fd) != 0) return Internal(std::string("syncing the overwritten disk: ") + std::strerror(errno));
  return written;
}

Status RemoveFile(const std::string& path) {
  // O_NOFOLLOW: a symlink put in place of the disk is not followed into someone else's file.
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    auto wiped = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? ZeroDataExtents(fd) : Result<std::int64_t>(0);
    ::close(fd);
    if (!wiped.ok()) return wiped.status().Annotate("deleting disk " + path);
  }
  if (unlink(path.c_str()) == 0 || errno == ENOENT) return OkStatus();
  const int err = errno;
  const std::string msg = "deleting disk " + path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return PermissionDenied(msg);
  if (err == EISDIR) return InvalidArgument(msg);
  return Internal(msg);
}

}  // namespace govpool::agent::libvirt
