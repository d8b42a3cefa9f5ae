#pragma once
// MetricsRegistry: where a service adds metrics of its own (gauges of what
// it holds, counters of its background work) to /_annex/metrics, rendered
// in Prometheus text after the platform's request counters. Request counts,
// latencies and bytes per operation the edge records for every service.

#include <functional>
#include <string>

namespace annex::service {

class MetricsRegistry {
 public:
  virtual ~MetricsRegistry() = default;
  // Called while the service is built, before requests are served;
  // `render` appends Prometheus text and may run on any thread.
  virtual void AddSource(std::function<void(std::string&)> render) = 0;
};

}  // namespace annex::service
