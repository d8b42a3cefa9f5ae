#pragma once
// Test helpers for the object store: a temp directory, a fault-injecting
// FileSystem wrapper, and S3Harness, which drives the real service through
// fake request bodies and response writers on a private io_context — the
// service cannot tell it from the edge.

#include <utility>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/auth/principal.h"
#include "appliance/http/exchange.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/os/clock.h"
#include "appliance/os/file_system.h"
#include "appliance/service/service.h"
#include "services/objectstore/object_store_service.h"

namespace annex::objectstore::testing {

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Wraps the real filesystem; each failure switch makes the next matching
// call fail the way the disk would.
class FaultyFileSystem final : public os::FileSystem {
 public:
  std::atomic<bool> fail_append{false};  // ENOSPC
  std::atomic<bool> fail_sync{false};    // EIO on fdatasync
  std::atomic<bool> fail_rename{false};
  std::atomic<bool> fail_sync_dir{false};

  Result<os::WritableFilePtr> NewWritableFile(const std::string& path, unsigned mode) override;
  Result<os::RandomAccessFilePtr> OpenForRead(const std::string& path) override {
    return os::PosixFileSystem().OpenForRead(path);
  }
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Status Remove(const std::string& path) override { return os::PosixFileSystem().Remove(path); }
  Status CreateDirs(const std::string& path) override { return os::PosixFileSystem().CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return os::PosixFileSystem().ListDir(path);
  }
  bool Exists(const std::string& path) override { return os::PosixFileSystem().Exists(path); }
};

// Every regular file below `dir`, as paths relative to it.
std::vector<std::string> ListFilesRecursive(const std::string& dir);

struct TestResponse {
  int status = 0;
  http::Headers headers;
  std::string body;
  Status handler_status;  // what Handle() returned
  std::string operation;

  const std::string& Header(std::string_view name) const;
  // The <Code> of an S3 error body, or "".
  std::string ErrorCode() const;
};

struct TestRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  http::Headers trailers;
  size_t body_piece = 7919;  // the body arrives in pieces of this size
};

class S3Harness {
 public:
  // Opens the service on `dir` (a TempDir path) with `fs` (null: real FS).
  explicit S3Harness(const std::string& dir, os::FileSystem* fs = nullptr, size_t inline_threshold = 1024);
  ~S3Harness();

  // Re-opens the service on the same directory (a restart).
  void Reopen();
  void Close();

  TestResponse Send(const TestRequest& request);
  TestResponse Send(std::string method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {});

  // Runs all requests at once on one io_context served by two threads, as
  // the edge would; responses come back in request order.
  std::vector<TestResponse> SendConcurrently(const std::vector<TestRequest>& requests);

  void ActAs(std::string account_id, std::string account_name);
  void ActAnonymous();

  service::Service& service() { return *service_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/objectstore"; }
  os::ManualClock& clock() { return clock_; }

 private:
  std::string dir_;
  os::FileSystem* fs_;
  size_t inline_threshold_;
  os::ManualClock clock_;
  os::BlockingPool pool_{2};
  auth::Principal principal_;
  std::unique_ptr<service::Service> service_;
};

// "bucket", "key" → a 5 MiB+ deterministic payload for multipart tests.
std::string Payload(size_t size, char seed = 'a');

}  // namespace annex::objectstore::testing
