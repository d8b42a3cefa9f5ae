#pragma once
// The CloudWatch Logs API (JSON 1.1, X-Amz-Target: Logs_20140328.<Op>,
// SigV4 signing name "logs") over the platform's log store. Every caller
// acts within its own account: log groups are looked up under the
// principal's account id, so no name or ARN reaches another account's. The
// account's root may do everything in it; its users what their IAM
// policies allow (logs:<Operation> on the log group or stream).

#include <memory>

#include "appliance/core/result.h"
#include "appliance/logs/log_store.h"
#include "appliance/service/authorizer.h"
#include "appliance/service/environment.h"
#include "appliance/service/service.h"

namespace annex::logs {

// `authorizer` null: only the root of an account may act in it.
std::unique_ptr<service::Service> NewLogsService(LogStore& store, const service::Authorizer* authorizer);

// Built from the environment's log store (Environment::log_store).
Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::logs
