#include "appliance/core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/strings.h"

namespace annex::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Sink> g_sink{nullptr};

RepeatLimiter* DefaultLimiter() {
  static RepeatLimiter limiter(10, std::chrono::minutes(1));
  return &limiter;
}
std::atomic<RepeatLimiter*> g_limiter{DefaultLimiter()};

std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void AppendValue(std::string& out, std::string_view v) {
  if (!NeedsQuotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level GetLevel() { return g_level.load(std::memory_order_relaxed); }

void SetLevel(std::string_view name) {
  if (name == "debug") SetLevel(Level::kDebug);
  else if (name == "info") SetLevel(Level::kInfo);
  else if (name == "warn") SetLevel(Level::kWarn);
  else if (name == "error") SetLevel(Level::kError);
}

void SetSink(Sink sink) { g_sink.store(sink, std::memory_order_release); }

void SetRepeatLimit(size_t burst, std::chrono::nanoseconds window, RepeatLimiter::Now now) {
  // Replaced limiters are kept, never freed: another thread may still be
  // inside one. Limits change a handful of times per process.
  static std::mutex mu;
  static std::vector<std::unique_ptr<RepeatLimiter>> kept;
  std::lock_guard<std::mutex> lock(mu);
  kept.push_back(std::make_unique<RepeatLimiter>(burst, window, std::move(now)));
  g_limiter.store(kept.back().get(), std::memory_order_release);
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level < GetLevel()) return;
  uint64_t suppressed = 0;
  if (level >= Level::kWarn && !g_limiter.load(std::memory_order_acquire)->Admit(message, &suppressed)) return;
  std::string ts = FormatIso8601(std::chrono::system_clock::now());
  std::string line;
  line.reserve(128);
  line.append(ts).append(" ").append(LevelName(level)).append(" ");
  AppendValue(line, message);
  for (const auto& [k, v] : fields) {
    line.push_back(' ');
    line.append(k).push_back('=');
    AppendValue(line, v);
  }
  if (suppressed > 0) line.append(" suppressed=").append(std::to_string(suppressed));
  line.push_back('\n');
  if (Sink sink = g_sink.load(std::memory_order_acquire)) {
    sink(line);
    return;
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace annex::log
