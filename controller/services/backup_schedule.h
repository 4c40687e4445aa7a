// Backup policies' schedules: when a policy's backups are due. Pure functions, UTC.
//
// The grammar (docs/storage.md, "Backups"):
//   "hourly"            every hour on the hour        "hourly :MM"        at minute MM
//   "daily HH:MM"       every day                     "weekly DAY HH:MM"  DAY: mon..sun
//   "every N[m|h]"      every N minutes/hours (at multiples of N since 1970-01-01 00:00)
// Every schedule is a period and an offset from the Unix epoch, so "the next slot" is one
// division; missed slots (a controller that was down) collapse into one run.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace govpool::controller {

struct BackupSchedule {
  std::int64_t period_ms = 0;  // > 0
  std::int64_t offset_ms = 0;  // in [0, period_ms)
  bool operator==(const BackupSchedule&) const = default;
};

// InvalidArgument (with the grammar in the message) for anything else.
Result<BackupSchedule> ParseBackupSchedule(std::string_view text);

// The first slot strictly after `after_ms`.
std::int64_t NextBackupSlot(const BackupSchedule& schedule, std::int64_t after_ms);

// The last slot at or before `at_ms`.
std::int64_t LastBackupSlot(const BackupSchedule& schedule, std::int64_t at_ms);

}  // namespace govpool::controller
