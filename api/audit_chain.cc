#include "api/audit_chain.h"

#include <utility>

#include "common/crypto.h"

namespace govpool::api {
namespace {

void Put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '\n';
}

}  // namespace

std::string AuditCanonical(const AuditRecord& r) {
  std::string out = "govpool-audit-v1\n";
  Put(out, std::to_string(r.seq));
  Put(out, std::to_string(r.time_ms));
  Put(out, r.kind);
  Put(out, r.user);
  Put(out, r.user_id);
  Put(out, r.role);
  Put(out, r.source);
  Put(out, r.method);
  Put(out, r.route);
  Put(out, r.object_id);
  Put(out, r.department_id);
  Put(out, r.outcome);
  Put(out, std::to_string(r.status));
  Put(out, r.body_sha256);
  Put(out, r.detail);
  return out;
}

std::string AuditRecordHash(const AuditRecord& r, AuditHash algorithm) {
  const std::string message = r.prev_hash + "\n" + AuditCanonical(r);
  if (algorithm == AuditHash::kSha256) return Sha256Hex(message);
  auto sm3 = Sm3Hex(message);
  return sm3 ? "sm3:" + *sm3 : "";
}

std::string AuditRecordHash(const AuditRecord& r) {
  return AuditRecordHash(r, r.hash.starts_with("sm3:") ? AuditHash::kSm3 : AuditHash::kSha256);
}

AuditChainVerifier::AuditChainVerifier(std::int64_t after_seq, std::string after_hash)
    : last_seq_(after_seq), last_hash_(std::move(after_hash)) {
  verdict_.archived_through_seq = after_seq;
}

void AuditChainVerifier::SetCheckpoints(std::map<std::int64_t, AuditCheckpoint> checkpoints,
                                        std::function<bool(const AuditCheckpoint&)> mac_ok) {
  checkpoints_ = std::move(checkpoints);
  mac_ok_ = std::move(mac_ok);
  verdict_.checkpoints = static_cast<std::int64_t>(checkpoints_.size());
  // Checkpoints of archived records: only their signature can be checked here.
  for (const auto& [seq, cp] : checkpoints_) {
    if (seq > last_seq_) break;
    if (mac_ok_ && !mac_ok_(cp)) {
      Fail(seq, "checkpoint", "the checkpoint at seq " + std::to_string(seq) + " is not signed by this controller's key");
      return;
    }
  }
}

void AuditChainVerifier::Fail(std::int64_t seq, std::string problem, std::string message) {
  if (!verdict_.ok) return;
  verdict_.ok = false;
  verdict_.first_bad_seq = seq;
  verdict_.problem = std::move(problem);
  verdict_.message = std::move(message);
}

void AuditChainVerifier::Add(const AuditRecord& r) {
  ++records_;
  if (first_seq_ == 0) first_seq_ = r.seq;
  if (broken_link_seq_ != 0 && r.seq != broken_link_seq_ && r.prev_hash == broken_link_hash_) {
    link_found_later_ = true;
  }
  if (!verdict_.ok) return;
  const std::string seq = std::to_string(r.seq);
  const std::int64_t expected = last_seq_ + 1;
  if (r.seq > expected) {
    Fail(expected, "removed",
         "record " + std::to_string(expected) + (r.seq - expected > 1 ? " (and more, up to " + std::to_string(r.seq - 1) + ")" : std::string()) +
             " is missing: the record after " + std::to_string(last_seq_) + " is " + seq);
    return;
  }
  if (r.seq < expected) {
    Fail(r.seq, "reordered", "record " + seq + " comes after record " + std::to_string(last_seq_));
    return;
  }
  if (r.prev_hash != last_hash_) {
    broken_link_hash_ = last_hash_;
    broken_link_seq_ = r.seq;
    Fail(r.seq, "changed", "record " + seq + " does not link to record " + std::to_string(last_seq_));
    return;
  }
  if (AuditRecordHash(r) != r.hash) {
    Fail(r.seq, "changed", "record " + seq + "'s fields do not match its hash");
    return;
  }
  if (auto cp = checkpoints_.find(r.seq); cp != checkpoints_.end()) {
    if (cp->second.hash != r.hash) {
      Fail(r.seq, "checkpoint", "the checkpoint at seq " + seq + " signed another hash than the record's");
      return;
    }
    if (mac_ok_ && !mac_ok_(cp->second)) {
      Fail(r.seq, "checkpoint", "the checkpoint at seq " + seq + " is not signed by this controller's key");
      return;
    }
  }
  last_seq_ = r.seq;
  last_hash_ = r.hash;
}

AuditVerifyAnswer AuditChainVerifier::Finish() {
  if (!verdict_.ok && verdict_.first_bad_seq == broken_link_seq_ && link_found_later_) {
    verdict_.problem = "reordered";
    verdict_.message = "record " + std::to_string(broken_link_seq_) +
                       " is out of its place: a later record links to its predecessor";
  }
  if (verdict_.ok && !checkpoints_.empty() && checkpoints_.rbegin()->first > last_seq_) {
    Fail(last_seq_ + 1, "removed",
         "a checkpoint names record " + std::to_string(checkpoints_.rbegin()->first) +
             " but the trail ends at " + std::to_string(last_seq_));
  }
  verdict_.records = records_;
  return verdict_;
}

}  // namespace govpool::api
