// ProgressLine: how far a transfer got, on a stream (govpoolctl writes it to stderr):
//   uploading debian.qcow2: 32.0 MiB of 64.0 MiB (50%), 12.5 MiB/s
// On a terminal, one line redrawn in place ("\r", then cleared to its end) at most every
// 200 ms, and ended with a newline by End(). Elsewhere (a log file, a pipe) one line each time
// another tenth of the total is done, so a log of a 10 GiB upload gets 10 lines, not 80,000.
// The rate is the average since the ProgressLine was made. A total of 0 means unknown: no
// percentage, and off a terminal only End() prints. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace govpool::cli {

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// "0 B", "512 B", "1.50 KiB", "64.0 MiB", "300 MiB", "1.25 GiB": binary units, three
// significant digits from KiB up.
std::string FormatBytes(std::uint64_t bytes);

// "LABEL: DONE of TOTAL (P%), RATE/s"; "LABEL: DONE, RATE/s" when total is 0; no rate when
// `seconds` is not positive.
std::string FormatProgress(std::string_view label, std::uint64_t done, std::uint64_t total,
                           double seconds);

class ProgressLine {
 public:
  ProgressLine(std::ostream& out, std::string label, std::uint64_t total, bool terminal,
               SteadyNow now);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `done` bytes so far (never more than total when total is known).
  void Update(std::uint64_t done);
  // The last state, if not shown yet, and the terminal line's newline. Idempotent.
  void End();

 private:
  void Print();

  std::ostream& out_;
  std::string label_;
  std::uint64_t total_;
  bool terminal_;
  SteadyNow now_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::uint64_t done_ = 0;
  std::uint64_t shown_ = 0;      // `done` of the last line printed
  bool shown_any_ = false;
  int tenths_shown_ = 0;         // off a terminal: the last tenth printed
  bool ended_ = false;
};

}  // namespace govpool::cli
