#pragma once
// Kernel modules of an unpacked Debian kernel package: which .ko files a set
// of drivers needs, in load order. Dependencies come from each module's own
// .modinfo section ("depends="), so no depmod or modules.dep is required.

#include <string>
#include <vector>

#include "appliance/core/result.h"

namespace annex::image {

// `modules_dir` is .../lib/modules/<version>; `names` are module names
// ("virtio_blk", "ext4"). Returns paths relative to `modules_dir`, every
// dependency before its users, each once. NotFound names the missing module.
Result<std::vector<std::string>> ResolveModules(const std::string& modules_dir, const std::vector<std::string>& names);

// The "depends=" list from a module file's .modinfo ELF section.
Result<std::vector<std::string>> ModuleDependencies(const std::string& ko_path);

}  // namespace annex::image
