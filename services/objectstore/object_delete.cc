// DeleteObject and DeleteObjects (multi-object delete, quiet mode), with
// versions: delete markers, and versions removed by id.

#include <optional>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/s3_errors.h"
#include "services/objectstore/s3_xml.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxDeleteKeys = 1000;
constexpr size_t kMaxDeleteBody = 4 << 20;

// What one deletion did, as S3 reports it.
struct DeleteOutcome {
  bool delete_marker = false;  // a marker was created, or the version removed was one
  std::string version_id;      // the marker created or the version removed ("" for null)
  bool has_version_id = false;
};

// Deletes one key inside `txn`, as the bucket's versioning says: without a
// version id, the current version goes (never versioned) or a delete marker
// becomes current; with one, that version goes for good unless Object Lock
// protects it (`bypass_governance`: the caller may bypass GOVERNANCE
// retention). Collects the data files no version uses any more.
Result<DeleteOutcome> DeleteOne(store::WriteTxn& txn, const Tables& t, StatsDelta& delta,
                                const BucketRecord& bucket, std::string_view bucket_name, std::string_view key,
                                const std::optional<std::string>& version_id, int64_t now_ms,
                                bool bypass_governance, std::vector<std::string>& files) {
  DeleteOutcome out;
  if (version_id) {
    ObjectRecord version;
    ANNEX_ASSIGN_OR_RETURN(bool found, LoadVersion(txn, t, bucket_name, key, *version_id, version, false));
    if (found) ANNEX_RETURN_IF_ERROR(CheckVersionDeletable(version.lock, now_ms, bypass_governance));
    ANNEX_ASSIGN_OR_RETURN(RemovedVersion removed, RemoveVersion(txn, t, delta, bucket_name, key, *version_id, files));
    out.delete_marker = removed.delete_marker;
    out.version_id = *version_id;
    out.has_version_id = true;
    return out;  // S3 reports success for absent versions too
  }
  ObjectRecord current;
  ANNEX_ASSIGN_OR_RETURN(bool has_current, LoadCurrentVersion(txn, t, bucket_name, key, current, false));
  if (bucket.versioning == Versioning::kOff) {
    if (has_current) ANNEX_RETURN_IF_ERROR(RemoveCurrentVersion(txn, t, delta, bucket_name, current, files));
    return out;  // S3 reports success for absent keys
  }
  ObjectRecord marker;
  marker.key = std::string(key);
  marker.delete_marker = true;
  marker.modified_ms = now_ms;
  marker.owner_id = bucket.owner_id;
  marker.owner_name = bucket.owner_name;
  ANNEX_RETURN_IF_ERROR(PutCurrentVersion(txn, t, delta, bucket_name, bucket.versioning, marker,
                                          has_current ? &current : nullptr,
                                          static_cast<uint64_t>(now_ms) * 1000000, files));
  out.delete_marker = true;
  out.version_id = marker.version_id;
  out.has_version_id = true;
  return out;
}

// Object Lock's refusal of one deletion (CheckVersionDeletable).
bool IsLockRefusal(const Status& s) { return http::ApiErrorFromStatus(s, kS3Errors).code == "AccessDenied"; }

void AddDeleteHeaders(const DeleteOutcome& d, http::Headers& headers) {
  if (d.delete_marker) headers.Set("x-amz-delete-marker", "true");
  if (d.has_version_id) headers.Set("x-amz-version-id", d.version_id.empty() ? kNullVersionId : d.version_id);
}

struct DeleteRequest {
  bool quiet = false;
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> versions;  // as sent, per key
};

Result<DeleteRequest> ParseDeleteRequest(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "Delete"));
  pugi::xml_node root = doc.document_element();
  DeleteRequest r;
  r.quiet = EqualsIgnoreCase(http::ChildText(root, "Quiet"), "true");
  for (pugi::xml_node object : root.children("Object")) {
    if (!object.child("Key")) return MalformedXml();
    r.keys.emplace_back(http::ChildText(object, "Key"));
    r.versions.emplace_back();
    if (object.child("VersionId")) r.versions.back() = http::ChildText(object, "VersionId");
    if (r.keys.size() > kMaxDeleteKeys) return MalformedXml();
  }
  if (r.keys.empty()) return MalformedXml();
  return r;
}

}  // namespace

http::Task<Status> DeleteObject(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  std::optional<std::string> version_id;
  if (const std::string* v = call.query().Get("versionId")) {
    ANNEX_CO_ASSIGN_OR_RETURN(version_id, ParseVersionId(*v));
  }
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  const bool bypass = version_id && GovernanceBypassed(call, bucket, call.key());
  const Tables& t = call.store.meta().tables();
  const int64_t now = call.store.NowMillis();
  std::vector<std::string> files;
  DeleteOutcome outcome;
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, call.bucket()));
    if (!current) return NoSuchBucket();
    ANNEX_ASSIGN_OR_RETURN(outcome, DeleteOne(txn, t, delta, *current, call.bucket(), call.key(), version_id, now,
                                              bypass, files));
    return Status::OK();
  }));
  http::Response response = EmptyResponse(204);
  AddDeleteHeaders(outcome, response.headers);
  Status sent = co_await call.ctx.response.Send(std::move(response));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(files));
  co_return sent;
}

http::Task<Status> DeleteObjects(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await ReadCheckedBody(call, kMaxDeleteBody));
  ANNEX_CO_ASSIGN_OR_RETURN(DeleteRequest req, ParseDeleteRequest(body));
  std::vector<Status> results(req.keys.size());
  std::vector<std::optional<std::string>> version_ids(req.keys.size());
  std::vector<bool> bypass(req.keys.size());
  for (size_t i = 0; i < req.keys.size(); ++i) {
    results[i] = ValidateObjectKey(req.keys[i]);
    if (results[i].ok() && req.versions[i]) {
      auto parsed = ParseVersionId(*req.versions[i]);
      if (parsed.ok()) version_ids[i] = std::move(*parsed);
      results[i] = parsed.status();
    }
    // S3 authorizes each key on its own; a denied one is an <Error> entry.
    S3Target target{req.versions[i] ? "s3:DeleteObjectVersion" : "s3:DeleteObject",
                    ObjectArn(call.bucket(), req.keys[i])};
    if (results[i].ok()) results[i] = AuthorizeS3(call, bucket, Access::kWrite, nullptr, &target);
    bypass[i] = results[i].ok() && version_ids[i] && GovernanceBypassed(call, bucket, req.keys[i]);
  }
  const Tables& t = call.store.meta().tables();
  const int64_t now = call.store.NowMillis();
  std::vector<std::string> files;
  std::vector<DeleteOutcome> outcomes(req.keys.size());
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, call.bucket()));
    if (!current) return NoSuchBucket();
    for (size_t i = 0; i < req.keys.size(); ++i) {
      if (!results[i].ok()) continue;
      Result<DeleteOutcome> one = DeleteOne(txn, t, delta, *current, call.bucket(), req.keys[i], version_ids[i], now,
                                            bypass[i], files);
      // A version Object Lock protects is that entry's <Error>, not the request's.
      if (!one.ok() && IsLockRefusal(one.status())) {
        results[i] = one.status();
        continue;
      }
      ANNEX_ASSIGN_OR_RETURN(outcomes[i], std::move(one));
    }
    return Status::OK();
  }));
  http::XmlDocument doc("DeleteResult", http::kS3XmlNamespace);
  for (size_t i = 0; i < req.keys.size(); ++i) {
    if (results[i].ok()) {
      if (req.quiet) continue;
      const DeleteOutcome& d = outcomes[i];
      http::XmlNode deleted = doc.root().Child("Deleted");
      deleted.Add("Key", req.keys[i]);
      if (req.versions[i]) deleted.Add("VersionId", *req.versions[i]);
      if (d.delete_marker) {
        deleted.AddBool("DeleteMarker", true);
        deleted.Add("DeleteMarkerVersionId", d.version_id.empty() ? kNullVersionId : d.version_id);
      }
      continue;
    }
    http::ApiError e = http::ApiErrorFromStatus(results[i], kS3Errors);
    doc.root().Child("Error").Add("Key", req.keys[i]).Add("Code", e.code).Add("Message", e.message);
  }
  Status sent = co_await call.ctx.response.Send(XmlResponse(doc.Render()));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(files));
  co_return sent;
}

}  // namespace annex::objectstore
