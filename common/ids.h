// Object identifiers: every govpool object is named by a random (version 4) UUID in the
// canonical lower-case 8-4-4-4-12 form. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace govpool {

std::string NewUuid();
bool IsUuid(std::string_view text);

}  // namespace govpool
