#include "cli/qr_terminal.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace govpool::cli {
namespace {

// The rendering read back into modules: light[row][col], rows = 2 per line.
std::vector<std::vector<bool>> Modules(const std::string& rendered) {
  std::vector<std::vector<bool>> rows;
  std::vector<bool> upper, lower;
  for (std::size_t at = 0; at < rendered.size();) {
    if (rendered[at] == '\n') {
      rows.push_back(upper);
      rows.push_back(lower);
      upper.clear();
      lower.clear();
      ++at;
    } else if (rendered[at] == ' ') {
      upper.push_back(false);
      lower.push_back(false);
      ++at;
    } else {
      const std::string glyph = rendered.substr(at, 3);
      if (glyph == "\u2588") {
        upper.push_back(true);
        lower.push_back(true);
      } else if (glyph == "\u2580") {
        upper.push_back(true);
        lower.push_back(false);
      } else if (glyph == "\u2584") {
        upper.push_back(false);
        lower.push_back(true);
      } else {
        ADD_FAILURE() << "unexpected byte " << int{static_cast<unsigned char>(rendered[at])} << " at " << at;
        return {};
      }
      at += 3;
    }
  }
  EXPECT_TRUE(upper.empty()) << "the last line ends in a newline";
  return rows;
}

// The 7x7 finder pattern at (top, left): dark ring, light ring, dark 3x3 centre.
void ExpectFinder(const std::vector<std::vector<bool>>& light, int top, int left) {
  for (int r = 0; r < 7; ++r) {
    for (int c = 0; c < 7; ++c) {
      const bool ring1 = r == 1 || r == 5 || c == 1 || c == 5;
      const bool inside = r >= 1 && r <= 5 && c >= 1 && c <= 5;
      const bool expect_light = inside && ring1;
      EXPECT_EQ(light[top + r][left + c], expect_light) << "finder at " << top << "," << left << " module " << r << "," << c;
    }
  }
}

TEST(QrTerminalTest, OtpauthUriRendersAsASquareCodeWithQuietZoneAndFinders) {
  const std::string uri =
      "otpauth://totp/govpool:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=govpool"
      "&algorithm=SHA1&digits=6&period=30";
  const auto rendered = RenderQrForTerminal(uri);
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  const auto light = Modules(*rendered);
  ASSERT_FALSE(light.empty());
  const int size = static_cast<int>(light[0].size());
  const int width = size - 2 * kQrQuietZone;
  // A QR code is 17 + 4 * version modules wide; this URI needs more than version 1.
  EXPECT_EQ((width - 17) % 4, 0) << width;
  EXPECT_GT(width, 21);
  // Every line as wide; (size + 1) / 2 lines, the lower half of the last one empty (odd size).
  ASSERT_EQ(static_cast<int>(light.size()), size + 1);
  for (const auto& row : light) ASSERT_EQ(static_cast<int>(row.size()), size);
  for (int col = 0; col < size; ++col) EXPECT_FALSE(light[size][col]);
  // The quiet zone is light all round.
  for (int i = 0; i < size; ++i) {
    for (int q = 0; q < kQrQuietZone; ++q) {
      EXPECT_TRUE(light[q][i] && light[size - 1 - q][i] && light[i][q] && light[i][size - 1 - q]) << i << "," << q;
    }
  }
  // Three finder patterns: top left, top right, bottom left.
  ExpectFinder(light, kQrQuietZone, kQrQuietZone);
  ExpectFinder(light, kQrQuietZone, kQrQuietZone + width - 7);
  ExpectFinder(light, kQrQuietZone + width - 7, kQrQuietZone);
}

TEST(QrTerminalTest, LongerTextNeedsALargerCodeAndTooLongIsAnError) {
  const auto small = RenderQrForTerminal("x");
  const auto large = RenderQrForTerminal(std::string(500, 'x'));
  ASSERT_TRUE(small.ok() && large.ok());
  // Version 1 (21 modules) plus the quiet zone: (21 + 8 + 1) / 2 lines.
  EXPECT_EQ(Modules(*small).size(), 2u * ((21 + 2 * kQrQuietZone + 1) / 2));
  EXPECT_GT(large->size(), small->size());
  const auto too_long = RenderQrForTerminal(std::string(5000, 'x'));
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  const auto over_capacity = RenderQrForTerminal(std::string(3000, 'x'));
  EXPECT_EQ(over_capacity.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace govpool::cli
