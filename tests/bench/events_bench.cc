// The event bus under load (`make bench`, tests/bench/events_bench.sh):
//   1. throughput: events published as fast as one writer can (each in its
//      own durable LMDB commit, as a service's write would carry it) and
//      delivered end to end, against the same commits without an event (the
//      peer: what the write costs anyway);
//   2. latency: publish-to-delivery at a fixed rate (default 1,000 events/s),
//      p50/p99/max.
// Prints one JSON line.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "appliance/events/event_bus.h"
#include "appliance/os/clock.h"

namespace {

using Clock = std::chrono::steady_clock;
using annex::events::Event;
using annex::events::EventBus;
using annex::events::EventLog;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Commits `n` writes of a 200-byte record, each durable; with `log`, each carries an event.
double CommitLoop(annex::store::LmdbEnv& env, annex::store::Table table, EventLog* log, EventBus* bus, int n) {
  std::string value(200, 'v');
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto txn = env.BeginWrite();
    if (!txn.ok()) std::abort();
    std::string key = "k" + std::to_string(i);
    if (!txn->Put(table, key, value).ok()) std::abort();
    if (log && !log->Publish(*txn, "aws.s3", "Object Created", std::to_string(NowUs()), 0).ok()) std::abort();
    if (!txn->Commit().ok()) std::abort();
    if (bus) bus->Notify();
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"event bus benchmark"};
  std::string dir;
  int events = 5000, rate = 1000, seconds = 10;
  app.add_option("--dir", dir, "work directory (on the disk under test)")->required();
  app.add_option("--events", events, "events for the throughput runs");
  app.add_option("--rate", rate, "events per second for the latency run");
  app.add_option("--seconds", seconds, "length of the latency run");
  CLI11_PARSE(app, argc, argv);

  auto env = annex::store::LmdbEnv::Open(dir + "/env");
  if (!env.ok()) return 1;
  auto table = (*env)->OpenTable("objects");
  auto log = EventLog::Open("objectstore", **env);
  if (!table.ok() || !log.ok()) return 1;

  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int64_t> delivered{0};
  EventBus bus(annex::os::SystemClock(), {.poll = std::chrono::milliseconds(100)});
  bus.AddLog(log->get());
  bus.Subscribe({"bench", "", [&](const Event& e) {
                   double ms = static_cast<double>(NowUs() - std::stoll(e.detail)) / 1000.0;
                   std::lock_guard lock(mu);
                   latencies_ms.push_back(ms);
                   ++delivered;
                   return annex::Status::OK();
                 }});
  bus.Start();

  // 1. Throughput, against the same commits without events.
  double peer = CommitLoop(**env, *table, nullptr, nullptr, events);
  auto start = Clock::now();
  double published = CommitLoop(**env, *table, log->get(), &bus, events);
  while (delivered.load() < events) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double end_to_end = events / std::chrono::duration<double>(Clock::now() - start).count();

  // 2. Latency at a fixed rate.
  {
    std::lock_guard lock(mu);
    latencies_ms.clear();
  }
  delivered = 0;
  int total = rate * seconds;
  auto t0 = Clock::now();
  std::string value(200, 'v');
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::microseconds(static_cast<int64_t>(i) * 1'000'000 / rate));
    auto txn = (*env)->BeginWrite();
    if (!txn.ok() || !txn->Put(*table, "r" + std::to_string(i), value).ok() ||
        !(*log)->Publish(*txn, "aws.s3", "Object Created", std::to_string(NowUs()), 0).ok() || !txn->Commit().ok()) {
      return 1;
    }
    bus.Notify();
  }
  while (delivered.load() < total) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double achieved = total / std::chrono::duration<double>(Clock::now() - t0).count();
  bus.Stop();
  std::lock_guard lock(mu);
  std::printf(
      "{\"commits_per_s_peer\": %.0f, \"published_per_s\": %.0f, \"delivered_per_s\": %.0f, "
      "\"publish_ratio\": %.2f, \"rate\": %d, \"achieved_rate\": %.0f, \"latency_ms_p50\": %.2f, "
      "\"latency_ms_p99\": %.2f, \"latency_ms_max\": %.2f}\n",
      peer, published, end_to_end, published / peer, rate, achieved, Percentile(latencies_ms, 0.5),
      Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 1.0));
  return 0;
}
