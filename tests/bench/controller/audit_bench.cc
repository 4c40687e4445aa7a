// The audit trail at scale (docs/performance.md, "Audit trail"): N audit records (default
// 10^6) committed through Db's group commit into a real SQLite state store, in batches the
// way concurrent requests arrive (--batch records per commit), then the whole trail
// verified. Prints one JSON object: write throughput, verify time, database size, and the
// same writes' cost as plain state records (the store without the audit trail) for scale.
//
// Then the control plane's write path with the trail on and off: --writes creates (default
// 10,000) from --clients threads (default 64), each a Db::Write of a VM-sized record answered
// after WhenDurable, as ApiHandler does; "on" adds each request's record through a
// RequestAudit slot, "off" does not (a comparison only: the controller has no "off").
//
//   audit_bench [--records N] [--batch B] [--dir DIR] [--writes N] [--clients C]
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "controller/audit_trail.h"
#include "controller/db.h"
#include "controller/store/sqlite_state_store.h"

namespace {

using namespace govpool;
using namespace govpool::controller;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

std::int64_t FileBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

std::int64_t DbBytes(const std::string& path) {
  return FileBytes(path) + FileBytes(path + "-wal");
}

AuditEntry Sample(std::int64_t i) {
  AuditEntry e;
  e.user = "user" + std::to_string(i % 100);
  e.user_id = "6f1c0b52-8d3a-4c6e-9f7b-" + std::to_string(100000000000 + i % 100);
  e.role = "dept-admin";
  e.source = "10.0.0." + std::to_string(i % 250);
  e.method = i % 4 == 0 ? "POST" : "GET";
  e.route = "/v1/vms/{id}";
  e.object_id = "0b4e7c1a-2f3d-4e5f-8a9b-" + std::to_string(100000000000 + i);
  e.department_id = "d2c4e6f8-1a3b-4c5d-9e7f-000000000001";
  e.outcome = "allowed";
  e.status = 200;
  if (e.method == "POST") e.body_sha256 = std::string(64, 'a');
  return e;
}

SchedulerFactory Schedulers() {
  return [] { return std::move(scheduler::Scheduler::Create(scheduler::Config{})).value(); };
}

// Seconds for `writes` creates from `clients` threads, each answered once durable.
double ControlPlaneWrites(const std::string& path, std::int64_t writes, int clients, bool audit) {
  auto store = SqliteStateStore::Open(path);
  if (!store.ok()) return -1;
  AuditOptions options;
  options.key = std::string(32, 'k');
  auto db = Db::Open(std::move(store).value(), SystemClock(), Schedulers(), options);
  if (!db.ok()) return -1;
  const std::string value(2000, 'v');  // about a VM record's size
  const auto start = Steady::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (std::int64_t i = c; i < writes; i += clients) {
        std::promise<void> answered;
        auto write = [&] {
          (*db)->Write([&](State&, Txn& t) {
            t.Put("bench", std::to_string(i), value);
            return 0;
          });
        };
        if (audit) {
          RequestAudit request(**db);
          {
            RequestAudit::Scope bind(request);
            write();
          }
          request.Finish(Sample(i));
        } else {
          write();
        }
        (*db)->WhenDurable([&](Status) { answered.set_value(); });
        answered.get_future().wait();
      }
    });
  }
  for (auto& t : threads) t.join();
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t records = 1'000'000;
  std::int64_t batch = 64;
  std::int64_t writes = 10'000;
  int clients = 64;
  std::string dir = std::filesystem::temp_directory_path().string() + "/govpool-audit-bench-" + std::to_string(::getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--records") records = std::stoll(argv[i + 1]);
    else if (flag == "--batch") batch = std::stoll(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--writes") writes = std::stoll(argv[i + 1]);
    else if (flag == "--clients") clients = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/state.db";
  AuditOptions options;
  options.key = std::string(32, 'k');

  double write_s = 0, verify_s = 0;
  std::int64_t verified = 0;
  bool ok = false;
  {
    auto store = SqliteStateStore::Open(path);
    if (!store.ok()) return 1;
    auto db = Db::Open(std::move(store).value(), SystemClock(), Schedulers(), options);
    if (!db.ok()) return 1;
    const auto start = Steady::now();
    for (std::int64_t i = 0; i < records; i += batch) {
      std::vector<AuditEntry> entries;
      for (std::int64_t j = i; j < std::min(records, i + batch); ++j) entries.push_back(Sample(j));
      (*db)->Audit(std::move(entries));
      // Let a few batches queue up, as concurrent requests do, then wait like an answer does.
      if ((i / batch) % 8 == 7) (void)(*db)->Sync();
    }
    (void)(*db)->Sync();
    write_s = Seconds(start);
    const auto vstart = Steady::now();
    auto v = VerifyAuditTrail((*db)->store(), options.key);
    verify_s = Seconds(vstart);
    if (v.ok()) {
      ok = v->ok;
      verified = v->records;
    }
  }
  const std::int64_t audit_bytes = DbBytes(path);

  // The same number of writes as plain state records of a similar size, no audit trail: what
  // the store costs without it.
  const std::string plain_path = dir + "/plain.db";
  double plain_s = 0;
  {
    auto store = SqliteStateStore::Open(plain_path);
    if (!store.ok()) return 1;
    const auto start = Steady::now();
    std::int64_t revision = 0;
    for (std::int64_t i = 0; i < records; i += batch * 8) {
      std::vector<Mutation> muts;
      for (std::int64_t j = i; j < std::min(records, i + batch * 8); ++j) {
        muts.push_back({"bench", std::to_string(j), std::string(300, 'x')});
      }
      (void)(*store)->Apply(muts, ++revision);
    }
    plain_s = Seconds(start);
  }
  const double off_s = ControlPlaneWrites(dir + "/off.db", writes, clients, false);
  const double on_s = ControlPlaneWrites(dir + "/on.db", writes, clients, true);
  std::printf(
      "{\"control_plane_writes\": %lld, \"clients\": %d, \"audit_off_seconds\": %.3f,"
      " \"audit_on_seconds\": %.3f, \"audit_on_vs_off\": %.3f,\n",
      static_cast<long long>(writes), clients, off_s, on_s, on_s / off_s);
  std::printf(
      " \"records\": %lld, \"batch\": %lld, \"write_seconds\": %.3f, \"records_per_second\": %.0f,"
      " \"verify_seconds\": %.3f, \"verify_records_per_second\": %.0f, \"verified\": %lld, \"ok\": %s,"
      " \"db_bytes\": %lld, \"bytes_per_record\": %.1f, \"plain_state_write_seconds\": %.3f}\n",
      static_cast<long long>(records), static_cast<long long>(batch), write_s, records / write_s,
      verify_s, verified / std::max(verify_s, 1e-9), static_cast<long long>(verified), ok ? "true" : "false",
      static_cast<long long>(audit_bytes), static_cast<double>(audit_bytes) / static_cast<double>(records),
      plain_s);
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
