// TLS by default and agent enrolment against the real govpool-controller binary
// (docs/security.md, "TLS and agent enrolment"): HTTPS with the controller's own CA, TLS 1.2+
// with forward-secret AEAD suites only, key files with loose modes refused, one-time enrolment
// tokens traded with a CSR for a client certificate, mutual TLS as the agent's credential,
// renewal over that certificate, and plain HTTP only on loopback when asked for.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/pki.h"
#include "common/private_file.h"
#include "tests/integration/controller/controller_fixture.h"

namespace govpool::testing {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class TlsEnrolmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("govpool-tls-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    controller_ = std::make_unique<ControllerProcess>(dir_.string(), Transport::kTls);
    const std::string failure = controller_->Start();
    ASSERT_EQ(failure, "");
  }
  void TearDown() override {
    controller_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }

  api::ClientOptions Options(const std::string& token = {}) const {
    api::ClientOptions o;
    o.base_url = controller_->base_url();
    o.ca_file = controller_->ca_file();
    o.bearer_token = token;
    o.timeout_ms = 10'000;
    return o;
  }
  Api Admin() const { return Api(Options(controller_->admin_token())); }
  // An agent connection with `identity`'s client certificate and no token.
  Api AgentWith(const pki::KeyAndCertificate& identity) const {
    api::ClientOptions o = Options();
    o.client_certificate_pem = identity.certificate_pem;
    o.client_key_pem = identity.key_pem;
    return Api(o);
  }
  // POST /v1/agent-certificates with a new key's CSR for `cn`, over `api`.
  std::pair<Reply, pki::KeyAndCertificate> RequestCertificate(Api& api, const std::string& cn,
                                                              const std::string& enrolment_token) {
    pki::KeyAndCertificate id;
    id.key_pem = *pki::NewPrivateKey();
    json::object body{{"csr", *pki::MakeCertificateRequest(id.key_pem, cn)}};
    if (!enrolment_token.empty()) body["enrolment_token"] = enrolment_token;
    Reply r = api.Post("/v1/agent-certificates", body);
    id.certificate_pem = r.Str("certificate");
    return {r, id};
  }
  std::string Enrol(const std::string& host, const std::string& pool) {
    Api admin = Admin();
    Reply r = admin.Post("/v1/host-enrolments", json::object{{"host_name", host}, {"pool", pool}});
    EXPECT_EQ(r.status, 201) << r.Describe();
    EXPECT_EQ(r.json.at("ca_certificate").as_string(), Slurp(controller_->ca_file()));
    return r.Str("token");
  }

  fs::path dir_;
  std::unique_ptr<ControllerProcess> controller_;
};

TEST_F(TlsEnrolmentTest, ServesHttpsWithItsOwnCaAndPrivateFiles) {
  Api admin = Admin();
  EXPECT_EQ(admin.Get("/healthz").status, 200);
  for (const char* name : {"ca.crt", "ca.key", "server.crt", "server.key"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "tls" / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
  // A client that does not trust the CA does not talk to it; nor does plain HTTP.
  api::ClientOptions untrusting = Options(controller_->admin_token());
  untrusting.ca_file.clear();
  Reply refused = Api(untrusting).Get("/healthz");
  EXPECT_EQ(refused.status, 0);
  EXPECT_NE(refused.transport_error.find("TLS handshake"), std::string::npos) << refused.transport_error;
  Reply plain = Api("http://127.0.0.1:" + std::to_string(controller_->port()), controller_->admin_token(), 5'000)
                    .Get("/healthz");
  EXPECT_EQ(plain.status, 0) << plain.Describe();

  // The same CA and certificate after a restart: clients keep trusting it.
  const std::string ca = Slurp(controller_->ca_file());
  const std::string cert = Slurp((dir_ / "tls" / "server.crt").string());
  ASSERT_EQ(controller_->Start(), "");
  EXPECT_EQ(Slurp(controller_->ca_file()), ca);
  EXPECT_EQ(Slurp((dir_ / "tls" / "server.crt").string()), cert);
  EXPECT_EQ(Admin().Get("/healthz").status, 200);

  // A key file others may read is refused at start-up, loudly.
  ::chmod((dir_ / "tls" / "server.key").c_str(), 0644);
  const std::string failure = controller_->Start();
  EXPECT_NE(failure, "");
  EXPECT_NE(failure.find("has mode 0644"), std::string::npos) << failure;
  ::chmod((dir_ / "tls" / "server.key").c_str(), 0600);
}

TEST_F(TlsEnrolmentTest, OnlyForwardSecretAeadSuitesOfTls12AndLater) {
  // openssl s_client, the reference client, with `options`; its whole report.
  auto handshake = [&](const std::string& options) {
    const std::string command = "openssl s_client -connect 127.0.0.1:" + std::to_string(controller_->port()) +
                                " -CAfile " + controller_->ca_file() + " " + options + " </dev/null 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; p && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (p) ::pclose(p);
    return out;
  };
  const std::string tls13 = handshake("-tls1_3");
  EXPECT_NE(tls13.find("New, TLSv1.3, Cipher is TLS_"), std::string::npos) << tls13;
  EXPECT_NE(tls13.find("Verify return code: 0 (ok)"), std::string::npos) << tls13;
  const std::string tls12 = handshake("-tls1_2");
  EXPECT_NE(tls12.find("New, TLSv1.2, Cipher is ECDHE-"), std::string::npos) << tls12;
  EXPECT_NE(tls12.find("GCM"), std::string::npos) << tls12;
  // Refused: TLS 1.1, RSA key exchange, CBC.
  for (const char* bad : {"-tls1_1", "-tls1_2 -cipher AES128-GCM-SHA256", "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA"}) {
    const std::string out = handshake(bad);
    EXPECT_NE(out.find("Cipher is (NONE)"), std::string::npos) << bad << ":\n" << out;
  }
}

// The served certificate is replaced without a restart: a renewal tool (or the controller's own
// renewal, unit-tested in controller_housekeeper_test) writes new files and SIGHUP makes new
// connections use them; a half-replaced pair is refused and the previous one stays served.
TEST_F(TlsEnrolmentTest, AReplacedServerCertificateIsServedAfterSighupWithoutARestart) {
  // The serial of the certificate a new connection is served, as openssl s_client sees it.
  auto served_serial = [&] {
    const std::string command = "openssl s_client -connect 127.0.0.1:" + std::to_string(controller_->port()) +
                                " -CAfile " + controller_->ca_file() + " </dev/null 2>/dev/null";
    FILE* p = ::popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; p && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (p) ::pclose(p);
    const auto begin = out.find("-----BEGIN CERTIFICATE-----");
    const auto end = out.find("-----END CERTIFICATE-----");
    if (begin == std::string::npos || end == std::string::npos) return std::string();
    auto info = pki::ReadCertificate(out.substr(begin, end + 25 - begin) + "\n");
    return info.ok() ? info->serial_hex : std::string();
  };
  auto serial_of = [](const std::string& pem) {
    auto info = pki::ReadCertificate(pem);
    return info.ok() ? info->serial_hex : std::string();
  };
  const std::string first = served_serial();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, serial_of(Slurp((dir_ / "tls" / "server.crt").string())));
  const pid_t pid = controller_->pid();

  const pki::KeyAndCertificate ca{Slurp((dir_ / "tls" / "ca.key").string()), Slurp(controller_->ca_file())};
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto renewed = pki::IssueServerCertificate(ca, {"localhost", "127.0.0.1"}, now_ms, 90LL * 24 * 3600 * 1000);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  ASSERT_TRUE(WritePrivateFile((dir_ / "tls" / "server.key").string(), renewed->key_pem).ok());
  ASSERT_TRUE(WritePrivateFile((dir_ / "tls" / "server.crt").string(), renewed->certificate_pem).ok());
  EXPECT_EQ(served_serial(), first) << "nothing changes before the signal";
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  const std::string second = serial_of(renewed->certificate_pem);
  EXPECT_TRUE(PollUntil([&] { return served_serial() == second; }, std::chrono::seconds(10)));
  EXPECT_EQ(controller_->pid(), pid) << "no restart";
  EXPECT_EQ(Admin().Get("/healthz").status, 200) << "clients verify the new one against the same CA";

  // A certificate whose key was not replaced with it is never served: the controller issues
  // its own certificate anew from its CA instead (an operator's unmatched pair is refused, and
  // the previous one stays served).
  auto unmatched = pki::IssueServerCertificate(ca, {"localhost", "127.0.0.1"}, now_ms, 90LL * 24 * 3600 * 1000);
  ASSERT_TRUE(unmatched.ok());
  ASSERT_TRUE(WritePrivateFile((dir_ / "tls" / "server.crt").string(), unmatched->certificate_pem).ok());
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  EXPECT_TRUE(PollUntil([&] { return served_serial() != second; }, std::chrono::seconds(10)));
  const std::string third = served_serial();
  EXPECT_NE(third, serial_of(unmatched->certificate_pem));
  EXPECT_EQ(third, serial_of(Slurp((dir_ / "tls" / "server.crt").string())));
  EXPECT_EQ(Admin().Get("/healthz").status, 200);
}

TEST_F(TlsEnrolmentTest, AnEnrolledAgentIsTheHostItsCertificateNames) {
  const std::string token = Enrol("node-1", "edge");
  EXPECT_EQ(token.rfind("gpe_", 0), 0u);
  Api anonymous(Options());
  // A CSR for another host: refused, and the enrolment stays usable.
  auto [wrong, unused] = RequestCertificate(anonymous, "node-2", token);
  EXPECT_EQ(wrong.status, 400) << wrong.Describe();
  EXPECT_NE(wrong.body.find("node-2"), std::string::npos);
  auto [issued, identity] = RequestCertificate(anonymous, "node-1", token);
  ASSERT_EQ(issued.status, 201) << issued.Describe();
  EXPECT_TRUE(pki::CheckCertificatePair(Slurp(controller_->ca_file()), identity.certificate_pem, identity.key_pem).ok());
  EXPECT_EQ(pki::ReadCertificate(identity.certificate_pem)->common_name, "node-1");
  // One use only; an unknown token the same answer.
  auto [again, ignored] = RequestCertificate(anonymous, "node-1", token);
  EXPECT_EQ(again.status, 401) << again.Describe();
  EXPECT_EQ(RequestCertificate(anonymous, "node-1", "gpe_nope").first.status, 401);
  EXPECT_EQ(RequestCertificate(anonymous, "node-1", "").first.status, 401);

  // Mutual TLS: the certificate is the credential. The host joins the enrolment's pool, not the
  // one its agent asks for, and the agent can be no other host.
  Api agent = AgentWith(identity);
  const json::object capacity{{"cpus", 8}, {"memory_mib", 16384}, {"disk_gib", 100}};
  Reply registered = agent.Post("/v1/hosts/register", json::object{{"name", "node-1"}, {"pool", "confined"},
                                                                     {"capacity", capacity}});
  ASSERT_EQ(registered.status, 200) << registered.Describe();
  EXPECT_EQ(registered.Str("pool"), "edge");
  EXPECT_EQ(registered.Str("agent_user_id"), "host:node-1");
  Reply other = agent.Post("/v1/hosts/register", json::object{{"name", "node-2"}, {"capacity", capacity}});
  EXPECT_EQ(other.status, 403) << other.Describe();
  // An administrator's pool stays when the agent registers again.
  Api admin = Admin();
  const std::string host_id = registered.Str("id");
  ASSERT_EQ(admin.Send("PATCH", "/v1/hosts/" + host_id, R"({"pool":"core"})").status, 200);
  Reply again_registered = agent.Post("/v1/hosts/register", json::object{{"name", "node-1"}, {"pool", "edge"},
                                                                           {"capacity", capacity}});
  EXPECT_EQ(again_registered.Str("pool"), "core") << again_registered.Describe();
  // The agent role's limits hold: no departments.
  EXPECT_EQ(agent.Get("/v1/departments").status, 403);

  // Renewal over the current certificate: a new one, and the old one still works for a while
  // (requests in flight), an enrolment token is not wanted.
  auto [renewed, next] = RequestCertificate(agent, "node-1", "");
  ASSERT_EQ(renewed.status, 201) << renewed.Describe();
  EXPECT_NE(pki::ReadCertificate(next.certificate_pem)->serial_hex, pki::ReadCertificate(identity.certificate_pem)->serial_hex);
  EXPECT_EQ(AgentWith(next).Get("/v1/hosts/" + host_id).status, 200);
  EXPECT_EQ(agent.Get("/v1/hosts/" + host_id).status, 200);

  // A certificate of another CA, with the same name, gets no TLS connection at all.
  auto other_ca = pki::CreateAuthority("not govpool", 1'700'000'000'000, 3650LL * 24 * 3600 * 1000);
  ASSERT_TRUE(other_ca.ok());
  pki::KeyAndCertificate forged;
  forged.key_pem = *pki::NewPrivateKey();
  forged.certificate_pem = *pki::SignClientCertificate(*other_ca, *pki::MakeCertificateRequest(forged.key_pem, "node-1"),
                                                       "node-1", 1'700'000'000'000, 3650LL * 24 * 3600 * 1000);
  Reply forged_reply = AgentWith(forged).Get("/v1/hosts");
  EXPECT_EQ(forged_reply.status, 0) << forged_reply.Describe();

  // Enrolments are the system-admin's.
  Api security(Options(controller_->security_token()));
  EXPECT_EQ(security.Post("/v1/host-enrolments", json::object{{"host_name", "node-3"}}).status, 403);
  EXPECT_EQ(admin.Post("/v1/host-enrolments", json::object{{"host_name", "../etc"}}).status, 400);
  EXPECT_EQ(admin.Post("/v1/host-enrolments", json::object{{"host_name", "n"}, {"ttl_s", 999999999}}).status, 400);
}

TEST_F(TlsEnrolmentTest, ARevokedHostsAgentIsLockedOutUntilItEnrolsAgain) {
  Api anonymous(Options());
  auto [issued, identity] = RequestCertificate(anonymous, "node-9", Enrol("node-9", ""));
  ASSERT_EQ(issued.status, 201) << issued.Describe();
  Api agent = AgentWith(identity);
  const json::object capacity{{"cpus", 8}, {"memory_mib", 16384}, {"disk_gib", 100}};
  Reply registered = agent.Post("/v1/hosts/register", json::object{{"name", "node-9"}, {"capacity", capacity}});
  ASSERT_EQ(registered.status, 200) << registered.Describe();
  const std::string host_id = registered.Str("id");
  // A renewal first: the revocation takes the old certificate and the new one alike.
  auto [renewed, next] = RequestCertificate(agent, "node-9", "");
  ASSERT_EQ(renewed.status, 201) << renewed.Describe();

  Api admin = Admin();
  Api security(Options(controller_->security_token()));
  EXPECT_EQ(security.Send("DELETE", "/v1/hosts/" + host_id + "/certificates", "").status, 403);
  Reply revoked = admin.Send("DELETE", "/v1/hosts/" + host_id + "/certificates", "");
  ASSERT_EQ(revoked.status, 204) << revoked.Describe();
  EXPECT_EQ(agent.Get("/v1/hosts/" + host_id).status, 401) << "the handshake passes, the API refuses";
  Api renewed_agent = AgentWith(next);
  EXPECT_EQ(renewed_agent.Get("/v1/hosts/" + host_id).status, 401);
  EXPECT_EQ(RequestCertificate(renewed_agent, "node-9", "").first.status, 401) << "no renewal either";
  EXPECT_EQ(admin.Send("DELETE", "/v1/hosts/" + host_id + "/certificates", "").status, 204) << "idempotent";
  // A new enrolment lets the host back, as the same host.
  auto [back, fresh] = RequestCertificate(anonymous, "node-9", Enrol("node-9", ""));
  ASSERT_EQ(back.status, 201) << back.Describe();
  Reply again = AgentWith(fresh).Post("/v1/hosts/register", json::object{{"name", "node-9"}, {"capacity", capacity}});
  ASSERT_EQ(again.status, 200) << again.Describe();
  EXPECT_EQ(again.Str("id"), host_id);
}

TEST_F(TlsEnrolmentTest, PlainHttpOnlyOnLoopbackAndWithoutEnrolment) {
  ControllerProcess plain((dir_ / "plain").string());  // --insecure-http
  fs::create_directories(dir_ / "plain");
  ASSERT_EQ(plain.Start(), "");
  EXPECT_NE(plain.log().find("PLAIN HTTP"), std::string::npos) << plain.log();
  Api admin(plain.base_url(), plain.admin_token());
  Reply no_enrolment = admin.Post("/v1/host-enrolments", json::object{{"host_name", "node-1"}});
  EXPECT_EQ(no_enrolment.status, 409) << no_enrolment.Describe();
  EXPECT_EQ(no_enrolment.ErrorCode(), "FAILED_PRECONDITION");

  ControllerProcess exposed((dir_ / "exposed").string());
  fs::create_directories(dir_ / "exposed");
  const std::string refused = exposed.Start({"--listen", "0.0.0.0:0"});
  EXPECT_NE(refused.find("--insecure-http serves only on a loopback address"), std::string::npos) << refused;
}

}  // namespace
}  // namespace govpool::testing
