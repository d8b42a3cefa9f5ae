// CreateMultipartUpload, UploadPart, UploadPartCopy, AbortMultipartUpload.
// Each part is its own durable data file; completion (multipart_complete.cc)
// adopts the files as the object's segments.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/copy_source.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/multipart_etag.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_source.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/range.h"
#include "services/objectstore/tagging.h"

namespace annex::objectstore {
namespace {

// The upload the call names (bucket, key, ?uploadId), for its owner.
Result<UploadRecord> LoadUpload(S3Call& call) {
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  const Tables& t = call.store.meta().tables();
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, call.bucket()));
  ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kWrite));
  const std::string* id = call.query().Get("uploadId");
  if (!id) return NoSuchUpload();
  ANNEX_ASSIGN_OR_RETURN(auto upload, GetUpload(txn, t, call.bucket(), call.key(), *id));
  if (!upload) return NoSuchUpload();
  return std::move(*upload);
}

Result<uint32_t> ParsePartNumber(const http::QueryParams& q) {
  const std::string* pn = q.Get("partNumber");
  auto n = pn ? ParseUint(*pn) : std::nullopt;
  if (!n || *n < 1 || *n > 10000) {
    return http::ApiStatus("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
  }
  return static_cast<uint32_t>(*n);
}

std::optional<crypto::ChecksumAlgorithm> UploadAlgorithm(const UploadRecord& u) {
  if (u.checksum_algorithm.empty()) return std::nullopt;
  return crypto::ParseChecksumAlgorithm(u.checksum_algorithm);
}

Status InvalidRequest(std::string message) { return http::ApiStatus("InvalidRequest", std::move(message)); }

// CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type
// into the upload, by S3's rules (object_headers.h: ChecksumTypeAllowed).
Status ParseUploadChecksum(const http::Headers& headers, UploadRecord& u) {
  const std::string* alg = headers.Get("x-amz-checksum-algorithm");
  const std::string* type = headers.Get("x-amz-checksum-type");
  if (!alg) {
    if (!type) return Status::OK();
    return InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
  }
  auto parsed = crypto::ParseChecksumAlgorithm(*alg);
  if (!parsed) return InvalidRequest("Checksum algorithm provided is unsupported.");
  ChecksumType kind = DefaultChecksumType(*parsed);
  if (type) {
    auto named = ParseChecksumType(*type);
    if (!named) return InvalidRequest("Value for x-amz-checksum-type header is invalid.");
    kind = *named;
  }
  if (!ChecksumTypeAllowed(*parsed, kind)) {
    return InvalidRequest("The " + std::string(ChecksumTypeName(kind)) + " checksum type cannot be used with the " +
                          ToLower(crypto::ChecksumAlgorithmName(*parsed)) + " checksum algorithm.");
  }
  u.checksum_algorithm = std::string(crypto::ChecksumAlgorithmName(*parsed));
  u.checksum_type = std::string(ChecksumTypeName(kind));
  return Status::OK();
}

// A part's checksum is of the upload's algorithm: another one could not
// make the object's. A composite upload needs each part's from the client
// (S3 refuses a part without); a full-object one computes it when absent.
Status CheckPartChecksum(const ChecksumRequest& request, const UploadRecord& upload) {
  auto alg = UploadAlgorithm(upload);
  if (!alg) return Status::OK();
  bool composite = upload.checksum_type != ChecksumTypeName(ChecksumType::kFullObject);
  if ((request.algorithm && *request.algorithm != *alg) || (!request.algorithm && composite)) {
    std::string actual = request.algorithm ? ToLower(crypto::ChecksumAlgorithmName(*request.algorithm)) : "null";
    return InvalidRequest("Checksum Type mismatch occurred, expected checksum Type: " +
                          ToLower(crypto::ChecksumAlgorithmName(*alg)) + ", actual checksum Type: " + actual);
  }
  return Status::OK();
}

// UploadPartCopy's data: a byte range of the source object, copied (and
// encrypted with `key` if it is set). The source's version goes into
// `source_headers` (x-amz-copy-source-version-id).
http::Task<Result<WrittenData>> CopyPartData(S3Call& call, const UploadRecord& upload, std::string key,
                                             http::Headers& source_headers) {
  ANNEX_CO_ASSIGN_OR_RETURN(CopySource source, ParseCopySource(call.headers().GetOr("x-amz-copy-source", "")));
  std::vector<std::string> src_keys;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord src, LoadCopySource(call, source, src_keys));
  ByteRange range{0, src.size};
  if (const std::string* r = call.headers().Get("x-amz-copy-source-range")) {
    ANNEX_CO_ASSIGN_OR_RETURN(range, ParseCopySourceRange(*r, src.size));
  }
  if (range.length > kMaxPutSize) {
    co_return http::ApiStatus("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.");
  }
  DataWriter writer(call.store.files(), call.ctx.blocking, /*inline_threshold=*/0, UploadAlgorithm(upload),
                    std::move(key));
  ObjectSource reader(call.store.files(), src);
  reader.SetKeysIfEncrypted(std::move(src_keys), call.ctx.blocking);
  ANNEX_CO_RETURN_IF_ERROR(co_await reader.CopyTo(writer, call.ctx.blocking, range.first, range.length));
  AddCopySourceVersionHeader(source, src, source_headers);
  co_return co_await writer.Finish();
}

// Stores the part record, replacing an earlier upload of the same number.
http::Task<Result<std::vector<std::string>>> CommitPart(S3Call& call, const UploadRecord& upload,
                                                        const PartRecord& part) {
  const Tables& t = call.store.meta().tables();
  std::vector<std::string> replaced;
  Status s = co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    replaced.clear();
    ANNEX_ASSIGN_OR_RETURN(auto current, GetUpload(txn, t, call.bucket(), upload.key, upload.upload_id));
    if (!current) return NoSuchUpload();
    std::string key = EncodePartKey(upload.upload_id, part.number);
    ANNEX_ASSIGN_OR_RETURN(auto old, txn.Get(t.parts, key));
    if (old) {
      ANNEX_ASSIGN_OR_RETURN(PartRecord old_part, DecodePart(*old));
      replaced.push_back(std::move(old_part.file_id));
    }
    return txn.Put(t.parts, key, EncodePart(part));
  });
  if (!s.ok()) {
    std::vector<std::string> orphan{part.file_id};
    co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(orphan));
    co_return s;
  }
  co_return replaced;
}

// `copy_headers`: UploadPartCopy's headers about its source.
http::Task<Status> SendPartResult(S3Call& call, const PartRecord& part, const UploadRecord& upload, bool copy,
                                  http::Headers copy_headers) {
  auto alg = UploadAlgorithm(upload);
  if (copy) {
    http::XmlDocument doc("CopyPartResult", http::kS3XmlNamespace);
    doc.root().Add("LastModified", Iso8601(part.modified_ms)).Add("ETag", QuoteEtag(part.etag));
    if (alg) doc.root().Add("Checksum" + std::string(crypto::ChecksumAlgorithmName(*alg)), part.checksum_value);
    http::Response r = XmlResponse(doc.Render());
    for (const auto& f : copy_headers) r.headers.Add(f.name, f.value);
    AddEncryptionHeaders(upload.sse, upload.sse_customer_key_md5, r.headers);
    co_return co_await call.ctx.response.Send(std::move(r));
  }
  http::Response r;
  r.headers.Set("etag", QuoteEtag(part.etag));
  AddEncryptionHeaders(upload.sse, upload.sse_customer_key_md5, r.headers);
  if (!part.checksum_value.empty()) {
    auto req = ParseChecksumRequest(call.headers());
    auto used = req.ok() && req->algorithm ? req->algorithm : alg;
    if (used) r.headers.Set(crypto::ChecksumHeaderName(*used), part.checksum_value);
  }
  co_return co_await call.ctx.response.Send(std::move(r));
}

}  // namespace

http::Task<Status> CreateMultipartUpload(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  UploadRecord u;
  ANNEX_CO_ASSIGN_OR_RETURN(u.meta, ParseObjectMetadata(call.headers()));
  if (const std::string* tagging = call.headers().Get("x-amz-tagging")) {
    ANNEX_CO_ASSIGN_OR_RETURN(u.tags, ParseTaggingHeader(*tagging));
  }
  ANNEX_CO_ASSIGN_OR_RETURN(std::optional<AccessControlList> acl, ParseAclHeaders(call.headers(), bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclSettable(bucket, acl));
  ANNEX_CO_RETURN_IF_ERROR(ParseUploadChecksum(call.headers(), u));
  ANNEX_CO_ASSIGN_OR_RETURN(u.website_redirect, ParseWebsiteRedirect(call.headers()));
  ANNEX_CO_ASSIGN_OR_RETURN(u.lock, ObjectLockForWrite(call, bucket, call.headers()));
  ANNEX_CO_ASSIGN_OR_RETURN(EncryptionRequest encryption, ParseEncryptionRequest(call));
  u.sse = encryption.sse;
  if (encryption.customer) u.sse_customer_key_md5 = encryption.customer->md5;
  u.key = call.key();
  u.upload_id = NewUploadId(call.store.NowNanos());
  u.initiated_ms = call.store.NowMillis();
  u.owner_id = bucket.owner_id;
  u.owner_name = bucket.owner_name;
  u.acl = AclOrPrivate(std::move(acl), bucket.owner_id);
  const Tables& t = call.store.meta().tables();
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, call.bucket()));
    if (!current) return NoSuchBucket();
    return txn.Put(t.uploads, EncodeUploadKey(call.bucket(), u.key, u.upload_id), EncodeUpload(u));
  }));
  http::XmlDocument doc("InitiateMultipartUploadResult", http::kS3XmlNamespace);
  doc.root().Add("Bucket", call.bucket()).Add("Key", u.key).Add("UploadId", u.upload_id);
  http::Response r = XmlResponse(doc.Render());
  if (!u.checksum_algorithm.empty()) {
    r.headers.Set("x-amz-checksum-algorithm", u.checksum_algorithm);
    r.headers.Set("x-amz-checksum-type", u.checksum_type);
  }
  AddEncryptionHeaders(u.sse, u.sse_customer_key_md5, r.headers);
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> UploadPart(S3Call& call, bool copy) {
  ANNEX_CO_ASSIGN_OR_RETURN(uint32_t number, ParsePartNumber(call.query()));
  ANNEX_CO_ASSIGN_OR_RETURN(UploadRecord upload, LoadUpload(call));
  // Every part is encrypted as the upload is; an SSE-C upload's parts each
  // come with the same customer key.
  EncryptionRequest encryption{upload.sse, std::nullopt};
  ANNEX_CO_ASSIGN_OR_RETURN(encryption.customer, ParseCustomerKey(call.headers(), call.request().tls));
  ANNEX_CO_RETURN_IF_ERROR(CheckCustomerKey(upload.sse, upload.sse_customer_key_md5, encryption.customer));
  DataKey key = NewDataKey(call.store.keys(), encryption);
  Result<WrittenData> written = Status::Internal("unset");
  http::Headers copy_headers;
  if (copy) {
    written = co_await CopyPartData(call, upload, key.raw, copy_headers);
  } else {
    ANNEX_CO_ASSIGN_OR_RETURN(ChecksumRequest checksum, ParseChecksumRequest(call.headers()));
    ANNEX_CO_RETURN_IF_ERROR(CheckPartChecksum(checksum, upload));
    if (!checksum.algorithm) checksum.algorithm = UploadAlgorithm(upload);
    ANNEX_CO_RETURN_IF_ERROR(CheckContentMd5Syntax(call.headers()));
    written = co_await ReceiveBody(call, /*inline_threshold=*/0, checksum, key.raw);
  }
  if (!written.ok()) co_return written.status();
  PartRecord part;
  part.number = number;
  part.size = written->size;
  part.etag = HexEncode(written->md5);
  part.modified_ms = call.store.NowMillis();
  part.file_id = written->file_id;
  part.checksum_value = written->checksum;
  part.wrapped_key = key.wrapped;
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> replaced, co_await CommitPart(call, upload, part));
  Status sent = co_await SendPartResult(call, part, upload, copy, std::move(copy_headers));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(replaced));
  co_return sent;
}

http::Task<Status> AbortMultipartUpload(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(UploadRecord upload, LoadUpload(call));
  const Tables& t = call.store.meta().tables();
  std::vector<std::string> files;
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    files.clear();
    ANNEX_ASSIGN_OR_RETURN(bool removed, RemoveUpload(txn, t, call.bucket(), upload.key, upload.upload_id, files));
    return removed ? Status::OK() : NoSuchUpload();
  }));
  Status sent = co_await call.ctx.response.Send(EmptyResponse(204));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(files));
  co_return sent;
}

}  // namespace annex::objectstore
