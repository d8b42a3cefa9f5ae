#include "services/objectstore/s3_call.h"

#include <chrono>

#include "appliance/http/api_error.h"
#include "services/objectstore/s3_errors.h"

namespace annex::objectstore {

Status NoSuchBucket() { return http::ApiStatus("NoSuchBucket", "The specified bucket does not exist"); }
Status NoSuchKey() { return http::ApiStatus("NoSuchKey", "The specified key does not exist."); }
Status NoSuchVersion() { return http::ApiStatus("NoSuchVersion", "The specified version does not exist."); }
Status NoSuchUpload() {
  return http::ApiStatus("NoSuchUpload",
                         "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
                         "been aborted or completed.");
}

Result<BucketRecord> LoadBucket(const store::ReadTxn& txn, const Tables& tables, std::string_view bucket) {
  ANNEX_ASSIGN_OR_RETURN(auto record, GetBucket(txn, tables, bucket));
  if (!record) return NoSuchBucket();
  return std::move(*record);
}

Result<BucketRecord> LoadAuthorizedBucket(S3Call& call, Access access) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, call.store.meta().tables(), call.bucket()));
  ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, access));
  return bucket;
}

http::Response XmlResponse(std::string body, int status) {
  http::Response r;
  r.status = status;
  r.headers.Set("content-type", "application/xml");
  r.body = std::move(body);
  return r;
}

http::Response EmptyResponse(int status) {
  http::Response r;
  r.status = status;
  return r;
}

http::Task<Status> SendS3Error(S3Call& call, const Status& error, http::Headers headers) {
  http::Response r = http::RenderRestXmlError(http::ApiErrorFromStatus(error, kS3Errors), call.request().request_id);
  for (const auto& field : headers) r.headers.Set(field.name, field.value);
  co_return co_await call.ctx.response.Send(std::move(r));
}

SystemTime FromMillis(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
std::string Iso8601(int64_t ms) { return FormatIso8601(FromMillis(ms)); }
std::string HttpDate(int64_t ms) { return FormatHttpDate(FromMillis(ms)); }

std::string QuoteEtag(std::string_view etag) {
  std::string out = "\"";
  out.append(etag);
  out.push_back('"');
  return out;
}

void AddOwner(http::XmlNode parent, std::string_view element, std::string_view account_id,
              std::string_view account_name) {
  parent.Child(element).Add("ID", CanonicalUserId(account_id)).Add("DisplayName", account_name);
}

http::Task<Status> UpdateBucket(S3Call& call, std::function<Status(BucketRecord&)> change) {
  const Tables& t = call.store.meta().tables();
  const std::string& name = call.bucket();
  co_return co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta&) -> Status {
    ANNEX_ASSIGN_OR_RETURN(auto current, GetBucket(txn, t, name));
    if (!current) return NoSuchBucket();
    ANNEX_RETURN_IF_ERROR(change(*current));
    return PutBucket(txn, t, name, *current);
  });
}

}  // namespace annex::objectstore
