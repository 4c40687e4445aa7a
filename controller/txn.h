// Txn: one write transaction of the controller's state: the revision it writes at, its time,
// and the records it changed (which Db makes durable in one commit).
// Not synchronised: used by one writer under Db's exclusive lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/state_store.h"

namespace govpool::controller {

class Txn {
 public:
  Txn(std::int64_t revision, std::int64_t now_ms) : revision_(revision), now_ms_(now_ms) {}
  std::int64_t revision() const { return revision_; }
  std::int64_t now_ms() const { return now_ms_; }
  void Put(std::string kind, std::string id, std::string value) {
    mutations_.push_back({std::move(kind), std::move(id), std::move(value)});
  }
  void Delete(std::string kind, std::string id) {
    mutations_.push_back({std::move(kind), std::move(id), std::nullopt});
  }
  std::vector<Mutation>& mutations() { return mutations_; }

 private:
  std::int64_t revision_;
  std::int64_t now_ms_;
  std::vector<Mutation> mutations_;
};

}  // namespace govpool::controller
