#include "services/registry/lifecycle_runner.h"

#include <map>
#include <mutex>
#include <set>

#include "appliance/core/log.h"
#include "appliance/iam/identity_store.h"
#include "appliance/schedule/scheduler.h"

namespace annex::registry {
namespace {

// Hourly rather than ECR's daily: expiry is then at most an hour late, and
// a pass over repositories without policies costs one read each.
constexpr std::string_view kLifecycleSchedule = "registry/lifecycle";
constexpr std::string_view kLifecycleTarget = "registry.lifecycle";
constexpr std::string_view kLifecycleRate = "rate(1 hour)";

struct Evaluations {
  std::mutex mu;
  std::map<std::string, int64_t> last;  // account \0 repo → ms
};

Evaluations& TheEvaluations() {
  static Evaluations* e = new Evaluations();  // never destroyed: used until exit
  return *e;
}

std::string Key(std::string_view account, std::string_view repo) {
  return std::string(account) + '\0' + std::string(repo);
}

// Applies one repository's policy; returns how many images expired.
Result<uint64_t> RunRepository(RegistryStore& store, const RepositoryRecord& repo, int64_t now_ms) {
  ANNEX_ASSIGN_OR_RETURN(LifecyclePolicy policy, ParseLifecyclePolicy(repo.lifecycle_policy));
  ANNEX_ASSIGN_OR_RETURN(auto expiring, PreviewLifecycle(store, repo.account, repo.name, policy, now_ms));
  uint64_t expired = 0;
  for (const LifecycleExpiry& e : expiring) {
    Status s = store.DeleteManifest(repo.account, repo.name, e.digest);
    // Deleted meanwhile, or listed by an index pushed since: not an error of the pass.
    if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kFailedPrecondition) continue;
    ANNEX_RETURN_IF_ERROR(s);
    ++expired;
    log::Info("registry: lifecycle policy expired an image", {{"account", repo.account},
                                                              {"repository", repo.name},
                                                              {"digest", e.digest},
                                                              {"rule", std::to_string(e.rule_priority)}});
  }
  std::lock_guard lock(TheEvaluations().mu);
  TheEvaluations().last[Key(repo.account, repo.name)] = now_ms;
  return expired;
}

}  // namespace

Result<std::vector<LifecycleImage>> LifecycleCandidates(const RegistryStore& store, std::string_view account,
                                                        std::string_view repo) {
  ANNEX_ASSIGN_OR_RETURN(std::vector<ImageEntry> images, store.ListImages(account, repo));
  std::set<std::string> children;
  for (const ImageEntry& e : images) children.insert(e.manifest.children.begin(), e.manifest.children.end());
  std::vector<LifecycleImage> out;
  for (ImageEntry& e : images) {
    if (children.count(e.manifest.digest)) continue;
    out.push_back({e.manifest.digest, std::move(e.tags), e.manifest.pushed_ms});
  }
  return out;
}

Result<std::vector<LifecycleExpiry>> PreviewLifecycle(const RegistryStore& store, std::string_view account,
                                                      std::string_view repo, const LifecyclePolicy& policy,
                                                      int64_t now_ms) {
  ANNEX_ASSIGN_OR_RETURN(std::vector<LifecycleImage> images, LifecycleCandidates(store, account, repo));
  return EvaluateLifecyclePolicy(policy, images, now_ms);
}

Result<LifecycleRunStats> RunLifecyclePolicies(RegistryStore& store, const std::vector<std::string>& accounts,
                                               int64_t now_ms) {
  LifecycleRunStats stats;
  for (const std::string& account : accounts) {
    ANNEX_ASSIGN_OR_RETURN(std::vector<RepositoryRecord> repos, store.ListRepositories(account));
    for (const RepositoryRecord& repo : repos) {
      if (repo.lifecycle_policy.empty()) continue;
      ++stats.repositories;
      Result<uint64_t> expired = RunRepository(store, repo, now_ms);
      if (!expired.ok()) {
        log::Error("registry: lifecycle pass failed", {{"account", account},
                                                       {"repository", repo.name},
                                                       {"error", expired.status().ToString()}});
        continue;
      }
      stats.images_expired += *expired;
    }
  }
  return stats;
}

std::optional<int64_t> LastLifecycleEvaluation(std::string_view account, std::string_view repo) {
  std::lock_guard lock(TheEvaluations().mu);
  auto it = TheEvaluations().last.find(Key(account, repo));
  if (it == TheEvaluations().last.end()) return std::nullopt;
  return it->second;
}

Status RegisterLifecycleSchedule(const std::shared_ptr<Registry>& registry) {
  schedule::Scheduler* scheduler = registry->env.scheduler;
  if (!scheduler) return Status::OK();
  std::weak_ptr<Registry> weak = registry;
  scheduler->RegisterTarget(std::string(kLifecycleTarget), [weak](const schedule::Firing&) -> Status {
    auto r = weak.lock();
    if (!r || !r->env.identities) return Status::OK();
    ANNEX_ASSIGN_OR_RETURN(std::vector<iam::Account> accounts, r->env.identities->ListAccounts());
    std::vector<std::string> ids;
    for (const iam::Account& a : accounts) ids.push_back(a.id);
    ANNEX_ASSIGN_OR_RETURN(LifecycleRunStats stats,
                           RunLifecyclePolicies(*r->store, ids, os::ToUnixMillis(r->env.clock->Now())));
    if (stats.images_expired) {
      log::Info("registry: lifecycle policies applied", {{"repositories", std::to_string(stats.repositories)},
                                                         {"expired", std::to_string(stats.images_expired)}});
    }
    return Status::OK();
  });
  return scheduler->Put({std::string(kLifecycleSchedule), std::string(kLifecycleRate), std::string(kLifecycleTarget), ""});
}

}  // namespace annex::registry
