#pragma once
// EcrCall: one ECR request as its operation sees it — the parsed
// parameters, the registry (account) it acts in, the repository it names
// (looked up once, for authorization) — and the operations themselves, one
// function each (verify → execute → answer JSON). ecr_api.cc dispatches.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>

#include "appliance/core/co_status.h"
#include "appliance/core/task.h"
#include "appliance/service/request_context.h"
#include "appliance/service/json_params.h"
#include "services/registry/registry.h"

namespace annex::registry {

using Json = nlohmann::json;

struct EcrCall {
  service::RequestContext& ctx;
  service::JsonParams& params;
  Registry& registry;
  // The registry the call acts in: registryId when given, else the caller's account.
  std::string account;
  // The repository the request names (repositoryName or resourceArn), if any.
  std::string repository_name;
  // Its record when it exists, read before authorization.
  std::optional<RepositoryRecord> repository;
  int64_t now_ms = 0;

  // Runs a blocking store call (LMDB commits fsync) off the io thread.
  template <typename F>
  Task<std::invoke_result_t<F>> Blocking(F fn) {
    return ctx.blocking.Run(std::move(fn));
  }
};

using Answer = Result<Json>;

// ECR's RepositoryNotFoundException for `name` in the call's registry.
Status RepositoryNotFound(const EcrCall& call, std::string_view name);
// The repository the call names, or RepositoryNotFoundException.
Result<RepositoryRecord> RequireRepository(const EcrCall& call);
// Store errors as ECR names them: NotFound → RepositoryNotFoundException,
// AlreadyExists → RepositoryAlreadyExistsException, InvalidArgument →
// InvalidParameterException; ECR codes pass through.
Status ToEcrError(const EcrCall& call, Status s);
// A repository as DescribeRepositories and CreateRepository answer it.
Json RepositoryJson(const EcrCall& call, const RepositoryRecord& repo);
// The repositoryUri: <account>.dkr.ecr.<region>.<domain>/<name>.
std::string RepositoryUri(const EcrCall& call, std::string_view name);
// The registry endpoint ("http://127.0.0.1:4566", "https://<account>.dkr.ecr.<region>.<domain>")
// as the client reached the appliance: proxyEndpoint and download URLs.
std::string ClientEndpoint(const EcrCall& call);
// Epoch seconds with milliseconds, as botocore's timestamp shapes read JSON.
double EpochSeconds(int64_t ms);
// Opaque pagination tokens around a position (a name or a digest).
std::string MakeNextToken(std::string_view position);
Result<std::string> ReadNextToken(const EcrCall& call);
// Updates the call's repository record with `change` in one store write.
Task<Result<RepositoryRecord>> UpdateRepository(EcrCall& call, std::function<Status(RepositoryRecord&)> change);

// Authorizes `op` on repository `name` of the call's registry (`repo`, its
// record when it exists, brings the repository policy): AccessDeniedException
// when the caller may not. For operations that cover several repositories.
Status AuthorizeOn(const EcrCall& call, std::string_view op, std::string_view name, const RepositoryRecord* repo);
// The tags a `tags` member (a TagList) names: InvalidTagParameterException for
// a bad key or value, TooManyTagsException past 50.
Result<std::map<std::string, std::string>> ParseTagList(const EcrCall& call, std::string_view member);

// Repositories (ecr_repository_handlers.cc)
Task<Answer> CreateRepository(EcrCall& call);
Task<Answer> DescribeRepositories(EcrCall& call);
Task<Answer> DeleteRepository(EcrCall& call);
Task<Answer> PutImageTagMutability(EcrCall& call);
Task<Answer> PutImageScanningConfiguration(EcrCall& call);
Task<Answer> DescribeRegistry(EcrCall& call);
Task<Answer> GetAuthorizationToken(EcrCall& call);
// Images (ecr_image_handlers.cc)
Task<Answer> ListImages(EcrCall& call);
Task<Answer> DescribeImages(EcrCall& call);
Task<Answer> BatchGetImage(EcrCall& call);
Task<Answer> BatchDeleteImage(EcrCall& call);
Task<Answer> PutImage(EcrCall& call);
// Layers (ecr_layer_handlers.cc)
Task<Answer> BatchCheckLayerAvailability(EcrCall& call);
Task<Answer> GetDownloadUrlForLayer(EcrCall& call);
Task<Answer> InitiateLayerUpload(EcrCall& call);
Task<Answer> UploadLayerPart(EcrCall& call);
Task<Answer> CompleteLayerUpload(EcrCall& call);
// Lifecycle and repository policies (ecr_policy_handlers.cc)
Task<Answer> PutLifecyclePolicy(EcrCall& call);
Task<Answer> GetLifecyclePolicy(EcrCall& call);
Task<Answer> DeleteLifecyclePolicy(EcrCall& call);
Task<Answer> StartLifecyclePolicyPreview(EcrCall& call);
Task<Answer> GetLifecyclePolicyPreview(EcrCall& call);
Task<Answer> SetRepositoryPolicy(EcrCall& call);
Task<Answer> GetRepositoryPolicy(EcrCall& call);
Task<Answer> DeleteRepositoryPolicy(EcrCall& call);
// Tags (ecr_tag_handlers.cc)
Task<Answer> TagResource(EcrCall& call);
Task<Answer> UntagResource(EcrCall& call);
Task<Answer> ListTagsForResource(EcrCall& call);

}  // namespace annex::registry
