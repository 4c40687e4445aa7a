// The agent's client certificate: enrolment, the identity file, renewal two thirds into the
// lifetime without a restart (ClientCredentials' generation), over a fake issuer signing with
// a real CA.
#include "agent/agent_certificate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/fakes/common/fake_clock.h"

namespace govpool::agent {
namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

class AgentCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("agent-cert-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ca_ = *pki::CreateAuthority("test CA", clock_.now_ms(), 3650 * kDayMs);
    std::ofstream(dir_ / "ca.crt") << ca_.certificate_pem;
    issue_ = [this](const api::ClientOptions& o, const api::AgentCertificateRequest& req)
        -> Result<api::AgentCertificateAnswer> {
      requests_.push_back({o, req});
      if (fail_) return Unavailable("controller down");
      auto cert = pki::SignClientCertificate(ca_, req.csr, signed_name_, clock_.now_ms(), 30 * kDayMs);
      if (!cert.ok()) return cert.status();
      return api::AgentCertificateAnswer{signed_name_, *cert, ca_.certificate_pem, 0};
    };
  }
  void TearDown() override { fs::remove_all(dir_); }

  api::ClientOptions Base() const {
    api::ClientOptions o;
    o.base_url = "https://controller:8080";
    o.ca_file = (dir_ / "ca.crt").string();
    return o;
  }

  testing::FakeClock clock_{1'800'000'000'000};
  fs::path dir_;
  pki::KeyAndCertificate ca_;
  CertificateIssuer issue_;
  std::vector<std::pair<api::ClientOptions, api::AgentCertificateRequest>> requests_;
  bool fail_ = false;
  std::string signed_name_ = "node-1";
};

TEST_F(AgentCertificateTest, EnrolsWithTheTokenAloneAndKeepsKeyAndCertificateTogether) {
  api::ClientOptions base = Base();
  base.bearer_token = "gpt_not_sent";
  auto id = ObtainCertificate(issue_, base, "node-1", "gpe_secret");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].second.enrolment_token, "gpe_secret");
  EXPECT_EQ(requests_[0].first.bearer_token, "") << "the enrolment token is the only credential sent";
  EXPECT_EQ(id->info.common_name, "node-1");

  const std::string path = (dir_ / "agent.pem").string();
  ASSERT_TRUE(SaveAgentIdentity(path, *id).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = LoadAgentIdentity(path);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->certificate_pem, id->certificate_pem);
  EXPECT_EQ((*loaded)->key_pem, id->key_pem);
  EXPECT_TRUE(LoadAgentIdentity((dir_ / "none.pem").string()).ok());
  EXPECT_FALSE(LoadAgentIdentity((dir_ / "none.pem").string())->has_value());
  ::chmod(path.c_str(), 0640);
  EXPECT_EQ(LoadAgentIdentity(path).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AgentCertificateTest, RefusesACertificateForAnotherHostOrFromAnotherCa) {
  signed_name_ = "node-9";
  EXPECT_EQ(ObtainCertificate(issue_, Base(), "node-1", "gpe_x").status().code(), StatusCode::kInvalidArgument);
  signed_name_ = "node-1";
  std::ofstream(dir_ / "ca.crt") << pki::CreateAuthority("other", clock_.now_ms(), kDayMs)->certificate_pem;
  EXPECT_EQ(ObtainCertificate(issue_, Base(), "node-1", "gpe_x").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AgentCertificateTest, RenewsTwoThirdsIntoTheLifetimeWithoutARestart) {
  auto first = ObtainCertificate(issue_, Base(), "node-1", "gpe_secret");
  ASSERT_TRUE(first.ok());
  ClientCredentials credentials(Base());
  credentials.SetClientCertificate(first->certificate_pem, first->key_pem);
  const std::uint64_t generation = credentials.Current().second;
  const std::string path = (dir_ / "agent.pem").string();
  CertificateRenewer renewer(credentials, issue_, path, "node-1", *first, clock_);

  clock_.Advance(std::chrono::days(19));  // of 30: not yet
  EXPECT_FALSE(*renewer.RenewIfDue());
  EXPECT_EQ(requests_.size(), 1u);

  clock_.Advance(std::chrono::days(1) + std::chrono::hours(1));
  fail_ = true;  // the controller is away: the current certificate stays, retried later
  EXPECT_FALSE(renewer.RenewIfDue().ok());
  EXPECT_EQ(credentials.Current().second, generation);
  EXPECT_FALSE(fs::exists(path));

  fail_ = false;
  auto renewed = renewer.RenewIfDue();
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_TRUE(*renewed);
  const auto& renewal = requests_.back();
  EXPECT_EQ(renewal.second.enrolment_token, "");
  EXPECT_EQ(renewal.first.client_certificate_pem, first->certificate_pem) << "renewed over the current certificate";
  auto [options, now_generation] = credentials.Current();
  EXPECT_GT(now_generation, generation);
  EXPECT_EQ(options.client_certificate_pem, renewer.current().certificate_pem);
  EXPECT_NE(options.client_key_pem, first->key_pem) << "a new key with every certificate";
  EXPECT_EQ((*LoadAgentIdentity(path))->certificate_pem, renewer.current().certificate_pem);
  EXPECT_FALSE(*renewer.RenewIfDue()) << "the new one is not due";
}

TEST_F(AgentCertificateTest, TheRenewalLoopRenewsWhileTheAgentRunsAndStopsWithIt) {
  auto first = ObtainCertificate(issue_, Base(), "node-1", "gpe_secret");
  ASSERT_TRUE(first.ok());
  ClientCredentials credentials(Base());
  credentials.SetClientCertificate(first->certificate_pem, first->key_pem);
  const std::uint64_t generation = credentials.generation();
  CertificateRenewer renewer(credentials, issue_, (dir_ / "agent.pem").string(), "node-1", *first, clock_);
  StopSignal stop;
  std::thread loop([&] { renewer.RunUntil(stop, std::chrono::milliseconds(2)); });
  clock_.Advance(std::chrono::days(21));
  for (int i = 0; i < 500 && credentials.generation() == generation; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.Stop();
  loop.join();
  EXPECT_EQ(credentials.generation(), generation + 1) << "renewed once, without anyone restarting anything";
}

}  // namespace
}  // namespace govpool::agent
