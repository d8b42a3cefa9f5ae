#include "provisioning/image/flash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "provisioning/image/gpt.h"
#include "provisioning/image/image_io.h"
#include "provisioning/image/manifest.h"
#include "provisioning/image/verify.h"

namespace annex::image {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Result<bool> DeviceInUse(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  if (!S_ISBLK(st.st_mode)) return false;
  // The device itself and its partitions (same disk: same major, and their
  // sysfs entries name the disk as parent).
  std::string name = std::filesystem::path(std::filesystem::canonical(path)).filename().string();
  std::vector<std::pair<unsigned, unsigned>> devs = {{major(st.st_rdev), minor(st.st_rdev)}};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/block/" + name, ec)) {
    std::ifstream dev(e.path().string() + "/dev");
    unsigned ma, mi;
    char colon;
    if (dev >> ma >> colon >> mi) devs.push_back({ma, mi});
    // Held by device-mapper, md or the like counts as in use too.
  }
  std::error_code ec2;
  if (!std::filesystem::is_empty("/sys/class/block/" + name + "/holders", ec2) && !ec2) return true;
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream in(line);
    std::string id, parent, majmin;
    in >> id >> parent >> majmin;
    unsigned ma, mi;
    if (std::sscanf(majmin.c_str(), "%u:%u", &ma, &mi) != 2) continue;
    for (auto [dma, dmi] : devs) {
      if (dma == ma && dmi == mi) return true;
    }
  }
  std::ifstream swaps("/proc/swaps");
  while (std::getline(swaps, line)) {
    if (line.rfind("/dev/" + name, 0) == 0) return true;
  }
  return false;
}

Status Flash(const std::string& image, const std::string& target, const std::vector<std::string>& trusted_keys,
             Progress& progress, FlashStats* stats) {
  FlashStats local;
  FlashStats& s = stats ? *stats : local;
  progress.SetSteps(4);
  progress.Step("checking the manifest signature and the image size");
  ANNEX_ASSIGN_OR_RETURN(Manifest m, VerifyManifest(image, trusted_keys));
  uint64_t size = FindArtifact(m, "disk")->size;

  struct stat st;
  bool exists = ::stat(target.c_str(), &st) == 0;
  bool block = exists && S_ISBLK(st.st_mode);
  if (exists && !block && !S_ISREG(st.st_mode)) return Status::InvalidArgument(target + " is neither a block device nor a file");
  if (block) {
    ANNEX_ASSIGN_OR_RETURN(bool in_use, DeviceInUse(target));
    if (in_use) return Status::FailedPrecondition(target + " (or one of its partitions) is mounted or in use");
    ANNEX_ASSIGN_OR_RETURN(Fd probe, OpenFile(target, O_RDONLY));
    ANNEX_ASSIGN_OR_RETURN(uint64_t device_size, DeviceSize(probe.get()));
    if (device_size < size) {
      return Status::OutOfRange(target + " holds " + std::to_string(device_size) + " bytes; the image needs " +
                                std::to_string(size));
    }
  }

  progress.Step("verifying " + image + " (" + m.version + ") against its manifest");
  auto t = std::chrono::steady_clock::now();
  ANNEX_RETURN_IF_ERROR(VerifyImageContents(image, m, progress));
  s.verify_seconds = Since(t);

  progress.Step("writing " + target);
  t = std::chrono::steady_clock::now();
  const Artifact& disk = *FindArtifact(m, "disk");
  // Without a block map the whole image is one data extent.
  Artifact plan = disk;
  if (plan.extents.empty()) plan.extents.push_back({0, size, disk.sha256});
  ANNEX_ASSIGN_OR_RETURN(Fd src, OpenFile(image, O_RDONLY));
  // A file target becomes a fresh sparse file (zeros are holes); on a device
  // the zero ranges are zeroed explicitly, so nothing old shows through.
  ANNEX_ASSIGN_OR_RETURN(Fd dst, OpenFile(target, block ? O_WRONLY | O_EXCL : O_WRONLY | O_CREAT | O_TRUNC));
  if (!block && ::ftruncate(dst.get(), static_cast<off_t>(size)) != 0) return Status::FromErrno(errno, "truncate");
  uint64_t data_bytes = 0;
  for (const Extent& x : plan.extents) data_bytes += x.size;
  progress.Begin("write", data_bytes);
  for (const Extent& x : plan.extents) {
    ANNEX_RETURN_IF_ERROR(CopyRange(src.get(), x.offset, dst.get(), x.offset, x.size,
                                    block ? ZeroChunks::kWrite : ZeroChunks::kSkip, nullptr, &progress));
  }
  if (block) {
    for (const Extent& gap : ZeroGaps(plan)) ANNEX_RETURN_IF_ERROR(ZeroDeviceRange(dst.get(), gap.offset, gap.size));
  }
  progress.End();
  if (::fsync(dst.get()) != 0) return Status::FromErrno(errno, "fsync " + target);
  s.write_seconds = Since(t);
  ANNEX_RETURN_IF_ERROR(dst.Close());

  progress.Step("reading " + target + " back");
  t = std::chrono::steady_clock::now();
  ANNEX_ASSIGN_OR_RETURN(Fd back, OpenFile(target, O_RDONLY));
  // Read what the device holds, not what the page cache remembers.
  ::posix_fadvise(back.get(), 0, static_cast<off_t>(size), POSIX_FADV_DONTNEED);
  Status readback = VerifyExtents(back.get(), plan, target, progress);
  s.readback_seconds = Since(t);
  if (!readback.ok()) {
    return Status::Corruption(target + " does not read back what was written (" + readback.message() +
                              "): the device is failing");
  }
  s.bytes = size;
  return Status::OK();
}

}  // namespace annex::image
