#include "common/pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace govpool::pki {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;  // 2027-01-15
constexpr std::int64_t kDay = 24LL * 3600 * 1000;

TEST(PkiTest, AuthorityIssuesServerCertificatesItVerifies) {
  auto ca = CreateAuthority("govpool test CA", kNow, 3650 * kDay);
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  EXPECT_NE(ca->key_pem.find("PRIVATE KEY"), std::string::npos);
  auto server = IssueServerCertificate(*ca, {"controller.example", "127.0.0.1", "::1"}, kNow, 365 * kDay);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE(CheckCertificatePair(ca->certificate_pem, server->certificate_pem, server->key_pem).ok());
  auto info = ReadCertificate(server->certificate_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "controller.example");
  EXPECT_EQ(info->not_after_ms, kNow + 365 * kDay);
  EXPECT_EQ(info->not_before_ms, kNow - 60'000);  // a minute for clock skew
  EXPECT_FALSE(info->serial_hex.empty());

  auto other_ca = CreateAuthority("another CA", kNow, kDay);
  ASSERT_TRUE(other_ca.ok());
  EXPECT_FALSE(CheckCertificatePair(other_ca->certificate_pem, server->certificate_pem, server->key_pem).ok());
  EXPECT_FALSE(CheckCertificatePair(ca->certificate_pem, server->certificate_pem, ca->key_pem).ok());
}

TEST(PkiTest, ServerNamesMustBeAddressesOrDnsNames) {
  auto ca = CreateAuthority("ca", kNow, kDay);
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(IssueServerCertificate(*ca, {}, kNow, kDay).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueServerCertificate(*ca, {"bad name,DNS:evil"}, kNow, kDay).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PkiTest, ClientCertificateCarriesTheNameTheCaChose) {
  auto ca = CreateAuthority("ca", kNow, 3650 * kDay);
  ASSERT_TRUE(ca.ok());
  auto key = NewPrivateKey();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCertificateRequest(*key, "node-7");
  ASSERT_TRUE(csr.ok()) << csr.status().ToString();
  auto cert = SignClientCertificate(*ca, *csr, "node-7", kNow, 30 * kDay);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  EXPECT_TRUE(CheckCertificatePair(ca->certificate_pem, *cert, *key).ok());
  auto info = ReadCertificate(*cert);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "node-7");
  EXPECT_EQ(info->not_after_ms, kNow + 30 * kDay);
  // Two certificates never share a serial number.
  auto again = SignClientCertificate(*ca, *csr, "node-7", kNow, 30 * kDay);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(ReadCertificate(*again)->serial_hex, info->serial_hex);
}

TEST(PkiTest, RefusesRequestsForAnotherNameOrTampered) {
  auto ca = CreateAuthority("ca", kNow, kDay);
  ASSERT_TRUE(ca.ok());
  auto key = NewPrivateKey();
  ASSERT_TRUE(key.ok());
  auto csr = MakeCertificateRequest(*key, "node-8");
  ASSERT_TRUE(csr.ok());
  auto wrong_name = SignClientCertificate(*ca, *csr, "node-7", kNow, kDay);
  EXPECT_EQ(wrong_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_name.status().message().find("node-8"), std::string::npos);
  EXPECT_EQ(SignClientCertificate(*ca, "not a request", "node-8", kNow, kDay).status().code(),
            StatusCode::kInvalidArgument);
  // A flipped byte in the signed part: the signature no longer verifies (or it no longer parses).
  std::string tampered = *csr;
  tampered[tampered.find('\n') + 40] ^= 0x01;
  EXPECT_EQ(SignClientCertificate(*ca, tampered, "node-8", kNow, kDay).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PkiTest, KeyFilesReadableByOthersAreRefused) {
  char dir_template[] = "/tmp/pki_test_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/key.pem";
  std::ofstream(path) << "key";
  ::chmod(path.c_str(), 0644);
  auto loose = CheckPrivateKeyFile(path);
  EXPECT_EQ(loose.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loose.message().find("0644"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(CheckPrivateKeyFile(path).ok());
  EXPECT_EQ(CheckPrivateKeyFile(path + ".missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(CheckPrivateKeyFile(dir_template).code(), StatusCode::kInvalidArgument);
  std::remove(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace
}  // namespace govpool::pki
