#pragma once
// The log store as the supervisor's output sink: each line a workload
// writes becomes an event in the stream its spec names, the group and
// stream created on first use (as ECS's awslogs driver can).

#include <utility>
#include <vector>

#include "appliance/logs/log_store.h"
#include "appliance/supervisor/output_forwarder.h"

namespace annex::daemon {

class WorkloadLogSink final : public supervisor::OutputSink {
 public:
  explicit WorkloadLogSink(logs::LogStore& store) : store_(store) {}

  Status Append(const supervisor::LogDestination& to, std::vector<supervisor::OutputLine> lines) override {
    std::vector<logs::LogEvent> events;
    events.reserve(lines.size());
    for (auto& line : lines) events.push_back({line.timestamp_ms, std::move(line.text)});
    return store_.Append(to.account, to.group, to.stream, std::move(events), /*create_missing=*/true);
  }

 private:
  logs::LogStore& store_;
};

}  // namespace annex::daemon
