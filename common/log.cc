#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "common/clock.h"
#include "common/strings.h"

namespace govpool::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return InvalidArgument("log level must be debug, info, warn or error, not '" + std::string(name) + "'");
}

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

std::string FormatLine(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string line = "{\"ts\":\"" + FormatRfc3339(SystemClock().Now()) + "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  line += JsonQuote(msg);
  for (const Field& f : fields) {
    line += ',';
    line += JsonQuote(f.key);
    line += ':';
    if (auto* s = std::get_if<std::string>(&f.value)) {
      line += JsonQuote(*s);
    } else if (auto* i = std::get_if<std::int64_t>(&f.value)) {
      line += std::to_string(*i);
    } else if (auto* d = std::get_if<double>(&f.value)) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", *d);
      line += buf;
    } else {
      line += std::get<bool>(f.value) ? "true" : "false";
    }
  }
  line += '}';
  return line;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line = FormatLine(level, msg, fields);
  line += '\n';
  // One write(2) per line keeps concurrent lines whole.
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace govpool::log
