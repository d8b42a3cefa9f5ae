#include "services/objectstore/copy_source.h"

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "appliance/http/query.h"
#include "services/objectstore/conditionals.h"
#include "services/objectstore/object_encryption.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_subresource.h"
#include "services/objectstore/s3_actions.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

Status DeleteMarkerNamedAsSource() {
  return http::ApiStatus("InvalidRequest",
                         "The source of a copy request may not specifically refer to a delete marker by version id.");
}

}  // namespace

Result<CopySource> ParseCopySource(std::string_view header) {
  auto invalid = [] {
    return http::ApiStatus("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  };
  // A literal '?' starts the versionId query; a '?' inside the key is %3F.
  size_t query = header.find('?');
  std::string_view raw = header.substr(0, query);
  std::optional<std::string> version_id;
  if (query != std::string_view::npos) {
    auto params = http::QueryParams::Parse(header.substr(query + 1));
    if (!params.ok()) return invalid();
    if (const std::string* version = params->Get("versionId")) {
      ANNEX_ASSIGN_OR_RETURN(version_id, ParseVersionId(*version));
    }
  }
  auto decoded = UriDecode(raw);
  if (!decoded) return invalid();
  std::string_view path = *decoded;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) return invalid();
  CopySource out{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1)), std::move(version_id)};
  ANNEX_RETURN_IF_ERROR(ValidateObjectKey(out.key));
  return out;
}

Result<ObjectRecord> LoadCopySource(S3Call& call, const CopySource& source, std::vector<std::string>& data_keys) {
  ANNEX_ASSIGN_OR_RETURN(std::optional<CustomerKey> customer,
                         ParseCustomerKey(call.headers(), call.request().tls, "x-amz-copy-source-"));
  ObjectRecord object;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, call.store.meta().BeginRead());
    const Tables& t = call.store.meta().tables();
    ANNEX_ASSIGN_OR_RETURN(BucketRecord bucket, LoadBucket(txn, t, source.bucket));
    S3Target read{source.version_id ? "s3:GetObjectVersion" : "s3:GetObject", ObjectArn(source.bucket, source.key)};
    auto authorize = [&](const ObjectRecord* live) {
      return AuthorizeS3(call, bucket, Access::kReadObject, live, &read);
    };
    ANNEX_RETURN_IF_ERROR(LoadRequestedVersion(txn, t, source.bucket, source.key, source.version_id,
                                               /*with_data=*/true, authorize, object)
                              .status());
    if (object.delete_marker) {
      return DeleteMarkerError(source.version_id, DeleteMarkerNamedAsSource());
    }
  }
  Preconditions pre = ParsePreconditions(call.headers(), "x-amz-copy-source-");
  if (EvaluatePreconditions(pre, object.etag, FromMillis(object.modified_ms)) != ConditionOutcome::kProceed) {
    return http::ApiStatus("PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }
  ANNEX_ASSIGN_OR_RETURN(data_keys, DataKeysOf(object, call.store.keys(), customer));
  return object;
}

void AddCopySourceVersionHeader(const CopySource& source, const ObjectRecord& copied, http::Headers& headers) {
  if (!source.version_id && copied.version_id.empty()) return;
  headers.Set("x-amz-copy-source-version-id", std::string(VersionIdText(copied)));
}

}  // namespace annex::objectstore
