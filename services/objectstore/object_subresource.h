#pragma once
// The object sub-resources kept in a version's record (?acl, ?tagging):
// which version a request names, reading it, and changing it in place.
// A delete marker has none: NoSuchKey when it is the current version,
// MethodNotAllowed when named by id.

#include <functional>
#include <optional>
#include <string>

#include "appliance/http/exchange.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

// The ?versionId= of the call ("" for null), or nullopt for the current version.
Result<std::optional<std::string>> RequestedVersionId(const S3Call& call);

// The version the call names, for a caller who may do the call's operation
// on the bucket (the owner's operations: Access::kOwner) or, for the ACL
// operations (kReadAcp, kWriteAcp), whom the version's ACL grants it; also
// the bucket's record into `bucket` when given.
Result<ObjectRecord> LoadOwnedObject(S3Call& call, BucketRecord* bucket = nullptr, Access access = Access::kOwner);

// Applies `change` to the version named by `version_id` (the current one
// when nullopt) and stores it, in one transaction. Callers pass a named
// function: GCC 12 mishandles temporaries bound inside co_await expressions.
using VersionChange = std::function<Status(ObjectRecord&)>;
http::Task<Status> UpdateObjectVersion(S3Call& call, const std::optional<std::string>& version_id,
                                       const VersionChange& change);

}  // namespace annex::objectstore
