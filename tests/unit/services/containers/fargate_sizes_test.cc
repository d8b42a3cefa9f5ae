#include "services/containers/fargate_sizes.h"

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

TEST(FargateSizesTest, PublishedTableExactly) {
  const auto& sizes = AllFargateSizes();
  // 3 + 4 + 7 + 13 + 23 + 12 + 12
  EXPECT_EQ(sizes.size(), 74u);
  EXPECT_TRUE(IsFargateSize(256, 512));
  EXPECT_TRUE(IsFargateSize(256, 1024));
  EXPECT_TRUE(IsFargateSize(256, 2048));
  EXPECT_FALSE(IsFargateSize(256, 3072));
  for (int gib = 1; gib <= 4; ++gib) EXPECT_TRUE(IsFargateSize(512, gib * 1024)) << gib;
  EXPECT_FALSE(IsFargateSize(512, 512));
  EXPECT_FALSE(IsFargateSize(512, 5 * 1024));
  for (int gib = 2; gib <= 8; ++gib) EXPECT_TRUE(IsFargateSize(1024, gib * 1024)) << gib;
  EXPECT_FALSE(IsFargateSize(1024, 1024));
  for (int gib = 4; gib <= 16; ++gib) EXPECT_TRUE(IsFargateSize(2048, gib * 1024)) << gib;
  for (int gib = 8; gib <= 30; ++gib) EXPECT_TRUE(IsFargateSize(4096, gib * 1024)) << gib;
  EXPECT_FALSE(IsFargateSize(4096, 31 * 1024));
  for (int gib = 16; gib <= 60; gib += 4) EXPECT_TRUE(IsFargateSize(8192, gib * 1024)) << gib;
  EXPECT_FALSE(IsFargateSize(8192, 17 * 1024));
  EXPECT_FALSE(IsFargateSize(8192, 64 * 1024));
  for (int gib = 32; gib <= 120; gib += 8) EXPECT_TRUE(IsFargateSize(16384, gib * 1024)) << gib;
  EXPECT_FALSE(IsFargateSize(16384, 36 * 1024));
  EXPECT_FALSE(IsFargateSize(16384, 128 * 1024));
  EXPECT_FALSE(IsFargateSize(32768, 64 * 1024));
  EXPECT_FALSE(IsFargateSize(1024, 2000));  // not whole GiB
}

TEST(FargateSizesTest, CpuSpellings) {
  EXPECT_EQ(ParseTaskCpu("1024"), 1024);
  EXPECT_EQ(ParseTaskCpu("1 vCPU"), 1024);
  EXPECT_EQ(ParseTaskCpu("1 vcpu"), 1024);
  EXPECT_EQ(ParseTaskCpu("1vcpu"), 1024);
  EXPECT_EQ(ParseTaskCpu("0.25 vCPU"), 256);
  EXPECT_EQ(ParseTaskCpu("0.5 vCPU"), 512);
  EXPECT_EQ(ParseTaskCpu("16 vCPU"), 16384);
  EXPECT_EQ(ParseTaskCpu(" 256 "), 256);
  EXPECT_EQ(ParseTaskCpu("0.3 vCPU"), std::nullopt);  // 307.2 units
  EXPECT_EQ(ParseTaskCpu(""), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("vCPU"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("-1024"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("0"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("1024.5"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("1 GB"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("99999999999999999999"), std::nullopt);
  EXPECT_EQ(ParseTaskCpu("1..0 vcpu"), std::nullopt);
}

TEST(FargateSizesTest, MemorySpellings) {
  EXPECT_EQ(ParseTaskMemory("2048"), 2048);
  EXPECT_EQ(ParseTaskMemory("2 GB"), 2048);
  EXPECT_EQ(ParseTaskMemory("2GB"), 2048);
  EXPECT_EQ(ParseTaskMemory("2 gb"), 2048);
  EXPECT_EQ(ParseTaskMemory("0.5 GB"), 512);
  EXPECT_EQ(ParseTaskMemory("120 GB"), 120 * 1024);
  EXPECT_EQ(ParseTaskMemory("2 MB"), std::nullopt);
  EXPECT_EQ(ParseTaskMemory("GB"), std::nullopt);
  EXPECT_EQ(ParseTaskMemory("-2 GB"), std::nullopt);
  EXPECT_EQ(ParseTaskMemory("two"), std::nullopt);
}

}  // namespace
}  // namespace annex::containers
