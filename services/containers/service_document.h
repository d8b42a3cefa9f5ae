#pragma once
// An ECS service as the containers service keeps it: the DescribeServices
// shape (deployments, events, counts) plus, under "annex", what only the
// scheduler needs (the account and cluster, its back-off after failed
// tasks, whether it already said it reached a steady state).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "services/containers/ecs.h"

namespace annex::containers {

// ECS keeps the last 100 events of a service, newest first.
inline constexpr size_t kMaxServiceEvents = 100;

// A new deployment ("ecs-svc/<19 digits>") of `task_definition_arn`, PRIMARY.
Json NewDeployment(const Json& service, const std::string& task_definition_arn, int64_t now_ms);
// Prepends "(service <name>) <text>" to the service's events.
void AddServiceEvent(Json& service, const std::string& text, int64_t now_ms);
// The service as DescribeServices answers it.
Json RenderService(const Json& service, bool with_tags);

}  // namespace annex::containers
