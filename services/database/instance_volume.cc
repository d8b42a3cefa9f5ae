#include "services/database/instance_volume.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/core/strings.h"

namespace annex::database {
namespace {

std::string ReadMountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A path as mountinfo writes it: space, tab, newline and backslash octal-escaped.
std::string MountinfoEscape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ') out += "\\040";
    else if (c == '\t') out += "\\011";
    else if (c == '\n') out += "\\012";
    else if (c == '\\') out += "\\134";
    else out += c;
  }
  return out;
}

}  // namespace

bool IsMountPoint(const std::string& mountinfo, const std::string& path) {
  std::string want = MountinfoEscape(path);
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT …
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (fields >> id >> parent >> dev >> root >> point && point == want) return true;
  }
  return false;
}

InstanceVolume::InstanceVolume(os::CommandRunner& runner, std::string dir)
    : runner_(runner), dir_(std::move(dir)), image_(dir_ + "/volume.img"), mount_point_(dir_ + "/volume") {}

Status InstanceVolume::Create(int64_t gib) {
  if (gib <= 0) return Status::InvalidArgument("a volume needs a size");
  std::error_code ec;
  std::filesystem::create_directories(mount_point_, ec);
  if (ec) return Status::IOError("create " + mount_point_ + ": " + ec.message());
  if (std::filesystem::exists(image_)) return Status::OK();
  // Made under a temporary name: a crash leaves no half-made image behind the real one.
  std::string tmp = image_ + ".tmp";
  ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/bin/truncate", "-s", std::to_string(gib) + "G", tmp}));
  // No reserved blocks (the database may use it all), no lazy init left for later.
  ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-L", "annex-db", tmp}));
  std::filesystem::rename(tmp, image_, ec);
  if (ec) return Status::IOError("rename " + tmp + ": " + ec.message());
  return Status::OK();
}

bool InstanceVolume::Mounted() const { return IsMountPoint(ReadMountinfo(), mount_point_); }

Result<std::string> InstanceVolume::LoopDevice() {
  ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out, runner_.Run({"/usr/sbin/losetup", "-j", image_, "-O", "NAME", "-n"}));
  if (!out.ok()) return Status::Internal("losetup -j " + image_ + ": " + out.err);
  std::string_view name = TrimWhitespace(out.out);
  size_t newline = name.find('\n');
  return std::string(name.substr(0, newline));
}

Status InstanceVolume::Mount() {
  if (Mounted()) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(std::string device, LoopDevice());
  if (device.empty()) {
    ANNEX_ASSIGN_OR_RETURN(os::CommandOutput out,
                           runner_.Run({"/usr/sbin/losetup", "-f", "--show", "--direct-io=on", image_}));
    if (!out.ok()) return Status::Unavailable("no loop device for " + image_ + ": " + std::string(TrimWhitespace(out.err)));
    device = std::string(TrimWhitespace(out.out));
  }
  return os::RunChecked(runner_, {"/usr/bin/mount", "-t", "ext4", "-o", "noatime", device, mount_point_});
}

Status InstanceVolume::Unmount() {
  if (Mounted()) ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/bin/umount", mount_point_}));
  ANNEX_ASSIGN_OR_RETURN(std::string device, LoopDevice());
  if (!device.empty()) ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/sbin/losetup", "-d", device}));
  return Status::OK();
}

Status InstanceVolume::Grow(int64_t gib) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(image_, ec);
  if (ec) return Status::IOError("stat " + image_ + ": " + ec.message());
  uint64_t want = static_cast<uint64_t>(gib) << 30;
  if (want < size) return Status::InvalidArgument("a volume cannot shrink");
  if (want == size) return Status::OK();
  ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/bin/truncate", "-s", std::to_string(gib) + "G", image_}));
  ANNEX_ASSIGN_OR_RETURN(std::string device, LoopDevice());
  if (device.empty()) {  // not attached: resize the image itself
    ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/sbin/e2fsck", "-f", "-p", image_}));
    return os::RunChecked(runner_, {"/usr/sbin/resize2fs", image_});
  }
  ANNEX_RETURN_IF_ERROR(os::RunChecked(runner_, {"/usr/sbin/losetup", "-c", device}));
  return os::RunChecked(runner_, {"/usr/sbin/resize2fs", device});  // online, while mounted
}

uint64_t InstanceVolume::FreeBytes() const {
  if (!Mounted()) return 0;
  struct statvfs st {};
  if (::statvfs(mount_point_.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace annex::database
