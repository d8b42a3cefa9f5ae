// New tasks: the document NewTask writes (ARNs, statuses, containers, group,
// Fargate versus EC2 members, the private "annex" part that reservations,
// the task endpoint and task-role credentials read), RenderTask hiding that
// part, and CapacityShortfall weighing a new task against every task on the
// host that is not STOPPED.

#include "services/containers/task_factory.h"

#include <chrono>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "appliance/os/clock.h"
#include "services/containers/ecs.h"
#include "services/containers/ecs_store.h"
#include "services/containers/task_definition.h"
#include "services/containers/task_document.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::containers {
namespace {

constexpr const char* kAccount = "123456789012";
constexpr int64_t kNowMs = 1700000000123;

bool Matches(const std::string& s, const std::string& pattern) { return std::regex_match(s, std::regex(pattern)); }

const std::string kHex32 = "[0-9a-f]{32}";
const std::string kUuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

// The overrides RunTask and the scheduler pass when none are given.
Json NoOverrides() {
  return {{"containerOverrides", Json::array()}, {"inferenceAcceleratorOverrides", Json::array()}};
}

class TaskFactoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenEcsStore(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ecs_.store = std::move(store).value();
    ecs_.region = "us-east-1";
    // NewTask takes the time as an argument; the clock is there for
    // completeness of the Ecs the services build.
    ecs_.clock = &clock_;
    ecs_.server_id = "abc";
    ecs_.host = {.cpu_units = 2048, .memory_mib = 4096};
  }

  // A registered definition, revision 1.
  TaskDefinition Def(const std::string& json) {
    auto def = ParseRegisterTaskDefinition(Json::parse(json));
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    if (!def.ok()) return {};
    def->revision = 1;
    def->taskDefinitionArn = ecs_.TaskDefinitionArn(kAccount, def->family, 1);
    return std::move(def).value();
  }

  TaskDefinition FargateDef() {
    return Def(R"({
      "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
      "cpu": "256", "memory": "512",
      "containerDefinitions": [
        {"name": "app", "image": "busybox", "portMappings": [{"containerPort": 80}]},
        {"name": "sidecar", "image": "nginx:1.25", "essential": false}
      ]
    })");
  }

  // No task-level size: the containers' add up to 192 CPU units and
  // 256 + 128 + 64 MiB (memory counted before memoryReservation).
  TaskDefinition Ec2Def() {
    return Def(R"({
      "family": "worker",
      "containerDefinitions": [
        {"name": "a", "image": "busybox", "cpu": 128, "memory": 256,
         "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
        {"name": "b", "image": "alpine", "cpu": 64, "memoryReservation": 128, "essential": false,
         "portMappings": [{"containerPort": 9000, "hostPort": 0}, {"containerPort": 9001}]},
        {"name": "c", "image": "redis", "memory": 64, "memoryReservation": 32}
      ]
    })");
  }

  static RunRequest Fargate() {
    RunRequest run;
    run.cluster = "default";
    run.launch_type = "FARGATE";
    run.platform_version = "1.4.0";
    run.network = {{"subnets", {"subnet-1"}}, {"assignPublicIp", "DISABLED"}};
    run.tags = Json::array();
    return run;
  }

  static RunRequest Ec2() {
    RunRequest run;
    run.cluster = "batch";
    run.launch_type = "EC2";
    run.tags = Json::array({{{"key", "team"}, {"value", "infra"}}});
    return run;
  }

  Json New(const TaskDefinition& def, const RunRequest& run, const Json& overrides = NoOverrides(),
           const std::string& id = NewTaskId()) {
    return NewTask(ecs_, kAccount, kNowMs, def, EcsKey({kAccount, def.family, RevisionKey(1)}), run, overrides, id);
  }

  // Stores `task` as RunTask does, under <account>/<cluster>/<id>.
  void Store(const Json& task) {
    const Json& priv = task.at(kPrivate);
    Status s = ecs_.store->Put(EcsKind::kTask,
                               EcsKey({priv.at("account").get<std::string>(), priv.at("cluster").get<std::string>(),
                                       priv.at("id").get<std::string>()}),
                               task);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A task that only reserves (the members CapacityShortfall reads).
  void StoreReserving(const std::string& id, int64_t cpu, int64_t memory, std::vector<int> ports = {},
                      const std::string& status = "RUNNING", const std::string& account = kAccount) {
    Json task = {{"lastStatus", status},
                 {"desiredStatus", "RUNNING"},
                 {kPrivate,
                  {{"account", account},
                   {"cluster", "default"},
                   {"id", id},
                   {"reservedCpu", cpu},
                   {"reservedMemory", memory},
                   {"hostPorts", ports}}}};
    Store(task);
  }

  std::string Shortfall(int64_t cpu, int64_t memory, std::vector<int> ports = {}) {
    auto r = CapacityShortfall(ecs_, Reservation{cpu, memory, std::move(ports)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "<error>";
  }

  annex::testing::TempDir tmp_;
  os::ManualClock clock_{os::FromUnixMillis(kNowMs)};
  Ecs ecs_;
};

TEST(NewTaskIdTest, ThirtyTwoHexDigitsEachTimeNew) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string id = NewTaskId();
    EXPECT_TRUE(Matches(id, kHex32)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST_F(TaskFactoryTest, FargateTaskDocument) {
  TaskDefinition def = FargateDef();
  std::string id = NewTaskId();
  Json task = New(def, Fargate(), NoOverrides(), id);

  const std::string arn_prefix = std::string("arn:aws:ecs:us-east-1:") + kAccount + ":";
  EXPECT_EQ(task.at("taskArn"), arn_prefix + "task/default/" + id);
  EXPECT_TRUE(Matches(task.at("taskArn"), "arn:aws:ecs:us-east-1:[0-9]{12}:task/default/" + kHex32)) << task.at("taskArn");
  EXPECT_EQ(task.at("clusterArn"), arn_prefix + "cluster/default");
  EXPECT_EQ(task.at("taskDefinitionArn"), arn_prefix + "task-definition/web:1");
  EXPECT_EQ(task.at("lastStatus"), "PROVISIONING");
  EXPECT_EQ(task.at("desiredStatus"), "RUNNING");
  EXPECT_EQ(task.at("launchType"), "FARGATE");
  EXPECT_EQ(task.at("group"), "family:web");
  EXPECT_FALSE(task.contains("startedBy"));
  EXPECT_EQ(task.at("overrides"), NoOverrides());
  EXPECT_EQ(task.at("cpu"), "256");
  EXPECT_EQ(task.at("memory"), "512");
  EXPECT_EQ(task.at("version"), 1);
  EXPECT_DOUBLE_EQ(task.at("createdAt").get<double>(), 1700000000.123);
  EXPECT_EQ(task.at("availabilityZone"), "us-east-1a");
  EXPECT_EQ(task.at("tags"), Json::array());

  // Fargate's members, and no container instance.
  EXPECT_EQ(task.at("platformVersion"), "1.4.0");
  EXPECT_EQ(task.at("platformFamily"), "Linux");
  EXPECT_EQ(task.at("capacityProviderName"), "FARGATE");
  EXPECT_EQ(task.at("ephemeralStorage"), (Json{{"sizeInGiB", 20}}));
  EXPECT_FALSE(task.contains("containerInstanceArn"));

  const Json& containers = task.at("containers");
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0].at("name"), "app");
  EXPECT_EQ(containers[0].at("image"), "busybox");
  EXPECT_EQ(containers[1].at("name"), "sidecar");
  EXPECT_EQ(containers[1].at("image"), "nginx:1.25");
  for (const Json& c : containers) {
    EXPECT_TRUE(Matches(c.at("containerArn"), arn_prefix + "container/default/" + id + "/" + kUuid))
        << c.at("containerArn");
    EXPECT_EQ(c.at("taskArn"), task.at("taskArn"));
    EXPECT_EQ(c.at("lastStatus"), "PENDING");
  }
  EXPECT_NE(containers[0].at("containerArn"), containers[1].at("containerArn"));

  const Json& priv = task.at(kPrivate);
  EXPECT_EQ(priv.at("account"), kAccount);
  EXPECT_EQ(priv.at("cluster"), "default");
  EXPECT_EQ(priv.at("id"), id);
  EXPECT_EQ(priv.at("taskDefinitionKey"), std::string(kAccount) + "/web/0000000001");
  EXPECT_EQ(priv.at("network"), Fargate().network);
  EXPECT_EQ(priv.at("reservedCpu"), 256) << "the task-level size";
  EXPECT_EQ(priv.at("reservedMemory"), 512);
  EXPECT_EQ(priv.at("hostPorts"), Json::array()) << "awsvpc without a hostPort takes none of the host's";
  EXPECT_EQ(priv.at("essential"), Json::array({true, false}));
  EXPECT_EQ(priv.at("networkMode"), "awsvpc");
  EXPECT_TRUE(Matches(priv.at("endpointToken"), kHex32)) << priv.at("endpointToken");
  EXPECT_FALSE(priv.contains("taskRoleArn")) << "no role given";
  EXPECT_FALSE(priv.contains("credentialsId"));

  // TaskReservation reads back what NewTask reserved.
  Reservation r = TaskReservation(task);
  EXPECT_EQ(r.cpu_units, 256);
  EXPECT_EQ(r.memory_mib, 512);
  EXPECT_TRUE(r.host_ports.empty());
}

TEST_F(TaskFactoryTest, FargateEphemeralStorageFromTheDefinition) {
  TaskDefinition def = Def(R"({
    "family": "big", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
    "cpu": "512", "memory": "1024", "ephemeralStorage": {"sizeInGiB": 50},
    "containerDefinitions": [{"name": "app", "image": "busybox"}]
  })");
  Json task = New(def, Fargate());
  EXPECT_EQ(task.at("ephemeralStorage"), (Json{{"sizeInGiB", 50}}));
}

TEST_F(TaskFactoryTest, Ec2TaskDocument) {
  TaskDefinition def = Ec2Def();
  RunRequest run = Ec2();
  run.group = "nightly";
  run.started_by = "ecs-svc/1234";
  std::string id = NewTaskId();
  Json task = New(def, run, NoOverrides(), id);

  const std::string arn_prefix = std::string("arn:aws:ecs:us-east-1:") + kAccount + ":";
  EXPECT_EQ(task.at("taskArn"), arn_prefix + "task/batch/" + id);
  EXPECT_EQ(task.at("clusterArn"), arn_prefix + "cluster/batch");
  EXPECT_EQ(task.at("launchType"), "EC2");
  EXPECT_EQ(task.at("group"), "nightly") << "the request's group over family:<family>";
  EXPECT_EQ(task.at("startedBy"), "ecs-svc/1234");
  EXPECT_EQ(task.at("tags"), run.tags);
  EXPECT_EQ(task.at("containerInstanceArn"), arn_prefix + "container-instance/batch/abc");
  for (const char* fargate_only : {"platformVersion", "platformFamily", "capacityProviderName", "ephemeralStorage"}) {
    EXPECT_FALSE(task.contains(fargate_only)) << fargate_only;
  }
  EXPECT_FALSE(task.contains("cpu")) << "no task-level size in the definition";
  EXPECT_FALSE(task.contains("memory"));

  const Json& containers = task.at("containers");
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers[0].at("name"), "a");
  EXPECT_EQ(containers[0].at("image"), "busybox");
  EXPECT_EQ(containers[0].at("cpu"), "128");
  EXPECT_EQ(containers[0].at("memory"), "256");
  EXPECT_EQ(containers[1].at("name"), "b");
  EXPECT_EQ(containers[1].at("image"), "alpine");
  EXPECT_EQ(containers[1].at("memoryReservation"), "128");
  EXPECT_FALSE(containers[1].contains("memory"));
  EXPECT_EQ(containers[2].at("name"), "c");
  EXPECT_EQ(containers[2].at("image"), "redis");
  for (const Json& c : containers) {
    EXPECT_TRUE(Matches(c.at("containerArn"), arn_prefix + "container/batch/" + id + "/" + kUuid))
        << c.at("containerArn");
  }

  const Json& priv = task.at(kPrivate);
  EXPECT_EQ(priv.at("reservedCpu"), 128 + 64) << "the containers' sum";
  EXPECT_EQ(priv.at("reservedMemory"), 256 + 128 + 64) << "memory, else memoryReservation, per container";
  EXPECT_EQ(priv.at("hostPorts"), Json::array({8080})) << "only fixed host ports";
  EXPECT_EQ(priv.at("essential"), Json::array({true, false, true}));
  EXPECT_EQ(priv.at("networkMode"), "bridge");
  EXPECT_EQ(priv.at("network"), Json()) << "no awsvpc configuration";
}

TEST_F(TaskFactoryTest, DefaultGroupIsTheFamily) {
  Json task = New(Ec2Def(), Ec2());
  EXPECT_EQ(task.at("group"), "family:worker");
}

TEST_F(TaskFactoryTest, TaskLevelSizeIsTheReservation) {
  TaskDefinition def = Def(R"({
    "family": "sized", "cpu": "1024", "memory": "2048",
    "containerDefinitions": [{"name": "a", "image": "busybox", "cpu": 10, "memory": 100}]
  })");
  Json task = New(def, Ec2());
  EXPECT_EQ(task.at("cpu"), "1024");
  EXPECT_EQ(task.at("memory"), "2048");
  EXPECT_EQ(task.at(kPrivate).at("reservedCpu"), 1024);
  EXPECT_EQ(task.at(kPrivate).at("reservedMemory"), 2048);
}

TEST_F(TaskFactoryTest, TaskRoleFromTheDefinitionOrTheOverrides) {
  const std::string def_role = std::string("arn:aws:iam::") + kAccount + ":role/from-definition";
  const std::string override_role = std::string("arn:aws:iam::") + kAccount + ":role/from-overrides";

  Json with_role = Json::parse(R"({
    "family": "roled", "taskRoleArn": "", "containerDefinitions": [{"name": "a", "image": "busybox", "memory": 64}]
  })");
  with_role["taskRoleArn"] = def_role;
  TaskDefinition roled = Def(with_role.dump());
  TaskDefinition plain = Ec2Def();

  // The definition's role.
  Json t1 = New(roled, Ec2());
  EXPECT_EQ(t1.at(kPrivate).at("taskRoleArn"), def_role);
  EXPECT_TRUE(Matches(t1.at(kPrivate).at("credentialsId"), kUuid)) << t1.at(kPrivate).at("credentialsId");

  // The override's role wins over the definition's.
  Json overrides = NoOverrides();
  overrides["taskRoleArn"] = override_role;
  Json t2 = New(roled, Ec2(), overrides);
  EXPECT_EQ(t2.at(kPrivate).at("taskRoleArn"), override_role);
  EXPECT_TRUE(t2.at(kPrivate).contains("credentialsId"));

  // An override gives a role to a definition without one.
  Json t3 = New(plain, Ec2(), overrides);
  EXPECT_EQ(t3.at(kPrivate).at("taskRoleArn"), override_role);
  EXPECT_TRUE(Matches(t3.at(kPrivate).at("credentialsId"), kUuid));

  // Neither: no role, no credentials.
  Json t4 = New(plain, Ec2());
  EXPECT_FALSE(t4.at(kPrivate).contains("taskRoleArn"));
  EXPECT_FALSE(t4.at(kPrivate).contains("credentialsId"));

  // Each task its own credentials and endpoint token.
  EXPECT_NE(t1.at(kPrivate).at("credentialsId"), t2.at(kPrivate).at("credentialsId"));
  EXPECT_NE(t1.at(kPrivate).at("endpointToken"), t2.at(kPrivate).at("endpointToken"));
}

TEST_F(TaskFactoryTest, RenderTaskStripsThePrivatePart) {
  Json task = New(FargateDef(), Fargate());
  Json rendered = RenderTask(task);
  EXPECT_FALSE(rendered.contains(kPrivate));
  EXPECT_TRUE(task.contains(kPrivate)) << "the stored document keeps it";
  Json expected = task;
  expected.erase(kPrivate);
  EXPECT_EQ(rendered, expected);
  EXPECT_EQ(rendered.dump().find("endpointToken"), std::string::npos);
}

TEST_F(TaskFactoryTest, CapacityShortfallOnAnEmptyHostIsNone) {
  EXPECT_EQ(Shortfall(0, 0), "");
  EXPECT_EQ(Shortfall(2048, 4096, {80, 443}), "") << "all of the host";
  EXPECT_EQ(Shortfall(2049, 0), "RESOURCE:CPU");
  EXPECT_EQ(Shortfall(0, 4097), "RESOURCE:MEMORY");
}

TEST_F(TaskFactoryTest, CapacityShortfallMemory) {
  StoreReserving(NewTaskId(), 256, 3000);
  StoreReserving(NewTaskId(), 256, 1000, {}, "PENDING", "210987654321");  // another account: same host
  EXPECT_EQ(Shortfall(256, 96), "") << "exactly what is left";
  EXPECT_EQ(Shortfall(256, 97), "RESOURCE:MEMORY");
}

TEST_F(TaskFactoryTest, CapacityShortfallCpu) {
  StoreReserving(NewTaskId(), 1024, 128);
  StoreReserving(NewTaskId(), 1000, 128, {}, "PROVISIONING");
  EXPECT_EQ(Shortfall(24, 128), "");
  EXPECT_EQ(Shortfall(25, 128), "RESOURCE:CPU");
}

TEST_F(TaskFactoryTest, CapacityShortfallPorts) {
  StoreReserving(NewTaskId(), 128, 128, {8080, 9090});
  EXPECT_EQ(Shortfall(128, 128, {8081}), "");
  EXPECT_EQ(Shortfall(128, 128, {8081, 9090}), "RESOURCE:PORTS");
  EXPECT_EQ(Shortfall(0, 0, {8080}), "RESOURCE:PORTS");
}

TEST_F(TaskFactoryTest, CapacityShortfallCountsNewTasksAsTheyAreWritten) {
  Json task = New(Ec2Def(), Ec2());  // 192 CPU, 448 MiB, host port 8080
  Store(task);
  Reservation again = TaskReservation(New(Ec2Def(), Ec2()));
  EXPECT_EQ(Shortfall(again.cpu_units, again.memory_mib, again.host_ports), "RESOURCE:PORTS");
  EXPECT_EQ(Shortfall(2048 - 192, 4096 - 448), "");
  EXPECT_EQ(Shortfall(2048 - 192 + 1, 0), "RESOURCE:CPU");
  EXPECT_EQ(Shortfall(0, 4096 - 448 + 1), "RESOURCE:MEMORY");
}

TEST_F(TaskFactoryTest, StoppedTasksDoNotCount) {
  StoreReserving(NewTaskId(), 2048, 4096, {8080}, "STOPPED");
  EXPECT_EQ(Shortfall(2048, 4096, {8080}), "");

  Json task = New(Ec2Def(), Ec2());
  task["lastStatus"] = "STOPPED";
  Store(task);
  EXPECT_EQ(Shortfall(2048, 4096, {8080}), "");

  // A task told to stop still holds its share until it has stopped.
  StoreReserving(NewTaskId(), 2048, 0, {}, "DEACTIVATING");
  EXPECT_EQ(Shortfall(1, 0), "RESOURCE:CPU");
}

}  // namespace
}  // namespace annex::containers
