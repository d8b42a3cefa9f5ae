#include "appliance/os/file_system.h"

#include "appliance/os/aligned_buffer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/unit/testing/temp_dir.h"

namespace annex::os {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  annex::testing::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
};

TEST_F(FileSystemTest, WriteFileAtomicReplacesAndKeepsMode) {
  FileSystem& fs = PosixFileSystem();
  std::string path = dir_ + "/secret";
  ASSERT_TRUE(WriteFileAtomic(fs, path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(fs, path, "two", 0600).ok());
  EXPECT_EQ(*ReadFileToString(fs, path), "two");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files are left behind.
  EXPECT_EQ(fs.ListDir(dir_)->size(), 1u);
}

TEST_F(FileSystemTest, NewWritableFileRefusesToOverwrite) {
  FileSystem& fs = PosixFileSystem();
  auto f = fs.NewWritableFile(dir_ + "/x", 0644);
  ASSERT_TRUE(f.ok());
  auto again = fs.NewWritableFile(dir_ + "/x", 0644);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

// Aligned appends bypass the page cache, an unaligned tail and an unaligned
// source fall back to it; the file reads back byte-exact either way.
TEST_F(FileSystemTest, BypassCacheWritesAlignedAndUnalignedBytes) {
  FileSystem& fs = PosixFileSystem();
  AlignedBuffer block;
  block.reserve(2 * kDirectIoAlignment);
  std::string pattern;
  for (size_t i = 0; i < 2 * kDirectIoAlignment; ++i) pattern.push_back(static_cast<char>('a' + i % 26));
  block.append(pattern);
  auto f = fs.NewWritableFile(dir_ + "/direct", 0644, WriteCaching::kBypassCache);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(block.view()).ok());
  ASSERT_TRUE((*f)->Append("tail").ok());
  ASSERT_TRUE((*f)->Append(block.view().substr(1, 100)).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(*ReadFileToString(fs, dir_ + "/direct"), pattern + "tail" + pattern.substr(1, 100));
}

TEST_F(FileSystemTest, ReadAtOffsets) {
  FileSystem& fs = PosixFileSystem();
  ASSERT_TRUE(WriteFileAtomic(fs, dir_ + "/f", "0123456789").ok());
  auto f = fs.OpenForRead(dir_ + "/f");
  ASSERT_TRUE(f.ok());
  char buf[4];
  EXPECT_EQ(*(*f)->ReadAt(3, buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "3456");
  EXPECT_EQ(*(*f)->ReadAt(10, buf), 0u);
  EXPECT_EQ(fs.OpenForRead(dir_ + "/missing").status().code(), StatusCode::kNotFound);
}

TEST(Paths, DirNameAndJoin) {
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(JoinPath("/a/", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
}

}  // namespace
}  // namespace annex::os

#include "appliance/os/fault_injection_file_system.h"

namespace annex::os {
namespace {

TEST_F(FileSystemTest, FaultInjectionFailsWritesSyncsAndRenames) {
  FaultInjectionFileSystem fs(PosixFileSystem());
  fs.FailWritesAfterBytes(4);
  auto f = fs.NewWritableFile(dir_ + "/a", 0644);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("abcd").ok());
  EXPECT_EQ((*f)->Append("e").code(), StatusCode::kResourceExhausted);
  fs.FailWritesAfterBytes(-1);
  fs.FailSyncs(true);
  EXPECT_EQ((*f)->Sync().code(), StatusCode::kIOError);
  // WriteFileAtomic cleans up its temporary file when the sync fails.
  EXPECT_FALSE(WriteFileAtomic(fs, dir_ + "/b", "x").ok());
  EXPECT_FALSE(fs.Exists(dir_ + "/b"));
  fs.FailSyncs(false);
  fs.FailRenames(true);
  EXPECT_FALSE(WriteFileAtomic(fs, dir_ + "/b", "x").ok());
  EXPECT_EQ(fs.ListDir(dir_)->size(), 1u);  // only "a": no temp files left
}

// A power cut keeps only what was made durable: synced bytes of files whose
// directory entry was synced, and renames whose directory was synced.
TEST_F(FileSystemTest, PowerLossDropsWhatWasNotSynced) {
  FaultInjectionFileSystem fs(PosixFileSystem());
  std::string sub = dir_ + "/sub";  // never synced after the setup below
  ASSERT_TRUE(fs.CreateDirs(sub).ok());
  ASSERT_TRUE(WriteFileAtomic(fs, sub + "/c", "old").ok());
  auto a = fs.NewWritableFile(dir_ + "/a", 0644);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->Append("synced").ok());
  ASSERT_TRUE((*a)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir(dir_).ok());
  ASSERT_TRUE((*a)->Append(" and not").ok());
  // Written and synced, but its directory entry never was.
  auto b = fs.NewWritableFile(sub + "/b", 0644);
  ASSERT_TRUE((*b)->Append("lost").ok());
  ASSERT_TRUE((*b)->Sync().ok());
  // Durable, then replaced by a rename nobody made durable.
  auto tmp = fs.NewWritableFile(sub + "/c.tmp", 0644);
  ASSERT_TRUE((*tmp)->Append("new").ok());
  ASSERT_TRUE((*tmp)->Sync().ok());
  ASSERT_TRUE(fs.Rename(sub + "/c.tmp", sub + "/c").ok());
  // Made durable the whole way: a temp file elsewhere, renamed into dir_, dir_ synced.
  auto d = fs.NewWritableFile(sub + "/d.tmp", 0644);
  ASSERT_TRUE((*d)->Append("kept").ok());
  ASSERT_TRUE((*d)->Sync().ok());
  ASSERT_TRUE(fs.Rename(sub + "/d.tmp", dir_ + "/d").ok());
  ASSERT_TRUE(fs.SyncDir(dir_).ok());
  EXPECT_EQ(*ReadFileToString(fs, sub + "/c"), "new");

  fs.SimulatePowerLoss();
  EXPECT_EQ((*a)->Append("x").code(), StatusCode::kIOError);
  EXPECT_FALSE(fs.OpenForRead(dir_ + "/a").ok());
  fs.Restart();

  EXPECT_EQ(*ReadFileToString(fs, dir_ + "/a"), "synced");
  EXPECT_FALSE(fs.Exists(sub + "/b"));
  EXPECT_EQ(*ReadFileToString(fs, sub + "/c"), "old");
  EXPECT_FALSE(fs.Exists(sub + "/c.tmp")) << "created in a directory never synced since";
  EXPECT_EQ(*ReadFileToString(fs, dir_ + "/d"), "kept");
}

}  // namespace
}  // namespace annex::os
