#include "appliance/crypto/checksum.h"

#include <gtest/gtest.h>

#include <string>

#include "appliance/core/strings.h"

namespace annex::crypto {
namespace {

std::string Digest(ChecksumAlgorithm algorithm, std::string_view data) {
  auto c = Checksummer::Create(algorithm);
  c->Update(data);
  return ChecksumBase64(*c);
}

TEST(Checksum, Crc32CheckValue) { EXPECT_EQ(Crc32Update(0, "123456789"), 0xCBF43926u); }

TEST(Checksum, Crc32cCheckValue) {
  EXPECT_EQ(Crc32cUpdate(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cUpdatePortable(0, "123456789"), 0xE3069283u);
}

// RFC 3720 (iSCSI) B.4 vectors: 32 zero bytes and 32 0xFF bytes.
TEST(Checksum, Crc32cIscsiVectors) {
  EXPECT_EQ(Crc32cUpdate(0, std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32cUpdate(0, std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Checksum, Crc32cHardwareMatchesPortableAtEveryAlignment) {
  std::string data;
  for (int i = 0; i < 4099; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 4000u}) {
      auto piece = std::string_view(data).substr(start, len);
      EXPECT_EQ(Crc32cUpdate(0, piece), Crc32cUpdatePortable(0, piece));
    }
  }
}

TEST(Checksum, IncrementalEqualsOneShot) {
  std::string data(100003, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i ^ (i >> 7));
  for (auto algorithm : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c,
                         ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256}) {
    auto c = Checksummer::Create(algorithm);
    for (size_t off = 0; off < data.size(); off += 1013) {
      c->Update(std::string_view(data).substr(off, 1013));
    }
    EXPECT_EQ(ChecksumBase64(*c), Digest(algorithm, data)) << ChecksumAlgorithmName(algorithm);
  }
  uint32_t crc = Crc32cUpdate(0, std::string_view(data).substr(0, 5));
  EXPECT_EQ(Crc32cUpdate(crc, std::string_view(data).substr(5)), Crc32cUpdate(0, data));
}

// The values S3 returns for "hello world" in x-amz-checksum-* headers.
TEST(Checksum, S3WireFormOfHelloWorld) {
  EXPECT_EQ(Digest(ChecksumAlgorithm::kCrc32, "hello world"), "DUoRhQ==");
  EXPECT_EQ(Digest(ChecksumAlgorithm::kCrc32c, "hello world"), "yZRlqg==");
  EXPECT_EQ(Digest(ChecksumAlgorithm::kSha1, "hello world"), "Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
  EXPECT_EQ(Digest(ChecksumAlgorithm::kSha256, "hello world"),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=");
}

TEST(Checksum, CrcDigestIsFourBigEndianBytes) {
  auto c = Checksummer::Create(ChecksumAlgorithm::kCrc32);
  c->Update("123456789");
  EXPECT_EQ(HexEncode(c->Final()), "cbf43926");
}

TEST(Checksum, EmptyInput) {
  EXPECT_EQ(Digest(ChecksumAlgorithm::kCrc32, ""), "AAAAAA==");
  EXPECT_EQ(Digest(ChecksumAlgorithm::kCrc32c, ""), "AAAAAA==");
}

TEST(Checksum, NamesRoundTrip) {
  EXPECT_EQ(ParseChecksumAlgorithm("crc32c"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(ParseChecksumAlgorithm("SHA256"), ChecksumAlgorithm::kSha256);
  EXPECT_EQ(ParseChecksumAlgorithm("Crc32"), ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(ParseChecksumAlgorithm("md5"), std::nullopt);
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kSha1), "SHA1");
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgorithm::kCrc32c), "x-amz-checksum-crc32c");
}

}  // namespace
}  // namespace annex::crypto
