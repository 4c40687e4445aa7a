// rbd_clone_bench: how fast RbdBlockStorage makes a VM's root disk, i.e. a copy-on-write clone
// of a golden image's protected snapshot, on a real Ceph cluster. Prints JSON. Not a test; see
// docs/performance.md (target: a clone ready in <= 200 ms).
//
// In a pool of its own (created here, deleted at the end): a 1 GiB golden image with its first
// `--written_mib` MiB written (a root filesystem's used part), a protected snapshot "gold"; then
//   single  `--singles` clones one by one, each timed from CloneImage until GetImage sees it
//           with its parent and an ImageHandle on it is open (what the agent needs before it
//           defines the domain), removed again untimed;
//   burst   `--clones` clones in a row (timed each, and the whole run), then removed in a row
//           (timed each, and the whole run).
// Latencies are wall clock: this waits on the cluster, not on the CPU.
//
// Usage: rbd_clone_bench [--conf=PATH] [--clones=100] [--singles=20] [--written_mib=64]
//   --conf defaults to $GOVPOOL_TEST_CEPH_CONF, then $CEPH_CONF (scripts/start-ceph.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/drivers/ceph/rbd_block_storage.h"
#include "common/ids.h"

namespace govpool::agent {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kMiB = 1024 * 1024;

struct Options {
  std::string conf;
  int clones = 100;
  int singles = 20;
  std::int64_t written_mib = 64;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string Summary(std::vector<double> ms) {
  if (ms.empty()) return "{}";
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  double sum = 0;
  for (double v : ms) sum += v;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                R"({"n":%zu,"mean_ms":%.1f,"p50_ms":%.1f,"p95_ms":%.1f,"max_ms":%.1f})",
                ms.size(), sum / static_cast<double>(ms.size()), at(0.5), at(0.95), ms.back());
  return buf;
}

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "rbd_clone_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

void Check(const std::string& what, const Status& s) {
  if (!s.ok()) Die(what, s);
}

int Run(const Options& options) {
  RbdOptions rbd;
  rbd.conf_path = options.conf;
  auto connected = RbdBlockStorage::Connect(rbd);
  if (!connected.ok()) Die("connect", connected.status());
  RbdBlockStorage& bs = **connected;

  const std::string pool = "govpool-bench-" + NewUuid().substr(0, 8);
  Check("create pool", bs.MonCommand(R"({"prefix":"osd pool create","pool":")" + pool +
                                     R"(","pg_num":8,"pgp_num":8})")
                           .status());
  Check("enable rbd", bs.MonCommand(R"({"prefix":"osd pool application enable","pool":")" +
                                    pool + R"(","app":"rbd"})")
                          .status());

  // The golden image.
  const std::string base = "bench-golden";
  Check("create golden", bs.CreateImage(pool, base, 1024 * kMiB));
  {
    auto h = bs.OpenImage(pool, base);
    if (!h.ok()) Die("open golden", h.status());
    const std::string chunk(4 * kMiB, 'g');
    for (std::int64_t off = 0; off < options.written_mib * kMiB; off += 4 * kMiB) {
      Check("write golden", (*h)->Write(off, chunk));
    }
    Check("close golden", (*h)->Close());
  }
  Check("snapshot", bs.CreateSnapshot(pool, base, "gold", /*protect=*/true));

  const auto clone_ready = [&](const std::string& name) {
    Check("clone " + name, bs.CloneImage(pool, base, "gold", pool, name));
    auto info = bs.GetImage(pool, name);
    if (!info.ok() || info->parent.empty()) Die("get " + name, info.status());
    auto h = bs.OpenImage(pool, name);
    if (!h.ok()) Die("open " + name, h.status());
    Check("close " + name, (*h)->Close());
  };

  std::vector<double> single_ms;
  for (int i = 0; i < options.singles; ++i) {
    const std::string name = "bench-single-" + std::to_string(i);
    const auto t0 = Clock::now();
    clone_ready(name);
    single_ms.push_back(Ms(Clock::now() - t0));
    Check("remove " + name, bs.RemoveImage(pool, name));
  }

  std::vector<double> burst_ms, remove_ms;
  const auto burst0 = Clock::now();
  for (int i = 0; i < options.clones; ++i) {
    const auto t0 = Clock::now();
    clone_ready("bench-vm-" + std::to_string(i));
    burst_ms.push_back(Ms(Clock::now() - t0));
  }
  const double burst_total = Ms(Clock::now() - burst0);
  const auto remove0 = Clock::now();
  for (int i = 0; i < options.clones; ++i) {
    const std::string name = "bench-vm-" + std::to_string(i);
    const auto t0 = Clock::now();
    Check("remove " + name, bs.RemoveImage(pool, name));
    remove_ms.push_back(Ms(Clock::now() - t0));
  }
  const double remove_total = Ms(Clock::now() - remove0);

  Check("remove golden", bs.RemoveImage(pool, base));
  auto trash = bs.ListTrash(pool);
  const size_t trash_left = trash.ok() ? trash->size() : 0;
  Check("delete pool", bs.MonCommand(R"({"prefix":"osd pool delete","pool":")" + pool +
                                     R"(","pool2":")" + pool +
                                     R"(","yes_i_really_really_mean_it":true})")
                           .status());

  std::printf(
      "{\"golden_image_bytes\":%lld,\"golden_written_bytes\":%lld,"
      "\"clone_ready\":%s,\n \"burst\":{\"clones\":%d,\"total_ms\":%.0f,\"per_clone\":%s},\n"
      " \"remove\":{\"images\":%d,\"total_ms\":%.0f,\"per_image\":%s},\"trash_left\":%zu}\n",
      static_cast<long long>(1024 * kMiB), static_cast<long long>(options.written_mib * kMiB),
      Summary(single_ms).c_str(), options.clones, burst_total, Summary(burst_ms).c_str(),
      options.clones, remove_total, Summary(remove_ms).c_str(), trash_left);
  return 0;
}

}  // namespace
}  // namespace govpool::agent

int main(int argc, char** argv) {
  govpool::agent::Options options;
  for (const char* env : {"GOVPOOL_TEST_CEPH_CONF", "CEPH_CONF"}) {
    const char* v = std::getenv(env);
    if (options.conf.empty() && v != nullptr) options.conf = v;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return arg.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = value("--conf=")) {
      options.conf = v;
    } else if (const char* c = value("--clones=")) {
      options.clones = std::atoi(c);
    } else if (const char* s = value("--singles=")) {
      options.singles = std::atoi(s);
    } else if (const char* w = value("--written_mib=")) {
      options.written_mib = std::atoll(w);
    } else {
      std::fprintf(stderr,
                   "usage: rbd_clone_bench [--conf=PATH] [--clones=100] [--singles=20] "
                   "[--written_mib=64]\n");
      return 2;
    }
  }
  return govpool::agent::Run(options);
}
