// GetObjectAttributes (GET /bucket/key?attributes): what HeadObject and
// ListParts would tell about an object, picked by x-amz-object-attributes —
// ETag (unquoted, as S3 gives it here), Checksum (a composite one without
// its "-N", with ChecksumType), ObjectParts, StorageClass, ObjectSize — and
// Last-Modified. Authorized as s3:GetObjectAttributes and s3:GetObject both.

#include <algorithm>
#include <limits>
#include <set>

#include "appliance/core/co_status.h"
#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/handlers.h"
#include "services/objectstore/object_headers.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/object_write.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

constexpr uint64_t kMaxPartsListed = 1000;
constexpr std::string_view kAttributes[] = {"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"};

struct AttributesRequest {
  std::set<std::string, std::less<>> attributes;
  uint64_t max_parts = kMaxPartsListed;
  uint64_t part_number_marker = 0;

  bool Wants(std::string_view a) const { return attributes.count(a) > 0; }
};

Status InvalidAttribute() { return http::ApiStatus("InvalidArgument", "Invalid attribute name specified."); }

Result<uint64_t> ParseCount(const http::Headers& headers, std::string_view header, std::string_view what,
                            uint64_t fallback) {
  const std::string* v = headers.Get(header);
  if (!v) return fallback;
  auto n = ParseUint(Trim(*v));
  if (!n || *n > std::numeric_limits<int32_t>::max()) {
    return http::ApiStatus("InvalidArgument",
                           "Provided " + std::string(what) + " not an integer or within integer range");
  }
  return *n;
}

// x-amz-object-attributes: comma-separated names, possibly over several
// header lines; none, or one S3 does not know, is InvalidArgument.
Result<AttributesRequest> ParseAttributes(const S3Call& call) {
  AttributesRequest a;
  for (const auto& f : call.headers()) {
    if (f.name != "x-amz-object-attributes") continue;
    for (std::string_view name : Split(f.value, ',')) {
      name = Trim(name);
      if (name.empty()) continue;
      if (std::find(std::begin(kAttributes), std::end(kAttributes), name) == std::end(kAttributes)) {
        return InvalidAttribute();
      }
      a.attributes.emplace(name);
    }
  }
  if (a.attributes.empty()) return InvalidAttribute();
  ANNEX_ASSIGN_OR_RETURN(uint64_t max_parts,
                         ParseCount(call.headers(), "x-amz-max-parts", "max-parts", kMaxPartsListed));
  a.max_parts = std::min(max_parts, kMaxPartsListed);
  ANNEX_ASSIGN_OR_RETURN(a.part_number_marker,
                         ParseCount(call.headers(), "x-amz-part-number-marker", "part-number-marker", 0));
  return a;
}

// The version the call names (its current one unless ?versionId=), if the
// caller may both read it and its attributes.
Result<BucketRecord> LoadObjectForAttributes(S3Call& call, ObjectRecord& object) {
  ANNEX_ASSIGN_OR_RETURN(std::optional<std::string> version_id, RequestedVersionId(call));
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
  const Tables& t = call.store.meta().tables();
  ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, call.bucket()));
  S3Target get{version_id ? "s3:GetObjectVersion" : "s3:GetObject", ObjectArn(call.bucket(), call.key())};
  auto authorize = [&](const ObjectRecord* live) -> Status {
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kReadObject, live));  // s3:GetObject(Version)Attributes
    return AuthorizeS3(call, bucket, Access::kReadObject, live, &get);
  };
  ANNEX_RETURN_IF_ERROR(
      LoadRequestedVersion(txn, t, call.bucket(), call.key(), version_id, /*with_data=*/false, authorize, object)
          .status());
  if (object.delete_marker) return DeleteMarkerError(version_id, NoSuchVersion());
  return bucket;
}

void AddChecksum(const ObjectRecord& o, http::XmlNode root) {
  std::optional<ChecksumType> type = ObjectChecksumType(o);
  if (!type) return;
  http::XmlNode c = root.Child("Checksum");
  c.Add("Checksum" + o.checksum_algorithm, ChecksumWithoutPartCount(o.checksum_value));
  c.Add("ChecksumType", ChecksumTypeName(*type));
}

// A multipart object's parts: of a full-object upload only their count (its
// parts have no checksums of their own); otherwise a page of them, as
// ListParts pages an upload's.
void AddParts(const ObjectRecord& o, const AttributesRequest& a, http::XmlNode root) {
  if (o.parts_count == 0) return;
  http::XmlNode parts = root.Child("ObjectParts");
  parts.Add("PartsCount", static_cast<uint64_t>(o.parts_count));
  if (ObjectChecksumType(o) == ChecksumType::kFullObject) return;
  parts.Add("PartNumberMarker", a.part_number_marker);
  const uint64_t total = o.segments.size();
  const uint64_t count = a.part_number_marker >= total ? 0 : std::min(a.max_parts, total - a.part_number_marker);
  const uint64_t next_marker = count == 0 ? 0 : a.part_number_marker + count;
  parts.Add("NextPartNumberMarker", next_marker).Add("MaxParts", a.max_parts);
  parts.AddBool("IsTruncated", a.part_number_marker + count < total);
  for (uint64_t number = a.part_number_marker + 1; number <= next_marker; ++number) {
    const Segment& s = o.segments[number - 1];
    http::XmlNode part = parts.Child("Part");
    part.Add("PartNumber", number).Add("Size", s.size);
    if (!s.checksum.empty() && !o.checksum_algorithm.empty()) part.Add("Checksum" + o.checksum_algorithm, s.checksum);
  }
}

std::string Render(const ObjectRecord& o, const AttributesRequest& a) {
  http::XmlDocument doc("GetObjectAttributesResponse", http::kS3XmlNamespace);
  http::XmlNode root = doc.root();
  if (a.Wants("ETag")) root.Add("ETag", o.etag);
  if (a.Wants("Checksum")) AddChecksum(o, root);
  if (a.Wants("ObjectParts")) AddParts(o, a, root);
  if (a.Wants("StorageClass")) root.Add("StorageClass", "STANDARD");
  if (a.Wants("ObjectSize")) root.Add("ObjectSize", o.size);
  return doc.Render();
}

}  // namespace

http::Task<Status> GetObjectAttributes(S3Call& call) {
  ANNEX_CO_RETURN_IF_ERROR(ValidateObjectKey(call.key()));
  ANNEX_CO_ASSIGN_OR_RETURN(AttributesRequest a, ParseAttributes(call));
  ObjectRecord object;
  ANNEX_CO_ASSIGN_OR_RETURN(BucketRecord bucket, LoadObjectForAttributes(call, object));
  http::Response r = XmlResponse(Render(object, a));
  r.headers.Set("last-modified", HttpDate(object.modified_ms));
  AddVersionIdHeader(bucket, object, r.headers);
  co_return co_await call.ctx.response.Send(std::move(r));
}

}  // namespace annex::objectstore
