// CopyObject: server-side copy, streamed through the blocking pool (or, for
// a copy onto itself that only replaces metadata, no data copy at all).

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/copy_source.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_source.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/tagging.h"

namespace annex::objectstore {
namespace {

constexpr uint64_t kMaxCopySize = uint64_t{5} << 30;

struct CopyRequest {
  CopySource source;
  bool replace_metadata = false;
  ObjectMetadata meta;  // when replace_metadata
  std::optional<AccessControlList> acl;
  std::optional<crypto::ChecksumAlgorithm> checksum;  // requested for the copy
  WriteConditions conditions;
  std::optional<TagSet> tags;  // x-amz-tagging-directive REPLACE: the new tags; else the source's
  EncryptionRequest encryption;  // of the copy
  // x-amz-website-redirect-location: never the source's, whatever the directive (as S3).
  std::string website_redirect;
  bool encryption_given = false;  // asked for explicitly (a change of a self-copy)
};

Result<CopyRequest> ParseCopy(const S3Call& call) {
  CopyRequest c;
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(c.source, ParseCopySource(call.headers().GetOr("x-amz-copy-source", "")));
  std::string_view directive = call.headers().GetOr("x-amz-metadata-directive", "COPY");
  if (directive != "COPY" && directive != "REPLACE") {
    return http::ApiStatus("InvalidArgument", "Unknown metadata directive.");
  }
  c.replace_metadata = directive == "REPLACE";
  if (c.replace_metadata) {
    ANNEX_ASSIGN_OR_RETURN(c.meta, ParseObjectMetadata(call.headers()));
  }
  ANNEX_RETURN_IF_ERROR(ParseAclHeaders(call.headers(), "").status());  // its syntax, before the bucket
  std::string_view tagging_directive = call.headers().GetOr("x-amz-tagging-directive", "COPY");
  if (tagging_directive != "COPY" && tagging_directive != "REPLACE") {
    return http::ApiStatus("InvalidArgument", "Unknown tagging directive.");
  }
  if (tagging_directive == "REPLACE") {
    ANNEX_ASSIGN_OR_RETURN(c.tags, ParseTaggingHeader(call.headers().GetOr("x-amz-tagging", "")));
  }
  if (const std::string* alg = call.headers().Get("x-amz-checksum-algorithm")) {
    c.checksum = crypto::ParseChecksumAlgorithm(*alg);
    if (!c.checksum) return http::ApiStatus("InvalidRequest", "Checksum algorithm provided is unsupported.");
  }
  ANNEX_ASSIGN_OR_RETURN(c.conditions, ParseWriteConditions(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(c.website_redirect, ParseWebsiteRedirect(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(c.encryption, ParseEncryptionRequest(call));
  c.encryption_given = call.headers().Has("x-amz-server-side-encryption") || c.encryption.customer;
  return c;
}

// The algorithm the copy carries: the requested one, else the source's.
std::optional<crypto::ChecksumAlgorithm> CopyChecksum(const CopyRequest& c, const ObjectRecord& src) {
  if (c.checksum) return c.checksum;
  if (src.checksum_algorithm.empty()) return std::nullopt;
  return crypto::ParseChecksumAlgorithm(src.checksum_algorithm);
}

// Copies the source's bytes (decrypted with `src_keys`) into new durable
// storage, encrypted with `key` if it is set.
http::Task<Result<WrittenData>> CopyData(S3Call& call, const ObjectRecord& src, std::vector<std::string> src_keys,
                                         std::optional<crypto::ChecksumAlgorithm> checksum, std::string key) {
  DataWriter writer(call.store.files(), call.ctx.blocking, call.store.options().inline_threshold, checksum,
                    std::move(key));
  ObjectSource source(call.store.files(), src);
  source.SetKeysIfEncrypted(std::move(src_keys), call.ctx.blocking);
  ANNEX_CO_RETURN_IF_ERROR(co_await source.CopyTo(writer, call.ctx.blocking, 0, src.size));
  co_return co_await writer.Finish();
}

std::string RenderCopyResult(const ObjectRecord& r) {
  http::XmlDocument doc("CopyObjectResult", http::kS3XmlNamespace);
  doc.root().Add("LastModified", Iso8601(r.modified_ms)).Add("ETag", QuoteEtag(r.etag));
  if (!r.checksum_algorithm.empty() && r.parts_count == 0) {
    doc.root().Add("Checksum" + r.checksum_algorithm, r.checksum_value);
    if (auto type = ObjectChecksumType(r)) doc.root().Add("ChecksumType", ChecksumTypeName(*type));
  }
  return doc.Render();
}

}  // namespace

http::Task<Status> CopyObject(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(CopyRequest c, ParseCopy(call));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  ANNEX_CO_ASSIGN_OR_RETURN(c.acl, ParseAclHeaders(call.headers(), bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclSettable(bucket, c.acl));
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectLockState lock, ObjectLockForWrite(call, bucket, call.headers()));
  std::vector<std::string> src_keys;
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectRecord src, LoadCopySource(call, c.source, src_keys));
  if (src.size > kMaxCopySize) {
    co_return http::ApiStatus("InvalidRequest",
                              "The specified copy source is larger than the maximum allowable size for a copy source: "
                              "5368709120");
  }
  // A copy of a version named by id onto its own key restores it: no self-copy.
  bool self = c.source.bucket == call.bucket() && c.source.key == call.key() && !c.source.version_id;
  if (self && !c.replace_metadata && !c.checksum && !c.encryption_given && c.website_redirect.empty()) {
    co_return http::ApiStatus("InvalidRequest",
                              "This copy request is illegal because it is trying to copy an object to itself without "
                              "changing the object's metadata, storage class, website redirect location or "
                              "encryption attributes.");
  }
  std::optional<crypto::ChecksumAlgorithm> checksum = CopyChecksum(c, src);
  ObjectRecord record;
  // Sharing data files is safe only when the source version is replaced,
  // which it is in a bucket never versioned.
  bool reuse_data = self && bucket.versioning == Versioning::kOff && !c.encryption_given &&
                    (!c.checksum || src.checksum_algorithm == crypto::ChecksumAlgorithmName(*c.checksum));
  if (reuse_data) {
    // Same bytes, new metadata: point the new record at the same data.
    record = src;
    c.conditions.expect_current = &src;
  } else {
    DataKey key = NewDataKey(call.store.keys(), c.encryption);
    ANNEX_CO_ASSIGN_OR_RETURN(WrittenData data, co_await CopyData(call, src, std::move(src_keys), checksum, key.raw));
    record = NewObjectRecord(call.key(), bucket, data, 0, checksum);
    SetEncryption(record, c.encryption, key);
  }
  record.key = call.key();
  record.modified_ms = call.store.NowMillis();
  record.owner_id = bucket.owner_id;
  record.owner_name = bucket.owner_name;
  record.acl = AclOrPrivate(std::move(c.acl), bucket.owner_id);
  record.meta = c.replace_metadata ? std::move(c.meta) : src.meta;
  record.tags = c.tags ? std::move(*c.tags) : src.tags;
  record.website_redirect = std::move(c.website_redirect);
  record.lock = lock;  // never the source's: the copy's own headers, else the bucket's default
  call.ctx.bytes_in += reuse_data ? 0 : record.size;
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> replaced,
                         co_await CommitObject(call, record, c.conditions, /*owns_data=*/!reuse_data));
  http::Response response = XmlResponse(RenderCopyResult(record));
  AddVersionIdHeader(bucket, record, response.headers);
  AddCopySourceVersionHeader(c.source, src, response.headers);
  AddEncryptionHeaders(record.sse, record.sse_customer_key_md5, response.headers);
  Status sent = co_await call.ctx.response.Send(std::move(response));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(replaced));
  co_return sent;
}

}  // namespace annex::objectstore
