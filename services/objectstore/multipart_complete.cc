// CompleteMultipartUpload: validates the part list and turns the parts'
// data files into the object's segments — no data is copied; GET streams
// the segments in order.

#include <algorithm>
#include <map>
#include <unordered_set>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/multipart_checksum.h"
#include "services/objectstore/multipart_etag.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/s3_xml.h"

namespace annex::objectstore {
namespace {

constexpr uint64_t kMinPartSize = 5 << 20;
constexpr size_t kMaxCompleteBody = 4 << 20;
constexpr size_t kMaxParts = 10000;

struct RequestedPart {
  uint32_t number;
  std::string etag;  // unquoted
  NamedPartChecksums checksums;
};

Status InvalidPart() {
  return http::ApiStatus("InvalidPart",
                         "One or more of the specified parts could not be found. The part may not have been uploaded, "
                         "or the specified entity tag may not have matched the part's entity tag.");
}

std::string Unquote(std::string_view etag) {
  etag = Trim(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

Result<std::vector<RequestedPart>> ParsePartList(std::string_view body) {
  ANNEX_ASSIGN_OR_RETURN(pugi::xml_document doc, ParseS3Document(body, "CompleteMultipartUpload"));
  pugi::xml_node root = doc.document_element();
  std::vector<RequestedPart> parts;
  for (pugi::xml_node p : root.children("Part")) {
    auto number = ParseUint(http::ChildText(p, "PartNumber"));
    if (!number || *number < 1 || *number > kMaxParts) return MalformedXml();
    if (!parts.empty() && *number <= parts.back().number) {
      return http::ApiStatus("InvalidPartOrder",
                             "The list of parts was not in ascending order. Parts must be ordered by part number.");
    }
    parts.push_back({static_cast<uint32_t>(*number), Unquote(http::ChildText(p, "ETag")), {}});
    for (pugi::xml_node c : p.children()) {
      std::string_view name = c.name();
      if (StartsWith(name, "Checksum")) parts.back().checksums.emplace_back(name.substr(8), c.text().get());
    }
  }
  if (parts.empty()) return MalformedXml();
  return parts;
}

// Checks the requested parts against the stored ones and builds the
// object's data description (segments, size, ETag, checksum).
Status AssembleObject(const std::vector<RequestedPart>& requested, const std::vector<PartRecord>& stored,
                      const UploadRecord& upload, ObjectRecord& out) {
  std::map<uint32_t, const PartRecord*> by_number;
  for (const auto& p : stored) by_number[p.number] = &p;
  std::vector<const PartRecord*> chosen;
  for (const auto& r : requested) {
    auto it = by_number.find(r.number);
    if (it == by_number.end() || it->second->etag != r.etag) return InvalidPart();
    ANNEX_RETURN_IF_ERROR(CheckCompletedPartChecksum(upload, r.checksums, *it->second));
    chosen.push_back(it->second);
  }
  std::vector<std::string> etags;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const PartRecord& part = *chosen[i];
    if (i + 1 < chosen.size() && part.size < kMinPartSize) {
      return http::ApiStatus("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");
    }
    out.segments.push_back({part.file_id, part.size, part.checksum_value, part.wrapped_key});
    out.size += part.size;
    etags.push_back(part.etag);
  }
  ANNEX_ASSIGN_OR_RETURN(out.etag, CompositeEtag(etags));
  out.parts_count = static_cast<uint32_t>(requested.size());
  ANNEX_ASSIGN_OR_RETURN(out.checksum_value, MultipartObjectChecksum(upload, chosen));
  if (!out.checksum_value.empty()) out.checksum_algorithm = upload.checksum_algorithm;
  return Status::OK();
}

std::string RenderResult(const S3Call& call, const ObjectRecord& r) {
  http::XmlDocument doc("CompleteMultipartUploadResult", http::kS3XmlNamespace);
  std::string location = call.request().tls ? "https://" : "http://";
  location.append(call.headers().GetOr("host", "localhost"));
  location += "/" + call.bucket() + "/" + UriEncode(r.key, /*keep_slash=*/true);
  doc.root().Add("Location", location).Add("Bucket", call.bucket()).Add("Key", r.key).Add("ETag", QuoteEtag(r.etag));
  if (!r.checksum_algorithm.empty()) doc.root().Add("Checksum" + r.checksum_algorithm, r.checksum_value);
  if (auto type = ObjectChecksumType(r)) doc.root().Add("ChecksumType", ChecksumTypeName(*type));
  return doc.Render();
}

}  // namespace

http::Task<Status> CompleteMultipartUpload(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadAuthorizedBucket(call, Access::kWrite));
  const std::string* upload_id = call.query().Get("uploadId");
  if (!upload_id) co_return NoSuchUpload();
  ANNEX_CO_ASSIGN_OR_RETURN(WriteConditions conditions, ParseWriteConditions(call.headers()));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string body, co_await http::ReadSmallBody(call.ctx.body, kMaxCompleteBody));
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<RequestedPart> requested, ParsePartList(body));
  const Tables& t = call.store.meta().tables();
  const int64_t now = call.store.NowMillis();
  ObjectRecord record;
  std::vector<std::string> unused;  // replaced object's files + parts left out
  ANNEX_CO_RETURN_IF_ERROR(co_await call.store.meta().Commit([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    unused.clear();
    record = ObjectRecord{};
    ANNEX_ASSIGN_OR_RETURN(auto upload, GetUpload(txn, t, call.bucket(), call.key(), *upload_id));
    if (!upload) return NoSuchUpload();
    ANNEX_ASSIGN_OR_RETURN(std::vector<PartRecord> parts, GetParts(txn, t, *upload_id));
    ANNEX_RETURN_IF_ERROR(AssembleObject(requested, parts, *upload, record));
    ANNEX_RETURN_IF_ERROR(VerifyCompletionHeaders(call.headers(), *upload, record));
    record.key = upload->key;
    record.modified_ms = now;
    record.owner_id = upload->owner_id;
    record.owner_name = upload->owner_name;
    record.acl = upload->acl;
    record.meta = upload->meta;
    record.tags = upload->tags;
    record.website_redirect = upload->website_redirect;
    record.lock = upload->lock;
    record.sse = upload->sse;
    record.sse_customer_key_md5 = upload->sse_customer_key_md5;
    ANNEX_RETURN_IF_ERROR(StoreObjectRecord(txn, t, delta, call.bucket(), record, conditions, unused));
    std::vector<std::string> ids = FileIdsOf(record);
    std::unordered_set<std::string> used(ids.begin(), ids.end());
    for (auto& p : parts) {
      ANNEX_RETURN_IF_ERROR(txn.Delete(t.parts, EncodePartKey(*upload_id, p.number)));
      if (!used.count(p.file_id)) unused.push_back(std::move(p.file_id));
    }
    return txn.Delete(t.uploads, EncodeUploadKey(call.bucket(), call.key(), *upload_id));
  }));
  http::Response response = XmlResponse(RenderResult(call, record));
  AddVersionIdHeader(bucket, record, response.headers);
  AddEncryptionHeaders(record.sse, record.sse_customer_key_md5, response.headers);
  Status sent = co_await call.ctx.response.Send(std::move(response));
  co_await call.store.RemoveDataFiles(call.ctx.blocking, std::move(unused));
  co_return sent;
}

}  // namespace annex::objectstore
