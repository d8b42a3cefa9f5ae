#pragma once
// Test helpers: image layers built in memory with libarchive's writer, and
// an in-memory os::RandomAccessFile to hand them to the unpacker.

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "appliance/os/file_system.h"

namespace annex::registry::testing {

enum class Compression { kNone, kGzip, kZstd };

class MemoryFile : public os::RandomAccessFile {
 public:
  explicit MemoryFile(std::string data) : data_(std::move(data)) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<char> buf) const override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min(buf.size(), data_.size() - static_cast<size_t>(offset));
    std::memcpy(buf.data(), data_.data() + offset, n);
    return n;
  }
  uint64_t Size() const override { return data_.size(); }

 private:
  std::string data_;
};

class LayerBuilder {
 public:
  LayerBuilder& Dir(std::string path, unsigned mode = 0755, int64_t uid = 0, int64_t gid = 0) {
    return Add({std::move(path), AE_IFDIR, mode, uid, gid});
  }
  LayerBuilder& File(std::string path, std::string content, unsigned mode = 0644, int64_t uid = 0,
                     int64_t gid = 0) {
    Entry e{std::move(path), AE_IFREG, mode, uid, gid};
    e.content = std::move(content);
    return Add(std::move(e));
  }
  LayerBuilder& Symlink(std::string path, std::string target) {
    Entry e{std::move(path), AE_IFLNK, 0777, 0, 0};
    e.link = std::move(target);
    return Add(std::move(e));
  }
  LayerBuilder& HardLink(std::string path, std::string target) {
    Entry e{std::move(path), AE_IFREG, 0644, 0, 0};
    e.link = std::move(target);
    e.hard = true;
    return Add(std::move(e));
  }
  LayerBuilder& Special(std::string path, unsigned type) { return Add({std::move(path), type, 0644, 0, 0}); }
  // A whiteout for `path` ("a/b" → "a/.wh.b").
  LayerBuilder& Whiteout(const std::string& path) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    return File(dir + ".wh." + path.substr(slash == std::string::npos ? 0 : slash + 1), "");
  }
  LayerBuilder& Opaque(const std::string& dir) { return File(dir + "/.wh..wh..opq", ""); }
  LayerBuilder& Xattr(std::string name, std::string value) {
    entries_.back().xattrs.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  LayerBuilder& Mtime(time_t t) {
    entries_.back().mtime = t;
    return *this;
  }

  // The uncompressed tar.
  std::string Tar() const { return Write(Compression::kNone); }
  std::string Write(Compression c) const {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
    if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);  // no padding after a compressed stream
    archive_write_open(a, &out, nullptr, &Append, nullptr);
    for (const Entry& e : entries_) WriteEntry(a, e);
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

 private:
  struct Entry {
    std::string path;
    unsigned type;
    unsigned mode;
    int64_t uid;
    int64_t gid;
    std::string content = {};
    std::string link = {};
    bool hard = false;
    time_t mtime = 1700000000;
    std::vector<std::pair<std::string, std::string>> xattrs = {};
  };
  LayerBuilder& Add(Entry e) {
    entries_.push_back(std::move(e));
    return *this;
  }
  static la_ssize_t Append(archive*, void* data, const void* buf, size_t n) {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  static void WriteEntry(archive* a, const Entry& e) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.mode);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, e.mtime, 0);
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(ae, makedev(1, 3));
    if (e.hard) {
      archive_entry_set_hardlink(ae, e.link.c_str());
    } else if (e.type == AE_IFLNK) {
      archive_entry_set_symlink(ae, e.link.c_str());
    }
    for (const auto& [name, value] : e.xattrs) {
      archive_entry_xattr_add_entry(ae, name.c_str(), value.data(), value.size());
    }
    archive_entry_set_size(ae, e.hard ? 0 : static_cast<la_int64_t>(e.content.size()));
    archive_write_header(a, ae);
    if (!e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(ae);
  }

  std::vector<Entry> entries_;
};

}  // namespace annex::registry::testing
