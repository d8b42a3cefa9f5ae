// fsync-peer: the durable-PUT baseline for the benchmark. THREADS threads
// each loop: write SIZE bytes to a temporary file, fsync it, close it and
// rename it to its final name — what a naive durable store does per object.
// Prints one JSON line in annex-loadgen's format (ops, seconds, ops_per_s,
// mb_per_s, p50/p99 latency, errors).
//
//   fsync-peer --dir DIR [--threads 16] [--size 4096] [--duration 10 | --count N]
//              [--warmup 0] [--dir-fsync]

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir;
  int threads = 16;
  size_t size = 4096;
  double duration = 0;
  long count = 0;
  double warmup = 0;
  bool dir_fsync = false;  // also fsync the directory after each rename
};

struct Stats {
  uint64_t ops = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latency_us;
  std::string first_error;
};

bool WriteFile(const Options& o, const std::string& tmp, const std::string& final_name,
               const std::string& body, int dir_fd, std::string& error) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return error = "open: " + std::string(std::strerror(errno)), false;
  size_t done = 0;
  while (done < body.size()) {
    ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ::close(fd), error = "write: " + std::string(std::strerror(errno)), false;
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ::close(fd), error = "fsync: " + std::string(std::strerror(errno)), false;
  if (::close(fd) != 0) return error = "close: " + std::string(std::strerror(errno)), false;
  if (::rename(tmp.c_str(), final_name.c_str()) != 0) {
    return error = "rename: " + std::string(std::strerror(errno)), false;
  }
  if (o.dir_fsync && ::fsync(dir_fd) != 0) {
    return error = "fsync dir: " + std::string(std::strerror(errno)), false;
  }
  return true;
}

void Worker(const Options& o, int id, Clock::time_point measure_start, Clock::time_point deadline,
            std::atomic<long>& remaining, Stats& stats) {
  std::string body(o.size, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131 + id) & 0xff);
  int dir_fd = ::open(o.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool timed = o.duration > 0;
  for (uint64_t serial = 0; timed ? Clock::now() < deadline : remaining.fetch_sub(1) > 0; ++serial) {
    std::string name = o.dir + "/t" + std::to_string(id) + "-" + std::to_string(serial);
    std::string error;
    auto start = Clock::now();
    bool ok = WriteFile(o, name + ".tmp", name, body, dir_fd, error);
    auto end = Clock::now();
    if (!ok) {
      if (stats.errors++ == 0) stats.first_error = error;
      if (stats.errors > 100) break;
      continue;
    }
    if (start < measure_start) continue;
    ++stats.ops;
    stats.latency_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(end - start).count()));
  }
  if (dir_fd >= 0) ::close(dir_fd);
}

double Percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t index = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(index), v.end());
  return v[index] / 1000.0;
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--dir-fsync") {
      o.dir_fsync = true;
    } else if (a == "--dir" && (v = next())) {
      o.dir = v;
    } else if (a == "--threads" && (v = next())) {
      o.threads = std::atoi(v);
    } else if (a == "--size" && (v = next())) {
      o.size = std::strtoull(v, nullptr, 10);
    } else if (a == "--duration" && (v = next())) {
      o.duration = std::atof(v);
    } else if (a == "--count" && (v = next())) {
      o.count = std::atol(v);
    } else if (a == "--warmup" && (v = next())) {
      o.warmup = std::atof(v);
    } else {
      return false;
    }
  }
  if (o.duration <= 0 && o.count <= 0) o.duration = 10;
  return !o.dir.empty() && o.threads > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: fsync-peer --dir DIR [--threads N] [--size BYTES] "
                 "[--duration S | --count N] [--warmup S] [--dir-fsync]\n");
    return 2;
  }
  std::vector<Stats> stats(o.threads);
  std::atomic<long> remaining{o.count};
  auto start = Clock::now();
  auto measure_start = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.duration > 0 ? o.warmup : 0));
  auto deadline = measure_start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.duration));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) {
    threads.emplace_back([&, i] { Worker(o, i, measure_start, deadline, remaining, stats[i]); });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - measure_start).count();
  uint64_t ops = 0, errors = 0;
  std::vector<uint32_t> latency;
  for (auto& s : stats) {
    ops += s.ops;
    errors += s.errors;
    latency.insert(latency.end(), s.latency_us.begin(), s.latency_us.end());
    if (!s.first_error.empty()) std::fprintf(stderr, "fsync-peer: error: %s\n", s.first_error.c_str());
  }
  std::printf(
      "{\"op\":\"write+fsync+rename\",\"size\":%zu,\"concurrency\":%d,\"dir_fsync\":%s,"
      "\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.3f,\"mb_per_s\":%.3f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"errors\":%llu}\n",
      o.size, o.threads, o.dir_fsync ? "true" : "false", static_cast<unsigned long long>(ops), seconds,
      seconds > 0 ? ops / seconds : 0.0, seconds > 0 ? ops * o.size / seconds / 1e6 : 0.0,
      Percentile(latency, 0.5), Percentile(latency, 0.99), static_cast<unsigned long long>(errors));
  return errors == 0 && ops > 0 ? 0 : 1;
}
