#include "appliance/core/log_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "appliance/core/log.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::log {
namespace {

namespace fs = std::filesystem;

class RotatingLogFileTest : public ::testing::Test {
 protected:

  std::unique_ptr<RotatingLogFile> Open(uint64_t max_bytes, unsigned files) {
    auto f = RotatingLogFile::Open({path_, max_bytes, files, /*preallocate=*/true, /*capture_stderr=*/false});
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::string Line(int i) {
    std::string s = "line " + std::to_string(i) + " ";
    s.resize(99, 'x');
    return s + "\n";  // 100 bytes
  }

  annex::testing::TempDir tmp_;
  fs::path dir_ = tmp_.path();
  std::string path_ = (dir_ / "log" / "annexd.log").string();
};

TEST_F(RotatingLogFileTest, AppendsAndCreatesTheDirectory) {
  auto f = Open(4096, 2);
  f->Write("one\n");
  f->Write("two\n");
  EXPECT_EQ(Read(path_), "one\ntwo\n");
  EXPECT_FALSE(fs::exists(path_ + ".1"));
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::others_all, fs::perms::none);
}

TEST_F(RotatingLogFileTest, RotatesBeforeALineWouldNotFitAndKeepsOnlyTheNewest) {
  auto f = Open(4096, 3);
  for (int i = 0; i < 200; ++i) f->Write(Line(i));  // 20000 bytes: 4096 holds 40 lines
  for (const auto& p : {path_, path_ + ".1", path_ + ".2", path_ + ".3"}) {
    ASSERT_TRUE(fs::exists(p)) << p;
    EXPECT_LE(fs::file_size(p), 4096u) << p;
  }
  EXPECT_FALSE(fs::exists(path_ + ".4"));
  // The newest lines are in PATH, the ones before them in PATH.1, and so on.
  EXPECT_EQ(Read(path_ + ".1").substr(0, 100), Line(120));
  EXPECT_EQ(Read(path_).substr(0, 100), Line(160));
  std::string current = Read(path_);
  EXPECT_EQ(current.substr(current.size() - 100), Line(199));
  // Whole lines only, in every file.
  for (const auto& p : {path_, path_ + ".1", path_ + ".2", path_ + ".3"}) EXPECT_EQ(fs::file_size(p) % 100, 0u);
  EXPECT_EQ(f->dropped(), 0u);
}

TEST_F(RotatingLogFileTest, TheLogsNeverTakeMoreThanTheirCap) {
  auto f = Open(4096, 2);
  for (int i = 0; i < 5000; ++i) f->Write(Line(i));
  uint64_t total = 0, allocated = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "log")) {
    total += fs::file_size(e.path());
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    allocated += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  EXPECT_LE(total, 3u * 4096);
  // Preallocation reserves at most max_bytes per file (plus a block of rounding).
  EXPECT_LE(allocated, 3u * (4096 + 4096));
}

TEST_F(RotatingLogFileTest, ContinuesAnExistingFileAndRotatesAFullOne) {
  {
    auto f = Open(4096, 2);
    f->Write("before restart\n");
  }
  {
    auto f = Open(4096, 2);
    f->Write("after restart\n");
  }
  EXPECT_EQ(Read(path_), "before restart\nafter restart\n");
  {
    std::ofstream(path_, std::ios::app) << std::string(5000, 'z') << "\n";
    auto f = Open(4096, 2);
    f->Write("fresh\n");
  }
  EXPECT_EQ(Read(path_), "fresh\n");
  EXPECT_EQ(fs::file_size(path_ + ".1"), 29u + 5001u);
}

TEST_F(RotatingLogFileTest, CutsALineLongerThanAFile) {
  auto f = Open(4096, 1);
  f->Write(std::string(10000, 'a') + "\n");
  std::string got = Read(path_);
  EXPECT_EQ(got.size(), 4096u);
  EXPECT_EQ(got.back(), '\n');
}

TEST_F(RotatingLogFileTest, RejectsLimitsOutOfRange) {
  EXPECT_FALSE(RotatingLogFile::Open({path_, 100, 2, true, false}).ok());
  EXPECT_FALSE(RotatingLogFile::Open({path_, 4096, 0, true, false}).ok());
  EXPECT_FALSE(RotatingLogFile::Open({"", 4096, 2, true, false}).ok());
}

TEST_F(RotatingLogFileTest, ConcurrentWritersLoseAndTearNoLine) {
  auto f = Open(64 * 1024, 50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < 500; ++i) f->Write(Line(t * 1000 + i));
    });
  }
  for (auto& t : threads) t.join();
  size_t lines = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "log")) {
    std::ifstream in(e.path());
    for (std::string l; std::getline(in, l); ++lines) ASSERT_EQ(l.size(), 99u) << l;
  }
  EXPECT_EQ(lines, 2000u);
}

TEST_F(RotatingLogFileTest, AnnexLogWritesThroughTheInstalledFile) {
  auto f = Open(4096, 1);
  LogToFile(f.get());
  Info("hello from the logger", {{"k", "v"}});
  LogToFile(nullptr);
  Info("back on stderr");
  std::string got = Read(path_);
  EXPECT_NE(got.find("info \"hello from the logger\" k=v\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("back on stderr"), std::string::npos);
}

}  // namespace
}  // namespace annex::log
