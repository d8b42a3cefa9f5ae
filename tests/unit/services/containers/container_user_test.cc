#include "services/containers/container_user.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace annex::containers {
namespace {

namespace fs = std::filesystem;

class ContainerUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/annex-user-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    fs::create_directories(root_ + "/etc");
    Write(root_ + "/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "# a comment\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
          "app:x:1000:1001:App:/home/app:/bin/sh\n"
          "broken-line\n");
    Write(root_ + "/etc/group",
          "root:x:0:\n"
          "staff:x:50:app,other\n"
          "app:x:1001:\n"
          "docker:x:999:app\n"
          "nogroup:x:65534:\n");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string base_, root_;
};

TEST_F(ContainerUserTest, EmptyIsRoot) {
  auto u = ResolveContainerUser(root_, "");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
}

TEST_F(ContainerUserTest, NameGivesPasswdIdsAndSupplementaryGroups) {
  auto u = ResolveContainerUser(root_, "app");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids, (std::vector<gid_t>{50, 999}));
  EXPECT_EQ(u->home, "/home/app");
}

TEST_F(ContainerUserTest, UidThatIsInPasswdActsAsTheName) {
  auto u = ResolveContainerUser(root_, "1000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 1001u);
  EXPECT_EQ(u->additional_gids.size(), 2u);
}

TEST_F(ContainerUserTest, UnknownNumericUserRunsWithGidZero) {
  auto u = ResolveContainerUser(root_, "4242");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 4242u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_TRUE(u->additional_gids.empty());
}

TEST_F(ContainerUserTest, ExplicitGroupByNameOrNumberAndNoSupplementary) {
  auto u = ResolveContainerUser(root_, "app:staff");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 50u);
  EXPECT_TRUE(u->additional_gids.empty());
  u = ResolveContainerUser(root_, "1000:1000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 1000u);
  u = ResolveContainerUser(root_, "nobody:nogroup");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 65534u);
  EXPECT_EQ(u->gid, 65534u);
}

TEST_F(ContainerUserTest, MissingNamesAreClearErrors) {
  auto u = ResolveContainerUser(root_, "ghost");
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(u.status().message(), "unable to find user ghost: no matching entries in passwd file");
  u = ResolveContainerUser(root_, "app:ghosts");
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound);
  EXPECT_NE(u.status().message().find("unable to find group ghosts"), std::string::npos);
  EXPECT_EQ(ResolveContainerUser(root_, "app:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveContainerUser(root_, "99999999999").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ContainerUserTest, NoPasswdFileMeansOnlyNumbersWork) {
  fs::remove(root_ + "/etc/passwd");
  EXPECT_EQ(ResolveContainerUser(root_, "app").status().code(), StatusCode::kNotFound);
  auto u = ResolveContainerUser(root_, "1000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
}

TEST_F(ContainerUserTest, SymlinkOutOfTheRootStaysInside) {
  // A hostile image points /etc/passwd at a file of the host's.
  Write(base_ + "/host-passwd", "evil:x:0:0::/:/bin/sh\n");
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink(base_ + "/host-passwd", root_ + "/etc/passwd");
  auto u = ResolveContainerUser(root_, "evil");
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound) << u.status().ToString();
  // Relative escapes are clamped at the root as well.
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink("../../../../../../.." + base_ + "/host-passwd", root_ + "/etc/passwd");
  EXPECT_EQ(ResolveContainerUser(root_, "evil").status().code(), StatusCode::kNotFound);
}

TEST_F(ContainerUserTest, SymlinkWithinTheRootIsFollowedThere) {
  fs::create_directories(root_ + "/usr/lib");
  Write(root_ + "/usr/lib/passwd", "svc:x:77:77::/:/bin/sh\n");
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink("/usr/lib/passwd", root_ + "/etc/passwd");
  auto u = ResolveContainerUser(root_, "svc");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->uid, 77u);
}

TEST_F(ContainerUserTest, RefusesFifosAndHugeFiles) {
  fs::remove(root_ + "/etc/passwd");
  ASSERT_EQ(::mkfifo((root_ + "/etc/passwd").c_str(), 0644), 0);
  EXPECT_EQ(ResolveContainerUser(root_, "app").status().code(), StatusCode::kIOError);
  fs::remove(root_ + "/etc/passwd");
  {
    std::ofstream f(root_ + "/etc/passwd");
    f.seekp(kMaxUserDbBytes + 1);
    f << "\n";
  }
  EXPECT_EQ(ResolveContainerUser(root_, "app").status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace annex::containers
