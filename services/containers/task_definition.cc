#include "services/containers/task_definition.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <set>
#include <utility>

#include "services/containers/fargate_sizes.h"

namespace annex::containers {
namespace {

// The whole registered definition is capped by ECS at 64 KiB, which also
// bounds every string and list a hostile request can hand the runtime.
constexpr size_t kMaxRequestBytes = 64 * 1024;

Status EcsError(const char* code, std::string m) { return {StatusCode::kInvalidArgument, std::move(m), code}; }
Status ClientError(std::string m) { return EcsError("ClientException", std::move(m)); }
Status InvalidParameter(std::string m) { return EcsError("InvalidParameterException", std::move(m)); }
Status SerializationError(std::string m) { return EcsError("SerializationException", std::move(m)); }

bool OneOf(const std::string& v, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; });
}

constexpr const char* kSeeTroubleshooting =
    "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";

// ECS names (family, container, volume): 1–255 of letters, digits, _ and -.
constexpr const char* kNameRule =
    "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.";
bool ValidName(const std::string& s) {
  return !s.empty() && s.size() <= 255 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// Typed reads of one JSON object's members. The first wrong type is kept in
// `status` and later reads return defaults, so callers check once at the end
// instead of after every member.
class Reader {
 public:
  Reader(const Json& obj, Status* status) : obj_(obj), status_(status) {}
  const Json* Get(const char* key, Json::value_t want, const char* type_name) {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    if (it->type() == want || (want == Json::value_t::number_integer && it->is_number_unsigned())) return &*it;
    Fail(std::string("Member '") + key + "' must be " + type_name);
    return nullptr;
  }
  std::optional<std::string> Str(const char* key) {
    const Json* j = Get(key, Json::value_t::string, "a string");
    return j ? std::optional<std::string>(j->get<std::string>()) : std::nullopt;
  }
  // ECS integers are 32-bit; a larger number is a serialization error.
  std::optional<int> Int(const char* key) {
    const Json* j = Get(key, Json::value_t::number_integer, "an integer");
    if (!j) return std::nullopt;
    bool fits = j->is_number_unsigned() ? j->get<uint64_t>() <= INT_MAX
                                        : (j->get<int64_t>() <= INT_MAX && j->get<int64_t>() >= INT_MIN);
    if (fits) return static_cast<int>(j->get<int64_t>());
    return Fail(std::string("Member '") + key + "' is out of range"), std::nullopt;
  }
  std::optional<bool> Bool(const char* key) {
    const Json* j = Get(key, Json::value_t::boolean, "a boolean");
    return j ? std::optional<bool>(j->get<bool>()) : std::nullopt;
  }
  const Json* Obj(const char* key) { return Get(key, Json::value_t::object, "an object"); }
  const Json* Arr(const char* key) { return Get(key, Json::value_t::array, "a list"); }
  std::optional<std::vector<std::string>> StrList(const char* key) {
    const Json* a = Arr(key);
    if (!a) return std::nullopt;
    std::vector<std::string> out;
    for (const Json& e : *a) {
      if (!e.is_string()) return Fail(std::string("Member '") + key + "' must be a list of strings"), std::nullopt;
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::string> StrMap(const char* key) {
    std::map<std::string, std::string> out;
    const Json* o = Obj(key);
    if (!o) return out;
    for (auto it = o->begin(); it != o->end(); ++it) {
      if (!it->is_string()) return Fail(std::string("Member '") + key + "' must map strings to strings"), out;
      out[it.key()] = it->get<std::string>();
    }
    return out;
  }
  // Calls `each(reader)` for every object in the list under `key`.
  template <typename F>
  void EachObject(const char* key, F&& each) {
    const Json* a = Arr(key);
    if (!a) return;
    for (const Json& e : *a) {
      if (!status_->ok()) return;
      if (!e.is_object()) return Fail(std::string("Member '") + key + "' must be a list of objects");
      Reader r = Sub(e);
      each(r);
    }
  }
  // A reader of a nested object that records its errors in the same place.
  Reader Sub(const Json& obj) const { return Reader(obj, status_); }
  void Fail(std::string m) {
    if (status_->ok()) *status_ = SerializationError(std::move(m));
  }

 private:
  const Json& obj_;
  Status* status_;
};

void ReadHealthCheck(Reader& r, ContainerDefinition& c) {
  const Json* h = r.Obj("healthCheck");
  if (!h) return;
  Reader hr = r.Sub(*h);
  const HealthCheck d;  // braced initialisers run left to right, so errors keep member order
  c.healthCheck =
      HealthCheck{hr.StrList("command").value_or(d.command), hr.Int("interval").value_or(d.interval),
                  hr.Int("timeout").value_or(d.timeout), hr.Int("retries").value_or(d.retries), hr.Int("startPeriod")};
}

void ReadContainerLists(Reader& r, ContainerDefinition& c) {
  r.EachObject("environment", [&](Reader& e) {
    c.environment.push_back({e.Str("name").value_or(""), e.Str("value").value_or("")});
  });
  r.EachObject("portMappings", [&](Reader& p) {
    // A missing containerPort reads as -1, which the port rules refuse.
    c.portMappings.push_back(
        {p.Int("containerPort").value_or(-1), p.Int("hostPort"), p.Str("protocol").value_or("tcp")});
  });
  r.EachObject("mountPoints", [&](Reader& m) {
    c.mountPoints.push_back(
        {m.Str("sourceVolume").value_or(""), m.Str("containerPath").value_or(""), m.Bool("readOnly").value_or(false)});
  });
  r.EachObject("dependsOn", [&](Reader& d) {
    c.dependsOn.push_back({d.Str("containerName").value_or(""), d.Str("condition").value_or("")});
  });
  r.EachObject("ulimits", [&](Reader& u) {
    c.ulimits.push_back({u.Str("name").value_or(""), u.Int("softLimit").value_or(0), u.Int("hardLimit").value_or(0)});
  });
}

ContainerDefinition ReadContainer(Reader& r) {
  ContainerDefinition c;
  c.name = r.Str("name").value_or("");
  c.image = r.Str("image").value_or("");
  c.command = r.StrList("command");
  c.entryPoint = r.StrList("entryPoint");
  c.essential = r.Bool("essential").value_or(true);
  c.stopTimeout = r.Int("stopTimeout");
  c.cpu = r.Int("cpu").value_or(0);
  c.memory = r.Int("memory");
  c.memoryReservation = r.Int("memoryReservation");
  c.workingDirectory = r.Str("workingDirectory");
  c.user = r.Str("user");
  ReadContainerLists(r, c);
  ReadHealthCheck(r, c);
  if (const Json* l = r.Obj("logConfiguration")) {
    Reader lr = r.Sub(*l);
    c.logConfiguration = LogConfiguration{lr.Str("logDriver").value_or(""), lr.StrMap("options")};
  }
  return c;
}

void ReadVolumes(Reader& r, TaskDefinition& def) {
  r.EachObject("volumes", [&](Reader& v) {
    Volume vol;
    vol.name = v.Str("name").value_or("");
    if (const Json* host = v.Obj("host")) {
      vol.hasHost = true;
      vol.hostSourcePath = v.Sub(*host).Str("sourcePath");
    }
    if (const Json* d = v.Obj("dockerVolumeConfiguration")) {
      Reader dr = v.Sub(*d);
      vol.dockerVolumeConfiguration =
          DockerVolumeConfiguration{dr.Str("scope").value_or("task"), dr.Bool("autoprovision"), dr.Str("driver"),
                                    dr.StrMap("driverOpts"), dr.StrMap("labels")};
    }
    def.volumes.push_back(std::move(vol));
  });
}

// The request's members in typed form; only JSON types are checked here.
Result<TaskDefinition> ReadRequest(const Json& req, std::optional<std::string>* cpu,
                                   std::optional<std::string>* memory) {
  Status st;
  Reader r(req, &st);
  TaskDefinition def;
  def.family = r.Str("family").value_or("");
  def.taskRoleArn = r.Str("taskRoleArn");
  def.executionRoleArn = r.Str("executionRoleArn");
  def.networkMode = r.Str("networkMode");
  def.requiresCompatibilities = r.StrList("requiresCompatibilities").value_or(std::vector<std::string>{});
  *cpu = r.Str("cpu");
  *memory = r.Str("memory");
  if (const Json* e = r.Obj("ephemeralStorage")) def.ephemeralStorageGiB = r.Sub(*e).Int("sizeInGiB");
  ReadVolumes(r, def);
  const Json* containers = r.Arr("containerDefinitions");
  if (containers && containers->size() > kMaxContainersPerTaskDefinition) {
    return ClientError("Too many containers. A task definition can have at most " +
                       std::to_string(kMaxContainersPerTaskDefinition) + " containers.");
  }
  r.EachObject("containerDefinitions", [&](Reader& c) { def.containerDefinitions.push_back(ReadContainer(c)); });
  if (!st.ok()) return st;
  return def;
}

Status CheckTaskSize(TaskDefinition& def, const std::optional<std::string>& cpu,
                     const std::optional<std::string>& memory) {
  if (cpu) {
    def.cpu = ParseTaskCpu(*cpu);
    // EC2 takes 128 units (0.125 vCPU) up to 192 vCPU.
    if (!def.cpu || *def.cpu < 128 || *def.cpu > 196608)
      return ClientError(std::string("Invalid 'cpu' setting for task. ") + kSeeTroubleshooting);
  }
  if (memory) {
    def.memory = ParseTaskMemory(*memory);
    if (!def.memory || *def.memory > INT_MAX)
      return ClientError(std::string("Invalid 'memory' setting for task. ") + kSeeTroubleshooting);
  }
  return Status::OK();
}

Status CheckEnums(const TaskDefinition& def) {
  if (def.networkMode && !OneOf(*def.networkMode, {"bridge", "host", "awsvpc", "none"})) {
    return InvalidParameter("Invalid networkMode: '" + *def.networkMode +
                            "'. Valid values are bridge, host, awsvpc and none.");
  }
  for (const auto& c : def.requiresCompatibilities) {
    if (!OneOf(c, {"EC2", "FARGATE", "EXTERNAL"})) {
      return InvalidParameter("Invalid requiresCompatibilities value: '" + c +
                              "'. Valid values are EC2, FARGATE and EXTERNAL.");
    }
  }
  return Status::OK();
}

Status CheckVolumes(const TaskDefinition& def) {
  std::set<std::string> seen;
  for (const Volume& v : def.volumes) {
    if (!ValidName(v.name)) {
      return ClientError("Invalid volume name '" + v.name.substr(0, 255) + "'. " + kNameRule);
    }
    if (!seen.insert(v.name).second) return ClientError("Volume name '" + v.name + "' is not unique.");
    if (v.hasHost && v.dockerVolumeConfiguration) {
      return ClientError("Volume '" + v.name + "' cannot specify both host and dockerVolumeConfiguration.");
    }
    if (v.dockerVolumeConfiguration && !OneOf(v.dockerVolumeConfiguration->scope, {"task", "shared"})) {
      return InvalidParameter("Invalid scope for volume '" + v.name + "'. Valid values are task and shared.");
    }
  }
  return Status::OK();
}

Status CheckPorts(const TaskDefinition& def, const ContainerDefinition& c) {
  const std::string mode = def.networkMode.value_or("bridge");
  if (mode == "none" && !c.portMappings.empty()) {
    return ClientError("Port mappings are not supported on container '" + c.name + "' when networkMode=none.");
  }
  auto invalid = [&](const char* m) {
    return ClientError(std::string("Invalid '") + m + "' setting for container '" + c.name + "'.");
  };
  for (const PortMapping& p : c.portMappings) {
    if (p.containerPort < 0 || p.containerPort > 65535) return invalid("containerPort");
    if (p.hostPort && (*p.hostPort < 0 || *p.hostPort > 65535)) return invalid("hostPort");
    if (!OneOf(p.protocol, {"tcp", "udp"})) {
      return InvalidParameter("Invalid protocol '" + p.protocol + "'. Valid values are tcp and udp.");
    }
    // The task owns the namespace: there is nothing to translate a port to.
    if ((mode == "awsvpc" || mode == "host") && p.hostPort && *p.hostPort != 0 && *p.hostPort != p.containerPort) {
      return ClientError("When networkMode=" + mode +
                         ", the host ports and container ports in port mappings must match.");
    }
  }
  return Status::OK();
}

Status CheckMemory(const TaskDefinition& def, const ContainerDefinition& c) {
  const std::string where = " setting for container '" + c.name + "'.";
  if (c.cpu < 0) return ClientError("Invalid 'cpu'" + where);
  // The runtime cannot start a container under 6 MiB.
  if (c.memory && *c.memory < 6) return ClientError("Invalid 'memory'" + where + " The value must be at least 6 MiB.");
  if (c.memoryReservation && *c.memoryReservation < 6) {
    return ClientError("Invalid 'memoryReservation'" + where + " The value must be at least 6 MiB.");
  }
  if (c.memory && c.memoryReservation && *c.memoryReservation > *c.memory) {
    return ClientError("Invalid 'memoryReservation'" + where + " The value must be less than or equal to 'memory'.");
  }
  if (!def.memory && !c.memory && !c.memoryReservation) {
    return ClientError("Invalid setting for container '" + c.name +
                       "'. At least one of 'memory' or 'memoryReservation' must be specified.");
  }
  if (def.memory && c.memory && *c.memory > *def.memory) {
    return ClientError("Invalid 'memory'" + where + " The value must not exceed the task's memory.");
  }
  return Status::OK();
}

Status CheckContainerParts(const TaskDefinition& def, const ContainerDefinition& c,
                           const std::map<std::string, const ContainerDefinition*>& names) {
  std::set<std::string> volumes;
  for (const Volume& v : def.volumes) volumes.insert(v.name);
  for (const MountPoint& m : c.mountPoints) {
    if (!volumes.count(m.sourceVolume)) {
      return ClientError("Invalid 'mountPoints' setting for container '" + c.name + "'. Volume '" +
                         m.sourceVolume.substr(0, 255) + "' is not defined in the task definition.");
    }
    if (m.containerPath.empty() || m.containerPath[0] != '/') {
      return ClientError("Invalid 'containerPath' in mountPoints for container '" + c.name + "'.");
    }
  }
  for (const ContainerDependency& d : c.dependsOn) {
    if (!OneOf(d.condition, {"START", "COMPLETE", "SUCCESS", "HEALTHY"})) {
      return InvalidParameter("Invalid dependsOn condition '" + d.condition.substr(0, 255) +
                              "'. Valid values are START, COMPLETE, SUCCESS and HEALTHY.");
    }
    if (d.containerName == c.name || !names.count(d.containerName)) {
      return ClientError("Invalid 'dependsOn' setting for container '" + c.name + "'. Container '" +
                         d.containerName.substr(0, 255) + "' is not another container in the task definition.");
    }
    const ContainerDefinition& dep = *names.at(d.containerName);
    if (d.condition == "HEALTHY" && !dep.healthCheck) {
      return ClientError("Container '" + d.containerName + "' must have a health check for the HEALTHY condition.");
    }
    // Such a dependency is meant to exit, which would stop the whole task.
    if ((d.condition == "SUCCESS" || d.condition == "COMPLETE") && dep.essential) {
      return ClientError("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container");
    }
  }
  return Status::OK();
}

// Health check limits as ECS documents them (seconds).
Status CheckHealthAndLimits(const ContainerDefinition& c) {
  const std::string in = " for container '" + c.name + "'.";
  if (c.healthCheck) {
    const HealthCheck& h = *c.healthCheck;
    if (h.command.empty()) return ClientError("Invalid healthCheck: 'command' is required" + in);
    if (h.interval < 5 || h.interval > 300) return ClientError("Invalid healthCheck 'interval' (5-300 seconds)" + in);
    if (h.timeout < 2 || h.timeout > 60) return ClientError("Invalid healthCheck 'timeout' (2-60 seconds)" + in);
    if (h.retries < 1 || h.retries > 10) return ClientError("Invalid healthCheck 'retries' (1-10)" + in);
    if (h.startPeriod && (*h.startPeriod < 0 || *h.startPeriod > 300)) {
      return ClientError("Invalid healthCheck 'startPeriod' (0-300 seconds)" + in);
    }
  }
  if (c.stopTimeout && (*c.stopTimeout < 0 || *c.stopTimeout > 120)) {
    return ClientError("Invalid 'stopTimeout' setting" + in + " The value must be between 0 and 120 seconds.");
  }
  for (const Ulimit& u : c.ulimits) {
    if (!OneOf(u.name, {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                        "rss", "rtprio", "rttime", "sigpending", "stack"})) {
      return InvalidParameter("Invalid ulimit name '" + u.name.substr(0, 255) + "'" + in);
    }
    if (u.softLimit < 0 || u.hardLimit < 0 || u.softLimit > u.hardLimit) {
      return ClientError("Invalid ulimit '" + u.name + "'" + in + " softLimit must not exceed hardLimit.");
    }
  }
  if (c.logConfiguration && !OneOf(c.logConfiguration->logDriver, {"json-file", "syslog", "journald", "gelf", "fluentd",
                                                                   "awslogs", "splunk", "awsfirelens"})) {
    return InvalidParameter("Invalid logDriver '" + c.logConfiguration->logDriver.substr(0, 255) + "'" + in);
  }
  if (c.logConfiguration && c.logConfiguration->logDriver == "awslogs") {
    std::string missing;
    for (const char* option : {"awslogs-region", "awslogs-group"}) {
      if (!c.logConfiguration->options.count(option)) missing += (missing.empty() ? "" : ", ") + std::string(option);
    }
    if (!missing.empty()) return ClientError("Log driver awslogs requires options: " + missing);
  }
  return Status::OK();
}

Status CheckContainers(const TaskDefinition& def) {
  if (def.containerDefinitions.empty()) return ClientError("Container list cannot be empty.");
  std::map<std::string, const ContainerDefinition*> names;
  for (const ContainerDefinition& c : def.containerDefinitions) {
    if (c.name.empty()) return ClientError("Container.name should not be null or empty.");
    if (!ValidName(c.name)) {
      return ClientError("Container name '" + c.name.substr(0, 255) + "' is invalid. " + kNameRule);
    }
    if (!names.emplace(c.name, &c).second) return ClientError("Container names must be unique: '" + c.name + "'.");
    if (c.image.empty()) return ClientError("Container.image should not be null or empty.");
    if (c.image.size() > 255) return ClientError("Invalid 'image' setting for container '" + c.name + "'.");
  }
  bool any_essential = false;
  int64_t cpu_sum = 0;
  for (const ContainerDefinition& c : def.containerDefinitions) {
    cpu_sum += c.cpu;
    ANNEX_RETURN_IF_ERROR(CheckPorts(def, c));
    ANNEX_RETURN_IF_ERROR(CheckMemory(def, c));
    ANNEX_RETURN_IF_ERROR(CheckContainerParts(def, c, names));
    ANNEX_RETURN_IF_ERROR(CheckHealthAndLimits(c));
    any_essential = any_essential || c.essential;
  }
  if (def.cpu && cpu_sum > *def.cpu) {
    return ClientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.");
  }
  if (!any_essential) return ClientError("Task definition doesn't have any essential container.");
  return Status::OK();
}

// What Fargate adds to the general rules. Also used to decide whether a
// definition that did not ask for Fargate is nonetheless compatible with it.
Status CheckFargate(const TaskDefinition& def) {
  if (!def.cpu) return ClientError("Fargate requires that 'cpu' be defined at the task level.");
  if (!def.memory) return ClientError("Fargate requires that 'memory' be defined at the task level.");
  if (!IsFargateSize(*def.cpu, *def.memory)) {
    return ClientError("No Fargate configuration exists for given values: " + std::to_string(*def.cpu) + " CPU, " +
                       std::to_string(*def.memory) + " memory. See the Amazon ECS documentation for the valid values.");
  }
  if (def.networkMode != "awsvpc") return ClientError("Fargate only supports network mode \u2018awsvpc\u2019.");
  for (const Volume& v : def.volumes) {
    if (v.hostSourcePath) return ClientError("Fargate does not support host volumes with a sourcePath.");
    if (v.dockerVolumeConfiguration) return ClientError("Fargate does not support docker volumes.");
  }
  for (const ContainerDefinition& c : def.containerDefinitions) {
    if (c.logConfiguration && c.logConfiguration->logDriver == "awslogs" && !def.executionRoleArn) {
      return ClientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
    }
  }
  return Status::OK();
}

}  // namespace

Result<TaskDefinition> ParseRegisterTaskDefinition(const Json& request) {
  if (!request.is_object()) return SerializationError("The request body must be a JSON object");
  if (request.dump(-1, ' ', false, Json::error_handler_t::replace).size() > kMaxRequestBytes) {
    return ClientError("Task definition size exceeds the maximum of 65536 bytes.");
  }
  std::optional<std::string> cpu, memory;
  ANNEX_ASSIGN_OR_RETURN(TaskDefinition def, ReadRequest(request, &cpu, &memory));
  if (def.family.empty()) return ClientError("Family cannot be blank.");
  if (!ValidName(def.family)) {
    return ClientError(std::string("Family contains invalid characters. ") + kNameRule);
  }
  ANNEX_RETURN_IF_ERROR(CheckEnums(def));
  ANNEX_RETURN_IF_ERROR(CheckTaskSize(def, cpu, memory));
  if (def.ephemeralStorageGiB && (*def.ephemeralStorageGiB < 21 || *def.ephemeralStorageGiB > 200)) {
    return ClientError("The ephemeral storage size must be between 21 GiB and 200 GiB.");
  }
  ANNEX_RETURN_IF_ERROR(CheckVolumes(def));
  if (std::ranges::count(def.requiresCompatibilities, std::string("FARGATE"))) ANNEX_RETURN_IF_ERROR(CheckFargate(def));
  ANNEX_RETURN_IF_ERROR(CheckContainers(def));
  def.compatibilities = {"EC2"};
  if (CheckFargate(def).ok()) def.compatibilities.push_back("FARGATE");
  return def;
}

}  // namespace annex::containers
