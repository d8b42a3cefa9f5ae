#pragma once
// A process is named for good by its PID together with its start time
// (/proc/PID/stat field 22, clock ticks since boot): a recycled PID never
// carries the old start time. The supervisor records both and checks them
// before it adopts a process it did not just start.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "appliance/core/result.h"

namespace annex::supervisor {

// Field 22 of a /proc/PID/stat line (the command may hold spaces and ')').
std::optional<uint64_t> ParseStartTime(std::string_view stat_line);
// The process's start time, or nullopt when there is no such process.
std::optional<uint64_t> ProcessStartTime(pid_t pid);

// A pidfd for `pid` if it is still the process that started at
// `start_time` (a zombie counts: its exit is then readable on the pidfd).
// NotFound when it is gone or the PID now names another process.
Result<int> OpenVerifiedPidfd(pid_t pid, uint64_t start_time);

// pidfd_send_signal; OK when the process is already gone.
Status SignalPidfd(int pidfd, int signal);

}  // namespace annex::supervisor
