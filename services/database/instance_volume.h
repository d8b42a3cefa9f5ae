#pragma once
// InstanceVolume: the storage of one database instance, sized as its
// AllocatedStorage. RDS gives each instance a volume of that size, and a
// database that fills it stops taking writes while the others go on; an
// instance directory on the appliance's data partition would instead grow
// until it filled the partition for every service. So each instance's data
// lives on a file system of its own: an ext4 image, a sparse file in the
// instance's directory (it takes only what is written), attached to a loop
// device with direct I/O (no second copy in the page cache) and mounted on
// the instance's `volume` directory. ModifyDBInstance grows it online
// (truncate, losetup -c, resize2fs).
//
// The mount does not outlive a reboot and a restarted annexd may find it
// gone or present: Mount() is idempotent, and callers mount before every
// start of the instance.
//
// Thread-safe as its runner is.

#include <cstdint>
#include <string>

#include "appliance/core/result.h"
#include "appliance/os/command_runner.h"

namespace annex::database {

class InstanceVolume {
 public:
  // `dir`: the instance's directory; the image is dir/volume.img, the mount dir/volume.
  InstanceVolume(os::CommandRunner& runner, std::string dir);

  const std::string& mount_point() const { return mount_point_; }
  const std::string& image() const { return image_; }

  // Makes the image (sparse, `gib` GiB) and its file system, if not made yet.
  Status Create(int64_t gib);
  // Attaches and mounts it; OK if already mounted.
  Status Mount();
  // Unmounts and detaches it; OK if not mounted.
  Status Unmount();
  // Grows it to `gib` GiB, mounted or not. Shrinking is refused (RDS refuses it too).
  Status Grow(int64_t gib);
  // Whether it is mounted now.
  bool Mounted() const;
  // Bytes free on it for unprivileged writers; 0 when unmounted.
  uint64_t FreeBytes() const;

 private:
  // The loop device the image is attached to, if any.
  Result<std::string> LoopDevice();

  os::CommandRunner& runner_;
  std::string dir_;
  std::string image_;
  std::string mount_point_;
};

// Whether `path` is a mount point in /proc/self/mountinfo's text.
bool IsMountPoint(const std::string& mountinfo, const std::string& path);

}  // namespace annex::database
