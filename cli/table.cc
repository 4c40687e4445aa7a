#include "cli/table.h"

#include <algorithm>
#include <chrono>

#include "common/clock.h"

namespace govpool::cli {

std::string FormatTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const Row& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  auto append_row = [&](const Row& row) {
    std::string line;
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : std::string();
      if (c > 0) line += "  ";
      line += cell;
      if (c + 1 < header.size()) line.append(width[c] - cell.size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_row(header);
  for (const Row& row : rows) append_row(row);
  return out;
}

std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : fields) {
    out += key;
    if (!value.empty()) {
      out.append(width - key.size() + 2, ' ');
      out += value;
    }
    out += '\n';
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string LimitText(std::int64_t limit) { return limit < 0 ? "unlimited" : std::to_string(limit); }

std::string TimeText(std::int64_t ms) {
  if (ms == 0) return "";
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string Sparkline(const std::vector<std::optional<double>>& values, std::size_t width) {
  static constexpr const char* kBars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                          "\u2585", "\u2586", "\u2587", "\u2588"};
  const std::size_t columns = std::min(values.size(), width);
  std::vector<double> sum(columns, 0);
  std::vector<int> count(columns, 0);
  for (std::size_t i = 0; i < values.size() && columns > 0; ++i) {
    if (!values[i]) continue;
    const std::size_t column = i * columns / values.size();
    sum[column] += std::clamp(*values[i], 0.0, 1.0);
    ++count[column];
  }
  std::string out;
  for (std::size_t c = 0; c < columns; ++c) {
    if (count[c] == 0) {
      out += ' ';
      continue;
    }
    out += kBars[std::min<std::size_t>(7, static_cast<std::size_t>(sum[c] / count[c] * 8))];
  }
  return out;
}

}  // namespace govpool::cli
