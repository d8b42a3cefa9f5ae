// BatchCheckLayerAvailability, GetDownloadUrlForLayer and the layer upload
// (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload): the push path
// of clients that speak the ECR API instead of /v2/.

#include "appliance/core/strings.h"
#include "appliance/http/api_error.h"
#include "services/registry/digest.h"
#include "services/registry/ecr_call.h"

namespace annex::registry {
namespace {

// The largest part ECR takes (LayerPartBlob's maximum), announced as partSize.
constexpr int64_t kPartSize = int64_t{20} << 20;

std::string Where(const EcrCall& call) {
  return "in the repository with name '" + call.repository_name + "' in the registry with id '" + call.account + "'";
}

// The upload `uploadId` names, if it belongs to the call's repository.
Result<UploadRecord> FindUpload(const EcrCall& call, const std::string& uuid) {
  Result<UploadRecord> upload = call.registry.store->GetUpload(uuid);
  if (!upload.ok() || upload->account != call.account || upload->repository != call.repository_name) {
    return http::ApiStatus("UploadNotFoundException", "Upload with id '" + uuid + "' does not exist " + Where(call));
  }
  return upload;
}

Result<std::string> RequiredUploadId(const EcrCall& call) {
  ANNEX_ASSIGN_OR_RETURN(std::string uuid, call.params.RequiredString("uploadId", 1, 64));
  bool ok = uuid.size() == 36;
  for (size_t i = 0; ok && i < uuid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? uuid[i] == '-' : std::isxdigit(static_cast<unsigned char>(uuid[i])) != 0;
  }
  if (!ok) return service::ConstraintError("uploadId", "must satisfy regular expression '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'");
  return uuid;
}

}  // namespace

Task<Answer> BatchCheckLayerAvailability(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto digests, call.params.StringList("layerDigests", 1, 100));
  if (!digests) co_return service::MissingMember("layerDigests");
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  Json out = {{"layers", Json::array()}, {"failures", Json::array()}};
  for (const std::string& digest : *digests) {
    if (!IsValidDigest(digest)) {
      out["failures"].push_back({{"layerDigest", digest}, {"failureCode", "InvalidLayerDigest"},
                                 {"failureReason", "Invalid layer digest"}});
      continue;
    }
    Result<uint64_t> size = co_await call.Blocking(
        [&] { return call.registry.store->RepositoryBlob(call.account, call.repository_name, digest); });
    if (!size.ok()) {
      out["failures"].push_back({{"layerDigest", digest}, {"failureCode", "MissingLayerDigest"},
                                 {"failureReason", "Could not find layer"}});
      continue;
    }
    out["layers"].push_back({{"layerDigest", digest}, {"layerAvailability", "AVAILABLE"}, {"layerSize", *size}});
  }
  co_return out;
}

Task<Answer> GetDownloadUrlForLayer(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string digest, call.params.RequiredString("layerDigest", 1, 1000));
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  if (!IsValidDigest(digest)) co_return service::ConstraintError("layerDigest", "must be a sha256 digest");
  Result<uint64_t> size = co_await call.Blocking(
      [&] { return call.registry.store->RepositoryBlob(call.account, call.repository_name, digest); });
  if (!size.ok()) {
    co_return http::ApiStatus("LayersNotFoundException", "The layer with digest '" + digest + "' does not exist " + Where(call));
  }
  // The /v2/ blob on this appliance; a client presents its registry token there.
  co_return Json{{"downloadUrl", ClientEndpoint(call) + "/v2/" + call.repository_name + "/blobs/" + digest},
                 {"layerDigest", digest}};
}

Task<Answer> InitiateLayerUpload(EcrCall& call) {
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  Result<UploadRecord> upload = co_await call.Blocking([&]() -> Result<UploadRecord> {
    ANNEX_ASSIGN_OR_RETURN(UploadRecord u, call.registry.store->StartUpload(call.account, call.repository_name));
    // The store may leave creating the file to the API that appends to it.
    if (!call.registry.blobs->UploadSize(u.uuid).ok()) ANNEX_RETURN_IF_ERROR(call.registry.blobs->CreateUpload(u.uuid));
    return u;
  });
  if (!upload.ok()) co_return ToEcrError(call, upload.status());
  co_return Json{{"uploadId", upload->uuid}, {"partSize", kPartSize}};
}

Task<Answer> UploadLayerPart(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string uuid, RequiredUploadId(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto first, call.params.Long("partFirstByte", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto last, call.params.Long("partLastByte", 0));
  ANNEX_CO_ASSIGN_OR_RETURN(auto blob64, call.params.String("layerPartBlob"));
  if (!first) co_return service::MissingMember("partFirstByte");
  if (!last) co_return service::MissingMember("partLastByte");
  if (!blob64) co_return service::MissingMember("layerPartBlob");
  std::optional<std::string> blob = Base64Decode(*blob64);
  if (!blob) co_return service::SerializationError("Member 'layerPartBlob' is not valid base64");
  if (blob->size() > static_cast<size_t>(kPartSize)) co_return service::ConstraintError("layerPartBlob", "must be at most 20971520 bytes");
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  if (blob->empty() || *last - *first + 1 != static_cast<int64_t>(blob->size())) {
    co_return http::ApiStatus("InvalidLayerPartException",
                              "The part's byte range " + std::to_string(*first) + "-" + std::to_string(*last) +
                                  " does not match its " + std::to_string(blob->size()) + " bytes");
  }
  Result<uint64_t> size = co_await call.Blocking([&]() -> Result<uint64_t> {
    ANNEX_RETURN_IF_ERROR(FindUpload(call, uuid).status());
    ANNEX_ASSIGN_OR_RETURN(BlobStore::UploadLease lease, call.registry.blobs->Lease(uuid));
    ANNEX_ASSIGN_OR_RETURN(uint64_t have, call.registry.blobs->UploadSize(uuid));
    if (have != static_cast<uint64_t>(*first)) {
      return http::ApiStatus("InvalidLayerPartException", "The part's first byte " + std::to_string(*first) +
                                                              " does not follow the " + std::to_string(have) +
                                                              " bytes received so far");
    }
    ANNEX_ASSIGN_OR_RETURN(uint64_t now, call.registry.blobs->Append(uuid, have, *blob));
    ANNEX_RETURN_IF_ERROR(call.registry.blobs->SyncUpload(uuid));
    return now;
  });
  if (!size.ok()) co_return size.status().code() == StatusCode::kAborted
                               ? http::ApiStatus("InvalidLayerPartException", "Another part of this upload is in progress")
                               : size.status();
  call.ctx.bytes_in = blob->size();
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"uploadId", uuid},
                 {"lastByteReceived", *size - 1}};
}

Task<Answer> CompleteLayerUpload(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string uuid, RequiredUploadId(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto digests, call.params.StringList("layerDigests", 1, 100));
  if (!digests) co_return service::MissingMember("layerDigests");
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  const std::string& digest = digests->front();
  if (!IsValidDigest(digest)) co_return http::ApiStatus("InvalidLayerException", "Invalid layer digest " + digest);
  Status s = co_await call.Blocking([&]() -> Status {
    ANNEX_RETURN_IF_ERROR(FindUpload(call, uuid).status());
    if (call.registry.store->RepositoryBlob(call.account, call.repository_name, digest).ok()) {
      // Nothing more will be appended to it.
      call.registry.store->CancelUpload(uuid).IgnoreError();
      return http::ApiStatus("LayerAlreadyExistsException", "The layer with digest '" + digest + "' already exists " + Where(call));
    }
    // Held while publishing: a part still being appended would race the hash.
    ANNEX_ASSIGN_OR_RETURN(BlobStore::UploadLease lease, call.registry.blobs->Lease(uuid));
    ANNEX_ASSIGN_OR_RETURN(uint64_t have, call.registry.blobs->UploadSize(uuid));
    if (have == 0) return http::ApiStatus("EmptyUploadException", "The upload with id '" + uuid + "' contains no layer parts");
    Result<uint64_t> done = call.registry.store->CompleteUpload(uuid, digest);
    if (!done.ok() && done.status().subcode() == "DIGEST_INVALID") {
      return http::ApiStatus("InvalidLayerException", "The layer digest " + digest + " does not match the uploaded content");
    }
    return done.status();
  });
  ANNEX_CO_RETURN_IF_ERROR(s);
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"uploadId", uuid},
                 {"layerDigest", digest}};
}

}  // namespace annex::registry
