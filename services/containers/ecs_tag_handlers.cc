// TagResource, UntagResource, ListTagsForResource on clusters, task
// definitions, tasks and services, named by ARN in the caller's account.

#include <algorithm>

#include "appliance/http/api_error.h"
#include "services/containers/ecs_call.h"
#include "services/containers/ecs_tags.h"

namespace annex::containers {
namespace {

constexpr size_t kMaxTags = 50;

struct TaggedResource {
  EcsKind kind;
  std::string key;
};

// Clusters and services that were deleted are gone for tagging too.
bool Gone(const TaggedResource& r, const std::optional<Json>& doc) {
  if (!doc) return true;
  return (r.kind == EcsKind::kCluster || r.kind == EcsKind::kService) && doc->value("status", "") == "INACTIVE";
}

Status NotFound() { return http::ApiStatus("ResourceNotFoundException", "The specified resource could not be found."); }

// The stored document an ARN names, in the caller's account only.
Result<TaggedResource> ResourceOf(const EcsCall& call) {
  ANNEX_ASSIGN_OR_RETURN(std::string arn, call.params.RequiredString("resourceArn"));
  std::string prefix = call.ecs.Arn(call.account, "");
  if (!arn.starts_with("arn:")) return InvalidParameter("The ARN provided is invalid: " + arn);
  if (!arn.starts_with(prefix)) return NotFound();
  std::string rest = arn.substr(prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return InvalidParameter("The ARN provided is invalid: " + arn);
  std::string type = rest.substr(0, slash), path = rest.substr(slash + 1);
  if (path.empty() || path.find("//") != std::string::npos) return NotFound();
  if (type == "cluster" && path.find('/') == std::string::npos) return TaggedResource{EcsKind::kCluster, EcsKey({call.account, path})};
  if (type == "task" || type == "service") {
    if (std::count(path.begin(), path.end(), '/') != 1) return NotFound();
    return TaggedResource{type == "task" ? EcsKind::kTask : EcsKind::kService, call.account + "/" + path};
  }
  if (type == "task-definition") {
    size_t colon = path.find(':');
    std::string rev = colon == std::string::npos ? "" : path.substr(colon + 1);
    if (rev.empty() || rev.size() > 10 || rev.find_first_not_of("0123456789") != std::string::npos) return NotFound();
    return TaggedResource{EcsKind::kTaskDefinition,
                          EcsKey({call.account, path.substr(0, colon)}) + "/" + RevisionKey(std::stoll(rev))};
  }
  return InvalidParameter("Tagging is not supported for this resource type: " + type);
}

}  // namespace

Task<Answer> TagResource(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(TaggedResource r, ResourceOf(call));
  ANNEX_CO_ASSIGN_OR_RETURN(Json tags, ParseTags(call.params));
  if (!call.params.Member("tags")) co_return service::MissingMember("tags");
  auto updated = co_await call.Blocking([&] {
    return call.ecs.store->Update(r.kind, r.key, [&](std::optional<Json>& doc) {
      if (Gone(r, doc)) return NotFound();
      Json current = doc->value("tags", Json::array());
      for (const Json& tag : tags) {
        auto same = std::find_if(current.begin(), current.end(), [&](const Json& t) { return t["key"] == tag["key"]; });
        if (same != current.end()) *same = tag;
        else current.push_back(tag);
      }
      if (current.size() > kMaxTags) return InvalidParameter("A resource can have at most 50 tags.");
      (*doc)["tags"] = current;
      return Status::OK();
    });
  });
  if (!updated.ok()) co_return updated.status();
  co_return Json::object();
}

Task<Answer> UntagResource(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(TaggedResource r, ResourceOf(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto keys, call.params.StringList("tagKeys", 0, kMaxTags));
  if (!keys) co_return service::MissingMember("tagKeys");
  auto updated = co_await call.Blocking([&] {
    return call.ecs.store->Update(r.kind, r.key, [&](std::optional<Json>& doc) {
      if (Gone(r, doc)) return NotFound();
      Json current = doc->value("tags", Json::array());
      current.erase(std::remove_if(current.begin(), current.end(), [&](const Json& t) {
                      return std::find(keys->begin(), keys->end(), t.value("key", "")) != keys->end();
                    }),
                    current.end());
      (*doc)["tags"] = current;
      return Status::OK();
    });
  });
  if (!updated.ok()) co_return updated.status();
  co_return Json::object();
}

Task<Answer> ListTagsForResource(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(TaggedResource r, ResourceOf(call));
  auto doc = co_await call.Blocking([&] { return call.ecs.store->Get(r.kind, r.key); });
  if (!doc.ok()) co_return doc.status();
  if (Gone(r, *doc)) co_return NotFound();
  co_return Json{{"tags", (**doc).value("tags", Json::array())}};
}

}  // namespace annex::containers
