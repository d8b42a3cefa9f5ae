#pragma once
// The containers service's durable state — clusters, task definitions, tasks
// and services — in a DocumentStore (appliance/service/document_store.h) of
// its own (<data>/containers/db).
//
// Keys sort as their resources list: "<account>/<cluster>" for clusters,
// "<account>/<family>/<revision, 10 digits>" for task definitions,
// "<account>/<cluster>/<id>" for tasks and services. ECS names never hold a
// '/', so a prefix selects exactly one account's (or cluster's) documents.
// The resource feed's kinds are "cluster", "task-definition", "task" and
// "service", with the store's keys as ids.

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/service/document_store.h"

namespace annex::containers {

using Json = nlohmann::json;
using EcsStore = service::DocumentStore;
using service::RevisionKey;

// The store's kinds, in the order OpenEcsStore declares their tables.
enum EcsKind : size_t { kCluster, kTaskDefinition, kTask, kService };

Result<std::unique_ptr<EcsStore>> OpenEcsStore(const std::string& dir);

// The feed's name of a kind ("task-definition").
std::string_view KindName(EcsKind kind);

// Joins key parts with '/': EcsKey({account, cluster, id}).
inline std::string EcsKey(std::initializer_list<std::string_view> parts) { return service::DocumentKey(parts); }

}  // namespace annex::containers
