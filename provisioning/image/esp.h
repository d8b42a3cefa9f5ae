#pragma once
// The EFI system partition, read and written through mtools directly on the
// image file or block device (at the partition's byte offset): no mount, so
// it works on build machines and CI without loop devices, and on a running
// appliance without FAT drivers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::image {

class Esp {
 public:
  // `frozen_time` ("YYYY-MM-DD hh:mm:ss", UTC): file times written while
  // building, so images are reproducible (runs mtools under faketime).
  Esp(std::string device, uint64_t offset, std::optional<std::string> frozen_time = std::nullopt);

  // Names of the entries in `dir` ("loader/entries"); NotFound if `dir` is missing.
  Result<std::vector<std::string>> List(std::string_view dir) const;
  Result<std::string> Read(std::string_view path) const;
  Status CopyOut(std::string_view path, const std::string& host_path) const;
  // Creates or replaces.
  Status CopyIn(const std::string& host_path, std::string_view path) const;
  Status Write(std::string_view path, std::string_view data) const;
  Status MakeDir(std::string_view path) const;
  // Renames within its directory; `new_name` is a bare file name.
  Status Rename(std::string_view path, std::string_view new_name) const;
  Status Remove(std::string_view path) const;
  bool Exists(std::string_view path) const;

 private:
  std::vector<std::string> Tool(const char* name) const;
  Status Copy(const std::string& host_path, std::string_view path, bool keep_mtime) const;
  std::string Image() const;

  std::string device_;
  uint64_t offset_;
  std::optional<std::string> frozen_time_;
};

}  // namespace annex::image
