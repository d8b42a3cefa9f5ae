#pragma once
// RegistryStore: the registry's metadata in one LMDB environment —
// repositories, the manifests and tags in each, which blobs each repository
// may use, uploads in progress — and the garbage collector that removes
// what nothing references any more.
//
// Tables (keys are NUL-joined; names cannot contain NUL):
//   repositories  account \0 repo                → RepositoryRecord
//   manifests     account \0 repo \0 digest      → ManifestRecord (the bytes inline)
//   tags          account \0 repo \0 tag         → digest
//   repo_blobs    account \0 repo \0 digest      → RepoBlobRecord   a blob the repository may serve
//   blobs         digest                         → BlobRecord       how many repo_blobs rows name it
//   uploads       uuid                           → UploadRecord
//
// Errors carry the distribution API's codes as subcodes where one fits
// (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, BLOB_UPLOAD_UNKNOWN,
// DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN, MANIFEST_INVALID) and ECR's
// otherwise (RepositoryAlreadyExistsException, RepositoryNotEmptyException,
// ImageTagAlreadyExistsException, ImageReferencedByManifestList); each API
// maps them to its own.
//
// Every mutation is one durable transaction. A blob file is removed only
// after the commit that drops its last reference, under the same lock that
// publishing a blob takes, so a push racing the collector never loses a
// blob it was just told exists.
//
// Thread-safe. Methods block (LMDB commits fsync): call them off the io threads.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/service/resource_feed.h"
#include "appliance/store/lmdb_env.h"
#include "services/registry/blob_store.h"
#include "services/registry/manifest.h"

namespace annex::registry {

enum class TagMutability { kMutable, kImmutable };

struct RepositoryRecord {
  std::string account;
  std::string name;
  std::string registry_id;  // = account (ECR's registryId)
  int64_t created_ms = 0;
  TagMutability tag_mutability = TagMutability::kMutable;
  bool scan_on_push = false;
  std::string encryption_type = "AES256";
  std::string policy;            // repository policy JSON, empty when none
  std::string lifecycle_policy;  // lifecycle policy JSON, empty when none
  int64_t lifecycle_updated_ms = 0;
  std::map<std::string, std::string> tags;
};

struct ManifestRecord {
  std::string digest;
  std::string media_type;
  std::string bytes;  // exactly as pushed
  int64_t pushed_ms = 0;
  int64_t last_pulled_ms = 0;  // 0: never
  uint64_t image_size = 0;     // config + layers (ECR's imageSizeInBytes); indexes: 0
  std::vector<std::string> blobs;     // referenced blobs (config, layers)
  std::vector<std::string> children;  // indexes: the child manifests' digests
  std::string artifact_type;
  std::string config_media_type;
};

struct RepoBlobRecord {
  uint64_t size = 0;
  int64_t linked_ms = 0;  // when the repository got the blob (upload or mount)
};

struct UploadRecord {
  std::string uuid;
  std::string account;
  std::string repository;
  int64_t started_ms = 0;
};

// One image in a repository as ListImages/DescribeImages see it: a manifest
// and the tags pointing at it.
struct ImageEntry {
  ManifestRecord manifest;
  std::vector<std::string> tags;
};

class RegistryStore {
 public:
  struct Options {
    // A blob linked to a repository that no manifest references is kept
    // this long (a push uploads blobs before the manifest).
    int64_t unreferenced_blob_grace_ms = int64_t{24} * 3600 * 1000;
    // Uploads untouched this long are abandoned and removed.
    int64_t upload_expiry_ms = int64_t{24} * 3600 * 1000;
  };

  static Result<std::unique_ptr<RegistryStore>> Open(const std::string& dir, BlobStore& blobs, os::Clock& clock,
                                                     const Options& options);
  static Result<std::unique_ptr<RegistryStore>> Open(const std::string& dir, BlobStore& blobs, os::Clock& clock) {
    return Open(dir, blobs, clock, Options{});
  }
  ~RegistryStore();

  // --- repositories (NotFound / AlreadyExists as Status codes; the APIs name them)
  Status CreateRepository(const RepositoryRecord& repo);
  Result<RepositoryRecord> GetRepository(std::string_view account, std::string_view name) const;
  // Every repository of `account` in name order (after `after`, at most `limit`; 0: all).
  Result<std::vector<RepositoryRecord>> ListRepositories(std::string_view account, std::string_view after = {},
                                                         size_t limit = 0) const;
  // Reads, changes and writes the record in one transaction, so two
  // concurrent changes (a tag and a policy) cannot lose one another.
  // `change` runs under the store's write lock: keep it short. Returns the
  // record as written.
  Result<RepositoryRecord> UpdateRepository(std::string_view account, std::string_view name,
                                            const std::function<Status(RepositoryRecord&)>& change);
  // FailedPrecondition (RepositoryNotEmpty) if it holds images and !force;
  // else removes it with its manifests, tags and blob links.
  Status DeleteRepository(std::string_view account, std::string_view name, bool force);

  // --- blobs in a repository
  // The blob's size if the repository may serve it, else NotFound.
  Result<uint64_t> RepositoryBlob(std::string_view account, std::string_view repo, std::string_view digest) const;
  // Links a published blob (or one `from_repo` of the same account has) to
  // the repository: cross-repository mount. NotFound when there is nothing to link.
  Status MountBlob(std::string_view account, std::string_view repo, std::string_view digest,
                   std::string_view from_repo);

  // --- uploads
  // Starts an upload into `repo` and returns its record (a fresh uuid).
  Result<UploadRecord> StartUpload(std::string_view account, std::string_view repo);
  Result<UploadRecord> GetUpload(std::string_view uuid) const;
  // Publishes the upload as `digest` and links it to the upload's
  // repository; the upload record is gone afterwards. DIGEST_INVALID (see
  // BlobStore::Commit) leaves the upload in place.
  Result<uint64_t> CompleteUpload(std::string_view uuid, std::string_view digest);
  Status CancelUpload(std::string_view uuid);
  // Publishes whole content (imports, small configs) and links it to `repo`. Returns the digest.
  Result<std::string> PutBlob(std::string_view account, std::string_view repo, std::string_view content);

  // --- manifests and tags
  struct PutManifestResult {
    std::string digest;
    bool created = false;  // a manifest new to the repository
  };
  // Stores the manifest (every blob it references must be in the
  // repository, and every child of an index a manifest in it: both
  // MANIFEST_BLOB_UNKNOWN, as the distribution spec names a missing
  // reference) and points `tag` at it when given.
  // An IMMUTABLE repository refuses to move an existing tag
  // (ImageTagAlreadyExistsException / TAG_INVALID at the API).
  Result<PutManifestResult> PutManifest(std::string_view account, std::string_view repo, std::string_view bytes,
                                        const Manifest& parsed, std::string_view tag);
  // By digest ("sha256:…") or by tag.
  Result<ManifestRecord> GetManifest(std::string_view account, std::string_view repo,
                                     std::string_view reference) const;
  // Records a pull (DescribeImages' lastRecordedPullTime) in memory: reads
  // see it at once, FlushPulls (every collector pass, and on close) writes
  // it. Approximate, as ECR's is; a crash may lose the latest pulls' times.
  void NotePull(std::string_view account, std::string_view repo, std::string_view digest);
  Status FlushPulls();
  // Deletes a manifest and every tag pointing at it. FailedPrecondition
  // while an index in the repository still lists it.
  Status DeleteManifest(std::string_view account, std::string_view repo, std::string_view digest);
  // Removes a tag. With `delete_untagged`, the manifest goes too when that
  // was its last tag (ECR's BatchDeleteImage by tag). Returns the digest it named.
  Result<std::string> DeleteTag(std::string_view account, std::string_view repo, std::string_view tag,
                                bool delete_untagged);
  // Tags in `repo` in order, after `after`, at most `limit` (0: all).
  Result<std::vector<std::string>> ListTags(std::string_view account, std::string_view repo,
                                            std::string_view after = {}, size_t limit = 0) const;
  // Every image (manifest with its tags) in the repository, in digest order.
  Result<std::vector<ImageEntry>> ListImages(std::string_view account, std::string_view repo) const;

  // --- catalog: every repository of every account the caller may see is
  // filtered by the API; this lists `account`'s names after `after`.
  Result<std::vector<std::string>> Catalog(std::string_view account, std::string_view after, size_t limit) const;

  // --- garbage collection
  struct GcStats {
    uint64_t links_removed = 0;
    uint64_t blobs_removed = 0;
    uint64_t bytes_freed = 0;
    uint64_t uploads_expired = 0;
  };
  // One bounded pass: drops blob links no manifest references past the
  // grace period, removes blobs nothing links, expires old uploads.
  // Safe while pushes run.
  Result<GcStats> CollectGarbage(size_t max_items = 10000);
  // At startup, before serving: removes upload files without records,
  // records without files, and blob files no record knows.
  Result<GcStats> CleanOrphans();

  // --- for reports and metrics
  uint64_t blob_count() const;
  uint64_t stored_bytes() const;
  // The resource feed (repositories and images) in this store's environment.
  service::ResourceFeed& feed() { return *feed_; }
  store::LmdbEnv& env() { return *env_; }

 private:
  struct Tables;
  RegistryStore(std::unique_ptr<store::LmdbEnv> env, BlobStore& blobs, os::Clock& clock, const Options& options);
  Status Init();

  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<Tables> t_;
  std::unique_ptr<service::ResourceFeed> feed_;
  BlobStore& blobs_;
  os::Clock& clock_;
  Options options_;
  // Held while a blob file is published or removed together with its row.
  mutable std::mutex blob_files_mu_;
};

// The ids of the store's resources in its feed: "<account>/<repo>" and
// "<account>/<repo>@<digest>".
std::string RepositoryFeedId(std::string_view account, std::string_view repo);

// Encodes/decodes records (exposed for tests and the fuzzers).
std::string EncodeRepository(const RepositoryRecord& r);
Result<RepositoryRecord> DecodeRepository(std::string_view account, std::string_view name, std::string_view data);
std::string EncodeManifest(const ManifestRecord& m);
Result<ManifestRecord> DecodeManifest(std::string_view digest, std::string_view data);

}  // namespace annex::registry
