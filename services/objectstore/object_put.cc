// PutObject: stream the body to durable storage, then commit its record.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/lifecycle_cache.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/public_access_block.h"
#include "services/objectstore/tagging.h"

namespace annex::objectstore {
namespace {

struct PutRequest {
  ObjectMetadata meta;
  std::optional<AccessControlList> acl;
  ChecksumRequest checksum;
  WriteConditions conditions;
  TagSet tags;
  std::string website_redirect;
  EncryptionRequest encryption;
};

Result<PutRequest> ParsePut(const S3Call& call) {
  PutRequest p;
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(p.meta, ParseObjectMetadata(call.headers()));
  ANNEX_RETURN_IF_ERROR(ParseAclHeaders(call.headers(), "").status());  // its syntax, before the bucket
  ANNEX_ASSIGN_OR_RETURN(p.checksum, ParseChecksumRequest(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(p.conditions, ParseWriteConditions(call.headers()));
  if (const std::string* tagging = call.headers().Get("x-amz-tagging")) {
    ANNEX_ASSIGN_OR_RETURN(p.tags, ParseTaggingHeader(*tagging));
  }
  ANNEX_RETURN_IF_ERROR(CheckContentMd5Syntax(call.headers()));
  if (HasObjectLockHeaders(call.headers()) && !HasIntegrityCheck(call.headers(), p.checksum)) {
    return http::ApiStatus("InvalidRequest",
                           "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object "
                           "Lock parameters");
  }
  ANNEX_ASSIGN_OR_RETURN(p.website_redirect, ParseWebsiteRedirect(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(p.encryption, ParseEncryptionRequest(call));
  return p;
}

Status CheckAbsent(S3Call& call) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ANNEX_ASSIGN_OR_RETURN(auto existing, GetObject(txn, call.store.meta().tables(), call.bucket(), call.key(), false));
  if (existing) {
    return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  return Status::OK();
}

}  // namespace

http::Task<Status> PutObject(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(PutRequest p, ParsePut(call));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  ANNEX_CO_ASSIGN_OR_RETURN(p.acl, ParseAclHeaders(call.headers(), bucket.owner_id));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclSettable(bucket, p.acl));
  ANNEX_CO_ASSIGN_OR_RETURN(ObjectLockState lock, ObjectLockForWrite(call, bucket, call.headers()));
  // Fail a create-only PUT before its body is stored; the commit re-checks.
  if (p.conditions.if_none_match_any) ANNEX_CO_RETURN_IF_ERROR(CheckAbsent(call));
  DataKey key = NewDataKey(call.store.keys(), p.encryption);
  ANNEX_CO_ASSIGN_OR_RETURN(WrittenData data,
                         co_await ReceiveBody(call, call.store.options().inline_threshold, p.checksum, key.raw));
  ObjectRecord record = NewObjectRecord(call.key(), bucket, data, call.store.NowMillis(), p.checksum.algorithm);
  record.acl = AclOrPrivate(std::move(p.acl), bucket.owner_id);
  record.meta = std::move(p.meta);
  record.tags = std::move(p.tags);
  record.website_redirect = std::move(p.website_redirect);
  record.lock = lock;
  SetEncryption(record, p.encryption, key);
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> replaced,
                         co_await CommitObject(call, record, p.conditions, /*owns_data=*/true));
  http::Response r;
  r.headers.Set("etag", QuoteEtag(record.etag));
  AddVersionIdHeader(bucket, record, r.headers);
  AddExpirationHeader(call.store.lifecycles(), bucket, record, r.headers);
  AddChecksumHeader(record, std::nullopt, r.headers);  // and x-amz-checksum-type: FULL_OBJECT
  AddEncryptionHeaders(record.sse, record.sse_customer_key_md5, r.headers);
  Status sent = co_await call.ctx.response.Send(std::move(r));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(replaced));
  co_return sent;
}

}  // namespace annex::objectstore
