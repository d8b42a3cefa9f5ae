#pragma once
// Progress for long operations on stderr: numbered steps, and a byte counter
// that redraws one line on a terminal and prints every 25 % otherwise (logs
// and CI stay readable).

#include <chrono>
#include <cstdint>
#include <string>

namespace annex::image {

class Progress {
 public:
  explicit Progress(bool quiet = false);

  void Step(const std::string& message);
  void SetSteps(int total) { total_steps_ = total; }

  // Byte progress of one transfer.
  void Begin(const std::string& label, uint64_t total_bytes);
  void Advance(uint64_t bytes);
  void End();

 private:
  void Draw(bool final);

  bool quiet_;
  bool tty_;
  int step_ = 0;
  int total_steps_ = 0;
  std::string label_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  int last_quarter_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace annex::image
