#include "common/crypto.h"

#include <gtest/gtest.h>

#include <string>

namespace govpool {
namespace {

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231, test cases 2 and 6 (a key longer than the block is hashed first).
TEST(HmacSha256Test, KnownMacs) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Sha256Test, StreamEqualsOneShotWhateverThePieces) {
  std::string data;
  for (int i = 0; i < 100'000; ++i) data += static_cast<char>(i * 31);
  Sha256Stream stream;
  for (std::size_t at = 0, piece = 1; at < data.size(); at += piece, piece = piece * 3 % 4099 + 1) {
    stream.Update(std::string_view(data).substr(at, piece));
  }
  EXPECT_EQ(stream.FinishHex(), Sha256Hex(data));
  // It starts over after FinishHex.
  stream.Update("abc");
  EXPECT_EQ(stream.FinishHex(), Sha256Hex("abc"));
}

}  // namespace
}  // namespace govpool
