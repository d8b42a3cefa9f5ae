#pragma once
// Registry: the registry service's shared state, handed to each of its
// APIs — the OCI distribution API under /v2/ (distribution_api.h), the ECR
// JSON API (ecr_api.h) and the image transfer API for offline import and
// export (image_transfer_api.h) — and to its image store for workloads
// (image_unpacker.h).

#include <memory>
#include <string>

#include "appliance/service/environment.h"
#include "appliance/service/image_store.h"
#include "services/registry/blob_store.h"
#include "services/registry/registry_store.h"
#include "services/registry/registry_token.h"

namespace annex::registry {

class RegistryImageStore;

struct Registry {
  Registry();
  ~Registry();  // out of line: the image store is only declared here

  service::Environment env;  // region, domain, authorizer, identities, clock, blocking pool…
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<RegistryStore> store;
  std::unique_ptr<RegistryTokens> tokens;
  std::unique_ptr<RegistryImageStore> images;  // registry_image_store.h

  // "<account>.dkr.ecr.<region>.<domain>": the registry host of `account`,
  // as repositoryUri and proxyEndpoint name it.
  std::string RegistryHost(std::string_view account) const {
    return std::string(account) + ".dkr.ecr." + env.region + "." + env.domain;
  }
  // arn:aws:ecr:<region>:<account>:repository/<name>
  std::string RepositoryArn(std::string_view account, std::string_view name) const {
    return "arn:aws:ecr:" + env.region + ":" + std::string(account) + ":repository/" + std::string(name);
  }
};

}  // namespace annex::registry
