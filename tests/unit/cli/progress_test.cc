// cli/progress.h: byte counts, the progress text, and when a ProgressLine prints: redrawn in
// place at most every 200 ms on a terminal, one line per tenth elsewhere, End() once.
#include "cli/progress.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace govpool::cli {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(FormatBytesTest, BinaryUnitsWithThreeSignificantDigits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(64ULL << 20), "64.0 MiB");
  EXPECT_EQ(FormatBytes(300ULL << 20), "300 MiB");
  EXPECT_EQ(FormatBytes((5ULL << 30) / 4), "1.25 GiB");
  EXPECT_EQ(FormatBytes(3ULL << 40), "3.00 TiB");
}

TEST(FormatProgressTest, PercentOnlyWithATotalRateOnlyWithTime) {
  EXPECT_EQ(FormatProgress("uploading d.raw", 32ULL << 20, 64ULL << 20, 2.0),
            "uploading d.raw: 32.0 MiB of 64.0 MiB (50%), 16.0 MiB/s");
  EXPECT_EQ(FormatProgress("x", 10, 0, 0), "x: 10 B");
  EXPECT_EQ(FormatProgress("x", 64, 64, 0), "x: 64 B of 64 B (100%)");
}

class ProgressLineTest : public ::testing::Test {
 protected:
  SteadyNow Now() {
    return [this] { return Clock::time_point(now_); };
  }
  std::ostringstream out_;
  milliseconds now_{1000};
};

TEST_F(ProgressLineTest, OffATerminalOneLinePerTenth) {
  ProgressLine line(out_, "up", 1000, false, Now());
  for (int done = 0; done <= 1000; done += 50) {
    line.Update(static_cast<std::uint64_t>(done));
    now_ += milliseconds(100);
  }
  line.End();
  line.End();  // idempotent
  std::istringstream lines(out_.str());
  std::string l;
  int n = 0;
  while (std::getline(lines, l)) ++n;
  EXPECT_EQ(n, 10) << out_.str();
  EXPECT_EQ(out_.str().substr(0, out_.str().find('\n')), "up: 100 B of 1000 B (10%), 500 B/s");
  EXPECT_NE(out_.str().find("up: 1000 B of 1000 B (100%), 500 B/s\n"), std::string::npos) << out_.str();
  EXPECT_EQ(out_.str().find('\r'), std::string::npos);
}

TEST_F(ProgressLineTest, EndShowsTheLastStateWhenATenthWasNotReached) {
  ProgressLine line(out_, "up", 1000, false, Now());
  line.Update(50);
  EXPECT_EQ(out_.str(), "");
  line.End();  // e.g. the upload failed at 5%
  EXPECT_EQ(out_.str(), "up: 50 B of 1000 B (5%)\n");
}

TEST_F(ProgressLineTest, OnATerminalRedrawnInPlaceAtMostEvery200Ms) {
  ProgressLine line(out_, "up", 1000, true, Now());
  line.Update(100);                       // the first update draws
  now_ += milliseconds(100);
  line.Update(200);                       // too soon
  now_ += milliseconds(100);
  line.Update(300);                       // 200 ms after the first draw
  line.Update(1000);                      // the end always draws
  line.End();                             // nothing new: only the newline
  EXPECT_EQ(out_.str(),
            "\rup: 100 B of 1000 B (10%)\033[K"
            "\rup: 300 B of 1000 B (30%), 1.46 KiB/s\033[K"
            "\rup: 1000 B of 1000 B (100%), 4.88 KiB/s\033[K\n");
}

TEST_F(ProgressLineTest, UnknownTotalPrintsOnlyAtTheEndOffATerminal) {
  ProgressLine line(out_, "importing x", 0, false, Now());
  line.Update(10);
  line.Update(20);
  EXPECT_EQ(out_.str(), "");
  now_ += milliseconds(1000);
  line.End();
  EXPECT_EQ(out_.str(), "importing x: 20 B, 20 B/s\n");
}

}  // namespace
}  // namespace govpool::cli
