#include "services/registry/image_snapshots.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "appliance/crypto/hash.h"
#include "tests/unit/services/registry/image_layer_builder.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using testing::Compression;
using testing::LayerBuilder;
using testing::MemoryFile;
namespace fs = std::filesystem;

std::string Sha(std::string_view data) { return "sha256:" + crypto::Sha256Hex(data); }

// Layer blobs by digest, as the blob store would serve them.
class Blobs {
 public:
  LayerSource Add(const LayerBuilder& layer, Compression c = Compression::kGzip) {
    std::string blob = layer.Write(c);
    std::string digest = Sha(blob);
    blobs_[digest] = blob;
    return {digest, Sha(layer.Tar())};
  }
  SnapshotCache::OpenBlob Opener() {
    return [this](const std::string& digest) -> Result<os::RandomAccessFilePtr> {
      ++opened_;
      auto it = blobs_.find(digest);
      if (it == blobs_.end()) return Status::NotFound(digest);
      return os::RandomAccessFilePtr(std::make_unique<MemoryFile>(it->second));
    };
  }
  int opened() const { return opened_; }

 private:
  std::map<std::string, std::string> blobs_;
  std::atomic<int> opened_{0};
};

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class ImageSnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cache_.Init().ok()); }
  annex::testing::TempDir tmp_;
  SnapshotCache cache_{tmp_.path() + "/rootfs"};
  Blobs blobs_;
};

TEST(ChainIdsTest, FollowTheOciImageSpec) {
  std::string a = Sha("a"), b = Sha("b"), c = Sha("c");
  std::vector<std::string> chain = ChainIds({a, b, c});
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], a);
  EXPECT_EQ(chain[1], Sha(a + " " + b));
  EXPECT_EQ(chain[2], Sha(chain[1] + " " + c));
}

TEST_F(ImageSnapshotsTest, ImagesSharingABaseShareItsSnapshotAndInodes) {
  LayerSource base = blobs_.Add(LayerBuilder().Dir("bin").File("bin/sh", "shell", 0755).File("etc/os", "debian"));
  LayerSource app1 = blobs_.Add(LayerBuilder().File("app", "one").Whiteout("etc/os"));
  LayerSource app2 = blobs_.Add(LayerBuilder().File("app", "two").File("etc/os", "patched"), Compression::kZstd);

  Result<std::string> one = cache_.Ensure({base, app1}, blobs_.Opener());
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  Result<std::string> two = cache_.Ensure({base, app2}, blobs_.Opener());
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(cache_.layers_built(), 3u);  // the base once

  EXPECT_EQ(Read(*one + "/app"), "one");
  EXPECT_FALSE(fs::exists(*one + "/etc/os"));
  EXPECT_EQ(Read(*two + "/app"), "two");
  EXPECT_EQ(Read(*two + "/etc/os"), "patched");
  EXPECT_EQ(Inode(*one + "/bin/sh"), Inode(*two + "/bin/sh"));
  EXPECT_NE(Inode(*one + "/bin"), Inode(*two + "/bin"));  // directories are each snapshot's own

  // The base snapshot is untouched by what the layers above did.
  std::string base_dir = cache_.SnapshotDir(base.diff_id);
  EXPECT_EQ(Read(base_dir + "/etc/os"), "debian");
  EXPECT_FALSE(fs::exists(base_dir + "/app"));
  EXPECT_EQ(Inode(base_dir + "/bin/sh"), Inode(*one + "/bin/sh"));
}

TEST_F(ImageSnapshotsTest, APreparedImageIsReusedWithoutUnpacking) {
  LayerSource l1 = blobs_.Add(LayerBuilder().File("a", "a"));
  LayerSource l2 = blobs_.Add(LayerBuilder().File("b", "b"));
  Result<std::string> first = cache_.Ensure({l1, l2}, blobs_.Opener());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  int opened = blobs_.opened();
  Result<std::string> again = cache_.Ensure({l1, l2}, blobs_.Opener());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(blobs_.opened(), opened);
  EXPECT_EQ(cache_.layers_built(), 2u);
}

TEST_F(ImageSnapshotsTest, ConcurrentPreparesOfOneImageUnpackOnce) {
  std::vector<LayerSource> layers;
  for (int i = 0; i < 3; ++i) {
    LayerBuilder b;
    for (int f = 0; f < 50; ++f) b.File("l" + std::to_string(i) + "/f" + std::to_string(f), std::string(1000, 'x'));
    layers.push_back(blobs_.Add(b));
  }
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      if (cache_.Ensure(layers, blobs_.Opener()).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(cache_.layers_built(), 3u);
  EXPECT_TRUE(fs::is_empty(tmp_.path() + "/rootfs/tmp"));
}

TEST_F(ImageSnapshotsTest, ADiffIdMismatchIsRefusedAndLeavesNothing) {
  LayerSource layer = blobs_.Add(LayerBuilder().File("a", "a"));
  layer.diff_id = Sha("something else");
  Result<std::string> r = cache_.Ensure({layer}, blobs_.Opener());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_TRUE(fs::is_empty(tmp_.path() + "/rootfs/sha256"));
  EXPECT_TRUE(fs::is_empty(tmp_.path() + "/rootfs/tmp"));
}

TEST_F(ImageSnapshotsTest, ACorruptLayerFailsAndKeepsTheLowerSnapshots) {
  LayerSource good = blobs_.Add(LayerBuilder().File("a", "a"));
  LayerSource bad{Sha("garbage"), Sha("whatever")};
  Blobs* blobs = &blobs_;
  auto open = [blobs](const std::string& digest) -> Result<os::RandomAccessFilePtr> {
    if (digest == Sha("garbage")) {
      return os::RandomAccessFilePtr(std::make_unique<MemoryFile>(std::string("\x1f\x8b\x08garbage", 10)));
    }
    return blobs->Opener()(digest);
  };
  Result<std::string> r = cache_.Ensure({good, bad}, open);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_TRUE(fs::exists(cache_.SnapshotDir(good.diff_id) + "/a"));
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_.path() + "/rootfs/sha256"), fs::directory_iterator()), 1);
  EXPECT_TRUE(fs::is_empty(tmp_.path() + "/rootfs/tmp"));
}

TEST_F(ImageSnapshotsTest, InvalidDigestsNeverNameDirectories) {
  Result<std::string> r = cache_.Ensure({{Sha("x"), "sha256:../../etc"}}, blobs_.Opener());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ImageSnapshotsTest, InitRemovesUnfinishedBuilds) {
  fs::create_directories(tmp_.path() + "/rootfs/tmp/abc.1.1/usr/bin");
  std::ofstream(tmp_.path() + "/rootfs/tmp/abc.1.1/usr/bin/x") << "half";
  SnapshotCache restarted(tmp_.path() + "/rootfs");
  ASSERT_TRUE(restarted.Init().ok());
  EXPECT_TRUE(fs::is_empty(tmp_.path() + "/rootfs/tmp"));
}

TEST_F(ImageSnapshotsTest, AnImageWithoutLayersIsAnEmptyRoot) {
  Result<std::string> r = cache_.Ensure({}, blobs_.Opener());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(fs::is_directory(*r));
  EXPECT_TRUE(fs::is_empty(*r));
}

}  // namespace
}  // namespace annex::registry

namespace annex::registry {
namespace {

// Makes a snapshot look unused for `hours`.
void Age(const std::string& dir, int hours) {
  timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= hours * 3600;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, dir.c_str(), times, 0), 0);
}

TEST_F(ImageSnapshotsTest, CollectRemovesOnlyWhatNobodyHoldsOrUsedLately) {
  LayerSource base = blobs_.Add(LayerBuilder().File("etc/os", "debian"));
  LayerSource held_top = blobs_.Add(LayerBuilder().File("app/held", "1"));
  LayerSource idle_top = blobs_.Add(LayerBuilder().File("app/idle", "2"));
  Result<std::string> held = cache_.Ensure({base, held_top}, blobs_.Opener(), "ecs/task-1/web");
  Result<std::string> idle = cache_.Ensure({base, idle_top}, blobs_.Opener());
  ASSERT_TRUE(held.ok() && idle.ok());
  std::string base_dir = cache_.SnapshotDir(base.diff_id);
  for (const std::string& dir : {*held, *idle, base_dir}) Age(dir, 48);

  auto stats = cache_.Collect(std::chrono::hours(24));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->held, 1u);
  EXPECT_EQ(stats->removed, 2u);  // the idle image and the base nobody holds on its own
  EXPECT_EQ(Read(*held + "/etc/os"), "debian");  // a held top keeps its files: they are its own links
  EXPECT_FALSE(fs::exists(*idle));
  EXPECT_FALSE(fs::exists(base_dir));

  // A snapshot used within the period stays; once released and idle, it goes.
  Result<std::string> again = cache_.Ensure({base, idle_top}, blobs_.Opener());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cache_.Collect(std::chrono::hours(24))->kept, 2u);  // the rebuilt base and idle image
  ASSERT_TRUE(cache_.Release("ecs/task-1/web").ok());
  ASSERT_TRUE(cache_.Release("ecs/task-1/web").ok());  // releasing twice is fine
  Age(*held, 48);
  EXPECT_EQ(cache_.Collect(std::chrono::hours(24))->removed, 1u);
  EXPECT_FALSE(fs::exists(*held));
  EXPECT_TRUE(fs::exists(*again));
}

TEST_F(ImageSnapshotsTest, HoldsOutliveTheCache) {
  LayerSource layer = blobs_.Add(LayerBuilder().File("a", "x"));
  Result<std::string> dir = cache_.Ensure({layer}, blobs_.Opener(), "lambda/fn-1");
  ASSERT_TRUE(dir.ok());
  Age(*dir, 72);
  SnapshotCache reopened(tmp_.path() + "/rootfs");  // annexd restarted
  ASSERT_TRUE(reopened.Init().ok());
  auto stats = reopened.Collect(std::chrono::hours(24));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->removed, 0u);
  EXPECT_TRUE(fs::exists(*dir + "/a"));
}

TEST_F(ImageSnapshotsTest, TheEmptyRootIsNeverCollected) {
  Result<std::string> empty = cache_.Ensure({}, blobs_.Opener(), "ecs/scratch");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(cache_.Collect(std::chrono::seconds(0)).ok());
  EXPECT_TRUE(fs::is_directory(*empty));
}

}  // namespace
}  // namespace annex::registry
