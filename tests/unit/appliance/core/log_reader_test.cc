#include "appliance/core/log_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "appliance/core/log_file.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::log {
namespace {

namespace fs = std::filesystem;

class LogReaderTest : public ::testing::Test {
 protected:

  static std::string Line(int i) {
    std::string s = "line " + std::to_string(i) + " ";
    s.resize(99, 'x');
    return s + "\n";  // 100 bytes
  }

  annex::testing::TempDir tmp_;
  fs::path dir_ = tmp_.path();
  std::string path_ = (dir_ / "annexd.log").string();
};

TEST_F(LogReaderTest, LastLinesSpanRotatedFiles) {
  auto f = RotatingLogFile::Open({path_, 4096, 3, false, false});
  ASSERT_TRUE(f.ok());
  for (int i = 0; i < 100; ++i) (*f)->Write(Line(i));  // 40 lines a file: PATH.2, PATH.1 full, PATH has 20
  auto last = LastLogLines(path_, 5);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 5u);
  EXPECT_EQ(last->front(), Line(95));
  EXPECT_EQ(last->back(), Line(99));
  auto many = LastLogLines(path_, 70);
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 70u);
  EXPECT_EQ(many->front(), Line(30));  // from PATH.1
  auto all = LastLogLines(path_, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100u);
  EXPECT_EQ(all->front(), Line(0));
}

TEST_F(LogReaderTest, MissingLogIsNotFound) {
  EXPECT_EQ(LastLogLines(path_, 5).status().code(), StatusCode::kNotFound);
}

TEST_F(LogReaderTest, AnUnfinishedLastLineIsKept) {
  std::ofstream(path_) << "a\nb";
  auto last = LastLogLines(path_, 5);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, (std::vector<std::string>{"a\n", "b"}));
}

TEST_F(LogReaderTest, FollowerSeesAppendsAndFollowsRotation) {
  auto f = RotatingLogFile::Open({path_, 4096, 2, false, false});
  ASSERT_TRUE(f.ok());
  (*f)->Write("before the follower\n");
  LogFollower follower(path_);
  std::string seen;
  auto collect = [&seen](std::string_view chunk) { seen.append(chunk); };
  follower.Poll(collect);
  EXPECT_EQ(seen, "");
  (*f)->Write(Line(1));
  follower.Poll(collect);
  EXPECT_EQ(seen, Line(1));
  seen.clear();
  // Enough to rotate between two polls: the old file's rest, then the new one.
  std::string want;
  for (int i = 2; i < 40 + 2; ++i) {
    (*f)->Write(Line(i));
    want += Line(i);
  }
  follower.Poll(collect);
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace annex::log
