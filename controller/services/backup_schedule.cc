#include "controller/services/backup_schedule.h"

#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace govpool::controller {
namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kWeek = 7 * kDay;
// 1970-01-01 was a Thursday: days after Thursday, by name.
constexpr std::array<std::string_view, 7> kDaysFromThursday{"thu", "fri", "sat", "sun", "mon", "tue", "wed"};

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgument("schedule '" + std::string(text) + "': " + std::string(why) +
                         "; use \"hourly [:MM]\", \"daily HH:MM\", \"weekly DAY HH:MM\" (DAY: mon..sun) "
                         "or \"every N[m|h]\", in UTC");
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Digits only, within [lo, hi].
bool Number(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (s.empty() || s.size() > 6) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= lo && out <= hi;
}

// "HH:MM" -> milliseconds after midnight.
bool TimeOfDay(std::string_view s, std::int64_t& out) {
  const auto colon = s.find(':');
  std::int64_t h = 0, m = 0;
  if (colon == std::string_view::npos || colon == 0 || s.size() - colon != 3) return false;
  if (!Number(s.substr(0, colon), 0, 23, h) || !Number(s.substr(colon + 1), 0, 59, m)) return false;
  out = h * kHour + m * kMinute;
  return true;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Result<BackupSchedule> ParseBackupSchedule(std::string_view text) {
  const std::vector<std::string_view> w = Words(text);
  if (w.empty()) return Bad(text, "empty");
  if (w[0] == "hourly") {
    if (w.size() == 1) return BackupSchedule{kHour, 0};
    std::int64_t m = 0;
    if (w.size() != 2 || w[1].size() != 3 || w[1][0] != ':' || !Number(w[1].substr(1), 0, 59, m)) {
      return Bad(text, "an hourly schedule takes a minute as \":MM\"");
    }
    return BackupSchedule{kHour, m * kMinute};
  }
  if (w[0] == "daily") {
    std::int64_t t = 0;
    if (w.size() != 2 || !TimeOfDay(w[1], t)) return Bad(text, "a daily schedule takes a time as \"HH:MM\"");
    return BackupSchedule{kDay, t};
  }
  if (w[0] == "weekly") {
    std::int64_t t = 0;
    if (w.size() != 3 || !TimeOfDay(w[2], t)) return Bad(text, "a weekly schedule takes a day and \"HH:MM\"");
    for (std::size_t d = 0; d < kDaysFromThursday.size(); ++d) {
      if (w[1] == kDaysFromThursday[d]) return BackupSchedule{kWeek, static_cast<std::int64_t>(d) * kDay + t};
    }
    return Bad(text, "unknown day '" + std::string(w[1]) + "'");
  }
  if (w[0] == "every") {
    std::int64_t n = 0;
    if (w.size() == 2 && w[1].size() >= 2) {
      const char unit = w[1].back();
      const std::string_view digits = w[1].substr(0, w[1].size() - 1);
      if (unit == 'm' && Number(digits, 1, 7 * 24 * 60, n)) return BackupSchedule{n * kMinute, 0};
      if (unit == 'h' && Number(digits, 1, 7 * 24, n)) return BackupSchedule{n * kHour, 0};
    }
    return Bad(text, "\"every\" takes a number of minutes (\"30m\", at most a week) or hours (\"6h\")");
  }
  return Bad(text, "unknown kind '" + std::string(w[0]) + "'");
}

std::int64_t LastBackupSlot(const BackupSchedule& s, std::int64_t at_ms) {
  return FloorDiv(at_ms - s.offset_ms, s.period_ms) * s.period_ms + s.offset_ms;
}

std::int64_t NextBackupSlot(const BackupSchedule& s, std::int64_t after_ms) {
  return LastBackupSlot(s, after_ms) + s.period_ms;
}

}  // namespace govpool::controller
