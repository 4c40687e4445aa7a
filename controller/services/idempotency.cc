#include "controller/services/services.h"

namespace govpool::controller {

std::int64_t ExpireIdempotencyRecords(State& s, Txn& t, std::int64_t max_age_ms) {
  std::vector<std::string> expired;
  for (const auto& [id, r] : s.idempotency()) {
    if (t.now_ms() - r.created_at_ms > max_age_ms) expired.push_back(id);
  }
  for (const auto& id : expired) s.Remove<IdempotencyRecord>(t, id);
  return static_cast<std::int64_t>(expired.size());
}

}  // namespace govpool::controller
