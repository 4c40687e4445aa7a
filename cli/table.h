// Plain-text output of govpoolctl: column tables for lists and aligned "field  value" blocks
// for single objects. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace govpool::cli {

using Row = std::vector<std::string>;

// Columns separated by two spaces, each padded to its widest cell (the last column is not
// padded, so lines carry no trailing blanks). Rows shorter than the header are padded with
// empty cells. Returns the header line plus one line per row, each ending in '\n'.
std::string FormatTable(const Row& header, const std::vector<Row>& rows);

// "key  value" lines with the values aligned; empty input gives "".
std::string FormatFields(const std::vector<std::pair<std::string, std::string>>& fields);

// "a,b,c": how a list of names shows in a table cell or a field.
std::string JoinList(const std::vector<std::string>& items);

// A quota limit in a table: "unlimited" for -1, else the number.
std::string LimitText(std::int64_t limit);

// A time (ms since the epoch) in a table: RFC 3339 in UTC, or "" for 0 (never, not yet).
std::string TimeText(std::int64_t ms);

// A small text chart: one block character (U+2581..U+2588) per column, its height the value
// (0 to 1; more shows full, less empty); at most `width` columns, each averaging the values it
// spans; a blank where none of them is set. Put it in a table's last column: its characters
// are wider in bytes than on screen.
std::string Sparkline(const std::vector<std::optional<double>>& values, std::size_t width);

// One column of a table of T: its header, its cell, and whether it shows only with --wide.
template <class T>
struct Column {
  std::string header;
  std::function<std::string(const T&)> cell;
  bool wide_only = false;
};

// The table of `items`: every column, or those not wide_only unless `wide`.
template <class T>
std::string FormatTable(const std::vector<Column<T>>& columns, const std::vector<T>& items, bool wide) {
  Row header;
  for (const Column<T>& c : columns) {
    if (wide || !c.wide_only) header.push_back(c.header);
  }
  std::vector<Row> rows;
  rows.reserve(items.size());
  for (const T& item : items) {
    Row row;
    for (const Column<T>& c : columns) {
      if (wide || !c.wide_only) row.push_back(c.cell(item));
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

}  // namespace govpool::cli
