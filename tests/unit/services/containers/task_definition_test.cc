#include "services/containers/task_definition.h"

#include <string>

#include <gtest/gtest.h>

#include "services/containers/fargate_sizes.h"

namespace annex::containers {
namespace {

// A minimal Fargate definition that registers; tests change one thing.
Json FargateRequest() {
  return Json::parse(R"({
    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
    "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "app", "image": "busybox"}]
  })");
}

Json Ec2Request() {
  return Json::parse(R"({
    "family": "worker",
    "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}]
  })");
}

// The error's code and message, or "OK".
std::string Refusal(const Json& req) {
  auto r = ParseRegisterTaskDefinition(req);
  if (r.ok()) return "OK";
  return r.status().subcode() + ": " + r.status().message();
}

std::string Client(const std::string& m) { return "ClientException: " + m; }

constexpr const char* kBadTaskCpu =
    "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section of the Amazon ECS "
    "Developer Guide.";
constexpr const char* kBadTaskMemory =
    "Invalid 'memory' setting for task. For more information, see the Troubleshooting section of the Amazon ECS "
    "Developer Guide.";

TEST(TaskDefinitionFargateTest, EveryPublishedSizeRegisters) {
  for (const FargateSize& s : AllFargateSizes()) {
    Json req = FargateRequest();
    req["cpu"] = std::to_string(s.cpu);
    req["memory"] = std::to_string(s.memory_mib);
    EXPECT_EQ(Refusal(req), "OK") << s.cpu << "/" << s.memory_mib;
  }
}

TEST(TaskDefinitionFargateTest, InvalidSizesRefusedWithEcsMessage) {
  const std::pair<const char*, const char*> bad[] = {{"256", "4096"},   {"512", "512"},    {"1024", "9216"},
                                                     {"4096", "31744"}, {"8192", "17408"}, {"16384", "36864"}};
  for (auto [cpu, mem] : bad) {
    Json req = FargateRequest();
    req["cpu"] = cpu;
    req["memory"] = mem;
    EXPECT_EQ(Refusal(req), Client(std::string("No Fargate configuration exists for given values: ") + cpu + " CPU, " +
                                   mem + " memory. See the Amazon ECS documentation for the valid values."));
  }
}

TEST(TaskDefinitionFargateTest, VcpuAndGbSpellingsNormalised) {
  Json req = FargateRequest();
  req["cpu"] = "1 vCPU";
  req["memory"] = "2 GB";
  auto r = ParseRegisterTaskDefinition(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  Json out = ToJson(*r);
  EXPECT_EQ(out["cpu"], "1024");
  EXPECT_EQ(out["memory"], "2048");
  req["cpu"] = "0.25 vcpu";
  req["memory"] = "4GB";
  EXPECT_EQ(Refusal(req), Client("No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the "
                                 "Amazon ECS documentation for the valid values."));
}

TEST(TaskDefinitionFargateTest, TaskLevelRules) {
  Json req = FargateRequest();
  req.erase("cpu");
  EXPECT_EQ(Refusal(req), Client("Fargate requires that 'cpu' be defined at the task level."));
  req = FargateRequest();
  req.erase("memory");
  EXPECT_EQ(Refusal(req), Client("Fargate requires that 'memory' be defined at the task level."));
  req = FargateRequest();
  req["networkMode"] = "bridge";
  EXPECT_EQ(Refusal(req), Client("Fargate only supports network mode \u2018awsvpc\u2019."));
  req.erase("networkMode");
  EXPECT_EQ(Refusal(req), Client("Fargate only supports network mode \u2018awsvpc\u2019."));
  req = FargateRequest();
  req["cpu"] = "lots";
  EXPECT_EQ(Refusal(req), Client(kBadTaskCpu));
  req["cpu"] = "-256";
  EXPECT_EQ(Refusal(req), Client(kBadTaskCpu));
  req = FargateRequest();
  req["memory"] = "2 TB";
  EXPECT_EQ(Refusal(req), Client(kBadTaskMemory));
}

TEST(TaskDefinitionFargateTest, AwslogsNeedsExecutionRole) {
  Json req = FargateRequest();
  req["containerDefinitions"][0]["logConfiguration"] = {{"logDriver", "awslogs"},
                                                        {"options", {{"awslogs-group", "/ecs/web"}}}};
  EXPECT_EQ(Refusal(req),
            Client("Fargate requires task definition to have execution role ARN to support log driver awslogs."));
  req["executionRoleArn"] = "arn:aws:iam::123456789012:role/exec";
  EXPECT_EQ(Refusal(req), Client("Log driver awslogs requires options: awslogs-region"));
  req["containerDefinitions"][0]["logConfiguration"]["options"] = Json::object();
  EXPECT_EQ(Refusal(req), Client("Log driver awslogs requires options: awslogs-region, awslogs-group"));
  req["containerDefinitions"][0]["logConfiguration"]["options"] = {{"awslogs-group", "/ecs/web"},
                                                                   {"awslogs-region", "us-east-1"}};
  EXPECT_EQ(Refusal(req), "OK");
}

TEST(TaskDefinitionFargateTest, EphemeralStorageBounds) {
  Json req = FargateRequest();
  for (int gib : {21, 100, 200}) {
    req["ephemeralStorage"] = {{"sizeInGiB", gib}};
    EXPECT_EQ(Refusal(req), "OK") << gib;
  }
  for (int gib : {20, 0, -5, 201}) {
    req["ephemeralStorage"] = {{"sizeInGiB", gib}};
    EXPECT_EQ(Refusal(req), Client("The ephemeral storage size must be between 21 GiB and 200 GiB.")) << gib;
  }
}

TEST(TaskDefinitionFargateTest, NoHostPathVolumes) {
  Json req = FargateRequest();
  req["volumes"] = Json::parse(R"([{"name": "data", "host": {"sourcePath": "/srv/data"}}])");
  EXPECT_EQ(Refusal(req), Client("Fargate does not support host volumes with a sourcePath."));
  req["volumes"] = Json::parse(R"([{"name": "scratch"}])");
  EXPECT_EQ(Refusal(req), "OK");
}

TEST(TaskDefinitionFargateTest, AwsvpcHostPortMustMatch) {
  Json req = FargateRequest();
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": 80, "hostPort": 8080}])");
  EXPECT_EQ(Refusal(req),
            Client("When networkMode=awsvpc, the host ports and container ports in port mappings must match."));
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": 80, "hostPort": 80}])");
  EXPECT_EQ(Refusal(req), "OK");
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": 80}])");
  EXPECT_EQ(Refusal(req), "OK");
}

TEST(TaskDefinitionEc2Test, ContainerMemoryRequiredWithoutTaskMemory) {
  EXPECT_EQ(Refusal(Ec2Request()), "OK");
  Json req = Ec2Request();
  req["containerDefinitions"][0].erase("memory");
  EXPECT_EQ(Refusal(req), Client("Invalid setting for container 'app'. At least one of 'memory' or "
                                 "'memoryReservation' must be specified."));
  req["containerDefinitions"][0]["memoryReservation"] = 64;
  EXPECT_EQ(Refusal(req), "OK");
  req["containerDefinitions"][0].erase("memoryReservation");
  req["memory"] = "512";
  EXPECT_EQ(Refusal(req), "OK");
}

TEST(TaskDefinitionEc2Test, ContainerMemoryLimits) {
  Json req = Ec2Request();
  req["containerDefinitions"][0]["memory"] = 4;
  EXPECT_EQ(Refusal(req), Client("Invalid 'memory' setting for container 'app'. The value must be at least 6 MiB."));
  req["containerDefinitions"][0]["memory"] = 128;
  req["containerDefinitions"][0]["memoryReservation"] = 256;
  EXPECT_EQ(Refusal(req), Client("Invalid 'memoryReservation' setting for container 'app'. The value must be less "
                                 "than or equal to 'memory'."));
}

TEST(TaskDefinitionEc2Test, BridgeMapsAnyHostPortAndEc2OnlyCompatibility) {
  Json req = Ec2Request();
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": 80, "hostPort": 8080}])");
  auto r = ParseRegisterTaskDefinition(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ToJson(*r)["compatibilities"], Json::parse(R"(["EC2"])"));
  req["networkMode"] = "none";
  EXPECT_EQ(Refusal(req), Client("Port mappings are not supported on container 'app' when networkMode=none."));
  req["networkMode"] = "host";
  EXPECT_EQ(Refusal(req),
            Client("When networkMode=host, the host ports and container ports in port mappings must match."));
  req["networkMode"] = "overlay";
  EXPECT_EQ(Refusal(req).rfind("InvalidParameterException: Invalid networkMode", 0), 0u);
}

TEST(TaskDefinitionEc2Test, ContainerCpuFitsTaskCpu) {
  Json req = Ec2Request();
  req["cpu"] = "256";
  req["containerDefinitions"][0]["cpu"] = 128;
  req["containerDefinitions"].push_back({{"name", "side"}, {"image", "busybox"}, {"memory", 64}, {"cpu", 128}});
  EXPECT_EQ(Refusal(req), "OK");
  req["containerDefinitions"][1]["cpu"] = 129;
  EXPECT_EQ(Refusal(req),
            Client("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."));
  req["cpu"] = "64";  // below EC2's 128-unit minimum
  EXPECT_EQ(Refusal(req), Client(kBadTaskCpu));
}

TEST(TaskDefinitionEc2Test, FargateShapedEc2DefinitionIsCompatibleWithBoth) {
  Json req = FargateRequest();
  req["requiresCompatibilities"] = {"EC2"};
  auto r = ParseRegisterTaskDefinition(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ToJson(*r)["compatibilities"], Json::parse(R"(["EC2", "FARGATE"])"));
}

TEST(TaskDefinitionContainersTest, NamesAndEssential) {
  Json req = Ec2Request();
  req["containerDefinitions"].push_back(req["containerDefinitions"][0]);
  EXPECT_EQ(Refusal(req), Client("Container names must be unique: 'app'."));
  req = Ec2Request();
  req["containerDefinitions"][0]["name"] = "";
  EXPECT_EQ(Refusal(req), Client("Container.name should not be null or empty."));
  req["containerDefinitions"][0].erase("name");
  EXPECT_EQ(Refusal(req), Client("Container.name should not be null or empty."));
  req["containerDefinitions"][0]["name"] = "my app!";
  EXPECT_NE(Refusal(req).find("Container name 'my app!' is invalid."), std::string::npos);
  req = Ec2Request();
  req["containerDefinitions"][0].erase("image");
  EXPECT_EQ(Refusal(req), Client("Container.image should not be null or empty."));
  req = Ec2Request();
  req["containerDefinitions"][0]["essential"] = false;
  EXPECT_EQ(Refusal(req), Client("Task definition doesn't have any essential container."));
  req = Ec2Request();
  req["family"] = "bad/family";
  EXPECT_EQ(Refusal(req).rfind("ClientException: Family contains invalid characters.", 0), 0u);
  req["family"] = "";
  EXPECT_EQ(Refusal(req), Client("Family cannot be blank."));
  req["containerDefinitions"] = Json::array();
  req["family"] = "f";
  EXPECT_EQ(Refusal(req), Client("Container list cannot be empty."));
}

TEST(TaskDefinitionContainersTest, MountPointsAndDependsOnReferToDeclaredThings) {
  Json req = Ec2Request();
  req["containerDefinitions"][0]["mountPoints"] =
      Json::parse(R"([{"sourceVolume": "data", "containerPath": "/data"}])");
  EXPECT_EQ(Refusal(req), Client("Invalid 'mountPoints' setting for container 'app'. Volume 'data' is not defined in "
                                 "the task definition."));
  req["volumes"] = Json::parse(R"([{"name": "data", "host": {"sourcePath": "/srv/data"}}])");
  EXPECT_EQ(Refusal(req), "OK");
  req["volumes"].push_back(req["volumes"][0]);
  EXPECT_EQ(Refusal(req), Client("Volume name 'data' is not unique."));
  req["volumes"].erase(1);
  req["containerDefinitions"][0]["dependsOn"] = Json::parse(R"([{"containerName": "db", "condition": "START"}])");
  EXPECT_EQ(Refusal(req), Client("Invalid 'dependsOn' setting for container 'app'. Container 'db' is not another "
                                 "container in the task definition."));
  req["containerDefinitions"].push_back(Json::parse(R"({"name": "db", "image": "postgres", "memory": 256})"));
  EXPECT_EQ(Refusal(req), "OK");
  req["containerDefinitions"][0]["dependsOn"][0]["condition"] = "HEALTHY";
  EXPECT_EQ(Refusal(req), Client("Container 'db' must have a health check for the HEALTHY condition."));
  req["containerDefinitions"][0]["dependsOn"][0]["condition"] = "SUCCESS";
  EXPECT_EQ(Refusal(req), Client("A dependency container with SUCCESS or COMPLETE condition cannot be an essential "
                                 "container"));
  req["containerDefinitions"][1]["essential"] = false;
  EXPECT_EQ(Refusal(req), "OK");
  req["containerDefinitions"][0]["dependsOn"][0]["condition"] = "READY";
  EXPECT_EQ(Refusal(req).rfind("InvalidParameterException: Invalid dependsOn condition 'READY'", 0), 0u);
}

TEST(TaskDefinitionContainersTest, HealthCheckStopTimeoutUlimits) {
  Json req = Ec2Request();
  auto& c = req["containerDefinitions"][0];
  c["healthCheck"] = Json::parse(R"({"command": ["CMD-SHELL", "true"], "interval": 2})");
  EXPECT_EQ(Refusal(req), Client("Invalid healthCheck 'interval' (5-300 seconds) for container 'app'."));
  c["healthCheck"] = Json::parse(R"({"command": []})");
  EXPECT_EQ(Refusal(req), Client("Invalid healthCheck: 'command' is required for container 'app'."));
  c["healthCheck"] = Json::parse(R"({"command": ["CMD", "true"]})");
  c["stopTimeout"] = 121;
  EXPECT_EQ(Refusal(req), Client("Invalid 'stopTimeout' setting for container 'app'. The value must be between 0 "
                                 "and 120 seconds."));
  c["stopTimeout"] = 30;
  c["ulimits"] = Json::parse(R"([{"name": "nofile", "softLimit": 2048, "hardLimit": 1024}])");
  EXPECT_EQ(Refusal(req), Client("Invalid ulimit 'nofile' for container 'app'. softLimit must not exceed hardLimit."));
  c["ulimits"][0]["name"] = "bogus";
  EXPECT_EQ(Refusal(req).rfind("InvalidParameterException: Invalid ulimit name 'bogus'", 0), 0u);
}

// As `aws ecs register-task-definition --cli-input-json file://web.json` sends it.
constexpr const char* kRealistic = R"({
  "family": "web-frontend",
  "taskRoleArn": "arn:aws:iam::123456789012:role/web-task",
  "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "0.5 vCPU", "memory": "1 GB",
  "ephemeralStorage": {"sizeInGiB": 30},
  "volumes": [{"name": "cache"}],
  "containerDefinitions": [
    {"name": "nginx", "image": "123456789012.dkr.ecr.us-east-1.annex.local/nginx:1.25",
     "essential": true, "memoryReservation": 256,
     "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
     "mountPoints": [{"sourceVolume": "cache", "containerPath": "/var/cache/nginx", "readOnly": false}],
     "environment": [{"name": "MODE", "value": "prod"}],
     "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
     "healthCheck": {"command": ["CMD-SHELL", "wget -qO- localhost || exit 1"], "startPeriod": 10},
     "ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}],
     "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web",
       "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
     "stopTimeout": 20, "user": "101", "workingDirectory": "/usr/share/nginx"},
    {"name": "init", "image": "busybox", "essential": false, "entryPoint": ["sh", "-c"],
     "command": ["echo ready > /var/cache/nginx/ready"], "cpu": 128,
     "mountPoints": [{"sourceVolume": "cache", "containerPath": "/var/cache/nginx"}]}
  ]
})";

TEST(TaskDefinitionJsonTest, RealisticRoundTripToDescribeShape) {
  auto r = ParseRegisterTaskDefinition(Json::parse(kRealistic));
  ASSERT_TRUE(r.ok()) << r.status().message();
  TaskDefinition def = std::move(r).value();
  def.revision = 3;
  def.taskDefinitionArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-frontend:3";
  def.registeredAt = 1765090000.5;
  Json out = ToJson(def);
  EXPECT_EQ(out["taskDefinitionArn"], def.taskDefinitionArn);
  EXPECT_EQ(out["revision"], 3);
  EXPECT_EQ(out["status"], "ACTIVE");
  EXPECT_EQ(out["cpu"], "512");
  EXPECT_EQ(out["memory"], "1024");
  EXPECT_EQ(out["compatibilities"], Json::parse(R"(["EC2", "FARGATE"])"));
  EXPECT_EQ(out["requiresCompatibilities"], Json::parse(R"(["FARGATE"])"));
  EXPECT_EQ(out["ephemeralStorage"]["sizeInGiB"], 30);
  EXPECT_EQ(out["volumes"], Json::parse(R"([{"name": "cache"}])"));
  const Json& nginx = out["containerDefinitions"][0];
  EXPECT_EQ(nginx["cpu"], 0);
  EXPECT_EQ(nginx["healthCheck"], Json::parse(R"({"command": ["CMD-SHELL", "wget -qO- localhost || exit 1"],
      "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 10})"));
  EXPECT_EQ(nginx["portMappings"][0], Json::parse(R"({"containerPort": 80, "hostPort": 80, "protocol": "tcp"})"));
  EXPECT_EQ(nginx["logConfiguration"]["options"]["awslogs-stream-prefix"], "web");
  EXPECT_FALSE(nginx.contains("command"));
  const Json& init = out["containerDefinitions"][1];
  EXPECT_EQ(init["essential"], false);
  EXPECT_EQ(init["environment"], Json::array());
  EXPECT_EQ(init["mountPoints"][0]["readOnly"], false);
  // What describe shows registers again unchanged (as `aws ecs` users re-register).
  Json again = out;
  for (const char* k : {"taskDefinitionArn", "revision", "status", "compatibilities", "registeredAt"}) again.erase(k);
  auto r2 = ParseRegisterTaskDefinition(again);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  TaskDefinition def2 = std::move(r2).value();
  def2.revision = 3;
  def2.taskDefinitionArn = def.taskDefinitionArn;
  def2.registeredAt = def.registeredAt;
  EXPECT_EQ(ToJson(def2), out);
}

TEST(TaskDefinitionHostileTest, WrongJsonTypesAreSerializationErrors) {
  const char* patches[] = {R"({"family": 7})",
                           R"({"containerDefinitions": {}})",
                           R"({"containerDefinitions": ["x"]})",
                           R"({"cpu": 256})",
                           R"({"requiresCompatibilities": "FARGATE"})",
                           R"({"requiresCompatibilities": [1]})",
                           R"({"ephemeralStorage": {"sizeInGiB": "30"}})",
                           R"({"volumes": [{"name": "v", "host": "/x"}]})"};
  for (const char* p : patches) {
    Json req = FargateRequest();
    req.merge_patch(Json::parse(p));
    EXPECT_EQ(Refusal(req).rfind("SerializationException: ", 0), 0u) << p << " → " << Refusal(req);
  }
  const char* container_patches[] = {R"({"memory": "512"})",
                                     R"({"memory": 1.5})",
                                     R"({"memory": 99999999999})",
                                     R"({"essential": "yes"})",
                                     R"({"command": "echo hi"})",
                                     R"({"environment": [{"name": 1}]})",
                                     R"({"portMappings": [{"containerPort": "80"}]})",
                                     R"({"logConfiguration": {"logDriver": "awslogs", "options": {"k": 1}}})",
                                     R"({"healthCheck": []})"};
  for (const char* p : container_patches) {
    Json req = FargateRequest();
    req["containerDefinitions"][0].merge_patch(Json::parse(p));
    EXPECT_EQ(Refusal(req).rfind("SerializationException: ", 0), 0u) << p << " → " << Refusal(req);
  }
  EXPECT_EQ(Refusal(Json::array()).rfind("SerializationException: ", 0), 0u);
  EXPECT_EQ(Refusal(Json("x")).rfind("SerializationException: ", 0), 0u);
}

TEST(TaskDefinitionHostileTest, HugeInputsRefusedCleanly) {
  Json req = Ec2Request();
  Json many = Json::array();
  for (int i = 0; i < 10000; ++i) {
    many.push_back({{"name", "c" + std::to_string(i)}, {"image", "busybox"}, {"memory", 6}});
  }
  req["containerDefinitions"] = many;
  EXPECT_EQ(Refusal(req).rfind("ClientException: ", 0), 0u);
  req = Ec2Request();
  req["containerDefinitions"][0]["image"] = std::string(1 << 20, 'a');
  EXPECT_EQ(Refusal(req), Client("Task definition size exceeds the maximum of 65536 bytes."));
  req = Ec2Request();
  req["containerDefinitions"][0]["name"] = std::string(300, 'a');
  EXPECT_EQ(Refusal(req).rfind("ClientException: Container name", 0), 0u);
  req = Ec2Request();
  req["containerDefinitions"][0]["image"] = "\xff\xfe";  // not UTF-8
  EXPECT_EQ(Refusal(req), "OK");                         // the bytes are the image's business, not a crash
  req = Ec2Request();
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": -1}])");
  EXPECT_EQ(Refusal(req), Client("Invalid 'containerPort' setting for container 'app'."));
  req["containerDefinitions"][0]["portMappings"] = Json::parse(R"([{"containerPort": 80, "hostPort": 70000}])");
  EXPECT_EQ(Refusal(req), Client("Invalid 'hostPort' setting for container 'app'."));
  req = Ec2Request();
  req["containerDefinitions"][0]["cpu"] = -5;
  EXPECT_EQ(Refusal(req), Client("Invalid 'cpu' setting for container 'app'."));
  req["containerDefinitions"][0]["cpu"] = 0;
  req["containerDefinitions"][0]["memory"] = -128;
  EXPECT_EQ(Refusal(req), Client("Invalid 'memory' setting for container 'app'. The value must be at least 6 MiB."));
}

}  // namespace
}  // namespace annex::containers
