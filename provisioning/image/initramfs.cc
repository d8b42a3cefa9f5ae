#include "provisioning/image/initramfs.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

namespace annex::image {
namespace {

void Pad4(std::string& out) {
  while (out.size() % 4) out.push_back('\0');
}

void AppendEntry(std::string& out, uint32_t ino, uint32_t mode, uint32_t nlink, int64_t mtime, const std::string& name,
                 std::string_view data) {
  char header[111];
  std::snprintf(header, sizeof(header), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u,
                nlink, static_cast<uint32_t>(mtime), static_cast<uint32_t>(data.size()), 0u, 0u, 0u, 0u,
                static_cast<uint32_t>(name.size() + 1), 0u);
  out.append(header, 110);
  out.append(name);
  out.push_back('\0');
  Pad4(out);
  out.append(data);
  Pad4(out);
}

Result<std::string> Gzip(const std::string& data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper with no name and mtime 0.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return Status::Internal("deflateInit2");
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("gzip of the initramfs failed");
  return out;
}

}  // namespace

Result<std::string> BuildInitramfs(const std::string& root_dir, int64_t mtime) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    paths.push_back(it->path().lexically_relative(root_dir).string());
  }
  if (ec) return Status::IOError("cannot list " + root_dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());

  std::string archive;
  uint32_t ino = 1;
  for (const auto& rel : paths) {
    std::string full = root_dir + "/" + rel;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + full);
    uint32_t perm = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      AppendEntry(archive, ino++, S_IFDIR | perm, 2, mtime, rel, {});
    } else if (S_ISLNK(st.st_mode)) {
      std::string target = fs::read_symlink(full, ec).string();
      if (ec) return Status::IOError("readlink " + full + ": " + ec.message());
      AppendEntry(archive, ino++, S_IFLNK | 0777, 1, mtime, rel, target);
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(full, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), {});
      if (!in.good() && !in.eof()) return Status::IOError("read " + full);
      AppendEntry(archive, ino++, S_IFREG | perm, 1, mtime, rel, data);
    } else {
      return Status::InvalidArgument("unsupported file type in initramfs tree: " + full);
    }
  }
  AppendEntry(archive, 0, 0, 1, 0, "TRAILER!!!", {});
  return Gzip(archive);
}

}  // namespace annex::image
