// Where govpoolctl gets its connection settings: flags, then the environment (GOVPOOL_URL,
// GOVPOOL_TOKEN, GOVPOOL_TOKEN_FILE, GOVPOOL_CA_FILE), then the config file (default
// $XDG_CONFIG_HOME/govpool/config or ~/.config/govpool/config: `key = value` lines with keys
// url, token, token_file, ca_file; '#' starts a comment), then the default URL.
// ParseConfigText and ResolveSettings are pure; LoadConfigFile and ReadTokenFile read files.
// Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli/errors.h"
#include "common/result.h"

namespace govpool::cli {

inline constexpr std::string_view kDefaultUrl = "https://127.0.0.1:8080";

// The global options of the command line (flags given anywhere on it).
struct GlobalOptions {
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> config;
  std::optional<std::string> ca_file;
  bool insecure = false;  // --insecure: HTTPS without verifying the controller's certificate
  bool json = false;  // print the typed answer as JSON instead of a table
  bool wide = false;  // tables: also the ids of related objects
};

struct ConfigFile {
  std::string path;  // where it was read from (relative token_file/ca_file resolve against it)
  std::optional<std::string> url;
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::optional<std::string> ca_file;
};

// Parses config text. UsageError naming the line for unknown keys, lines without '=' and keys
// given twice. `path` is recorded for messages and relative paths.
Result<ConfigFile> ParseConfigText(std::string_view text, std::string_view path);

// The default config path from HOME/XDG_CONFIG_HOME (via `getenv`); empty when neither is set.
std::string DefaultConfigPath(const std::function<std::optional<std::string>(const char*)>& getenv);

// Reads and parses `path`. When the file does not exist: nullopt if `required` is false,
// else a UsageError. Unreadable or malformed files are UsageErrors.
Result<std::optional<ConfigFile>> LoadConfigFile(const std::string& path, bool required);

struct Settings {
  std::string url;
  std::string url_source;  // "flag", "env", "config" or "default" (for messages)
  // At most one of token / token_file is set: the winning token source.
  std::optional<std::string> token;
  std::optional<std::string> token_file;
  std::string ca_file;
};

// Applies the precedence flag > env > config > default, per setting. A token and a token file
// from the same level is a UsageError; a token from a higher level wins over a token file from
// a lower one and vice versa. Relative token_file/ca_file from the config file resolve against
// the config file's folder; a leading "~/" expands with HOME. Trailing '/' is dropped from the
// URL; a URL not starting with http:// or https:// is a UsageError.
Result<Settings> ResolveSettings(const GlobalOptions& flags,
                                 const std::function<std::optional<std::string>(const char*)>& getenv,
                                 const std::optional<ConfigFile>& config);

// Reads a token file, trimming surrounding whitespace. UsageError when unreadable or empty.
Result<std::string> ReadTokenFile(const std::string& path);

// Config text with `token = TOKEN` instead of its token and token_file lines (appended when it
// had none), or with neither for nullopt (logout). Every other line is kept as it was.
std::string WithToken(std::string_view text, const std::optional<std::string>& token);

// Stores `token` (a login session's secret; nullopt removes it) in the config file at `path`
// (WithToken), creating the file and its folder when missing. The file holds a secret, so it
// is written 0600 (a new file is created so; an existing one is tightened) by writing a
// temporary file beside it and renaming it over. An existing file that group or others may
// write is refused (UsageError): someone else could have put a URL or a token of theirs in
// it. An existing file that is malformed is refused too, rather than half-rewritten.
Status StoreToken(const std::string& path, const std::optional<std::string>& token);

}  // namespace govpool::cli
