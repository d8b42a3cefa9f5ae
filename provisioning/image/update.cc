#include "provisioning/image/update.h"

#include <fcntl.h>
#include <linux/blkpg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "provisioning/image/boot_entries.h"
#include "provisioning/image/builder.h"
#include "provisioning/image/esp.h"
#include "provisioning/image/gpt.h"
#include "provisioning/image/image_io.h"
#include "provisioning/image/manifest.h"
#include "provisioning/image/signing.h"
#include "provisioning/image/subprocess.h"
#include "provisioning/image/verify.h"

namespace annex::image {
namespace fs = std::filesystem;
namespace {

constexpr const char* kEntriesDir = "loader/entries";

// The disk (or disk image) an update or status command works on.
struct Target {
  std::string disk;
  bool running = false;
  GptLayout layout;
  std::string esp_device;  // mtools image: a partition device, or the disk at esp_offset
  uint64_t esp_offset = 0;
  std::vector<BootEntry> entries;
  Slot booted = Slot::kA;

  Esp esp() const { return Esp(esp_device, esp_offset); }
};

// The disk the running root filesystem lives on ("vda"), from the device
// number of "/": other disks may carry Annex partitions too (an update
// bundle on a USB stick), so partitions are only looked up on this one.
Result<std::string> BootDisk() {
  struct stat st;
  if (::stat("/", &st) != 0) return Status::FromErrno(errno, "stat /");
  std::error_code ec;
  fs::path part = fs::canonical("/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                                    std::to_string(minor(st.st_dev)),
                                ec);
  if (ec || !fs::exists(part / "partition")) return Status::NotFound("/ is not on a disk partition");
  return part.parent_path().filename().string();
}

// The partition of `disk` whose GPT name is `name` ("" if none).
std::string FindPartitionDevice(const std::string& disk, const std::string& name) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/block/" + disk, ec)) {
    std::ifstream uevent(e.path().string() + "/uevent");
    std::string line;
    while (std::getline(uevent, line)) {
      if (line == "PARTNAME=" + name) return "/dev/" + e.path().filename().string();
    }
  }
  return "";
}

std::optional<Slot> BootedSlotFromCmdline() {
  auto cmdline = ReadWholeFile("/proc/cmdline");
  if (!cmdline.ok()) return std::nullopt;
  for (std::string_view arg : Split(Trim(*cmdline), ' ')) {
    if (arg.starts_with("annex.slot=")) return ParseSlot(arg.substr(11));
  }
  return std::nullopt;
}

Result<Target> OpenTarget(const std::string& target_arg) {
  Target t;
  if (target_arg == "running") {
    ANNEX_ASSIGN_OR_RETURN(std::string disk, BootDisk());
    std::string esp = FindPartitionDevice(disk, "annex-esp");
    if (esp.empty()) return Status::NotFound("/dev/" + disk + " has no annex-esp partition: not a running appliance");
    t.disk = "/dev/" + disk;
    t.running = true;
    t.esp_device = esp;
    auto slot = BootedSlotFromCmdline();
    if (!slot) return Status::NotFound("no annex.slot= on the kernel command line");
    t.booted = *slot;
  } else {
    t.disk = target_arg;
  }
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(t.disk, O_RDONLY));
  ANNEX_ASSIGN_OR_RETURN(uint64_t size, DeviceSize(fd.get()));
  ANNEX_ASSIGN_OR_RETURN(t.layout, ReadGpt(fd.get(), size));
  for (const char* name : {"annex-esp", "annex-root-a", "annex-root-b"}) {
    if (!FindPartition(t.layout, name)) return Status::NotFound(t.disk + " has no " + name + " partition");
  }
  if (!t.running) {
    t.esp_device = t.disk;
    t.esp_offset = FindPartition(t.layout, "annex-esp")->offset();
  }
  ANNEX_ASSIGN_OR_RETURN(auto names, t.esp().List(kEntriesDir));
  t.entries = ParseEntryNames(names);
  if (!t.running) {
    // Offline, the active slot is the one that boots by default without a
    // trial: a counted entry is still on probation and must not be the base
    // the next update overwrites the other slot from.
    std::vector<BootEntry> good;
    for (const auto& e : t.entries) {
      if (!e.tries_left) good.push_back(e);
    }
    auto active = SelectBootEntry(good.empty() ? t.entries : good);
    if (!active) return Status::NotFound(t.disk + " has no Annex boot entry");
    t.booted = active->slot;
  }
  return t;
}

std::string RootPartitionName(Slot s) { return std::string("annex-root-") + SlotLetter(s); }

// A file of the booted slot's root filesystem.
Result<std::string> ReadBootedFile(const Target& t, const std::string& path) {
  if (t.running) return ReadWholeFile(path);
  const Partition* root = FindPartition(t.layout, RootPartitionName(t.booted));
  std::string fs_spec = t.disk + "?offset=" + std::to_string(root->offset());
  auto out = Run({"debugfs", "-R", "cat " + path, fs_spec});
  if (!out.ok() || out->empty()) return Status::NotFound(path + " is not on " + RootPartitionName(t.booted));
  return out;
}

// The keys the booted slot trusts for updates.
Result<std::vector<std::string>> TargetTrustedKeys(const Target& t) {
  const std::string dir = "/etc/annex/trusted-keys";
  if (t.running) return LoadTrustedKeys({dir});
  const Partition* root = FindPartition(t.layout, RootPartitionName(t.booted));
  std::string fs_spec = t.disk + "?offset=" + std::to_string(root->offset());
  ANNEX_ASSIGN_OR_RETURN(std::string listing, Run({"debugfs", "-R", "ls -p " + dir, fs_spec}));
  std::vector<std::string> keys;
  for (std::string_view line : Split(listing, '\n')) {
    // /inode/mode/uid/gid/name/size/
    auto fields = Split(Trim(line), '/');
    if (fields.size() < 6 || !fields[5].ends_with(".pub")) continue;
    ANNEX_ASSIGN_OR_RETURN(std::string pem, ReadBootedFile(t, dir + "/" + std::string(fields[5])));
    keys.push_back(pem);
  }
  if (keys.empty()) return Status::NotFound(RootPartitionName(t.booted) + " trusts no update keys");
  return keys;
}

std::string ValueOf(std::string_view text, std::string_view key) {
  for (std::string_view line : Split(text, '\n')) {
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == '=') {
      return std::string(Trim(line.substr(key.size() + 1)));
    }
  }
  return "";
}

Status SyncPath(const std::string& path) {
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(path, O_RDONLY));
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync " + path);
  return Status::OK();
}

}  // namespace

Result<UpdateResult> Update(const UpdateOptions& o, Progress& progress) {
  progress.SetSteps(6);
  progress.Step("reading the partitions and boot entries of " + o.target);
  ANNEX_ASSIGN_OR_RETURN(Target t, OpenTarget(o.target));

  progress.Step("checking the bundle's signature and version");
  std::vector<std::string> keys;
  if (!o.pubkeys.empty()) {
    ANNEX_ASSIGN_OR_RETURN(keys, LoadTrustedKeys(o.pubkeys));
  } else {
    ANNEX_ASSIGN_OR_RETURN(keys, TargetTrustedKeys(t));
  }
  ANNEX_ASSIGN_OR_RETURN(Manifest m, VerifyManifest(o.bundle, keys, o.manifest));
  ANNEX_ASSIGN_OR_RETURN(std::string installed, ReadBootedFile(t, "/etc/annex/version"));
  std::string installed_version = ValueOf(installed, "version");
  std::string floor = ValueOf(installed, "min_installed_version");
  if (!floor.empty() && CompareVersions(m.version, floor) < 0) {
    return Status::FailedPrecondition("refusing to downgrade: the bundle is version " + m.version + ", the installed " +
                                      installed_version + " accepts nothing below " + floor);
  }
  if (!installed_version.empty() && CompareVersions(installed_version, m.min_installed_version) < 0) {
    return Status::FailedPrecondition("version " + m.version + " needs at least " + m.min_installed_version +
                                      " installed first (installed: " + installed_version + ")");
  }
  const Artifact* root = FindArtifact(m, "root");
  const Artifact* esp_artifact = FindArtifact(m, "esp");
  if (!root || !esp_artifact || !FindArtifact(m, "vmlinuz") || !FindArtifact(m, "initrd.img")) {
    return Status::InvalidArgument("the bundle's manifest lacks root, esp, vmlinuz or initrd.img");
  }

  InstallPlan plan = PlanInstall(t.entries, t.booted, o.tries);
  char slot = SlotLetter(plan.slot);
  const Partition* part = FindPartition(t.layout, RootPartitionName(plan.slot));
  if (root->size > part->size()) {
    return Status::OutOfRange("the bundle's root filesystem (" + std::to_string(root->size) +
                              " bytes) does not fit slot " + std::string(1, slot));
  }

  progress.Step(std::string("disabling slot ") + slot + " (running slot: " + SlotLetter(t.booted) + ")");
  Esp esp = t.esp();
  for (const auto& name : plan.remove) ANNEX_RETURN_IF_ERROR(esp.Remove(std::string(kEntriesDir) + "/" + name));
  ANNEX_RETURN_IF_ERROR(SyncPath(t.esp_device));

  progress.Step(std::string("writing root filesystem ") + m.version + " to " + RootPartitionName(plan.slot));
  {
    ANNEX_ASSIGN_OR_RETURN(Fd src, OpenFile(o.bundle, O_RDONLY));
    ANNEX_ASSIGN_OR_RETURN(Fd dst, OpenFile(t.disk, O_WRONLY));
    crypto::Hasher sha(crypto::HashKind::kSha256);
    progress.Begin("root-" + std::string(1, slot), root->size);
    ANNEX_RETURN_IF_ERROR(
        CopyRange(src.get(), root->offset, dst.get(), part->offset(), root->size, ZeroChunks::kWrite, &sha, &progress));
    progress.End();
    if (sha.FinalHex() != root->sha256) {
      return Status::Corruption("the bundle's root filesystem does not match its manifest (slot " +
                                std::string(1, slot) + " stays disabled)");
    }
    if (::fsync(dst.get()) != 0) return Status::FromErrno(errno, "fsync " + t.disk);
  }

  progress.Step("installing kernel and initramfs for slot " + std::string(1, slot));
  char tmpl[] = "/tmp/annex-update-XXXXXX";
  if (!::mkdtemp(tmpl)) return Status::FromErrno(errno, "mkdtemp");
  std::string tmp = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{tmp};
  Esp bundle_esp(o.bundle, esp_artifact->offset);
  ANNEX_RETURN_IF_ERROR(esp.MakeDir(std::string("annex/") + slot));
  for (const char* name : {"vmlinuz", "initrd.img"}) {
    std::string local = tmp + "/" + name;
    ANNEX_RETURN_IF_ERROR(bundle_esp.CopyOut("annex/a/" + std::string(name), local));
    ANNEX_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(local));
    if (crypto::Sha256Hex(data) != FindArtifact(m, name)->sha256) {
      return Status::Corruption(std::string("the bundle's ") + name + " does not match its manifest");
    }
    ANNEX_RETURN_IF_ERROR(esp.CopyIn(local, "annex/" + std::string(1, slot) + "/" + name));
  }
  ANNEX_RETURN_IF_ERROR(SyncPath(t.esp_device));

  progress.Step("arming boot entry " + plan.create.FileName() + " (" + std::to_string(o.tries) + " tries)");
  // Written under a name systemd-boot ignores, then renamed: the entry
  // appears complete or not at all.
  std::string staged = std::string(kEntriesDir) + "/" + plan.create.FileName() + ".new";
  ANNEX_RETURN_IF_ERROR(esp.Write(staged, EntryText(m.version, slot)));
  ANNEX_RETURN_IF_ERROR(SyncPath(t.esp_device));
  ANNEX_RETURN_IF_ERROR(esp.Rename(staged, plan.create.FileName()));
  ANNEX_RETURN_IF_ERROR(SyncPath(t.esp_device));
  ::sync();
  return UpdateResult{slot, plan.create.FileName(), m.version};
}

Result<std::string> Bless(const std::string& esp_device, char slot_letter) {
  auto slot = ParseSlot(std::string(1, slot_letter));
  if (!slot) return Status::InvalidArgument("slot must be a or b");
  Esp esp(esp_device, 0);
  ANNEX_ASSIGN_OR_RETURN(auto names, esp.List(kEntriesDir));
  auto entries = ParseEntryNames(names);
  std::optional<BootEntry> mine;
  for (const auto& e : entries) {
    if (e.slot == *slot && (!mine || e.generation > mine->generation)) mine = e;
  }
  if (!mine) return Status::NotFound(std::string("no boot entry for slot ") + slot_letter);
  std::string report;
  for (const auto& e : entries) {
    if (e.generation > mine->generation && e.bad()) {
      report += "rolled back: " + e.FileName() + " failed " + std::to_string(e.tries_done) + " boots; ";
    }
  }
  if (!mine->tries_left) return report + mine->FileName() + " is already good";
  BootEntry good = Blessed(*mine);
  ANNEX_RETURN_IF_ERROR(esp.Rename(std::string(kEntriesDir) + "/" + mine->FileName(), good.FileName()));
  ANNEX_RETURN_IF_ERROR(SyncPath(esp_device));
  return report + "blessed " + good.FileName() + " after " + std::to_string(mine->tries_done) + " tries";
}

Result<std::string> GrowData(const std::string& disk) {
  ANNEX_ASSIGN_OR_RETURN(Fd fd, OpenFile(disk, O_RDWR));
  ANNEX_ASSIGN_OR_RETURN(uint64_t size, DeviceSize(fd.get()));
  ANNEX_ASSIGN_OR_RETURN(GptLayout layout, ReadGpt(fd.get(), size));
  if (layout.partitions.empty() || layout.partitions.back().name != "annex-data") {
    return Status::FailedPrecondition(disk + ": annex-data is not the last partition");
  }
  if (!GrowLastPartition(layout, size)) {
    return "unchanged (" + std::to_string(layout.partitions.back().size() >> 20) + " MiB)";
  }
  ANNEX_RETURN_IF_ERROR(WriteGpt(fd.get(), layout));
  const Partition& data = layout.partitions.back();
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISBLK(st.st_mode)) {
    // The kernel re-reads one partition's extent even while others are mounted.
    blkpg_partition p{};
    p.start = static_cast<long long>(data.offset());
    p.length = static_cast<long long>(data.size());
    p.pno = static_cast<int>(data.number);
    blkpg_ioctl_arg arg{};
    arg.op = BLKPG_RESIZE_PARTITION;
    arg.datalen = sizeof(p);
    arg.data = &p;
    if (::ioctl(fd.get(), BLKPG, &arg) != 0) return Status::FromErrno(errno, "BLKPG resize of annex-data");
  }
  return "grown to " + std::to_string(data.size() >> 20) + " MiB";
}

Result<std::string> DescribeSlots(const std::string& target) {
  ANNEX_ASSIGN_OR_RETURN(Target t, OpenTarget(target));
  auto selected = SelectBootEntry(t.entries);
  std::string out;
  for (const auto& e : t.entries) {
    std::string state = !e.tries_left ? "good" : e.bad() ? "failed" : std::to_string(*e.tries_left) + " tries left";
    bool next = selected && selected->FileName() == e.FileName();
    out += e.FileName() + "  slot " + SlotLetter(e.slot) + "  " + state + (next ? "  <- boots next" : "") + "\n";
  }
  ANNEX_ASSIGN_OR_RETURN(std::string version, ReadBootedFile(t, "/etc/annex/version"));
  out += std::string(t.running ? "running slot " : "active slot ") + SlotLetter(t.booted) + ": Annex " +
         ValueOf(version, "version") + "\n";
  return out;
}

}  // namespace annex::image
