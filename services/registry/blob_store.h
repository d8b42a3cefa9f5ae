#pragma once
// BlobStore: the registry's bytes on disk, content-addressed and shared by
// every repository and account.
//
// Layout under the root:
//   blobs/sha256/<xx>/<hex>   published blobs (xx = the digest's first two hex digits)
//   uploads/<uuid>            uploads in progress, appended to across requests
//
// A blob is only published under its digest after the bytes were hashed as
// they arrived and matched the digest the client claimed, fdatasync'd,
// renamed into place and the directory fsync'd — a mismatch publishes
// nothing (DIGEST_INVALID). Whether a published blob belongs to a repository
// is the metadata store's business (registry_store.h); this class only
// keeps files. Upload files outlive a daemon restart, so a client can resume
// an upload; their hash state is rebuilt from the file when needed.
//
// All methods block on the disk: call them from the blocking pool.
// Thread-safe. One upload must not be appended to by two callers at once:
// a request holds the upload's lease (Lease()) while it appends.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/os/file_system.h"

namespace annex::registry {

class BlobStore {
 public:
  BlobStore(os::FileSystem& fs, std::string root);
  ~BlobStore();

  // Creates the directories.
  Status Init();

  // --- published blobs
  Result<os::RandomAccessFilePtr> Open(std::string_view digest) const;
  bool Exists(std::string_view digest) const;
  // Removes a published blob; a missing one is not an error.
  Status Remove(std::string_view digest);
  // Publishes `content` under its digest (manifests' own bytes are kept in
  // metadata; this is for configs and small blobs written whole, such as
  // an import's). Returns the digest.
  Result<std::string> PutWhole(std::string_view content);

  // --- uploads
  // Exclusive use of one upload for the length of a request; released on
  // destruction.
  class UploadLease {
   public:
    UploadLease(UploadLease&& other) noexcept : store_(other.store_), uuid_(std::move(other.uuid_)) {
      other.store_ = nullptr;
    }
    UploadLease(const UploadLease&) = delete;
    ~UploadLease() { Release(); }
    // Gives the upload up before the lease goes out of scope: a client
    // sends its next request for the upload as soon as it has the answer.
    void Release();

   private:
    friend class BlobStore;
    UploadLease(BlobStore* store, std::string uuid) : store_(store), uuid_(std::move(uuid)) {}
    BlobStore* store_;
    std::string uuid_;
  };
  // Aborted (BLOB_UPLOAD_INVALID) while another request holds it. Appends
  // and RegistryStore::CompleteUpload need it held.
  Result<UploadLease> Lease(std::string_view uuid);

  // Starts an empty upload file.
  Status CreateUpload(std::string_view uuid);
  // Appends to the upload; `offset` must be its current size (the client's
  // Content-Range start), else OutOfRange. Returns the new size.
  Result<uint64_t> Append(std::string_view uuid, uint64_t offset, std::string_view data);
  // fdatasync of the upload file: what was acknowledged survives a crash.
  Status SyncUpload(std::string_view uuid);
  // The upload's current size; NotFound if there is no such upload.
  Result<uint64_t> UploadSize(std::string_view uuid) const;
  // Checks the upload's bytes against `digest` and publishes them under it
  // (a blob already published under that digest is kept and the upload
  // dropped). InvalidArgument with subcode DIGEST_INVALID on a mismatch:
  // the upload is left as it was, so the client may fix and retry. Returns
  // the blob's size.
  Result<uint64_t> Commit(std::string_view uuid, std::string_view digest);
  // Removes an upload's file; a missing one is not an error.
  Status DropUpload(std::string_view uuid);
  // Upload ids present on disk (for startup cleanup against the store's records).
  Result<std::vector<std::string>> ListUploads() const;
  // Every published blob's digest, passed to `visit` (startup orphan sweep).
  Status ForEachBlob(const std::function<void(const std::string& digest)>& visit) const;

  const std::string& root() const { return root_; }
  std::string BlobPath(std::string_view digest) const;

 private:
  struct UploadState;
  std::string UploadPath(std::string_view uuid) const;

  os::FileSystem& fs_;
  std::string root_;
  std::unique_ptr<UploadState> uploads_;  // open files and running hashes, by uuid
};

}  // namespace annex::registry
