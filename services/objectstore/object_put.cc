// PutObject: stream the body to durable storage, then commit its record.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/body_receiver.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/public_access_block.h"

namespace annex::objectstore {
namespace {

struct PutRequest {
  ObjectMetadata meta;
  std::optional<CannedAcl> acl;
  ChecksumRequest checksum;
  WriteConditions conditions;
};

Result<PutRequest> ParsePut(const S3Call& call) {
  PutRequest p;
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_ASSIGN_OR_RETURN(p.meta, ParseObjectMetadata(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(p.acl, ParseAclHeaders(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(p.checksum, ParseChecksumRequest(call.headers()));
  ANNEX_ASSIGN_OR_RETURN(p.conditions, ParseWriteConditions(call.headers()));
  ANNEX_RETURN_IF_ERROR(CheckContentMd5Syntax(call.headers()));
  return p;
}

ObjectRecord BuildRecord(const S3Call& call, const BucketRecord& bucket, PutRequest& p, WrittenData& data,
                         int64_t now_ms) {
  ObjectRecord r;
  r.key = call.key();
  r.size = data.size;
  r.modified_ms = now_ms;
  r.etag = HexEncode(data.md5);
  r.owner_id = bucket.owner_id;
  r.owner_name = bucket.owner_name;
  r.acl = p.acl.value_or(CannedAcl::kPrivate);
  r.meta = std::move(p.meta);
  if (p.checksum.algorithm) {
    r.checksum_algorithm = std::string(crypto::ChecksumAlgorithmName(*p.checksum.algorithm));
    r.checksum_value = data.checksum;
  }
  if (data.file_id.empty()) {
    r.inline_data = std::move(data.inline_data);
  } else {
    r.segments.push_back({data.file_id, data.size, ""});
  }
  return r;
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
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kOwner));
  ANNEX_CO_RETURN_IF_ERROR(CheckAclNotBlocked(bucket, p.acl));
  // Fail a create-only PUT before its body is stored; the commit re-checks.
  if (p.conditions.if_none_match_any) ANNEX_CO_RETURN_IF_ERROR(CheckAbsent(call));
  ANNEX_CO_ASSIGN_OR_RETURN(WrittenData data,
                         co_await ReceiveBody(call, call.store.options().inline_threshold, p.checksum));
  ObjectRecord record = BuildRecord(call, bucket, p, data, call.store.NowMillis());
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> replaced,
                         co_await CommitObject(call, record, p.conditions, /*owns_data=*/true));
  http::Response r;
  r.headers.Set("etag", QuoteEtag(record.etag));
  AddChecksumHeader(record, std::nullopt, r.headers);  // and x-amz-checksum-type: FULL_OBJECT
  Status sent = co_await call.ctx.response.Send(std::move(r));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(replaced));
  co_return sent;
}

}  // namespace annex::objectstore
