#pragma once
// The initramfs: a gzip-compressed "newc" cpio archive of a directory tree.
// Entries are sorted, owned by root and stamped with one fixed time, so the
// same tree always gives the same bytes.

#include <cstdint>
#include <string>

#include "appliance/core/result.h"

namespace annex::image {

Result<std::string> BuildInitramfs(const std::string& root_dir, int64_t mtime);

}  // namespace annex::image
