// WatchHub's limits: held watches per host and in all; one above a limit is answered at once
// with ResourceExhausted (429), and a freed slot takes the next one.
#include "controller/watch_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "controller/services/services.h"
#include "tests/fakes/common/fake_clock.h"
#include "tests/fakes/controller/fake_db.h"
#include "tests/fakes/controller/fake_state_store.h"

namespace govpool::controller {
namespace {

class WatchHubLimitsTest : public ::testing::Test {
 protected:
  WatchHubLimitsTest() {
    auto db = testing::OpenFakeDb(data_, clock_);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    // A revision above 0: a watch of revision 0 is answered at once.
    db_->Write([](State& s, Txn& t) {
      IdempotencyRecord r{"key", "request-hash", 201, "{}", t.now_ms()};
      s.Save(t, r);
      return 0;
    });
  }
  // A watch that would be held (the watcher has seen the current revision), counted in
  // `answers` and `refusals` when answered.
  void Hold(WatchHub& hub, const std::string& host, std::int64_t timeout_ms = 60'000) {
    const std::int64_t revision = db_->Read([](const State& s) { return s.revision(); });
    hub.Watch(host, revision, timeout_ms, [this](Result<WatchResult> r) {
      if (!r.ok() && r.status().code() == StatusCode::kResourceExhausted) {
        ++refusals_;
      } else {
        ++answers_;
      }
    });
  }
  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }

  std::shared_ptr<testing::FakeStoreData> data_ = std::make_shared<testing::FakeStoreData>();
  testing::FakeClock clock_;
  std::unique_ptr<Db> db_;
  std::atomic<int> answers_{0};
  std::atomic<int> refusals_{0};
};

TEST_F(WatchHubLimitsTest, AHostHoldsAtMostItsShareOfWatches) {
  WatchHub hub(*db_, WatchHubOptions{.tick_ms = 5, .max_held_per_host = 2, .max_held = 100});
  for (int i = 0; i < 50; ++i) Hold(hub, "host-a");
  EXPECT_EQ(refusals_.load(), 48);
  EXPECT_EQ(hub.held(), 2u);
  Hold(hub, "host-b");
  EXPECT_EQ(hub.held(), 3u) << "another host's watch is not refused";
  // Once host-a's watches end (their timeout), it may hold again.
  Hold(hub, "host-c", 1);
  Hold(hub, "host-c", 1);
  ASSERT_TRUE(WaitFor([&] { return hub.held() == 3u; }));
  Hold(hub, "host-c");
  EXPECT_EQ(hub.held(), 4u);
  EXPECT_EQ(refusals_.load(), 48);
}

TEST_F(WatchHubLimitsTest, TheHubHoldsAtMostItsLimitInAll) {
  WatchHub hub(*db_, WatchHubOptions{.tick_ms = 5, .max_held_per_host = 4, .max_held = 10});
  for (int i = 0; i < 30; ++i) Hold(hub, "host-" + std::to_string(i));
  EXPECT_EQ(hub.held(), 10u);
  EXPECT_EQ(refusals_.load(), 20);
  EXPECT_EQ(answers_.load(), 0);
}

}  // namespace
}  // namespace govpool::controller
