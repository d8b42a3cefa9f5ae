#pragma once
// Which version of a key a request names and reading it, for every
// operation on an object (GET, HEAD, copy sources, attributes, ...), and
// the object sub-resources kept in a version's record (?acl, ?tagging):
// reading them and changing them in place. A delete marker has no
// sub-resources: NoSuchKey when it is the current version,
// MethodNotAllowed when named by id.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/http/exchange.h"
#include "services/objectstore/s3_call.h"

namespace annex::objectstore {

// The ?versionId= of the call ("" for null), or nullopt for the current version.
Result<std::optional<std::string>> RequestedVersionId(const S3Call& call);

// Decides whether the caller may have the version a request names; given
// the version when it is live (not a delete marker), null otherwise.
using VersionAuthorizer = std::function<Status(const ObjectRecord* live)>;

// Reads the version of `key` named by `version_id` ("" for null; the
// current one when nullopt) into `object`, delete markers included, with
// its inline data when `with_data`. `authorize` (when set) is asked first,
// so a caller refused learns nothing of the key; then a missing version is
// NoSuchVersion when named by id, else NoSuchKey. Returns whether the
// version is the key's current one.
Result<bool> LoadRequestedVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                  std::string_view key, const std::optional<std::string>& version_id, bool with_data,
                                  const VersionAuthorizer& authorize, ObjectRecord& object);

// The error for a delete marker LoadRequestedVersion found where the
// operation needs an object: NoSuchKey when the marker is the current
// version (the key reads as deleted), else `named_by_id`.
Status DeleteMarkerError(const std::optional<std::string>& version_id, Status named_by_id);

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
