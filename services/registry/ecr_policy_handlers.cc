// Lifecycle policies (Put/Get/DeleteLifecyclePolicy, the preview) and
// repository policies (Set/Get/DeleteRepositoryPolicy).

#include <map>
#include <mutex>

#include "appliance/http/api_error.h"
#include "services/registry/ecr_call.h"
#include "services/registry/ecr_repository_policy.h"
#include "services/registry/lifecycle_runner.h"

namespace annex::registry {
namespace {

std::string Where(const EcrCall& call) {
  return "the repository with name '" + call.repository_name + "' in the registry with id '" + call.account + "'";
}

Status NoLifecyclePolicy(const EcrCall& call) {
  return http::ApiStatus("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for " + Where(call));
}

Status NoRepositoryPolicy(const EcrCall& call) {
  return http::ApiStatus("RepositoryPolicyNotFoundException", "Repository policy does not exist for " + Where(call));
}

Json LifecycleAnswer(const EcrCall& call, const std::string& text) {
  Json out = {{"registryId", call.account}, {"repositoryName", call.repository_name}, {"lifecyclePolicyText", text}};
  if (auto at = LastLifecycleEvaluation(call.account, call.repository_name)) out["lastEvaluatedAt"] = EpochSeconds(*at);
  return out;
}

// Previews are computed at once and kept in memory, as ECR keeps them for
// a while: the last one per repository.
struct Previews {
  std::mutex mu;
  std::map<std::string, Json> by_repository;
};

Previews& ThePreviews() {
  static Previews* p = new Previews();  // never destroyed: used until exit
  return *p;
}

std::string PreviewKey(const EcrCall& call) { return call.account + '\0' + call.repository_name; }

}  // namespace

Task<Answer> PutLifecyclePolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string text, call.params.RequiredString("lifecyclePolicyText"));
  ANNEX_CO_ASSIGN_OR_RETURN(LifecyclePolicy parsed, ParseLifecyclePolicy(text));
  (void)parsed;
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) {
    r.lifecycle_policy = text;
    r.lifecycle_updated_ms = call.now_ms;
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"lifecyclePolicyText", text}};
}

Task<Answer> GetLifecyclePolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  if (repo.lifecycle_policy.empty()) co_return NoLifecyclePolicy(call);
  co_return LifecycleAnswer(call, repo.lifecycle_policy);
}

Task<Answer> DeleteLifecyclePolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord before, RequireRepository(call));
  if (before.lifecycle_policy.empty()) co_return NoLifecyclePolicy(call);
  std::string text;
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) -> Status {
    if (r.lifecycle_policy.empty()) return NoLifecyclePolicy(call);
    text = std::move(r.lifecycle_policy);
    r.lifecycle_policy.clear();
    r.lifecycle_updated_ms = call.now_ms;
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return LifecycleAnswer(call, text);
}

Task<Answer> StartLifecyclePolicyPreview(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto given, call.params.String("lifecyclePolicyText"));
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  std::string text = given ? *given : repo.lifecycle_policy;
  if (text.empty()) co_return NoLifecyclePolicy(call);
  ANNEX_CO_ASSIGN_OR_RETURN(LifecyclePolicy policy, ParseLifecyclePolicy(text));
  Result<std::vector<LifecycleExpiry>> expiring = co_await call.Blocking(
      [&] { return PreviewLifecycle(*call.registry.store, call.account, call.repository_name, policy, call.now_ms); });
  if (!expiring.ok()) co_return ToEcrError(call, expiring.status());
  Json results = Json::array();
  for (const LifecycleExpiry& e : *expiring) {
    Json r = {{"imageDigest", e.digest},
              {"imagePushedAt", EpochSeconds(e.pushed_ms)},
              {"action", {{"type", "EXPIRE"}}},
              {"appliedRulePriority", e.rule_priority}};
    if (!e.tags.empty()) r["imageTags"] = e.tags;
    results.push_back(std::move(r));
  }
  Json preview = {{"registryId", call.account},
                  {"repositoryName", call.repository_name},
                  {"lifecyclePolicyText", text},
                  {"status", "COMPLETE"},
                  {"previewResults", std::move(results)},
                  {"summary", {{"expiringImageTotalCount", expiring->size()}}}};
  {
    std::lock_guard lock(ThePreviews().mu);
    ThePreviews().by_repository[PreviewKey(call)] = preview;
  }
  co_return Json{{"registryId", call.account},
                 {"repositoryName", call.repository_name},
                 {"lifecyclePolicyText", text},
                 {"status", "COMPLETE"}};
}

Task<Answer> GetLifecyclePolicyPreview(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  (void)repo;
  std::lock_guard lock(ThePreviews().mu);
  auto it = ThePreviews().by_repository.find(PreviewKey(call));
  if (it == ThePreviews().by_repository.end()) {
    co_return http::ApiStatus("LifecyclePolicyPreviewNotFoundException",
                              "There is no dry run for " + Where(call));
  }
  co_return it->second;
}

Task<Answer> SetRepositoryPolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string text, call.params.RequiredString("policyText", 0, kMaxRepositoryPolicyChars));
  ANNEX_CO_ASSIGN_OR_RETURN(auto force, call.params.Bool("force"));
  (void)force;  // ECR's lock-out check is not made here: the account root can always reset the policy
  ANNEX_CO_ASSIGN_OR_RETURN(auto compiled, CompileRepositoryPolicy(text));
  (void)compiled;
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) {
    r.policy = text;
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"policyText", text}};
}

Task<Answer> GetRepositoryPolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  if (repo.policy.empty()) co_return NoRepositoryPolicy(call);
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"policyText", repo.policy}};
}

Task<Answer> DeleteRepositoryPolicy(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord before, RequireRepository(call));
  if (before.policy.empty()) co_return NoRepositoryPolicy(call);
  std::string text;
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) -> Status {
    if (r.policy.empty()) return NoRepositoryPolicy(call);
    text = std::move(r.policy);
    r.policy.clear();
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json{{"registryId", call.account}, {"repositoryName", call.repository_name}, {"policyText", text}};
}

}  // namespace annex::registry
