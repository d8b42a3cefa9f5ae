#pragma once
// The DB instance classes the appliance accepts for postgres, with the vCPUs
// and memory AWS documents for each, and the memory settings RDS's default
// postgres parameter group derives from them.
//
// A client picks a class by name (CreateDBInstance's DBInstanceClass) and
// expects the instance to behave like one of that size: the supervisor gives
// the instance that much memory and that many CPUs, and postgresql.conf gets
// the values RDS's default parameter group (default.postgres15) computes from
// the formulas below, so `SHOW shared_buffers` answers what it would on RDS.
//
// Pure data and arithmetic; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace annex::database {

// One DB instance class as AWS documents it.
struct InstanceClass {
  std::string_view name;  // "db.t3.micro"
  int vcpus = 0;
  int64_t memory_mib = 0;         // 1 GiB = 1024
  std::string_view architecture;  // "x86_64" or "arm64" (the Graviton classes)
  bool burstable = false;         // db.t3 / db.t4g: CPU credits on AWS
};

// The class named `name` ("db.m5.large"), exactly as RDS spells it; nullopt
// for a class the appliance does not offer.
std::optional<InstanceClass> FindInstanceClass(std::string_view name);

// Every class the appliance offers, in family order then size order (the
// order DescribeOrderableDBInstanceOptions lists them in).
std::vector<InstanceClass> AllInstanceClasses();

// RDS's DBInstanceClassMemory for `c`, in bytes: the class's memory less what
// RDS keeps for the operating system and its own agents. AWS does not publish
// the reserve; this takes max(256 MiB, 5 % of the class's memory): 768 MiB
// and 84 connections for db.t3.micro, 7783 MiB and 856 for db.m5.large. The
// reserve is also the room the appliance's per-instance processes get.
int64_t DBInstanceClassMemory(const InstanceClass& c);

// postgresql.conf values, as strings postgresql.conf accepts ("192MB",
// "2090329kB", "84"). Each is what default.postgres15 computes:
//   shared_buffers        {DBInstanceClassMemory/32768} 8 kB pages (25 %)
//   effective_cache_size  {DBInstanceClassMemory/16384} 8 kB pages (50 %)
//   maintenance_work_mem  GREATEST({DBInstanceClassMemory*1024/63963136},65536) kB
//   max_connections       LEAST({DBInstanceClassMemory/9531392},5000)
//   autovacuum_max_workers GREATEST({DBInstanceClassMemory/64371566592},3)
//   work_mem              not set by RDS: PostgreSQL's default, 4MB
struct PostgresSettings {
  std::string shared_buffers;
  std::string effective_cache_size;
  std::string maintenance_work_mem;
  std::string work_mem;
  std::string max_connections;
  std::string autovacuum_max_workers;
};

// The settings for an instance of class `c`.
PostgresSettings SettingsFor(const InstanceClass& c);

// A size in kB as postgresql.conf takes it: "<n>MB" when whole megabytes,
// else "<n>kB".
std::string FormatKilobytes(int64_t kb);

}  // namespace annex::database
