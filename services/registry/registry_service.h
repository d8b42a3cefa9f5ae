#pragma once
// The registry service (services/registry): an ECR-compatible registry on
// the appliance. One service answers the ECR JSON API (X-Amz-Target
// AmazonEC2ContainerRegistry_V20150921.*), the OCI distribution API under
// /v2/ that docker, podman and skopeo speak, and the image transfer API
// (offline import and export, /_annex/api/images/…); it also implements
// the platform's service::ImageStore, through which workloads get
// runnable root filesystems.

#include "appliance/core/result.h"
#include "appliance/service/environment.h"

namespace annex::registry {

Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::registry
