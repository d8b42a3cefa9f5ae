// TagResource, UntagResource and ListTagsForResource, by repository ARN
// (ecr_api.cc resolves the ARN to the repository), and the tag rules
// CreateRepository shares.

#include "appliance/http/api_error.h"
#include "services/registry/ecr_call.h"

namespace annex::registry {
namespace {

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKey = 128;
constexpr size_t kMaxTagValue = 256;

// Letters, digits, spaces and _.:/=+-@ (AWS's tag character set); bytes of
// multi-byte UTF-8 characters count as letters.
bool ValidTagText(std::string_view s) {
  for (unsigned char c : s) {
    bool ok = c >= 0x80 || std::isalnum(c) || std::string_view(" _.:/=+-@").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Status InvalidTag(std::string message) { return http::ApiStatus("InvalidTagParameterException", std::move(message)); }

Status TooManyTags() {
  return http::ApiStatus("TooManyTagsException", "A resource can have no more than " + std::to_string(kMaxTags) + " tags");
}

Json TagsJson(const std::map<std::string, std::string>& tags) {
  Json out = Json::array();
  for (const auto& [k, v] : tags) out.push_back({{"Key", k}, {"Value", v}});
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseTagList(const EcrCall& call, std::string_view member) {
  std::map<std::string, std::string> tags;
  ANNEX_ASSIGN_OR_RETURN(const Json* list, call.params.ObjectList(member, 0, SIZE_MAX));
  if (!list) return tags;
  if (list->size() > kMaxTags) return TooManyTags();
  std::string where = std::string(member) + ".member";
  for (const Json& t : *list) {
    ANNEX_ASSIGN_OR_RETURN(auto key, service::NestedString(t, "Key", where));
    ANNEX_ASSIGN_OR_RETURN(auto value, service::NestedString(t, "Value", where));
    if (!key || !value) return InvalidTag("Each tag needs a Key and a Value");
    if (key->empty() || key->size() > kMaxTagKey || !ValidTagText(*key)) {
      return InvalidTag("Tag key '" + key->substr(0, kMaxTagKey) + "' must be 1 to 128 characters of letters, digits, "
                        "spaces and _.:/=+-@");
    }
    if (key->starts_with("aws:")) return InvalidTag("Tag keys starting with 'aws:' are reserved");
    if (value->size() > kMaxTagValue || !ValidTagText(*value)) {
      return InvalidTag("Tag value for key '" + *key + "' must be 0 to 256 characters of letters, digits, spaces "
                        "and _.:/=+-@");
    }
    tags[*key] = *value;
  }
  return tags;
}

Task<Answer> TagResource(EcrCall& call) {
  if (!call.params.Member("tags")) co_return service::MissingMember("tags");
  ANNEX_CO_ASSIGN_OR_RETURN(auto tags, ParseTagList(call, "tags"));
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) -> Status {
    std::map<std::string, std::string> merged = r.tags;
    for (const auto& [k, v] : tags) merged[k] = v;
    if (merged.size() > kMaxTags) return TooManyTags();
    r.tags = std::move(merged);
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json::object();
}

Task<Answer> UntagResource(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto keys, call.params.StringList("tagKeys", 0, 200));
  if (!keys) co_return service::MissingMember("tagKeys");
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) -> Status {
    for (const std::string& k : *keys) r.tags.erase(k);
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json::object();
}

Task<Answer> ListTagsForResource(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  co_return Json{{"tags", TagsJson(repo.tags)}};
}

}  // namespace annex::registry
