#include "tests/unit/power_cut/power_cut.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace annex::testing::power_cut {
namespace {

// One journal entry. kWrite carries the bytes the write is about to
// overwrite; kDurable marks a write through an O_DSYNC descriptor; kSync
// says every earlier entry (index < covers) of its file is on disk.
enum class Kind : char { kWrite = 'W', kDurable = 'D', kSync = 'S' };

struct Header {
  Kind kind;
  uint64_t dev, ino;  // the file, wherever a rename takes it
  uint32_t path_len;
  uint64_t offset;
  uint64_t length;    // bytes written
  uint64_t old_size;  // file size before the write
  uint64_t saved;     // bytes of old contents that follow the path
  uint64_t covers;    // kSync: entries with a smaller index are durable
};

template <typename F>
F Real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

using WriteFn = ssize_t (*)(int, const void*, size_t);
using PwriteFn = ssize_t (*)(int, const void*, size_t, off_t);
using WritevFn = ssize_t (*)(int, const struct iovec*, int);
using SyncFn = int (*)(int);

WriteFn real_write() { static WriteFn f = Real<WriteFn>("write"); return f; }
PwriteFn real_pwrite() { static PwriteFn f = Real<PwriteFn>("pwrite"); return f; }
WritevFn real_writev() { static WritevFn f = Real<WritevFn>("writev"); return f; }
SyncFn real_fsync() { static SyncFn f = Real<SyncFn>("fsync"); return f; }
SyncFn real_fdatasync() { static SyncFn f = Real<SyncFn>("fdatasync"); return f; }

std::atomic<bool> g_armed{false};
std::mutex g_mu;
std::string g_dir;
int g_journal_fd = -1;
uint64_t g_entries = 0;  // under g_mu
thread_local bool t_inside = false;

// The path of `fd` when it is a regular file under the armed directory.
bool Tracked(int fd, std::string* path) {
  if (!g_armed.load(std::memory_order_acquire) || t_inside) return false;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  char buf[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf));
  if (n <= 0) return false;
  path->assign(buf, static_cast<size_t>(n));
  return path->compare(0, g_dir.size(), g_dir) == 0;
}

void Append(const Header& h, const std::string& path, const char* saved) {
  std::string rec(reinterpret_cast<const char*>(&h), sizeof(h));
  rec += path;
  if (h.saved > 0) rec.append(saved, h.saved);
  // One write per entry: a kill mid-way leaves a short last entry, which
  // Apply ignores (the write it describes had not started).
  const char* p = rec.data();
  size_t left = rec.size();
  while (left > 0) {
    ssize_t n = real_write()(g_journal_fd, p, left);
    if (n <= 0 && errno != EINTR) std::abort();
    if (n > 0) p += n, left -= static_cast<size_t>(n);
  }
}

// Journals what a write of `length` bytes at `offset` is about to overwrite.
void BeforeWrite(int fd, const std::string& path, uint64_t offset, uint64_t length) {
  t_inside = true;
  struct stat st;
  ::fstat(fd, &st);
  uint64_t old_size = static_cast<uint64_t>(st.st_size);
  bool durable = (::fcntl(fd, F_GETFL) & O_DSYNC) == O_DSYNC;
  Header h{};
  h.kind = durable ? Kind::kDurable : Kind::kWrite;
  h.dev = st.st_dev;
  h.ino = st.st_ino;
  h.path_len = static_cast<uint32_t>(path.size());
  h.offset = offset;
  h.length = length;
  h.old_size = old_size;
  std::string saved;
  if (!durable && offset < old_size) {
    saved.resize(std::min(length, old_size - offset));
    int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t n = rfd >= 0 ? ::pread(rfd, saved.data(), saved.size(), static_cast<off_t>(offset)) : -1;
    if (rfd >= 0) ::close(rfd);
    saved.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  h.saved = saved.size();
  {
    std::lock_guard lock(g_mu);
    Append(h, path, saved.data());
    ++g_entries;
  }
  t_inside = false;
}

uint64_t CurrentOffset(int fd) {
  if (::fcntl(fd, F_GETFL) & O_APPEND) {
    struct stat st;
    ::fstat(fd, &st);
    return static_cast<uint64_t>(st.st_size);
  }
  off_t off = ::lseek(fd, 0, SEEK_CUR);
  return off < 0 ? 0 : static_cast<uint64_t>(off);
}

int Sync(SyncFn real, int fd) {
  std::string path;
  if (!Tracked(fd, &path)) return real(fd);
  uint64_t covers;
  {
    std::lock_guard lock(g_mu);
    covers = g_entries;
  }
  int rc = real(fd);
  if (rc == 0) {
    t_inside = true;
    struct stat st;
    ::fstat(fd, &st);
    Header h{};
    h.kind = Kind::kSync;
    h.dev = st.st_dev;
    h.ino = st.st_ino;
    h.path_len = static_cast<uint32_t>(path.size());
    h.covers = covers;
    std::lock_guard lock(g_mu);
    Append(h, path, nullptr);
    ++g_entries;
    t_inside = false;
  }
  return rc;
}

struct Entry {
  Header h;
  std::string path;
  std::string saved;
};

// Restores `e`'s saved bytes except where a later durable write landed.
Status Restore(const Entry& e, const std::string& path, const std::vector<std::pair<uint64_t, uint64_t>>& durable) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  for (uint64_t i = 0; i < e.saved.size(); ++i) {
    uint64_t at = e.h.offset + i;
    bool covered = std::any_of(durable.begin(), durable.end(),
                               [&](const auto& r) { return at >= r.first && at < r.second; });
    if (covered) continue;
    // Write the longest uncovered run starting here.
    uint64_t end = i + 1;
    while (end < e.saved.size() &&
           std::none_of(durable.begin(), durable.end(), [&](const auto& r) {
             return e.h.offset + end >= r.first && e.h.offset + end < r.second;
           })) {
      ++end;
    }
    if (::pwrite(fd, e.saved.data() + i, end - i, static_cast<off_t>(at)) != static_cast<ssize_t>(end - i)) {
      ::close(fd);
      return Status::FromErrno(errno, "pwrite " + path);
    }
    i = end - 1;
  }
  ::close(fd);
  return Status::OK();
}

}  // namespace

void Arm(const std::string& dir, const std::string& journal) {
  std::lock_guard lock(g_mu);
  g_dir = dir;
  g_journal_fd = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (g_journal_fd < 0) std::abort();
  g_entries = 0;
  g_armed.store(true, std::memory_order_release);
}

Result<size_t> Apply(const std::string& dir, const std::string& journal) {
  std::string data;
  {
    int fd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + journal);
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) data.append(buf, static_cast<size_t>(n));
    ::close(fd);
  }
  std::vector<Entry> entries;
  size_t pos = 0;
  while (pos + sizeof(Header) <= data.size()) {
    Entry e;
    std::memcpy(&e.h, data.data() + pos, sizeof(Header));
    size_t need = sizeof(Header) + e.h.path_len + e.h.saved;
    if (pos + need > data.size()) break;  // cut short by the kill
    e.path = data.substr(pos + sizeof(Header), e.h.path_len);
    e.saved = data.substr(pos + sizeof(Header) + e.h.path_len, e.h.saved);
    entries.push_back(std::move(e));
    pos += need;
  }
  // Where each file is now: it may have been renamed since it was written.
  using FileId = std::pair<uint64_t, uint64_t>;
  std::map<FileId, std::string> paths;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) paths[{st.st_dev, st.st_ino}] = it->path();
  }
  // Per file: entries from the last sync's coverage on were never made durable.
  std::map<FileId, uint64_t> durable_before;
  for (const auto& e : entries) {
    if (e.h.kind == Kind::kSync) {
      uint64_t& before = durable_before[{e.h.dev, e.h.ino}];
      before = std::max(before, e.h.covers);
    }
  }
  std::map<FileId, std::vector<std::pair<uint64_t, uint64_t>>> durable_ranges;
  std::map<FileId, uint64_t> size_before;
  size_t undone = 0;
  for (size_t i = entries.size(); i-- > 0;) {
    const Entry& e = entries[i];
    FileId id{e.h.dev, e.h.ino};
    if (e.h.kind == Kind::kSync || i < durable_before[id]) continue;
    auto where = paths.find(id);
    if (where == paths.end()) continue;  // removed since: nothing to put back
    auto& ranges = durable_ranges[id];
    if (e.h.kind == Kind::kDurable) {
      ranges.emplace_back(e.h.offset, e.h.offset + e.h.length);
      continue;
    }
    ANNEX_RETURN_IF_ERROR(Restore(e, where->second, ranges));
    size_before[id] = e.h.old_size;  // the oldest undone write's view wins
    ++undone;
  }
  for (const auto& [id, size] : size_before) {
    uint64_t keep = size;
    for (const auto& r : durable_ranges[id]) keep = std::max(keep, r.second);
    const std::string& path = paths[id];
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) return Status::FromErrno(errno, "truncate " + path);
  }
  return undone;
}

}  // namespace annex::testing::power_cut

// The interposers. Defined in the executable, they come before libc for
// every library the binary loads.
extern "C" ssize_t write(int fd, const void* buf, size_t n) {
  std::string path;
  if (annex::testing::power_cut::Tracked(fd, &path)) {
    annex::testing::power_cut::BeforeWrite(fd, path, annex::testing::power_cut::CurrentOffset(fd), n);
  }
  return annex::testing::power_cut::real_write()(fd, buf, n);
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  std::string path;
  if (annex::testing::power_cut::Tracked(fd, &path)) {
    annex::testing::power_cut::BeforeWrite(fd, path, static_cast<uint64_t>(offset), n);
  }
  return annex::testing::power_cut::real_pwrite()(fd, buf, n, offset);
}

extern "C" ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) { return pwrite(fd, buf, n, offset); }

extern "C" ssize_t writev(int fd, const struct iovec* iov, int count) {
  std::string path;
  if (annex::testing::power_cut::Tracked(fd, &path)) {
    uint64_t total = 0;
    for (int i = 0; i < count; ++i) total += iov[i].iov_len;
    annex::testing::power_cut::BeforeWrite(fd, path, annex::testing::power_cut::CurrentOffset(fd), total);
  }
  return annex::testing::power_cut::real_writev()(fd, iov, count);
}

extern "C" int fsync(int fd) {
  return annex::testing::power_cut::Sync(annex::testing::power_cut::real_fsync(), fd);
}

extern "C" int fdatasync(int fd) {
  return annex::testing::power_cut::Sync(annex::testing::power_cut::real_fdatasync(), fd);
}
