// PutImage and BatchDeleteImage: changing a repository's images.

#include "appliance/http/api_error.h"
#include "services/registry/digest.h"
#include "services/registry/ecr_images.h"
#include "services/registry/image_tag.h"
#include "services/registry/manifest.h"

namespace annex::registry {
namespace {

std::string JoinDigests(const std::vector<std::string>& digests) {
  std::string out;
  for (const std::string& d : digests) out += (out.empty() ? "" : ", ") + d;
  return out;
}

// What PutImage must refuse before storing, named as ECR names it: the same
// image again, a moved tag in an IMMUTABLE repository, missing layers or
// child manifests. The store enforces the same rules; checking here first
// lets the error name exactly what is missing.
Status CheckPut(const EcrCall& call, const RepositoryRecord& repo, const Manifest& parsed, const std::string& digest,
                const std::optional<std::string>& tag) {
  RegistryStore& store = *call.registry.store;
  std::string where = "in the repository with name '" + repo.name + "' in the registry with id '" + call.account + "'";
  Result<ManifestRecord> existing = store.GetManifest(call.account, repo.name, tag ? *tag : digest);
  if (existing.ok() && existing->digest == digest) {
    return http::ApiStatus("ImageAlreadyExistsException", "Image with digest '" + digest + "'" +
                                                              (tag ? " and tag '" + *tag + "'" : "") +
                                                              " already exists " + where);
  }
  if (existing.ok() && tag && repo.tag_mutability == TagMutability::kImmutable) {
    return http::ApiStatus("ImageTagAlreadyExistsException",
                           "The image tag '" + *tag + "' already exists in the '" + repo.name +
                               "' repository and cannot be overwritten because the repository is immutable.");
  }
  std::vector<std::string> missing;
  for (const std::string& blob : ReferencedBlobs(parsed)) {
    if (!store.RepositoryBlob(call.account, repo.name, blob).ok()) missing.push_back(blob);
  }
  if (!missing.empty()) {
    return http::ApiStatus("LayersNotFoundException", "Layers with digests '[" + JoinDigests(missing) +
                                                          "]' required for pushing image into repository with name '" +
                                                          repo.name + "' in the registry with id '" + call.account +
                                                          "' do not exist");
  }
  for (const Descriptor& child : parsed.manifests) {
    if (!store.GetManifest(call.account, repo.name, child.digest).ok()) missing.push_back(child.digest);
  }
  if (!missing.empty()) {
    return http::ApiStatus("ReferencedImagesNotFoundException",
                           "Manifests with digests '[" + JoinDigests(missing) + "]' referenced by the image do not exist " +
                               where);
  }
  return Status::OK();
}

// The store's refusals of a manifest, as PutImage names them.
Status PutError(const EcrCall& call, Status s, const std::optional<std::string>& tag) {
  const std::string& sub = s.subcode();
  if (sub == "MANIFEST_BLOB_UNKNOWN" || sub == "BLOB_UNKNOWN") return http::ApiStatus("LayersNotFoundException", s.message());
  if (sub == "MANIFEST_UNKNOWN") return http::ApiStatus("ReferencedImagesNotFoundException", s.message());
  if (sub == "MANIFEST_INVALID") return service::InvalidParameter(s.message());
  if (sub == "TAG_INVALID" || (tag && s.code() == StatusCode::kAlreadyExists)) {
    return http::ApiStatus("ImageTagAlreadyExistsException",
                           "The image tag '" + tag.value_or("") + "' already exists in the '" + call.repository_name +
                               "' repository and cannot be overwritten because the repository is immutable.");
  }
  return ToEcrError(call, std::move(s));
}

// A refused deletion, by tag or by digest, as BatchDeleteImage reports it:
// the store refuses to remove an image an index still lists.
Json DeleteFailure(const ImageId& id, const Status& s) {
  if (s.subcode() == "ImageReferencedByManifestList") {
    return ImageFailure(id, "ImageReferencedByManifestList",
                        "Requested image is referenced by a manifest list: " + s.message());
  }
  return ImageFailure(id, "ImageNotFound", "Requested image not found");
}

}  // namespace

Task<Answer> PutImage(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string bytes, call.params.RequiredString("imageManifest", 1, kMaxManifestBytes));
  ANNEX_CO_ASSIGN_OR_RETURN(auto media_type, call.params.String("imageManifestMediaType"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto tag, call.params.String("imageTag", 1, kMaxImageTag));
  // Stricter than ECR's 1–300 characters: a tag /v2/ clients could not pull is refused here.
  if (tag) ANNEX_CO_RETURN_IF_ERROR(ValidateImageTag(*tag));
  ANNEX_CO_ASSIGN_OR_RETURN(auto claimed, call.params.String("imageDigest"));
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  Result<Manifest> parsed = ParseManifest(bytes, media_type.value_or(""));
  if (!parsed.ok()) {
    co_return service::InvalidParameter("Invalid parameter at 'imageManifest' failed to satisfy constraint: '" +
                               parsed.status().message() + "'");
  }
  std::string digest = DigestOf(bytes);
  if (claimed && *claimed != digest) {
    co_return http::ApiStatus("ImageDigestDoesNotMatchException",
                              "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The provided digest " +
                                  *claimed + " does not match the digest computed for the manifest: " + digest + "'");
  }
  Result<RegistryStore::PutManifestResult> put = co_await call.Blocking([&]() -> Result<RegistryStore::PutManifestResult> {
    ANNEX_RETURN_IF_ERROR(CheckPut(call, repo, *parsed, digest, tag));
    Result<RegistryStore::PutManifestResult> r =
        call.registry.store->PutManifest(call.account, repo.name, bytes, *parsed, tag.value_or(""));
    if (!r.ok()) return PutError(call, r.status(), tag);
    return r;
  });
  if (!put.ok()) co_return put.status();
  co_return Json{{"image",
                  {{"registryId", call.account},
                   {"repositoryName", repo.name},
                   {"imageId", ImageIdJson(put->digest, tag.value_or(""))},
                   {"imageManifest", bytes},
                   {"imageManifestMediaType", parsed->media_type}}}};
}

Task<Answer> BatchDeleteImage(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<ImageId> ids, ParseImageIds(call, 1, kMaxBatchImageIds));
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  Json out = {{"imageIds", Json::array()}, {"failures", Json::array()}};
  RegistryStore& store = *call.registry.store;
  for (const ImageId& id : ids) {
    Json deleted = Json::array();
    Json failure = co_await call.Blocking([&]() -> Json {
      Resolved r = ResolveImage(call, id);
      if (!r.manifest) return ImageFailure(id, r.failure_code, r.failure_reason);
      if (id.tag) {
        Result<std::string> d = store.DeleteTag(call.account, call.repository_name, *id.tag, /*delete_untagged=*/true);
        if (!d.ok()) return DeleteFailure(id, d.status());  // the tag stays
        deleted.push_back(ImageIdJson(*d, *id.tag));
        return nullptr;
      }
      Status s = store.DeleteManifest(call.account, call.repository_name, r.manifest->digest);
      if (!s.ok()) return DeleteFailure(id, s);
      deleted.push_back(ImageIdJson(r.manifest->digest, ""));
      return nullptr;
    });
    if (!failure.is_null()) out["failures"].push_back(std::move(failure));
    for (Json& d : deleted) out["imageIds"].push_back(std::move(d));
  }
  co_return out;
}

}  // namespace annex::registry
