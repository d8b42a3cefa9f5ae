#pragma once
// The platform this appliance runs, named as images name platforms (the OCI
// image index's os/architecture/variant, GOARCH spelling: amd64, arm64, …).
// The one default for every choice among an index's children: the image
// store's root filesystems and the export of an index alike.

#include <string>

namespace annex::registry {

struct Platform {
  std::string os = "linux";
  std::string architecture;  // GOARCH: amd64, arm64, arm, 386, riscv64, ppc64le, s390x
  std::string variant;       // empty: any
};

// This build's platform (the appliance runs the binary built for it).
const Platform& HostPlatform();

// "os/arch[/variant]".
std::string PlatformName(const Platform& p);

}  // namespace annex::registry
