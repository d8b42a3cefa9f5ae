// Throughput of the S3 checksums over one in-memory buffer (no I/O): CRC32
// (zlib), CRC32C (SSE4.2 where present), CRC64NVME (PCLMULQDQ folding where
// present) and its portable tables, SHA-256 and MD5 for scale. Run by hand:
//   build/bin/annex-checksum-bench [--mib N] [--rounds R]
// Prints one JSON line of GB/s per algorithm (best of the rounds).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "appliance/crypto/checksum.h"
#include "appliance/crypto/hash.h"

namespace {

using annex::crypto::ChecksumAlgorithm;

double BestGbPerSecond(const std::string& data, int rounds, const std::function<uint64_t(std::string_view)>& f) {
  double best = 0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    sink = sink + f(data);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(data.size()) / s / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("S3 checksum throughput");
  size_t mib = 256;
  int rounds = 5;
  app.add_option("--mib", mib, "buffer size in MiB");
  app.add_option("--rounds", rounds, "rounds per algorithm (the best is reported)");
  CLI11_PARSE(app, argc, argv);
  std::string data(mib << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 2654435761u >> 13);

  namespace c = annex::crypto;
  std::vector<std::pair<std::string, std::function<uint64_t(std::string_view)>>> cases = {
      {"crc32", [](std::string_view d) { return uint64_t{c::Crc32Update(0, d)}; }},
      {"crc32c", [](std::string_view d) { return uint64_t{c::Crc32cUpdate(0, d)}; }},
      {"crc32c_portable", [](std::string_view d) { return uint64_t{c::Crc32cUpdatePortable(0, d)}; }},
      {"crc64nvme", [](std::string_view d) { return c::Crc64NvmeUpdate(0, d); }},
      {"crc64nvme_portable", [](std::string_view d) { return c::Crc64NvmeUpdatePortable(0, d); }},
      {"sha256", [](std::string_view d) { return uint64_t(c::Sha256Hex(d).size()); }},
      {"md5", [](std::string_view d) { return uint64_t(c::Md5Raw(d).size()); }},
  };
  std::string line = "{\"mib\":" + std::to_string(mib);
  for (const auto& [name, f] : cases) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ",\"%s_gbps\":%.2f", name.c_str(), BestGbPerSecond(data, rounds, f));
    line += buf;
  }
  std::printf("%s}\n", line.c_str());
  return 0;
}
