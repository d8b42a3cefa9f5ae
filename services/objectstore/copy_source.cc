#include "services/objectstore/copy_source.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/query.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/s3_actions.h"

namespace annex::objectstore {

Result<CopySource> ParseCopySource(std::string_view header) {
  auto invalid = [] {
    return http::ApiStatus("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  };
  // A literal '?' starts the versionId query; a '?' inside the key is %3F.
  size_t query = header.find('?');
  std::string_view raw = header.substr(0, query);
  if (query != std::string_view::npos) {
    auto params = http::QueryParams::Parse(header.substr(query + 1));
    if (!params.ok()) return invalid();
    if (const std::string* version = params->Get("versionId")) ANNEX_RETURN_IF_ERROR(CheckVersionId(*version));
  }
  auto decoded = UriDecode(raw);
  if (!decoded) return invalid();
  std::string_view path = *decoded;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) return invalid();
  CopySource out{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(out.key));
  return out;
}

Result<ObjectRecord> LoadCopySource(S3Call& call, const CopySource& source) {
  std::optional<ObjectRecord> object;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    const Tables& t = call.store.meta().tables();
    ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, source.bucket));
    ANNEX_ASSIGN_OR_RETURN(object, GetObject(txn, t, source.bucket, source.key));
    S3Target read{"s3:GetObject", ObjectArn(source.bucket, source.key)};
    ANNEX_RETURN_IF_ERROR(AuthorizeS3(call, bucket, Access::kReadObject, object ? &*object : nullptr, &read));
  }
  if (!object) return NoSuchKey();
  Preconditions pre = ParsePreconditions(call.headers(), "x-amz-copy-source-");
  if (EvaluatePreconditions(pre, object->etag, FromMillis(object->modified_ms)) != ConditionOutcome::kProceed) {
    return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  return std::move(*object);
}

}  // namespace annex::objectstore
