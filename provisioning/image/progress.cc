#include "provisioning/image/progress.h"

#include <unistd.h>

#include <cstdio>

namespace annex::image {

Progress::Progress(bool quiet) : quiet_(quiet), tty_(::isatty(2) == 1) {}

void Progress::Step(const std::string& message) {
  ++step_;
  if (quiet_) return;
  if (total_steps_ > 0) {
    std::fprintf(stderr, "[%d/%d] %s\n", step_, total_steps_, message.c_str());
  } else {
    std::fprintf(stderr, "%s\n", message.c_str());
  }
}

void Progress::Begin(const std::string& label, uint64_t total_bytes) {
  label_ = label;
  total_ = total_bytes;
  done_ = 0;
  last_quarter_ = -1;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  Draw(false);
}

void Progress::Advance(uint64_t bytes) {
  done_ += bytes;
  auto now = std::chrono::steady_clock::now();
  if (tty_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::End() { Draw(true); }

void Progress::Draw(bool final) {
  if (quiet_) return;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int percent = total_ ? static_cast<int>(done_ * 100 / total_) : 100;
  double mib = static_cast<double>(done_) / (1 << 20);
  double rate = seconds > 0 ? static_cast<double>(done_) / 1e6 / seconds : 0;
  if (tty_) {
    int width = 30, filled = width * percent / 100;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    std::fprintf(stderr, "\r  %-10s [%s] %3d%% %8.1f MiB %7.1f MB/s%s", label_.c_str(), bar.c_str(), percent, mib, rate,
                 final ? "\n" : "");
    return;
  }
  int quarter = percent / 25;
  if (quarter == last_quarter_) return;
  last_quarter_ = quarter;
  if (final || quarter > 0) {
    std::fprintf(stderr, "  %-10s %3d%% %8.1f MiB %7.1f MB/s\n", label_.c_str(), percent, mib, rate);
  }
}

}  // namespace annex::image
