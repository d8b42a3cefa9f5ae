#include "appliance/crypto/aead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::crypto {
namespace {

// NIST's GCM test case 16 (AES-256, 96-bit IV), without additional data:
// the ciphertext is the published one, the tag the one OpenSSL computes for it.
TEST(Aes256GcmTest, MatchesAKnownCiphertext) {
  std::string key = *HexDecode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string nonce = *HexDecode("cafebabefacedbaddecaf888");
  std::string plain = *HexDecode(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
      "ba637b391aafd255");
  std::string sealed(plain.size() + kAeadTagSize, '\0');
  Aes256Gcm gcm;
  ASSERT_TRUE(gcm.Seal(key, nonce, plain, sealed.data()).ok());
  EXPECT_EQ(HexEncode(sealed.substr(0, plain.size())),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0a"
            "bcc9f662898015ad");
  std::string back(plain.size(), '\0');
  ASSERT_TRUE(gcm.Open(key, nonce, sealed, back.data()).ok());
  EXPECT_EQ(back, plain);
}

TEST(Aes256GcmTest, RefusesAlteredBytesAndWrongKeys) {
  std::string key = RandomKey(), nonce(kAeadNonceSize, '\1');
  std::string plain = "attack at dawn";
  std::string sealed(plain.size() + kAeadTagSize, '\0');
  Aes256Gcm gcm;
  ASSERT_TRUE(gcm.Seal(key, nonce, plain, sealed.data()).ok());
  std::string out(plain.size(), '\0');
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] ^= 1;
    EXPECT_TRUE(gcm.Open(key, nonce, altered, out.data()).code() == StatusCode::kCorruption) << "byte " << i;
  }
  EXPECT_TRUE(gcm.Open(RandomKey(), nonce, sealed, out.data()).code() == StatusCode::kCorruption);
  EXPECT_FALSE(gcm.Seal("short", nonce, plain, sealed.data()).ok());
}

// One context decrypting under many keys in turn (it keeps several key
// schedules, a slot per key): each buffer opens under its own key only.
TEST(Aes256GcmTest, OpensUnderManyKeysInTurn) {
  std::vector<std::string> keys, sealed;
  std::string nonce(kAeadNonceSize, '\7');
  Aes256Gcm sealer, opener;
  for (int i = 0; i < 100; ++i) {
    // Every fourth key starts with the same bytes, so they share a slot.
    keys.push_back(i % 4 == 0 ? std::string(4, 'x') + RandomBytes(kAeadKeySize - 4) : RandomKey());
    std::string plain = "object " + std::to_string(i);
    sealed.emplace_back(plain.size() + kAeadTagSize, '\0');
    ASSERT_TRUE(sealer.Seal(keys[i], nonce, plain, sealed[i].data()).ok());
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) {
      std::string out(sealed[i].size() - kAeadTagSize, '\0');
      ASSERT_TRUE(opener.Open(keys[i], nonce, sealed[i], out.data()).ok()) << i;
      EXPECT_EQ(out, "object " + std::to_string(i));
      int other = (i + 4) % 100;  // a key of the same slot for multiples of four
      EXPECT_EQ(opener.Open(keys[other], nonce, sealed[i], out.data()).code(), StatusCode::kCorruption) << i;
    }
  }
}

TEST(Aes256GcmTest, WrapsAndUnwrapsKeys) {
  std::string kek = RandomKey(), key = RandomKey();
  std::string wrapped = WrapKey(kek, key);
  ASSERT_EQ(wrapped.size(), kWrappedKeySize);
  EXPECT_NE(wrapped, WrapKey(kek, key)) << "a fresh nonce every time";
  EXPECT_EQ(*UnwrapKey(kek, wrapped), key);
  EXPECT_FALSE(UnwrapKey(RandomKey(), wrapped).ok());
  EXPECT_FALSE(UnwrapKey(kek, wrapped.substr(1)).ok());
}

}  // namespace
}  // namespace annex::crypto
