#include <argon2.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/password_hash.h"
#include "common/password_policy.h"

namespace govpool {
namespace {

// "password" hashed by libargon2 directly with the given type and costs (salt "somesalt").
std::string EncodeWith(argon2_type type, std::uint32_t m_kib, std::uint32_t t) {
  const std::string salt = "somesalt";
  std::string encoded(argon2_encodedlen(t, m_kib, 1, salt.size(), 32, type), '\0');
  EXPECT_EQ(argon2_hash(t, m_kib, 1, "password", 8, salt.data(), salt.size(), nullptr, 32,
                        encoded.data(), encoded.size(), type, ARGON2_VERSION_13),
            ARGON2_OK);
  encoded.resize(encoded.find('\0'));
  return encoded;
}

TEST(PasswordHashTest, HashIsPhcArgon2idWithTheOwaspParametersAndVerifies) {
  const std::string hash = HashPassword("correct horse battery staple");
  EXPECT_TRUE(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << hash;
  EXPECT_TRUE(VerifyPassword(hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(hash, ""));
}

TEST(PasswordHashTest, SaltsDifferSoEqualPasswordsHashDifferently) {
  EXPECT_NE(HashPassword("same password"), HashPassword("same password"));
}

TEST(PasswordHashTest, MalformedOrForeignHashesNeverVerify) {
  EXPECT_FALSE(VerifyPassword("", "x"));
  EXPECT_FALSE(VerifyPassword("plain text", "plain text"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=19456,t=2,p=1$garbage", "x"));
  // Argon2i (not id) is refused even when it is well formed and the password is right.
  EXPECT_FALSE(VerifyPassword(EncodeWith(Argon2_i, 64, 1), "password"));
  std::string with_nul = HashPassword("pw");
  const std::string good = with_nul;
  with_nul.insert(with_nul.size() - 1, 1, '\0');
  EXPECT_FALSE(VerifyPassword(with_nul, "pw"));
  EXPECT_TRUE(VerifyPassword(good, "pw"));
}

TEST(PasswordHashTest, VerifiesAHashMadeWithOtherParameters) {
  // Raising the parameters later must not lock out users whose hash is older.
  const std::string old = EncodeWith(Argon2_id, 64, 1);
  EXPECT_TRUE(old.starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << old;
  EXPECT_TRUE(VerifyPassword(old, "password"));
  EXPECT_FALSE(VerifyPassword(old, "Password"));
}

Status Check(std::string_view password, const std::vector<std::string>& history = {},
             PasswordPolicy policy = {}) {
  return CheckPassword(policy, "alice", password, history);
}

std::string Rule(const Status& s) {
  for (const auto& [key, value] : s.details()) {
    if (key == "rule") return std::get<std::string>(value);
  }
  return "";
}

TEST(PasswordPolicyTest, AcceptsAPasswordThatMeetsEveryRule) {
  EXPECT_TRUE(Check("Tr0ub4dor&3xyz").ok());
  EXPECT_TRUE(Check("lower UPPER 123").ok());  // space counts as "other"
}

TEST(PasswordPolicyTest, EachRuleFailsWithItsNameAndReason) {
  const Status short_one = Check("Ab1!short");
  EXPECT_EQ(short_one.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(short_one.reason(), "PASSWORD_POLICY");
  EXPECT_EQ(Rule(short_one), "min_length");
  EXPECT_NE(short_one.message().find("too short"), std::string::npos) << short_one.message();
  EXPECT_EQ(short_one.message().find("Ab1!short"), std::string::npos) << "never echo the password";

  EXPECT_EQ(Rule(Check(std::string(257, 'a') + "B1")), "max_length");
  EXPECT_EQ(Rule(Check("onlylowerandlower")), "min_classes");
  EXPECT_EQ(Rule(Check("lowerUPPERonly")), "min_classes");
  EXPECT_EQ(Rule(Check("xx-ALICE-2024-yy")), "user_name");
  EXPECT_EQ(Rule(Check("xx-AlIcE-2024-yy")), "user_name");
}

TEST(PasswordPolicyTest, LengthCountsCharactersNotBytes) {
  // 12 characters (9 two-byte Cyrillic letters), 3 classes, 21 bytes: long enough.
  EXPECT_TRUE(Check("Пароль-Пар1a").ok());
  // 6 two-byte letters + digit + upper: 8 characters but 14 bytes: too short.
  EXPECT_EQ(Rule(Check("ПарольA1")), "min_length");
  // 256 characters of 2 bytes each is at the limit, one more is over.
  EXPECT_TRUE(Check("A1" + [] { std::string s; for (int i = 0; i < 254; ++i) s += "ж"; return s; }()).ok());
  EXPECT_EQ(Rule(Check("A1" + [] { std::string s; for (int i = 0; i < 255; ++i) s += "ж"; return s; }())),
            "max_length");
}

TEST(PasswordPolicyTest, RefusesTheLastNPasswordsOnly) {
  const std::vector<std::string> history = {HashPassword("Oldest-pass-001"), HashPassword("Middle-pass-002"),
                                            HashPassword("Newest-pass-003")};
  EXPECT_EQ(Rule(Check("Newest-pass-003", history)), "history");
  EXPECT_EQ(Rule(Check("Oldest-pass-001", history)), "history");
  EXPECT_TRUE(Check("Brand-new-pass-4", history).ok());
  // With a history of 2, the oldest of the three may come back.
  PasswordPolicy two;
  two.history = 2;
  EXPECT_TRUE(Check("Oldest-pass-001", history, two).ok());
  EXPECT_EQ(Rule(Check("Middle-pass-002", history, two)), "history");
  PasswordPolicy none;
  none.history = 0;
  EXPECT_TRUE(Check("Newest-pass-003", history, none).ok());
}

TEST(PasswordPolicyTest, PolicyValuesAreHonoured) {
  PasswordPolicy lax;
  lax.min_length = 4;
  lax.min_classes = 1;
  EXPECT_TRUE(Check("abcd", {}, lax).ok());
  EXPECT_EQ(Rule(Check("abc", {}, lax)), "min_length");
  PasswordPolicy strict;
  strict.min_classes = 4;
  EXPECT_EQ(Rule(Check("lowerUPPER12345", {}, strict)), "min_classes");
  EXPECT_TRUE(Check("lowerUPPER123!!", {}, strict).ok());
}

}  // namespace
}  // namespace govpool
