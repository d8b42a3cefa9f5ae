#pragma once
// OutputForwarder: moves what workloads write to stdout and stderr into the
// log stream each one's spec names (WorkloadSpec::log). Workloads write to
// files in their state directory, never to annexd (so they outlive it); the
// forwarder tails those files from where it left off — an offset kept in
// the state directory, saved after the sink accepted the lines — so output
// written while annexd was down is forwarded when it is back, and nothing is
// lost, at the price of a repeated batch after a crash between the sink's
// write and the offset's (at least once).
//
// Lines are cut at '\n'; a line longer than `max_line_bytes` is cut there;
// a partial last line waits for its end while the workload runs and goes as
// it is once the run has ended. Every line is stamped with the time it is
// forwarded. Forwarded bytes are freed from the files (hole punching), so a
// chatty workload does not fill the disk while its offsets stay valid.
//
// Thread-safe; one thread of its own.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/core/wake_loop.h"
#include "appliance/os/clock.h"
#include "appliance/supervisor/workload_spec.h"

namespace annex::supervisor {

class Supervisor;

struct OutputLine {
  int64_t timestamp_ms = 0;
  std::string text;  // without its '\n'
};

// Where the lines go: the composition root adapts the log store.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Durable when OK. Creates the group and stream when missing.
  virtual Status Append(const LogDestination& to, std::vector<OutputLine> lines) = 0;
};

class OutputForwarder {
 public:
  struct Options {
    os::Clock* clock = nullptr;  // default: the system clock
    std::chrono::milliseconds interval{250};
    size_t max_line_bytes = 256 * 1024 - 26;  // CloudWatch's event size, less its overhead
    size_t max_batch_bytes = 1 << 20;          // read per file per pass
    uint64_t free_after_bytes = 1 << 20;       // punch out forwarded bytes once this many piled up
  };

  // Both must outlive the forwarder.
  OutputForwarder(Supervisor& supervisor, OutputSink& sink, Options options);
  ~OutputForwarder();  // stops the thread (after its current pass)

  void Start();
  void Stop();
  // One pass over every workload with a destination: forwards what is
  // complete. Returns the first error met (the rest of the pass still ran).
  Status ForwardOnce();

 private:
  struct Offsets {
    uint64_t out = 0;
    uint64_t err = 0;
  };
  Status ForwardWorkload(const std::string& id);

  Supervisor& supervisor_;
  OutputSink& sink_;
  Options options_;
  os::Clock& clock_;
  std::mutex mu_;  // one pass at a time; guards offsets_
  // Where each workload's forwarding stands, as saved in its state dir:
  // read once, then kept, so a quiet pass costs a stat per file.
  std::map<std::string, Offsets> offsets_;
  WakeLoop loop_;
};

}  // namespace annex::supervisor
