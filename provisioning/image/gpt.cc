#include "provisioning/image/gpt.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"

namespace annex::image {
namespace {

using Guid = std::array<uint8_t, 16>;  // RFC 4122 byte order (as the text reads)

constexpr uint64_t kEntryCount = 128;
constexpr uint64_t kEntrySize = 128;
constexpr uint64_t kEntryArrayBytes = kEntryCount * kEntrySize;
constexpr uint64_t kEntryArraySectors = kEntryArrayBytes / kSectorSize;  // 32
constexpr uint64_t kTableSectors = 1 + kEntryArraySectors;               // header + entries
constexpr uint64_t kFirstUsableLba = 1 + kTableSectors;                  // after the MBR: 34
constexpr uint64_t kMinDiskSectors = 2 * kFirstUsableLba;                // room for both tables
constexpr uint64_t kAlignSectors = (1 << 20) / kSectorSize;              // 1 MiB
constexpr uint32_t kHeaderSize = 92;
constexpr uint32_t kRevision = 0x00010000;
constexpr size_t kMaxNameChars = 36;  // 72 bytes of UTF-16LE
// A foreign table may use more or larger entries; refuse absurd arrays before reading them.
constexpr uint64_t kMaxEntryArrayBytes = 1 << 20;
constexpr std::string_view kSignature = "EFI PART";

void PutLe(std::string& buf, size_t offset, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) buf[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t GetLe(std::string_view buf, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(buf[offset + i]);
  return value;
}

uint64_t LastUsableLba(uint64_t disk_sectors) { return disk_sectors - 1 - kTableSectors; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" (either case) → bytes.
std::optional<Guid> ParseGuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Guid guid{};
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i++] != '-') return std::nullopt;
      continue;
    }
    int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    guid[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return guid;
}

std::string FormatGuid(const Guid& guid) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string text;
  for (size_t i = 0; i < guid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[guid[i] >> 4]);
    text.push_back(kHex[guid[i] & 0xf]);
  }
  return text;
}

// On disk the first three fields are little-endian ("mixed endian").
constexpr std::array<int, 16> kDiskOrder = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

std::string GuidToDisk(const Guid& guid) {
  std::string out(16, '\0');
  for (size_t i = 0; i < 16; ++i) out[i] = static_cast<char>(guid[kDiskOrder[i]]);
  return out;
}

Guid GuidFromDisk(std::string_view bytes) {
  Guid guid{};
  for (size_t i = 0; i < 16; ++i) guid[kDiskOrder[i]] = static_cast<uint8_t>(bytes[i]);
  return guid;
}

std::string DiskGuidBytes(std::string_view text) {
  auto guid = ParseGuid(text);
  return GuidToDisk(guid ? *guid : Guid{});
}

std::string DeriveGuid(std::string_view material) {
  crypto::Hasher hasher(crypto::HashKind::kSha256);
  hasher.Update(material);
  std::string digest = hasher.Final();
  Guid guid{};
  std::copy_n(digest.begin(), guid.size(), guid.begin());
  guid[6] = static_cast<uint8_t>((guid[6] & 0x0f) | 0x40);  // version 4
  guid[8] = static_cast<uint8_t>((guid[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return FormatGuid(guid);
}

bool IsValidName(std::string_view name) {
  if (name.size() > kMaxNameChars) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Problems with partition placement (outside the usable area, overlapping), or nullopt.
std::optional<std::string> RangeProblem(std::vector<Partition> parts, uint64_t first_usable, uint64_t last_usable) {
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first_lba < b.first_lba; });
  for (size_t i = 0; i < parts.size(); ++i) {
    const Partition& p = parts[i];
    if (p.first_lba > p.last_lba || p.first_lba < first_usable || p.last_lba > last_usable) {
      return "partition " + std::to_string(p.number) + " spans LBA " + std::to_string(p.first_lba) + ".." +
             std::to_string(p.last_lba) + ", outside the usable LBAs " + std::to_string(first_usable) + ".." +
             std::to_string(last_usable);
    }
    if (i > 0 && p.first_lba <= parts[i - 1].last_lba) {
      return "partitions " + std::to_string(parts[i - 1].number) + " and " + std::to_string(p.number) + " overlap";
    }
  }
  return std::nullopt;
}

Status CheckLayout(const GptLayout& layout) {
  uint64_t sectors = layout.disk_bytes / kSectorSize;
  if (layout.disk_bytes % kSectorSize != 0 || sectors < kMinDiskSectors) {
    return Status::InvalidArgument("GPT: disk size " + std::to_string(layout.disk_bytes) + " is not usable");
  }
  if (!ParseGuid(layout.disk_guid)) return Status::InvalidArgument("GPT: bad disk GUID '" + layout.disk_guid + "'");
  std::set<uint32_t> numbers;
  for (const Partition& p : layout.partitions) {
    std::string what = "GPT partition " + std::to_string(p.number);
    if (p.number < 1 || p.number > kEntryCount || !numbers.insert(p.number).second) {
      return Status::InvalidArgument(what + ": number out of range or duplicated");
    }
    if (!ParseGuid(p.type_guid) || !ParseGuid(p.unique_guid)) return Status::InvalidArgument(what + ": bad GUID");
    if (!IsValidName(p.name)) return Status::InvalidArgument(what + ": bad name '" + p.name + "'");
  }
  if (auto problem = RangeProblem(layout.partitions, kFirstUsableLba, LastUsableLba(sectors))) {
    return Status::InvalidArgument("GPT: " + *problem);
  }
  return Status::OK();
}

// Places one spec at `first_lba`; InvalidArgument if it does not fit.
Result<Partition> PlacePartition(const PartitionSpec& spec, uint32_t number, uint64_t first_lba, uint64_t disk_bytes,
                                 std::string_view seed) {
  uint64_t last_usable = LastUsableLba(disk_bytes / kSectorSize);
  std::string what = "partition '" + spec.name + "'";
  auto type = ParseGuid(spec.type_guid);
  if (!type) return Status::InvalidArgument(what + ": bad type GUID '" + std::string(spec.type_guid) + "'");
  auto too_big = [&] {
    return Status::InvalidArgument(what + " (" + std::to_string(spec.size_bytes) + " bytes at MiB " +
                                   std::to_string(first_lba / kAlignSectors) + ") does not fit on a disk of " +
                                   std::to_string(disk_bytes) + " bytes");
  };
  if (first_lba > last_usable || spec.size_bytes > disk_bytes) return too_big();
  uint64_t last_lba = last_usable;  // size 0: fill the disk
  if (spec.size_bytes != 0) {
    uint64_t sectors = (spec.size_bytes + kSectorSize - 1) / kSectorSize;
    sectors = (sectors + kAlignSectors - 1) / kAlignSectors * kAlignSectors;
    last_lba = first_lba + sectors - 1;
    if (last_lba > last_usable) return too_big();
  }
  return Partition{number,    spec.name, FormatGuid(*type), DeriveGuid(std::string(seed) + "/" + spec.name),
                   first_lba, last_lba};
}

std::string EncodeEntries(const GptLayout& layout) {
  std::string entries(kEntryArrayBytes, '\0');
  for (const Partition& p : layout.partitions) {
    if (p.number < 1 || p.number > kEntryCount) continue;  // CheckLayout rejects these
    size_t at = (p.number - 1) * kEntrySize;
    entries.replace(at, 16, DiskGuidBytes(p.type_guid));
    entries.replace(at + 16, 16, DiskGuidBytes(p.unique_guid));
    PutLe(entries, at + 32, p.first_lba, 8);
    PutLe(entries, at + 40, p.last_lba, 8);
    // Attributes (at + 48) stay 0.
    for (size_t i = 0; i < p.name.size() && i < kMaxNameChars; ++i) {
      entries[at + 56 + 2 * i] = p.name[i];  // UTF-16LE of ASCII: the byte, then 0
    }
  }
  return entries;
}

std::string EncodeHeader(const GptLayout& layout, uint64_t my_lba, uint64_t alternate_lba, uint64_t entries_lba,
                         uint32_t entries_crc) {
  uint64_t sectors = layout.disk_bytes / kSectorSize;
  std::string sector(kSectorSize, '\0');
  sector.replace(0, kSignature.size(), kSignature);
  PutLe(sector, 8, kRevision, 4);
  PutLe(sector, 12, kHeaderSize, 4);
  PutLe(sector, 24, my_lba, 8);
  PutLe(sector, 32, alternate_lba, 8);
  PutLe(sector, 40, kFirstUsableLba, 8);
  PutLe(sector, 48, LastUsableLba(sectors), 8);
  sector.replace(56, 16, DiskGuidBytes(layout.disk_guid));
  PutLe(sector, 72, entries_lba, 8);
  PutLe(sector, 80, kEntryCount, 4);
  PutLe(sector, 84, kEntrySize, 4);
  PutLe(sector, 88, entries_crc, 4);
  // The header CRC covers the header with its own CRC field zeroed.
  PutLe(sector, 16, crypto::Crc32Update(0, std::string_view(sector).substr(0, kHeaderSize)), 4);
  return sector;
}

// LBA 0: one partition of type 0xEE covering the disk, so MBR-only tools see it as in use.
std::string EncodeProtectiveMbr(uint64_t disk_sectors) {
  std::string sector(kSectorSize, '\0');
  constexpr size_t kEntry = 446;
  sector[kEntry + 2] = 0x02;  // starting CHS 0/0/2, i.e. LBA 1
  sector[kEntry + 4] = static_cast<char>(0xee);
  for (int i = 5; i < 8; ++i) sector[kEntry + i] = static_cast<char>(0xff);  // ending CHS: not representable
  PutLe(sector, kEntry + 8, 1, 4);
  PutLe(sector, kEntry + 12, std::min<uint64_t>(disk_sectors - 1, 0xffffffff), 4);
  sector[510] = 0x55;
  sector[511] = static_cast<char>(0xaa);
  return sector;
}

Result<std::string> ReadAt(int fd, uint64_t offset, size_t size) {
  std::string buf(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "GPT: read at " + std::to_string(offset + done));
    if (n == 0) return Status::IOError("GPT: short read at " + std::to_string(offset + done));
    done += static_cast<size_t>(n);
  }
  return buf;
}

Status WriteAt(int fd, std::string_view data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "GPT: write at " + std::to_string(offset + done));
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

std::string DecodeName(std::string_view raw) {
  std::string name;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    uint16_t c = static_cast<uint16_t>(GetLe(raw, i, 2));
    if (c == 0) break;
    name.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return name;
}

// Header fields that the entry array and partitions are checked against.
struct Header {
  uint64_t alternate_lba, first_usable, last_usable, entries_lba;
  uint32_t entry_count, entry_size, entries_crc;
  std::string disk_guid;
};

// Checks one header sector read from `my_lba`; the message says what is wrong, or is empty.
std::string HeaderProblem(std::string_view s, uint64_t my_lba, uint64_t disk_sectors, bool primary, Header& h) {
  if (s.substr(0, 8) != kSignature) return "no 'EFI PART' signature";
  uint32_t header_size = static_cast<uint32_t>(GetLe(s, 12, 4));
  if (GetLe(s, 8, 4) >> 16 != 1) return "unsupported revision";
  if (header_size < kHeaderSize || header_size > kSectorSize) return "bad header size";
  std::string copy(s.substr(0, header_size));
  PutLe(copy, 16, 0, 4);
  if (crypto::Crc32Update(0, copy) != GetLe(s, 16, 4)) return "header CRC mismatch";
  if (GetLe(s, 24, 8) != my_lba) return "header does not name its own LBA";
  h = Header{GetLe(s, 32, 8),
             GetLe(s, 40, 8),
             GetLe(s, 48, 8),
             GetLe(s, 72, 8),
             static_cast<uint32_t>(GetLe(s, 80, 4)),
             static_cast<uint32_t>(GetLe(s, 84, 4)),
             static_cast<uint32_t>(GetLe(s, 88, 4)),
             FormatGuid(GuidFromDisk(s.substr(56, 16)))};
  if (h.entry_size < kEntrySize || h.entry_size % kEntrySize != 0 || (h.entry_size & (h.entry_size - 1)) != 0 ||
      h.entry_count == 0 || uint64_t{h.entry_count} * h.entry_size > kMaxEntryArrayBytes) {
    return "bad entry array geometry";
  }
  uint64_t array_sectors = (uint64_t{h.entry_count} * h.entry_size + kSectorSize - 1) / kSectorSize;
  // The primary's alternate LBA tells the disk size it was written for (an image may sit on a bigger disk).
  uint64_t table_end = primary ? h.alternate_lba : my_lba;
  // Both copies of the array are the same size, so the usable area starts after the primary one.
  if (table_end >= disk_sectors || h.first_usable < 2 + array_sectors || h.first_usable > h.last_usable ||
      h.last_usable >= table_end) {
    return "bad usable LBA range";
  }
  // Written as differences so a huge entries_lba cannot wrap around.
  bool entries_ok =
      primary ? h.entries_lba >= 2 && h.entries_lba < h.first_usable && h.first_usable - h.entries_lba >= array_sectors
              : h.entries_lba > h.last_usable && h.entries_lba < my_lba && my_lba - h.entries_lba >= array_sectors;
  if (!entries_ok) return "entry array overlaps the usable area";
  return "";
}

Result<std::vector<Partition>> DecodeEntries(std::string_view array, const Header& h) {
  std::vector<Partition> parts;
  for (uint32_t i = 0; i < h.entry_count; ++i) {
    std::string_view e = array.substr(size_t{i} * h.entry_size, h.entry_size);
    Guid type = GuidFromDisk(e.substr(0, 16));
    if (type == Guid{}) continue;  // unused entry
    parts.push_back(Partition{i + 1, DecodeName(e.substr(56, 72)), FormatGuid(type),
                              FormatGuid(GuidFromDisk(e.substr(16, 16))), GetLe(e, 32, 8), GetLe(e, 40, 8)});
  }
  if (auto problem = RangeProblem(parts, h.first_usable, h.last_usable)) return Status::Corruption(*problem);
  return parts;
}

Result<GptLayout> ReadTable(int fd, uint64_t disk_sectors, uint64_t my_lba, bool primary) {
  ANNEX_ASSIGN_OR_RETURN(std::string sector, ReadAt(fd, my_lba * kSectorSize, kSectorSize));
  Header h{};
  std::string problem = HeaderProblem(sector, my_lba, disk_sectors, primary, h);
  if (!problem.empty()) return Status::Corruption(problem);
  ANNEX_ASSIGN_OR_RETURN(std::string array,
                         ReadAt(fd, h.entries_lba * kSectorSize, size_t{h.entry_count} * h.entry_size));
  if (crypto::Crc32Update(0, array) != h.entries_crc) return Status::Corruption("entry array CRC mismatch");
  ANNEX_ASSIGN_OR_RETURN(auto parts, DecodeEntries(array, h));
  uint64_t described_sectors = (primary ? h.alternate_lba : my_lba) + 1;
  return GptLayout{h.disk_guid, described_sectors * kSectorSize, std::move(parts)};
}

}  // namespace

Result<GptLayout> PlanLayout(uint64_t disk_bytes, const std::vector<PartitionSpec>& specs, std::string_view seed) {
  if (disk_bytes % kSectorSize != 0) {
    return Status::InvalidArgument("GPT: disk size " + std::to_string(disk_bytes) + " is not a multiple of 512");
  }
  if (disk_bytes / kSectorSize < kMinDiskSectors) return Status::InvalidArgument("GPT: disk too small");
  if (specs.size() > kEntryCount) return Status::InvalidArgument("GPT: more than 128 partitions");
  GptLayout layout{DeriveGuid(std::string(seed) + ":disk"), disk_bytes, {}};
  std::set<std::string> names;
  uint64_t next_lba = kAlignSectors;
  for (size_t i = 0; i < specs.size(); ++i) {
    const PartitionSpec& spec = specs[i];
    if (spec.name.empty() || !IsValidName(spec.name)) {
      return Status::InvalidArgument("GPT: partition name '" + spec.name + "' is not 1-36 printable ASCII chars");
    }
    if (!names.insert(spec.name).second) return Status::InvalidArgument("GPT: duplicate partition '" + spec.name + "'");
    if (spec.size_bytes == 0 && i + 1 != specs.size()) {
      return Status::InvalidArgument("GPT: only the last partition may fill the disk (size 0): '" + spec.name + "'");
    }
    ANNEX_ASSIGN_OR_RETURN(Partition p, PlacePartition(spec, static_cast<uint32_t>(i + 1), next_lba, disk_bytes, seed));
    next_lba = p.last_lba + 1;
    layout.partitions.push_back(std::move(p));
  }
  return layout;
}

GptBytes EncodeGpt(const GptLayout& layout) {
  uint64_t sectors = layout.disk_bytes / kSectorSize;
  std::string entries = EncodeEntries(layout);
  uint32_t entries_crc = crypto::Crc32Update(0, entries);
  GptBytes out;
  out.head = EncodeProtectiveMbr(sectors) + EncodeHeader(layout, 1, sectors - 1, 2, entries_crc) + entries;
  out.tail = entries + EncodeHeader(layout, sectors - 1, 1, sectors - kTableSectors, entries_crc);
  return out;
}

Result<GptLayout> ReadGpt(int fd, uint64_t disk_bytes) {
  uint64_t sectors = disk_bytes / kSectorSize;
  if (disk_bytes % kSectorSize != 0 || sectors < kMinDiskSectors) {
    return Status::InvalidArgument("GPT: device size " + std::to_string(disk_bytes) + " cannot hold a GPT");
  }
  Result<GptLayout> primary = ReadTable(fd, sectors, 1, /*primary=*/true);
  if (primary.ok()) return primary;
  Result<GptLayout> backup = ReadTable(fd, sectors, sectors - 1, /*primary=*/false);
  if (backup.ok()) return backup;
  if (primary.status().code() != StatusCode::kCorruption) return primary.status();
  if (backup.status().code() != StatusCode::kCorruption) return backup.status();
  return Status::Corruption("no valid GPT: primary: " + primary.status().message() +
                            "; backup: " + backup.status().message());
}

Status WriteGpt(int fd, const GptLayout& layout) {
  ANNEX_RETURN_IF_ERROR(CheckLayout(layout));
  GptBytes bytes = EncodeGpt(layout);
  ANNEX_RETURN_IF_ERROR(WriteAt(fd, bytes.head, 0));
  ANNEX_RETURN_IF_ERROR(WriteAt(fd, bytes.tail, layout.disk_bytes - bytes.tail.size()));
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "GPT: fsync");
  return Status::OK();
}

bool GrowLastPartition(GptLayout& layout, uint64_t disk_bytes) {
  uint64_t sectors = disk_bytes / kSectorSize;
  uint64_t bytes = sectors * kSectorSize;
  if (bytes < layout.disk_bytes || sectors < kMinDiskSectors) return false;
  bool changed = bytes != layout.disk_bytes;
  layout.disk_bytes = bytes;
  auto last = std::max_element(layout.partitions.begin(), layout.partitions.end(),
                               [](const auto& a, const auto& b) { return a.last_lba < b.last_lba; });
  if (last != layout.partitions.end() && last->last_lba < LastUsableLba(sectors)) {
    last->last_lba = LastUsableLba(sectors);
    changed = true;
  }
  return changed;
}

const Partition* FindPartition(const GptLayout& layout, std::string_view name) {
  for (const Partition& p : layout.partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<uint64_t> DeviceSize(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat");
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  if (!S_ISBLK(st.st_mode)) return Status::InvalidArgument("not a regular file or block device");
  uint64_t size = 0;
  if (::ioctl(fd, BLKGETSIZE64, &size) != 0) return Status::FromErrno(errno, "ioctl(BLKGETSIZE64)");
  return size;
}

}  // namespace annex::image
