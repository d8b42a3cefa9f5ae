// CreateRepository, DescribeRepositories, DeleteRepository,
// PutImageTagMutability, PutImageScanningConfiguration, DescribeRegistry and
// GetAuthorizationToken.

#include "appliance/http/api_error.h"
#include "services/registry/ecr_call.h"
#include "services/registry/repository_name.h"

namespace annex::registry {
namespace {

constexpr int64_t kMaxDescribeResults = 1000;
// Without maxResults ECR answers up to 100 and a nextToken (the model's documentation).
constexpr int64_t kDefaultDescribeResults = 100;
constexpr size_t kMaxRepositoryNames = 100;

Result<TagMutability> ParseMutability(const std::string& value) {
  if (value == "MUTABLE") return TagMutability::kMutable;
  if (value == "IMMUTABLE") return TagMutability::kImmutable;
  if (value == "IMMUTABLE_WITH_EXCLUSION" || value == "MUTABLE_WITH_EXCLUSION") {
    return service::InvalidParameter("Image tag mutability " + value + " (exclusion filters) is not supported on this appliance");
  }
  return service::ConstraintError("imageTagMutability", "Member must satisfy enum value set: [MUTABLE, IMMUTABLE]");
}

const char* MutabilityName(TagMutability m) { return m == TagMutability::kImmutable ? "IMMUTABLE" : "MUTABLE"; }

// scanOnPush from an imageScanningConfiguration structure.
Result<std::optional<bool>> ScanOnPush(const EcrCall& call) {
  ANNEX_ASSIGN_OR_RETURN(const Json* config, call.params.Object("imageScanningConfiguration"));
  if (!config) return std::optional<bool>();
  auto it = config->find("scanOnPush");
  if (it == config->end() || it->is_null()) return std::optional<bool>(false);
  if (!it->is_boolean()) return service::SerializationError("Member 'imageScanningConfiguration.scanOnPush' must be a boolean");
  return std::optional<bool>(it->get<bool>());
}

// AES256 is what the appliance's disks give every blob; there is no KMS here.
Status CheckEncryption(const EcrCall& call) {
  ANNEX_ASSIGN_OR_RETURN(const Json* config, call.params.Object("encryptionConfiguration"));
  if (!config) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(auto type, service::NestedString(*config, "encryptionType", "encryptionConfiguration"));
  if (!type) return service::MissingMember("encryptionConfiguration.encryptionType");
  if (*type == "AES256") return Status::OK();
  if (*type == "KMS" || *type == "KMS_DSSE") {
    return service::InvalidParameter("Encryption type " + *type + " is not available on this appliance: it has no KMS. "
                            "Use AES256.");
  }
  return service::ConstraintError("encryptionConfiguration.encryptionType",
                         "Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]");
}

}  // namespace

Task<Answer> CreateRepository(EcrCall& call) {
  RepositoryRecord repo;
  repo.account = call.account;
  repo.registry_id = call.account;
  repo.name = call.repository_name;
  repo.created_ms = call.now_ms;
  ANNEX_CO_ASSIGN_OR_RETURN(auto mutability, call.params.String("imageTagMutability"));
  if (mutability) {
    ANNEX_CO_ASSIGN_OR_RETURN(repo.tag_mutability, ParseMutability(*mutability));
  }
  ANNEX_CO_ASSIGN_OR_RETURN(auto scan, ScanOnPush(call));
  repo.scan_on_push = scan.value_or(false);
  ANNEX_CO_RETURN_IF_ERROR(CheckEncryption(call));
  ANNEX_CO_ASSIGN_OR_RETURN(repo.tags, ParseTagList(call, "tags"));
  Status s = co_await call.Blocking([&] { return call.registry.store->CreateRepository(repo); });
  ANNEX_CO_RETURN_IF_ERROR(ToEcrError(call, std::move(s)));
  co_return Json{{"repository", RepositoryJson(call, repo)}};
}

Task<Answer> DescribeRepositories(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto names, call.params.StringList("repositoryNames", 1, kMaxRepositoryNames));
  ANNEX_CO_ASSIGN_OR_RETURN(auto max, call.params.Long("maxResults", 1, kMaxDescribeResults));
  ANNEX_CO_ASSIGN_OR_RETURN(std::string after, ReadNextToken(call));
  Json out = Json::object();
  out["repositories"] = Json::array();
  if (names) {
    for (const std::string& name : *names) {
      ANNEX_CO_RETURN_IF_ERROR(ValidateRepositoryName(name, "repositoryNames"));
      Result<RepositoryRecord> repo =
          co_await call.Blocking([&] { return call.registry.store->GetRepository(call.account, name); });
      if (!repo.ok() && repo.status().code() != StatusCode::kNotFound) co_return repo.status();
      ANNEX_CO_RETURN_IF_ERROR(AuthorizeOn(call, "DescribeRepositories", name, repo.ok() ? &*repo : nullptr));
      if (!repo.ok()) co_return RepositoryNotFound(call, name);
      out["repositories"].push_back(RepositoryJson(call, *repo));
    }
    co_return out;
  }
  size_t limit = static_cast<size_t>(max.value_or(kDefaultDescribeResults));
  // One more than asked tells whether a next page exists.
  Result<std::vector<RepositoryRecord>> repos = co_await call.Blocking(
      [&] { return call.registry.store->ListRepositories(call.account, after, limit + 1); });
  if (!repos.ok()) co_return repos.status();
  for (size_t i = 0; i < repos->size() && i < limit; ++i) out["repositories"].push_back(RepositoryJson(call, (*repos)[i]));
  if (repos->size() > limit) out["nextToken"] = MakeNextToken((*repos)[limit - 1].name);
  co_return out;
}

Task<Answer> DeleteRepository(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(RepositoryRecord repo, RequireRepository(call));
  ANNEX_CO_ASSIGN_OR_RETURN(auto force, call.params.Bool("force"));
  Status s = co_await call.Blocking(
      [&] { return call.registry.store->DeleteRepository(call.account, call.repository_name, force.value_or(false)); });
  if (s.code() == StatusCode::kFailedPrecondition) {
    co_return http::ApiStatus("RepositoryNotEmptyException",
                              "The repository with name '" + repo.name + "' in registry with id '" + call.account +
                                  "' cannot be deleted because it still contains images");
  }
  ANNEX_CO_RETURN_IF_ERROR(ToEcrError(call, std::move(s)));
  co_return Json{{"repository", RepositoryJson(call, repo)}};
}

Task<Answer> PutImageTagMutability(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(std::string value, call.params.RequiredString("imageTagMutability"));
  ANNEX_CO_ASSIGN_OR_RETURN(TagMutability mutability, ParseMutability(value));
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) {
    r.tag_mutability = mutability;
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json{{"registryId", call.account},
                 {"repositoryName", repo->name},
                 {"imageTagMutability", MutabilityName(repo->tag_mutability)}};
}

Task<Answer> PutImageScanningConfiguration(EcrCall& call) {
  ANNEX_CO_ASSIGN_OR_RETURN(auto scan, ScanOnPush(call));
  if (!scan) co_return service::MissingMember("imageScanningConfiguration");
  Result<RepositoryRecord> repo = co_await UpdateRepository(call, [&](RepositoryRecord& r) {
    r.scan_on_push = *scan;
    return Status::OK();
  });
  if (!repo.ok()) co_return repo.status();
  co_return Json{{"registryId", call.account},
                 {"repositoryName", repo->name},
                 {"imageScanningConfiguration", {{"scanOnPush", repo->scan_on_push}}}};
}

Task<Answer> DescribeRegistry(EcrCall& call) {
  co_return Json{{"registryId", call.account}, {"replicationConfiguration", {{"rules", Json::array()}}}};
}

}  // namespace annex::registry
