// annex-sync-loadgen: many simulated appliances against one annex-control, to
// measure what the control plane sustains on this machine. It starts
// annex-control itself (so it can kill and restart it) and runs three phases:
//
//  steady     N appliances (enrolled with real tokens, real client
//             certificates, mutual TLS) keep one Connect stream each and send
//             a heartbeat every --heartbeat-ms at a random phase. Each
//             heartbeat's send time is matched with the first poll of the
//             operator API (GET /v1/zones) whose last_heartbeat covers it:
//             heartbeat-to-status latency, as an operator would see it.
//  restart    annex-control is killed (-9) and started again; every appliance
//             reconnects with the agent's backoff policy. Reports the peak
//             reconnect rate (sliding 1 s window) against the mean.
//  resync     one real sync Agent with --resources inventory items syncs them
//             all, is stopped, sees --changed-percent of them change, and is
//             started again: the time until the control plane acknowledged
//             every change.
//
// Prints human lines and, last, one JSON line of results. Exit status is
// non-zero only on errors (never on timing).

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "appliance/auth/sigv4.h"
#include "appliance/core/strings.h"
#include "appliance/http/request.h"
#include "appliance/service/resource_feed.h"
#include "sync/agent/agent.h"
#include "sync/agent/enrollment.h"
#include "sync/common/backoff.h"
#include "sync/common/enrollment_token.h"
#include "sync/controlplane/control_plane.h"
#include "sync/proto/sync.grpc.pb.h"

namespace annex::bench {
namespace {

namespace pb = annex::sync::v1;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kRegion = "us-east-1";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Die(const std::string& what) {
  std::cerr << "annex-sync-loadgen: " << what << "\n";
  std::exit(2);
}

// An operator-API time ("2026-11-29T05:34:27.123Z") as unix ms; 0 for null or anything else.
int64_t ParseIsoMs(const json& v) {
  std::optional<SystemTime> t = v.is_string() ? ParseIso8601(v.get<std::string>()) : std::nullopt;
  return t ? std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count() : 0;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Die("cannot find a free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The annex-control process: started, killed and restarted on the same data dir and ports.
class ControlProcess {
 public:
  ControlProcess(std::string bin, std::string data_dir)
      : bin_(std::move(bin)), data_dir_(std::move(data_dir)), sync_port_(FreePort()), api_port_(FreePort()) {
    access_key_ = "AKIALOADGEN" + std::to_string(getpid());
    secret_key_ = "loadgen-secret-" + std::to_string(NowMs());
  }
  ~ControlProcess() { Kill(); }

  void Start() {
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      setenv("ANNEX_ROOT_ACCESS_KEY_ID", access_key_.c_str(), 1);
      setenv("ANNEX_ROOT_SECRET_ACCESS_KEY", secret_key_.c_str(), 1);
      int log = open((data_dir_ + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) {
        dup2(log, 1);
        dup2(log, 2);
      }
      std::string listen = "127.0.0.1:" + std::to_string(sync_port_);
      std::string api = "127.0.0.1:" + std::to_string(api_port_);
      execl(bin_.c_str(), bin_.c_str(), "--data-dir", data_dir_.c_str(), "--listen", listen.c_str(), "--api-listen",
            api.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) Die("annex-control exited at start; see " + data_dir_ + ".log");
      try {
        if (Get("/health").first == 200) return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Die("annex-control did not become ready");
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // A SigV4-signed GET of the operator API: (status, body).
  std::pair<int, std::string> Get(const std::string& target) const {
    namespace beast = boost::beast;
    std::string host = "127.0.0.1:" + std::to_string(api_port_);
    http::Request signed_request;
    signed_request.method = "GET";
    signed_request.target = target;
    if (!http::ParseTarget(target, signed_request).ok()) Die("bad target " + target);
    signed_request.headers.Add("host", host);
    auth::SignOptions sign;
    sign.region = kRegion;
    sign.service = "annex";
    sign.time = std::chrono::system_clock::now();
    sign.add_content_sha256_header = false;
    auth::SignRequest(signed_request, {access_key_, secret_key_, ""}, sign);

    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), api_port_));
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    for (const auto& field : signed_request.headers) req.set(field.name, field.value);
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(256 << 20);
    beast::http::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return {parser.get().result_int(), parser.get().body()};
  }

  pid_t pid() const { return pid_; }
  std::string sync_address() const { return "127.0.0.1:" + std::to_string(sync_port_); }

 private:
  std::string bin_, data_dir_;
  int sync_port_, api_port_;
  std::string access_key_, secret_key_;
  pid_t pid_ = -1;
};

// CPU seconds (user + system) and RSS (KiB) and thread count of a process.
struct ProcUsage {
  double cpu_seconds = 0;
  long rss_kib = 0;
  long threads = 0;
};
ProcUsage ReadUsage(pid_t pid) {
  ProcUsage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return u;
  std::istringstream fields(text.substr(close_paren + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)), {});
  if (f.size() > 13) u.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::stol(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) u.threads = std::stol(line.substr(8));
  }
  return u;
}

// ---- simulated appliances -----------------------------------------------------

class Fleet;

// One enrolled appliance without services: its identity and reconnect state.
struct SimAppliance {
  std::string zone;
  std::string address;
  grpc::SslCredentialsOptions credentials;
  std::unique_ptr<pb::Sync::Stub> stub;  // of the current or last attempt
  std::unique_ptr<sync::Backoff> backoff;
  class Session* session = nullptr;  // the live stream, if any (guarded by Fleet::mu_)
  bool connected = false;
  Clock::time_point reconnect_at{};
  int64_t next_heartbeat_ms = 0;
  int64_t pending_heartbeat_ms = 0;  // sent, not yet seen in the operator API
  Clock::time_point attempt_started{};
  bool starting = false;  // queued for a connector thread
};

// One Connect stream, callback API: no thread per appliance.
class Session : public grpc::ClientBidiReactor<pb::AgentMessage, pb::ControlMessage> {
 public:
  Session(Fleet& fleet, SimAppliance& sim);
  void Send(pb::AgentMessage m);  // Fleet::mu_ held
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;

  grpc::ClientContext ctx;

 private:
  void WriteNext();  // Fleet::mu_ held

  Fleet& fleet_;
  SimAppliance& sim_;
  pb::ControlMessage in_;
  std::deque<pb::AgentMessage> out_;
  bool writing_ = false;
  bool closing_ = false;
};

class Fleet {
 public:
  explicit Fleet(std::chrono::milliseconds heartbeat) : heartbeat_(heartbeat) {}

  void Add(const sync::Enrollment& e, const std::string& address) {
    auto sim = std::make_unique<SimAppliance>();
    sim->zone = e.zone;
    sim->address = address;
    sim->credentials = {e.ca_pem, e.key_pem, e.cert_pem};
    sim->backoff = std::make_unique<sync::Backoff>(sync::BackoffPolicy{}, [this] { return Uniform01(); });
    std::lock_guard lock(mu_);
    by_zone_[e.zone] = sim.get();
    sims_.push_back(std::move(sim));
  }

  void Start() {
    scheduler_ = std::thread([this] { Schedule(); });
    for (int i = 0; i < 4; ++i) connectors_.emplace_back([this] { Connector(); });
  }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      for (auto& s : sims_) {
        if (s->session) s->session->ctx.TryCancel();
      }
    }
    starts_cv_.notify_all();
    if (scheduler_.joinable()) scheduler_.join();
    for (auto& t : connectors_) t.join();
    std::unique_lock lock(mu_);
    done_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return live_sessions_ == 0; });
  }

  size_t size() const { return sims_.size(); }
  size_t connected() const {
    std::lock_guard lock(mu_);
    return connected_;
  }
  bool WaitConnected(size_t n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return connected_cv_.wait_for(lock, timeout, [&] { return connected_ >= n; });
  }

  // Latency sampling: on while measuring.
  void SetSampling(bool on) {
    std::lock_guard lock(mu_);
    sampling_ = on;
    if (!on) return;
    for (auto& s : sims_) s->pending_heartbeat_ms = 0;
  }
  // One poll of the operator API's zone list, finished at `poll_end_ms`.
  void Observe(const json& zones, int64_t poll_end_ms) {
    std::lock_guard lock(mu_);
    if (!sampling_) return;
    for (const auto& z : zones) {
      auto it = by_zone_.find(z.value("name", ""));
      if (it == by_zone_.end()) continue;
      SimAppliance& sim = *it->second;
      if (sim.pending_heartbeat_ms == 0) continue;
      if (ParseIsoMs(z["last_heartbeat"]) >= sim.pending_heartbeat_ms) {
        latencies_ms_.push_back(static_cast<double>(poll_end_ms - sim.pending_heartbeat_ms));
        sim.pending_heartbeat_ms = 0;
      }
    }
  }
  std::vector<double> TakeLatencies() {
    std::lock_guard lock(mu_);
    return std::exchange(latencies_ms_, {});
  }
  uint64_t heartbeats_sent() const { return heartbeats_sent_; }

  // Reconnect times (steady clock) since the last call.
  void MarkReconnectPhase() {
    std::lock_guard lock(mu_);
    connect_times_.clear();
    setup_ms_.clear();
  }
  // Attempt-to-Welcome times of the connects since MarkReconnectPhase.
  std::vector<double> SetupTimes() const {
    std::lock_guard lock(mu_);
    return setup_ms_;
  }
  std::vector<Clock::time_point> ConnectTimes() const {
    std::lock_guard lock(mu_);
    return connect_times_;
  }
  uint64_t connect_attempts() const { return attempts_; }

 private:
  friend class Session;

  double Uniform01() {
    std::lock_guard lock(rng_mu_);
    return std::uniform_real_distribution<double>(0, 1)(rng_);
  }

  // Called by Session (mu_ held).
  void Connected(SimAppliance& sim) {
    sim.connected = true;
    sim.backoff->Reset();
    ++connected_;
    connect_times_.push_back(Clock::now());
    setup_ms_.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sim.attempt_started).count());
    // A random phase, as appliances that booted at different times have.
    sim.next_heartbeat_ms = NowMs() + static_cast<int64_t>(Uniform01() * static_cast<double>(heartbeat_.count()));
    connected_cv_.notify_all();
  }
  void Ended(SimAppliance& sim) {
    if (sim.connected) --connected_;
    sim.connected = false;
    sim.session = nullptr;
    sim.pending_heartbeat_ms = 0;
    sim.reconnect_at = Clock::now() + sim.backoff->Next();
    --live_sessions_;
    done_cv_.notify_all();
  }

  void Schedule() {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
        auto now = Clock::now();
        int64_t now_ms = NowMs();
        for (auto& s : sims_) {
          SimAppliance& sim = *s;
          if (!sim.session && !sim.starting && now >= sim.reconnect_at) {
            sim.starting = true;
            sim.attempt_started = now;
            starts_.push_back(&sim);
            starts_cv_.notify_one();
          } else if (sim.session && sim.connected && now_ms >= sim.next_heartbeat_ms) {
            sim.next_heartbeat_ms = now_ms + heartbeat_.count();
            pb::AgentMessage hb;
            hb.mutable_heartbeat()->set_sent_unix_ms(now_ms);
            auto* c = hb.mutable_heartbeat()->mutable_capacity();
            c->set_cpus(2);
            c->set_memory_bytes(24ull << 30);
            c->set_disk_bytes(1ull << 40);
            c->set_disk_free_bytes(1ull << 39);
            c->add_services("s3");
            if (sampling_ && sim.pending_heartbeat_ms == 0) sim.pending_heartbeat_ms = now_ms;
            sim.session->Send(std::move(hb));
            ++heartbeats_sent_;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Builds a channel (its TLS context is most of an attempt's cost) outside
  // the lock, on one of several threads, as independent appliances would.
  void Connector() {
    while (true) {
      SimAppliance* sim = nullptr;
      {
        std::unique_lock lock(mu_);
        starts_cv_.wait(lock, [&] { return stop_ || !starts_.empty(); });
        if (stop_) return;
        sim = starts_.front();
        starts_.pop_front();
      }
      grpc::ChannelArguments args;
      args.SetSslTargetNameOverride(std::string(sync::kControlPlaneServerName));
      args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
      // Each appliance has its own TCP connection, as in the field.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      // A channel per attempt, as the agent makes one per session: retries
      // follow the agent's backoff, not gRPC's reconnect backoff.
      auto stub = pb::Sync::NewStub(
          grpc::CreateCustomChannel(sim->address, grpc::SslCredentials(sim->credentials), args));
      std::lock_guard lock(mu_);
      sim->starting = false;
      if (stop_) return;  // Stop() cancels only the sessions it can see
      sim->stub = std::move(stub);  // the previous attempt's channel is done with
      ++attempts_;
      ++live_sessions_;
      sim->session = new Session(*this, *sim);  // deletes itself in OnDone
    }
  }

  std::chrono::milliseconds heartbeat_;
  std::deque<SimAppliance*> starts_;
  std::condition_variable starts_cv_;
  std::vector<std::thread> connectors_;
  mutable std::mutex mu_;
  std::condition_variable connected_cv_, done_cv_;
  std::vector<std::unique_ptr<SimAppliance>> sims_;
  std::map<std::string, SimAppliance*> by_zone_;
  size_t connected_ = 0;
  size_t live_sessions_ = 0;
  bool stop_ = false;
  bool sampling_ = false;
  std::vector<double> latencies_ms_;
  std::vector<Clock::time_point> connect_times_;
  std::vector<double> setup_ms_;
  std::atomic<uint64_t> heartbeats_sent_{0};
  std::atomic<uint64_t> attempts_{0};
  std::thread scheduler_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

Session::Session(Fleet& fleet, SimAppliance& sim) : fleet_(fleet), sim_(sim) {
  sim.stub->async()->Connect(&ctx, this);
  pb::AgentMessage hello;
  hello.mutable_hello()->set_zone(sim.zone);
  hello.mutable_hello()->set_agent_version("sync-loadgen");
  out_.push_back(std::move(hello));
  // Writes start from the scheduler thread, outside reactions: the hold keeps
  // OnDone from running until the stream is known to be over.
  AddHold();
  writing_ = true;
  StartWrite(&out_.front());
  StartRead(&in_);
  StartCall();
}

void Session::Send(pb::AgentMessage m) {
  if (closing_) return;
  out_.push_back(std::move(m));
  if (!writing_) WriteNext();
}

void Session::WriteNext() {
  if (out_.empty() || closing_) return;
  writing_ = true;
  StartWrite(&out_.front());
}

void Session::OnWriteDone(bool ok) {
  std::lock_guard lock(fleet_.mu_);
  writing_ = false;
  out_.pop_front();
  if (ok) WriteNext();
}

void Session::OnReadDone(bool ok) {
  std::lock_guard lock(fleet_.mu_);
  if (!ok) {
    closing_ = true;
    RemoveHold();
    return;
  }
  if (in_.has_welcome()) fleet_.Connected(sim_);
  StartRead(&in_);
}

void Session::OnDone(const grpc::Status&) {
  {
    std::lock_guard lock(fleet_.mu_);
    fleet_.Ended(sim_);
  }
  delete this;
}

// ---- phases ---------------------------------------------------------------------

struct Options {
  std::string control_bin;
  std::string work_dir;
  int appliances = 1000;
  int heartbeat_ms = 10'000;
  int measure_seconds = 60;
  int resources = 10'000;
  double changed_percent = 1.0;
  int enroll_threads = 4;
  int poll_ms = 100;
};

std::vector<sync::Enrollment> EnrollAll(const Options& o, ControlProcess& cp, const std::vector<std::string>& tokens) {
  std::vector<sync::Enrollment> out(tokens.size());
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < o.enroll_threads; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < tokens.size();) {
        auto e = sync::Enroll(cp.sync_address(), tokens[i], "sync-loadgen");
        if (!e.ok()) {
          if (failures++ == 0) std::cerr << "enroll failed: " << e.status().message() << "\n";
          continue;
        }
        out[i] = std::move(*e);
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failures > 0) Die(std::to_string(failures.load()) + " enrollments failed");
  return out;
}

// Polls GET /v1/zones and feeds the fleet until stopped.
class StatusPoller {
 public:
  StatusPoller(ControlProcess& cp, Fleet& fleet, int poll_ms) {
    thread_ = std::thread([&cp, &fleet, poll_ms, this] {
      while (!stop_) {
        auto start = Clock::now();
        try {
          auto [status, body] = cp.Get("/v1/zones");
          if (status == 200) {
            json zones = json::parse(body);
            fleet.Observe(zones["zones"], NowMs());
            ++polls_;
            poll_ms_total_ += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
          }
        } catch (const std::exception&) {
          ++errors_;
        }
        std::this_thread::sleep_until(start + std::chrono::milliseconds(poll_ms));
      }
    });
  }
  ~StatusPoller() {
    stop_ = true;
    thread_.join();
  }
  double mean_poll_ms() const { return polls_ ? poll_ms_total_ / polls_ : 0; }
  int polls() const { return polls_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0}, errors_{0};
  double poll_ms_total_ = 0;
  std::thread thread_;
};

json SteadyPhase(const Options& o, ControlProcess& cp, Fleet& fleet) {
  // Warm-up: one full heartbeat round so every appliance is in its rhythm.
  std::this_thread::sleep_for(std::chrono::milliseconds(o.heartbeat_ms));
  ProcUsage before = ReadUsage(cp.pid());
  uint64_t sent_before = fleet.heartbeats_sent();
  auto start = Clock::now();
  fleet.SetSampling(true);
  json result;
  {
    StatusPoller poller(cp, fleet, o.poll_ms);
    std::this_thread::sleep_for(std::chrono::seconds(o.measure_seconds));
    result["status_polls"] = poller.polls();
    result["status_poll_ms_mean"] = poller.mean_poll_ms();
  }
  fleet.SetSampling(false);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ProcUsage after = ReadUsage(cp.pid());
  std::vector<double> lat = fleet.TakeLatencies();
  result["appliances"] = fleet.size();
  result["connected"] = fleet.connected();
  result["heartbeats_per_s"] = static_cast<double>(fleet.heartbeats_sent() - sent_before) / seconds;
  result["samples"] = lat.size();
  result["heartbeat_to_status_ms_p50"] = Percentile(lat, 50);
  result["heartbeat_to_status_ms_p99"] = Percentile(lat, 99);
  result["heartbeat_to_status_ms_max"] = Percentile(lat, 100);
  result["control_cpu_percent"] = 100.0 * (after.cpu_seconds - before.cpu_seconds) / seconds;
  result["control_rss_mib"] = static_cast<double>(after.rss_kib) / 1024.0;
  result["control_threads"] = after.threads;
  std::printf("steady: %zu appliances, %.0f heartbeats/s, heartbeat-to-status p50 %.0f ms, p99 %.0f ms, max %.0f ms "
              "(%zu samples); annex-control %.0f%% CPU, %.0f MiB RSS, %ld threads\n",
              fleet.size(), result["heartbeats_per_s"].get<double>(), Percentile(lat, 50), Percentile(lat, 99),
              Percentile(lat, 100), lat.size(), result["control_cpu_percent"].get<double>(),
              result["control_rss_mib"].get<double>(), after.threads);
  return result;
}

json RestartPhase(ControlProcess& cp, Fleet& fleet) {
  fleet.MarkReconnectPhase();
  uint64_t attempts_before = fleet.connect_attempts();
  double self_cpu_before = ReadUsage(getpid()).cpu_seconds;
  auto killed = Clock::now();
  cp.Kill();
  cp.Start();
  auto serving = Clock::now();
  if (!fleet.WaitConnected(fleet.size(), std::chrono::seconds(180))) {
    Die("only " + std::to_string(fleet.connected()) + " of " + std::to_string(fleet.size()) + " reconnected");
  }
  double control_cpu = ReadUsage(cp.pid()).cpu_seconds;
  double self_cpu = ReadUsage(getpid()).cpu_seconds - self_cpu_before;
  std::vector<Clock::time_point> times = fleet.ConnectTimes();
  std::sort(times.begin(), times.end());
  // Peak: the most reconnects inside any 1 s window; mean: per second over
  // the reconnect period (first to last, at least 1 s).
  size_t peak = 0;
  for (size_t i = 0, j = 0; i < times.size(); ++i) {
    while (times[i] - times[j] > std::chrono::seconds(1)) ++j;
    peak = std::max(peak, i - j + 1);
  }
  double span = std::max(1.0, std::chrono::duration<double>(times.back() - times.front()).count());
  double mean = static_cast<double>(times.size()) / span;
  json r;
  // Reconnects per 250 ms after the kill, for the record.
  std::vector<int> histogram;
  for (auto t : times) {
    size_t bucket = static_cast<size_t>(std::chrono::duration<double>(t - killed).count() / 0.25);
    if (histogram.size() <= bucket) histogram.resize(bucket + 1);
    ++histogram[bucket];
  }
  r["reconnects_per_250ms"] = histogram;
  std::vector<double> setup = fleet.SetupTimes();
  r["session_setup_ms_p50"] = Percentile(setup, 50);
  r["session_setup_ms_p99"] = Percentile(setup, 99);
  r["reconnected"] = times.size();
  r["control_cpu_s"] = control_cpu;
  r["loadgen_cpu_s"] = self_cpu;
  r["restart_s"] = std::chrono::duration<double>(serving - killed).count();
  r["all_reconnected_after_s"] = std::chrono::duration<double>(times.back() - killed).count();
  r["reconnect_attempts"] = fleet.connect_attempts() - attempts_before;
  r["reconnect_peak_per_s"] = peak;
  r["reconnect_mean_per_s"] = mean;
  r["reconnect_peak_to_mean"] = static_cast<double>(peak) / mean;
  std::printf("restart: annex-control back in %.2f s; %zu appliances reconnected within %.1f s (%llu attempts); "
              "peak %zu/s, mean %.0f/s, peak/mean %.2f\n",
              r["restart_s"].get<double>(), times.size(), r["all_reconnected_after_s"].get<double>(),
              static_cast<unsigned long long>(r["reconnect_attempts"].get<uint64_t>()), peak, mean,
              static_cast<double>(peak) / mean);
  return r;
}

// Runs a real agent until the control plane acknowledged everything it has; seconds taken.
double SyncAgent(const Options& o, ControlProcess& cp, const std::string& token, const sync::ResourceSource& source,
                 uint64_t expect_sequence) {
  sync::AgentOptions ao;
  ao.state_dir = o.work_dir + "/resync-agent";
  ao.control_plane = cp.sync_address();
  ao.enrollment_token = token;
  ao.agent_version = "sync-loadgen";
  ao.heartbeat = std::chrono::milliseconds(1000);
  ao.resources = {source};
  ao.now_unix_ms = NowMs;
  auto start = Clock::now();
  auto agent = sync::Agent::Start(ao);
  if (!agent.ok()) Die("agent: " + agent.status().message());
  while (true) {
    sync::AgentStatus s = (*agent)->status();
    if (s.last_sequence >= expect_sequence && s.last_acknowledged == s.last_sequence) break;
    if (Clock::now() - start > std::chrono::seconds(600)) Die("resync did not finish: " + s.last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The resources live in a real resource feed (LMDB, as a service keeps
// them); their states in memory beside it.
class FeedFixture {
 public:
  explicit FeedFixture(const std::string& dir) {
    std::filesystem::create_directories(dir);
    env_ = store::LmdbEnv::Open(dir).value();
    feed_ = service::ResourceFeed::Open(*env_).value();
  }
  void Set(const std::vector<std::pair<std::string, std::string>>& changes) {
    auto txn = env_->BeginWrite().value();
    for (const auto& [id, state] : changes) {
      if (!feed_->Changed(txn, "bucket", id).ok()) Die("feed write");
      states_[id] = state;
    }
    if (!txn.Commit().ok()) Die("feed commit");
  }
  sync::ResourceSource Source() {
    return {"bench", [this](uint64_t cursor, size_t max) -> Result<sync::ResourcePage> {
              ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
              ANNEX_ASSIGN_OR_RETURN(service::ResourceFeed::Page page, feed_->Since(txn, cursor, max));
              sync::ResourcePage out;
              out.cursor = page.cursor;
              out.more = page.more;
              for (const auto& e : page.entries) out.changes.push_back({e.kind, e.id, states_[e.id], e.version, e.deleted});
              return out;
            }};
  }

 private:
  std::unique_ptr<store::LmdbEnv> env_;
  std::unique_ptr<service::ResourceFeed> feed_;
  std::map<std::string, std::string> states_;  // read on the agent's thread only after Set returned
};

json ResyncPhase(const Options& o, ControlProcess& cp, const std::string& token, const std::string& zone) {
  FeedFixture feed(o.work_dir + "/resync-feed");
  std::vector<std::pair<std::string, std::string>> all;
  for (int i = 0; i < o.resources; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "resource-%06d", i);
    all.push_back({id, json{{"generation", 1}}.dump()});
  }
  feed.Set(all);
  double initial = SyncAgent(o, cp, token, feed.Source(), static_cast<uint64_t>(o.resources));
  int changed = std::max(1, static_cast<int>(o.resources * o.changed_percent / 100.0));
  std::mt19937 rng(7);
  std::vector<int> order(o.resources);
  for (int i = 0; i < o.resources; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::pair<std::string, std::string>> changes;
  for (int i = 0; i < changed; ++i) changes.push_back({all[order[i]].first, json{{"generation", 2}}.dump()});
  feed.Set(changes);
  double resync = SyncAgent(o, cp, token, feed.Source(), static_cast<uint64_t>(o.resources + changed));

  // What the operator sees: every resource, the changed ones at generation 2.
  auto [status, body] = cp.Get("/v1/zones/" + zone + "/resources");
  if (status != 200) Die("resources: HTTP " + std::to_string(status));
  int seen = 0, seen_changed = 0;
  json listed = json::parse(body);
  for (const auto& r : listed["resources"]) {
    ++seen;
    if (r["state"].value("generation", 0) == 2) ++seen_changed;
  }
  if (seen != o.resources || seen_changed != changed) {
    Die("control plane shows " + std::to_string(seen) + " resources, " + std::to_string(seen_changed) +
        " changed; expected " + std::to_string(o.resources) + " and " + std::to_string(changed));
  }
  json r;
  r["resources"] = o.resources;
  r["changed"] = changed;
  r["initial_sync_s"] = initial;
  r["resync_s"] = resync;
  std::printf("resync: %d resources first synced in %.2f s; after %d changed, resynced in %.3f s\n", o.resources,
              initial, changed, resync);
  return r;
}

int Run(const Options& o) {
  // One socket per appliance on each side, plus LMDB and the rest.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < static_cast<rlim_t>(2 * o.appliances + 256)) {
    Die("RLIMIT_NOFILE " + std::to_string(nofile.rlim_cur) + " is too low for " + std::to_string(o.appliances) +
        " appliances");
  }
  std::filesystem::remove_all(o.work_dir);
  std::filesystem::create_directories(o.work_dir);
  std::string data_dir = o.work_dir + "/control";
  ControlProcess cp(o.control_bin, data_dir);
  cp.Start();

  std::vector<std::string> tokens;
  std::string resync_token;
  {
    auto shared = sync::ControlPlane::Shared({data_dir, kRegion, {}, std::nullopt});
    if (!shared.ok()) Die("control plane data dir: " + shared.status().message());
    for (int i = 0; i <= o.appliances; ++i) {
      std::string site = i == o.appliances ? "resync" : "sim-" + std::to_string(i);
      auto token = (*shared)->registry().CreateSite(site, (*shared)->ca_sha256(), NowMs());
      if (!token.ok()) Die("create site: " + token.status().message());
      (i == o.appliances ? resync_token : tokens.emplace_back()) = sync::EncodeToken(*token);
    }
  }
  auto enroll_start = Clock::now();
  std::vector<sync::Enrollment> enrollments = EnrollAll(o, cp, tokens);
  double enroll_s = std::chrono::duration<double>(Clock::now() - enroll_start).count();
  std::printf("enroll: %d appliances enrolled in %.1f s\n", o.appliances, enroll_s);

  json out;
  out["enroll_s"] = enroll_s;
  Fleet fleet(std::chrono::milliseconds(o.heartbeat_ms));
  for (const auto& e : enrollments) fleet.Add(e, cp.sync_address());
  auto connect_start = Clock::now();
  fleet.Start();
  if (!fleet.WaitConnected(fleet.size(), std::chrono::seconds(120))) {
    Die("only " + std::to_string(fleet.connected()) + " appliances connected");
  }
  out["connect_all_s"] = std::chrono::duration<double>(Clock::now() - connect_start).count();
  std::printf("connect: %zu sessions up in %.1f s\n", fleet.size(), out["connect_all_s"].get<double>());
  out["steady"] = SteadyPhase(o, cp, fleet);
  out["restart"] = RestartPhase(cp, fleet);
  fleet.Stop();
  out["resync"] = ResyncPhase(o, cp, resync_token, "us-east-1-annex-resync");
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace annex::bench

int main(int argc, char** argv) {
  annex::bench::Options o;
  CLI::App app{"annex-sync-loadgen: simulated appliances against one annex-control; prints results as JSON"};
  app.add_option("--control-bin", o.control_bin, "Path of annex-control")->required();
  app.add_option("--work-dir", o.work_dir, "Scratch directory (emptied first)")->required();
  app.add_option("--appliances", o.appliances, "Simulated appliances")->capture_default_str();
  app.add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat interval")->capture_default_str();
  app.add_option("--measure-seconds", o.measure_seconds, "Length of the steady phase")->capture_default_str();
  app.add_option("--resources", o.resources, "Inventory of the resync agent")->capture_default_str();
  app.add_option("--changed-percent", o.changed_percent, "Share of it changed before the resync")
      ->capture_default_str();
  app.add_option("--poll-ms", o.poll_ms, "Operator API poll interval")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  return annex::bench::Run(o);
}
