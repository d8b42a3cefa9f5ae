#include "services/registry/host_platform.h"

namespace annex::registry {
namespace {

// GOARCH's name for the architecture this file is compiled for.
constexpr const char* kArchitecture =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__arm__)
    "arm";
#elif defined(__i386__)
    "386";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    "ppc64le";
#elif defined(__s390x__)
    "s390x";
#else
#error "unknown architecture: add its GOARCH name"
#endif

}  // namespace

const Platform& HostPlatform() {
  static const Platform* host = new Platform{"linux", kArchitecture, ""};  // never destroyed
  return *host;
}

std::string PlatformName(const Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

}  // namespace annex::registry
