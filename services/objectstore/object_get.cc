// GetObject and HeadObject: conditionals, ranges, partNumber, response-*
// overrides, streamed from inline bytes or data files.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/lifecycle_cache.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/object_source.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/range.h"
#include "services/objectstore/s3_errors.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

// A reader may lose a race with an overwrite that removes the data file it
// was about to open; it then re-reads the record this many times.
constexpr int kMaxAttempts = 4;

struct GetRequest {
  Preconditions preconditions;
  std::optional<uint32_t> part_number;
  std::string range_header;
  bool checksum_mode = false;
  std::optional<CustomerKey> customer_key;  // SSE-C
};

Result<GetRequest> ParseGet(const S3Call& call) {
  GetRequest g;
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  g.preconditions = ParsePreconditions(call.headers());
  g.range_header = std::string(call.headers().GetOr("range", ""));
  g.checksum_mode = EqualsIgnoreCase(call.headers().GetOr("x-amz-checksum-mode", ""), "ENABLED");
  ANNEX_ASSIGN_OR_RETURN(g.customer_key, ParseCustomerKey(call.headers(), call.request().tls));
  if (const std::string* pn = call.query().Get("partNumber")) {
    auto n = ParseUint(*pn);
    if (!n || *n < 1 || *n > 10000) {
      return http::ApiStatus("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
    }
    if (!g.range_header.empty()) {
      return http::ApiStatus("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
    }
    g.part_number = static_cast<uint32_t>(*n);
  }
  return g;
}

// What a lookup found: the record is in the caller's ObjectRecord.
struct Found {
  BucketRecord bucket;
  // The version found is a delete marker: the answer is an error carrying
  // the marker's headers.
  bool delete_marker = false;
  bool by_version_id = false;  // the request named the version
};

// Reads the record of the version the call names (its current one unless
// ?versionId=) into `object`, if the caller may read it.
Result<Found> LoadReadableObject(S3Call& call, ObjectRecord& object) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  const Tables& t = call.store.meta().tables();
  Found out;
  ANNEX_ASSIGN_OR_RETURN(out.bucket, LoadBucket(txn, t, call.bucket()));
  ANNEX_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  auto authorize = [&](const ObjectRecord* live) { return AuthorizeS3(call, out.bucket, Access::kReadObject, live); };
  ANNEX_RETURN_IF_ERROR(
      LoadRequestedVersion(txn, t, call.bucket(), call.key(), version_id, /*with_data=*/true, authorize, object)
          .status());
  out.delete_marker = object.delete_marker;
  out.by_version_id = version_id.has_value();
  return out;
}

// S3: a delete marker asked for by id is a 405; a key whose latest version
// is one is a 404.
http::Task<Status> SendDeleteMarker(S3Call& call, const Found& found, const ObjectRecord& marker) {
  http::Headers headers;
  headers.Set("x-amz-delete-marker", "true");
  headers.Set("x-amz-version-id", VersionIdText(marker));
  if (!found.by_version_id) co_return co_await SendS3Error(call, NoSuchKey(), std::move(headers));
  headers.Set("last-modified", HttpDate(marker.modified_ms));
  Status not_allowed = http::ApiStatus("MethodNotAllowed", "The specified method is not allowed against this resource.");
  co_return co_await SendS3Error(call, not_allowed, std::move(headers));
}

struct Selection {
  int status = 200;
  ByteRange range;
  bool whole = true;
};

// The bytes a GET serves: all, a Range, or one part. Sends the 416 itself.
Result<std::optional<Selection>> Select(const GetRequest& g, const ObjectRecord& o) {
  Selection sel;
  sel.range = {0, o.size};
  if (g.part_number) {
    if (o.parts_count == 0) {
      if (*g.part_number != 1) return http::ApiStatus("InvalidPartNumber", "The requested partnumber is not satisfiable");
      return std::optional<Selection>(sel);
    }
    if (*g.part_number > o.segments.size()) {
      return http::ApiStatus("InvalidPartNumber", "The requested partnumber is not satisfiable");
    }
    uint64_t offset = 0;
    for (uint32_t i = 0; i + 1 < *g.part_number; ++i) offset += o.segments[i].size;
    sel = {206, {offset, o.segments[*g.part_number - 1].size}, false};
    return std::optional<Selection>(sel);
  }
  if (g.range_header.empty()) return std::optional<Selection>(sel);
  RangeSpec spec = ParseRange(g.range_header, o.size);
  if (spec.kind == RangeSpec::Kind::kUnsatisfiable) return std::optional<Selection>();
  if (spec.kind == RangeSpec::Kind::kPartial) sel = {206, spec.range, false};
  return std::optional<Selection>(sel);
}

http::Task<Status> SendInvalidRange(S3Call& call, uint64_t size) {
  http::Response r = http::RenderRestXmlError(
      http::MakeApiError("InvalidRange", "The requested range is not satisfiable", kS3Errors), call.request().request_id);
  r.headers.Set("content-range", "bytes */" + std::to_string(size));
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Task<Status> SendNotModified(S3Call& call, const BucketRecord& bucket, const ObjectRecord& o) {
  http::Response r;
  r.status = 304;
  AddVersionIdHeader(bucket, o, r.headers);
  r.headers.Set("etag", QuoteEtag(o.etag));
  r.headers.Set("last-modified", HttpDate(o.modified_ms));
  co_return co_await call.ctx.response.Send(std::move(r));
}

http::Response BuildHead(const S3Call& call, const GetRequest& g, const BucketRecord& bucket, const ObjectRecord& o,
                         const Selection& sel) {
  http::Response head;
  head.status = sel.status;
  AddObjectHeaders(o, head.headers);
  AddVersionIdHeader(bucket, o, head.headers);
  AddExpirationHeader(call.store.lifecycles(), bucket, o, head.headers);
  AddEncryptionHeaders(o.sse, o.sse_customer_key_md5, head.headers);
  // S3 reports the part count only to partNumber requests.
  if (g.part_number && o.parts_count > 0) head.headers.Set("x-amz-mp-parts-count", std::to_string(o.parts_count));
  if (g.checksum_mode && sel.whole) AddChecksumHeader(o, std::nullopt, head.headers);
  if (g.checksum_mode && g.part_number && o.parts_count > 0) AddChecksumHeader(o, g.part_number, head.headers);
  ApplyResponseOverrides(call.query(), head.headers);
  if (sel.status == 206) {
    uint64_t last = sel.range.length == 0 ? sel.range.first : sel.range.last();
    head.headers.Set("content-range", "bytes " + std::to_string(sel.range.first) + "-" + std::to_string(last) + "/" +
                                          std::to_string(o.size));
  }
  return head;
}

}  // namespace

http::Task<Status> GetObject(S3Call& call, bool head) {
  ANNEX_CO_ASSIGN_OR_RETURN(GetRequest g, ParseGet(call));
  for (int attempt = 1;; ++attempt) {
    ObjectRecord object;
    ANNEX_CO_ASSIGN_OR_RETURN(Found found, LoadReadableObject(call, object));
    if (found.delete_marker) co_return co_await SendDeleteMarker(call, found, object);
    HideUnpermittedObjectLock(call, found.bucket, object.lock);
    ANNEX_CO_ASSIGN_OR_RETURN(std::vector<std::string> keys, DataKeysOf(object, call.store.keys(), g.customer_key));
    switch (EvaluatePreconditions(g.preconditions, object.etag, FromMillis(object.modified_ms))) {
      case ConditionOutcome::kNotModified:
        co_return co_await SendNotModified(call, found.bucket, object);
      case ConditionOutcome::kPreconditionFailed:
        co_return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
      case ConditionOutcome::kProceed:
        break;
    }
    ANNEX_CO_ASSIGN_OR_RETURN(std::optional<Selection> sel, Select(g, object));
    if (!sel) co_return co_await SendInvalidRange(call, object.size);
    ObjectSource source(call.store.files(), object);
    if (object.sse != Sse::kNone) source.SetDecryption(std::move(keys), call.ctx.blocking);
    if (!head) {
      Status opened = source.Prepare(sel->range.first);
      if (opened.IsNotFound() && attempt < kMaxAttempts) continue;  // overwritten meanwhile
      ANNEX_CO_RETURN_IF_ERROR(opened);
    }
    http::Response response = BuildHead(call, g, found.bucket, object, *sel);
    if (!head && object.is_inline()) {
      // Small objects: head and body in one response, one write.
      if (object.sse == Sse::kNone) {
        response.body = sel->whole ? std::move(object.inline_data)
                                   : object.inline_data.substr(sel->range.first, sel->range.length);
      } else {
        ANNEX_CO_ASSIGN_OR_RETURN(std::string plain, source.InlinePlaintext());
        response.body = sel->whole ? std::move(plain) : plain.substr(sel->range.first, sel->range.length);
      }
      call.ctx.bytes_out += sel->range.length;
      co_return co_await call.ctx.response.Send(std::move(response));
    }
    ANNEX_CO_RETURN_IF_ERROR(co_await call.ctx.response.SendHead(std::move(response), sel->range.length));
    if (head) co_return Status::OK();
    call.ctx.bytes_out += sel->range.length;
    co_return co_await source.SendTo(call.ctx.response, sel->range.first, sel->range.length);
  }
}

}  // namespace annex::objectstore
