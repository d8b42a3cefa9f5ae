#include "appliance/daemon/metrics.h"

#include <cstdio>

namespace annex::daemon {

void Metrics::RecordRequest(const std::string& service, const std::string& operation, int status, double seconds,
                            uint64_t bytes_in, uint64_t bytes_out) {
  std::lock_guard lock(mu_);
  ++requests_[{service, operation, status}];
  Latency& l = latency_[{service, operation}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++l.buckets[i];
  }
  ++l.count;
  l.sum += seconds;
  ServiceTotals& t = totals_[service];
  ++t.requests;
  t.bytes_in += bytes_in;
  t.bytes_out += bytes_out;
}

std::map<std::string, Metrics::ServiceTotals> Metrics::Totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

void Metrics::Render(std::string& out) const {
  std::lock_guard lock(mu_);
  char num[64];
  out += "# HELP annex_requests_total API requests by service, operation and HTTP status.\n";
  out += "# TYPE annex_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [service, op, status] = key;
    out += "annex_requests_total{service=\"" + service + "\",operation=\"" + op + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  out += "# HELP annex_request_duration_seconds Request latency.\n";
  out += "# TYPE annex_request_duration_seconds histogram\n";
  for (const auto& [key, l] : latency_) {
    const auto& [service, op] = key;
    std::string labels = "service=\"" + service + "\",operation=\"" + op + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(num, sizeof num, "%g", kBuckets[i]);
      out += "annex_request_duration_seconds_bucket{" + labels + ",le=\"" + num + "\"} " +
             std::to_string(l.buckets[i]) + "\n";
    }
    out += "annex_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(l.count) + "\n";
    std::snprintf(num, sizeof num, "%.6f", l.sum);
    out += "annex_request_duration_seconds_sum{" + labels + "} " + num + "\n";
    out += "annex_request_duration_seconds_count{" + labels + "} " + std::to_string(l.count) + "\n";
  }
  out += "# HELP annex_bytes_received_total Payload bytes received.\n# TYPE annex_bytes_received_total counter\n";
  for (const auto& [service, t] : totals_) {
    out += "annex_bytes_received_total{service=\"" + service + "\"} " + std::to_string(t.bytes_in) + "\n";
  }
  out += "# HELP annex_bytes_sent_total Payload bytes sent.\n# TYPE annex_bytes_sent_total counter\n";
  for (const auto& [service, t] : totals_) {
    out += "annex_bytes_sent_total{service=\"" + service + "\"} " + std::to_string(t.bytes_out) + "\n";
  }
  for (const auto& source : sources_) source(out);
}

}  // namespace annex::daemon
