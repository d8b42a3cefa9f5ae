#pragma once
// TaskDefinition: an ECS task definition as RegisterTaskDefinition takes it
// and DescribeTaskDefinition shows it. ParseRegisterTaskDefinition applies
// the rules ECS enforces at registration, answering with ECS's error codes
// (Status::subcode) and messages; ToJson renders the describe shape.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/core/result.h"

namespace annex::containers {

using Json = nlohmann::json;

// ECS allows at most this many containers in one task definition.
inline constexpr size_t kMaxContainersPerTaskDefinition = 10;

struct KeyValuePair {
  std::string name;
  std::string value;
};

struct PortMapping {
  int containerPort = 0;
  std::optional<int> hostPort;  // absent: same as containerPort (awsvpc/host) or ephemeral (bridge)
  std::string protocol = "tcp";
};

struct MountPoint {
  std::string sourceVolume;
  std::string containerPath;
  bool readOnly = false;
};

struct ContainerDependency {
  std::string containerName;
  std::string condition;  // START, COMPLETE, SUCCESS, HEALTHY
};

// Defaults are the ones ECS fills in and shows on describe.
struct HealthCheck {
  std::vector<std::string> command;
  int interval = 30;
  int timeout = 5;
  int retries = 3;
  std::optional<int> startPeriod;
};

struct Ulimit {
  std::string name;
  int softLimit = 0;
  int hardLimit = 0;
};

struct LogConfiguration {
  std::string logDriver;
  std::map<std::string, std::string> options;
};

struct ContainerDefinition {
  std::string name;
  std::string image;
  std::optional<std::vector<std::string>> command;
  std::optional<std::vector<std::string>> entryPoint;
  std::vector<KeyValuePair> environment;
  std::vector<PortMapping> portMappings;
  std::vector<MountPoint> mountPoints;
  bool essential = true;
  std::vector<ContainerDependency> dependsOn;
  std::optional<HealthCheck> healthCheck;
  std::optional<int> stopTimeout;
  int cpu = 0;
  std::optional<int> memory;             // hard limit, MiB
  std::optional<int> memoryReservation;  // soft limit, MiB
  std::vector<Ulimit> ulimits;
  std::optional<std::string> workingDirectory;
  std::optional<std::string> user;
  std::optional<LogConfiguration> logConfiguration;
};

// A task-scoped or shared volume managed by the runtime.
struct DockerVolumeConfiguration {
  std::string scope = "task";  // task or shared
  std::optional<bool> autoprovision;
  std::optional<std::string> driver;
  std::map<std::string, std::string> driverOpts;
  std::map<std::string, std::string> labels;
};

struct Volume {
  std::string name;
  // host present with a sourcePath: a bind mount of that host path;
  // host present without one (or neither given): a runtime-managed volume.
  bool hasHost = false;
  std::optional<std::string> hostSourcePath;
  std::optional<DockerVolumeConfiguration> dockerVolumeConfiguration;
};

struct TaskDefinition {
  std::string family;
  int revision = 0;  // set by the registry, not the request
  std::string taskDefinitionArn;
  std::string status = "ACTIVE";
  std::optional<std::string> taskRoleArn;
  std::optional<std::string> executionRoleArn;
  std::optional<std::string> networkMode;
  std::vector<std::string> requiresCompatibilities;
  std::vector<std::string> compatibilities;  // what the definition can run on, computed at parse
  std::optional<int64_t> cpu;                // CPU units, normalised from "1 vCPU" etc.
  std::optional<int64_t> memory;             // MiB, normalised from "2 GB" etc.
  std::optional<int> ephemeralStorageGiB;
  std::vector<Volume> volumes;
  std::vector<ContainerDefinition> containerDefinitions;
  double registeredAt = 0;  // seconds since the epoch
};

// A RegisterTaskDefinition request body → a validated TaskDefinition. Errors
// carry ECS's codes as subcode: ClientException for a definition ECS refuses,
// InvalidParameterException for a value outside the model's enums, and
// SerializationException for a member of the wrong JSON type.
Result<TaskDefinition> ParseRegisterTaskDefinition(const Json& request);

// The DescribeTaskDefinition / RegisterTaskDefinition `taskDefinition` shape.
Json ToJson(const TaskDefinition& def);

}  // namespace annex::containers
