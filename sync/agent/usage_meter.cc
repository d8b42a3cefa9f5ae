#include "sync/agent/usage_meter.h"

#include <algorithm>

namespace annex::sync {
namespace {

// A counter below its baseline was restarted: all of it is new.
uint64_t Delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

UsageCounters Delta(const UsageCounters& now, const UsageCounters& before) {
  return {Delta(now.requests, before.requests), Delta(now.bytes_in, before.bytes_in),
          Delta(now.bytes_out, before.bytes_out)};
}

bool IsZero(const UsageCounters& c) { return c.requests == 0 && c.bytes_in == 0 && c.bytes_out == 0; }

}  // namespace

UsageMeter::UsageMeter(std::function<UsageSample()> read, int64_t start_unix_ms)
    : read_(std::move(read)), period_start_(start_unix_ms) {}

Status UsageMeter::RecordPeriod(int64_t now_unix_ms, const std::function<Status(const UsagePeriod&)>& record) {
  std::lock_guard lock(mu_);
  UsageSample sample = read_();
  UsagePeriod period;
  period.start_unix_ms = period_start_;
  period.end_unix_ms = std::max(now_unix_ms, period_start_);
  period.bytes_stored = sample.bytes_stored;
  period.objects_stored = sample.objects_stored;
  period.gauges = sample.gauges;
  for (const auto& [service, counters] : sample.by_service) {
    auto before = baseline_.find(service);
    UsageCounters delta = before == baseline_.end() ? counters : Delta(counters, before->second);
    if (IsZero(delta)) continue;
    period.by_service[service] = delta;
    period.total.requests += delta.requests;
    period.total.bytes_in += delta.bytes_in;
    period.total.bytes_out += delta.bytes_out;
  }
  ANNEX_RETURN_IF_ERROR(record(period));
  period_start_ = period.end_unix_ms;
  baseline_ = std::move(sample.by_service);
  return Status::OK();
}

}  // namespace annex::sync
