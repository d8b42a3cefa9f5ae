#pragma once
// A small structured logger: one line per event, `ts level msg key=value…`,
// written to stderr with a single write() so lines from two threads never
// interleave. Cheap enough for per-request logging at info level.

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "appliance/core/log_limiter.h"

namespace annex::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError };

void SetLevel(Level level);
Level GetLevel();
// Parses "debug"/"info"/"warn"/"error"; unknown strings leave the level unchanged.
void SetLevel(std::string_view name);

using Field = std::pair<std::string_view, std::string_view>;

void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

// Where lines go: stderr, or `sink` once set (nullptr: stderr again). A sink
// gets whole lines ending in '\n', from any thread at once, and must stay
// callable while anything may log (see RotatingLogFile, log_file.h).
using Sink = void (*)(std::string_view line);
void SetSink(Sink sink);

// Warnings and errors repeat in bursts (a failing disk, a flood of clients):
// each message gets `burst` lines per `window`, further ones are counted and
// the next line written with that message carries `suppressed=N`. The
// default is 10 lines per message per minute. Info and debug lines (the
// access log) are never limited. Meant for start-up and tests: the limiter
// it replaces is kept alive for threads still using it.
void SetRepeatLimit(size_t burst, std::chrono::nanoseconds window, RepeatLimiter::Now now = {});

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (GetLevel() <= Level::kDebug) Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

}  // namespace annex::log
