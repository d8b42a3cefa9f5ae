#pragma once
// ResourceFeed: a service's resources as a change feed, kept in the LMDB
// environment of the writes that change them. A service calls Changed()
// inside the write transaction that creates, alters or deletes a resource;
// the feed moves that resource to its head with a new version, in the same
// commit. A reader (the sync agent) asks for what changed after its cursor
// and gets each changed resource once, oldest change first — however often
// it changed meanwhile — so the cost of a report follows the changes, not
// the number of resources.
//
// Tables in the environment:
//   resource_feed        seq (8 bytes BE) → kind \0 id      one row per resource: its last change
//   resource_versions    kind \0 id → seq, version, deleted
//   resource_feed_meta   "last_seq" → the last seq handed out
// A deleted resource keeps its version row (a tombstone), so a reader that
// was away still learns of the deletion, and a resource created again under
// the same id continues its versions instead of starting over.
//
// Thread-safe (LMDB transactions); Changed runs in the caller's transaction.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/store/lmdb_env.h"

namespace annex::service {

struct FeedEntry {
  uint64_t seq = 0;      // position in the feed
  std::string kind;      // "bucket"
  std::string id;
  uint64_t version = 0;  // 1, 2, … per resource, never reused
  bool deleted = false;
};

class ResourceFeed {
 public:
  // Opens (creating) the feed's tables in `env`; call at startup, before use.
  static Result<std::unique_ptr<ResourceFeed>> Open(store::LmdbEnv& env);

  // Records, inside `txn`, that the resource changed (or was deleted).
  Status Changed(store::WriteTxn& txn, std::string_view kind, std::string_view id, bool deleted = false);

  struct Page {
    std::vector<FeedEntry> entries;
    uint64_t cursor = 0;  // where the next read goes on
    bool more = false;    // entries remain past `cursor`
  };
  // Up to `max` entries with seq > `cursor`, in seq order, read in `txn` so
  // the caller can look up each resource's state in the same snapshot.
  // From cursor 0 (a reader starting afresh), tombstones are left out.
  Result<Page> Since(const store::ReadTxn& txn, uint64_t cursor, size_t max) const;

  // The last seq handed out: a reader at it has seen everything.
  Result<uint64_t> Head(const store::ReadTxn& txn) const;
  // True until the first change: a service upgraded from a release without
  // the feed seeds it with the resources it already holds.
  Result<bool> Empty(const store::ReadTxn& txn) const;

 private:
  ResourceFeed(store::Table feed, store::Table versions, store::Table meta)
      : feed_(feed), versions_(versions), meta_(meta) {}
  store::Table feed_, versions_, meta_;
};

}  // namespace annex::service
