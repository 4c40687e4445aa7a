// Where tests that boot real guests find the project's scripts and the tiny test guest that
// scripts/make-test-guest.sh builds, and the line the guest prints once booted.
#pragma once

#include <string>

namespace govpool::testing {

// Printed on the serial console by the test guest's /init once it has booted.
inline constexpr char kGuestBootedMarker[] = "GOVPOOL-GUEST-BOOTED";

// $GOVPOOL_STATE_DIR, or /var/tmp/govpool (the scripts' default).
std::string TestStateDir();
// TestStateDir()/test-guest: vmlinuz and initrd.img.
std::string TestGuestDir();
// Runs `scripts/<command_line>` of this source tree through the shell; its exit status.
int RunProjectScript(const std::string& command_line);

}  // namespace govpool::testing
