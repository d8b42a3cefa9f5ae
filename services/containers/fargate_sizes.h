#pragma once
// The task-level cpu/memory sizes Fargate accepts, as AWS publishes them, and
// the spellings ECS takes for them in a task definition ("1024" or "1 vCPU",
// "2048" or "2 GB").

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace annex::containers {

// One valid Fargate size: CPU units (1024 per vCPU) and memory in MiB.
struct FargateSize {
  int64_t cpu = 0;
  int64_t memory_mib = 0;
};

// Task cpu in CPU units: "1024", "1 vCPU", "0.25 vcpu". Nullopt when the text
// is not a positive amount in one of those forms.
std::optional<int64_t> ParseTaskCpu(std::string_view text);

// Task memory in MiB: "2048", "2 GB", "2GB", "0.5 GB". Nullopt when malformed.
std::optional<int64_t> ParseTaskMemory(std::string_view text);

// True when Fargate runs a task of exactly this size.
bool IsFargateSize(int64_t cpu, int64_t memory_mib);

// Every valid size, smallest cpu first, then memory ascending.
const std::vector<FargateSize>& AllFargateSizes();

}  // namespace annex::containers
