#include "provisioning/image/gpt.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "tests/unit/testing/temp_dir.h"

#include "appliance/crypto/checksum.h"

namespace annex::image {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kDisk = 64 * kMiB;

std::vector<PartitionSpec> Specs() {
  return {{"esp", kEspTypeGuid, 8 * kMiB},
          {"root-a", kLinuxRootX86_64TypeGuid, 16 * kMiB},
          {"root-b", kLinuxRootX86_64TypeGuid, 16 * kMiB},
          {"data", kLinuxDataTypeGuid, 0}};
}

GptLayout Plan(uint64_t disk = kDisk, std::string_view seed = "annex-test") {
  auto layout = PlanLayout(disk, Specs(), seed);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  return layout.ok() ? *layout : GptLayout{};
}

uint32_t Le32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

void ExpectSameLayout(const GptLayout& a, const GptLayout& b) {
  EXPECT_EQ(a.disk_guid, b.disk_guid);
  EXPECT_EQ(a.disk_bytes, b.disk_bytes);
  ASSERT_EQ(a.partitions.size(), b.partitions.size());
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    const Partition& p = a.partitions[i];
    const Partition& q = b.partitions[i];
    EXPECT_EQ(p.number, q.number);
    EXPECT_EQ(p.name, q.name);
    EXPECT_EQ(p.type_guid, q.type_guid);
    EXPECT_EQ(p.unique_guid, q.unique_guid);
    EXPECT_EQ(p.first_lba, q.first_lba);
    EXPECT_EQ(p.last_lba, q.last_lba);
  }
}

// A sparse image file in a temp dir, open read-write.
class GptFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.path() + "/disk.img";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(::ftruncate(fd_, kDisk), 0);
  }
  void TearDown() override { ::close(fd_); }

  void Corrupt(uint64_t offset) {
    char c = 0;
    ASSERT_EQ(::pread(fd_, &c, 1, static_cast<off_t>(offset)), 1);
    c = static_cast<char>(c ^ 0x01);
    ASSERT_EQ(::pwrite(fd_, &c, 1, static_cast<off_t>(offset)), 1);
  }

  annex::testing::TempDir tmp_;
  std::string path_;
  int fd_ = -1;
};

TEST(GptPlan, PartitionsAreAlignedAndInOrder) {
  GptLayout layout = Plan();
  ASSERT_EQ(layout.partitions.size(), 4u);
  const auto& p = layout.partitions;
  EXPECT_EQ(p[0].number, 1u);
  EXPECT_EQ(p[0].first_lba, 2048u);
  EXPECT_EQ(p[0].offset(), kMiB);
  EXPECT_EQ(p[0].size(), 8 * kMiB);
  EXPECT_EQ(p[1].offset(), 9 * kMiB);
  EXPECT_EQ(p[2].offset(), 25 * kMiB);
  EXPECT_EQ(p[3].offset(), 41 * kMiB);
  EXPECT_EQ(p[3].number, 4u);
  // The fill partition runs to the last usable LBA, before the 33 backup sectors.
  EXPECT_EQ(p[3].last_lba, kDisk / kSectorSize - 34);
  EXPECT_EQ(p[0].type_guid, kEspTypeGuid);
  EXPECT_EQ(p[3].type_guid, kLinuxDataTypeGuid);
  for (const Partition& part : p) {
    ASSERT_EQ(part.unique_guid.size(), 36u);
    EXPECT_EQ(part.unique_guid[14], '4') << "version 4";
    EXPECT_NE(std::string("89AB").find(part.unique_guid[19]), std::string::npos) << "RFC 4122 variant";
  }
  EXPECT_EQ(layout.disk_bytes, kDisk);
}

TEST(GptPlan, SizesRoundUpToWholeMebibytes) {
  auto layout = PlanLayout(kDisk, {{"a", kLinuxDataTypeGuid, 1}, {"b", kLinuxDataTypeGuid, kMiB + 1}}, "s");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_EQ(layout->partitions[0].size(), kMiB);
  EXPECT_EQ(layout->partitions[1].offset(), 2 * kMiB);
  EXPECT_EQ(layout->partitions[1].size(), 2 * kMiB);
}

TEST(GptPlan, LowerCaseTypeGuidIsCanonicalised) {
  auto layout = PlanLayout(kDisk, {{"esp", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", kMiB}}, "s");
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->partitions[0].type_guid, kEspTypeGuid);
}

TEST(GptPlan, SameInputsGiveIdenticalBytesAndOtherSeedsDiffer) {
  GptBytes a = EncodeGpt(Plan());
  GptBytes b = EncodeGpt(Plan());
  EXPECT_EQ(a.head, b.head);
  EXPECT_EQ(a.tail, b.tail);
  GptLayout other = Plan(kDisk, "another-seed");
  EXPECT_NE(other.disk_guid, Plan().disk_guid);
  EXPECT_NE(other.partitions[0].unique_guid, Plan().partitions[0].unique_guid);
  EXPECT_NE(EncodeGpt(other).head, a.head);
}

TEST(GptPlan, RejectsWhatDoesNotFit) {
  auto code = [](uint64_t disk, std::vector<PartitionSpec> specs) {
    return PlanLayout(disk, specs, "s").status().code();
  };
  const auto kInvalid = StatusCode::kInvalidArgument;
  EXPECT_EQ(code(kDisk, {{"big", kLinuxDataTypeGuid, kDisk}}), kInvalid);
  EXPECT_EQ(code(kDisk, {{"a", kLinuxDataTypeGuid, 40 * kMiB}, {"b", kLinuxDataTypeGuid, 40 * kMiB}}), kInvalid);
  // 63 MiB fit after the 1 MiB gap only if nothing is kept for the backup table.
  EXPECT_EQ(code(kDisk, {{"a", kLinuxDataTypeGuid, 63 * kMiB}}), kInvalid);
  EXPECT_EQ(code(kDisk, {{"a", kLinuxDataTypeGuid, 62 * kMiB}}), StatusCode::kOk);
  EXPECT_EQ(code(kDisk, {{"a", kLinuxDataTypeGuid, 63 * kMiB}, {"fill", kLinuxDataTypeGuid, 0}}), kInvalid);
  EXPECT_EQ(code(kDisk, {{"a", kLinuxDataTypeGuid, ~uint64_t{0}}}), kInvalid);
  EXPECT_EQ(code(kDisk + 1, {{"a", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code(16 * kSectorSize, {}), kInvalid);
}

TEST(GptPlan, RejectsBadNamesAndSpecs) {
  auto code = [](std::vector<PartitionSpec> specs) { return PlanLayout(kDisk, specs, "s").status().code(); };
  const auto kInvalid = StatusCode::kInvalidArgument;
  EXPECT_EQ(code({{std::string(36, 'n'), kLinuxDataTypeGuid, kMiB}}), StatusCode::kOk);
  EXPECT_EQ(code({{std::string(37, 'n'), kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code({{"r\xc3\xa9sum\xc3\xa9", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code({{"tab\there", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code({{"", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code({{"x", kLinuxDataTypeGuid, kMiB}, {"x", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  EXPECT_EQ(code({{"x", "not-a-guid", kMiB}}), kInvalid);
  EXPECT_EQ(code({{"x", "0FC63DAF-8483-4772-8E79-3D69D8477DEZ", kMiB}}), kInvalid);
  EXPECT_EQ(code({{"fill", kLinuxDataTypeGuid, 0}, {"after", kLinuxDataTypeGuid, kMiB}}), kInvalid);
  auto status = PlanLayout(kDisk, {{"huge", kLinuxDataTypeGuid, kDisk}}, "s").status();
  EXPECT_NE(status.message().find("huge"), std::string::npos) << status.message();
}

TEST(GptPlan, FindPartitionByName) {
  GptLayout layout = Plan();
  ASSERT_NE(FindPartition(layout, "root-b"), nullptr);
  EXPECT_EQ(FindPartition(layout, "root-b")->number, 3u);
  EXPECT_EQ(FindPartition(layout, "root-c"), nullptr);
}

TEST(GptEncode, ProtectiveMbrAndHeaderPlacement) {
  GptBytes bytes = EncodeGpt(Plan());
  ASSERT_EQ(bytes.head.size(), 34 * kSectorSize);
  ASSERT_EQ(bytes.tail.size(), 33 * kSectorSize);
  EXPECT_EQ(static_cast<uint8_t>(bytes.head[446 + 4]), 0xEE);
  EXPECT_EQ(Le32(bytes.head, 446 + 8), 1u);
  EXPECT_EQ(Le32(bytes.head, 446 + 12), kDisk / kSectorSize - 1);
  EXPECT_EQ(static_cast<uint8_t>(bytes.head[510]), 0x55);
  EXPECT_EQ(static_cast<uint8_t>(bytes.head[511]), 0xAA);
  EXPECT_EQ(bytes.head.substr(512, 8), "EFI PART");
  EXPECT_EQ(bytes.tail.substr(32 * kSectorSize, 8), "EFI PART");
  // Both copies of the entry array are identical.
  EXPECT_EQ(bytes.head.substr(2 * kSectorSize), bytes.tail.substr(0, 32 * kSectorSize));
}

// Expected values computed independently (Python: hashlib for the GUIDs, zlib.crc32 over headers and the entry array
// built field by field from UEFI 2.10 §5.3) for Plan() with seed "annex-test" on a 64 MiB disk.
TEST(GptEncode, KnownGuidsAndCrcs) {
  GptLayout layout = Plan();
  EXPECT_EQ(layout.disk_guid, "8796AB75-CE2E-4305-BA47-997F4C63401F");
  EXPECT_EQ(layout.partitions[0].unique_guid, "901853DC-505A-4DCE-B4F9-311718530735");
  GptBytes bytes = EncodeGpt(layout);
  std::string_view primary = std::string_view(bytes.head).substr(kSectorSize, kSectorSize);
  std::string_view backup = std::string_view(bytes.tail).substr(32 * kSectorSize);
  EXPECT_EQ(Le32(primary, 88), 0x45AFDBABu) << "entry array CRC";
  EXPECT_EQ(Le32(backup, 88), 0x45AFDBABu);
  EXPECT_EQ(Le32(primary, 16), 0x5CCEA4A9u) << "primary header CRC";
  EXPECT_EQ(Le32(backup, 16), 0xD2C2686Cu) << "backup header CRC";
  // And the CRC is the one over the header with the field zeroed, as the spec defines it.
  std::string copy(primary.substr(0, 92));
  copy.replace(16, 4, 4, '\0');
  EXPECT_EQ(crypto::Crc32Update(0, copy), Le32(primary, 16));
}

TEST_F(GptFileTest, WriteThenReadRoundTrips) {
  GptLayout layout = Plan();
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  auto size = DeviceSize(fd_);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, kDisk);
  auto read = ReadGpt(fd_, *size);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameLayout(*read, layout);
  // The file stays sparse-sized: nothing was written past the end.
  EXPECT_EQ(std::filesystem::file_size(path_), kDisk);
}

TEST_F(GptFileTest, DamagedPrimaryHeaderFallsBackToBackup) {
  GptLayout layout = Plan();
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  Corrupt(kSectorSize + 60);  // a disk GUID byte inside the primary header
  auto read = ReadGpt(fd_, kDisk);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameLayout(*read, layout);
}

TEST_F(GptFileTest, DamagedPrimaryEntryArrayFallsBackToBackup) {
  GptLayout layout = Plan();
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  Corrupt(2 * kSectorSize + 56);  // first partition's name
  auto read = ReadGpt(fd_, kDisk);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ExpectSameLayout(*read, layout);
}

TEST_F(GptFileTest, BothTablesDamagedIsAnError) {
  ASSERT_TRUE(WriteGpt(fd_, Plan()).ok());
  Corrupt(kSectorSize + 60);
  Corrupt(kDisk - kSectorSize + 60);
  auto read = ReadGpt(fd_, kDisk);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find("primary: header CRC mismatch"), std::string::npos) << read.status().message();
  EXPECT_NE(read.status().message().find("backup: header CRC mismatch"), std::string::npos);
}

TEST_F(GptFileTest, BlankDiskIsAnError) {
  auto read = ReadGpt(fd_, kDisk);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find("signature"), std::string::npos) << read.status().message();
  EXPECT_EQ(ReadGpt(fd_, kDisk + 1).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GptFileTest, WriteRejectsOverlappingPartitions) {
  GptLayout layout = Plan();
  layout.partitions[1].first_lba = layout.partitions[0].last_lba;
  EXPECT_EQ(WriteGpt(fd_, layout).code(), StatusCode::kInvalidArgument);
}

TEST_F(GptFileTest, GrowLastPartitionAfterTheDiskGrew) {
  GptLayout layout = Plan();
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  EXPECT_FALSE(GrowLastPartition(layout, kDisk)) << "already fills the disk";

  // The image is "flashed" to a disk twice its size: the primary still describes the old size.
  ASSERT_EQ(::ftruncate(fd_, 2 * kDisk), 0);
  auto size = DeviceSize(fd_);
  ASSERT_TRUE(size.ok());
  auto read = ReadGpt(fd_, *size);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->disk_bytes, kDisk);

  GptLayout grown = *read;
  ASSERT_TRUE(GrowLastPartition(grown, *size));
  EXPECT_EQ(grown.disk_bytes, 2 * kDisk);
  EXPECT_EQ(grown.partitions[3].first_lba, layout.partitions[3].first_lba);
  EXPECT_EQ(grown.partitions[3].last_lba, 2 * kDisk / kSectorSize - 34);
  EXPECT_EQ(grown.partitions[0].last_lba, layout.partitions[0].last_lba);
  EXPECT_FALSE(GrowLastPartition(grown, *size));
  EXPECT_FALSE(GrowLastPartition(grown, kDisk)) << "never shrinks";

  ASSERT_TRUE(WriteGpt(fd_, grown).ok());
  auto reread = ReadGpt(fd_, *size);
  ASSERT_TRUE(reread.ok()) << reread.status().ToString();
  ExpectSameLayout(*reread, grown);
  // The new backup at the new end is valid on its own.
  Corrupt(kSectorSize + 60);
  auto from_backup = ReadGpt(fd_, *size);
  ASSERT_TRUE(from_backup.ok()) << from_backup.status().ToString();
  ExpectSameLayout(*from_backup, grown);
}

TEST_F(GptFileTest, GrowLastPartitionExtendsAShortLastPartition) {
  auto planned = PlanLayout(kDisk, {{"a", kLinuxDataTypeGuid, kMiB}, {"b", kLinuxDataTypeGuid, kMiB}}, "s");
  ASSERT_TRUE(planned.ok());
  GptLayout layout = *planned;
  EXPECT_TRUE(GrowLastPartition(layout, kDisk));
  EXPECT_EQ(layout.partitions[1].last_lba, kDisk / kSectorSize - 34);
  EXPECT_EQ(layout.partitions[0].size(), kMiB);
}

TEST_F(GptFileTest, DeviceSizeOfAFile) {
  ASSERT_EQ(::ftruncate(fd_, 12345 * kSectorSize), 0);
  auto size = DeviceSize(fd_);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 12345 * kSectorSize);
  EXPECT_FALSE(DeviceSize(-1).ok());
}

std::string FindSfdisk() {
  for (const char* path : {"/sbin/sfdisk", "/usr/sbin/sfdisk", "/usr/bin/sfdisk"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

std::string RunCommand(const std::string& command) {
  std::unique_ptr<FILE, decltype(&::pclose)> pipe(::popen(command.c_str(), "r"), &::pclose);
  if (!pipe) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe.get())) > 0) out.append(buf, n);
  return out;
}

// util-linux's sfdisk validates both tables and their CRCs and warns otherwise.
TEST_F(GptFileTest, SfdiskReadsTheTable) {
  std::string sfdisk = FindSfdisk();
  if (sfdisk.empty()) GTEST_SKIP() << "sfdisk (util-linux) is not installed; the CRCs are checked by KnownGuidsAndCrcs";
  GptLayout layout = Plan();
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  std::string dump = RunCommand(sfdisk + " --dump " + path_ + " 2>&1");
  EXPECT_NE(dump.find("label: gpt"), std::string::npos) << dump;
  EXPECT_NE(dump.find("label-id: " + layout.disk_guid), std::string::npos) << dump;
  EXPECT_EQ(dump.find("warning"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("corrupt"), std::string::npos) << dump;
  std::string verify = RunCommand(sfdisk + " --verify " + path_ + " 2>&1");
  EXPECT_NE(verify.find("No errors detected"), std::string::npos) << verify;
  for (const Partition& p : layout.partitions) {
    std::string line =
        "start=" + std::string(12 - std::to_string(p.first_lba).size(), ' ') + std::to_string(p.first_lba) + ", size=";
    EXPECT_NE(dump.find(line), std::string::npos) << line << "\n" << dump;
    EXPECT_NE(dump.find("type=" + p.type_guid + ", uuid=" + p.unique_guid + ", name=\"" + p.name + "\""),
              std::string::npos)
        << dump;
  }
  // A grown table is just as valid, protective MBR included.
  ASSERT_EQ(::ftruncate(fd_, 2 * kDisk), 0);
  ASSERT_TRUE(GrowLastPartition(layout, 2 * kDisk));
  ASSERT_TRUE(WriteGpt(fd_, layout).ok());
  verify = RunCommand(sfdisk + " --verify " + path_ + " 2>&1");
  EXPECT_NE(verify.find("No errors detected"), std::string::npos) << verify;
  EXPECT_EQ(verify.find("mismatch"), std::string::npos) << verify;
}

}  // namespace
}  // namespace annex::image
