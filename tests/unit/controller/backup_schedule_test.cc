// Unit tests of backup policies' schedules (controller/services/backup_schedule.h): every form
// of the grammar, refusals that name the grammar, and the next/last slot against UTC times
// worked out by hand (weekdays included), with missed slots collapsing into one run.
#include "controller/services/backup_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace govpool::controller {
namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kWeek = 7 * kDay;

// Milliseconds since the Unix epoch of a UTC date and time (std::chrono's civil calendar, not
// the code under test).
std::int64_t Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  using namespace std::chrono;
  const sys_days date = year{y} / month{mo} / day{d};
  return duration_cast<milliseconds>(date.time_since_epoch()).count() + h * kHour + mi * kMinute;
}

std::chrono::weekday WeekdayOf(std::int64_t ms) {
  using namespace std::chrono;
  return weekday{floor<days>(sys_time<milliseconds>{milliseconds{ms}})};
}

BackupSchedule Parse(std::string_view text) {
  auto s = ParseBackupSchedule(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : BackupSchedule{};
}

TEST(BackupScheduleTest, TheCalendarHelperAgreesWithHandComputedEpochTimes) {
  // date -u -d 2026-12-02T01:59 +%s == 1796176740; 2026-12-06 is a Sunday.
  EXPECT_EQ(Utc(2026, 12, 2, 1, 59), 1'796'176'740'000);
  EXPECT_EQ(Utc(2026, 12, 6, 2, 0), 1'796'522'400'000);
  EXPECT_EQ(WeekdayOf(Utc(2026, 12, 6, 2, 0)), std::chrono::Sunday);
  EXPECT_EQ(WeekdayOf(0), std::chrono::Thursday);  // 1970-01-01
}

TEST(BackupScheduleTest, ParsesEveryForm) {
  EXPECT_EQ(Parse("hourly"), (BackupSchedule{kHour, 0}));
  EXPECT_EQ(Parse("hourly :15"), (BackupSchedule{kHour, 15 * kMinute}));
  EXPECT_EQ(Parse("hourly :00"), (BackupSchedule{kHour, 0}));
  EXPECT_EQ(Parse("daily 02:00"), (BackupSchedule{kDay, 2 * kHour}));
  EXPECT_EQ(Parse("daily 23:59"), (BackupSchedule{kDay, 23 * kHour + 59 * kMinute}));
  // The epoch was a Thursday: a weekly offset counts days from Thursday.
  EXPECT_EQ(Parse("weekly thu 00:00"), (BackupSchedule{kWeek, 0}));
  EXPECT_EQ(Parse("weekly sun 02:00"), (BackupSchedule{kWeek, 3 * kDay + 2 * kHour}));
  EXPECT_EQ(Parse("weekly wed 12:30"), (BackupSchedule{kWeek, 6 * kDay + 12 * kHour + 30 * kMinute}));
  EXPECT_EQ(Parse("every 30m"), (BackupSchedule{30 * kMinute, 0}));
  EXPECT_EQ(Parse("every 6h"), (BackupSchedule{6 * kHour, 0}));
  EXPECT_EQ(Parse("every 168h"), (BackupSchedule{kWeek, 0}));
  EXPECT_EQ(Parse("every 10080m"), (BackupSchedule{kWeek, 0}));
  // Extra spaces between and around the words are fine.
  EXPECT_EQ(Parse("  daily   02:00 "), (BackupSchedule{kDay, 2 * kHour}));
}

TEST(BackupScheduleTest, RefusesAnythingElseNamingTheGrammar) {
  for (const char* bad : {"", "   ", "monthly 1", "Daily 02:00", "hourly 15", "hourly :60", "hourly :5",
                          "hourly :-1", "hourly :15 extra", "daily", "daily 24:00", "daily 02:60", "daily 0200",
                          "daily :00", "daily 02:00 extra", "weekly sunday 02:00", "weekly sun", "weekly 02:00",
                          "weekly xyz 02:00", "every", "every 30", "every 30s", "every m", "every 0m", "every -5m",
                          "every 169h", "every 10081m", "every 6h 30m"}) {
    auto s = ParseBackupSchedule(bad);
    ASSERT_FALSE(s.ok()) << "'" << bad << "' was accepted";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
    const std::string m = s.status().message();
    EXPECT_NE(m.find("'" + std::string(bad) + "'"), std::string::npos) << m;
    for (const char* form : {"\"hourly [:MM]\"", "\"daily HH:MM\"", "\"weekly DAY HH:MM\"", "mon..sun",
                             "\"every N[m|h]\"", "UTC"}) {
      EXPECT_NE(m.find(form), std::string::npos) << bad << ": " << m << " lacks " << form;
    }
  }
  EXPECT_NE(ParseBackupSchedule("weekly xyz 02:00").status().message().find("unknown day 'xyz'"),
            std::string::npos);
  EXPECT_NE(ParseBackupSchedule("monthly 1").status().message().find("unknown kind 'monthly'"),
            std::string::npos);
}

TEST(BackupScheduleTest, DailySlots) {
  const BackupSchedule s = Parse("daily 02:00");
  EXPECT_EQ(NextBackupSlot(s, Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(LastBackupSlot(s, Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 1, 2, 0));
  // Exactly at a slot: that is the last one; the next is strictly after.
  EXPECT_EQ(LastBackupSlot(s, Utc(2026, 12, 2, 2, 0)), Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(NextBackupSlot(s, Utc(2026, 12, 2, 2, 0)), Utc(2026, 12, 3, 2, 0));
  EXPECT_EQ(NextBackupSlot(s, Utc(2026, 12, 2, 2, 0) - 1), Utc(2026, 12, 2, 2, 0));
  // Across a month and a year end.
  EXPECT_EQ(NextBackupSlot(s, Utc(2026, 12, 31, 12, 0)), Utc(2027, 1, 1, 2, 0));
  EXPECT_EQ(NextBackupSlot(s, Utc(2028, 2, 28, 3, 0)), Utc(2028, 2, 29, 2, 0));  // leap day
}

TEST(BackupScheduleTest, WeeklySlotsFallOnTheRightWeekday) {
  const BackupSchedule sun = Parse("weekly sun 02:00");
  // Wednesday 2026-12-02 01:59 -> Sunday 2026-12-06 02:00.
  const std::int64_t next = NextBackupSlot(sun, Utc(2026, 12, 2, 1, 59));
  EXPECT_EQ(next, Utc(2026, 12, 6, 2, 0));
  EXPECT_EQ(WeekdayOf(next), std::chrono::Sunday);
  EXPECT_EQ(NextBackupSlot(sun, next), Utc(2026, 12, 13, 2, 0));
  EXPECT_EQ(LastBackupSlot(sun, Utc(2026, 12, 2, 1, 59)), Utc(2026, 11, 29, 2, 0));
  EXPECT_EQ(WeekdayOf(LastBackupSlot(sun, Utc(2026, 12, 2, 1, 59))), std::chrono::Sunday);
  // Every day name lands on its weekday.
  const std::pair<const char*, std::chrono::weekday> days[] = {
      {"mon", std::chrono::Monday},   {"tue", std::chrono::Tuesday}, {"wed", std::chrono::Wednesday},
      {"thu", std::chrono::Thursday}, {"fri", std::chrono::Friday},  {"sat", std::chrono::Saturday},
      {"sun", std::chrono::Sunday}};
  for (const auto& [name, wd] : days) {
    const BackupSchedule s = Parse(std::string("weekly ") + name + " 23:30");
    const std::int64_t slot = NextBackupSlot(s, Utc(2026, 12, 2, 1, 59));
    EXPECT_EQ(WeekdayOf(slot), wd) << name;
    EXPECT_EQ((slot - Utc(2026, 12, 2)) % kDay, 23 * kHour + 30 * kMinute) << name;
    EXPECT_GT(slot, Utc(2026, 12, 2, 1, 59)) << name;
    EXPECT_LE(slot, Utc(2026, 12, 2, 1, 59) + kWeek) << name;
  }
  // Monday 2026-12-07 23:30 is the first "weekly mon 23:30" after Wednesday 2026-12-02.
  EXPECT_EQ(NextBackupSlot(Parse("weekly mon 23:30"), Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 7, 23, 30));
  // The same weekday, later that day.
  EXPECT_EQ(NextBackupSlot(Parse("weekly wed 02:00"), Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 2, 0));
}

TEST(BackupScheduleTest, HourlyAndEverySlots) {
  const BackupSchedule at15 = Parse("hourly :15");
  EXPECT_EQ(NextBackupSlot(at15, Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 2, 15));
  EXPECT_EQ(NextBackupSlot(at15, Utc(2026, 12, 2, 2, 15)), Utc(2026, 12, 2, 3, 15));
  EXPECT_EQ(LastBackupSlot(at15, Utc(2026, 12, 2, 2, 14)), Utc(2026, 12, 2, 1, 15));
  EXPECT_EQ(NextBackupSlot(Parse("hourly"), Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(NextBackupSlot(Parse("hourly"), Utc(2026, 12, 2, 23, 0)), Utc(2026, 12, 3, 0, 0));

  const BackupSchedule half = Parse("every 30m");
  EXPECT_EQ(NextBackupSlot(half, Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 2, 0));
  EXPECT_EQ(NextBackupSlot(half, Utc(2026, 12, 2, 2, 0)), Utc(2026, 12, 2, 2, 30));
  EXPECT_EQ(LastBackupSlot(half, Utc(2026, 12, 2, 2, 29)), Utc(2026, 12, 2, 2, 0));

  const BackupSchedule six = Parse("every 6h");  // 00:00, 06:00, 12:00, 18:00 UTC
  EXPECT_EQ(NextBackupSlot(six, Utc(2026, 12, 2, 1, 59)), Utc(2026, 12, 2, 6, 0));
  EXPECT_EQ(NextBackupSlot(six, Utc(2026, 12, 2, 18, 0)), Utc(2026, 12, 3, 0, 0));
  EXPECT_EQ(LastBackupSlot(six, Utc(2026, 12, 2, 17, 59)), Utc(2026, 12, 2, 12, 0));
}

TEST(BackupScheduleTest, SlotsBeforeTheEpochRoundDown) {
  const BackupSchedule hourly = Parse("hourly");
  EXPECT_EQ(LastBackupSlot(hourly, -1), -kHour);
  EXPECT_EQ(NextBackupSlot(hourly, -1), 0);
  EXPECT_EQ(LastBackupSlot(Parse("daily 02:00"), kHour), 2 * kHour - kDay);
}

TEST(BackupScheduleTest, MissedSlotsCollapseIntoOneRun) {
  // A daily policy last ran for 2026-12-01 02:00; the controller was down until 12-05 13:00.
  const BackupSchedule s = Parse("daily 02:00");
  const std::int64_t last_run = Utc(2026, 12, 1, 2, 0);
  const std::int64_t now = Utc(2026, 12, 5, 13, 0);
  ASSERT_LE(NextBackupSlot(s, last_run), now);  // due (four slots were missed)
  // It runs once, for the newest slot, and is not due again until the next one.
  const std::int64_t ran_for = LastBackupSlot(s, now);
  EXPECT_EQ(ran_for, Utc(2026, 12, 5, 2, 0));
  EXPECT_EQ(NextBackupSlot(s, ran_for), Utc(2026, 12, 6, 2, 0));
  EXPECT_GT(NextBackupSlot(s, ran_for), now);
}

}  // namespace
}  // namespace govpool::controller
