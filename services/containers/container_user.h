#pragma once
// ResolveContainerUser: a Docker `user` string ("", "1000", "1000:1000",
// "app", "app:staff", "1000:staff") turned into the uid, gid and
// supplementary groups a container runs with, looked up in the image's own
// /etc/passwd and /etc/group as Docker (moby/sys/user GetExecUser) does:
//
//   - "" is root (0:0);
//   - a name must be in /etc/passwd; a number need not be (its gid is then 0);
//   - a group, by name, must be in /etc/group; a number need not be;
//   - without an explicit group, the user's primary gid from /etc/passwd and
//     every group of /etc/group that lists the user by name as supplementary.
//
// The files come from an untrusted image: they are opened with the root as
// the resolution root (openat2 RESOLVE_IN_ROOT, so a symbolic link to
// "/etc/passwd" or "../../.." stays inside the image), must be regular
// files and are read up to kMaxUserDbBytes. Missing files count as empty.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"

namespace annex::containers {

inline constexpr size_t kMaxUserDbBytes = 4 << 20;

struct ContainerUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::string home = "/";  // from /etc/passwd, "/" when unknown
};

// InvalidArgument for a malformed string or an id out of range; NotFound
// ("unable to find user app: no matching entries in passwd file") for a
// name that is missing; IOError when a file cannot be read safely (too
// large, not a regular file).
Result<ContainerUser> ResolveContainerUser(const std::string& rootfs_dir, std::string_view user);

// The contents of `path` (absolute, as seen inside the root) resolved under
// `rootfs_dir`, at most `max_bytes`. NotFound when absent.
Result<std::string> ReadFileInRoot(const std::string& rootfs_dir, std::string_view path, size_t max_bytes);

}  // namespace annex::containers
