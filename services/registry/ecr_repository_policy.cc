#include "services/registry/ecr_repository_policy.h"

#include <mutex>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "appliance/http/api_error.h"

namespace annex::registry {
namespace {

// Repositories with policies are few; past this the cache starts afresh
// rather than growing with every policy ever set.
constexpr size_t kMaxCached = 1024;

struct Cache {
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<const policy::Policy>> compiled;
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: used until exit
  return *cache;
}

// ECR repository policies name no Resource: a policy covers the repository
// it is attached to. The evaluator wants one, so each statement without
// gets "*" — which, attached to one repository, still means only it.
std::string WithImplicitResource(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("Statement")) return std::string(text);
  auto add = [](nlohmann::json& statement) {
    if (statement.is_object() && !statement.contains("Resource") && !statement.contains("NotResource")) {
      statement["Resource"] = "*";
    }
  };
  nlohmann::json& statements = doc["Statement"];
  if (statements.is_array()) {
    for (auto& statement : statements) add(statement);
  } else {
    add(statements);
  }
  return doc.dump();
}

}  // namespace

Result<std::shared_ptr<const policy::Policy>> CompileRepositoryPolicy(std::string_view text) {
  Cache& cache = TheCache();
  {
    std::lock_guard lock(cache.mu);
    auto it = cache.compiled.find(std::string(text));
    if (it != cache.compiled.end()) return it->second;
  }
  if (text.size() > kMaxRepositoryPolicyChars) {
    return http::ApiStatus("InvalidParameterException",
                           "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'must have length less "
                           "than or equal to 10240'");
  }
  Result<policy::Policy> parsed = policy::ParsePolicy(WithImplicitResource(text), policy::PolicyKind::kResource);
  if (!parsed.ok()) {
    return http::ApiStatus("InvalidParameterException",
                           "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository "
                           "policy provided: " + parsed.status().message() + "'");
  }
  auto compiled = std::make_shared<const policy::Policy>(std::move(*parsed));
  std::lock_guard lock(cache.mu);
  if (cache.compiled.size() >= kMaxCached) cache.compiled.clear();
  cache.compiled.emplace(std::string(text), compiled);
  return std::shared_ptr<const policy::Policy>(compiled);
}

}  // namespace annex::registry
