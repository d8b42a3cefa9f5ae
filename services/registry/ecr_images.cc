#include "services/registry/ecr_images.h"

#include "services/registry/digest.h"

namespace annex::registry {

Result<std::vector<ImageId>> ParseImageIds(const EcrCall& call, size_t min_items, size_t max_items) {
  ANNEX_ASSIGN_OR_RETURN(const Json* list, call.params.ObjectList("imageIds", min_items, max_items));
  std::vector<ImageId> out;
  if (!list) {
    if (min_items > 0) return service::MissingMember("imageIds");
    return out;
  }
  for (const Json& j : *list) {
    ImageId id;
    ANNEX_ASSIGN_OR_RETURN(id.digest, service::NestedString(j, "imageDigest", "imageIds.member"));
    ANNEX_ASSIGN_OR_RETURN(id.tag, service::NestedString(j, "imageTag", "imageIds.member"));
    if (id.tag && (id.tag->empty() || id.tag->size() > kMaxImageTag)) {
      return service::ConstraintError("imageIds.member.imageTag", "must have length between 1 and 300");
    }
    out.push_back(std::move(id));
  }
  return out;
}

Json ImageIdJson(std::string_view digest, std::string_view tag) {
  Json j = Json::object();
  if (!digest.empty()) j["imageDigest"] = digest;
  if (!tag.empty()) j["imageTag"] = tag;
  return j;
}

Json ImageIdJson(const ImageId& id) { return ImageIdJson(id.digest.value_or(""), id.tag.value_or("")); }

Json ImageFailure(const ImageId& id, std::string_view code, std::string_view reason) {
  return Json{{"imageId", ImageIdJson(id)}, {"failureCode", code}, {"failureReason", reason}};
}

std::string DescribeImageId(const ImageId& id) {
  auto quoted = [](const std::optional<std::string>& v) { return v ? "'" + *v + "'" : std::string("'null'"); };
  return "imageId {imageDigest:" + quoted(id.digest) + ", imageTag:" + quoted(id.tag) + "}";
}

Resolved ResolveImage(const EcrCall& call, const ImageId& id) {
  Resolved r;
  if (!id.digest && !id.tag) {
    r.failure_code = "MissingDigestAndTag";
    r.failure_reason = "Invalid request parameters: both tag and digest cannot be null";
    return r;
  }
  if (id.digest && !IsValidDigest(*id.digest)) {
    r.failure_code = "InvalidImageDigest";
    r.failure_reason = "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'";
    return r;
  }
  const std::string& reference = id.tag ? *id.tag : *id.digest;
  Result<ManifestRecord> m = call.registry.store->GetManifest(call.account, call.repository_name, reference);
  if (!m.ok()) {
    r.failure_code = "ImageNotFound";
    r.failure_reason = "Requested image not found";
    return r;
  }
  if (id.tag && id.digest && m->digest != *id.digest) {
    r.failure_code = "ImageTagDoesNotMatchDigest";
    r.failure_reason = "Invalid request parameters: image tag and digest do not match";
    return r;
  }
  r.manifest = std::move(*m);
  return r;
}

}  // namespace annex::registry
