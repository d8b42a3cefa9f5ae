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
  for (auto algorithm : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
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

// CRC-64/NVME as the CRC catalogue (reveng) defines it: check value and
// residue-free vectors, against both implementations.
TEST(Checksum, Crc64NvmeCheckValue) {
  EXPECT_EQ(Crc64NvmeUpdate(0, "123456789"), 0xAE8B14860A799888ull);
  EXPECT_EQ(Crc64NvmeUpdatePortable(0, "123456789"), 0xAE8B14860A799888ull);
  EXPECT_EQ(Crc64NvmeUpdate(0, ""), 0u);
}

// Values the AWS SDKs' CRC64NVME test suites use (aws-checksums): zeros,
// 0xFF bytes and an incrementing byte pattern, 32 bytes each.
TEST(Checksum, Crc64NvmeKnownVectors) {
  std::string incrementing;
  for (int i = 0; i < 32; ++i) incrementing.push_back(static_cast<char>(i));
  for (auto* crc : {&Crc64NvmeUpdate, &Crc64NvmeUpdatePortable}) {
    EXPECT_EQ(crc(0, std::string(32, '\0')), 0xCF3473434D4ECF3Bull);
    EXPECT_EQ(crc(0, std::string(32, '\xff')), 0xA0A06974C34D63C4ull);
    EXPECT_EQ(crc(0, incrementing), 0xB9D9D4A8492CBD7Full);
  }
}

TEST(Checksum, Crc64NvmeWireForm) {
  auto c = Checksummer::Create(ChecksumAlgorithm::kCrc64Nvme);
  c->Update("123456789");
  EXPECT_EQ(HexEncode(c->Final()), "ae8b14860a799888");
  EXPECT_EQ(Digest(ChecksumAlgorithm::kCrc64Nvme, ""), "AAAAAAAAAAA=");
  EXPECT_EQ(ChecksumSize(ChecksumAlgorithm::kCrc64Nvme), 8u);
}

// The folding path (≥ 128 bytes) against the tables at every alignment and
// at lengths around each of its loop boundaries, carrying a running CRC.
TEST(Checksum, Crc64NvmeFastMatchesPortable) {
  std::string data;
  for (int i = 0; i < 70000; ++i) data.push_back(static_cast<char>((i * 131 + 7) ^ (i >> 5)));
  for (size_t start = 0; start < 17; ++start) {
    for (size_t len : {0u, 1u, 15u, 16u, 127u, 128u, 129u, 143u, 144u, 255u, 256u, 257u, 1000u, 4096u, 65537u}) {
      auto piece = std::string_view(data).substr(start, len);
      EXPECT_EQ(Crc64NvmeUpdate(0, piece), Crc64NvmeUpdatePortable(0, piece)) << start << "+" << len;
      EXPECT_EQ(Crc64NvmeUpdate(0x0123456789ABCDEFull, piece), Crc64NvmeUpdatePortable(0x0123456789ABCDEFull, piece))
          << start << "+" << len;
    }
  }
}

// CrcCombine(CRC(A), CRC(B), |B|) == CRC(A‖B) for each CRC, at split points
// including empty halves.
TEST(Checksum, CrcCombineEqualsCrcOfConcatenation) {
  std::string data;
  for (int i = 0; i < 300000; ++i) data.push_back(static_cast<char>(i * 29 + (i >> 9)));
  for (auto algorithm : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme}) {
    auto crc = [&](std::string_view d) {
      auto c = Checksummer::Create(algorithm);
      c->Update(d);
      return *CrcFromDigest(algorithm, c->Final());
    };
    for (size_t split : {0u, 1u, 7u, 4096u, 123457u, 299999u, 300000u}) {
      std::string_view a = std::string_view(data).substr(0, split);
      std::string_view b = std::string_view(data).substr(split);
      EXPECT_EQ(CrcCombine(algorithm, crc(a), crc(b), b.size()), crc(data))
          << ChecksumAlgorithmName(algorithm) << " split " << split;
    }
  }
}

// Combining many parts in order, as a full-object multipart checksum does.
TEST(Checksum, CrcCombineOverManyParts) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>(i ^ (i >> 3)));
  for (auto algorithm : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme}) {
    uint64_t combined = 0;
    for (size_t off = 0; off < data.size(); off += 7919) {
      auto part = std::string_view(data).substr(off, 7919);
      auto c = Checksummer::Create(algorithm);
      c->Update(part);
      combined = CrcCombine(algorithm, combined, *CrcFromDigest(algorithm, c->Final()), part.size());
    }
    EXPECT_EQ(CrcDigest(algorithm, combined), [&] {
      auto c = Checksummer::Create(algorithm);
      c->Update(data);
      return c->Final();
    }()) << ChecksumAlgorithmName(algorithm);
  }
}

TEST(Checksum, CrcDigestRoundTrip) {
  EXPECT_EQ(CrcFromDigest(ChecksumAlgorithm::kCrc32, std::string("\xcb\xf4\x39\x26", 4)), 0xCBF43926u);
  EXPECT_EQ(CrcFromDigest(ChecksumAlgorithm::kCrc64Nvme, std::string("\xcb\xf4\x39\x26", 4)), std::nullopt);
  EXPECT_EQ(HexEncode(CrcDigest(ChecksumAlgorithm::kCrc64Nvme, 0xAE8B14860A799888ull)), "ae8b14860a799888");
  EXPECT_TRUE(IsCrc(ChecksumAlgorithm::kCrc64Nvme));
  EXPECT_FALSE(IsCrc(ChecksumAlgorithm::kSha256));
}

TEST(Checksum, NamesRoundTrip) {
  EXPECT_EQ(ParseChecksumAlgorithm("crc32c"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(ParseChecksumAlgorithm("SHA256"), ChecksumAlgorithm::kSha256);
  EXPECT_EQ(ParseChecksumAlgorithm("Crc32"), ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(ParseChecksumAlgorithm("crc64nvme"), ChecksumAlgorithm::kCrc64Nvme);
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kCrc64Nvme), "CRC64NVME");
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgorithm::kCrc64Nvme), "x-amz-checksum-crc64nvme");
  EXPECT_EQ(ParseChecksumAlgorithm("md5"), std::nullopt);
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kSha1), "SHA1");
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgorithm::kCrc32c), "x-amz-checksum-crc32c");
}

}  // namespace
}  // namespace annex::crypto
