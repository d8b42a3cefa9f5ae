#include "services/database/instance_classes.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace annex::database {
namespace {

InstanceClass Class(std::string_view name) {
  auto c = FindInstanceClass(name);
  EXPECT_TRUE(c.has_value()) << name;
  return c.value_or(InstanceClass{});
}

TEST(InstanceClassesTest, FindsClassesByTheirExactRdsName) {
  InstanceClass micro = Class("db.t3.micro");
  EXPECT_EQ(micro.name, "db.t3.micro");
  EXPECT_EQ(micro.vcpus, 2);
  EXPECT_EQ(micro.memory_mib, 1024);
  EXPECT_EQ(micro.architecture, "x86_64");
  EXPECT_TRUE(micro.burstable);

  InstanceClass graviton = Class("db.r6g.4xlarge");
  EXPECT_EQ(graviton.vcpus, 16);
  EXPECT_EQ(graviton.memory_mib, 128 * 1024);
  EXPECT_EQ(graviton.architecture, "arm64");
  EXPECT_FALSE(graviton.burstable);

  EXPECT_FALSE(FindInstanceClass("DB.T3.MICRO"));
  EXPECT_FALSE(FindInstanceClass("db.t3.nano"));
  EXPECT_FALSE(FindInstanceClass("db.m5.24xlarge"));
  EXPECT_FALSE(FindInstanceClass("t3.micro"));
  EXPECT_FALSE(FindInstanceClass(""));
}

// Every family and size the appliance promises, with AWS's published sizes.
TEST(InstanceClassesTest, EveryPromisedFamilyAndSizeWithAwsSpecifications) {
  struct Size {
    const char* size;
    int vcpus;
    int64_t gib;
  };
  const Size burstable[] = {{"micro", 2, 1}, {"small", 2, 2},   {"medium", 2, 4},
                            {"large", 2, 8}, {"xlarge", 4, 16}, {"2xlarge", 8, 32}};
  for (const char* family : {"db.t3", "db.t4g"}) {
    for (const Size& s : burstable) {
      InstanceClass c = Class(std::string(family) + "." + s.size);
      EXPECT_EQ(c.vcpus, s.vcpus) << c.name;
      EXPECT_EQ(c.memory_mib, s.gib * 1024) << c.name;
    }
  }
  const Size general[] = {{"large", 2, 8}, {"xlarge", 4, 16}, {"2xlarge", 8, 32}, {"4xlarge", 16, 64}};
  for (const char* family : {"db.m5", "db.m6g", "db.m6i", "db.m7g"}) {
    for (const Size& s : general) {
      InstanceClass c = Class(std::string(family) + "." + s.size);
      EXPECT_EQ(c.vcpus, s.vcpus) << c.name;
      EXPECT_EQ(c.memory_mib, s.gib * 1024) << c.name;
    }
  }
  const Size memory[] = {{"large", 2, 16}, {"xlarge", 4, 32}, {"2xlarge", 8, 64}, {"4xlarge", 16, 128}};
  for (const char* family : {"db.r5", "db.r6g", "db.r6i", "db.r7g"}) {
    for (const Size& s : memory) {
      InstanceClass c = Class(std::string(family) + "." + s.size);
      EXPECT_EQ(c.vcpus, s.vcpus) << c.name;
      EXPECT_EQ(c.memory_mib, s.gib * 1024) << c.name;
    }
  }
}

TEST(InstanceClassesTest, AllInstanceClassesListsEachOnceAndFindsEach) {
  std::set<std::string_view> names;
  for (const InstanceClass& c : AllInstanceClasses()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_TRUE(FindInstanceClass(c.name)) << c.name;
    EXPECT_EQ(c.architecture, c.name.find("g.") != std::string_view::npos ? "arm64" : "x86_64") << c.name;
  }
  EXPECT_EQ(names.size(), 44u);
  EXPECT_EQ(AllInstanceClasses().front().name, "db.t3.micro");
}

TEST(InstanceClassesTest, DBInstanceClassMemoryKeepsTheReserveBack) {
  // max(256 MiB, 5 %) is kept back.
  EXPECT_EQ(DBInstanceClassMemory(Class("db.t3.micro")), int64_t{768} * 1024 * 1024);
  EXPECT_EQ(DBInstanceClassMemory(Class("db.t3.small")), int64_t{1792} * 1024 * 1024);
  EXPECT_EQ(DBInstanceClassMemory(Class("db.m5.large")), int64_t{8192 - 409} * 1024 * 1024);
  EXPECT_EQ(DBInstanceClassMemory(Class("db.r5.4xlarge")), int64_t{131072 - 6553} * 1024 * 1024);
}

TEST(InstanceClassesTest, SettingsForSmallClassesHitTheFloors) {
  PostgresSettings s = SettingsFor(Class("db.t3.micro"));
  EXPECT_EQ(s.shared_buffers, "192MB");        // 25 % of 768 MiB
  EXPECT_EQ(s.effective_cache_size, "384MB");  // 50 %
  EXPECT_EQ(s.maintenance_work_mem, "64MB");   // the 65536 kB floor
  EXPECT_EQ(s.work_mem, "4MB");
  EXPECT_EQ(s.max_connections, "84");
  EXPECT_EQ(s.autovacuum_max_workers, "3");

  s = SettingsFor(Class("db.t4g.small"));
  EXPECT_EQ(s.shared_buffers, "448MB");
  EXPECT_EQ(s.effective_cache_size, "896MB");
  EXPECT_EQ(s.max_connections, "197");
}

TEST(InstanceClassesTest, SettingsForLargerClassesFollowRdsFormulas) {
  PostgresSettings s = SettingsFor(Class("db.m5.large"));
  EXPECT_EQ(s.shared_buffers, "1992448kB");        // 8161067008 / 32768 pages of 8 kB
  EXPECT_EQ(s.effective_cache_size, "3984896kB");  // 8161067008 / 16384 pages
  EXPECT_EQ(s.maintenance_work_mem, "130652kB");   // 8161067008 * 1024 / 63963136
  EXPECT_EQ(s.max_connections, "856");             // 8161067008 / 9531392

  s = SettingsFor(Class("db.m6i.4xlarge"));
  EXPECT_EQ(s.shared_buffers, "15565MB");
  EXPECT_EQ(s.max_connections, "5000");  // LEAST(…, 5000)

  s = SettingsFor(Class("db.r6i.4xlarge"));
  EXPECT_EQ(s.shared_buffers, "31876864kB");
  EXPECT_EQ(s.effective_cache_size, "63753728kB");
  EXPECT_EQ(s.maintenance_work_mem, "2090286kB");
  EXPECT_EQ(s.max_connections, "5000");
  EXPECT_EQ(s.autovacuum_max_workers, "3");
}

TEST(InstanceClassesTest, FormatKilobytesUsesMegabytesOnlyWhenWhole) {
  EXPECT_EQ(FormatKilobytes(1024), "1MB");
  EXPECT_EQ(FormatKilobytes(65536), "64MB");
  EXPECT_EQ(FormatKilobytes(1000), "1000kB");
  EXPECT_EQ(FormatKilobytes(8), "8kB");
}

}  // namespace
}  // namespace annex::database
