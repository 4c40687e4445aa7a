#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/private_file.h"

namespace govpool::cli {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return v.substr(1, v.size() - 2);
  }
  return v;
}

std::string ExpandHome(const std::string& path,
                       const std::function<std::optional<std::string>(const char*)>& getenv) {
  if (path.rfind("~/", 0) == 0) {
    if (auto home = getenv("HOME"); home && !home->empty()) return *home + path.substr(1);
  }
  return path;
}

// A config-relative path: relative to the folder holding the config file.
std::string FromConfig(const std::string& path, const ConfigFile& config,
                       const std::function<std::optional<std::string>(const char*)>& getenv) {
  std::string p = ExpandHome(path, getenv);
  if (p.empty() || p[0] == '/') return p;
  size_t slash = config.path.rfind('/');
  if (slash == std::string::npos) return p;
  return config.path.substr(0, slash + 1) + p;
}

std::optional<std::string> NonEmpty(std::optional<std::string> v) {
  if (v && v->empty()) return std::nullopt;
  return v;
}

}  // namespace

Result<ConfigFile> ParseConfigText(std::string_view text, std::string_view path) {
  ConfigFile config;
  config.path = std::string(path);
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = std::string(path) + ":" + std::to_string(number);
    size_t eq = t.find('=');
    if (eq == std::string::npos) return UsageError(where + ": expected 'key = value'");
    std::string key = Trim(t.substr(0, eq));
    std::string value = Unquote(Trim(t.substr(eq + 1)));
    std::optional<std::string>* slot = nullptr;
    if (key == "url") slot = &config.url;
    else if (key == "token") slot = &config.token;
    else if (key == "token_file") slot = &config.token_file;
    else if (key == "ca_file") slot = &config.ca_file;
    else return UsageError(where + ": unknown key '" + key + "' (known: url, token, token_file, ca_file)");
    if (*slot) return UsageError(where + ": '" + key + "' given twice");
    *slot = value;
  }
  return config;
}

std::string DefaultConfigPath(const std::function<std::optional<std::string>(const char*)>& getenv) {
  if (auto xdg = getenv("XDG_CONFIG_HOME"); xdg && !xdg->empty()) return *xdg + "/govpool/config";
  if (auto home = getenv("HOME"); home && !home->empty()) return *home + "/.config/govpool/config";
  return "";
}

Result<std::optional<ConfigFile>> LoadConfigFile(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT && !required) return std::optional<ConfigFile>();
    return UsageError("cannot read config file " + path + ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  GP_ASSIGN_OR_RETURN(ConfigFile config, ParseConfigText(text.str(), path));
  return std::optional<ConfigFile>(std::move(config));
}

Result<Settings> ResolveSettings(const GlobalOptions& flags,
                                 const std::function<std::optional<std::string>(const char*)>& getenv,
                                 const std::optional<ConfigFile>& config) {
  Settings s;
  // URL.
  const std::optional<std::string> env_url = NonEmpty(getenv("GOVPOOL_URL"));
  if (flags.url) {
    s.url = *flags.url;
    s.url_source = "flag";
  } else if (env_url) {
    s.url = *env_url;
    s.url_source = "env";
  } else if (config && config->url && !config->url->empty()) {
    s.url = *config->url;
    s.url_source = "config";
  } else {
    s.url = std::string(kDefaultUrl);
    s.url_source = "default";
  }
  while (s.url.size() > 1 && s.url.back() == '/') s.url.pop_back();
  if (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0) {
    return UsageError("URL '" + s.url + "' (from " + s.url_source +
                      ") must start with http:// or https://");
  }

  // Token: the highest level that names one wins.
  const std::optional<std::string> env_token = NonEmpty(getenv("GOVPOOL_TOKEN"));
  const std::optional<std::string> env_token_file = NonEmpty(getenv("GOVPOOL_TOKEN_FILE"));
  if (flags.token || flags.token_file) {
    if (flags.token && flags.token_file) return UsageError("give --token or --token-file, not both");
    s.token = flags.token;
    if (flags.token_file) s.token_file = ExpandHome(*flags.token_file, getenv);
  } else if (env_token || env_token_file) {
    if (env_token && env_token_file) {
      return UsageError("GOVPOOL_TOKEN and GOVPOOL_TOKEN_FILE are both set; unset one");
    }
    s.token = env_token;
    if (env_token_file) s.token_file = ExpandHome(*env_token_file, getenv);
  } else if (config) {
    const auto token = NonEmpty(config->token);
    const auto token_file = NonEmpty(config->token_file);
    if (token && token_file) {
      return UsageError(config->path + ": give token or token_file, not both");
    }
    s.token = token;
    if (token_file) s.token_file = FromConfig(*token_file, *config, getenv);
  }

  // CA bundle.
  if (flags.ca_file) {
    s.ca_file = ExpandHome(*flags.ca_file, getenv);
  } else if (auto env_ca = NonEmpty(getenv("GOVPOOL_CA_FILE"))) {
    s.ca_file = ExpandHome(*env_ca, getenv);
  } else if (config && NonEmpty(config->ca_file)) {
    s.ca_file = FromConfig(*config->ca_file, *config, getenv);
  }
  return s;
}

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError("cannot read token file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = Trim(text.str());
  if (token.empty()) return UsageError("token file " + path + " is empty");
  return token;
}

std::string WithToken(std::string_view text, const std::optional<std::string>& token) {
  std::istringstream in{std::string(text)};
  std::string out;
  std::string line;
  bool placed = false;
  while (std::getline(in, line)) {
    const std::string t = Trim(line);
    const size_t eq = t.find('=');
    const std::string key = t.empty() || t[0] == '#' || eq == std::string::npos ? "" : Trim(t.substr(0, eq));
    if (key == "token" || key == "token_file") {
      if (token && !placed) out += "token = " + *token + "\n";
      placed = true;
      continue;
    }
    out += line + "\n";
  }
  if (token && !placed) out += "token = " + *token + "\n";
  return out;
}

Status StoreToken(const std::string& path, const std::optional<std::string>& token) {
  std::string text;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return UsageError("config file " + path +
                        " is writable by group or others; not storing a session in it (chmod 600 it)");
    }
    GP_ASSIGN_OR_RETURN(std::optional<ConfigFile> existing, LoadConfigFile(path, true));
    (void)existing;  // parsed only to refuse a malformed file
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  } else if (errno != ENOENT) {
    return UsageError("cannot read config file " + path + ": " + std::strerror(errno));
  } else if (const size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    // The folder (e.g. ~/.config/govpool), one level at a time, private to the user.
    for (size_t at = path.find('/', 1); at != std::string::npos && at <= slash; at = path.find('/', at + 1)) {
      const std::string dir = path.substr(0, at);
      if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return UsageError("cannot create folder " + dir + ": " + std::strerror(errno));
      }
    }
  }
  const std::string content = WithToken(text, token);
  if (Status written = WritePrivateFile(path, content); !written.ok()) {
    return UsageError(written.message());
  }
  return OkStatus();
}

}  // namespace govpool::cli
