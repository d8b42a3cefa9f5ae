#pragma once
// The CloudWatch Logs API (JSON 1.1, X-Amz-Target: Logs_20140328.<Op>,
// SigV4 signing name "logs") over the platform's log store. Every caller
// acts within its own account: log groups are looked up under the
// principal's account id, so no name or ARN reaches another account's.

#include <memory>

#include "appliance/core/result.h"
#include "appliance/logs/log_store.h"
#include "appliance/service/environment.h"
#include "appliance/service/service.h"

namespace annex::logs {

std::unique_ptr<service::Service> NewLogsService(LogStore& store);

// Built from the environment's log store (Environment::log_store).
Result<service::Module> NewModule(const service::Environment& env);

}  // namespace annex::logs
