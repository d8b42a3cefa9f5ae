// DeleteObject and DeleteObjects (multi-object delete, quiet mode).

#include <optional>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/s3_errors.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxDeleteKeys = 1000;
constexpr size_t kMaxDeleteBody = 4 << 20;

// Deletes `key` if present, inside `txn`; collects its data files.
Status DeleteOne(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
                 std::string_view key, std::vector<std::string>& files) {
  ANNEX_ASSIGN_OR_RETURN(auto old, GetObject(txn, t, bucket, key, /*with_data=*/false));
  if (!old) return Status::OK();  // S3 reports success for absent keys
  ANNEX_RETURN_IF_ERROR(txn.Delete(t.objects, EncodeObjectKey(bucket, key)));
  delta.objects -= 1;
  delta.bytes -= static_cast<int64_t>(old->size);
  for (auto& s : old->segments) files.push_back(std::move(s.file_id));
  return Status::OK();
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

// S3 requires Content-MD5 or a checksum header here; both are verified when
// present, and (leniently) neither is required.
Status VerifyDeleteBody(const S3Call& call, std::string_view body) {
  crypto::Hasher md5(crypto::HashKind::kMd5);
  md5.Update(body);
  ANNEX_RETURN_IF_ERROR(VerifyContentMd5(call.headers(), md5.Final()));
  ANNEX_ASSIGN_OR_RETURN(ChecksumRequest checksum, ParseChecksumRequest(call.headers()));
  if (!checksum.algorithm) return Status::OK();
  auto c = crypto::Checksummer::Create(*checksum.algorithm);
  c->Update(body);
  return VerifyChecksum(checksum, call.ctx.trailers, crypto::ChecksumBase64(*c));
}

}  // namespace

http::Task<Status> DeleteObject(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  const Tables& t = call.store.meta().tables();
  std::vector<std::string> files;
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, call.bucket()));
    if (!current) return NoSuchBucket();
    return DeleteOne(txn, t, delta, call.bucket(), call.key(), files);
  }));
  Status sent = co_await call.ctx.response.Send(EmptyResponse(204));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(files));
  co_return sent;
}

http::Task<Status> DeleteObjects(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxDeleteBody));
  ANNEX_CO_RETURN_IF_ERROR(VerifyDeleteBody(call, body));
  ANNEX_CO_ASSIGN_OR_RETURN(DeleteRequest req, ParseDeleteRequest(body));
  std::vector<Status> results(req.keys.size());
  for (size_t i = 0; i < req.keys.size(); ++i) {
    results[i] = ValidateObjectKey(req.keys[i]);
    if (results[i].ok() && req.versions[i]) results[i] = CheckVersionId(*req.versions[i]);
    // S3 authorizes each key on its own; a denied one is an <Error> entry.
    S3Target target{"s3:DeleteObject", ObjectArn(call.bucket(), req.keys[i])};
    if (results[i].ok()) results[i] = AuthorizeS3(call, bucket, Access::kOwner, nullptr, &target);
  }
  const Tables& t = call.store.meta().tables();
  std::vector<std::string> files;
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, call.bucket()));
    if (!current) return NoSuchBucket();
    for (size_t i = 0; i < req.keys.size(); ++i) {
      if (results[i].ok()) ANNEX_RETURN_IF_ERROR(DeleteOne(txn, t, delta, call.bucket(), req.keys[i], files));
    }
    return Status::OK();
  }));
  http::XmlDocument doc("DeleteResult", http::kS3XmlNamespace);
  for (size_t i = 0; i < req.keys.size(); ++i) {
    if (results[i].ok()) {
      if (req.quiet) continue;
      http::XmlNode deleted = doc.root().Child("Deleted");
      deleted.Add("Key", req.keys[i]);
      if (req.versions[i]) deleted.Add("VersionId", *req.versions[i]);
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
