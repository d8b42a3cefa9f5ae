#include "appliance/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "appliance/core/strings.h"

namespace annex::crypto {
namespace {

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, Md5AndSha1KnownVectors) {
  EXPECT_EQ(HexEncode(Md5Raw("abc")), "900150983cd24fb0d6963f7d28e17f72");
  Hasher sha1(HashKind::kSha1);
  sha1.Update("abc");
  EXPECT_EQ(sha1.size(), 20u);
  EXPECT_EQ(sha1.FinalHex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Hash, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i * 131));
  for (size_t piece : {1u, 7u, 64u, 4097u}) {
    Hasher h(HashKind::kSha256);
    for (size_t off = 0; off < data.size(); off += piece) {
      h.Update(std::string_view(data).substr(off, piece));
    }
    EXPECT_EQ(h.FinalHex(), Sha256Hex(data)) << "piece " << piece;
  }
}

TEST(Hash, MovedHasherKeepsState) {
  Hasher a(HashKind::kMd5);
  a.Update("ab");
  Hasher b(std::move(a));
  b.Update("c");
  EXPECT_EQ(b.Final(), Md5Raw("abc"));
}

// RFC 4231 test case 2 ("what do ya want for nothing?").
TEST(Hash, HmacSha256Rfc4231Case2) {
  auto mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(HexEncode(AsBytes(mac)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 4231 test case 6: a key longer than the block size gets hashed first.
TEST(Hash, HmacSha256Rfc4231Case6LongKey) {
  std::string key(131, '\xaa');
  auto mac = HmacSha256(key, "Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(HexEncode(AsBytes(mac)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace annex::crypto
