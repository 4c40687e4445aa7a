#include "cli/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

namespace govpool::cli {
namespace {

using Env = std::map<std::string, std::string>;

std::function<std::optional<std::string>(const char*)> Getenv(Env env) {
  return [env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

ConfigFile Config(std::string text) {
  auto c = ParseConfigText(text, "/home/u/.config/govpool/config");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : ConfigFile{};
}

TEST(ParseConfigTextTest, KeysCommentsQuotesAndBlanks) {
  ConfigFile c = Config(
      "# govpool\n\n  url = https://gov.example:8443/  \n"
      "token_file = \"tok\"\r\nca_file=/etc/ca.pem\n");
  EXPECT_EQ(*c.url, "https://gov.example:8443/");
  EXPECT_EQ(*c.token_file, "tok");
  EXPECT_EQ(*c.ca_file, "/etc/ca.pem");
  EXPECT_FALSE(c.token);
}

TEST(ParseConfigTextTest, Errors) {
  for (const char* bad : {"url\n", "colour = red\n", "url = a\nurl = b\n"}) {
    auto c = ParseConfigText(bad, "cfg");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(ExitCodeFor(c.status()), kExitUsage);
    EXPECT_NE(c.status().message().find("cfg:"), std::string::npos) << c.status().message();
  }
}

TEST(DefaultConfigPathTest, XdgThenHome) {
  EXPECT_EQ(DefaultConfigPath(Getenv({{"HOME", "/home/u"}})), "/home/u/.config/govpool/config");
  EXPECT_EQ(DefaultConfigPath(Getenv({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "/x"}})),
            "/x/govpool/config");
  EXPECT_EQ(DefaultConfigPath(Getenv({})), "");
}

TEST(ResolveSettingsTest, DefaultUrlAndNoToken) {
  auto s = ResolveSettings({}, Getenv({}), std::nullopt);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->url, "https://127.0.0.1:8080");
  EXPECT_EQ(s->url_source, "default");
  EXPECT_FALSE(s->token);
  EXPECT_FALSE(s->token_file);
}

TEST(ResolveSettingsTest, FlagBeatsEnvBeatsConfig) {
  ConfigFile c = Config("url = http://config:1\ntoken = config-token\nca_file = ca.pem\n");
  Env env = {{"GOVPOOL_URL", "http://env:2/"}, {"GOVPOOL_TOKEN", "env-token"}};
  GlobalOptions flags;
  flags.url = "http://flag:3";
  flags.token = "flag-token";

  auto all = ResolveSettings(flags, Getenv(env), c);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->url, "http://flag:3");
  EXPECT_EQ(*all->token, "flag-token");

  auto no_flags = ResolveSettings({}, Getenv(env), c);
  ASSERT_TRUE(no_flags.ok());
  EXPECT_EQ(no_flags->url, "http://env:2");  // trailing '/' dropped
  EXPECT_EQ(no_flags->url_source, "env");
  EXPECT_EQ(*no_flags->token, "env-token");

  auto config_only = ResolveSettings({}, Getenv({}), c);
  ASSERT_TRUE(config_only.ok());
  EXPECT_EQ(config_only->url, "http://config:1");
  EXPECT_EQ(*config_only->token, "config-token");
  // A relative ca_file resolves against the config file's folder.
  EXPECT_EQ(config_only->ca_file, "/home/u/.config/govpool/ca.pem");
}

TEST(ResolveSettingsTest, TokenFileLevels) {
  ConfigFile c = Config("token = config-token\n");
  GlobalOptions flags;
  flags.token_file = "~/tok";
  // A token file flag beats a config token.
  auto s = ResolveSettings(flags, Getenv({{"HOME", "/home/u"}}), c);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->token);
  EXPECT_EQ(*s->token_file, "/home/u/tok");

  // An env token file beats a config token.
  auto e = ResolveSettings({}, Getenv({{"GOVPOOL_TOKEN_FILE", "/run/tok"}}), c);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e->token_file, "/run/tok");
  EXPECT_FALSE(e->token);

  // Empty environment variables count as unset.
  auto empty = ResolveSettings({}, Getenv({{"GOVPOOL_TOKEN", ""}, {"GOVPOOL_URL", ""}}), c);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty->token, "config-token");
  EXPECT_EQ(empty->url, "https://127.0.0.1:8080");

  ConfigFile rel = Config("token_file = secrets/tok\n");
  auto r = ResolveSettings({}, Getenv({}), rel);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->token_file, "/home/u/.config/govpool/secrets/tok");
}

TEST(ResolveSettingsTest, Conflicts) {
  GlobalOptions both;
  both.token = "a";
  both.token_file = "b";
  EXPECT_EQ(ExitCodeFor(ResolveSettings(both, Getenv({}), std::nullopt).status()), kExitUsage);
  EXPECT_FALSE(ResolveSettings({}, Getenv({{"GOVPOOL_TOKEN", "a"}, {"GOVPOOL_TOKEN_FILE", "b"}}),
                               std::nullopt)
                   .ok());
  EXPECT_FALSE(ResolveSettings({}, Getenv({}), Config("token = a\ntoken_file = b\n")).ok());
  GlobalOptions bad_url;
  bad_url.url = "ftp://x";
  EXPECT_FALSE(ResolveSettings(bad_url, Getenv({}), std::nullopt).ok());
}

TEST(FilesTest, LoadConfigAndTokenFiles) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("govpool-cli-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto missing = LoadConfigFile((dir / "nope").string(), /*required=*/false);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(ExitCodeFor(LoadConfigFile((dir / "nope").string(), true).status()), kExitUsage);

  std::ofstream(dir / "config") << "url = http://x:9\n";
  auto loaded = LoadConfigFile((dir / "config").string(), true);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(*(*loaded)->url, "http://x:9");

  std::ofstream(dir / "token") << "  secret-123\n";
  EXPECT_EQ(*ReadTokenFile((dir / "token").string()), "secret-123");
  std::ofstream(dir / "empty") << "\n";
  EXPECT_FALSE(ReadTokenFile((dir / "empty").string()).ok());
  EXPECT_FALSE(ReadTokenFile((dir / "nope").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace govpool::cli
