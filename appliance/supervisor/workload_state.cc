#include "appliance/supervisor/workload_state.h"

#include "appliance/store/record.h"

namespace annex::supervisor {
namespace {

constexpr uint8_t kVersion = 1;

int64_t Ms(std::chrono::milliseconds d) { return d.count(); }

void EncodeSpec(store::RecordWriter& w, const WorkloadSpec& s) {
  w.U64(s.argv.size());
  for (const auto& a : s.argv) w.Bytes(a);
  w.U64(s.env.size());
  for (const auto& e : s.env) w.Bytes(e);
  w.Bytes(s.working_dir).I64(s.uid).I64(s.gid);
  w.U64(s.supplementary_groups.size());
  for (gid_t g : s.supplementary_groups) w.U64(g);
  const Namespaces& n = s.namespaces;
  w.Bool(n.pid).Bool(n.mount).Bool(n.network).Bool(n.uts).Bool(n.ipc).Bytes(s.hostname);
  const ResourceLimits& l = s.limits;
  w.U64(l.memory_max_bytes).U64(l.cpu_weight).U64(l.cpu_quota_us).U64(l.cpu_period_us).U64(l.pids_max);
  w.U64(s.rlimits.size());
  for (const Rlimit& r : s.rlimits) w.I64(r.resource).U64(r.soft).U64(r.hard);
  w.I64(Ms(s.stop_grace));
}

Result<std::vector<std::string>> Strings(store::RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  if (n > 100'000) return Status::Corruption("implausible list length");
  std::vector<std::string> out;
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string s, r.Bytes());
    out.push_back(std::move(s));
  }
  return out;
}

Result<WorkloadSpec> DecodeSpec(store::RecordReader& r) {
  WorkloadSpec s;
  ANNEX_ASSIGN_OR_RETURN(s.argv, Strings(r));
  ANNEX_ASSIGN_OR_RETURN(s.env, Strings(r));
  ANNEX_ASSIGN_OR_RETURN(s.working_dir, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.uid, r.I64());
  ANNEX_ASSIGN_OR_RETURN(s.gid, r.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t groups, r.U64());
  if (groups > 1024) return Status::Corruption("implausible group count");
  for (uint64_t i = 0; i < groups; ++i) {
    ANNEX_ASSIGN_OR_RETURN(uint64_t g, r.U64());
    s.supplementary_groups.push_back(static_cast<gid_t>(g));
  }
  Namespaces& n = s.namespaces;
  ANNEX_ASSIGN_OR_RETURN(n.pid, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(n.mount, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(n.network, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(n.uts, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(n.ipc, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(s.hostname, r.Bytes());
  ResourceLimits& l = s.limits;
  ANNEX_ASSIGN_OR_RETURN(l.memory_max_bytes, r.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t weight, r.U64());
  l.cpu_weight = static_cast<uint32_t>(weight);
  ANNEX_ASSIGN_OR_RETURN(l.cpu_quota_us, r.U64());
  ANNEX_ASSIGN_OR_RETURN(l.cpu_period_us, r.U64());
  ANNEX_ASSIGN_OR_RETURN(l.pids_max, r.U64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t rlimits, r.U64());
  if (rlimits > 64) return Status::Corruption("implausible rlimit count");
  for (uint64_t i = 0; i < rlimits; ++i) {
    Rlimit rl;
    ANNEX_ASSIGN_OR_RETURN(int64_t resource, r.I64());
    rl.resource = static_cast<int>(resource);
    ANNEX_ASSIGN_OR_RETURN(rl.soft, r.U64());
    ANNEX_ASSIGN_OR_RETURN(rl.hard, r.U64());
    s.rlimits.push_back(rl);
  }
  ANNEX_ASSIGN_OR_RETURN(int64_t grace, r.I64());
  s.stop_grace = std::chrono::milliseconds(grace);
  return s;
}

void EncodePolicy(store::RecordWriter& w, const RestartPolicy& p) {
  w.U64(static_cast<uint64_t>(p.mode)).I64(Ms(p.initial_backoff)).I64(Ms(p.max_backoff)).I64(Ms(p.healthy_after));
  w.U64(p.crash_loop_restarts).I64(Ms(p.crash_loop_window));
}

Result<RestartPolicy> DecodePolicy(store::RecordReader& r) {
  RestartPolicy p;
  ANNEX_ASSIGN_OR_RETURN(uint64_t mode, r.U64());
  if (mode > static_cast<uint64_t>(RestartMode::kAlways)) return Status::Corruption("bad restart mode");
  p.mode = static_cast<RestartMode>(mode);
  ANNEX_ASSIGN_OR_RETURN(int64_t initial, r.I64());
  ANNEX_ASSIGN_OR_RETURN(int64_t max, r.I64());
  ANNEX_ASSIGN_OR_RETURN(int64_t healthy, r.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t restarts, r.U64());
  ANNEX_ASSIGN_OR_RETURN(int64_t window, r.I64());
  p.initial_backoff = std::chrono::milliseconds(initial);
  p.max_backoff = std::chrono::milliseconds(max);
  p.healthy_after = std::chrono::milliseconds(healthy);
  p.crash_loop_restarts = static_cast<uint32_t>(restarts);
  p.crash_loop_window = std::chrono::milliseconds(window);
  return p;
}

}  // namespace

std::string_view WorkloadPhaseName(WorkloadPhase phase) {
  switch (phase) {
    case WorkloadPhase::kRunning: return "running";
    case WorkloadPhase::kStopping: return "stopping";
    case WorkloadPhase::kExited: return "exited";
    case WorkloadPhase::kRestarting: return "restarting";
    case WorkloadPhase::kCrashLoop: return "crash-loop";
  }
  return "?";
}

std::string EncodeWorkloadState(const WorkloadState& s) {
  store::RecordWriter w(kVersion);
  EncodeSpec(w, s.spec);
  EncodePolicy(w, s.policy);
  w.U64(static_cast<uint64_t>(s.phase)).Bool(s.stop_requested).U64(s.run).U64(s.restarts).Bool(s.crash_loop);
  w.I64(s.shim_pid).U64(s.shim_start_time).I64(s.pid).U64(s.pid_start_time).I64(s.started_unix_ms);
  w.Bool(s.last_exit.has_value());
  if (s.last_exit) {
    const LastExit& e = *s.last_exit;
    w.Bool(e.known).Bool(e.status.exited).I64(e.status.code).I64(e.status.signal).Bool(e.oom_killed);
    w.I64(e.ended_unix_ms).Bytes(e.error);
  }
  w.Bytes(s.state_dir).Bytes(s.stdout_path).Bytes(s.stderr_path);
  w.Bytes(s.spec.log.account).Bytes(s.spec.log.group).Bytes(s.spec.log.stream);
  w.U64(s.spec.limits.memory_low_bytes).I64(s.spec.stop_signal);
  return w.Finish();
}

Result<WorkloadState> DecodeWorkloadState(std::string_view id, std::string_view value) {
  store::RecordReader r(value);
  if (r.version() != kVersion) return Status::Corruption("unknown workload record version");
  WorkloadState s;
  s.id = std::string(id);
  ANNEX_ASSIGN_OR_RETURN(s.spec, DecodeSpec(r));
  ANNEX_ASSIGN_OR_RETURN(s.policy, DecodePolicy(r));
  ANNEX_ASSIGN_OR_RETURN(uint64_t phase, r.U64());
  if (phase > static_cast<uint64_t>(WorkloadPhase::kCrashLoop)) return Status::Corruption("bad workload phase");
  s.phase = static_cast<WorkloadPhase>(phase);
  ANNEX_ASSIGN_OR_RETURN(s.stop_requested, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(s.run, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.restarts, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.crash_loop, r.Bool());
  ANNEX_ASSIGN_OR_RETURN(int64_t shim_pid, r.I64());
  s.shim_pid = static_cast<pid_t>(shim_pid);
  ANNEX_ASSIGN_OR_RETURN(s.shim_start_time, r.U64());
  ANNEX_ASSIGN_OR_RETURN(int64_t pid, r.I64());
  s.pid = static_cast<pid_t>(pid);
  ANNEX_ASSIGN_OR_RETURN(s.pid_start_time, r.U64());
  ANNEX_ASSIGN_OR_RETURN(s.started_unix_ms, r.I64());
  ANNEX_ASSIGN_OR_RETURN(bool has_exit, r.Bool());
  if (has_exit) {
    LastExit e;
    ANNEX_ASSIGN_OR_RETURN(e.known, r.Bool());
    ANNEX_ASSIGN_OR_RETURN(e.status.exited, r.Bool());
    ANNEX_ASSIGN_OR_RETURN(int64_t code, r.I64());
    ANNEX_ASSIGN_OR_RETURN(int64_t signal, r.I64());
    e.status.code = static_cast<int>(code);
    e.status.signal = static_cast<int>(signal);
    ANNEX_ASSIGN_OR_RETURN(e.oom_killed, r.Bool());
    ANNEX_ASSIGN_OR_RETURN(e.ended_unix_ms, r.I64());
    ANNEX_ASSIGN_OR_RETURN(e.error, r.Bytes());
    s.last_exit = std::move(e);
  }
  ANNEX_ASSIGN_OR_RETURN(s.state_dir, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.stdout_path, r.Bytes());
  ANNEX_ASSIGN_OR_RETURN(s.stderr_path, r.Bytes());
  if (!r.AtEnd()) {  // records written before workloads had a log destination end here
    ANNEX_ASSIGN_OR_RETURN(s.spec.log.account, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(s.spec.log.group, r.Bytes());
    ANNEX_ASSIGN_OR_RETURN(s.spec.log.stream, r.Bytes());
  }
  if (!r.AtEnd()) {  // and these before workloads had a memory reservation
    ANNEX_ASSIGN_OR_RETURN(s.spec.limits.memory_low_bytes, r.U64());
  }
  if (!r.AtEnd()) {  // and this before workloads chose their stop signal
    ANNEX_ASSIGN_OR_RETURN(int64_t stop_signal, r.I64());
    s.spec.stop_signal = static_cast<int>(stop_signal);
  }
  ANNEX_RETURN_IF_ERROR(r.Finish());
  return s;
}

}  // namespace annex::supervisor
