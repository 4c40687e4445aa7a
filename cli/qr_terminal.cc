#include "cli/qr_terminal.h"

#include <qrencode.h>

#include <cstddef>
#include <memory>
#include <string>

namespace govpool::cli {

namespace {

struct QrCodeFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

Result<std::string> RenderQrForTerminal(std::string_view text) {
  constexpr std::size_t kMaxBytes = 4096;  // above any QR code's capacity; keeps the int cast exact
  if (text.size() > kMaxBytes) {
    return InvalidArgument("text of " + std::to_string(text.size()) + " bytes does not fit a QR code");
  }
  // QRcode_encodeData takes a length, so a NUL inside `text` is encoded, not a terminator.
  const std::unique_ptr<QRcode, QrCodeFree> code(
      QRcode_encodeData(static_cast<int>(text.size()), reinterpret_cast<const unsigned char*>(text.data()),
                        0, QR_ECLEVEL_M));
  if (!code) return InvalidArgument("text of " + std::to_string(text.size()) + " bytes does not fit a QR code");
  const int width = code->width;
  const int size = width + 2 * kQrQuietZone;
  // Dark means: a module of the code whose lowest bit is set; the quiet zone and the row below
  // an odd-height code are light and "nothing" respectively (see the header).
  auto dark = [&](int row, int col) {
    const int r = row - kQrQuietZone, c = col - kQrQuietZone;
    if (r < 0 || r >= width || c < 0 || c >= width) return false;
    return (code->data[r * width + c] & 1) != 0;
  };
  std::string out;
  for (int row = 0; row < size; row += 2) {
    for (int col = 0; col < size; ++col) {
      const bool upper_light = !dark(row, col);
      const bool lower_light = row + 1 < size && !dark(row + 1, col);
      if (upper_light && lower_light) out += "\u2588";       // █
      else if (upper_light) out += "\u2580";                  // ▀
      else if (lower_light) out += "\u2584";                  // ▄
      else out += ' ';
    }
    out += '\n';
  }
  return out;
}

}  // namespace govpool::cli
