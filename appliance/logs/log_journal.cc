#include "appliance/logs/log_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "appliance/crypto/checksum.h"
#include "appliance/store/record.h"

namespace annex::logs {
namespace {

constexpr std::string_view kMagic = "ANXLOGJ1";
constexpr uint64_t kRecordHeaderBytes = 8;
// Larger than any record the store writes (a batch is at most ~1 MiB of
// messages); a length beyond it is damage, not a record.
constexpr uint32_t kMaxPayloadBytes = 64u << 20;

Status PwriteAll(int fd, std::string_view data, uint64_t offset, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// Reads up to `n` bytes at `offset`; fewer only at the end of the file.
Result<std::string> PreadUpTo(int fd, uint64_t offset, size_t n, const std::string& path) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

}  // namespace

Result<std::unique_ptr<LogJournal>> LogJournal::Open(const std::string& path, uint64_t fresh_generation) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  std::unique_ptr<LogJournal> j(new LogJournal(path, fd));
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat " + path);
  ANNEX_ASSIGN_OR_RETURN(std::string header, PreadUpTo(fd, 0, kHeaderBytes, path));
  if (header.size() == kHeaderBytes && std::string_view(header).substr(0, kMagic.size()) == kMagic) {
    j->generation_ = store::ReadBigEndian64(std::string_view(header).substr(kMagic.size()));
    j->size_ = static_cast<uint64_t>(st.st_size);
    return j;
  }
  // New, or cut short while it was being started: it holds nothing acknowledged.
  ANNEX_RETURN_IF_ERROR(j->Rotate(fresh_generation));
  return j;
}

LogJournal::~LogJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Status LogJournal::WriteHeader(uint64_t generation) {
  std::string header(kMagic);
  store::AppendBigEndian64(header, generation);
  return PwriteAll(fd_, header, 0, path_);
}

Status LogJournal::Rotate(uint64_t generation) {
  ANNEX_RETURN_IF_ERROR(broken_);
  if (::ftruncate(fd_, 0) != 0) return Status::FromErrno(errno, "truncate " + path_);
  ANNEX_RETURN_IF_ERROR(WriteHeader(generation));
  if (::fdatasync(fd_) != 0) {
    broken_ = Status::FromErrno(errno, "fdatasync " + path_);
    return broken_;
  }
  generation_ = generation;
  size_ = kHeaderBytes;
  return Status::OK();
}

Status LogJournal::Replay(uint64_t from, const std::function<Status(std::string_view payload, uint64_t end)>& fn) {
  uint64_t offset = std::max(from, kHeaderBytes);
  while (offset < size_) {
    ANNEX_ASSIGN_OR_RETURN(std::string head, PreadUpTo(fd_, offset, kRecordHeaderBytes, path_));
    if (head.size() < kRecordHeaderBytes) break;
    uint32_t length = store::ReadBigEndian32(head);
    uint32_t crc = store::ReadBigEndian32(std::string_view(head).substr(4));
    if (length == 0 || length > kMaxPayloadBytes) break;
    ANNEX_ASSIGN_OR_RETURN(std::string payload, PreadUpTo(fd_, offset + kRecordHeaderBytes, length, path_));
    if (payload.size() < length || crypto::Crc32cUpdate(0, payload) != crc) break;
    uint64_t end = offset + kRecordHeaderBytes + length;
    ANNEX_RETURN_IF_ERROR(fn(payload, end));
    offset = end;
  }
  if (offset < size_) {
    // The damaged tail was never acknowledged; appends continue after the last good record.
    if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0) return Status::FromErrno(errno, "truncate " + path_);
    if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "fdatasync " + path_);
    size_ = offset;
  }
  return Status::OK();
}

Result<std::vector<uint64_t>> LogJournal::Append(const std::vector<std::string>& payloads) {
  ANNEX_RETURN_IF_ERROR(broken_);
  size_t total = 0;
  for (const auto& p : payloads) total += kRecordHeaderBytes + p.size();
  std::string buffer;
  buffer.reserve(total);
  std::vector<uint64_t> ends;
  ends.reserve(payloads.size());
  for (const auto& p : payloads) {
    if (p.empty() || p.size() > kMaxPayloadBytes) return Status::InvalidArgument("journal record of a bad size");
    store::AppendBigEndian32(buffer, static_cast<uint32_t>(p.size()));
    store::AppendBigEndian32(buffer, crypto::Crc32cUpdate(0, p));
    buffer.append(p);
    ends.push_back(size_ + buffer.size());
  }
  Status written = PwriteAll(fd_, buffer, size_, path_);
  if (!written.ok()) {
    // A short write (a full disk) must not leave half a record for the next one to follow.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) broken_ = Status::FromErrno(errno, "truncate " + path_);
    return written;
  }
  if (::fdatasync(fd_) != 0) {
    broken_ = Status::FromErrno(errno, "fdatasync " + path_);
    return broken_;
  }
  size_ += buffer.size();
  return ends;
}

}  // namespace annex::logs
