#include "services/registry/image_unpacker.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <atomic>
#include <optional>
#include <unordered_set>
#include <vector>

#include "appliance/core/log.h"
#include "services/registry/image_layer_reader.h"
#include "services/registry/rootfs_dir.h"

namespace annex::registry {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// An entry's path below the root, split into components.
struct EntryPath {
  std::string path;                // "a/b/c"; empty for the root itself
  std::vector<std::string> parts;  // {"a", "b", "c"}

  const std::string& name() const { return parts.back(); }
  std::vector<std::string_view> parent() const {
    return {parts.begin(), parts.empty() ? parts.begin() : parts.end() - 1};
  }
};

std::vector<std::string_view> Views(const std::vector<std::string>& parts) { return {parts.begin(), parts.end()}; }

// Normalizes a tar name ("./a//b/" → "a/b"); an error says why it is refused.
Result<EntryPath> SplitPath(std::string_view raw, const UnpackLimits& limits) {
  if (raw.size() > limits.max_path_bytes) return Status::InvalidArgument("name too long");
  if (!raw.empty() && raw.front() == '/') return Status::InvalidArgument("absolute path");
  EntryPath p;
  while (!raw.empty()) {
    size_t slash = raw.find('/');
    std::string_view part = raw.substr(0, slash);
    raw = slash == std::string_view::npos ? std::string_view() : raw.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return Status::InvalidArgument("'..' would escape the root");
    if (part.size() > limits.max_name_bytes) return Status::InvalidArgument("name too long");
    if (!p.path.empty()) p.path += '/';
    p.path += part;
    p.parts.emplace_back(part);
  }
  if (p.parts.size() > limits.max_depth) return Status::InvalidArgument("too many path components");
  return p;
}

std::optional<timespec> MtimeOf(archive_entry* e) {
  if (!archive_entry_mtime_is_set(e)) return std::nullopt;
  return timespec{archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
}

// Said once per process rather than per file.
void NoteOwnershipSkipped() {
  static std::atomic<bool> noted{false};
  if (!noted.exchange(true)) {
    log::Warn("not running as root: unpacked image files keep the appliance user as owner");
  }
}

uid_t UidOf(archive_entry* e) { return static_cast<uid_t>(archive_entry_uid(e)); }
gid_t GidOf(archive_entry* e) { return static_cast<gid_t>(archive_entry_gid(e)); }

struct DirMeta {
  std::vector<std::string> parts;
  uid_t uid;
  gid_t gid;
  mode_t mode;
  std::optional<timespec> mtime;
};

class LayerApplier {
 public:
  LayerApplier(int root_fd, const UnpackLimits& limits, LayerReader& reader, LayerStats& stats)
      : root_fd_(root_fd), limits_(limits), reader_(reader), stats_(stats), owner_(rootfs::CanChangeOwner()) {}

  Status Run() {
    for (;;) {
      ANNEX_ASSIGN_OR_RETURN(archive_entry * e, reader_.Next());
      if (e == nullptr) break;
      if (++stats_.entries > limits_.max_entries) {
        return Status::ResourceExhausted("layer has more than " + std::to_string(limits_.max_entries) + " entries");
      }
      ANNEX_RETURN_IF_ERROR(ApplyEntry(e));
    }
    // Opaque directories first: removing entries changes directory mtimes.
    for (const std::vector<std::string>& parts : opaque_) ANNEX_RETURN_IF_ERROR(HideLower(parts));
    ANNEX_RETURN_IF_ERROR(FinishDirectories());
    ANNEX_ASSIGN_OR_RETURN(stats_.diff_id, reader_.Finish());
    stats_.uncompressed_bytes = reader_.uncompressed_bytes();
    return Status::OK();
  }

 private:
  Status ApplyEntry(archive_entry* e);
  Status ApplyWhiteout(const EntryPath& p);
  Status ApplyDir(archive_entry* e, const EntryPath& p, int parent);
  Status ApplyFile(archive_entry* e, const EntryPath& p, int parent);
  Status ApplySymlink(archive_entry* e, const EntryPath& p, int parent);
  Status ApplyHardLink(const EntryPath& p, int parent, std::string_view target);
  Status ApplyFileMetadata(archive_entry* e, int fd);
  Status HideLower(const std::vector<std::string>& parts);
  Status HideLowerIn(int dir_fd, const std::string& prefix, size_t depth);
  Status FinishDirectories();

  void Skip(std::string_view path, std::string_view why) {
    ++stats_.skipped;
    log::Warn("image layer entry skipped", {{"path", path}, {"reason", why}});
  }
  // Marks the path and its parents as this layer's own, which whiteouts and
  // opaque markers (meant for lower layers) leave alone.
  void Touch(const std::vector<std::string>& parts) {
    std::string path;
    for (const std::string& part : parts) {
      if (!path.empty()) path += '/';
      path += part;
      touched_.insert(path);
    }
  }
  bool Touched(const std::string& path) const { return touched_.count(path) != 0; }

  int root_fd_;
  const UnpackLimits& limits_;
  LayerReader& reader_;
  LayerStats& stats_;
  bool owner_;  // ownership can be applied
  std::unordered_set<std::string> touched_;
  std::vector<DirMeta> dirs_;
  std::vector<std::vector<std::string>> opaque_;
};

Status LayerApplier::ApplyEntry(archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
  if (raw == nullptr) {
    Skip("?", "unreadable name");
    return Status::OK();
  }
  Result<EntryPath> p = SplitPath(raw, limits_);
  if (!p.ok()) {
    Skip(raw, p.status().message());
    return Status::OK();
  }
  if (!p->parts.empty() && p->name().starts_with(kWhiteoutPrefix)) return ApplyWhiteout(*p);
  const char* hardlink = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  if (hardlink == nullptr && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
    Skip(p->path, type == AE_IFIFO ? "fifo" : type == AE_IFSOCK ? "socket" : "device node");
    return Status::OK();
  }
  if (p->parts.empty()) {
    if (type == AE_IFDIR && hardlink == nullptr) {
      dirs_.push_back({{}, UidOf(e), GidOf(e), archive_entry_perm(e), MtimeOf(e)});
    } else {
      Skip(raw, "the root can only be a directory");
    }
    return Status::OK();
  }
  Result<rootfs::UniqueFd> parent = rootfs::OpenDirBeneath(root_fd_, p->parent(), /*create=*/true);
  if (!parent.ok()) {
    if (parent.status().code() != StatusCode::kFailedPrecondition) return parent.status();
    Skip(p->path, parent.status().message());
    return Status::OK();
  }
  Touch(p->parts);
  if (hardlink != nullptr) return ApplyHardLink(*p, parent->get(), hardlink);
  if (type == AE_IFDIR) return ApplyDir(e, *p, parent->get());
  if (type == AE_IFLNK) return ApplySymlink(e, *p, parent->get());
  return ApplyFile(e, *p, parent->get());
}

Status LayerApplier::ApplyWhiteout(const EntryPath& p) {
  std::string_view name = p.name();
  if (name == kOpaqueMarker) {
    std::vector<std::string> dir(p.parts.begin(), p.parts.end() - 1);
    Result<rootfs::UniqueFd> fd = rootfs::OpenDirBeneath(root_fd_, Views(dir), /*create=*/true);
    if (!fd.ok()) {
      if (fd.status().code() != StatusCode::kFailedPrecondition) return fd.status();
      Skip(p.path, fd.status().message());
      return Status::OK();
    }
    Touch(dir);
    opaque_.push_back(std::move(dir));
    return Status::OK();
  }
  if (name.starts_with(kWhiteoutMetaPrefix)) return Status::OK();  // aufs bookkeeping (.wh..wh.plnk)
  std::string victim(name.substr(kWhiteoutPrefix.size()));
  std::string victim_path = p.parts.size() == 1 ? victim : p.path.substr(0, p.path.rfind('/') + 1) + victim;
  if (victim == "." || victim == ".." || victim.empty()) {
    Skip(p.path, "whiteout of an invalid name");
    return Status::OK();
  }
  if (Touched(victim_path)) return Status::OK();  // this layer's own entry stays
  Result<rootfs::UniqueFd> parent = rootfs::OpenDirBeneath(root_fd_, p.parent(), /*create=*/false);
  if (!parent.ok()) {
    if (parent.status().IsNotFound()) return Status::OK();  // nothing to delete
    if (parent.status().code() != StatusCode::kFailedPrecondition) return parent.status();
    Skip(p.path, parent.status().message());
    return Status::OK();
  }
  return rootfs::RemoveAt(parent->get(), victim);
}

Status LayerApplier::ApplyDir(archive_entry* e, const EntryPath& p, int parent) {
  ANNEX_ASSIGN_OR_RETURN(rootfs::NodeKind kind, rootfs::KindAt(parent, p.name()));
  if (kind != rootfs::NodeKind::kDirectory) {
    ANNEX_RETURN_IF_ERROR(rootfs::RemoveAt(parent, p.name()));
    ANNEX_RETURN_IF_ERROR(rootfs::MakeDirAt(parent, p.name(), 0755));
  }
  dirs_.push_back({p.parts, UidOf(e), GidOf(e), archive_entry_perm(e), MtimeOf(e)});
  return Status::OK();
}

Status LayerApplier::ApplyFile(archive_entry* e, const EntryPath& p, int parent) {
  int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  if (size < 0 || static_cast<uint64_t>(size) > limits_.max_entry_bytes) {
    Skip(p.path, "larger than " + std::to_string(limits_.max_entry_bytes) + " bytes");
    return Status::OK();  // the reader skips the data
  }
  // Never write into an existing file: its inode may be shared with lower snapshots.
  ANNEX_RETURN_IF_ERROR(rootfs::RemoveAt(parent, p.name()));
  ANNEX_ASSIGN_OR_RETURN(rootfs::UniqueFd fd, rootfs::CreateFileAt(parent, p.name()));
  ANNEX_RETURN_IF_ERROR(reader_.ReadData([&](int64_t offset, std::string_view bytes) -> Status {
    if (offset < 0 || static_cast<uint64_t>(offset) + bytes.size() > limits_.max_entry_bytes) {
      return Status::ResourceExhausted("layer entry " + p.path + " has data beyond the size limit");
    }
    return rootfs::WriteAt(fd.get(), bytes, offset);
  }));
  ANNEX_RETURN_IF_ERROR(rootfs::Truncate(fd.get(), size));  // trailing holes of sparse files
  return ApplyFileMetadata(e, fd.get());
}

Status LayerApplier::ApplyFileMetadata(archive_entry* e, int fd) {
  if (owner_) {
    Status st = rootfs::SetOwnerFd(fd, UidOf(e), GidOf(e));
    if (!st.ok()) log::Warn("image layer: owner not applied", {{"error", st.message()}});
  } else {
    NoteOwnershipSkipped();
  }
  // After chown, which clears setuid/setgid.
  ANNEX_RETURN_IF_ERROR(rootfs::SetModeFd(fd, archive_entry_perm(e)));
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name;
    // File capabilities matter for running the image (ping); others
    // (trusted.*, security.selinux) belong to the host.
    if (!n.starts_with("user.") && !(owner_ && n == "security.capability")) continue;
    Status st = rootfs::SetXattrFd(fd, name, std::string_view(static_cast<const char*>(value), size));
    if (!st.ok()) log::Warn("image layer: xattr not applied", {{"xattr", n}, {"error", st.message()}});
  }
  if (std::optional<timespec> mtime = MtimeOf(e)) return rootfs::SetMtimeFd(fd, *mtime);
  return Status::OK();
}

Status LayerApplier::ApplySymlink(archive_entry* e, const EntryPath& p, int parent) {
  const char* target = archive_entry_symlink(e);
  if (target == nullptr || *target == '\0' || std::string_view(target).size() > limits_.max_path_bytes) {
    Skip(p.path, "symlink without a valid target");
    return Status::OK();
  }
  ANNEX_RETURN_IF_ERROR(rootfs::RemoveAt(parent, p.name()));
  ANNEX_RETURN_IF_ERROR(rootfs::SymlinkAt(target, parent, p.name()));
  if (owner_) {
    Status st = rootfs::SetOwnerAt(parent, p.name(), UidOf(e), GidOf(e));
    if (!st.ok()) log::Warn("image layer: owner not applied", {{"error", st.message()}});
  }
  if (std::optional<timespec> mtime = MtimeOf(e)) return rootfs::SetMtimeAt(parent, p.name(), *mtime);
  return Status::OK();
}

Status LayerApplier::ApplyHardLink(const EntryPath& p, int parent, std::string_view target) {
  Result<EntryPath> t = SplitPath(target, limits_);
  if (!t.ok() || t->parts.empty()) {
    Skip(p.path, "hard link target outside the root");
    return Status::OK();
  }
  if (t->path == p.path) return Status::OK();
  Result<rootfs::UniqueFd> tdir = rootfs::OpenDirBeneath(root_fd_, t->parent(), /*create=*/false);
  if (!tdir.ok()) {
    if (!tdir.status().IsNotFound() && tdir.status().code() != StatusCode::kFailedPrecondition) {
      return tdir.status();
    }
    Skip(p.path, "hard link target " + t->path + " is not in the root");
    return Status::OK();
  }
  ANNEX_ASSIGN_OR_RETURN(rootfs::NodeKind kind, rootfs::KindAt(tdir->get(), t->name()));
  if (kind != rootfs::NodeKind::kRegular && kind != rootfs::NodeKind::kSymlink) {
    Skip(p.path, "hard link target " + t->path + " is missing or not a file");
    return Status::OK();
  }
  ANNEX_RETURN_IF_ERROR(rootfs::RemoveAt(parent, p.name()));
  Status st = rootfs::LinkAt(tdir->get(), t->name(), parent, p.name());
  if (!st.ok()) Skip(p.path, st.message());
  return Status::OK();
}

Status LayerApplier::HideLower(const std::vector<std::string>& parts) {
  Result<rootfs::UniqueFd> dir = rootfs::OpenDirBeneath(root_fd_, Views(parts), /*create=*/false);
  if (!dir.ok()) return Status::OK();  // replaced by a later entry of this layer
  std::string prefix;
  for (const std::string& part : parts) prefix += (prefix.empty() ? "" : "/") + part;
  return HideLowerIn(dir->get(), prefix, parts.size());
}

// Removes what this layer did not put below `prefix`, keeping its own
// entries and descending into its own directories.
Status LayerApplier::HideLowerIn(int dir_fd, const std::string& prefix, size_t depth) {
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> names, rootfs::ListNames(dir_fd));
  for (const std::string& name : names) {
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    if (!Touched(path)) {
      ANNEX_RETURN_IF_ERROR(rootfs::RemoveAt(dir_fd, name));
      continue;
    }
    ANNEX_ASSIGN_OR_RETURN(rootfs::NodeKind kind, rootfs::KindAt(dir_fd, name));
    if (kind != rootfs::NodeKind::kDirectory || depth >= limits_.max_depth) continue;
    ANNEX_ASSIGN_OR_RETURN(rootfs::UniqueFd sub, rootfs::OpenDirAt(dir_fd, name));
    ANNEX_RETURN_IF_ERROR(HideLowerIn(sub.get(), path, depth + 1));
  }
  return Status::OK();
}

Status LayerApplier::FinishDirectories() {
  for (const DirMeta& d : dirs_) {
    Result<rootfs::UniqueFd> fd = rootfs::OpenDirBeneath(root_fd_, Views(d.parts), /*create=*/false);
    if (!fd.ok()) continue;  // replaced or removed later in the layer
    mode_t mode = d.mode;
    if (owner_) {
      Status st = rootfs::SetOwnerFd(fd->get(), d.uid, d.gid);
      if (!st.ok()) log::Warn("image layer: owner not applied", {{"error", st.message()}});
    } else {
      mode |= S_IRWXU;  // the appliance user must still be able to build the next layer into it
    }
    ANNEX_RETURN_IF_ERROR(rootfs::SetModeFd(fd->get(), mode));
    if (d.mtime) ANNEX_RETURN_IF_ERROR(rootfs::SetMtimeFd(fd->get(), *d.mtime));
  }
  return Status::OK();
}

}  // namespace

Result<LayerStats> ApplyLayer(const os::RandomAccessFile& blob, const std::string& root_dir,
                              const UnpackLimits& limits) {
  ANNEX_ASSIGN_OR_RETURN(rootfs::UniqueFd root, rootfs::OpenDir(root_dir));
  ANNEX_ASSIGN_OR_RETURN(std::unique_ptr<LayerReader> reader, LayerReader::Open(blob, limits.max_layer_bytes));
  LayerStats stats;
  LayerApplier applier(root.get(), limits, *reader, stats);
  ANNEX_RETURN_IF_ERROR(applier.Run());
  return stats;
}

}  // namespace annex::registry
