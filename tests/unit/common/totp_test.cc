#include "common/totp.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace govpool {
namespace {

std::vector<unsigned char> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 6238 Appendix B, SHA-1 rows: the RFC prints 8 digits; 6-digit codes are their last six
// (the truncation is the same number mod 10^6 instead of 10^8).
TEST(TotpTest, Rfc6238Sha1VectorsTruncatedToSixDigits) {
  const auto secret = Bytes("12345678901234567890");
  const std::vector<std::pair<std::int64_t, std::string>> vectors = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& [time, code8] : vectors) {
    EXPECT_EQ(TotpCode(secret, TotpStep(time)), code8.substr(2)) << "T=" << time;
  }
}

TEST(TotpTest, StepIsFloorOfThirtySeconds) {
  EXPECT_EQ(TotpStep(0), 0);
  EXPECT_EQ(TotpStep(29), 0);
  EXPECT_EQ(TotpStep(30), 1);
  EXPECT_EQ(TotpStep(59), 1);
  EXPECT_EQ(TotpStep(-1), -1);
}

TEST(TotpTest, AcceptsTheAdjacentStepsAndReturnsTheMatchedOne) {
  const auto secret = Bytes("12345678901234567890");
  const std::int64_t now = 1111111111;  // step 37037037
  const std::int64_t step = TotpStep(now);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step), now, 0), step);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step - 1), now, 0), step - 1);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step + 1), now, 0), step + 1);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step - 2), now, 0), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step + 2), now, 0), std::nullopt);
  // A wider window reaches further; window 0 only the current step.
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step + 2), now, 0, 2), step + 2);
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step - 1), now, 0, 0), std::nullopt);
  // Another secret's code does not match.
  EXPECT_EQ(VerifyTotp(Bytes("another secret 12345"), TotpCode(secret, step), now, 0), std::nullopt);
}

TEST(TotpTest, RefusesReplaysAndCodesOlderThanTheLastUsedOne) {
  const auto secret = Bytes("12345678901234567890");
  const std::int64_t now = 2000000000;
  const std::int64_t step = TotpStep(now);
  const auto used = VerifyTotp(secret, TotpCode(secret, step), now, 0);
  ASSERT_EQ(used, step);
  // The same code again, even a second later in the same step: refused.
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step), now + 1, *used), std::nullopt);
  // The previous step's code, still inside the window, after a newer one was used: refused.
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step - 1), now, *used), std::nullopt);
  // The next step's code is newer: accepted.
  EXPECT_EQ(VerifyTotp(secret, TotpCode(secret, step + 1), now, *used), step + 1);
}

TEST(TotpTest, CodeFormat) {
  const auto secret = Bytes("12345678901234567890");
  const std::int64_t now = 59;
  EXPECT_EQ(VerifyTotp(secret, "287 082", now, -1), 1);  // as apps show it
  EXPECT_EQ(VerifyTotp(secret, "28708", now, -1), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret, "2870820", now, -1), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret, "94287082", now, -1), std::nullopt);  // the 8-digit form
  EXPECT_EQ(VerifyTotp(secret, "28708a", now, -1), std::nullopt);
  EXPECT_EQ(VerifyTotp(secret, "", now, -1), std::nullopt);
}

TEST(Base32Test, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base32Encode(Bytes("")), "");
  EXPECT_EQ(Base32Encode(Bytes("f")), "MY");
  EXPECT_EQ(Base32Encode(Bytes("fo")), "MZXQ");
  EXPECT_EQ(Base32Encode(Bytes("foo")), "MZXW6");
  EXPECT_EQ(Base32Encode(Bytes("foob")), "MZXW6YQ");
  EXPECT_EQ(Base32Encode(Bytes("fooba")), "MZXW6YTB");
  EXPECT_EQ(Base32Encode(Bytes("foobar")), "MZXW6YTBOI");
}

TEST(Base32Test, DecodeAcceptsWhatPeopleTypeAndRoundTrips) {
  EXPECT_EQ(Base32Decode("MZXW6YTBOI======"), Bytes("foobar"));
  EXPECT_EQ(Base32Decode("mzxw 6ytb oi"), Bytes("foobar"));
  EXPECT_EQ(Base32Decode("MY======"), Bytes("f"));
  EXPECT_EQ(Base32Decode(""), Bytes(""));
  EXPECT_EQ(Base32Decode("MZXW1"), std::nullopt);  // '1' is not in the alphabet
  EXPECT_EQ(Base32Decode("MZ+W"), std::nullopt);
  std::vector<unsigned char> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<unsigned char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const std::vector<unsigned char> prefix(all.begin(), all.begin() + static_cast<long>(n));
    EXPECT_EQ(Base32Decode(Base32Encode(prefix)), prefix) << n;
  }
}

TEST(OtpauthUriTest, KeyUriFormatWithEncodedLabel) {
  EXPECT_EQ(OtpauthUri("govpool", "alice", Bytes("12345678901234567890")),
            "otpauth://totp/govpool:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=govpool"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("gov pool", "a:b@x/y", Bytes("1")),
            "otpauth://totp/gov%20pool:a%3Ab%40x%2Fy?secret=GE&issuer=gov%20pool"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(RandomCodesTest, SecretsAndRecoveryCodesAreFreshAndWellFormed) {
  EXPECT_EQ(NewTotpSecret().size(), 20u);
  EXPECT_NE(NewTotpSecret(), NewTotpSecret());
  const auto codes = NewRecoveryCodes();
  ASSERT_EQ(codes.size(), 10u);
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), codes.size());
  for (const std::string& code : codes) {
    ASSERT_EQ(code.size(), 19u) << code;  // 16 characters in four groups
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (i % 5 == 4) {
        EXPECT_EQ(code[i], '-') << code;
      } else {
        EXPECT_TRUE((code[i] >= 'a' && code[i] <= 'z') || (code[i] >= '2' && code[i] <= '7')) << code;
      }
    }
    EXPECT_EQ(NormalizeRecoveryCode(code).size(), 16u);
  }
  EXPECT_EQ(NewRecoveryCodes(3).size(), 3u);
  EXPECT_EQ(NormalizeRecoveryCode("K7WQ M3ZP-4xta9bnc"), NormalizeRecoveryCode("k7wq-m3zp-4xta-9bnc"));
}

}  // namespace
}  // namespace govpool
