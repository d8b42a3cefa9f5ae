#include "services/objectstore/object_subresource.h"

#include "appliance/core/co_status.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

// Loads the version into `object` (with its inline data when `with_data`,
// so it can be stored back whole); `is_current` says where it is kept.
Status LoadLiveVersion(const store::ReadTxn& txn, const Tables& t, const S3Call& call,
                       const std::optional<std::string>& version_id, bool with_data, ObjectRecord& object,
                       bool& is_current) {
  bool found = false;
  if (version_id) {
    ANNEX_ASSIGN_OR_RETURN(found, LoadVersion(txn, t, call.bucket(), call.key(), *version_id, object, with_data,
                                              &is_current));
  } else {
    ANNEX_ASSIGN_OR_RETURN(found, LoadCurrentVersion(txn, t, call.bucket(), call.key(), object, with_data));
    is_current = true;
  }
  if (!found) return version_id ? NoSuchVersion() : NoSuchKey();
  if (object.delete_marker) {
    if (!version_id) return NoSuchKey();
    return http::ApiStatus("MethodNotAllowed", "The specified method is not allowed against this resource.");
  }
  return Status::OK();
}

}  // namespace

Result<std::optional<std::string>> RequestedVersionId(const S3Call& call) {
  const std::string* v = call.query().Get("versionId");
  if (!v) return std::optional<std::string>();
  ANNEX_ASSIGN_OR_RETURN(std::string id, ParseVersionId(*v));
  return std::optional<std::string>(std::move(id));
}

Result<ObjectRecord> LoadOwnedObject(S3Call& call, BucketRecord* bucket, Access access) {
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  const Tables& t = call.store.meta().tables();
  ANNEX_ASSIGN_OR_RETURN(BucketRecord owned, LoadBucket(txn, t, call.bucket()));
  // An owner's operation is refused before the key is looked up, so no one
  // else learns which keys exist.
  if (access == Access::kOwner) ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, owned, access));
  ObjectRecord object;
  bool is_current = false;
  Status loaded = LoadLiveVersion(txn, t, call, version_id, /*with_data=*/false, object, is_current);
  if (access != Access::kOwner) {
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, owned, access, loaded.ok() ? &object : nullptr));
  }
  ANNEX_RETURN_IF_ERROR(loaded);
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
    bool is_current = false;
    ANNEX_RETURN_IF_ERROR(LoadLiveVersion(txn, t, call, version_id, /*with_data=*/true, object, is_current));
    ANNEX_RETURN_IF_ERROR(change(object));
    return RewriteVersion(txn, t, call.bucket(), object, is_current);
  });
}

}  // namespace annex::objectstore
