#include "services/database/instance_classes.h"

#include <algorithm>
#include <array>

namespace annex::database {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

// vCPUs and memory from AWS's "DB instance class" hardware specifications.
// The appliance stops at 4xlarge: larger classes exceed what one appliance
// can give a single instance.
constexpr auto kClasses = std::to_array<InstanceClass>({
    // Burstable, Intel (db.t3) and Graviton2 (db.t4g).
    {"db.t3.micro", 2, 1 * 1024, "x86_64", true},
    {"db.t3.small", 2, 2 * 1024, "x86_64", true},
    {"db.t3.medium", 2, 4 * 1024, "x86_64", true},
    {"db.t3.large", 2, 8 * 1024, "x86_64", true},
    {"db.t3.xlarge", 4, 16 * 1024, "x86_64", true},
    {"db.t3.2xlarge", 8, 32 * 1024, "x86_64", true},
    {"db.t4g.micro", 2, 1 * 1024, "arm64", true},
    {"db.t4g.small", 2, 2 * 1024, "arm64", true},
    {"db.t4g.medium", 2, 4 * 1024, "arm64", true},
    {"db.t4g.large", 2, 8 * 1024, "arm64", true},
    {"db.t4g.xlarge", 4, 16 * 1024, "arm64", true},
    {"db.t4g.2xlarge", 8, 32 * 1024, "arm64", true},
    // General purpose: 4 GiB per vCPU.
    {"db.m5.large", 2, 8 * 1024, "x86_64", false},
    {"db.m5.xlarge", 4, 16 * 1024, "x86_64", false},
    {"db.m5.2xlarge", 8, 32 * 1024, "x86_64", false},
    {"db.m5.4xlarge", 16, 64 * 1024, "x86_64", false},
    {"db.m6g.large", 2, 8 * 1024, "arm64", false},
    {"db.m6g.xlarge", 4, 16 * 1024, "arm64", false},
    {"db.m6g.2xlarge", 8, 32 * 1024, "arm64", false},
    {"db.m6g.4xlarge", 16, 64 * 1024, "arm64", false},
    {"db.m6i.large", 2, 8 * 1024, "x86_64", false},
    {"db.m6i.xlarge", 4, 16 * 1024, "x86_64", false},
    {"db.m6i.2xlarge", 8, 32 * 1024, "x86_64", false},
    {"db.m6i.4xlarge", 16, 64 * 1024, "x86_64", false},
    {"db.m7g.large", 2, 8 * 1024, "arm64", false},
    {"db.m7g.xlarge", 4, 16 * 1024, "arm64", false},
    {"db.m7g.2xlarge", 8, 32 * 1024, "arm64", false},
    {"db.m7g.4xlarge", 16, 64 * 1024, "arm64", false},
    // Memory optimized: 8 GiB per vCPU.
    {"db.r5.large", 2, 16 * 1024, "x86_64", false},
    {"db.r5.xlarge", 4, 32 * 1024, "x86_64", false},
    {"db.r5.2xlarge", 8, 64 * 1024, "x86_64", false},
    {"db.r5.4xlarge", 16, 128 * 1024, "x86_64", false},
    {"db.r6g.large", 2, 16 * 1024, "arm64", false},
    {"db.r6g.xlarge", 4, 32 * 1024, "arm64", false},
    {"db.r6g.2xlarge", 8, 64 * 1024, "arm64", false},
    {"db.r6g.4xlarge", 16, 128 * 1024, "arm64", false},
    {"db.r6i.large", 2, 16 * 1024, "x86_64", false},
    {"db.r6i.xlarge", 4, 32 * 1024, "x86_64", false},
    {"db.r6i.2xlarge", 8, 64 * 1024, "x86_64", false},
    {"db.r6i.4xlarge", 16, 128 * 1024, "x86_64", false},
    {"db.r7g.large", 2, 16 * 1024, "arm64", false},
    {"db.r7g.xlarge", 4, 32 * 1024, "arm64", false},
    {"db.r7g.2xlarge", 8, 64 * 1024, "arm64", false},
    {"db.r7g.4xlarge", 16, 128 * 1024, "arm64", false},
});

// What RDS keeps back from the class's memory (see DBInstanceClassMemory).
constexpr int64_t kMinReservedMiB = 256;
constexpr int64_t kReservedFraction = 20;  // 1/20 = 5 %

}  // namespace

std::optional<InstanceClass> FindInstanceClass(std::string_view name) {
  auto it = std::find_if(kClasses.begin(), kClasses.end(), [&](const InstanceClass& c) { return c.name == name; });
  if (it == kClasses.end()) return std::nullopt;
  return *it;
}

std::vector<InstanceClass> AllInstanceClasses() { return {kClasses.begin(), kClasses.end()}; }

int64_t DBInstanceClassMemory(const InstanceClass& c) {
  int64_t reserved_mib = std::max(kMinReservedMiB, c.memory_mib / kReservedFraction);
  return std::max<int64_t>(c.memory_mib - reserved_mib, 0) * kMiB;
}

std::string FormatKilobytes(int64_t kb) {
  if (kb % 1024 == 0) return std::to_string(kb / 1024) + "MB";
  return std::to_string(kb) + "kB";
}

PostgresSettings SettingsFor(const InstanceClass& c) {
  const int64_t memory = DBInstanceClassMemory(c);
  constexpr int64_t kPageKb = 8;  // the 8 kB pages shared_buffers and effective_cache_size count
  PostgresSettings s;
  s.shared_buffers = FormatKilobytes(memory / 32768 * kPageKb);
  s.effective_cache_size = FormatKilobytes(memory / 16384 * kPageKb);
  s.maintenance_work_mem = FormatKilobytes(std::max<int64_t>(memory * 1024 / 63963136, 65536));
  s.work_mem = "4MB";
  s.max_connections = std::to_string(std::min<int64_t>(memory / 9531392, 5000));
  s.autovacuum_max_workers = std::to_string(std::max<int64_t>(memory / 64371566592, 3));
  return s;
}

}  // namespace annex::database
