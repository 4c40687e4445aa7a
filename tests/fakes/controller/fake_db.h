// OpenFakeDb: a Db over a FakeStateStore that shares `data` (so a test can reopen the same
// records, or inject faults), with the default scheduler configuration.
#pragma once

#include <memory>
#include <utility>

#include "controller/db.h"
#include "tests/fakes/controller/fake_state_store.h"

namespace govpool::controller::testing {

inline Result<std::unique_ptr<Db>> OpenFakeDb(std::shared_ptr<FakeStoreData> data, const Clock& clock) {
  return Db::Open(std::make_unique<FakeStateStore>(std::move(data)), clock, [] {
    return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value();
  });
}

}  // namespace govpool::controller::testing
