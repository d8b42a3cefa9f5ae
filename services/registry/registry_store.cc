#include "services/registry/registry_store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>

#include "services/registry/digest.h"
#include "services/registry/registry_records.h"
#include "services/registry/registry_store_tables.h"

namespace annex::registry {
namespace {

Status NameUnknown(std::string_view account, std::string_view repo) {
  return Status(StatusCode::kNotFound,
                "The repository with name '" + std::string(repo) + "' does not exist in the registry with id '" +
                    std::string(account) + "'",
                "NAME_UNKNOWN");
}

Status ManifestUnknown(std::string_view reference) {
  return Status(StatusCode::kNotFound, "manifest '" + std::string(reference) + "' is unknown", "MANIFEST_UNKNOWN");
}

std::string NewUuid() {
  unsigned char raw[16];
  RAND_bytes(raw, sizeof raw);
  raw[6] = (raw[6] & 0x0f) | 0x40;  // version 4
  raw[8] = (raw[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[raw[i] >> 4]);
    out.push_back(kHex[raw[i] & 15]);
  }
  return out;
}

std::string ImageId(std::string_view account, std::string_view repo, std::string_view digest) {
  return std::string(account) + "/" + std::string(repo) + "@" + std::string(digest);
}

}  // namespace

std::string RepositoryFeedId(std::string_view account, std::string_view repo) {
  return std::string(account) + "/" + std::string(repo);
}

RegistryStore::RegistryStore(std::unique_ptr<store::LmdbEnv> env, BlobStore& blobs, os::Clock& clock,
                             const Options& options)
    : env_(std::move(env)), t_(std::make_unique<Tables>()), blobs_(blobs), clock_(clock), options_(options) {}
RegistryStore::~RegistryStore() { FlushPulls().IgnoreError(); }

Result<std::unique_ptr<RegistryStore>> RegistryStore::Open(const std::string& dir, BlobStore& blobs,
                                                           os::Clock& clock, const Options& options) {
  ANNEX_ASSIGN_OR_RETURN(auto env, store::LmdbEnv::Open(dir));
  std::unique_ptr<RegistryStore> s(new RegistryStore(std::move(env), blobs, clock, options));
  ANNEX_RETURN_IF_ERROR(s->Init());
  return s;
}

Status RegistryStore::Init() {
  ANNEX_ASSIGN_OR_RETURN(t_->repositories, env_->OpenTable("repositories"));
  ANNEX_ASSIGN_OR_RETURN(t_->manifests, env_->OpenTable("manifests"));
  ANNEX_ASSIGN_OR_RETURN(t_->tags, env_->OpenTable("tags"));
  ANNEX_ASSIGN_OR_RETURN(t_->repo_blobs, env_->OpenTable("repo_blobs"));
  ANNEX_ASSIGN_OR_RETURN(t_->blobs, env_->OpenTable("blobs"));
  ANNEX_ASSIGN_OR_RETURN(t_->unreferenced, env_->OpenTable("unreferenced_blobs"));
  ANNEX_ASSIGN_OR_RETURN(t_->uploads, env_->OpenTable("uploads"));
  ANNEX_ASSIGN_OR_RETURN(feed_, service::ResourceFeed::Open(*env_));
  // The gauges start from what is stored and follow every commit after.
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->blobs));
  for (Status s = c.SeekFirst(); s.ok() && c.Valid(); s = c.Next()) {
    ANNEX_ASSIGN_OR_RETURN(BlobRecord b, DecodeBlob(c.value()));
    t_->blob_count += 1;
    t_->stored_bytes += b.size;
  }
  return Status::OK();
}

uint64_t RegistryStore::blob_count() const { return t_->blob_count.load(); }
uint64_t RegistryStore::stored_bytes() const { return t_->stored_bytes.load(); }

// ---------------------------------------------------------------- repositories

Status RegistryStore::CreateRepository(const RepositoryRecord& repo) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  std::string key = JoinKey({repo.account, repo.name});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(t_->repositories, key));
  if (existing) {
    return Status(StatusCode::kAlreadyExists,
                  "The repository with name '" + repo.name + "' already exists in the registry with id '" +
                      repo.account + "'",
                  "RepositoryAlreadyExistsException");
  }
  ANNEX_RETURN_IF_ERROR(txn.Put(t_->repositories, key, EncodeRepository(repo)));
  ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "repository", RepositoryFeedId(repo.account, repo.name)));
  return txn.Commit();
}

Result<RepositoryRecord> RegistryStore::GetRepository(std::string_view account, std::string_view name) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  return t_->Repository(txn, account, name);
}

Result<RepositoryRecord> RegistryStore::Tables::Repository(const store::ReadTxn& txn, std::string_view account,
                                                           std::string_view name) const {
  ANNEX_ASSIGN_OR_RETURN(auto v, txn.Get(repositories, JoinKey({account, name})));
  if (!v) return NameUnknown(account, name);
  return DecodeRepository(account, name, *v);
}

Result<std::vector<RepositoryRecord>> RegistryStore::ListRepositories(std::string_view account,
                                                                      std::string_view after, size_t limit) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  std::vector<RepositoryRecord> out;
  std::string prefix = JoinKey({account, ""});
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->repositories));
  Status s = after.empty() ? c.Seek(prefix) : c.Seek(JoinKey({account, after}) + std::string(1, '\0'));
  for (; s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
    std::string_view name = c.key().substr(prefix.size());
    if (!after.empty() && name <= after) continue;
    ANNEX_ASSIGN_OR_RETURN(RepositoryRecord r, DecodeRepository(account, name, c.value()));
    out.push_back(std::move(r));
    if (limit && out.size() >= limit) break;
  }
  ANNEX_RETURN_IF_ERROR(s);
  return out;
}

Result<std::vector<std::string>> RegistryStore::Catalog(std::string_view account, std::string_view after,
                                                        size_t limit) const {
  ANNEX_ASSIGN_OR_RETURN(std::vector<RepositoryRecord> repos, ListRepositories(account, after, limit));
  std::vector<std::string> names;
  for (auto& r : repos) names.push_back(std::move(r.name));
  return names;
}

Result<RepositoryRecord> RegistryStore::UpdateRepository(std::string_view account, std::string_view name,
                                                         const std::function<Status(RepositoryRecord&)>& change) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(RepositoryRecord repo, t_->Repository(txn, account, name));
  ANNEX_RETURN_IF_ERROR(change(repo));
  // The identity of the record is not the caller's to change.
  repo.account = account;
  repo.name = name;
  ANNEX_RETURN_IF_ERROR(txn.Put(t_->repositories, JoinKey({account, name}), EncodeRepository(repo)));
  ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "repository", RepositoryFeedId(account, name)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return repo;
}

Status RegistryStore::DeleteRepository(std::string_view account, std::string_view name, bool force) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, name).status());
  std::string prefix = JoinKey({account, name, ""});
  std::vector<std::string> digests;
  ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->manifests, prefix, &digests));
  if (!digests.empty() && !force) {
    return Status(StatusCode::kFailedPrecondition,
                  "The repository with name '" + std::string(name) + "' in registry with id '" +
                      std::string(account) + "' cannot be deleted because it still contains images",
                  "RepositoryNotEmptyException");
  }
  for (const std::string& d : digests) {
    ANNEX_RETURN_IF_ERROR(txn.Delete(t_->manifests, prefix + d));
    ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "image", ImageId(account, name, d), /*deleted=*/true));
  }
  std::vector<std::string> tags;
  ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->tags, prefix, &tags));
  for (const std::string& tag : tags) ANNEX_RETURN_IF_ERROR(txn.Delete(t_->tags, prefix + tag));
  std::vector<std::string> links;
  ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->repo_blobs, prefix, &links));
  for (const std::string& d : links) ANNEX_RETURN_IF_ERROR(t_->Unlink(txn, prefix + d, d));
  ANNEX_RETURN_IF_ERROR(txn.Delete(t_->repositories, JoinKey({account, name})));
  ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "repository", RepositoryFeedId(account, name), /*deleted=*/true));
  return txn.Commit();
}

Status RegistryStore::Tables::KeysWithPrefix(const store::ReadTxn& txn, store::Table table, std::string_view prefix,
                                             std::vector<std::string>* out) const {
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table));
  // LMDB refuses an empty key to seek to: the whole table starts at its first.
  Status s = prefix.empty() ? c.SeekFirst() : c.Seek(prefix);
  for (; s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
    out->emplace_back(c.key().substr(prefix.size()));
  }
  return s;
}

// ---------------------------------------------------------------- manifests and tags

Result<RegistryStore::PutManifestResult> RegistryStore::PutManifest(std::string_view account, std::string_view repo,
                                                                    std::string_view bytes, const Manifest& parsed,
                                                                    std::string_view tag) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(RepositoryRecord repository, t_->Repository(txn, account, repo));
  std::string prefix = JoinKey({account, repo, ""});
  ANNEX_RETURN_IF_ERROR(t_->CheckReferences(txn, prefix, parsed));

  PutManifestResult result;
  result.digest = DigestOf(bytes);
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(t_->manifests, prefix + result.digest));
  if (!existing) {
    ManifestRecord m;
    m.digest = result.digest;
    m.media_type = parsed.media_type;
    m.bytes = std::string(bytes);
    m.pushed_ms = os::ToUnixMillis(clock_.Now());
    m.image_size = ImageSize(parsed);
    m.blobs = ReferencedBlobs(parsed);
    for (const Descriptor& d : parsed.manifests) m.children.push_back(d.digest);
    m.artifact_type = parsed.artifact_type;
    m.config_media_type = parsed.is_index() ? "" : parsed.config.media_type;
    ANNEX_RETURN_IF_ERROR(txn.Put(t_->manifests, prefix + result.digest, EncodeManifest(m)));
    result.created = true;
  }
  if (!tag.empty()) {
    ANNEX_ASSIGN_OR_RETURN(auto current, txn.Get(t_->tags, prefix + std::string(tag)));
    if (current && *current != result.digest && repository.tag_mutability == TagMutability::kImmutable) {
      return Status(StatusCode::kFailedPrecondition,
                    "The image tag '" + std::string(tag) + "' already exists in the '" + std::string(repo) +
                        "' repository and cannot be overwritten because the repository is immutable.",
                    "ImageTagAlreadyExistsException");
    }
    if (!current || *current != result.digest) {
      ANNEX_RETURN_IF_ERROR(txn.Put(t_->tags, prefix + std::string(tag), result.digest));
      if (current) {
        ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "image", ImageId(account, repo, *current)));
      }
      result.created = true;
    }
  }
  if (result.created) ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "image", ImageId(account, repo, result.digest)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return result;
}

// Every blob an image manifest names must be one the repository has, and
// every manifest an index names must be in the repository: a pull must
// never find a hole.
Status RegistryStore::Tables::CheckReferences(const store::ReadTxn& txn, const std::string& prefix,
                                              const Manifest& parsed) const {
  auto blob_unknown = [](const std::string& digest) {
    return Status(StatusCode::kFailedPrecondition, "blob " + digest + " is unknown to the repository",
                  "MANIFEST_BLOB_UNKNOWN");
  };
  if (!parsed.is_index()) {
    std::vector<const Descriptor*> wanted{&parsed.config};
    for (const Descriptor& l : parsed.layers) wanted.push_back(&l);
    for (const Descriptor* d : wanted) {
      // Foreign (non-distributable) layers live elsewhere by definition.
      if (d->media_type.find("foreign") != std::string::npos ||
          d->media_type.find("nondistributable") != std::string::npos) {
        continue;
      }
      ANNEX_ASSIGN_OR_RETURN(auto link, txn.Get(repo_blobs, prefix + d->digest));
      if (!link) return blob_unknown(d->digest);
      ANNEX_ASSIGN_OR_RETURN(RepoBlobRecord b, DecodeRepoBlob(*link));
      if (b.size != d->size) {
        return Status(StatusCode::kInvalidArgument,
                      "blob " + d->digest + " has " + std::to_string(b.size) + " bytes, not " +
                          std::to_string(d->size) + " as the manifest says",
                      "MANIFEST_INVALID");
      }
    }
  }
  for (const Descriptor& child : parsed.manifests) {
    ANNEX_ASSIGN_OR_RETURN(auto m, txn.Get(manifests, prefix + child.digest));
    if (!m) return blob_unknown(child.digest);
  }
  return Status::OK();
}

Result<ManifestRecord> RegistryStore::GetManifest(std::string_view account, std::string_view repo,
                                                  std::string_view reference) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  std::string prefix = JoinKey({account, repo, ""});
  std::string digest(reference);
  if (!reference.starts_with(kSha256Prefix)) {
    ANNEX_ASSIGN_OR_RETURN(auto tagged, txn.Get(t_->tags, prefix + std::string(reference)));
    if (!tagged) return ManifestUnknown(reference);
    digest = *tagged;
  }
  ANNEX_ASSIGN_OR_RETURN(auto m, txn.Get(t_->manifests, prefix + digest));
  if (!m) return ManifestUnknown(reference);
  ANNEX_ASSIGN_OR_RETURN(ManifestRecord record, DecodeManifest(digest, *m));
  t_->OverlayPull(prefix + digest, record);
  return record;
}

Status RegistryStore::DeleteManifest(std::string_view account, std::string_view repo, std::string_view digest) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  ANNEX_RETURN_IF_ERROR(t_->DeleteManifestLocked(txn, *feed_, account, repo, digest));
  return txn.Commit();
}

Status RegistryStore::Tables::DeleteManifestLocked(store::WriteTxn& txn, service::ResourceFeed& feed,
                                                   std::string_view account, std::string_view repo,
                                                   std::string_view digest) const {
  std::string prefix = JoinKey({account, repo, ""});
  ANNEX_ASSIGN_OR_RETURN(auto m, txn.Get(manifests, prefix + std::string(digest)));
  if (!m) return ManifestUnknown(digest);
  // A manifest an index of the repository still lists would leave the index broken.
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(manifests));
  for (Status s = c.Seek(prefix); s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
    std::string_view other = c.key().substr(prefix.size());
    if (other == digest) continue;
    ANNEX_ASSIGN_OR_RETURN(ManifestRecord index, DecodeManifest(other, c.value()));
    if (std::find(index.children.begin(), index.children.end(), digest) != index.children.end()) {
      return Status(StatusCode::kFailedPrecondition,
                    "manifest " + std::string(digest) + " is referenced by the manifest list " + std::string(other),
                    "ImageReferencedByManifestList");
    }
  }
  std::vector<std::string> tag_names;
  ANNEX_RETURN_IF_ERROR(KeysWithPrefix(txn, tags, prefix, &tag_names));
  for (const std::string& tag : tag_names) {
    ANNEX_ASSIGN_OR_RETURN(auto target, txn.Get(tags, prefix + tag));
    if (target && *target == digest) ANNEX_RETURN_IF_ERROR(txn.Delete(tags, prefix + tag));
  }
  ANNEX_RETURN_IF_ERROR(txn.Delete(manifests, prefix + std::string(digest)));
  return feed.Changed(txn, "image", ImageId(account, repo, digest), /*deleted=*/true);
}

Result<std::string> RegistryStore::DeleteTag(std::string_view account, std::string_view repo, std::string_view tag,
                                             bool delete_untagged) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  std::string prefix = JoinKey({account, repo, ""});
  ANNEX_ASSIGN_OR_RETURN(auto target, txn.Get(t_->tags, prefix + std::string(tag)));
  if (!target) return ManifestUnknown(tag);
  std::string digest(*target);
  ANNEX_RETURN_IF_ERROR(txn.Delete(t_->tags, prefix + std::string(tag)));
  bool still_tagged = false;
  if (delete_untagged) {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->tags));
    for (Status s = c.Seek(prefix); s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
      if (c.value() == digest) {
        still_tagged = true;
        break;
      }
    }
  }
  if (delete_untagged && !still_tagged) {
    ANNEX_RETURN_IF_ERROR(t_->DeleteManifestLocked(txn, *feed_, account, repo, digest));
  } else {
    ANNEX_RETURN_IF_ERROR(feed_->Changed(txn, "image", ImageId(account, repo, digest)));
  }
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return digest;
}

Result<std::vector<std::string>> RegistryStore::ListTags(std::string_view account, std::string_view repo,
                                                         std::string_view after, size_t limit) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  std::string prefix = JoinKey({account, repo, ""});
  std::vector<std::string> out;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->tags));
  Status s = c.Seek(after.empty() ? prefix : prefix + std::string(after));
  for (; s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
    std::string_view tag = c.key().substr(prefix.size());
    if (!after.empty() && tag <= after) continue;
    out.emplace_back(tag);
    if (limit && out.size() >= limit) break;
  }
  ANNEX_RETURN_IF_ERROR(s);
  return out;
}

Result<std::vector<ImageEntry>> RegistryStore::ListImages(std::string_view account, std::string_view repo) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  std::string prefix = JoinKey({account, repo, ""});
  std::map<std::string, std::vector<std::string>, std::less<>> tags_of;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor tc, txn.OpenCursor(t_->tags));
  for (Status s = tc.Seek(prefix); s.ok() && tc.Valid() && tc.key().starts_with(prefix); s = tc.Next()) {
    tags_of[std::string(tc.value())].emplace_back(tc.key().substr(prefix.size()));
  }
  std::vector<ImageEntry> out;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->manifests));
  for (Status s = c.Seek(prefix); s.ok() && c.Valid() && c.key().starts_with(prefix); s = c.Next()) {
    std::string_view digest = c.key().substr(prefix.size());
    ImageEntry e;
    ANNEX_ASSIGN_OR_RETURN(e.manifest, DecodeManifest(digest, c.value()));
    t_->OverlayPull(c.key(), e.manifest);
    if (auto it = tags_of.find(digest); it != tags_of.end()) e.tags = std::move(it->second);
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- uploads

Result<UploadRecord> RegistryStore::StartUpload(std::string_view account, std::string_view repo) {
  ANNEX_RETURN_IF_ERROR(GetRepository(account, repo).status());
  UploadRecord u;
  u.uuid = NewUuid();
  u.account = account;
  u.repository = repo;
  u.started_ms = os::ToUnixMillis(clock_.Now());
  ANNEX_RETURN_IF_ERROR(blobs_.CreateUpload(u.uuid));
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Put(t_->uploads, u.uuid, EncodeUpload(u)));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return u;
}

Result<UploadRecord> RegistryStore::GetUpload(std::string_view uuid) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto v, txn.Get(t_->uploads, uuid));
  if (!v) {
    return Status(StatusCode::kNotFound, "upload '" + std::string(uuid) + "' is unknown", "BLOB_UPLOAD_UNKNOWN");
  }
  return DecodeUpload(uuid, *v);
}

Result<uint64_t> RegistryStore::CompleteUpload(std::string_view uuid, std::string_view digest) {
  ANNEX_ASSIGN_OR_RETURN(UploadRecord u, GetUpload(uuid));
  std::lock_guard lock(blob_files_mu_);
  ANNEX_ASSIGN_OR_RETURN(uint64_t size, blobs_.Commit(uuid, digest));
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Delete(t_->uploads, uuid));
  ANNEX_ASSIGN_OR_RETURN(bool new_blob, t_->Link(txn, u.account, u.repository, digest, size, clock_));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  t_->Counted(new_blob, size);
  return size;
}

Status RegistryStore::CancelUpload(std::string_view uuid) {
  ANNEX_RETURN_IF_ERROR(GetUpload(uuid).status());
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(txn.Delete(t_->uploads, uuid));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  return blobs_.DropUpload(uuid);
}

Result<std::string> RegistryStore::PutBlob(std::string_view account, std::string_view repo,
                                           std::string_view content) {
  ANNEX_RETURN_IF_ERROR(GetRepository(account, repo).status());
  std::lock_guard lock(blob_files_mu_);
  ANNEX_ASSIGN_OR_RETURN(std::string digest, blobs_.PutWhole(content));
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(bool new_blob, t_->Link(txn, account, repo, digest, content.size(), clock_));
  ANNEX_RETURN_IF_ERROR(txn.Commit());
  t_->Counted(new_blob, content.size());
  return digest;
}

Result<uint64_t> RegistryStore::RepositoryBlob(std::string_view account, std::string_view repo,
                                               std::string_view digest) const {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto v, txn.Get(t_->repo_blobs, JoinKey({account, repo, digest})));
  if (!v) {
    ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
    return Status(StatusCode::kNotFound, "blob " + std::string(digest) + " is unknown to the repository",
                  "BLOB_UNKNOWN");
  }
  ANNEX_ASSIGN_OR_RETURN(RepoBlobRecord b, DecodeRepoBlob(*v));
  return b.size;
}

Status RegistryStore::MountBlob(std::string_view account, std::string_view repo, std::string_view digest,
                                std::string_view from_repo) {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_RETURN_IF_ERROR(t_->Repository(txn, account, repo).status());
  ANNEX_ASSIGN_OR_RETURN(auto source, txn.Get(t_->repo_blobs, JoinKey({account, from_repo, digest})));
  if (!source) {
    return Status(StatusCode::kNotFound, "blob " + std::string(digest) + " is not in " + std::string(from_repo),
                  "BLOB_UNKNOWN");
  }
  ANNEX_ASSIGN_OR_RETURN(RepoBlobRecord b, DecodeRepoBlob(*source));
  ANNEX_RETURN_IF_ERROR(t_->Link(txn, account, repo, digest, b.size, clock_).status());
  return txn.Commit();
}

}  // namespace annex::registry
