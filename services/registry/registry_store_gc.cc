// RegistryStore: blob links, reference counts and the garbage collector.
#include <set>

#include "appliance/core/log.h"
#include "services/registry/digest.h"
#include "services/registry/registry_records.h"
#include "services/registry/registry_store.h"
#include "services/registry/registry_store_tables.h"

namespace annex::registry {

Result<bool> RegistryStore::Tables::Link(store::WriteTxn& txn, std::string_view account, std::string_view repo,
                                         std::string_view digest, uint64_t size, const os::Clock& clock) const {
  std::string key = JoinKey({account, repo, digest});
  ANNEX_ASSIGN_OR_RETURN(auto existing, txn.Get(repo_blobs, key));
  RepoBlobRecord link{size, os::ToUnixMillis(clock.Now())};
  ANNEX_RETURN_IF_ERROR(txn.Put(repo_blobs, key, EncodeRepoBlob(link)));
  if (existing) return false;  // a fresh time keeps it through the next grace period
  ANNEX_ASSIGN_OR_RETURN(auto row, txn.Get(blobs, digest));
  BlobRecord blob{size, 0};
  bool new_blob = !row;
  if (row) {
    ANNEX_ASSIGN_OR_RETURN(blob, DecodeBlob(*row));
  }
  if (blob.refs == 0 && row) {
    Status s = txn.Delete(unreferenced, digest);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  blob.refs += 1;
  ANNEX_RETURN_IF_ERROR(txn.Put(blobs, digest, EncodeBlob(blob)));
  return new_blob;
}

Status RegistryStore::Tables::Unlink(store::WriteTxn& txn, const std::string& key, std::string_view digest) const {
  ANNEX_RETURN_IF_ERROR(txn.Delete(repo_blobs, key));
  ANNEX_ASSIGN_OR_RETURN(auto row, txn.Get(blobs, digest));
  if (!row) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(BlobRecord blob, DecodeBlob(*row));
  if (blob.refs > 0) blob.refs -= 1;
  ANNEX_RETURN_IF_ERROR(txn.Put(blobs, digest, EncodeBlob(blob)));
  if (blob.refs == 0) ANNEX_RETURN_IF_ERROR(txn.Put(unreferenced, digest, ""));
  return Status::OK();
}

void RegistryStore::NotePull(std::string_view account, std::string_view repo, std::string_view digest) {
  int64_t now = os::ToUnixMillis(clock_.Now());
  std::lock_guard lock(t_->pulls_mu);
  t_->pending_pulls[JoinKey({account, repo, digest})] = now;
}

Status RegistryStore::FlushPulls() {
  std::map<std::string, int64_t, std::less<>> pulls;
  {
    std::lock_guard lock(t_->pulls_mu);
    pulls.swap(t_->pending_pulls);
  }
  if (pulls.empty()) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  for (const auto& [key, when] : pulls) {
    ANNEX_ASSIGN_OR_RETURN(auto v, txn.Get(t_->manifests, key));
    if (!v) continue;  // deleted since
    ANNEX_ASSIGN_OR_RETURN(ManifestRecord m, DecodeManifest(key.substr(key.rfind('\0') + 1), *v));
    if (m.last_pulled_ms >= when) continue;
    m.last_pulled_ms = when;
    ANNEX_RETURN_IF_ERROR(txn.Put(t_->manifests, key, EncodeManifest(m)));
  }
  return txn.Commit();
}

// Cursors of a write transaction are closed by its commit: these scans
// keep theirs in their own scope, closed before the caller commits.
Result<std::vector<std::string>> RegistryStore::Tables::StaleLinks(const store::ReadTxn& txn,
                                                                   const std::string& prefix, int64_t now_ms,
                                                                   int64_t grace_ms) const {
  std::set<std::string, std::less<>> referenced;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor mc, txn.OpenCursor(manifests));
  for (Status s = mc.Seek(prefix); s.ok() && mc.Valid() && mc.key().starts_with(prefix); s = mc.Next()) {
    ANNEX_ASSIGN_OR_RETURN(ManifestRecord m, DecodeManifest(mc.key().substr(prefix.size()), mc.value()));
    referenced.insert(m.blobs.begin(), m.blobs.end());
  }
  std::vector<std::string> stale;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor lc, txn.OpenCursor(repo_blobs));
  for (Status s = lc.Seek(prefix); s.ok() && lc.Valid() && lc.key().starts_with(prefix); s = lc.Next()) {
    std::string_view digest = lc.key().substr(prefix.size());
    if (referenced.count(digest)) continue;
    ANNEX_ASSIGN_OR_RETURN(RepoBlobRecord link, DecodeRepoBlob(lc.value()));
    if (now_ms - link.linked_ms >= grace_ms) stale.emplace_back(digest);
  }
  return stale;
}

Result<std::vector<std::pair<std::string, uint64_t>>> RegistryStore::Tables::DeadBlobs(const store::ReadTxn& txn,
                                                                                       size_t max) const {
  std::vector<std::pair<std::string, uint64_t>> dead;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(unreferenced));
  for (Status s = c.SeekFirst(); s.ok() && c.Valid() && dead.size() < max; s = c.Next()) {
    std::string digest(c.key());
    ANNEX_ASSIGN_OR_RETURN(auto row, txn.Get(blobs, digest));
    uint64_t size = 0;
    if (row) {
      ANNEX_ASSIGN_OR_RETURN(BlobRecord b, DecodeBlob(*row));
      if (b.refs > 0) continue;
      size = b.size;
    }
    dead.emplace_back(std::move(digest), size);
  }
  return dead;
}

Result<RegistryStore::GcStats> RegistryStore::CollectGarbage(size_t max_items) {
  GcStats stats;
  ANNEX_RETURN_IF_ERROR(FlushPulls());
  int64_t now = os::ToUnixMillis(clock_.Now());
  // 1. Links no manifest of their repository references, once past the
  //    grace period a push needs between its blobs and its manifest. One
  //    write transaction per repository: a manifest committed meanwhile is
  //    either seen here or committed after, and then finds its links gone
  //    only if they were older than the grace period.
  std::vector<std::string> repo_keys;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->repositories, "", &repo_keys));
  }
  for (const std::string& repo_key : repo_keys) {
    if (stats.links_removed >= max_items) break;
    std::string prefix = repo_key + std::string(1, '\0');
    ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
    ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> stale, t_->StaleLinks(txn, prefix, now, options_.unreferenced_blob_grace_ms));
    if (stale.empty()) continue;
    for (const std::string& digest : stale) ANNEX_RETURN_IF_ERROR(t_->Unlink(txn, prefix + digest, digest));
    ANNEX_RETURN_IF_ERROR(txn.Commit());
    stats.links_removed += stale.size();
  }
  // 2. Blobs nothing links: their rows go in one commit, their files after
  //    it, under the lock a push takes to publish a blob.
  {
    std::lock_guard lock(blob_files_mu_);
    ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
    ANNEX_ASSIGN_OR_RETURN(auto dead, t_->DeadBlobs(txn, max_items));
    for (const auto& [digest, size] : dead) {
      ANNEX_RETURN_IF_ERROR(txn.Delete(t_->unreferenced, digest));
      Status s = txn.Delete(t_->blobs, digest);
      if (!s.ok() && !s.IsNotFound()) return s;
    }
    if (!dead.empty()) ANNEX_RETURN_IF_ERROR(txn.Commit());
    for (const auto& [digest, size] : dead) {
      Status removed = blobs_.Remove(digest);
      if (!removed.ok()) log::Warn("registry: blob file not removed", {{"digest", digest}, {"error", removed.ToString()}});
      stats.blobs_removed += 1;
      stats.bytes_freed += size;
      t_->blob_count -= 1;
      t_->stored_bytes -= size;
    }
  }
  // 3. Uploads abandoned past their expiry.
  std::vector<std::string> expired;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t_->uploads));
    for (Status s = c.SeekFirst(); s.ok() && c.Valid() && expired.size() < max_items; s = c.Next()) {
      ANNEX_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(c.key(), c.value()));
      if (now - u.started_ms >= options_.upload_expiry_ms) expired.push_back(u.uuid);
    }
  }
  for (const std::string& uuid : expired) {
    if (CancelUpload(uuid).ok()) stats.uploads_expired += 1;
  }
  return stats;
}

Result<RegistryStore::GcStats> RegistryStore::CleanOrphans() {
  GcStats stats;
  std::set<std::string, std::less<>> recorded_uploads;
  std::set<std::string, std::less<>> known_blobs;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    std::vector<std::string> keys;
    ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->uploads, "", &keys));
    recorded_uploads.insert(keys.begin(), keys.end());
    keys.clear();
    ANNEX_RETURN_IF_ERROR(t_->KeysWithPrefix(txn, t_->blobs, "", &keys));
    known_blobs.insert(keys.begin(), keys.end());
  }
  // Upload files without a record: a crash between creating one and recording it.
  ANNEX_ASSIGN_OR_RETURN(std::vector<std::string> files, blobs_.ListUploads());
  std::set<std::string, std::less<>> on_disk(files.begin(), files.end());
  for (const std::string& f : files) {
    if (recorded_uploads.count(f)) continue;
    blobs_.DropUpload(f).IgnoreError();
    stats.uploads_expired += 1;
  }
  // Records without a file: nothing left to resume.
  for (const std::string& uuid : recorded_uploads) {
    if (on_disk.count(uuid)) continue;
    ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
    ANNEX_RETURN_IF_ERROR(txn.Delete(t_->uploads, uuid));
    ANNEX_RETURN_IF_ERROR(txn.Commit());
    stats.uploads_expired += 1;
  }
  // Blob files no row knows: published by a push that crashed before its commit.
  std::vector<std::string> orphans;
  ANNEX_RETURN_IF_ERROR(blobs_.ForEachBlob([&](const std::string& digest) {
    if (!known_blobs.count(digest)) orphans.push_back(digest);
  }));
  for (const std::string& digest : orphans) {
    if (blobs_.Remove(digest).ok()) stats.blobs_removed += 1;
  }
  return stats;
}

}  // namespace annex::registry
