#include "appliance/supervisor/workload_spec.h"

#include <sys/resource.h>

namespace annex::supervisor {

Status ValidateSpec(const WorkloadSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return Status::InvalidArgument("a workload's argv[0] must be an absolute path");
  }
  if (spec.working_dir.empty() || spec.working_dir[0] != '/') {
    return Status::InvalidArgument("a workload's working directory must be an absolute path");
  }
  if (!spec.hostname.empty() && !spec.namespaces.uts) {
    return Status::InvalidArgument("a hostname needs a UTS namespace of its own");
  }
  if (spec.hostname.size() > 64) return Status::InvalidArgument("hostname longer than 64 bytes");
  const ResourceLimits& l = spec.limits;
  if (l.memory_max_bytes && l.memory_low_bytes > l.memory_max_bytes) {
    return Status::InvalidArgument("memory reservation above the memory limit");
  }
  if (l.cpu_weight > 10'000) return Status::InvalidArgument("cpu weight must be 1-10000");
  if (l.cpu_quota_us && l.cpu_quota_us < 1000) return Status::InvalidArgument("cpu quota below 1 ms");
  if (l.cpu_period_us < 1000 || l.cpu_period_us > 1'000'000) {
    return Status::InvalidArgument("cpu period must be 1 ms - 1 s");
  }
  if (spec.stop_signal <= 0 || spec.stop_signal >= NSIG) return Status::InvalidArgument("bad stop signal");
  if (spec.rlimits.size() > 16) return Status::InvalidArgument("at most 16 rlimits");
  for (const Rlimit& r : spec.rlimits) {
    if (r.resource < 0 || r.resource >= RLIM_NLIMITS || r.soft > r.hard) {
      return Status::InvalidArgument("bad rlimit " + std::to_string(r.resource));
    }
  }
  if (spec.supplementary_groups.size() > 64) return Status::InvalidArgument("at most 64 supplementary groups");
  for (const auto& s : spec.argv) {
    if (s.find('\0') != std::string::npos) return Status::InvalidArgument("NUL byte in argv");
  }
  if (!spec.log.empty() && (spec.log.account.empty() || spec.log.stream.empty())) {
    return Status::InvalidArgument("a log destination needs an account, a group and a stream");
  }
  return Status::OK();
}

}  // namespace annex::supervisor
