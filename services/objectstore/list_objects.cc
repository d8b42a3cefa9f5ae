// ListObjects (V1), ListObjectsV2 and ListObjectVersions over listing.h.

#include <functional>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/listing.h"
#include "services/objectstore/version_listing.h"
#include "services/objectstore/versions.h"
#include "services/objectstore/object_headers.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxKeys = 1000;

struct ListParams {
  bool v2 = false;
  bool url_encode = false;
  bool fetch_owner = false;
  std::string continuation_token;  // as sent
  bool echo_continuation_token = false;  // sent, even empty
  std::string start_after;         // V2 start-after / V1 marker, as sent
  ListQuery query;
};

std::string Param(const http::QueryParams& q, std::string_view name) {
  return q.Get(name) ? *q.Get(name) : std::string();
}

// What every listing takes: prefix, delimiter, encoding-type, max-keys.
Status ParseCommonParams(const http::QueryParams& q, ListParams& p) {
  p.query.prefix = Param(q, "prefix");
  p.query.delimiter = Param(q, "delimiter");
  if (const std::string* enc = q.Get("encoding-type")) {
    if (*enc != "url") return http::ApiStatus("InvalidArgument", "Invalid Encoding Method specified in Request");
    p.url_encode = true;
  }
  if (const std::string* mk = q.Get("max-keys")) {
    auto n = ParseUint(*mk);
    if (!n) return http::ApiStatus("InvalidArgument", "Provided max-keys not an integer or within integer range");
    p.query.max_keys = static_cast<size_t>(std::min<uint64_t>(*n, kMaxKeys));
  }
  return Status::OK();
}

Result<ListParams> ParseListParams(const http::QueryParams& q, bool v2) {
  ListParams p;
  p.v2 = v2;
  auto get = [&](std::string_view name) { return Param(q, name); };
  ANNEX_RETURN_IF_ERROR(ParseCommonParams(q, p));
  p.start_after = get(v2 ? "start-after" : "marker");
  p.query.marker = p.start_after;
  if (v2) {
    p.fetch_owner = get("fetch-owner") == "true";
    // An empty token is no token, as S3 takes it: the listing starts over.
    const std::string* token = q.Get("continuation-token");
    if (token && !token->empty()) {
      auto decoded = Base64Decode(*token);
      if (!decoded || decoded->empty() || decoded->front() != 'k') {
        return http::ApiStatus("InvalidArgument", "The continuation token provided is incorrect");
      }
      p.query.marker = decoded->substr(1);
    }
    if (token) p.continuation_token = *token;
    p.echo_continuation_token = token != nullptr;
  }
  return p;
}

// Opaque to clients; a version letter keeps the format changeable.
std::string EncodeToken(std::string_view last_entry) { return Base64Encode("k" + std::string(last_entry)); }

void AddContents(http::XmlNode root, const ListParams& p, const ListPage& page,
                 const std::function<std::string(std::string_view)>& enc) {
  for (const auto& o : page.objects) {
    http::XmlNode c = root.Child("Contents");
    c.Add("Key", enc(o.key)).Add("LastModified", Iso8601(o.modified_ms)).Add("ETag", QuoteEtag(o.etag));
    AddListedChecksum(o, c);
    c.Add("Size", o.size).Add("StorageClass", "STANDARD");
    if (!p.v2 || p.fetch_owner) AddOwner(c, "Owner", o.owner_id, o.owner_name);
  }
  for (const auto& cp : page.common_prefixes) root.Child("CommonPrefixes").Add("Prefix", enc(cp));
}

std::string RenderList(std::string_view bucket, const ListParams& p, const ListPage& page) {
  auto enc = [&](std::string_view s) { return p.url_encode ? UriEncode(s, /*keep_slash=*/true) : std::string(s); };
  http::XmlDocument doc("ListBucketResult", http::kS3XmlNamespace);
  http::XmlNode root = doc.root();
  root.Add("Name", bucket);
  // V1 echoes Prefix unencoded (botocore decodes it only for V2).
  root.Add("Prefix", p.v2 ? enc(p.query.prefix) : p.query.prefix);
  if (p.v2) {
    if (p.echo_continuation_token) root.Add("ContinuationToken", p.continuation_token);
    if (page.truncated) root.Add("NextContinuationToken", EncodeToken(page.last_entry));
    root.Add("KeyCount", static_cast<uint64_t>(page.objects.size() + page.common_prefixes.size()));
    if (!p.start_after.empty()) root.Add("StartAfter", enc(p.start_after));
  } else {
    root.Add("Marker", enc(p.start_after));
    if (page.truncated && !p.query.delimiter.empty()) root.Add("NextMarker", enc(page.last_entry));
  }
  root.Add("MaxKeys", static_cast<uint64_t>(p.query.max_keys));
  if (!p.query.delimiter.empty()) root.Add("Delimiter", enc(p.query.delimiter));
  if (p.url_encode) root.Add("EncodingType", "url");
  root.AddBool("IsTruncated", page.truncated);
  AddContents(root, p, page, enc);
  return doc.Render();
}

// ListObjectVersions' parameters: the common ones, and the markers.
struct VersionParams {
  ListParams common;  // prefix, delimiter, max-keys, encoding
  VersionListQuery query;
  std::string version_id_marker;  // as sent
};

Result<VersionParams> ParseVersionParams(const http::QueryParams& q) {
  VersionParams p;
  ANNEX_RETURN_IF_ERROR(ParseCommonParams(q, p.common));
  p.query.prefix = p.common.query.prefix;
  p.query.delimiter = p.common.query.delimiter;
  p.query.max_keys = p.common.query.max_keys;
  p.query.key_marker = Param(q, "key-marker");
  p.version_id_marker = Param(q, "version-id-marker");
  if (!p.version_id_marker.empty()) {
    if (p.query.key_marker.empty()) {
      return http::ApiStatus("InvalidArgument", "A version-id marker cannot be specified without a key marker.");
    }
    ANNEX_ASSIGN_OR_RETURN(p.query.version_id_marker, ParseVersionId(p.version_id_marker));
  }
  return p;
}

std::string RenderVersions(std::string_view bucket, const VersionParams& p, const VersionPage& page) {
  auto enc = [&](std::string_view s) {
    return p.common.url_encode ? UriEncode(s, /*keep_slash=*/true) : std::string(s);
  };
  http::XmlDocument doc("ListVersionsResult", http::kS3XmlNamespace);
  http::XmlNode root = doc.root();
  root.Add("Name", bucket);
  root.Add("Prefix", enc(p.query.prefix));
  root.Add("KeyMarker", enc(p.query.key_marker));
  root.Add("VersionIdMarker", p.version_id_marker);
  if (page.truncated) {
    root.Add("NextKeyMarker", enc(page.next_key_marker));
    if (page.next_version_id_marker) root.Add("NextVersionIdMarker", *page.next_version_id_marker);
  }
  root.Add("MaxKeys", static_cast<uint64_t>(p.query.max_keys));
  if (!p.query.delimiter.empty()) root.Add("Delimiter", enc(p.query.delimiter));
  if (p.common.url_encode) root.Add("EncodingType", "url");
  root.AddBool("IsTruncated", page.truncated);
  for (const auto& [o, latest] : page.versions) {
    http::XmlNode v = root.Child(o.delete_marker ? "DeleteMarker" : "Version");
    v.Add("Key", enc(o.key)).Add("VersionId", VersionIdText(o)).AddBool("IsLatest", latest);
    v.Add("LastModified", Iso8601(o.modified_ms));
    if (!o.delete_marker) {
      v.Add("ETag", QuoteEtag(o.etag));
      AddListedChecksum(o, v);
      v.Add("Size", o.size).Add("StorageClass", "STANDARD");
    }
    AddOwner(v, "Owner", o.owner_id, o.owner_name);
  }
  for (const auto& cp : page.common_prefixes) root.Child("CommonPrefixes").Add("Prefix", enc(cp));
  return doc.Render();
}

// The bucket named by the call, if the caller may list it.
Result<BucketRecord> LoadListableBucket(S3Call& call, const store::ReadTxn& txn) {
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, call.store.meta().tables(), call.bucket()));
  ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kList));
  return bucket;
}

// One page of the bucket's keys for a caller allowed to list it, rendered
// while the read snapshot lives (and only then).
Result<std::string> RenderPage(S3Call& call, ListParams& params) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadListableBucket(call, txn));
  params.query.may_have_delete_markers = bucket.versioning != Versioning::kOff;
  const Tables& t = call.store.meta().tables();
  ANNEX_ASSIGN_OR_RETURN(ListPage page, ListObjectsPage(txn, t.objects, call.bucket(), params.query));
  return RenderList(call.bucket(), params, page);
}

Result<std::string> RenderVersionPage(S3Call& call, const VersionParams& params) {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  ANNEX_RETURN_IF_ERROR(LoadListableBucket(call, txn).status());
  ANNEX_ASSIGN_OR_RETURN(VersionPage page,
                         ListVersionsPage(txn, call.store.meta().tables(), call.bucket(), params.query));
  return RenderVersions(call.bucket(), params, page);
}

}  // namespace

http::Task<Status> ListObjectVersions(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(VersionParams params, ParseVersionParams(call.query()));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, RenderVersionPage(call, params));
  co_return co_await call.ctx.response.Send(XmlResponse(std::move(body)));
}

http::Task<Status> ListObjects(S3Call& call, bool v2) {
  ANNEX_CO_ASSIGN_OR_RETURN(ListParams params, ParseListParams(call.query(), v2));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, RenderPage(call, params));
  co_return co_await call.ctx.response.Send(XmlResponse(std::move(body)));
}

}  // namespace annex::objectstore
