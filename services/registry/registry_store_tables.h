#pragma once
// The registry store's tables and the helpers its operations share inside
// a transaction (private to registry_store*.cc).

#include <atomic>
#include <map>
#include <mutex>

#include "appliance/os/clock.h"
#include "services/registry/registry_store.h"

namespace annex::registry {

struct RegistryStore::Tables {
  store::Table repositories, manifests, tags, repo_blobs, blobs, unreferenced, uploads;
  std::atomic<uint64_t> blob_count{0};
  std::atomic<uint64_t> stored_bytes{0};
  // Pull times not yet written (manifest key → Unix ms): a pull costs no
  // write; FlushPulls writes them in one transaction.
  std::mutex pulls_mu;
  std::map<std::string, int64_t, std::less<>> pending_pulls;

  // Gives `m` its latest pull time, written or not.
  void OverlayPull(std::string_view manifest_key, ManifestRecord& m) {
    std::lock_guard lock(pulls_mu);
    auto it = pending_pulls.find(manifest_key);
    if (it != pending_pulls.end() && it->second > m.last_pulled_ms) m.last_pulled_ms = it->second;
  }

  Result<RepositoryRecord> Repository(const store::ReadTxn& txn, std::string_view account,
                                      std::string_view name) const;
  // The key suffixes after `prefix`, in order.
  Status KeysWithPrefix(const store::ReadTxn& txn, store::Table table, std::string_view prefix,
                        std::vector<std::string>* out) const;
  Status CheckReferences(const store::ReadTxn& txn, const std::string& prefix, const Manifest& parsed) const;
  Status DeleteManifestLocked(store::WriteTxn& txn, service::ResourceFeed& feed, std::string_view account,
                              std::string_view repo, std::string_view digest) const;
  // Gives the repository the blob (refreshing the link's time when it has
  // it already). True when the blob itself is new to the store.
  Result<bool> Link(store::WriteTxn& txn, std::string_view account, std::string_view repo, std::string_view digest,
                    uint64_t size, const os::Clock& clock) const;
  // Drops the link `key` to `digest`; a blob left without links becomes
  // the collector's.
  Status Unlink(store::WriteTxn& txn, const std::string& key, std::string_view digest) const;
  // The repository's links (`prefix`: account\0repo\0) no manifest of it
  // references, linked longer than `grace_ms` ago.
  Result<std::vector<std::string>> StaleLinks(const store::ReadTxn& txn, const std::string& prefix, int64_t now_ms,
                                              int64_t grace_ms) const;
  // Up to `max` blobs without links, with their sizes.
  Result<std::vector<std::pair<std::string, uint64_t>>> DeadBlobs(const store::ReadTxn& txn, size_t max) const;
  // After a commit: counts a blob the store did not have.
  void Counted(bool new_blob, uint64_t size) {
    if (!new_blob) return;
    blob_count += 1;
    stored_bytes += size;
  }
};

}  // namespace annex::registry
