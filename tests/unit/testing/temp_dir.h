#pragma once
// TempDir: a fresh directory under /tmp for one test, removed with everything
// in it when the object goes away.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace annex::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/annex-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    if (!made) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace annex::testing
