#include "cli/progress.h"

#include <cstdio>
#include <utility>

namespace govpool::cli {
namespace {

constexpr std::chrono::milliseconds kRedrawEvery{200};

}  // namespace

std::string FormatBytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (v < 10) {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[unit]);
  } else if (v < 100) {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[unit]);
  }
  return buf;
}

std::string FormatProgress(std::string_view label, std::uint64_t done, std::uint64_t total,
                           double seconds) {
  std::string text = std::string(label) + ": " + FormatBytes(done);
  if (total > 0) {
    const std::uint64_t percent = done >= total ? 100 : done * 100 / total;
    text += " of " + FormatBytes(total) + " (" + std::to_string(percent) + "%)";
  }
  if (seconds > 0) {
    text += ", " + FormatBytes(static_cast<std::uint64_t>(static_cast<double>(done) / seconds)) + "/s";
  }
  return text;
}

ProgressLine::ProgressLine(std::ostream& out, std::string label, std::uint64_t total,
                           bool terminal, SteadyNow now)
    : out_(out), label_(std::move(label)), total_(total), terminal_(terminal),
      now_(now ? std::move(now) : SteadyNow([] { return std::chrono::steady_clock::now(); })),
      start_(now_()) {}

void ProgressLine::Update(std::uint64_t done) {
  if (ended_) return;
  done_ = done;
  if (terminal_) {
    const auto t = now_();
    if (!shown_any_ || t - last_draw_ >= kRedrawEvery || (total_ > 0 && done >= total_)) {
      last_draw_ = t;
      Print();
    }
    return;
  }
  if (total_ == 0) return;
  const int tenths = done >= total_ ? 10 : static_cast<int>(done * 10 / total_);
  if (tenths > tenths_shown_) {
    tenths_shown_ = tenths;
    Print();
  }
}

void ProgressLine::End() {
  if (ended_) return;
  ended_ = true;
  if (!shown_any_ || shown_ != done_) Print();
  if (terminal_) out_ << "\n";
  out_.flush();
}

void ProgressLine::Print() {
  const double seconds = std::chrono::duration<double>(now_() - start_).count();
  const std::string text = FormatProgress(label_, done_, total_, seconds);
  if (terminal_) {
    out_ << "\r" << text << "\033[K";
  } else {
    out_ << text << "\n";
  }
  out_.flush();
  shown_ = done_;
  shown_any_ = true;
}

}  // namespace govpool::cli
