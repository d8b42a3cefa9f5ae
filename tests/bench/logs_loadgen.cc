// annex-logs-loadgen: PutLogEvents throughput against annexd, and the same
// lines appended to plain files with one fsync per batch (the peer), so the
// benchmark prints a ratio measured on the same disk in the same run.
//
//   annex-logs-loadgen --endpoint 127.0.0.1:4566 [--connections 4] [--events 1000]
//                      [--line-size 120] [--seconds 10]          (PutLogEvents)
//   annex-logs-loadgen --peer-dir DIR [same options]             (files + fsync)
//
// Each connection owns one log stream, each peer thread appends to one
// shared file; both send batches back to back: a batch is acknowledged only once durable, so it is
// the same unit of work on both sides. Credentials come from
// ANNEX_ROOT_ACCESS_KEY_ID / ANNEX_ROOT_SECRET_ACCESS_KEY. Prints one JSON
// line: events, seconds, events_per_s, mb_per_s (message bytes), batch
// latency p50/p99 in ms, errors. Any error makes the exit status 1.

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
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

struct Options {
  std::string endpoint = "127.0.0.1:4566";
  std::string peer_dir;
  std::string region = "us-east-1";
  std::string group = "/bench/logs";
  int connections = 4;
  int events = 1000;
  int line_size = 120;
  double seconds = 10;
};

struct Stats {
  uint64_t events = 0, bytes = 0, errors = 0;
  std::vector<double> latency_ms;
  std::string first_error;
};

// A plausible access-log line of about `size` bytes; `i` varies it. The
// tail is a trace id in hex (pseudo-random, like the ids real lines carry),
// so the lines compress about as well as real logs do, not as a padding
// pattern would.
std::string Line(int size, uint64_t i) {
  char head[160];
  int n = std::snprintf(head, sizeof head,
                        "2026-12-06T20:00:%02llu.%03lluZ INFO request id=%016llx path=/api/v1/items/%llu status=200 ms=%llu trace=",
                        static_cast<unsigned long long>(i / 1000 % 60), static_cast<unsigned long long>(i % 1000),
                        static_cast<unsigned long long>(i * 2654435761u), static_cast<unsigned long long>(i % 100000),
                        static_cast<unsigned long long>(i % 97));
  std::string line(head, static_cast<size_t>(std::max(0, n)));
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
  while (static_cast<int>(line.size()) < size) {
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33;  // splitmix-style scramble
    line.push_back("0123456789abcdef"[x & 15]);
  }
  line.resize(static_cast<size_t>(size));
  return line;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LogsClient {
 public:
  LogsClient(const Options& o, Endpoint endpoint, auth::SigningCredentials creds)
      : o_(o), endpoint_(std::move(endpoint)), creds_(std::move(creds)) {}

  // Sends one operation; "" on a 2xx answer, else what went wrong.
  std::string Call(const std::string& op, const std::string& body, bool tolerate_exists = false) {
    if (!conn_.connected()) {
      std::string error = conn_.Connect(endpoint_, 60);
      if (!error.empty()) return error;
    }
    http::Request request;
    request.method = "POST";
    (void)http::ParseTarget("/", request);
    request.headers.Add("host", endpoint_.HostHeader());
    request.headers.Add("x-amz-target", "Logs_20140328." + op);
    request.headers.Add("content-type", "application/x-amz-json-1.1");
    auth::SignOptions sign;
    sign.region = o_.region;
    sign.service = "logs";
    sign.time = std::chrono::system_clock::now();
    sign.payload_hash = crypto::Sha256Hex(body);
    sign.add_content_sha256_header = false;
    auth::SignRequest(request, creds_, sign);
    std::string head = "POST / HTTP/1.1\r\n";
    for (const auto& field : request.headers) head.append(field.name).append(": ").append(field.value).append("\r\n");
    head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
    iovec iov[2] = {{head.data(), head.size()}, {const_cast<char*>(body.data()), body.size()}};
    if (!conn_.SendAll(iov, 2)) {
      conn_.Close();
      return "send failed";
    }
    HttpResponse response;
    std::string error = conn_.ReadResponse(response);
    if (!error.empty()) {
      conn_.Close();
      return error;
    }
    if (!response.keep_alive) conn_.Close();
    if (response.status / 100 == 2) return "";
    if (tolerate_exists && response.body_prefix.find("ResourceAlreadyExists") != std::string::npos) return "";
    return "status " + std::to_string(response.status) + ": " + response.body_prefix;
  }

 private:
  const Options& o_;
  Endpoint endpoint_;
  auth::SigningCredentials creds_;
  HttpConnection conn_;
};

// JSON string contents of `s`, escaped.
void AppendEscaped(std::string& out, const std::string& s) {
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
      out.append(esc);
    } else {
      out.push_back(c);
    }
  }
}

// The JSON body of one batch, with messages `lines` at consecutive
// milliseconds, written directly as a logging agent's encoder would: a DOM
// would cost this client more than the server spends on the batch.
std::string BatchBody(const Options& o, const std::string& stream, const std::vector<std::string>& lines) {
  std::string body;
  body.reserve(64 + lines.size() * (static_cast<size_t>(o.line_size) + 40));
  body.append("{\"logGroupName\":\"");
  AppendEscaped(body, o.group);
  body.append("\",\"logStreamName\":\"");
  AppendEscaped(body, stream);
  body.append("\",\"logEvents\":[");
  const std::string t = std::to_string(NowMs());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) body.push_back(',');
    body.append("{\"timestamp\":").append(t).append(",\"message\":\"");
    AppendEscaped(body, lines[i]);
    body.append("\"}");
  }
  body.append("]}");
  return body;
}

// One batch's lines; the same for both sides.
std::vector<std::string> BatchLines(const Options& o, uint64_t batch) {
  std::vector<std::string> lines;
  lines.reserve(static_cast<size_t>(o.events));
  for (int i = 0; i < o.events; ++i) lines.push_back(Line(o.line_size, batch * o.events + i));
  return lines;
}

void AnnexWorker(const Options& o, const Endpoint& endpoint, const auth::SigningCredentials& creds, int id,
                 Clock::time_point deadline, Stats& stats) {
  LogsClient client(o, endpoint, creds);
  std::string stream = "conn-" + std::to_string(id);
  std::string error = client.Call("CreateLogStream",
                                  nlohmann::json{{"logGroupName", o.group}, {"logStreamName", stream}}.dump(), true);
  if (!error.empty()) {
    ++stats.errors;
    stats.first_error = error;
    return;
  }
  for (uint64_t batch = 0; Clock::now() < deadline; ++batch) {
    std::vector<std::string> lines = BatchLines(o, batch);
    std::string body = BatchBody(o, stream, lines);
    auto start = Clock::now();
    error = client.Call("PutLogEvents", body);
    if (!error.empty()) {
      if (stats.errors++ == 0) stats.first_error = error;
      if (stats.errors > 20) return;
      continue;
    }
    stats.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    stats.events += lines.size();
    for (const auto& l : lines) stats.bytes += l.size();
  }
}

// The peer: every thread appends its batches to one shared file (O_APPEND, so
// batches never interleave) and fsyncs after each, as a plain logger would.
void PeerWorker(const Options& o, int fd, Clock::time_point deadline, Stats& stats) {
  for (uint64_t batch = 0; Clock::now() < deadline; ++batch) {
    std::vector<std::string> lines = BatchLines(o, batch);
    auto start = Clock::now();
    std::string text;
    for (const auto& l : lines) text.append(l).push_back('\n');
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    if (!ok) {
      ++stats.errors;
      stats.first_error = "write/fsync of the peer file";
      break;
    }
    stats.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    stats.events += lines.size();
    for (const auto& l : lines) stats.bytes += l.size();
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(const Options& o) {
  Endpoint endpoint;
  auth::SigningCredentials creds;
  bool peer = !o.peer_dir.empty();
  if (!peer) {
    if (!Endpoint::Parse(o.endpoint, endpoint)) {
      std::cerr << "bad --endpoint " << o.endpoint << "\n";
      return 2;
    }
    const char* ak = std::getenv("ANNEX_ROOT_ACCESS_KEY_ID");
    const char* sk = std::getenv("ANNEX_ROOT_SECRET_ACCESS_KEY");
    if (!ak || !sk) {
      std::cerr << "set ANNEX_ROOT_ACCESS_KEY_ID and ANNEX_ROOT_SECRET_ACCESS_KEY\n";
      return 2;
    }
    creds.access_key_id = ak;
    creds.secret_access_key = sk;
    LogsClient setup(o, endpoint, creds);
    std::string error = setup.Call("CreateLogGroup", nlohmann::json{{"logGroupName", o.group}}.dump(), true);
    if (!error.empty()) {
      std::cerr << "CreateLogGroup: " << error << "\n";
      return 1;
    }
  }
  int peer_fd = -1;
  if (peer) {
    std::string path = o.peer_dir + "/peer.log";
    peer_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (peer_fd < 0) {
      std::cerr << "open " << path << " failed\n";
      return 1;
    }
  }
  std::vector<Stats> stats(static_cast<size_t>(o.connections));
  std::vector<std::thread> threads;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back([&, i] {
      if (peer) {
        PeerWorker(o, peer_fd, deadline, stats[static_cast<size_t>(i)]);
      } else {
        AnnexWorker(o, endpoint, creds, i, deadline, stats[static_cast<size_t>(i)]);
      }
    });
  }
  for (auto& t : threads) t.join();
  if (peer_fd >= 0) ::close(peer_fd);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Stats total;
  for (auto& s : stats) {
    total.events += s.events;
    total.bytes += s.bytes;
    total.errors += s.errors;
    total.latency_ms.insert(total.latency_ms.end(), s.latency_ms.begin(), s.latency_ms.end());
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  nlohmann::json out = {{"events", total.events},
                        {"seconds", seconds},
                        {"events_per_s", static_cast<double>(total.events) / seconds},
                        {"mb_per_s", static_cast<double>(total.bytes) / seconds / 1e6},
                        {"batch_ms_p50", Percentile(total.latency_ms, 0.5)},
                        {"batch_ms_p99", Percentile(total.latency_ms, 0.99)},
                        {"errors", total.errors}};
  std::cout << out.dump() << std::endl;
  if (total.errors > 0) std::cerr << "first error: " << total.first_error << "\n";
  return total.errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace annex::bench

int main(int argc, char** argv) {
  annex::bench::Options o;
  CLI::App app{"PutLogEvents load generator and its file+fsync peer"};
  app.add_option("--endpoint", o.endpoint, "annexd host:port");
  app.add_option("--peer-dir", o.peer_dir, "write the same batches to files here instead (the peer)");
  app.add_option("--connections", o.connections, "connections (one stream each) or peer threads (one shared file)");
  app.add_option("--events", o.events, "events per batch");
  app.add_option("--line-size", o.line_size, "bytes per line");
  app.add_option("--seconds", o.seconds, "how long to run");
  app.add_option("--group", o.group, "log group");
  CLI11_PARSE(app, argc, argv);
  return annex::bench::Run(o);
}
