// annex-loadgen: the benchmark load generator. It drives an S3 endpoint (or a
// plain HTTP peer such as nginx with --unsigned) with PUT/GET requests over
// HTTP/1.1 keep-alive connections, one blocking thread per connection, signs
// each request with SigV4 through the same library the server verifies with,
// and prints one JSON line with throughput, latency percentiles and errors.
//
// Bodies come from one shared 1 MiB pattern buffer and responses are drained
// through each connection's fixed buffer, so a 256 MiB object costs the client
// no more memory than a 4 KiB one. Any non-2xx answer or transport failure is
// an error: it is counted, sampled on stderr, and makes the exit status 1.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "appliance/auth/sigv4.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/request.h"
#include "tests/bench/http_conn.h"

namespace annex::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPatternSize = 1 << 20;  // bodies repeat this buffer
constexpr int kMaxConsecutiveFailures = 50;
constexpr size_t kMaxErrorSamples = 5;

enum class Op { kPut, kGet };

struct Options {
  std::string endpoint = "127.0.0.1:4566";
  std::string op = "get";  // put | get | mixed
  uint64_t size = 4096;
  int concurrency = 16;
  double duration = 0;    // seconds; 0 means --requests decides
  uint64_t requests = 0;  // total across connections
  double warmup = 0;      // seconds not counted at the start of a --duration run
  std::string bucket = "bench";
  int keys = 64;
  std::string key_prefix = "obj-";
  std::string path_template = "/{bucket}/{key}";
  bool unsigned_requests = false;
  std::string payload_hash = "sha256";  // sha256 | unsigned
  std::string access_key;
  std::string secret_key;
  std::string region = "us-east-1";
  double get_fraction = 0.5;  // for --op mixed
  bool no_prepare = false;
  bool no_create_bucket = false;
  int timeout = 300;
};

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

std::string KeyName(const Options& o, int index) {
  char digits[16];
  std::snprintf(digits, sizeof(digits), "%06d", index);
  return o.key_prefix + digits;
}

// The shared, read-only request body source and its SigV4 payload hash.
struct Payload {
  std::string pattern;
  std::string hash;  // hex sha256 of the whole body, or UNSIGNED-PAYLOAD

  void Init(const Options& o) {
    pattern.resize(std::min<uint64_t>(std::max<uint64_t>(o.size, 1), kPatternSize));
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (char& c : pattern) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    if (o.payload_hash == "unsigned") {
      hash = std::string(auth::kUnsignedPayload);
      return;
    }
    crypto::Hasher h(crypto::HashKind::kSha256);
    for (uint64_t left = o.size; left > 0;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, pattern.size()));
      h.Update(std::string_view(pattern.data(), n));
      left -= n;
    }
    hash = h.FinalHex();
  }
};

// Per-thread counters, merged at the end.
struct WorkerStats {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latency_us;
  std::map<std::string, uint64_t> failures;  // "status 503" / "transport: ..." → count
  std::vector<std::string> samples;

  void Fail(const std::string& what, const std::string& detail) {
    ++errors;
    ++failures[what];
    if (samples.size() < kMaxErrorSamples) samples.push_back(what + (detail.empty() ? "" : ": " + detail));
  }
};

class Runner {
 public:
  explicit Runner(Options o) : o_(std::move(o)) {
    if (!Endpoint::Parse(o_.endpoint, endpoint_)) {
      throw CLI::ValidationError("--endpoint", "expected HOST:PORT");
    }
    payload_.Init(o_);
    creds_.access_key_id = o_.access_key;
    creds_.secret_access_key = o_.secret_key;
  }

  int Run();

 private:
  // The request line and headers (signed unless --unsigned) for one request;
  // kPut sends a --size body.
  std::string BuildHead(Op op, const std::string& path) const {
    return BuildHead(op == Op::kPut ? "PUT" : "GET", path, op == Op::kPut);
  }
  std::string BuildHead(const char* method, const std::string& path, bool body) const;
  std::string PathFor(const std::string& key) const {
    return Replace(Replace(o_.path_template, "{bucket}", o_.bucket), "{key}", key);
  }
  // Sends one request on `conn` (connecting first if needed) and reads the
  // answer. Records the outcome in `stats`; true when it was a 2xx.
  bool Exchange(HttpConnection& conn, Op op, const std::string& head, WorkerStats& stats,
                bool counted);
  bool SendBody(HttpConnection& conn, const std::string& head);
  bool Setup();
  void Worker(int id, WorkerStats& stats);
  void PrepareWorker(int id, WorkerStats& stats);
  int Report(const std::vector<WorkerStats>& stats, double seconds) const;

  Options o_;
  Endpoint endpoint_;
  Payload payload_;
  auth::SigningCredentials creds_;
  std::atomic<int64_t> remaining_{0};
  std::atomic<int> prepare_next_{0};
  Clock::time_point measure_start_;
  Clock::time_point deadline_;
};

std::string Runner::BuildHead(const char* method, const std::string& path, bool body) const {
  std::string head;
  head.reserve(1024);
  head.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  head.append(endpoint_.HostHeader()).append("\r\n");
  if (!o_.unsigned_requests) {
    http::Request request;
    request.method = method;
    request.target = path;
    if (!http::ParseTarget(path, request).ok()) throw std::runtime_error("bad path " + path);
    request.headers.Add("host", endpoint_.HostHeader());
    auth::SignOptions sign;
    sign.region = o_.region;
    sign.time = std::chrono::system_clock::now();
    sign.payload_hash = body ? payload_.hash : std::string(auth::kEmptyPayloadSha256);
    auth::SignRequest(request, creds_, sign);
    for (const auto& field : request.headers) {
      if (field.name == "host") continue;
      head.append(field.name).append(": ").append(field.value).append("\r\n");
    }
  }
  if (body) {
    head.append("Content-Type: application/octet-stream\r\nContent-Length: ");
    head.append(std::to_string(o_.size)).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

bool Runner::SendBody(HttpConnection& conn, const std::string& head) {
  const std::string& p = payload_.pattern;
  uint64_t left = o_.size;
  size_t first = static_cast<size_t>(std::min<uint64_t>(left, p.size()));
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(p.data()), first}};
  if (!conn.SendAll(iov, 2)) return false;
  left -= first;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, p.size()));
    if (!conn.SendAll(std::string_view(p.data(), n))) return false;
    left -= n;
  }
  return true;
}

bool Runner::Exchange(HttpConnection& conn, Op op, const std::string& head, WorkerStats& stats,
                      bool counted) {
  if (!conn.connected()) {
    std::string error = conn.Connect(endpoint_, o_.timeout);
    if (!error.empty()) {
      stats.Fail("transport", error);
      return false;
    }
  }
  const auto start = Clock::now();
  bool sent = op == Op::kPut ? SendBody(conn, head) : conn.SendAll(head);
  HttpResponse response;
  std::string error = sent ? conn.ReadResponse(response) : "send failed";
  const auto end = Clock::now();
  if (!error.empty()) {
    conn.Close();
    stats.Fail("transport", error);
    return false;
  }
  if (!response.keep_alive) conn.Close();
  if (response.status < 200 || response.status >= 300) {
    stats.Fail("status " + std::to_string(response.status), response.body_prefix);
    return false;
  }
  if (op == Op::kGet && response.body_bytes != o_.size) {
    stats.Fail("short body", std::to_string(response.body_bytes) + " of " + std::to_string(o_.size));
    return false;
  }
  if (counted && start >= measure_start_) {
    ++stats.ops;
    stats.bytes += o_.size;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
    stats.latency_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
  }
  return true;
}

// Creates the bucket (an existing one of ours is fine) and PUTs the key set
// that GETs read, spread over the connections.
bool Runner::Setup() {
  if (!o_.unsigned_requests && !o_.no_create_bucket && o_.path_template.rfind("/{bucket}/", 0) == 0) {
    HttpConnection conn;
    std::string error = conn.Connect(endpoint_, o_.timeout);
    HttpResponse response;
    std::string head = BuildHead("PUT", "/" + o_.bucket, false);
    if (error.empty() && conn.SendAll(head)) error = conn.ReadResponse(response);
    if (!error.empty() || (response.status != 200 && response.status != 409)) {
      std::cerr << "annex-loadgen: creating bucket " << o_.bucket << " failed: "
                << (error.empty() ? "status " + std::to_string(response.status) : error) << " "
                << response.body_prefix << "\n";
      return false;
    }
  }
  bool prepare = o_.op != "put" && !o_.unsigned_requests && !o_.no_prepare;
  if (!prepare) return true;
  std::vector<WorkerStats> stats(o_.concurrency);
  std::vector<std::thread> threads;
  for (int i = 0; i < o_.concurrency; ++i) threads.emplace_back([&, i] { PrepareWorker(i, stats[i]); });
  for (auto& t : threads) t.join();
  for (const auto& s : stats) {
    if (s.errors > 0) {
      std::cerr << "annex-loadgen: preparing " << o_.keys << " keys failed: " << s.samples.front() << "\n";
      return false;
    }
  }
  return true;
}

void Runner::PrepareWorker(int id, WorkerStats& stats) {
  HttpConnection conn;
  for (int k = prepare_next_++; k < o_.keys; k = prepare_next_++) {
    if (!Exchange(conn, Op::kPut, BuildHead(Op::kPut, PathFor(KeyName(o_, k))), stats, false)) return;
  }
}

void Runner::Worker(int id, WorkerStats& stats) {
  HttpConnection conn;
  uint64_t rng = 0x2545f4914f6cdd1dULL * static_cast<uint64_t>(id + 1);
  auto next_random = [&rng] { return rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; };
  // GET requests are re-signed at most once a second per key: the server's
  // verification cost is unchanged and the client stays cheap.
  std::vector<std::pair<int64_t, std::string>> get_cache(o_.keys);
  uint64_t put_serial = 0;
  int consecutive_failures = 0;
  const bool timed = o_.duration > 0;
  while (timed ? Clock::now() < deadline_ : remaining_.fetch_sub(1) > 0) {
    Op op = o_.op == "put" ? Op::kPut : Op::kGet;
    if (o_.op == "mixed") op = (next_random() % 10000) < o_.get_fraction * 10000 ? Op::kGet : Op::kPut;
    int key = static_cast<int>(next_random() % static_cast<uint64_t>(o_.keys));
    std::string head;
    if (op == Op::kGet) {
      auto& [second, cached] = get_cache[key];
      int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
      if (cached.empty() || (!o_.unsigned_requests && second != now)) {
        cached = BuildHead(op, PathFor(KeyName(o_, key)));
        second = now;
      }
      head = cached;
    } else if (o_.op == "put") {  // fresh keys: a PUT benchmark writes new objects
      head = BuildHead(op, PathFor(o_.key_prefix + "t" + std::to_string(id) + "-" +
                                   std::to_string(put_serial++)));
    } else {
      head = BuildHead(op, PathFor(KeyName(o_, key)));
    }
    if (Exchange(conn, op, head, stats, true)) {
      consecutive_failures = 0;
    } else if (++consecutive_failures >= kMaxConsecutiveFailures) {
      stats.Fail("gave up", "connection " + std::to_string(id) + " failed " +
                                std::to_string(kMaxConsecutiveFailures) + " times in a row");
      return;
    }
  }
}

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t index = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(index), v.end());
  return v[index] / 1000.0;
}

int Runner::Report(const std::vector<WorkerStats>& stats, double seconds) const {
  uint64_t ops = 0, bytes = 0, errors = 0;
  std::vector<uint32_t> latency;
  std::map<std::string, uint64_t> failures;
  for (const auto& s : stats) {
    ops += s.ops;
    bytes += s.bytes;
    errors += s.errors;
    latency.insert(latency.end(), s.latency_us.begin(), s.latency_us.end());
    for (const auto& [what, n] : s.failures) failures[what] += n;
    for (const auto& sample : s.samples) std::cerr << "annex-loadgen: error: " << sample << "\n";
  }
  auto round3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  nlohmann::json out = {
      {"op", o_.op}, {"endpoint", o_.endpoint}, {"size", o_.size},
      {"concurrency", o_.concurrency}, {"payload_hash", o_.unsigned_requests || o_.op == "get" ? "none" : o_.payload_hash},
      {"ops", ops}, {"seconds", round3(seconds)},
      {"ops_per_s", round3(seconds > 0 ? ops / seconds : 0)},
      {"mb_per_s", round3(seconds > 0 ? bytes / seconds / 1e6 : 0)},
      {"p50_ms", round3(Percentile(latency, 0.50))}, {"p99_ms", round3(Percentile(latency, 0.99))},
      {"max_ms", round3(latency.empty() ? 0 : *std::max_element(latency.begin(), latency.end()) / 1000.0)},
      {"errors", errors}, {"error_kinds", failures}};
  std::cout << out.dump() << std::endl;
  return errors == 0 && ops > 0 ? 0 : 1;
}

int Runner::Run() {
  if (!Setup()) return 1;
  std::vector<WorkerStats> stats(o_.concurrency);
  const bool timed = o_.duration > 0;
  for (auto& s : stats) {
    s.latency_us.reserve(timed ? 4096 : o_.requests / o_.concurrency + 1);
  }
  const auto start = Clock::now();
  measure_start_ = timed ? start + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(o_.warmup))
                         : start;
  deadline_ = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(o_.warmup + o_.duration));
  remaining_ = static_cast<int64_t>(o_.requests);
  std::vector<std::thread> threads;
  for (int i = 0; i < o_.concurrency; ++i) threads.emplace_back([&, i] { Worker(i, stats[i]); });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - measure_start_).count();
  return Report(stats, seconds);
}

std::string EnvOr(const char* a, const char* b) {
  if (const char* v = std::getenv(a)) return v;
  if (const char* v = std::getenv(b)) return v;
  return "";
}

}  // namespace
}  // namespace annex::bench

int main(int argc, char** argv) {
  using annex::bench::Options;
  Options o;
  o.access_key = annex::bench::EnvOr("ANNEX_ROOT_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
  o.secret_key = annex::bench::EnvOr("ANNEX_ROOT_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
  CLI::App app{"annex-loadgen: S3/HTTP load generator; prints one JSON line of results"};
  app.add_option("--endpoint", o.endpoint, "HOST:PORT to connect to")->capture_default_str();
  app.add_option("--op", o.op, "put, get or mixed")->check(CLI::IsMember({"put", "get", "mixed"}))
      ->capture_default_str();
  app.add_option("--size", o.size, "Object size in bytes")->capture_default_str();
  app.add_option("--concurrency,-c", o.concurrency, "Connections (one thread each)")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  auto* duration = app.add_option("--duration", o.duration, "Seconds to run (after --warmup)");
  auto* requests = app.add_option("--requests", o.requests, "Total requests to send");
  duration->excludes(requests);
  app.add_option("--warmup", o.warmup, "Seconds at the start of a --duration run not counted");
  app.add_option("--bucket", o.bucket, "Bucket name")->capture_default_str();
  app.add_option("--keys", o.keys, "Keys that GETs spread over (PUT first unless --no-prepare)")
      ->check(CLI::Range(1, 10000000))->capture_default_str();
  app.add_option("--key-prefix", o.key_prefix, "Key name prefix; keys are PREFIX000000...")
      ->capture_default_str();
  app.add_option("--path-template", o.path_template, "Request path; {bucket} and {key} are replaced")
      ->capture_default_str();
  app.add_flag("--unsigned", o.unsigned_requests, "Plain HTTP: no SigV4 headers, no bucket, no prepare");
  app.add_option("--payload-hash", o.payload_hash, "PUT payload hash: sha256 or unsigned")
      ->check(CLI::IsMember({"sha256", "unsigned"}))->capture_default_str();
  app.add_option("--access-key", o.access_key, "Default: $ANNEX_ROOT_ACCESS_KEY_ID or $AWS_ACCESS_KEY_ID");
  app.add_option("--secret-key", o.secret_key, "Default: $ANNEX_ROOT_SECRET_ACCESS_KEY or $AWS_SECRET_ACCESS_KEY");
  app.add_option("--region", o.region)->capture_default_str();
  app.add_option("--get-fraction", o.get_fraction, "Share of GETs for --op mixed")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_flag("--no-prepare", o.no_prepare, "Do not PUT the key set before a get/mixed run");
  app.add_flag("--no-create-bucket", o.no_create_bucket, "Do not PUT the bucket first");
  app.add_option("--timeout", o.timeout, "Socket send/receive timeout in seconds")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.duration <= 0 && o.requests == 0) o.duration = 10;
  if (!o.unsigned_requests && (o.access_key.empty() || o.secret_key.empty())) {
    std::cerr << "annex-loadgen: no credentials (set --access-key/--secret-key or "
                 "ANNEX_ROOT_ACCESS_KEY_ID/ANNEX_ROOT_SECRET_ACCESS_KEY), or use --unsigned\n";
    return 2;
  }
  try {
    annex::bench::Runner runner(o);
    return runner.Run();
  } catch (const std::exception& e) {
    std::cerr << "annex-loadgen: " << e.what() << "\n";
    return 2;
  }
}
