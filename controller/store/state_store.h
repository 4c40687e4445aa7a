// StateStore: the controller's durable state, as records (kind, id) -> JSON value plus one
// store-wide revision counter. The controller keeps the whole state in memory and uses the
// store as its durable log: Apply() commits a batch atomically and durably; Load() reads
// everything back at start-up. The embedded default is SqliteStateStore; an etcd store can
// implement the same contract for HA.
//
// Thread-safety: Apply and Load may be called from any thread but not concurrently with each
// other (the controller has one committer thread).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace govpool::controller {

struct Mutation {
  std::string kind;                  // "department", "vm", ...
  std::string id;
  std::optional<std::string> value;  // nullopt: delete the record
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Atomically applies `batch` and records `revision` as the store revision. On OK the batch
  // is durable (survives SIGKILL and power loss once fsync returns). On error nothing of the
  // batch is applied. Unavailable: I/O failure (disk full...).
  virtual Status Apply(const std::vector<Mutation>& batch, std::int64_t revision) = 0;

  // Calls `record` for every stored record (in no particular order) and returns the store
  // revision (0 for a new store). Internal when a record cannot be read.
  virtual Status Load(const std::function<void(const std::string& kind, const std::string& id,
                                               const std::string& value)>& record,
                      std::int64_t* revision) = 0;
};

}  // namespace govpool::controller
