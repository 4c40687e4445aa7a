// FakeStateStore: an in-memory StateStore with fault injection, for tests of Db (group commit,
// durability waits, commit failure and reload). Its records live in a shared FakeStoreData
// that the test keeps after handing the store to Db, so the test can inspect what was made
// "durable", make the next Apply() calls fail, or hold Apply() on a gate.
// Thread-safety: FakeStoreData is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "controller/store/state_store.h"
#include "tests/fakes/common/fake_clock.h"

namespace govpool::controller::testing {

struct FakeStoreData {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::pair<std::string, std::string>, std::string> records;
  std::int64_t revision = 0;
  // Fault injection.
  int fail_next_applies = 0;  // each failing Apply() returns Unavailable and applies nothing
  int fail_next_loads = 0;
  bool hold_applies = false;  // Apply() waits while true
  // Observations.
  int applies = 0;            // successful Apply() calls
  int failed_applies = 0;
  int apply_waiters = 0;      // Apply() calls currently held at the gate
  std::vector<std::size_t> batch_sizes;       // mutations per successful Apply()
  std::vector<std::int64_t> batch_revisions;  // revision per successful Apply()
  std::vector<api::AuditRecord> audit;        // audit records made durable, in order
  std::vector<std::size_t> batch_audit_sizes; // audit records per successful Apply()
  // Utilisation rollups: (group, key, hour) -> figures; writes that stored rows.
  std::map<std::tuple<std::string, std::string, std::int64_t>, api::UtilisationFigures> utilisation;
  int utilisation_puts = 0;

  void Hold() {
    std::lock_guard lock(mu);
    hold_applies = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu);
      hold_applies = false;
    }
    cv.notify_all();
  }
  // Waits until an Apply() is held at the gate (or the timeout passes).
  bool WaitForHeldApply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return apply_waiters > 0; });
  }
  std::size_t RecordCount(const std::string& kind) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& [key, value] : records) n += key.first == kind;
    return n;
  }
};

class FakeStateStore final : public StateStore {
 public:
  explicit FakeStateStore(std::shared_ptr<FakeStoreData> data) : data_(std::move(data)) {}

  Status Apply(const std::vector<Mutation>& batch, std::int64_t revision,
               const AuditBatch& audit) override {
    std::unique_lock lock(data_->mu);
    if (data_->hold_applies) {
      ++data_->apply_waiters;
      data_->cv.notify_all();
      data_->cv.wait(lock, [&] { return !data_->hold_applies; });
      --data_->apply_waiters;
    }
    if (data_->fail_next_applies > 0) {
      --data_->fail_next_applies;
      ++data_->failed_applies;
      return Unavailable("fake store: injected commit failure");
    }
    for (const Mutation& m : batch) {
      if (m.value) {
        data_->records[{m.kind, m.id}] = *m.value;
      } else {
        data_->records.erase({m.kind, m.id});
      }
    }
    data_->revision = revision;
    ++data_->applies;
    data_->batch_sizes.push_back(batch.size());
    data_->batch_revisions.push_back(revision);
    data_->audit.insert(data_->audit.end(), audit.records.begin(), audit.records.end());
    data_->batch_audit_sizes.push_back(audit.records.size());
    data_->cv.notify_all();
    return OkStatus();
  }

  Status Load(const std::function<void(const std::string&, const std::string&,
                                       const std::string&)>& record,
              std::int64_t* revision) override {
    std::map<std::pair<std::string, std::string>, std::string> copy;
    {
      std::lock_guard lock(data_->mu);
      if (data_->fail_next_loads > 0) {
        --data_->fail_next_loads;
        return Internal("fake store: injected load failure");
      }
      copy = data_->records;
      *revision = data_->revision;
    }
    for (const auto& [key, value] : copy) record(key.first, key.second, value);
    return OkStatus();
  }

  Status PutUtilisation(const std::vector<UtilisationRow>& rows) override {
    std::lock_guard lock(data_->mu);
    for (const UtilisationRow& r : rows) data_->utilisation[{r.group, r.key, r.hour.hour_ms}] = r.hour.figures;
    ++data_->utilisation_puts;
    return OkStatus();
  }
  Status ScanUtilisation(const std::string& group, std::int64_t from_ms, std::int64_t to_ms,
                         const std::function<void(const UtilisationRow&)>& each) override {
    std::vector<UtilisationRow> rows;
    {
      std::lock_guard lock(data_->mu);
      for (const auto& [at, figures] : data_->utilisation) {
        const auto& [g, key, hour] = at;
        if (g == group && hour >= from_ms && hour < to_ms) rows.push_back({g, key, {hour, figures}});
      }
    }
    for (const UtilisationRow& r : rows) each(r);
    return OkStatus();
  }
  Result<std::int64_t> DropUtilisationBefore(std::int64_t ms) override {
    std::lock_guard lock(data_->mu);
    return static_cast<std::int64_t>(std::erase_if(data_->utilisation, [&](const auto& row) { return std::get<2>(row.first) < ms; }));
  }

 private:
  std::shared_ptr<FakeStoreData> data_;
};

// One FakeClock for every test (tests/fakes/common/fake_clock.h), also reachable as
// controller::testing::FakeClock.
using govpool::testing::FakeClock;

}  // namespace govpool::controller::testing
