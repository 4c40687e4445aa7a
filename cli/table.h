// Plain-text output of govpoolctl: column tables for lists and aligned "field  value" blocks
// for single objects. Pure functions; thread-safe.
#pragma once

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

}  // namespace govpool::cli
