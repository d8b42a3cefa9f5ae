#include "services/registry/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <set>

#include "appliance/crypto/hash.h"
#include "services/registry/digest.h"

namespace annex::registry {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kRehashChunk = size_t{1} << 20;

bool IsUploadId(std::string_view uuid) {
  if (uuid.empty() || uuid.size() > 64) return false;
  for (char c : uuid) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status UploadUnknown(std::string_view uuid) {
  return Status(StatusCode::kNotFound, "upload '" + std::string(uuid) + "' is unknown", "BLOB_UPLOAD_UNKNOWN");
}

// A descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write upload");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

// The running sha256 of each upload, so a chunked upload is hashed once as
// it arrives. Lost on restart: then rebuilt from the file on first use.
struct BlobStore::UploadState {
  struct Running {
    crypto::Hasher sha256{crypto::HashKind::kSha256};
    uint64_t hashed = 0;
  };
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Running>, std::less<>> running;
  std::set<std::string, std::less<>> leased;
};

BlobStore::BlobStore(os::FileSystem& fs, std::string root)
    : fs_(fs), root_(std::move(root)), uploads_(std::make_unique<UploadState>()) {}
BlobStore::~BlobStore() = default;

void BlobStore::UploadLease::Release() {
  if (!store_) return;
  std::lock_guard lock(store_->uploads_->mu);
  store_->uploads_->leased.erase(uuid_);
  store_ = nullptr;
}

Status BlobStore::Init() {
  ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(os::JoinPath(root_, "uploads")));
  for (char a : std::string_view(kHexDigits)) {
    for (char b : std::string_view(kHexDigits)) {
      ANNEX_RETURN_IF_ERROR(fs_.CreateDirs(os::JoinPath(root_, std::string("blobs/sha256/") + a + b)));
    }
  }
  return Status::OK();
}

std::string BlobStore::BlobPath(std::string_view digest) const {
  std::string_view hex = DigestHex(digest);
  return root_ + "/blobs/sha256/" + std::string(hex.substr(0, 2)) + "/" + std::string(hex);
}

std::string BlobStore::UploadPath(std::string_view uuid) const { return root_ + "/uploads/" + std::string(uuid); }

Result<os::RandomAccessFilePtr> BlobStore::Open(std::string_view digest) const {
  if (!IsValidDigest(digest)) return Status(StatusCode::kInvalidArgument, "invalid digest", "DIGEST_INVALID");
  return fs_.OpenForRead(BlobPath(digest));
}

bool BlobStore::Exists(std::string_view digest) const { return IsValidDigest(digest) && fs_.Exists(BlobPath(digest)); }

Status BlobStore::Remove(std::string_view digest) {
  if (!IsValidDigest(digest)) return Status::OK();
  Status s = fs_.Remove(BlobPath(digest));
  if (!s.ok() && !s.IsNotFound()) return s;
  return Status::OK();
}

Result<std::string> BlobStore::PutWhole(std::string_view content) {
  std::string digest = DigestOf(content);
  if (Exists(digest)) return digest;
  std::string path = BlobPath(digest);
  ANNEX_RETURN_IF_ERROR(os::WriteFileAtomic(fs_, path, content, 0644));
  return digest;
}

Result<BlobStore::UploadLease> BlobStore::Lease(std::string_view uuid) {
  std::lock_guard lock(uploads_->mu);
  if (!uploads_->leased.emplace(uuid).second) {
    return Status(StatusCode::kAborted, "upload '" + std::string(uuid) + "' is in use by another request",
                  "BLOB_UPLOAD_INVALID");
  }
  return UploadLease(this, std::string(uuid));
}

Status BlobStore::CreateUpload(std::string_view uuid) {
  if (!IsUploadId(uuid)) return Status::InvalidArgument("invalid upload id");
  int fd = ::open(UploadPath(uuid).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create upload");
  ::close(fd);
  std::lock_guard lock(uploads_->mu);
  uploads_->running[std::string(uuid)] = std::make_unique<UploadState::Running>();
  return Status::OK();
}

Result<uint64_t> BlobStore::UploadSize(std::string_view uuid) const {
  if (!IsUploadId(uuid)) return UploadUnknown(uuid);
  struct stat st;
  if (::stat(UploadPath(uuid).c_str(), &st) != 0) {
    if (errno == ENOENT) return UploadUnknown(uuid);
    return Status::FromErrno(errno, "stat upload");
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<uint64_t> BlobStore::Append(std::string_view uuid, uint64_t offset, std::string_view data) {
  if (!IsUploadId(uuid)) return UploadUnknown(uuid);
  Fd f{::open(UploadPath(uuid).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)};
  if (f.fd < 0) return errno == ENOENT ? UploadUnknown(uuid) : Status::FromErrno(errno, "open upload");
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return Status::FromErrno(errno, "stat upload");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset != size) {
    return Status(StatusCode::kOutOfRange,
                  "upload is at byte " + std::to_string(size) + ", not " + std::to_string(offset), "RANGE_INVALID");
  }
  UploadState::Running* running = nullptr;
  {
    std::lock_guard lock(uploads_->mu);
    auto it = uploads_->running.find(uuid);
    if (it != uploads_->running.end()) running = it->second.get();
  }
  Status written = WriteAll(f.fd, data);
  if (written.ok() && running && running->hashed == size) {
    // Hashed outside the lock: the caller's lease makes the state its own.
    running->sha256.Update(data);
    running->hashed += data.size();
    return size + data.size();
  }
  if (!written.ok()) {
    // Cut back to what was acknowledged.
    if (::ftruncate(f.fd, static_cast<off_t>(size)) != 0) {}
  }
  // Out of step (a failed write, or a restart): the hash is rebuilt at commit.
  std::lock_guard lock(uploads_->mu);
  uploads_->running.erase(std::string(uuid));
  if (!written.ok()) return written;
  return size + data.size();
}

Status BlobStore::SyncUpload(std::string_view uuid) {
  if (!IsUploadId(uuid)) return UploadUnknown(uuid);
  Fd f{::open(UploadPath(uuid).c_str(), O_WRONLY | O_CLOEXEC)};
  if (f.fd < 0) return errno == ENOENT ? UploadUnknown(uuid) : Status::FromErrno(errno, "open upload");
  if (::fdatasync(f.fd) != 0) return Status::FromErrno(errno, "sync upload");
  return Status::OK();
}

Result<uint64_t> BlobStore::Commit(std::string_view uuid, std::string_view digest) {
  if (!IsValidDigest(digest)) {
    return Status(StatusCode::kInvalidArgument, "invalid digest '" + std::string(digest) + "'", "DIGEST_INVALID");
  }
  ANNEX_ASSIGN_OR_RETURN(uint64_t size, UploadSize(uuid));
  std::unique_ptr<UploadState::Running> running;
  {
    std::lock_guard lock(uploads_->mu);
    auto it = uploads_->running.find(uuid);
    if (it != uploads_->running.end()) {
      running = std::move(it->second);
      uploads_->running.erase(it);
    }
  }
  std::string path = UploadPath(uuid);
  if (!running || running->hashed != size) {
    // After a restart (or an interrupted write) the hash starts over from the file.
    running = std::make_unique<UploadState::Running>();
    ANNEX_ASSIGN_OR_RETURN(os::RandomAccessFilePtr file, fs_.OpenForRead(path));
    std::string buf(kRehashChunk, '\0');
    while (running->hashed < size) {
      ANNEX_ASSIGN_OR_RETURN(size_t n, file->ReadAt(running->hashed, std::span<char>(buf.data(), buf.size())));
      if (n == 0) break;
      running->sha256.Update(std::string_view(buf.data(), n));
      running->hashed += n;
    }
  }
  std::string actual = DigestFromHex(running->sha256.FinalHex());
  if (actual != digest) {
    return Status(StatusCode::kInvalidArgument,
                  "the upload's digest is " + actual + ", not " + std::string(digest), "DIGEST_INVALID");
  }
  std::string blob = BlobPath(digest);
  if (fs_.Exists(blob)) {
    DropUpload(uuid).IgnoreError();
    return size;
  }
  ANNEX_RETURN_IF_ERROR(SyncUpload(uuid));
  ANNEX_RETURN_IF_ERROR(fs_.Rename(path, blob));
  ANNEX_RETURN_IF_ERROR(fs_.SyncDir(os::DirName(blob)));
  return size;
}

Status BlobStore::DropUpload(std::string_view uuid) {
  if (!IsUploadId(uuid)) return Status::OK();
  {
    std::lock_guard lock(uploads_->mu);
    uploads_->running.erase(std::string(uuid));
  }
  Status s = fs_.Remove(UploadPath(uuid));
  if (!s.ok() && !s.IsNotFound()) return s;
  return Status::OK();
}

Result<std::vector<std::string>> BlobStore::ListUploads() const { return fs_.ListDir(root_ + "/uploads"); }

Status BlobStore::ForEachBlob(const std::function<void(const std::string& digest)>& visit) const {
  for (char a : std::string_view(kHexDigits)) {
    for (char b : std::string_view(kHexDigits)) {
      ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> names,
                             fs_.ListDir(root_ + "/blobs/sha256/" + std::string{a, b}));
      for (const std::string& name : names) {
        std::string digest = DigestFromHex(name);
        if (IsValidDigest(digest)) visit(digest);
      }
    }
  }
  return Status::OK();
}

}  // namespace annex::registry
