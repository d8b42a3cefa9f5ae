// ListImages, DescribeImages and BatchGetImage: reading a repository's images.

#include "appliance/http/api_error.h"
#include "services/registry/ecr_images.h"

namespace annex::registry {
namespace {

constexpr int64_t kDefaultListResults = 100;
constexpr int64_t kMaxListResults = 1000;

enum class TagFilter { kAny, kTagged, kUntagged };

Result<TagFilter> ParseTagFilter(const EcrCall& call) {
  ANNEX_ASSIGN_OR_RETURN(const Json* filter, call.params.Object("filter"));
  if (!filter) return TagFilter::kAny;
  ANNEX_ASSIGN_OR_RETURN(auto status, service::NestedString(*filter, "tagStatus", "filter"));
  if (!status || *status == "ANY") return TagFilter::kAny;
  if (*status == "TAGGED") return TagFilter::kTagged;
  if (*status == "UNTAGGED") return TagFilter::kUntagged;
  return service::ConstraintError("filter.tagStatus", "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]");
}

bool Passes(TagFilter f, const ImageEntry& e) {
  return f == TagFilter::kAny || (f == TagFilter::kTagged) == !e.tags.empty();
}

Task<Result<std::vector<ImageEntry>>> LoadImages(EcrCall& call) {
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  Result<std::vector<ImageEntry>> images = co_await call.Blocking(
      [&] { return call.registry.store->ListImages(call.account, call.repository_name); });
  if (!images.ok()) co_return ToEcrError(call, images.status());
  co_return images;
}

Json ImageDetail(const EcrCall& call, const ImageEntry& e) {
  const ManifestRecord& m = e.manifest;
  Json d = {{"registryId", call.account},
            {"repositoryName", call.repository_name},
            {"imageDigest", m.digest},
            {"imageSizeInBytes", m.image_size},
            {"imagePushedAt", EpochSeconds(m.pushed_ms)},
            {"imageManifestMediaType", m.media_type}};
  if (!e.tags.empty()) d["imageTags"] = e.tags;
  std::string artifact = !m.artifact_type.empty() ? m.artifact_type : m.config_media_type;
  if (!artifact.empty()) d["artifactMediaType"] = artifact;
  if (m.last_pulled_ms > 0) d["lastRecordedPullTime"] = EpochSeconds(m.last_pulled_ms);
  return d;
}

}  // namespace

Task<Answer> ListImages(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(TagFilter filter, ParseTagFilter(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto max, call.params.Long("maxResults", 1, kMaxListResults));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<ImageEntry> images, co_await LoadImages(call));
  // One entry per tag, or one for an untagged image; positions are
  // "<digest> <tag>", ordered as the store lists images and their tags.
  size_t limit = static_cast<size_t>(max.value_or(kDefaultListResults));
  Json out = {{"imageIds", Json::array()}};
  std::string last;
  for (const ImageEntry& e : images) {
    if (!Passes(filter, e)) continue;
    std::vector<std::string> tags = e.tags.empty() ? std::vector<std::string>{""} : e.tags;
    for (const std::string& tag : tags) {
      std::string position = e.manifest.digest + " " + tag;
      if (!after.empty() && position <= after) continue;
      if (out["imageIds"].size() == limit) {
        out["nextToken"] = MakeNextToken(last);
        co_return out;
      }
      out["imageIds"].push_back(ImageIdJson(e.manifest.digest, tag));
      last = std::move(position);
    }
  }
  co_return out;
}

namespace {

// DescribeImages with imageIds: each must resolve (ImageNotFoundException otherwise).
Task<Answer> DescribeImagesById(EcrCall& call, const std::vector<ImageId>& ids,
                                const std::vector<ImageEntry>& images) {
  Json out = {{"imageDetails", Json::array()}};
  for (const ImageId& id : ids) {
    Resolved r = co_await call.Blocking([&] { return ResolveImage(call, id); });
    if (r.failure_code == "InvalidImageDigest" || r.failure_code == "MissingDigestAndTag") {
      co_return service::InvalidParameter(r.failure_reason);
    }
    const ImageEntry* found = nullptr;
    for (const ImageEntry& e : images) {
      if (r.manifest && e.manifest.digest == r.manifest->digest) found = &e;
    }
    if (!found) {
      co_return http::ApiStatus("ImageNotFoundException",
                                "The image with " + DescribeImageId(id) + " does not exist within the repository with name '" +
                                    call.repository_name + "' in the registry with id '" + call.account + "'");
    }
    out["imageDetails"].push_back(ImageDetail(call, *found));
  }
  co_return out;
}

// One page of every image passing `filter`, in digest order after `after`.
Json DescribeImagesPage(const EcrCall& call, const std::vector<ImageEntry>& images, TagFilter filter,
                        const std::string& after, size_t limit) {
  Json out = {{"imageDetails", Json::array()}};
  std::string last;
  for (const ImageEntry& e : images) {
    if (!Passes(filter, e) || (!after.empty() && e.manifest.digest <= after)) continue;
    if (out["imageDetails"].size() == limit) {
      out["nextToken"] = MakeNextToken(last);
      break;
    }
    out["imageDetails"].push_back(ImageDetail(call, e));
    last = e.manifest.digest;
  }
  return out;
}

}  // namespace

// imageIds is optional (the model's DescribeImagesRequest): without it every
// image, filtered by tagStatus and paged (100 a page by default); with it
// (1–100 ids) exactly those, and then no paging.
Task<Answer> DescribeImages(EcrCall& call) {
  const Json* given = call.params.Member("imageIds");
  const bool by_id = given && !given->is_null();
  std::vector<ImageId> ids;
  if (by_id) {
    ANNEX_CO_ASSIGN_OR_RETURN(ids, ParseImageIds(call, 1, kMaxBatchImageIds));
  }
  ANNEX_CO_ASSIGN_OR_RETURN(TagFilter filter, ParseTagFilter(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto max, call.params.Long("maxResults", 1, kMaxListResults));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  if (by_id && (max || !after.empty())) {
    co_return service::InvalidParameter("maxResults and nextToken cannot be used when you specify images with imageIds");
  }
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<ImageEntry> images, co_await LoadImages(call));
  if (by_id) co_return co_await DescribeImagesById(call, ids, images);
  co_return DescribeImagesPage(call, images, filter, after, static_cast<size_t>(max.value_or(kDefaultListResults)));
}

Task<Answer> BatchGetImage(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::vector<ImageId> ids, ParseImageIds(call, 1, kMaxBatchImageIds));
  ANNEX_CO_ASSIGN_OR_RETURN(auto accepted, call.params.StringList("acceptedMediaTypes", 1, 100));
  if (!call.repository) co_return RepositoryNotFound(call, call.repository_name);
  Json out = {{"images", Json::array()}, {"failures", Json::array()}};
  for (const ImageId& id : ids) {
    Resolved r = co_await call.Blocking([&] { return ResolveImage(call, id); });
    if (!r.manifest) {
      out["failures"].push_back(ImageFailure(id, r.failure_code, r.failure_reason));
      continue;
    }
    const ManifestRecord& m = *r.manifest;
    if (accepted && std::find(accepted->begin(), accepted->end(), m.media_type) == accepted->end()) {
      out["failures"].push_back(ImageFailure(id, "UnsupportedImageType",
                                             "Image of media type " + m.media_type + " is not among acceptedMediaTypes"));
      continue;
    }
    // Best effort: a pull is recorded for DescribeImages' lastRecordedPullTime.
    call.registry.store->NotePull(call.account, call.repository_name, m.digest);
    Json image = {{"registryId", call.account},
                  {"repositoryName", call.repository_name},
                  {"imageId", ImageIdJson(m.digest, id.tag.value_or(""))},
                  {"imageManifest", m.bytes},
                  {"imageManifestMediaType", m.media_type}};
    out["images"].push_back(std::move(image));
  }
  co_return out;
}

}  // namespace annex::registry
