#pragma once
// DocumentStore: a control-plane service's durable state — ECS's clusters
// and tasks, RDS's instances and snapshots — as JSON documents in an LMDB
// environment of the service's own.
//
// Such resources are nested documents that grow a member with nearly every
// feature, and they are read and written at control-plane rates (a RunTask,
// a state change), never per byte of data, so a service keeps them in the
// shape it answers with instead of a fixed record layout. Every write is one
// fsync'd transaction: a change is acknowledged only once durable.
//
// A service names its kinds when it opens the store: each kind is a table
// and a name in the resource feed. Kinds are indexes into that list, so a
// service declares them as an unscoped enum in the same order:
//
//   enum RdsKind : size_t { kInstance, kSnapshot };
//   DocumentStore::Open(dir, {{"instances", "db-instance"}, {"snapshots", "db-snapshot"}});
//
// Keys are the service's; build them with DocumentKey so that a prefix
// ("<account>/") selects exactly one account's documents (names must then
// never hold a '/').
//
// Every write also records its change in the store's resource feed
// (resource_feed.h), in the same commit: the control plane's inventory.
//
// Thread-safe (LMDB serializes writers).

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/result.h"
#include "appliance/service/resource_feed.h"
#include "appliance/store/lmdb_env.h"

namespace annex::service {

using Json = nlohmann::json;

struct DocumentKind {
  std::string table;      // the LMDB table: "task_definitions"
  std::string feed_kind;  // the resource feed's kind: "task-definition"
};

// Joins key parts with '/': DocumentKey({account, cluster, id}).
std::string DocumentKey(std::initializer_list<std::string_view> parts);
// A 10-digit, zero-padded revision, so revisions sort as numbers.
std::string RevisionKey(int64_t revision);

class DocumentStore {
 public:
  using Kind = size_t;  // an index into the kinds given to Open

  static Result<std::unique_ptr<DocumentStore>> Open(const std::string& dir, std::vector<DocumentKind> kinds);

  const std::vector<DocumentKind>& kinds() const { return kinds_; }

  Result<std::optional<Json>> Get(Kind kind, std::string_view key) const;
  // Documents whose key starts with `prefix`, in key order, after key `after`
  // (exclusive; empty: from the start), at most `limit`.
  Result<std::vector<std::pair<std::string, Json>>> Scan(Kind kind, std::string_view prefix,
                                                         std::string_view after = {}, size_t limit = SIZE_MAX) const;
  // The last document under `prefix` (the latest revision of a family), if any.
  Result<std::optional<std::pair<std::string, Json>>> Last(Kind kind, std::string_view prefix) const;

  Status Put(Kind kind, std::string_view key, const Json& doc);
  // Several documents in one transaction (a RunTask's tasks).
  Status PutAll(Kind kind, const std::vector<std::pair<std::string, Json>>& docs);
  Status Delete(Kind kind, std::string_view key);  // absent is OK

  // Reads, changes and writes one document in one transaction. `change` gets
  // the current document (nullopt when absent) and may set it to nullopt to
  // delete it; an error from it writes nothing. Returns the document written.
  Result<std::optional<Json>> Update(Kind kind, std::string_view key,
                                     const std::function<Status(std::optional<Json>&)>& change);

  // Allocates the next revision under `family_prefix` ("<account>/<family>/")
  // and writes `make(revision)` there (key: prefix + RevisionKey), in one
  // transaction.
  Result<Json> AppendRevision(Kind kind, std::string_view family_prefix,
                              const std::function<Result<Json>(int64_t)>& make);

  store::LmdbEnv& env() { return *env_; }
  ResourceFeed& feed() { return *feed_; }
  // The document a feed entry names, read in `txn`; nullopt when gone.
  Result<std::optional<Json>> Get(const store::ReadTxn& txn, Kind kind, std::string_view key) const;

 private:
  DocumentStore(std::unique_ptr<store::LmdbEnv> env, std::vector<DocumentKind> kinds, std::vector<store::Table> tables,
                std::unique_ptr<ResourceFeed> feed)
      : env_(std::move(env)), kinds_(std::move(kinds)), tables_(std::move(tables)), feed_(std::move(feed)) {}
  // Writes (or deletes, for null) `doc` and records the change in the feed.
  Status Write(store::WriteTxn& txn, Kind kind, std::string_view key, const Json* doc);
  store::Table table(Kind kind) const { return tables_[kind]; }

  std::unique_ptr<store::LmdbEnv> env_;
  std::vector<DocumentKind> kinds_;
  std::vector<store::Table> tables_;
  std::unique_ptr<ResourceFeed> feed_;
};

}  // namespace annex::service
