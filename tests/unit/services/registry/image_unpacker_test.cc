#include "services/registry/image_unpacker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/crypto/hash.h"
#include "tests/unit/services/registry/image_layer_builder.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using testing::Compression;
using testing::LayerBuilder;
using testing::MemoryFile;
namespace fs = std::filesystem;

class ImageUnpackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/root";
    outside_ = tmp_.path() + "/outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
  }
  Result<LayerStats> Apply(const std::string& bytes, const UnpackLimits& limits = UnpackLimits()) {
    MemoryFile blob(bytes);
    return ApplyLayer(blob, root_, limits);
  }
  std::string Read(const std::string& rel) const {
    std::ifstream in(root_ + "/" + rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  struct stat Lstat(const std::string& rel) const {
    struct stat st {};
    EXPECT_EQ(lstat((root_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }
  bool Exists(const std::string& rel) const {
    struct stat st {};
    return lstat((root_ + "/" + rel).c_str(), &st) == 0;
  }
  bool OutsideEmpty() const { return fs::is_empty(outside_); }

  annex::testing::TempDir tmp_;
  std::string root_;
  std::string outside_;
};

TEST_F(ImageUnpackerTest, FilesDirectoriesModesAndMtimes) {
  LayerBuilder layer;
  layer.Dir("etc").File("etc/hosts", "127.0.0.1 localhost\n").Mtime(1600000000);
  layer.File("usr/bin/tool", "#!/bin/sh\n", 04755);  // parent directories implied
  layer.Dir("tmp", 01777).Dir("secret", 0700).File("secret/key", "k", 0600);
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->entries, 6u);
  EXPECT_EQ(stats->skipped, 0u);
  EXPECT_EQ(Read("etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(Lstat("etc/hosts").st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(Lstat("etc").st_mtim.tv_sec, 1700000000);  // set after its contents
  EXPECT_EQ(Lstat("usr/bin/tool").st_mode & 07777, 04755u);
  EXPECT_EQ(Lstat("tmp").st_mode & 07777, 01777u);
  EXPECT_TRUE(S_ISDIR(Lstat("usr/bin").st_mode));
  EXPECT_EQ(Lstat("secret/key").st_mode & 07777, 0600u);
  if (geteuid() == 0) {
    EXPECT_EQ(Lstat("secret").st_mode & 07777, 0700u);
  }
}

TEST_F(ImageUnpackerTest, CompressionIsDetectedByMagicAndDiffIdIsTheUncompressedHash) {
  LayerBuilder layer;
  layer.Dir("a").File("a/f", std::string(100000, 'x'));
  std::string tar = layer.Tar();
  std::string want = "sha256:" + crypto::Sha256Hex(tar);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::string blob = layer.Write(c);
    if (c != Compression::kNone) {
      ASSERT_NE(blob, tar);
    }
    Result<LayerStats> stats = Apply(blob);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->diff_id, want) << static_cast<int>(c);
    EXPECT_EQ(stats->uncompressed_bytes, tar.size());
    EXPECT_EQ(Read("a/f"), std::string(100000, 'x'));
  }
}

TEST_F(ImageUnpackerTest, SymlinksAreStoredAndNeverFollowed) {
  LayerBuilder layer;
  layer.Symlink("abs", outside_).File("abs/passwd", "owned");
  layer.Symlink("rel", "../outside").File("rel/passwd", "owned");
  layer.Symlink("etc", "/etc").Dir("etc/cron.d").File("etc/cron.d/x", "owned");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped, 4u);
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_FALSE(fs::exists("/etc/cron.d/x"));
  EXPECT_TRUE(S_ISLNK(Lstat("abs").st_mode));
  EXPECT_EQ(fs::read_symlink(root_ + "/etc"), "/etc");
  EXPECT_EQ(fs::read_symlink(root_ + "/rel"), "../outside");
}

TEST_F(ImageUnpackerTest, PathsEscapingTheRootAreSkipped) {
  LayerBuilder layer;
  layer.File("../x", "owned").File("/abs", "owned").File("a/../../x", "owned").File("ok", "fine");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped, 3u);
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_FALSE(fs::exists(tmp_.path() + "/x"));
  EXPECT_FALSE(fs::exists("/abs"));
  EXPECT_EQ(Read("ok"), "fine");
  EXPECT_FALSE(Exists("abs"));
}

TEST_F(ImageUnpackerTest, HardLinksStayInsideTheRoot) {
  std::ofstream(outside_ + "/secret") << "host secret";
  LayerBuilder layer;
  layer.File("f", "data").HardLink("g", "f").HardLink("./sub/h", "./f");
  layer.HardLink("escape", "../outside/secret").HardLink("abs", outside_ + "/secret");
  layer.Symlink("out", outside_).HardLink("via", "out/secret");
  layer.HardLink("missing", "nope").Dir("d").HardLink("dirlink", "d");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(Lstat("g").st_ino, Lstat("f").st_ino);
  EXPECT_EQ(Lstat("sub/h").st_ino, Lstat("f").st_ino);
  EXPECT_EQ(Lstat("f").st_nlink, 3u);
  for (const char* name : {"escape", "abs", "via", "missing", "dirlink"}) EXPECT_FALSE(Exists(name)) << name;
  EXPECT_EQ(stats->skipped, 5u);
  struct stat st {};
  ASSERT_EQ(stat((outside_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(ImageUnpackerTest, DeviceNodesFifosAndSocketsAreSkipped) {
  LayerBuilder layer;
  layer.Dir("dev").Special("dev/null", AE_IFCHR).Special("dev/sda", AE_IFBLK).Special("dev/fifo", AE_IFIFO);
  layer.File("dev/.keep", "");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped, 3u);
  EXPECT_EQ(fs::directory_iterator(root_ + "/dev")->path().filename(), ".keep");
}

TEST_F(ImageUnpackerTest, OversizeEntriesAreSkippedAndLayerLimitsFail) {
  UnpackLimits limits;
  limits.max_entry_bytes = 1000;
  LayerBuilder layer;
  layer.File("big", std::string(5000, 'b')).File("small", "s");
  Result<LayerStats> stats = Apply(layer.Tar(), limits);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped, 1u);
  EXPECT_FALSE(Exists("big"));
  EXPECT_EQ(Read("small"), "s");

  limits = UnpackLimits();
  limits.max_entries = 1;
  EXPECT_EQ(Apply(layer.Tar(), limits).status().code(), StatusCode::kResourceExhausted);
  limits = UnpackLimits();
  limits.max_layer_bytes = 4096;
  Result<LayerStats> bomb = Apply(layer.Write(Compression::kGzip), limits);
  EXPECT_EQ(bomb.status().code(), StatusCode::kResourceExhausted) << bomb.status().ToString();
}

TEST_F(ImageUnpackerTest, NamesTooLongAreSkipped) {
  LayerBuilder layer;
  layer.File(std::string(300, 'n'), "x").File(std::string(5000, 'p'), "x").File("fine", "x");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped, 2u);
  EXPECT_EQ(Read("fine"), "x");
}

TEST_F(ImageUnpackerTest, CorruptAndTruncatedLayersFail) {
  LayerBuilder layer;
  layer.File("a", std::string(200000, 'a')).File("b", "b");
  std::string gz = layer.Write(Compression::kGzip);
  std::string corrupt = gz;
  for (size_t i = 20; i < 60; ++i) corrupt[i] ^= 0x5a;
  Result<LayerStats> r = Apply(corrupt);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();

  std::string tar = layer.Tar();
  r = Apply(tar.substr(0, 100000));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  r = Apply(gz.substr(0, gz.size() / 2));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  r = Apply(std::string(4096, 'z'));  // neither compressed nor a tar
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

TEST_F(ImageUnpackerTest, WhiteoutsDeleteLowerEntries) {
  LayerBuilder lower;
  lower.Dir("a").File("a/x", "x").File("a/y", "y").Dir("b").File("b/z", "z").File("c", "c");
  ASSERT_TRUE(Apply(lower.Tar()).ok());
  LayerBuilder upper;
  upper.Whiteout("a/x").Whiteout("b").Whiteout("nothing/here").File("c", "new c").Whiteout("c");
  Result<LayerStats> stats = Apply(upper.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(Exists("a/x"));
  EXPECT_EQ(Read("a/y"), "y");
  EXPECT_FALSE(Exists("b"));
  EXPECT_EQ(Read("c"), "new c");  // a whiteout never hides its own layer's entry
  EXPECT_FALSE(Exists("a/.wh.x"));
}

TEST_F(ImageUnpackerTest, OpaqueDirectoryHidesLowerButKeepsItsOwnEntriesInAnyOrder) {
  for (bool marker_first : {true, false}) {
    fs::remove_all(root_);
    fs::create_directories(root_);
    LayerBuilder lower;
    lower.Dir("d").File("d/old", "o").Dir("d/sub").File("d/sub/old2", "o").File("keep", "k");
    ASSERT_TRUE(Apply(lower.Tar()).ok());
    LayerBuilder upper;
    if (marker_first) upper.Opaque("d");
    upper.Dir("d").File("d/new", "n").File("d/sub/new2", "n");
    if (!marker_first) upper.Opaque("d");
    Result<LayerStats> stats = Apply(upper.Tar());
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_FALSE(Exists("d/old")) << marker_first;
    EXPECT_FALSE(Exists("d/sub/old2")) << marker_first;
    EXPECT_EQ(Read("d/new"), "n");
    EXPECT_EQ(Read("d/sub/new2"), "n");
    EXPECT_EQ(Read("keep"), "k");
    EXPECT_FALSE(Exists("d/.wh..wh..opq"));
  }
}

TEST_F(ImageUnpackerTest, EntriesReplaceWhateverWasThere) {
  LayerBuilder lower;
  lower.Dir("dir").File("dir/inner", "i").File("file", "f").Symlink("link", "/etc");
  ASSERT_TRUE(Apply(lower.Tar()).ok());
  LayerBuilder upper;
  upper.File("dir", "now a file").Dir("file").Dir("link").File("link/x", "x");
  Result<LayerStats> stats = Apply(upper.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(Read("dir"), "now a file");
  EXPECT_TRUE(S_ISDIR(Lstat("file").st_mode));
  EXPECT_TRUE(S_ISDIR(Lstat("link").st_mode));
  EXPECT_EQ(Read("link/x"), "x");
}

// Snapshots share inodes with the layer below: a file must be replaced, never rewritten.
TEST_F(ImageUnpackerTest, FilesAreReplacedNotWrittenInPlace) {
  std::ofstream(root_ + "/shared") << "lower content";
  ASSERT_EQ(link((root_ + "/shared").c_str(), (outside_ + "/shared").c_str()), 0);
  LayerBuilder upper;
  upper.File("shared", "upper content", 0600);
  ASSERT_TRUE(Apply(upper.Tar()).ok());
  EXPECT_EQ(Read("shared"), "upper content");
  std::ifstream in(outside_ + "/shared");
  std::string lower((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(lower, "lower content");
  struct stat st {};
  ASSERT_EQ(stat((outside_ + "/shared").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 07777, 0600u);
}

TEST_F(ImageUnpackerTest, OwnershipIsAppliedWhenRoot) {
  LayerBuilder layer;
  layer.Dir("home", 0755, 1000, 1000).File("home/f", "x", 04750, 1234, 5678).Symlink("home/l", "f");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  struct stat f = Lstat("home/f");
  if (geteuid() == 0) {
    EXPECT_EQ(f.st_uid, 1234u);
    EXPECT_EQ(f.st_gid, 5678u);
    EXPECT_EQ(f.st_mode & 07777, 04750u);  // setuid survives chown: the mode comes after
    EXPECT_EQ(Lstat("home").st_uid, 1000u);
    EXPECT_EQ(Lstat("home/l").st_uid, 0u);
  } else {
    EXPECT_EQ(f.st_uid, geteuid());  // not root: owners are left as they are, with one logged note
  }
}

TEST_F(ImageUnpackerTest, UserXattrsAreApplied) {
  LayerBuilder layer;
  layer.File("f", "x").Xattr("user.origin", "layer").Xattr("trusted.evil", "no");
  Result<LayerStats> stats = Apply(layer.Tar());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  char buf[64] = {};
  ssize_t n = lgetxattr((root_ + "/f").c_str(), "user.origin", buf, sizeof(buf));
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "the temp file system has no user xattrs";
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "layer");
  EXPECT_LT(lgetxattr((root_ + "/f").c_str(), "trusted.evil", buf, sizeof(buf)), 0);
}

}  // namespace
}  // namespace annex::registry
