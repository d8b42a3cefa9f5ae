#include "services/containers/service_document.h"

#include "appliance/os/random.h"

namespace annex::containers {
namespace {

std::string NewUuid() {
  std::string hex = os::RandomHex(16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

}  // namespace

Json NewDeployment(const Json& service, const std::string& task_definition_arn, int64_t now_ms) {
  Json d = {
      {"id", "ecs-svc/" + os::RandomString(19, "0123456789")},
      {"status", "PRIMARY"},
      {"taskDefinition", task_definition_arn},
      {"desiredCount", service.value("desiredCount", 0)},
      {"pendingCount", 0},
      {"runningCount", 0},
      {"failedTasks", 0},
      {"createdAt", EpochSeconds(now_ms)},
      {"updatedAt", EpochSeconds(now_ms)},
      {"launchType", service.value("launchType", "EC2")},
      {"rolloutState", "IN_PROGRESS"},
      {"rolloutStateReason", "ECS deployment " + std::string("in progress.")},
  };
  if (service.contains("platformVersion")) d["platformVersion"] = service["platformVersion"];
  if (service.contains("networkConfiguration")) d["networkConfiguration"] = service["networkConfiguration"];
  return d;
}

void AddServiceEvent(Json& service, const std::string& text, int64_t now_ms) {
  Json& events = service["events"];
  if (!events.is_array()) events = Json::array();
  events.insert(events.begin(), Json{{"id", NewUuid()},
                                     {"createdAt", EpochSeconds(now_ms)},
                                     {"message", "(service " + service.value("serviceName", "") + ") " + text}});
  if (events.size() > kMaxServiceEvents) events.erase(events.begin() + kMaxServiceEvents, events.end());
}

Json RenderService(const Json& service, bool with_tags) {
  Json out = service;
  out.erase("annex");
  if (!with_tags) out.erase("tags");
  return out;
}

}  // namespace annex::containers
