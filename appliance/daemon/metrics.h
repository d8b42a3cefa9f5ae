#pragma once
// Metrics: request counters, latency histograms and byte counts by service,
// operation and status, rendered as Prometheus text on /_annex/metrics.
//
// Thread-safe. Recording takes one short mutex section per request.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "appliance/service/metrics_registry.h"

namespace annex::daemon {

class Metrics final : public service::MetricsRegistry {
 public:
  struct ServiceTotals {
    uint64_t requests = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
  };

  void RecordRequest(const std::string& service, const std::string& operation, int status, double seconds,
                     uint64_t bytes_in, uint64_t bytes_out);
  // Requests and payload bytes per service since the process started.
  std::map<std::string, ServiceTotals> Totals() const;
  // Appends the counters in Prometheus exposition format.
  void Render(std::string& out) const;
  // Something else that renders its own metrics after the counters (set at startup).
  void AddSource(std::function<void(std::string&)> source) override { sources_.push_back(std::move(source)); }

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};
  struct Latency {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  using OpKey = std::tuple<std::string, std::string>;          // service, operation
  using StatusKey = std::tuple<std::string, std::string, int>;  // + status

  mutable std::mutex mu_;
  std::map<StatusKey, uint64_t> requests_;
  std::map<OpKey, Latency> latency_;
  std::map<std::string, ServiceTotals> totals_;
  std::vector<std::function<void(std::string&)>> sources_;
};

}  // namespace annex::daemon
