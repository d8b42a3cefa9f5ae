#pragma once
// Debian packages the image is built from (kernel, busybox, systemd-boot),
// fetched once with `apt-get download` into a cache directory and unpacked
// with dpkg-deb. A warm cache builds offline.

#include <string>

#include "appliance/core/result.h"

namespace annex::image {

class PackageCache {
 public:
  explicit PackageCache(std::string dir);

  // The unpacked root of `package` (downloading it if no .deb of it is cached).
  Result<std::string> Unpacked(const std::string& package);
  // The versioned kernel image package that linux-image-amd64 depends on
  // (a cached one is used as it is).
  Result<std::string> UnpackedKernel();
  // How many packages this cache had to download so far.
  int downloads() const { return downloads_; }

 private:
  Result<std::string> CachedDeb(const std::string& prefix) const;
  Result<std::string> Download(const std::string& package);
  Result<std::string> Unpack(const std::string& deb);

  std::string dir_;
  int downloads_ = 0;
  bool lists_refreshed_ = false;
};

}  // namespace annex::image
