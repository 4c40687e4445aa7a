// ovsdb::Client against a real OVN Northbound database (ovsdb-server from OVN 23.03): the one
// GOVPOOL_TEST_OVN_NB names (scripts/test.sh exports it), else the local instance that
// scripts/start-ovn.sh starts (idempotent): the suite never skips. Every row it makes carries
// external_ids:govpool-test-run=<this run's id> and is deleted at the end.
//   - list_dbs, get_schema, echo; connect errors; a TCP connection kept alive across the
//     server's inactivity probe (the client answers `echo`).
//   - transact: a Logical_Switch with external_ids:govpool-network-id inserted and selected back.
//   - monitor_cond (with a condition on external_ids) and monitor: the initial rows, then the
//     insert and the delete.
//   - bad transactions: an unknown column (InvalidArgument, OVSDB's text kept, nothing
//     committed), an unknown database (NotFound).
//   - concurrent transactions from several threads on one Client.
#include "network/ovsdb/ovsdb_client.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "tests/support/test_guest.h"

namespace govpool::ovsdb {
namespace {
namespace json = boost::json;
using govpool::testing::RunProjectScript;
using govpool::testing::TestStateDir;

constexpr char kNb[] = "OVN_Northbound";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

struct Suite {
  std::string nb;      // unix:... (or whatever GOVPOOL_TEST_OVN_NB says)
  std::string nb_tcp;  // tcp:127.0.0.1:6641 unless told otherwise
  std::string run = "t-" + NewUuid().substr(0, 8);
};
Suite* suite = nullptr;

json::value Map(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  json::array items;
  for (const auto& [k, v] : pairs) items.push_back(json::array{json::string(k), json::string(v)});
  return json::array{"map", std::move(items)};
}

// The condition every row of this run matches.
json::array OursWhere() {
  return json::array{json::array{"external_ids", "includes", Map({{"govpool-test-run", suite->run}})}};
}

json::object InsertSwitch(const std::string& name, const std::string& network_id) {
  return json::object{{"op", "insert"},
                      {"table", "Logical_Switch"},
                      {"row", json::object{{"name", name},
                                           {"external_ids", Map({{"govpool-test-run", suite->run},
                                                                 {"govpool-network-id", network_id}})}}}};
}

std::string UuidOf(const json::value& uuid_pair) {  // ["uuid","..."]
  return std::string(uuid_pair.as_array().at(1).as_string());
}

std::unique_ptr<Client> MustConnect(const std::string& remote) {
  auto c = Client::Connect(remote);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

// Collects monitor callbacks; Wait blocks until `pred` holds over them (5 s at most).
class Recorder {
 public:
  UpdateCallback Callback() {
    return [this](const TableUpdates& u) {
      std::lock_guard<std::mutex> lock(mu_);
      updates_.push_back(u);
      cv_.notify_all();
    };
  }
  template <typename Pred>
  bool Wait(Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return pred(updates_); });
  }
  std::vector<TableUpdates> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return updates_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<TableUpdates> updates_;
};

// True when some update (after the initial one) has, for row `uuid` of Logical_Switch, the key
// `kind` ("insert"/"delete" for update2; "new"/"old" alone for update).
bool HasRowUpdate(const std::vector<TableUpdates>& updates, const std::string& uuid, const std::string& kind,
                  bool initial = false) {
  for (const TableUpdates& u : updates) {
    if (u.initial != initial) continue;
    const json::value* table = u.tables.if_contains("Logical_Switch");
    if (table == nullptr) continue;
    const json::value* row = table->as_object().if_contains(uuid);
    if (row == nullptr) continue;
    const json::object& r = row->as_object();
    if (kind == "new") {
      if (r.contains("new") && !r.contains("old")) return true;
    } else if (kind == "old") {
      if (r.contains("old") && !r.contains("new")) return true;
    } else if (r.contains(kind)) {
      return true;
    }
  }
  return false;
}

class OvsdbClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite = new Suite;
    suite->nb = Env("GOVPOOL_TEST_OVN_NB");
    if (suite->nb.empty()) {
      const std::string dir = Env("GOVPOOL_OVN_DIR").empty() ? TestStateDir() + "/ovn" : Env("GOVPOOL_OVN_DIR");
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_EQ(RunProjectScript("start-ovn.sh >/dev/null"), 0)
          << "scripts/start-ovn.sh failed: the test needs the local OVN (see docs/networking.md; "
             "logs in "
          << dir << "/log)";
      std::cerr << "[timing] start-ovn.sh: "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
      suite->nb = "unix:" + dir + "/run/ovnnb_db.sock";
    }
    suite->nb_tcp = Env("GOVPOOL_TEST_OVN_NB_TCP");
    if (suite->nb_tcp.empty()) {
      suite->nb_tcp = "tcp:127.0.0.1:" + (Env("GOVPOOL_OVN_NB_PORT").empty() ? std::string("6641")
                                                                              : Env("GOVPOOL_OVN_NB_PORT"));
    }
  }
  static void TearDownTestSuite() {
    // Whatever a failed test left: every row of this run.
    auto c = Client::Connect(suite->nb);
    if (c.ok()) {
      auto r = (*c)->Transact(kNb, json::array{json::object{
                                       {"op", "delete"}, {"table", "Logical_Switch"}, {"where", OursWhere()}}});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(r->at(0).at("count").as_int64(), 0) << "a test left rows behind";
      }
    }
    delete suite;
    suite = nullptr;
  }

  // Selects this run's switches: name -> external_ids govpool-network-id.
  static json::array SelectOurs(Client& c) {
    auto r = c.Transact(kNb, json::array{json::object{{"op", "select"},
                                                      {"table", "Logical_Switch"},
                                                      {"where", OursWhere()},
                                                      {"columns", json::array{"_uuid", "name", "external_ids"}}}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->at(0).at("rows").as_array() : json::array{};
  }
};

TEST_F(OvsdbClientTest, ListDbsGetSchemaAndEcho) {
  auto c = MustConnect(suite->nb);
  ASSERT_NE(c, nullptr);
  auto dbs = c->ListDbs();
  ASSERT_TRUE(dbs.ok()) << dbs.status().ToString();
  EXPECT_NE(std::find(dbs->begin(), dbs->end(), kNb), dbs->end());

  auto schema = c->GetSchema(kNb);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->at("name").as_string(), kNb);
  EXPECT_TRUE(schema->at("tables").as_object().contains("Logical_Switch"));

  auto missing = c->GetSchema("No_Such_Db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("unknown database"), std::string::npos);

  EXPECT_TRUE(c->Echo().ok());
  EXPECT_TRUE(c->connected());
}

TEST_F(OvsdbClientTest, ConnectErrors) {
  auto bad_form = Client::Connect("ovsdb.example:6641");
  ASSERT_FALSE(bad_form.ok());
  EXPECT_EQ(bad_form.status().code(), StatusCode::kInvalidArgument);

  auto no_socket = Client::Connect("unix:" + TestStateDir() + "/no-such-ovsdb.sock");
  ASSERT_FALSE(no_socket.ok());
  EXPECT_EQ(no_socket.status().code(), StatusCode::kUnavailable) << no_socket.status().ToString();

  auto refused = Client::Connect("tcp:127.0.0.1:1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
}

TEST_F(OvsdbClientTest, TransactInsertSelectAndMonitorSeesInitialInsertDelete) {
  // The recorders outlive the watcher: its reader thread may still run the "plain" monitor's
  // callback (for the cleanup's delete) until the watcher is destroyed.
  Recorder cond;   // monitor_cond, only this run's rows
  Recorder plain;  // monitor, every Logical_Switch
  auto writer = MustConnect(suite->nb);
  auto watcher = MustConnect(suite->nb);
  ASSERT_TRUE(writer && watcher);

  // A row that exists before the monitors start: it must come in their initial contents.
  auto pre = writer->Transact(kNb, json::array{InsertSwitch("gp-pre-" + suite->run, "pre")});
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  const std::string pre_uuid = UuidOf(pre->at(0).at("uuid"));

  ASSERT_TRUE(watcher
                  ->MonitorCond(kNb, "cond", {{.table = "Logical_Switch", .columns = {"name", "external_ids"},
                                               .where = OursWhere()}},
                                cond.Callback())
                  .ok());
  ASSERT_TRUE(watcher
                  ->Monitor(kNb, "plain", {{.table = "Logical_Switch", .columns = {"name"}, .where = {}}},
                            plain.Callback())
                  .ok());
  // The initial contents arrived before MonitorCond/Monitor returned.
  EXPECT_TRUE(HasRowUpdate(cond.Snapshot(), pre_uuid, "initial", /*initial=*/true));
  EXPECT_TRUE(HasRowUpdate(plain.Snapshot(), pre_uuid, "new", /*initial=*/true));
  ASSERT_EQ(cond.Snapshot().size(), 1u);
  EXPECT_EQ(cond.Snapshot()[0].tables.at("Logical_Switch").as_object().size(), 1u)
      << "the condition lets only this run's rows through";
  // A second monitor with the same id is refused locally.
  EXPECT_EQ(watcher->MonitorCond(kNb, "cond", {{.table = "Logical_Switch", .columns = {}, .where = {}}},
                                 cond.Callback())
                .code(),
            StatusCode::kAlreadyExists);

  // Insert, then select it back by its govpool-network-id.
  const std::string network_id = NewUuid();
  const std::string name = "gp-net-" + suite->run;
  const auto t0 = std::chrono::steady_clock::now();
  auto ins = writer->Transact(kNb, json::array{InsertSwitch(name, network_id)});
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  const std::string uuid = UuidOf(ins->at(0).at("uuid"));
  auto sel = writer->Transact(
      kNb, json::array{json::object{
               {"op", "select"},
               {"table", "Logical_Switch"},
               {"where", json::array{json::array{"external_ids", "includes",
                                                 Map({{"govpool-network-id", network_id}})}}},
               {"columns", json::array{"_uuid", "name", "external_ids"}}}});
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  const json::array& rows = sel->at(0).at("rows").as_array();
  ASSERT_EQ(rows.size(), 1u) << json::serialize(*sel);
  EXPECT_EQ(UuidOf(rows[0].at("_uuid")), uuid);
  EXPECT_EQ(rows[0].at("name").as_string(), name);
  bool has_network_id = false;
  for (const json::value& kv : rows[0].at("external_ids").as_array().at(1).as_array()) {
    if (kv.as_array().at(0) == "govpool-network-id" && kv.as_array().at(1) == json::value(network_id)) {
      has_network_id = true;
    }
  }
  EXPECT_TRUE(has_network_id) << json::serialize(rows[0]);

  ASSERT_TRUE(cond.Wait([&](const auto& u) { return HasRowUpdate(u, uuid, "insert"); }))
      << "no update2 insert for " << uuid;
  std::cerr << "[timing] insert -> monitor_cond update2: "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
            << " ms\n";
  ASSERT_TRUE(plain.Wait([&](const auto& u) { return HasRowUpdate(u, uuid, "new"); }));

  // Delete both rows: the monitors see the deletes.
  auto del = writer->Transact(kNb, json::array{json::object{
                                       {"op", "delete"}, {"table", "Logical_Switch"}, {"where", OursWhere()}}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ(del->at(0).at("count").as_int64(), 2);
  EXPECT_TRUE(cond.Wait([&](const auto& u) {
    return HasRowUpdate(u, uuid, "delete") && HasRowUpdate(u, pre_uuid, "delete");
  }));
  EXPECT_TRUE(plain.Wait([&](const auto& u) { return HasRowUpdate(u, uuid, "old"); }));

  // Cancelled: no more callbacks.
  ASSERT_TRUE(watcher->MonitorCancel("cond").ok());
  EXPECT_EQ(watcher->MonitorCancel("cond").code(), StatusCode::kNotFound);
  const std::size_t seen = cond.Snapshot().size();
  auto again = writer->Transact(kNb, json::array{InsertSwitch("gp-after-" + suite->run, "after")});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  const std::string after_uuid = UuidOf(again->at(0).at("uuid"));
  ASSERT_TRUE(plain.Wait([&](const auto& u) { return HasRowUpdate(u, after_uuid, "new"); }));
  EXPECT_EQ(cond.Snapshot().size(), seen);
  auto cleanup = writer->Transact(kNb, json::array{json::object{
                                           {"op", "delete"}, {"table", "Logical_Switch"}, {"where", OursWhere()}}});
  ASSERT_TRUE(cleanup.ok()) << cleanup.status().ToString();
  EXPECT_TRUE(SelectOurs(*writer).empty());
}

TEST_F(OvsdbClientTest, BadTransactionsGiveClearErrorsAndCommitNothing) {
  auto c = MustConnect(suite->nb);
  ASSERT_NE(c, nullptr);
  // A good insert followed by one with an unknown column: the whole transaction is refused.
  json::object bad = InsertSwitch("gp-bad-" + suite->run, "bad");
  bad["row"].as_object()["no_such_column"] = 1;
  auto r = c->Transact(kNb, json::array{InsertSwitch("gp-good-" + suite->run, "good"), bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("operation 1 (insert on Logical_Switch)"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("no_such_column"), std::string::npos) << r.status().message();
  std::cerr << "[error] " << r.status().ToString() << "\n";
  EXPECT_TRUE(SelectOurs(*c).empty()) << "the good insert was rolled back with the bad one";

  // A wrong type for a column.
  json::object wrong_type = InsertSwitch("gp-type-" + suite->run, "type");
  wrong_type["row"].as_object()["name"] = 42;
  auto t = c->Transact(kNb, json::array{wrong_type});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << t.status().ToString();

  auto unknown_db = c->Transact("No_Such_Db", json::array{json::object{{"op", "comment"}, {"comment", "x"}}});
  ASSERT_FALSE(unknown_db.ok());
  EXPECT_EQ(unknown_db.status().code(), StatusCode::kNotFound) << unknown_db.status().ToString();

  // The connection is still usable.
  EXPECT_TRUE(c->Echo().ok());
}

TEST_F(OvsdbClientTest, ErrorMapping) {
  EXPECT_EQ(ErrorStatus("x", "referential integrity violation", "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorStatus("x", "constraint violation",
                        "Transaction causes multiple rows in \"Logical_Switch\" table to have identical values")
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorStatus("x", "constraint violation", "value out of range").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorStatus("x", "resources exhausted", "").code(), StatusCode::kResourceExhausted);
  const Status s = ErrorStatus("ctx", "syntax error", "bad op");
  EXPECT_EQ(s.message(), "ctx: ovsdb error \"syntax error\": bad op");
}

TEST_F(OvsdbClientTest, ConcurrentTransactionsOnOneClient) {
  auto c = MustConnect(suite->nb);
  ASSERT_NE(c, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string name = "gp-cc-" + suite->run + "-" + std::to_string(t) + "-" + std::to_string(i);
        auto r = c->Transact(kNb, json::array{InsertSwitch(name, name)});
        if (!r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(r.status().ToString());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(SelectOurs(*c).size(), static_cast<std::size_t>(kThreads * kEach));
  auto del = c->Transact(kNb, json::array{json::object{
                                  {"op", "delete"}, {"table", "Logical_Switch"}, {"where", OursWhere()}}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ(del->at(0).at("count").as_int64(), kThreads * kEach);
}

// Over TCP ovsdb-server probes an idle client with `echo` after 5 s and drops it 5 s later when
// unanswered (unix sockets are not probed). Idle 12 s: still connected, still answering.
TEST_F(OvsdbClientTest, TcpConnectionSurvivesTheServersInactivityProbe) {
  auto c = MustConnect(suite->nb_tcp);
  ASSERT_NE(c, nullptr) << "NB over TCP at " << suite->nb_tcp;
  auto dbs = c->ListDbs();
  ASSERT_TRUE(dbs.ok()) << dbs.status().ToString();
  std::this_thread::sleep_for(std::chrono::seconds(12));
  EXPECT_TRUE(c->connected());
  auto again = c->ListDbs();
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

}  // namespace
}  // namespace govpool::ovsdb
