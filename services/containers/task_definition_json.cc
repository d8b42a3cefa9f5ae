// The describe shape of a task definition (DescribeTaskDefinition,
// RegisterTaskDefinition's answer).
#include "services/containers/task_definition.h"

namespace annex::containers {

namespace {

// Optional members are left out of the describe shape when not given.
template <typename T>
void SetIf(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

Json ContainerToJson(const ContainerDefinition& c) {
  // ECS always shows these members, empty lists included.
  Json j = {{"name", c.name}, {"image", c.image}, {"cpu", c.cpu}, {"essential", c.essential}};
  for (const char* list : {"portMappings", "environment", "mountPoints", "volumesFrom"}) j[list] = Json::array();
  for (const auto& p : c.portMappings) {
    Json pm = {{"containerPort", p.containerPort}, {"protocol", p.protocol}};
    if (p.hostPort) pm["hostPort"] = *p.hostPort;
    j["portMappings"].push_back(std::move(pm));
  }
  for (const auto& e : c.environment) j["environment"].push_back({{"name", e.name}, {"value", e.value}});
  for (const auto& m : c.mountPoints) {
    j["mountPoints"].push_back(
        {{"sourceVolume", m.sourceVolume}, {"containerPath", m.containerPath}, {"readOnly", m.readOnly}});
  }
  for (const auto& d : c.dependsOn)
    j["dependsOn"].push_back({{"containerName", d.containerName}, {"condition", d.condition}});
  for (const auto& u : c.ulimits) {
    j["ulimits"].push_back({{"name", u.name}, {"softLimit", u.softLimit}, {"hardLimit", u.hardLimit}});
  }
  SetIf(j, "command", c.command);
  SetIf(j, "entryPoint", c.entryPoint);
  SetIf(j, "memory", c.memory);
  SetIf(j, "memoryReservation", c.memoryReservation);
  SetIf(j, "stopTimeout", c.stopTimeout);
  SetIf(j, "workingDirectory", c.workingDirectory);
  SetIf(j, "user", c.user);
  if (c.healthCheck) {
    const HealthCheck& h = *c.healthCheck;
    j["healthCheck"] = {
        {"command", h.command}, {"interval", h.interval}, {"timeout", h.timeout}, {"retries", h.retries}};
    if (h.startPeriod) j["healthCheck"]["startPeriod"] = *h.startPeriod;
  }
  if (c.logConfiguration) {
    j["logConfiguration"] = {{"logDriver", c.logConfiguration->logDriver},
                             {"options", c.logConfiguration->options},
                             {"secretOptions", Json::array()}};
  }
  return j;
}

Json VolumeToJson(const Volume& v) {
  Json j = {{"name", v.name}};
  if (v.hasHost) j["host"] = v.hostSourcePath ? Json{{"sourcePath", *v.hostSourcePath}} : Json::object();
  if (const auto& d = v.dockerVolumeConfiguration) {
    Json& dv =
        j["dockerVolumeConfiguration"] = {{"scope", d->scope}, {"driverOpts", d->driverOpts}, {"labels", d->labels}};
    if (d->autoprovision) dv["autoprovision"] = *d->autoprovision;
    if (d->driver) dv["driver"] = *d->driver;
  }
  return j;
}

}  // namespace

Json ToJson(const TaskDefinition& def) {
  Json j = {{"taskDefinitionArn", def.taskDefinitionArn}, {"family", def.family}, {"revision", def.revision}};
  j["status"] = def.status;
  j["compatibilities"] = def.compatibilities;
  if (!def.requiresCompatibilities.empty()) j["requiresCompatibilities"] = def.requiresCompatibilities;
  j["registeredAt"] = def.registeredAt;
  for (const char* list : {"containerDefinitions", "volumes", "placementConstraints"}) j[list] = Json::array();
  for (const auto& c : def.containerDefinitions) j["containerDefinitions"].push_back(ContainerToJson(c));
  for (const auto& v : def.volumes) j["volumes"].push_back(VolumeToJson(v));
  SetIf(j, "taskRoleArn", def.taskRoleArn);
  SetIf(j, "executionRoleArn", def.executionRoleArn);
  SetIf(j, "networkMode", def.networkMode);
  // ECS returns task cpu and memory as strings, normalised to units and MiB.
  if (def.cpu) j["cpu"] = std::to_string(*def.cpu);
  if (def.memory) j["memory"] = std::to_string(*def.memory);
  if (def.ephemeralStorageGiB) j["ephemeralStorage"] = {{"sizeInGiB", *def.ephemeralStorageGiB}};
  return j;
}

}  // namespace annex::containers
