#include "services/containers/fargate_sizes.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace annex::containers {
namespace {

constexpr int64_t kGiB = 1024;

// One cpu tier: memory from min to max GiB in steps of step GiB, plus the
// sub-GiB sizes only the smallest tier has.
struct Tier {
  int64_t cpu;
  int64_t min_gib;
  int64_t max_gib;
  int64_t step_gib;
};

constexpr Tier kTiers[] = {
    {512, 1, 4, 1}, {1024, 2, 8, 1}, {2048, 4, 16, 1}, {4096, 8, 30, 1}, {8192, 16, 60, 4}, {16384, 32, 120, 8},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  std::string_view tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

// A plain decimal ("2", "0.25") scaled by `scale`, exact only: "0.3 vCPU" is
// 307.2 units, which no task size has, so it is refused rather than rounded.
std::optional<int64_t> ScaledDecimal(std::string_view s, int64_t scale) {
  if (s.empty() || s.size() > 12) return std::nullopt;  // bounds the arithmetic below
  int64_t whole = 0, frac = 0, frac_div = 1;
  bool dot = false, digits = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
      if (dot) {
        frac = frac * 10 + (c - '0');
        frac_div *= 10;
      } else {
        whole = whole * 10 + (c - '0');
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  int64_t scaled_frac = frac * scale;
  if (scaled_frac % frac_div != 0) return std::nullopt;
  int64_t value = whole * scale + scaled_frac / frac_div;
  if (value <= 0) return std::nullopt;
  return value;
}

// "<number>", or "<number><unit>" with optional space before the unit.
std::optional<int64_t> ParseAmount(std::string_view text, std::string_view unit, int64_t unit_scale) {
  std::string_view s = Trim(text);
  if (EndsWithNoCase(s, unit)) {
    return ScaledDecimal(Trim(s.substr(0, s.size() - unit.size())), unit_scale);
  }
  if (s.find('.') != std::string_view::npos) return std::nullopt;  // bare units are whole
  return ScaledDecimal(s, 1);
}

}  // namespace

std::optional<int64_t> ParseTaskCpu(std::string_view text) { return ParseAmount(text, "vcpu", 1024); }

std::optional<int64_t> ParseTaskMemory(std::string_view text) { return ParseAmount(text, "gb", kGiB); }

const std::vector<FargateSize>& AllFargateSizes() {
  static const std::vector<FargateSize> sizes = [] {
    std::vector<FargateSize> v = {{256, 512}, {256, 1024}, {256, 2048}};
    for (const Tier& t : kTiers) {
      for (int64_t gib = t.min_gib; gib <= t.max_gib; gib += t.step_gib) v.push_back({t.cpu, gib * kGiB});
    }
    return v;
  }();
  return sizes;
}

bool IsFargateSize(int64_t cpu, int64_t memory_mib) {
  const auto& sizes = AllFargateSizes();
  return std::any_of(sizes.begin(), sizes.end(),
                     [&](const FargateSize& s) { return s.cpu == cpu && s.memory_mib == memory_mib; });
}

}  // namespace annex::containers
