// Questions govpoolctl asks a person (login's password and TOTP code, passwd, totp enrol): the
// prompt goes to stderr, the answer comes from stdin, with echo off for secrets when stdin is a
// terminal. When stdin is not a terminal (scripts, tests) the answer is simply the next line.
// Not thread-safe (changes the terminal's mode while reading).
#pragma once

#include <string>

#include "common/result.h"

namespace govpool::cli {

// Writes `prompt` to stderr and reads one line from stdin without its line end ("\n" or
// "\r\n"). With `secret` and stdin a terminal, echo is off while reading and restored after.
// UsageError at end of input before any answer ("no answer to 'Password: '").
Result<std::string> AskTerminal(const std::string& prompt, bool secret);

}  // namespace govpool::cli
