#include "appliance/daemon/body_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

#include "appliance/core/co_status.h"
#include "appliance/crypto/hash.h"
#include "appliance/http/api_error.h"

namespace annex::daemon {
namespace {

constexpr size_t kChunk = 1 << 20;

// An open descriptor with no name: O_TMPFILE, else mkstemp and unlink.
Result<int> OpenUnnamed(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string tmpl = dir + "/body-XXXXXX";
  fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "create a spool file in " + dir);
  ::unlink(tmpl.c_str());
  return fd;
}

Status WriteAll(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "write spool file");
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// Closes the descriptor unless handed on.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

class SpoolReader final : public http::BodyReader {
 public:
  SpoolReader(int fd, uint64_t size, os::BlockingPool& pool) : fd_(fd), size_(size), pool_(pool) {}
  ~SpoolReader() override { ::close(fd_); }

  http::Task<Result<size_t>> Read(std::span<char> buf) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size_ - offset_));
    if (want == 0) co_return size_t{0};
    uint64_t at = offset_;
    int fd = fd_;
    ssize_t n =
        co_await pool_.Run([fd, buf, want, at] { return ::pread(fd, buf.data(), want, static_cast<off_t>(at)); });
    if (n <= 0) co_return Status::IOError("read spool file");
    offset_ += static_cast<uint64_t>(n);
    co_return static_cast<size_t>(n);
  }

 private:
  int fd_;
  uint64_t size_;
  uint64_t offset_ = 0;
  os::BlockingPool& pool_;
};

}  // namespace

http::Task<Result<SpooledBody>> SpoolBody(http::BodyReader& body, std::string dir, uint64_t limit,
                                          os::BlockingPool& pool) {
  ANNEX_CO_ASSIGN_OR_RETURN(int raw_fd, co_await pool.Run([&dir] { return OpenUnnamed(dir); }));
  OwnedFd file(raw_fd);
  int fd = file.get();
  crypto::Hasher sha256(crypto::HashKind::kSha256);
  std::vector<char> buf(kChunk);
  uint64_t size = 0;
  while (true) {
    // Fill the buffer, then write it in one go off the io thread.
    size_t filled = 0;
    bool done = false;
    while (filled < buf.size()) {
      ANNEX_CO_ASSIGN_OR_RETURN(size_t n,
                                co_await body.Read(std::span<char>(buf.data() + filled, buf.size() - filled)));
      if (n == 0) {
        done = true;
        break;
      }
      filled += n;
    }
    if (size + filled > limit) {
      co_return http::ApiStatus("RequestEntityTooLarge",
                                "Request must be smaller than " + std::to_string(limit) + " bytes");
    }
    sha256.Update(std::string_view(buf.data(), filled));
    const char* data = buf.data();
    uint64_t at = size;
    ANNEX_CO_RETURN_IF_ERROR(co_await pool.Run([fd, data, filled, at] { return WriteAll(fd, data, filled, at); }));
    size += filled;
    if (done) break;
  }
  SpooledBody out;
  out.sha256_hex = sha256.FinalHex();
  out.size = size;
  out.reader = std::make_unique<SpoolReader>(file.release(), size, pool);
  co_return out;
}

}  // namespace annex::daemon
