// ListParts and ListMultipartUploads.

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/bucket_key_scanner.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_key.h"

namespace annex::objectstore {
namespace {

constexpr size_t kMaxListed = 1000;

Result<size_t> ParseLimit(const http::QueryParams& q, std::string_view name) {
  const std::string* v = q.Get(name);
  if (!v) return kMaxListed;
  auto n = ParseUint(*v);
  if (!n) return http::ApiStatus("InvalidArgument", "Provided " + std::string(name) + " not an integer or within integer range");
  return static_cast<size_t>(std::min<uint64_t>(*n, kMaxListed));
}

std::string Param(const http::QueryParams& q, std::string_view name) {
  const std::string* v = q.Get(name);
  return v ? *v : std::string();
}

struct UploadsPage {
  std::vector<UploadRecord> uploads;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

struct UploadsQuery {
  std::string prefix, delimiter, key_marker, upload_id_marker;
  size_t max_uploads = kMaxListed;
};

Result<std::string> UploadKeyOf(std::string_view value) {
  ANNEX_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(value));
  return std::move(u.key);
}

// True when the (key, upload id) entry sorts at or before the markers.
bool AtOrBeforeMarker(const UploadsQuery& q, const std::string& key, std::string_view upload_id) {
  if (q.key_marker.empty()) return false;
  if (key != q.key_marker) return key < q.key_marker;
  return q.upload_id_marker.empty() || upload_id <= q.upload_id_marker;
}

Result<UploadsPage> ScanUploads(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                const UploadsQuery& q) {
  UploadsPage page;
  ANNEX_ASSIGN_OR_RETURN(BucketKeyScanner scan,
                         BucketKeyScanner::Open(txn, t.uploads, bucket, 1 + kUploadIdLength, UploadKeyOf));
  ANNEX_RETURN_IF_ERROR(scan.Seek(q.key_marker > q.prefix ? q.key_marker : q.prefix));
  size_t count = 0;
  while (scan.Valid()) {
    const std::string key = scan.key();
    if (!StartsWith(key, q.prefix)) break;
    size_t cut = q.delimiter.empty() ? std::string::npos : key.find(q.delimiter, q.prefix.size());
    if (cut != std::string::npos) {
      std::string common = key.substr(0, cut + q.delimiter.size());
      if (common != q.key_marker) {
        if (count == q.max_uploads) {
          page.truncated = true;
          break;
        }
        page.common_prefixes.push_back(common);
        page.next_key_marker = common;
        page.next_upload_id_marker.clear();
        ++count;
      }
      std::string next = PrefixSuccessor(common);
      if (next.empty()) break;
      ANNEX_RETURN_IF_ERROR(scan.Seek(next));
      continue;
    }
    ANNEX_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(scan.value()));
    if (!AtOrBeforeMarker(q, key, u.upload_id)) {
      if (count == q.max_uploads) {
        page.truncated = true;
        break;
      }
      page.next_key_marker = key;
      page.next_upload_id_marker = u.upload_id;
      page.uploads.push_back(std::move(u));
      ++count;
    }
    ANNEX_RETURN_IF_ERROR(scan.Next());
  }
  return page;
}

void AddInitiatorAndOwner(http::XmlNode node, std::string_view owner_id, std::string_view owner_name) {
  AddOwner(node, "Initiator", owner_id, owner_name);
  AddOwner(node, "Owner", owner_id, owner_name);
}

}  // namespace

http::Task<Status> ListParts(S3Call& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(size_t max_parts, ParseLimit(call.query(), "max-parts"));
  uint64_t marker = 0;
  if (const std::string* m = call.query().Get("part-number-marker")) {
    auto n = ParseUint(*m);
    if (!n) co_return http::ApiStatus("InvalidArgument", "Provided part-number-marker not an integer or within integer range");
    marker = *n;
  }
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  std::optional<UploadRecord> upload;
  std::vector<PartRecord> parts;
  {
    ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    const Tables& t = call.store.meta().tables();
    ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, call.bucket()));
    ANNEX_CO_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kOwner));
    ANNEX_CO_ASSIGN_OR_RETURN(upload, GetUpload(txn, t, call.bucket(), call.key(), Param(call.query(), "uploadId")));
    if (!upload) co_return NoSuchUpload();
    ANNEX_CO_ASSIGN_OR_RETURN(parts, GetParts(txn, t, upload->upload_id));
  }
  http::XmlDocument doc("ListPartsResult", http::kS3XmlNamespace);
  http::XmlNode root = doc.root();
  root.Add("Bucket", call.bucket()).Add("Key", upload->key).Add("UploadId", upload->upload_id);
  root.Add("PartNumberMarker", marker);
  AddInitiatorAndOwner(root, upload->owner_id, upload->owner_name);
  root.Add("StorageClass", "STANDARD");
  if (!upload->checksum_algorithm.empty()) {
    root.Add("ChecksumAlgorithm", upload->checksum_algorithm).Add("ChecksumType", upload->checksum_type);
  }
  size_t listed = 0;
  bool truncated = false;
  uint64_t next_marker = 0;
  for (const auto& p : parts) {
    if (p.number <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    http::XmlNode node = root.Child("Part");
    node.Add("PartNumber", p.number).Add("LastModified", Iso8601(p.modified_ms)).Add("ETag", QuoteEtag(p.etag));
    node.Add("Size", p.size);
    if (!p.checksum_value.empty() && !upload->checksum_algorithm.empty()) {
      node.Add("Checksum" + upload->checksum_algorithm, p.checksum_value);
    }
    next_marker = p.number;
    ++listed;
  }
  root.Add("NextPartNumberMarker", next_marker).Add("MaxParts", static_cast<uint64_t>(max_parts));
  root.AddBool("IsTruncated", truncated);
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

http::Task<Status> ListMultipartUploads(S3Call& call) {
  const http::QueryParams& q = call.query();
  UploadsQuery query{Param(q, "prefix"), Param(q, "delimiter"), Param(q, "key-marker"), Param(q, "upload-id-marker")};
  ANNEX_CO_ASSIGN_OR_RETURN(query.max_uploads, ParseLimit(q, "max-uploads"));
  bool url = false;
  if (const std::string* enc = q.Get("encoding-type")) {
    if (*enc != "url") co_return http::ApiStatus("InvalidArgument", "Invalid Encoding Method specified in Request");
    url = true;
  }
  auto enc = [&](std::string_view s) { return url ? UriEncode(s, /*keep_slash=*/true) : std::string(s); };
  UploadsPage page;
  {
    ANNEX_CO_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    const Tables& t = call.store.meta().tables();
    ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, call.bucket()));
    ANNEX_CO_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kList));
    ANNEX_CO_ASSIGN_OR_RETURN(page, ScanUploads(txn, t, call.bucket(), query));
  }
  http::XmlDocument doc("ListMultipartUploadsResult", http::kS3XmlNamespace);
  http::XmlNode root = doc.root();
  root.Add("Bucket", call.bucket()).Add("KeyMarker", enc(query.key_marker)).Add("UploadIdMarker", query.upload_id_marker);
  root.Add("NextKeyMarker", page.truncated ? enc(page.next_key_marker) : "");
  root.Add("NextUploadIdMarker", page.truncated ? page.next_upload_id_marker : "");
  if (!query.prefix.empty()) root.Add("Prefix", enc(query.prefix));
  if (!query.delimiter.empty()) root.Add("Delimiter", enc(query.delimiter));
  root.Add("MaxUploads", static_cast<uint64_t>(query.max_uploads));
  if (url) root.Add("EncodingType", "url");
  root.AddBool("IsTruncated", page.truncated);
  for (const auto& u : page.uploads) {
    http::XmlNode node = root.Child("Upload");
    node.Add("Key", enc(u.key)).Add("UploadId", u.upload_id);
    AddInitiatorAndOwner(node, u.owner_id, u.owner_name);
    node.Add("StorageClass", "STANDARD").Add("Initiated", Iso8601(u.initiated_ms));
    if (!u.checksum_algorithm.empty()) {
      node.Add("ChecksumAlgorithm", u.checksum_algorithm).Add("ChecksumType", u.checksum_type);
    }
  }
  for (const auto& cp : page.common_prefixes) root.Child("CommonPrefixes").Add("Prefix", enc(cp));
  co_return co_await call.ctx.response.Send(XmlResponse(doc.Render()));
}

}  // namespace annex::objectstore
