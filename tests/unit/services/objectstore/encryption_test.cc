#include <gtest/gtest.h>

#include "appliance/os/file_system.h"
#include "services/objectstore/key_ring.h"
#include "services/objectstore/sealed_data.h"
#include "tests/unit/services/objectstore/s3_test_harness.h"

namespace annex::objectstore {
namespace {

TEST(SealedDataTest, SizesAndRoundTripAcrossChunkBoundaries) {
  EXPECT_EQ(SealedSize(0), 0u);
  EXPECT_EQ(SealedSize(1), 17u);
  EXPECT_EQ(SealedSize(kPlainChunk), kSealedChunk);
  EXPECT_EQ(SealedSize(kPlainChunk + 1), kSealedChunk + 17);
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, kPlainChunk - 1, kPlainChunk, 3 * kPlainChunk + 5}) {
    EXPECT_EQ(PlainSize(SealedSize(n)), n) << n;
  }
  crypto::Aes256Gcm gcm;
  std::string key = crypto::RandomKey();
  std::string plain(3 * kPlainChunk + 77, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(i * 7);
  std::string sealed(SealedSize(plain.size()), '\0');
  ASSERT_TRUE(SealChunks(gcm, key, 0, plain, sealed.data()).ok());
  EXPECT_EQ(sealed.find(plain.substr(1000, 64)), std::string::npos) << "no plaintext left";
  // The third chunk alone, as a ranged read takes it.
  std::string third(kPlainChunk, '\0');
  ASSERT_TRUE(OpenChunks(gcm, key, 2, std::string_view(sealed).substr(2 * kSealedChunk, kSealedChunk), third.data()).ok());
  EXPECT_EQ(third, plain.substr(2 * kPlainChunk, kPlainChunk));
  // A chunk moved to another place fails: its index is its nonce.
  EXPECT_FALSE(OpenChunks(gcm, key, 1, std::string_view(sealed).substr(2 * kSealedChunk, kSealedChunk), third.data()).ok());
}

class KeyRingTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<KeyRing>> Open() {
    return KeyRing::Open(os::PosixFileSystem(), dir_.path() + "/sealing.key", dir_.path() + "/data/keys");
  }
  annex::testing::TempDir dir_;
};

TEST_F(KeyRingTest, MadeOnceThenReopenedWithTheSameMasterKey) {
  auto first = Open();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string wrapped = (*first)->Wrap(std::string(32, 'k'));
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->Unwrap(wrapped), std::string(32, 'k'));
}

// Unwrapped keys are remembered per thread: another ring (another master
// key) must still refuse a key it did not wrap, however recently seen.
TEST_F(KeyRingTest, RememberedKeysAreNeverAnotherRingsAnswer) {
  auto first = Open();
  ASSERT_TRUE(first.ok());
  std::string wrapped = (*first)->Wrap(std::string(32, 'k'));
  EXPECT_EQ(*(*first)->Unwrap(wrapped), std::string(32, 'k'));
  EXPECT_EQ(*(*first)->Unwrap(wrapped), std::string(32, 'k')) << "the remembered key is the same";
  annex::testing::TempDir other_dir;
  auto other = KeyRing::Open(os::PosixFileSystem(), other_dir.path() + "/sealing.key", other_dir.path() + "/keys");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Unwrap(wrapped).status().code(), StatusCode::kCorruption);
  std::string altered = wrapped;
  altered.back() ^= 1;  // same slot (the nonce is unchanged), other bytes
  EXPECT_EQ((*first)->Unwrap(altered).status().code(), StatusCode::kCorruption);
  EXPECT_FALSE((*first)->Unwrap(wrapped.substr(1)).ok());
}

TEST_F(KeyRingTest, AnotherSealingKeyIsRefusedAndRotationKeepsTheMasterKey) {
  auto first = Open();
  ASSERT_TRUE(first.ok());
  std::string wrapped = (*first)->Wrap(std::string(32, 'k'));
  auto& fs = os::PosixFileSystem();
  std::string original = *os::ReadFileToString(fs, dir_.path() + "/sealing.key");
  ASSERT_TRUE(os::WriteFileAtomic(fs, dir_.path() + "/sealing.key", crypto::RandomKey(), 0600).ok());
  auto wrong = Open();
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("does not open"), std::string::npos) << wrong.status().ToString();
  // Rotation: the next key is put beside the current one; the next start seals with it.
  ASSERT_TRUE(os::WriteFileAtomic(fs, dir_.path() + "/sealing.key", original, 0600).ok());
  std::string next = crypto::RandomKey();
  ASSERT_TRUE(os::WriteFileAtomic(fs, dir_.path() + "/sealing.key.next", next, 0600).ok());
  auto rotated = Open();
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(*(*rotated)->Unwrap(wrapped), std::string(32, 'k'));
  EXPECT_EQ(*os::ReadFileToString(fs, dir_.path() + "/sealing.key"), next);
  EXPECT_FALSE(fs.Exists(dir_.path() + "/sealing.key.next"));
  EXPECT_TRUE(Open().ok()) << "the rotated key opens it from now on";
}

}  // namespace
}  // namespace annex::objectstore
