#pragma once
// GUID Partition Table (UEFI 2.x, chapter 5) planning, encoding, reading and
// writing on an image file or a block device, with no external tools.
//
// A layout is planned deterministically: partitions start 1 MiB aligned and
// follow each other in order, and every GUID is derived from a seed, so the
// same inputs give byte-identical tables (reproducible images). Reading
// validates the primary table and falls back to the backup at the end of the
// device when the primary is damaged.
//
// Thread safety: plain functions over values; concurrent writers to one fd
// must be serialised by the caller.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/core/status.h"

namespace annex::image {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr std::string_view kEspTypeGuid = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
inline constexpr std::string_view kLinuxRootX86_64TypeGuid = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
inline constexpr std::string_view kLinuxDataTypeGuid = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

// One partition to plan. size_bytes is rounded up to 1 MiB; 0 on the last
// spec means "fill the rest of the disk".
struct PartitionSpec {
  std::string name;
  std::string_view type_guid;
  uint64_t size_bytes;
};

struct Partition {
  uint32_t number;        // 1-based index into the entry array
  std::string name;       // GPT partition name (UTF-16LE on disk, ASCII here)
  std::string type_guid;  // upper-case canonical text form
  std::string unique_guid;
  uint64_t first_lba, last_lba;  // inclusive

  // Byte offset and length on the disk.
  uint64_t offset() const { return first_lba * kSectorSize; }
  uint64_t size() const { return (last_lba - first_lba + 1) * kSectorSize; }
};

// disk_bytes is the size the table describes (where its backup lives), which
// may be smaller than the device it sits on.
struct GptLayout {
  std::string disk_guid;
  uint64_t disk_bytes = 0;
  std::vector<Partition> partitions;
};

// Plans `specs` on a disk of `disk_bytes`. Partition GUIDs are the first 16
// bytes of SHA-256(seed + "/" + name) and the disk GUID those of
// SHA-256(seed + ":disk"), with the RFC 4122 version-4/variant bits set.
// InvalidArgument if the partitions do not fit, disk_bytes is not a multiple of
// 512, a name is empty, longer than 36 chars, not printable ASCII or used twice,
// a type GUID is malformed, or a size of 0 is not on the last spec.
Result<GptLayout> PlanLayout(uint64_t disk_bytes, const std::vector<PartitionSpec>& specs, std::string_view seed);

// The on-disk bytes: `head` = protective MBR (LBA 0) + primary header (LBA 1) +
// 128-entry array (LBA 2..33), written at offset 0; `tail` = backup entry array
// + backup header (last 33 sectors), written at disk_bytes - tail.size().
// REQUIRES: a layout that PlanLayout, ReadGpt or GrowLastPartition produced.
struct GptBytes {
  std::string head;
  std::string tail;
};
GptBytes EncodeGpt(const GptLayout& layout);

// Reads and validates the primary table (signature, header CRC, entry-array
// CRC, sane and non-overlapping LBAs); if the primary is damaged, the backup
// in the last sector of a device of `disk_bytes`. The layout's disk_bytes is
// the size the table itself describes. Corruption naming both failures if
// neither table is valid; InvalidArgument if disk_bytes cannot hold a GPT;
// IOError if reading fails.
Result<GptLayout> ReadGpt(int fd, uint64_t disk_bytes);

// pwrite()s EncodeGpt(layout) and fsyncs the fd. InvalidArgument if the layout
// is not a consistent table; IOError (or ResourceExhausted) if writing fails.
Status WriteGpt(int fd, const GptLayout& layout);

// Extends the last partition to the end of the usable area of a disk of
// `disk_bytes` (which may be larger than layout.disk_bytes, e.g. an image
// flashed to a bigger disk) and sets layout.disk_bytes. Returns true if
// anything changed. A disk smaller than layout.disk_bytes changes nothing.
bool GrowLastPartition(GptLayout& layout, uint64_t disk_bytes);

// The partition called `name`, or nullptr.
const Partition* FindPartition(const GptLayout& layout, std::string_view name);

// Size of a file or block device (BLKGETSIZE64 for block devices, st_size
// otherwise). InvalidArgument for other file types; IOError on failure.
Result<uint64_t> DeviceSize(int fd);

}  // namespace annex::image
