#pragma once
// The registry store's tables and the helpers its operations share inside
// a transaction (private to registry_store*.cc).

#include <atomic>

#include "appliance/os/clock.h"
#include "services/registry/registry_store.h"

namespace annex::registry {

struct RegistryStore::Tables {
  store::Table repositories, manifests, tags, repo_blobs, blobs, unreferenced, uploads;
  std::atomic<uint64_t> blob_count{0};
  std::atomic<uint64_t> stored_bytes{0};

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
  // After a commit: counts a blob the store did not have.
  void Counted(bool new_blob, uint64_t size) {
    if (!new_blob) return;
    blob_count += 1;
    stored_bytes += size;
  }
};

}  // namespace annex::registry
