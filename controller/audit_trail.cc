#include "controller/audit_trail.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "api/audit_chain.h"
#include "api/codec.h"

namespace govpool::controller {
namespace {

constexpr std::size_t kKeyBytes = 32;

Status ErrnoStatus(const std::string& what) { return Unavailable(what + ": " + std::strerror(errno)); }

std::string Hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

Status WriteAll(int fd, std::string_view data) {
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing");
    }
    done += static_cast<std::size_t>(n);
  }
  return OkStatus();
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("opening " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? OkStatus() : ErrnoStatus("syncing " + dir);
}

}  // namespace

Result<std::string> LoadOrCreateAuditKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    unsigned char key[kKeyBytes];
    if (RAND_bytes(key, sizeof key) != 1) return Internal("no random bytes for the audit key");
    const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) return ErrnoStatus("creating the audit key " + path);
    Status s = WriteAll(out, std::string_view(reinterpret_cast<const char*>(key), sizeof key));
    if (s.ok() && ::fsync(out) != 0) s = ErrnoStatus("syncing the audit key " + path);
    ::close(out);
    if (!s.ok()) {
      ::unlink(path.c_str());
      return s;
    }
    const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    if (!dir.empty()) GP_RETURN_IF_ERROR(SyncDir(dir));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return ErrnoStatus("opening the audit key " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return ErrnoStatus("reading the audit key " + path);
  }
  if ((st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
    ::close(fd);
    return FailedPrecondition("the audit key " + path +
                              " must belong to the controller's user and have mode 0600 (it signs the"
                              " audit trail's checkpoints; anyone who can read it can forge them)");
  }
  std::string key(kKeyBytes + 1, '\0');
  const ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyBytes)) {
    return FailedPrecondition("the audit key " + path + " must hold exactly 32 bytes");
  }
  key.resize(kKeyBytes);
  return key;
}

std::string AuditCheckpointMac(std::string_view key, const api::AuditCheckpoint& cp) {
  const std::string message = "govpool-audit-checkpoint-v1\n" + std::to_string(cp.seq) + "\n" +
                              cp.hash + "\n" + cp.algorithm;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return Hex(mac, len);
}

AuditSealer::AuditSealer(AuditOptions options, AuditHead head)
    : options_(std::move(options)), head_(std::move(head)) {
  if (head_.hash.empty()) head_.hash = std::string(api::kAuditGenesisHash);
}

AuditHead AuditSealer::Seal(std::vector<AuditEntry> entries, std::int64_t now_ms,
                            AuditBatch* out) const {
  AuditHead head = head_;
  if (entries.empty()) return head;
  // Time never runs backwards along the chain, even if the wall clock does.
  const std::int64_t time_ms = std::max(now_ms, head.time_ms);
  for (AuditEntry& e : entries) {
    api::AuditRecord r;
    r.seq = head.seq + 1;
    r.time_ms = time_ms;
    r.kind = std::move(e.kind);
    r.user = std::move(e.user);
    r.user_id = std::move(e.user_id);
    r.role = std::move(e.role);
    r.source = std::move(e.source);
    r.method = std::move(e.method);
    r.route = std::move(e.route);
    r.object_id = std::move(e.object_id);
    r.department_id = std::move(e.department_id);
    r.outcome = std::move(e.outcome);
    r.status = e.status;
    r.body_sha256 = std::move(e.body_sha256);
    r.detail = std::move(e.detail);
    r.prev_hash = head.hash;
    r.hash = api::AuditRecordHash(r, options_.hash);
    head.seq = r.seq;
    head.hash = r.hash;
    head.time_ms = time_ms;
    out->records.push_back(std::move(r));
  }
  if (!options_.key.empty() &&
      (head.seq - head.checkpoint_seq >= options_.checkpoint_every_records ||
       time_ms - head.checkpoint_time_ms >= options_.checkpoint_every.count())) {
    api::AuditCheckpoint cp;
    cp.seq = head.seq;
    cp.hash = head.hash;
    cp.algorithm = "sha256";
    cp.time_ms = time_ms;
    cp.mac = AuditCheckpointMac(options_.key, cp);
    head.checkpoint_seq = cp.seq;
    head.checkpoint_time_ms = time_ms;
    out->checkpoints.push_back(std::move(cp));
  }
  return head;
}

Result<api::AuditVerifyAnswer> VerifyAuditTrail(StateStore& store, std::string_view key) {
  // The checkpoints first, then the head, then the records: a record committed meanwhile only
  // adds to the end, so every checkpoint read names a record the scan reaches.
  GP_ASSIGN_OR_RETURN(auto checkpoints, store.AuditCheckpoints());
  GP_ASSIGN_OR_RETURN(AuditHead head, store.LoadAuditHead());
  api::AuditChainVerifier verifier(
      head.archived_seq,
      head.archived_seq > 0 ? head.archived_hash : std::string(api::kAuditGenesisHash));
  std::map<std::int64_t, api::AuditCheckpoint> by_seq;
  for (auto& cp : checkpoints) by_seq.emplace(cp.seq, std::move(cp));
  const std::string key_copy(key);
  verifier.SetCheckpoints(std::move(by_seq), key_copy.empty()
                                                 ? std::function<bool(const api::AuditCheckpoint&)>()
                                                 : [key_copy](const api::AuditCheckpoint& cp) {
                                                     return cp.algorithm == "sha256" &&
                                                            AuditCheckpointMac(key_copy, cp) == cp.mac;
                                                   });
  GP_RETURN_IF_ERROR(store.ScanAudit(AuditFilter{}, [&](const api::AuditRecord& r) {
    verifier.Add(r);
    return true;
  }));
  return verifier.Finish();
}

Result<std::int64_t> ArchiveAuditRecords(StateStore& store, const std::string& archive_dir,
                                         std::int64_t older_than_ms) {
  // Seq and time grow together, so the old records are a prefix: find where it ends.
  std::int64_t first = 0, last = 0;
  std::string last_hash;
  AuditFilter old;
  old.to_ms = older_than_ms;
  old.limit = 100'000;  // one file per 100,000 records: bounded memory, and the rest next time
  std::string lines;
  GP_RETURN_IF_ERROR(store.ScanAudit(old, [&](const api::AuditRecord& r) {
    if (last != 0 && r.seq != last + 1) return false;  // only a contiguous prefix
    if (first == 0) first = r.seq;
    last = r.seq;
    last_hash = r.hash;
    lines += api::Encode(r);
    lines += '\n';
    return true;
  }));
  if (last == 0) return std::int64_t{0};
  if (::mkdir(archive_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("creating " + archive_dir);
  }
  const std::string name = std::to_string(first) + "-" + std::to_string(last) + ".jsonl";
  const std::string path = archive_dir + "/" + name;
  const std::string part = path + ".part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("creating " + part);
  Status s = WriteAll(fd, lines);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("syncing " + part);
  ::close(fd);
  if (s.ok() && ::rename(part.c_str(), path.c_str()) != 0) s = ErrnoStatus("naming " + path);
  if (s.ok()) s = SyncDir(archive_dir);
  if (!s.ok()) {
    ::unlink(part.c_str());
    return s;
  }
  // Only once the archive is on disk may the records leave the table.
  GP_RETURN_IF_ERROR(store.DropAuditThrough(last, last_hash));
  return last - first + 1;
}

}  // namespace govpool::controller
