#include "provisioning/image/package_cache.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "provisioning/image/subprocess.h"

namespace annex::image {

namespace fs = std::filesystem;

PackageCache::PackageCache(std::string dir) : dir_(std::move(dir)) {}

Result<std::string> PackageCache::CachedDeb(const std::string& prefix) const {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/debs", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".deb")) found.push_back(e.path().string());
  }
  if (found.empty()) return Status::NotFound(prefix);
  std::sort(found.begin(), found.end());
  return found.back();
}

Result<std::string> PackageCache::Download(const std::string& package) {
  std::error_code ec;
  fs::create_directories(dir_ + "/debs", ec);
  if (ec) return Status::IOError("cannot create " + dir_ + "/debs: " + ec.message());
  Command cmd{{"apt-get", "download", "-q", package}, {}, {}, dir_ + "/debs"};
  auto out = Run(cmd);
  if (!out.ok() && !lists_refreshed_ && ::geteuid() == 0) {
    // A machine whose package lists were never fetched knows no packages yet.
    lists_refreshed_ = true;
    if (Run({"apt-get", "update", "-qq"}).ok()) out = Run(cmd);
  }
  if (!out.ok()) {
    return Status::Unavailable("cannot download Debian package " + package + " (" + out.status().message() +
                               "); run `apt-get update` or pre-fill the cache " + dir_);
  }
  ++downloads_;
  return CachedDeb(package + "_");
}

Result<std::string> PackageCache::Unpack(const std::string& deb) {
  std::string root = dir_ + "/unpacked/" + fs::path(deb).stem().string();
  if (fs::exists(root + "/.complete")) return root;
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root, ec);
  if (ec) return Status::IOError("cannot create " + root + ": " + ec.message());
  ANNEX_RETURN_IF_ERROR(Run({"dpkg-deb", "-x", deb, root}).status());
  // Marks a finished unpack, so an interrupted one is redone.
  ANNEX_RETURN_IF_ERROR(Run({"touch", root + "/.complete"}).status());
  return root;
}

Result<std::string> PackageCache::Unpacked(const std::string& package) {
  auto deb = CachedDeb(package + "_");
  if (!deb.ok()) deb = Download(package);
  if (!deb.ok()) return deb.status();
  return Unpack(*deb);
}

Result<std::string> PackageCache::UnpackedKernel() {
  // linux-image-6.1.0-NN-amd64_<version>_amd64.deb; the metapackage itself is not it.
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/debs", ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("linux-image-") && !name.starts_with("linux-image-amd64") && name.ends_with(".deb")) {
      found.push_back(e.path().string());
    }
  }
  if (!found.empty()) {
    std::sort(found.begin(), found.end());
    return Unpack(found.back());
  }
  auto depends = Run({"apt-cache", "depends", "linux-image-amd64"});
  if (!depends.ok() && !lists_refreshed_ && ::geteuid() == 0) {
    lists_refreshed_ = true;
    if (Run({"apt-get", "update", "-qq"}).ok()) depends = Run({"apt-cache", "depends", "linux-image-amd64"});
  }
  if (!depends.ok()) return depends.status();
  const std::string& deps = *depends;
  size_t at = deps.find("Depends: linux-image-");
  if (at == std::string::npos) return Status::NotFound("apt-cache knows no kernel package for linux-image-amd64");
  size_t start = at + 9, end = deps.find_first_of(" \n", start);
  std::string package = deps.substr(start, end - start);
  ANNEX_ASSIGN_OR_RETURN(std::string deb, Download(package));
  return Unpack(deb);
}

}  // namespace annex::image
