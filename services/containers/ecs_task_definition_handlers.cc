// RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
// ListTaskDefinitionFamilies, DeregisterTaskDefinition.

#include <algorithm>
#include <cstdlib>
#include <map>

#include "appliance/http/api_error.h"
#include "services/containers/ecs_call.h"
#include "services/containers/ecs_tags.h"
#include "services/containers/ecs_task_definitions.h"

namespace annex::containers {

Result<TaskDefinition> LoadTaskDefinition(const Ecs& ecs, const std::string& account, const Json& stored) {
  auto request = stored.find("request");
  if (request == stored.end()) return Status::Corruption("task definition without its request");
  ANNEX_ASSIGN_OR_RETURN(TaskDefinition def, ParseRegisterTaskDefinition(*request));
  def.revision = stored.value("revision", 0);
  def.status = stored.value("status", "ACTIVE");
  def.registeredAt = EpochSeconds(stored.value("registeredMs", int64_t{0}));
  def.taskDefinitionArn = ecs.TaskDefinitionArn(account, def.family, def.revision);
  return def;
}

Result<std::optional<Json>> FindTaskDefinition(const Ecs& ecs, const std::string& account, std::string_view ref) {
  if (ref.starts_with("arn:")) {
    std::string prefix = ecs.Arn(account, "task-definition/");
    if (!ref.starts_with(prefix)) return std::optional<Json>();
    ref.remove_prefix(prefix.size());
  }
  size_t colon = ref.find(':');
  std::string family(ref.substr(0, colon));
  if (family.empty() || family.find('/') != std::string::npos) return std::optional<Json>();
  std::string prefix = EcsKey({account, family}) + "/";
  if (colon != std::string_view::npos) {
    std::string_view rev = ref.substr(colon + 1);
    if (rev.empty() || rev.size() > 10 || !std::all_of(rev.begin(), rev.end(), ::isdigit)) {
      return std::optional<Json>();
    }
    return ecs.store->Get(EcsKind::kTaskDefinition, prefix + RevisionKey(std::atoll(std::string(rev).c_str())));
  }
  // The latest ACTIVE revision: scan back from the newest.
  ANNEX_ASSIGN_OR_RETURN(auto revisions, ecs.store->Scan(EcsKind::kTaskDefinition, prefix));
  for (auto it = revisions.rbegin(); it != revisions.rend(); ++it) {
    if (it->second.value("status", "") == "ACTIVE") return std::optional<Json>(std::move(it->second));
  }
  return std::optional<Json>();
}

namespace {

Answer Described(const EcsCall& call, const Json& stored, bool with_tags) {
  ANNEX_ASSIGN_OR_RETURN(TaskDefinition def, LoadTaskDefinition(call.ecs, call.account, stored));
  Json j = ToJson(def);
  if (stored.contains("deregisteredMs")) j["deregisteredAt"] = EpochSeconds(stored["deregisteredMs"].get<int64_t>());
  Json answer = {{"taskDefinition", std::move(j)}};
  if (with_tags) answer["tags"] = stored.value("tags", Json::array());
  return answer;
}

Status UnableToDescribe() { return ClientError("Unable to describe task definition."); }

}  // namespace

Task<Answer> RegisterTaskDefinition(EcsCall& call) {
  Json request = call.params.doc();
  ANNEX_CO_ASSIGN_OR_RETURN(Json tags, ParseTags(call.params));
  request.erase("tags");
  ANNEX_CO_ASSIGN_OR_RETURN(TaskDefinition def, ParseRegisterTaskDefinition(request));
  auto stored = co_await call.Blocking([&] {
    return call.ecs.store->AppendRevision(EcsKind::kTaskDefinition, EcsKey({call.account, def.family}) + "/", [&](int64_t revision) {
      return Result<Json>(Json{{"family", def.family},
                               {"revision", revision},
                               {"status", "ACTIVE"},
                               {"registeredMs", call.now_ms},
                               {"tags", tags},
                               {"request", request}});
    });
  });
  if (!stored.ok()) co_return stored.status();
  co_return Described(call, *stored, true);
}

Task<Answer> DescribeTaskDefinition(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string ref, call.params.RequiredString("taskDefinition"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto include, call.params.StringList("include", 0, 1));
  bool with_tags = include && !include->empty() && include->front() == "TAGS";
  auto found = co_await call.Blocking([&] { return FindTaskDefinition(call.ecs, call.account, ref); });
  if (!found.ok()) co_return found.status();
  if (!*found) co_return UnableToDescribe();
  co_return Described(call, **found, with_tags);
}

Task<Answer> DeregisterTaskDefinition(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string ref, call.params.RequiredString("taskDefinition"));
  // ECS wants the revision spelled out here: a family alone is refused.
  std::string_view rest = ref.starts_with("arn:") ? LastPathPart(ref) : std::string_view(ref);
  if (rest.find(':') == std::string_view::npos) {
    co_return ClientError("Revision must be specified when deregistering a task definition.");
  }
  auto updated = co_await call.Blocking([&]() -> Result<std::optional<Json>> {
    ANNEX_ASSIGN_OR_RETURN(auto found, FindTaskDefinition(call.ecs, call.account, ref));
    if (!found) return UnableToDescribe();
    std::string key = EcsKey({call.account, (*found)["family"].get<std::string>()}) + "/" +
                      RevisionKey((*found)["revision"].get<int64_t>());
    return call.ecs.store->Update(EcsKind::kTaskDefinition, key, [&](std::optional<Json>& doc) {
      if (!doc) return UnableToDescribe();
      if ((*doc)["status"] == "ACTIVE") {
        (*doc)["status"] = "INACTIVE";
        (*doc)["deregisteredMs"] = call.now_ms;
      }
      return Status::OK();
    });
  });
  if (!updated.ok()) co_return updated.status();
  co_return Described(call, **updated, false);
}

Task<Answer> ListTaskDefinitions(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto family, call.params.String("familyPrefix"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto status, call.params.String("status"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto sort, call.params.String("sort"));
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 100));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  std::string want = status.value_or("ACTIVE");
  if (want != "ACTIVE" && want != "INACTIVE" && want != "DELETE_IN_PROGRESS") {
    co_return InvalidParameter("Invalid status: " + want);
  }
  bool descending = sort == "DESC";
  if (sort && *sort != "ASC" && *sort != "DESC") co_return InvalidParameter("Invalid sort order: " + *sort);
  std::string prefix = family && !family->empty() ? EcsKey({call.account, *family}) + "/" : call.account + "/";
  auto docs = co_await call.Blocking([&] { return call.ecs.store->Scan(EcsKind::kTaskDefinition, prefix); });
  if (!docs.ok()) co_return docs.status();
  // By family name, then revision: store keys put "a-b/…" before "a/…".
  std::stable_sort(docs->begin(), docs->end(), [](const auto& a, const auto& b) {
    std::string fa = a.second.value("family", ""), fb = b.second.value("family", "");
    if (fa != fb) return fa < fb;
    return a.second.value("revision", 0) < b.second.value("revision", 0);
  });
  if (family && !family->empty()) {  // the prefix scan also found "<family>-x/…"; keep the family itself
    std::erase_if(*docs, [&](const auto& d) { return d.second.value("family", "") != *family; });
  }
  if (descending) std::reverse(docs->begin(), docs->end());
  Json arns = Json::array();
  Json answer = Json::object();
  // The token is the last key answered; the scan resumes past it in either order.
  bool skipping = !after.empty();
  for (const auto& [key, doc] : *docs) {
    if (skipping) {
      skipping = key != after;
      continue;
    }
    if (doc.value("status", "") != want) continue;
    if (arns.size() == limit) {
      answer["nextToken"] = MakeNextToken(after);
      break;
    }
    arns.push_back(call.ecs.TaskDefinitionArn(call.account, doc.value("family", ""), doc.value("revision", 0)));
    after = key;
  }
  answer["taskDefinitionArns"] = arns;
  co_return answer;
}

Task<Answer> ListTaskDefinitionFamilies(EcsCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto family_prefix, call.params.String("familyPrefix"));
  ANNEX_CO_ASSIGN_OR_RETURN(auto status, call.params.String("status"));
  ANNEX_CO_ASSIGN_OR_RETURN(size_t limit, ReadMaxResults(call, 100));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  // Without a status ECS lists every family, ACTIVE and INACTIVE.
  std::string want = status.value_or("ALL");
  if (want != "ACTIVE" && want != "INACTIVE" && want != "ALL") co_return InvalidParameter("Invalid status: " + want);
  auto docs = co_await call.Blocking([&] {
    return call.ecs.store->Scan(EcsKind::kTaskDefinition, call.account + "/" + family_prefix.value_or(""));
  });
  if (!docs.ok()) co_return docs.status();
  // A family is ACTIVE while any revision is.
  std::map<std::string, bool> families;
  for (const auto& [key, doc] : *docs) families[doc.value("family", "")] |= doc.value("status", "") == "ACTIVE";
  Json names = Json::array();
  Json answer = Json::object();
  for (const auto& [name, active] : families) {
    std::string key = call.account + "/" + name;
    if (!after.empty() && key <= after) continue;
    if (want == "ACTIVE" ? !active : want == "INACTIVE" ? active : false) continue;
    if (names.size() == limit) {
      answer["nextToken"] = MakeNextToken(after);
      break;
    }
    names.push_back(name);
    after = key;
  }
  answer["families"] = names;
  co_return answer;
}

}  // namespace annex::containers
