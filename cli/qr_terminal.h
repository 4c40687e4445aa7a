// A QR code drawn with text, for showing an otpauth:// URI in a terminal during TOTP enrolment
// (`govpoolctl totp enrol`). Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace govpool::cli {

// Light modules around the code (the "quiet zone" ISO/IEC 18004 asks for: 4 modules), which
// scanners need to find it.
inline constexpr int kQrQuietZone = 4;

// `text` as a QR code (byte mode, error correction level M, the smallest version that holds
// it) in Unicode half blocks: each character is two modules stacked ('█' both light, '▀' upper
// light, '▄' lower light, ' ' both dark), so a line of output is two rows of modules and the
// code is about square in a terminal. Light modules are drawn, dark ones left blank: on the
// usual dark terminal background the code shows dark-on-light as printed codes are. Lines end
// in '\n'; the lower half of the last line is outside the code when its height is odd.
// InvalidArgument when `text` does not fit a QR code (about 2,300 bytes at level M).
Result<std::string> RenderQrForTerminal(std::string_view text);

}  // namespace govpool::cli
