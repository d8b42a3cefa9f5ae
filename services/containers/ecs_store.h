#pragma once
// EcsStore: the containers service's durable state — clusters, task
// definitions, tasks and services — as JSON documents in an LMDB
// environment of its own (<data>/containers/db).
//
// ECS's resources are nested documents that grow a member with nearly every
// feature, and they are read and written at control-plane rates (a RunTask,
// a state change), never per byte of data, so the service keeps them in the
// shape it answers with instead of a fixed record layout. Every write is one
// fsync'd transaction: a change is acknowledged only once durable.
//
// Keys sort as their resources list: "<account>/<cluster>" for clusters,
// "<account>/<family>/<revision, 10 digits>" for task definitions,
// "<account>/<cluster>/<id>" for tasks and services. ECS names never hold a
// '/', so a prefix selects exactly one account's (or cluster's) documents.
//
// Every write also records its change in the store's resource feed
// (resource_feed.h, kinds "cluster", "task-definition", "task", "service",
// ids the store keys), in the same commit: the control plane's inventory.
//
// Thread-safe (LMDB serializes writers).

#include <cstdint>
#include <functional>
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

namespace annex::containers {

using Json = nlohmann::json;

enum class EcsKind { kCluster, kTaskDefinition, kTask, kService };

// The feed's name of a kind ("task-definition").
std::string_view KindName(EcsKind kind);

// Joins key parts with '/': Key({account, cluster, id}).
std::string EcsKey(std::initializer_list<std::string_view> parts);
// The 10-digit revision part of a task definition's key.
std::string RevisionKey(int64_t revision);

class EcsStore {
 public:
  static Result<std::unique_ptr<EcsStore>> Open(const std::string& dir);

  Result<std::optional<Json>> Get(EcsKind kind, std::string_view key) const;
  // Documents whose key starts with `prefix`, in key order, after key `after`
  // (exclusive; empty: from the start), at most `limit`.
  Result<std::vector<std::pair<std::string, Json>>> Scan(EcsKind kind, std::string_view prefix,
                                                         std::string_view after = {}, size_t limit = SIZE_MAX) const;
  // The last document under `prefix` (the latest revision of a family), if any.
  Result<std::optional<std::pair<std::string, Json>>> Last(EcsKind kind, std::string_view prefix) const;

  Status Put(EcsKind kind, std::string_view key, const Json& doc);
  // Several documents in one transaction (a RunTask's tasks).
  Status PutAll(EcsKind kind, const std::vector<std::pair<std::string, Json>>& docs);
  Status Delete(EcsKind kind, std::string_view key);  // absent is OK

  // Reads, changes and writes one document in one transaction. `change` gets
  // the current document (nullopt when absent) and may set it to nullopt to
  // delete it; an error from it writes nothing. Returns the document written.
  Result<std::optional<Json>> Update(EcsKind kind, std::string_view key,
                                     const std::function<Status(std::optional<Json>&)>& change);

  // Allocates the next revision of `family_prefix` ("<account>/<family>/")
  // and writes `make(revision)` under it, in one transaction.
  Result<Json> AppendRevision(std::string_view family_prefix, const std::function<Result<Json>(int64_t)>& make);

  store::LmdbEnv& env() { return *env_; }
  service::ResourceFeed& feed() { return *feed_; }
  // The document a feed entry names, read in `txn`; nullopt when gone.
  Result<std::optional<Json>> Get(const store::ReadTxn& txn, EcsKind kind, std::string_view key) const;

 private:
  EcsStore(std::unique_ptr<store::LmdbEnv> env, std::vector<store::Table> tables,
           std::unique_ptr<service::ResourceFeed> feed)
      : env_(std::move(env)), tables_(std::move(tables)), feed_(std::move(feed)) {}
  // Writes (or deletes, for null) `doc` and records the change in the feed.
  Status Write(store::WriteTxn& txn, EcsKind kind, std::string_view key, const Json* doc);
  store::Table table(EcsKind kind) const { return tables_[static_cast<size_t>(kind)]; }

  std::unique_ptr<store::LmdbEnv> env_;
  std::vector<store::Table> tables_;
  std::unique_ptr<service::ResourceFeed> feed_;
};

}  // namespace annex::containers
