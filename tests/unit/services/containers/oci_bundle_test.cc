#include "services/containers/oci_bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

namespace fs = std::filesystem;

// Records mounts instead of making them.
class FakeMounts : public BundleMounts {
 public:
  Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                      const std::string& target) override {
    ++mount_calls;
    if (!mount_error.ok()) return mount_error;
    last = lower + "|" + upper + "|" + work;
    mounted.insert(target);
    return Status::OK();
  }
  Status Unmount(const std::string& target) override {
    if (!unmount_error.ok()) return unmount_error;
    mounted.erase(target);
    return Status::OK();
  }
  Result<bool> IsMountPoint(const std::string& target) override { return mounted.count(target) > 0; }

  std::set<std::string> mounted;
  int mount_calls = 0;
  std::string last;
  Status mount_error;
  Status unmount_error;
};

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class OciBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/annex-bundle-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ + "/image");
    std::ofstream(base_ + "/resolv.conf") << "# host\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\n";
    launch_.id = "task1-web";
    launch_.rootfs_dir = base_ + "/image";
    launch_.bundle_dir = base_ + "/bundle";
    launch_.argv = {"/bin/true"};
    launch_.hostname = "web";
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string base_;
  ContainerLaunch launch_;
  FakeMounts mounts_;
};

TEST_F(OciBundleTest, WritesConfigAndEtcFilesOverAMountedRoot) {
  ASSERT_TRUE(CreateBundle(launch_, mounts_, base_ + "/resolv.conf").ok());
  const std::string b = launch_.bundle_dir;
  EXPECT_EQ(mounts_.last, launch_.rootfs_dir + "|" + b + "/upper|" + b + "/work");
  EXPECT_TRUE(mounts_.mounted.count(b + "/rootfs"));
  EXPECT_EQ(Json::parse(Read(b + "/config.json")), BuildOciConfig(launch_));
  EXPECT_EQ(Read(b + "/hostname"), "web\n");
  EXPECT_NE(Read(b + "/hosts").find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(Read(b + "/hosts").find("\tweb\n"), std::string::npos);
  EXPECT_EQ(Read(b + "/resolv.conf"), "# host\nnameserver 10.0.0.2\nsearch lan\n");
  struct stat st {};
  ASSERT_EQ(::stat(b.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(OciBundleTest, SecondCreateKeepsTheMountedRoot) {
  ASSERT_TRUE(CreateBundle(launch_, mounts_, base_ + "/resolv.conf").ok());
  ASSERT_TRUE(CreateBundle(launch_, mounts_, base_ + "/resolv.conf").ok());
  EXPECT_EQ(mounts_.mount_calls, 1);
}

TEST_F(OciBundleTest, FailedMountLeavesNoConfigAndRemoves) {
  mounts_.mount_error = Status::FromErrno(EINVAL, "mount overlay");
  Status s = CreateBundle(launch_, mounts_, base_ + "/resolv.conf");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(fs::exists(launch_.bundle_dir + "/config.json"));
  EXPECT_TRUE(RemoveBundle(launch_.bundle_dir, mounts_).ok());
  EXPECT_FALSE(fs::exists(launch_.bundle_dir));
}

TEST_F(OciBundleTest, RemoveKeepsEverythingWhileTheRootIsBusy) {
  ASSERT_TRUE(CreateBundle(launch_, mounts_, base_ + "/resolv.conf").ok());
  mounts_.unmount_error = Status::Unavailable("busy");
  EXPECT_EQ(RemoveBundle(launch_.bundle_dir, mounts_).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(fs::exists(launch_.bundle_dir + "/config.json"));
  mounts_.unmount_error = Status::OK();
  EXPECT_TRUE(RemoveBundle(launch_.bundle_dir, mounts_).ok());
  EXPECT_FALSE(fs::exists(launch_.bundle_dir));
  EXPECT_TRUE(mounts_.mounted.empty());
  EXPECT_TRUE(RemoveBundle(launch_.bundle_dir, mounts_).ok());  // gone already
}

TEST_F(OciBundleTest, RefusesPathsOverlayfsCannotTake) {
  launch_.rootfs_dir = base_ + "/im,age";
  EXPECT_EQ(CreateBundle(launch_, mounts_).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mounts_.mount_calls, 0);
}

TEST(ContainerResolvConf, DropsLoopbackAndFallsBackToDockersDefaults) {
  EXPECT_EQ(ContainerResolvConf("nameserver 127.0.0.53\noptions edns0\n"),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  EXPECT_EQ(ContainerResolvConf("nameserver ::1\nnameserver 192.168.1.1"), "nameserver 192.168.1.1\n");
}

}  // namespace
}  // namespace annex::containers
