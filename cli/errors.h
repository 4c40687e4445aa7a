// How govpoolctl reports failure: the exit codes, the three kinds of failed command (a usage
// error, an unreachable controller, an error the server answered with) and the one line of
// text printed after "error: ". Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace govpool::cli {

// Exit codes of govpoolctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;     // the server answered with an error (or a bad answer)
inline constexpr int kExitUsage = 2;        // the command line (or config) is wrong
inline constexpr int kExitUnreachable = 3;  // the server could not be reached

// A usage error: InvalidArgument with reason "USAGE" (exit code 2).
Status UsageError(std::string message);
bool IsUsageError(const Status& status);

// A transport failure (`transport` is Unavailable or DeadlineExceeded from the HTTP client)
// reworded as "cannot reach the controller at URL: ..."; keeps the code, exit code 3. An
// UNAVAILABLE error that the server itself answered with is not one of these (exit code 1).
Status Unreachable(std::string_view url, const Status& transport);
bool IsUnreachable(const Status& status);

// The exit code for a failed command's Status: 2 for usage errors, 3 when the controller could
// not be reached, else 1 (any error the server answered with, a name that did not resolve).
int ExitCodeFor(const Status& status);

// The text printed after "error: ": the message alone for usage errors, else
// "CODE: message (detail=value, ...)" with CODE the API reason (QUOTA_EXCEEDED, NOT_FOUND, ...).
std::string ErrorText(const Status& status);

}  // namespace govpool::cli
