#include "services/objectstore/multipart_checksum.h"

#include "appliance/core/strings.h"
#include "appliance/crypto/checksum.h"
#include "appliance/http/api_error.h"
#include "services/objectstore/multipart_etag.h"
#include "services/objectstore/object_headers.h"

namespace annex::objectstore {
namespace {

Status InvalidPart() {
  return http::ApiStatus("InvalidPart",
                         "One or more of the specified parts could not be found. The part may not have been uploaded, "
                         "or the specified entity tag may not have matched the part's entity tag.");
}

std::string Lower(crypto::ChecksumAlgorithm algorithm) { return ToLower(crypto::ChecksumAlgorithmName(algorithm)); }

bool IsComposite(const UploadRecord& upload) {
  return upload.checksum_type != ChecksumTypeName(ChecksumType::kFullObject);
}

std::optional<crypto::ChecksumAlgorithm> AlgorithmOf(const UploadRecord& upload) {
  if (upload.checksum_algorithm.empty()) return std::nullopt;
  return crypto::ParseChecksumAlgorithm(upload.checksum_algorithm);
}

Status CheckObjectSize(const http::Headers& headers, const ObjectRecord& object) {
  const std::string* size = headers.Get("x-amz-mp-object-size");
  if (!size) return Status::OK();
  auto n = ParseUint(Trim(*size));
  if (!n) return http::ApiStatus("InvalidRequest", "Value for x-amz-mp-object-size header is invalid.");
  if (*n == object.size) return Status::OK();
  return http::ApiStatus("InvalidRequest", "The provided 'x-amz-mp-object-size' header value " + std::to_string(*n) +
                                               " does not match what was computed: " + std::to_string(object.size));
}

Status CheckType(const http::Headers& headers, const UploadRecord& upload) {
  const std::string* type = headers.Get("x-amz-checksum-type");
  if (!type) return Status::OK();
  auto named = ParseChecksumType(Trim(*type));
  if (!named) return http::ApiStatus("InvalidRequest", "Value for x-amz-checksum-type header is invalid.");
  if (upload.checksum_type.empty() || ChecksumTypeName(*named) == upload.checksum_type) return Status::OK();
  return http::ApiStatus("BadDigest", "The " + std::string(ChecksumTypeName(*named)) +
                                          " checksum type you specified did not match the upload's checksum type, " +
                                          upload.checksum_type + ".");
}

}  // namespace

Status CheckCompletedPartChecksum(const UploadRecord& upload, const NamedPartChecksums& named,
                                  const PartRecord& stored) {
  auto alg = AlgorithmOf(upload);
  if (!alg) return named.empty() ? Status::OK() : InvalidPart();
  for (const auto& [name, value] : named) {
    if (name != crypto::ChecksumAlgorithmName(*alg)) continue;
    return Trim(value) == stored.checksum_value ? Status::OK() : InvalidPart();
  }
  if (!IsComposite(upload)) return Status::OK();  // a full-object upload's part checksums are optional
  if (!named.empty()) {
    return http::ApiStatus("BadDigest", "The " + ToLower(named.front().first) + " you specified for part " +
                                            std::to_string(stored.number) + " did not match what we received.");
  }
  return http::ApiStatus("InvalidRequest", "The upload was created using a " + Lower(*alg) +
                                               " checksum. The complete request must include the checksum for each "
                                               "part. It was missing for part " +
                                               std::to_string(stored.number) + " in the request.");
}

Result<std::string> MultipartObjectChecksum(const UploadRecord& upload, const std::vector<const PartRecord*>& parts) {
  auto alg = AlgorithmOf(upload);
  if (!alg) return std::string();
  for (const PartRecord* p : parts) {
    if (p->checksum_value.empty()) return std::string();
  }
  if (IsComposite(upload)) {
    std::vector<std::string> values;
    for (const PartRecord* p : parts) values.push_back(p->checksum_value);
    return CompositeChecksum(*alg, values);
  }
  std::vector<PartCrc> crcs;
  for (const PartRecord* p : parts) crcs.push_back({p->checksum_value, p->size});
  return FullObjectChecksum(*alg, crcs);
}

Status VerifyCompletionHeaders(const http::Headers& headers, const UploadRecord& upload, const ObjectRecord& object) {
  ANNEX_RETURN_IF_ERROR(CheckObjectSize(headers, object));
  ANNEX_RETURN_IF_ERROR(CheckType(headers, upload));
  ANNEX_ASSIGN_OR_RETURN(ChecksumRequest request, ParseChecksumRequest(headers));
  auto alg = AlgorithmOf(upload);
  // Without an algorithm the parts' checksums were not kept as one kind:
  // nothing to verify a whole-object value against (S3 would have added
  // CRC64NVME by default; this store adds no default checksum).
  if (!request.expected || !alg) return Status::OK();
  std::string_view expected = Trim(*request.expected);
  bool matches = *request.algorithm == *alg && !object.checksum_value.empty() &&
                 (expected == object.checksum_value || expected == ChecksumWithoutPartCount(object.checksum_value));
  if (matches) return Status::OK();
  return http::ApiStatus("BadDigest",
                         "The " + Lower(*request.algorithm) + " you specified did not match the calculated checksum.");
}

}  // namespace annex::objectstore
