#include "common/crypto.h"

#include <gtest/gtest.h>

#include <string>

namespace govpool {
namespace {

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
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
