#include "services/objectstore/object_subresource.h"

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

Status MethodNotAllowed() {
  return http::ApiStatus("MethodNotAllowed", "The specified method is not allowed against this resource.");
}

// Loads the version into `object` (with its inline data when `with_data`,
// so it can be stored back whole); returns whether it is the current one.
Result<bool> LoadLiveVersion(const store::ReadTxn& txn, const Tables& t, const S3Call& call,
                             const std::optional<std::string>& version_id, bool with_data,
                             const VersionAuthorizer& authorize, ObjectRecord& object) {
  ANNEX_ASSIGN_OR_RETURN(bool is_current, LoadRequestedVersion(txn, t, call.bucket(), call.key(), version_id, with_data,
                                                               authorize, object));
  if (object.delete_marker) return DeleteMarkerError(version_id, MethodNotAllowed());
  return is_current;
}

}  // namespace

Result<std::optional<std::string>> RequestedVersionId(const S3Call& call) {
  const std::string* v = call.query().Get("versionId");
  if (!v) return std::optional<std::string>();
  ANNEX_ASSIGN_OR_RETURN(std::string id, ParseVersionId(*v));
  return std::optional<std::string>(std::move(id));
}

Result<bool> LoadRequestedVersion(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                  std::string_view key, const std::optional<std::string>& version_id, bool with_data,
                                  const VersionAuthorizer& authorize, ObjectRecord& object) {
  bool found = false;
  bool is_current = !version_id;
  if (version_id) {
    ANNEX_ASSIGN_OR_RETURN(found, LoadVersion(txn, t, bucket, key, *version_id, object, with_data, &is_current));
  } else {
    ANNEX_ASSIGN_OR_RETURN(found, LoadCurrentVersion(txn, t, bucket, key, object, with_data));
  }
  if (authorize) ANNEX_RETURN_IF_ERROR(authorize(found && !object.delete_marker ? &object : nullptr));
  if (!found) return version_id ? NoSuchVersion() : NoSuchKey();
  return is_current;
}

Status DeleteMarkerError(const std::optional<std::string>& version_id, Status named_by_id) {
  return version_id ? std::move(named_by_id) : NoSuchKey();
}

Result<ObjectRecord> LoadOwnedObject(S3Call& call, BucketRecord* bucket, Access access) {
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  const Tables& t = call.store.meta().tables();
  ANNEX_ASSIGN_OR_RETURN(BucketRecord owned, LoadBucket(txn, t, call.bucket()));
  // An owner's operation is refused before the key is looked up, so no one
  // else learns which keys exist.
  VersionAuthorizer authorize;
  if (access == Access::kOwner) {
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, owned, access));
  } else {
    authorize = [&](const ObjectRecord* live) { return AuthorizeS3(call, owned, access, live); };
  }
  ObjectRecord object;
  ANNEX_RETURN_IF_ERROR(LoadLiveVersion(txn, t, call, version_id, /*with_data=*/false, authorize, object).status());
  if (bucket) *bucket = std::move(owned);
  return object;
}

http::Task<Status> UpdateObjectVersion(S3Call& call, const std::optional<std::string>& version_id,
                                       const VersionChange& change) {
  const Tables& t = call.store.meta().tables();
  co_return co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto bucket, GetBucket(txn, t, call.bucket()));
    if (!bucket) return NoSuchBucket();
    ObjectRecord object;
    ANNEX_ASSIGN_OR_RETURN(bool is_current,
                           LoadLiveVersion(txn, t, call, version_id, /*with_data=*/true, nullptr, object));
    ANNEX_RETURN_IF_ERROR(change(object));
    return RewriteVersion(txn, t, call.bucket(), object, is_current);
  });
}

}  // namespace annex::objectstore
