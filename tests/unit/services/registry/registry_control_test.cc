#include "services/registry/registry_control.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "appliance/crypto/hash.h"
#include "appliance/os/clock.h"
#include "services/registry/digest.h"
#include "tests/unit/services/registry/image_layer_builder.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;
constexpr char kAccount[] = "111122223333";

// A `docker save` archive of one image, tagged `repo_tag`, with one layer.
std::string DockerArchive(const std::string& repo_tag, const std::string& file_content) {
  std::string layer = testing::LayerBuilder().File("app/hello.txt", file_content).Tar();
  std::string layer_hex = crypto::Sha256Hex(layer);
  std::string config = Json{{"architecture", "amd64"},
                            {"os", "linux"},
                            {"config", Json::object()},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + layer_hex}}}}}
                           .dump();
  std::string config_name = crypto::Sha256Hex(config) + ".json";
  std::string manifest =
      Json::array({{{"Config", config_name}, {"RepoTags", {repo_tag}}, {"Layers", {layer_hex + "/layer.tar"}}}})
          .dump();
  testing::LayerBuilder archive;
  archive.File("manifest.json", manifest).File(config_name, config).File(layer_hex + "/layer.tar", layer);
  return archive.Tar();
}

class RegistryControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<Registry>();
    registry_->env.data_dir = dir_.path() + "/registry";
    registry_->env.region = "us-east-1";
    registry_->env.domain = "localhost";
    registry_->env.root_account_id = kAccount;
    registry_->env.fs = &os::PosixFileSystem();
    registry_->env.clock = &clock_;
    registry_->blobs = std::make_unique<BlobStore>(os::PosixFileSystem(), dir_.path() + "/storage");
    ASSERT_TRUE(registry_->blobs->Init().ok());
    auto store = RegistryStore::Open(dir_.path() + "/meta", *registry_->blobs, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    registry_->store = std::move(*store);
    control_ = NewRegistryControl(registry_);
    std::filesystem::create_directories(registry_->env.data_dir + "/imports");
  }

  void Drop(const std::string& name, const std::string& content) {
    std::ofstream(registry_->env.data_dir + "/imports/" + name, std::ios::binary) << content;
  }

  annex::testing::TempDir dir_;
  os::ManualClock clock_{os::FromUnixMillis(1'700'000'000'000)};
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<service::ServiceControl> control_;
};

TEST_F(RegistryControlTest, ImportImageStoresTheArchiveAndReportsItAsResources) {
  Drop("app.tar", DockerArchive("team/app:v1", "hello"));
  auto done = control_->Execute("ImportImage", R"({"path": "app.tar"})");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_NE(done->find("team/app:v1"), std::string::npos) << *done;
  auto image = registry_->store->GetManifest(kAccount, "team/app", "v1");
  ASSERT_TRUE(image.ok()) << image.status().ToString();

  auto changes = control_->ChangesSince(0, 100);
  ASSERT_TRUE(changes.ok());
  std::map<std::string, Json> by_kind;
  for (const auto& c : changes->changes) by_kind[c.kind] = Json::parse(c.state_json);
  ASSERT_EQ(by_kind.count("repository"), 1u);
  EXPECT_EQ(by_kind["repository"]["uri"], std::string(kAccount) + ".dkr.ecr.us-east-1.localhost/team/app");
  ASSERT_EQ(by_kind.count("image"), 1u);
  EXPECT_EQ(by_kind["image"]["digest"], image->digest);

  // Again: nothing new is stored and the same image is reported.
  uint64_t blobs = registry_->store->blob_count();
  auto again = control_->Execute("ImportImage", R"({"path": "app.tar"})");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(registry_->store->blob_count(), blobs);
  auto after = control_->ChangesSince(changes->cursor, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->changes.empty());
}

TEST_F(RegistryControlTest, ImportImageTakesARepositoryOverride) {
  Drop("app.tar", DockerArchive("app:v1", "x"));
  auto done = control_->Execute("ImportImage", R"({"path": "app.tar", "repository": "mirror/app:stable"})");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(registry_->store->GetManifest(kAccount, "mirror/app", "stable").ok());
}

TEST_F(RegistryControlTest, ImportImageStaysInsideTheImportsDirectory) {
  std::ofstream(dir_.path() + "/outside.tar") << DockerArchive("app:v1", "x");
  for (const char* args : {R"({"path": "../../outside.tar"})", R"({"path": "/etc/passwd"})",
                           R"({"path": "a/../../outside.tar"})", R"({"path": ""})", R"({"path": 7})", R"([])",
                           R"({"path": "app.tar", "repository": "Bad Name"})"}) {
    auto done = control_->Execute("ImportImage", args);
    EXPECT_FALSE(done.ok()) << args;
    EXPECT_EQ(done.status().code(), StatusCode::kInvalidArgument) << args << " " << done.status().ToString();
  }
  EXPECT_TRUE(registry_->store->ListRepositories(kAccount)->empty());
}

TEST_F(RegistryControlTest, ACorruptArchiveStoresNoImage) {
  std::string archive = DockerArchive("app:v1", std::string(100000, 'z'));
  Drop("cut.tar", archive.substr(0, archive.size() / 2));
  EXPECT_FALSE(control_->Execute("ImportImage", R"({"path": "cut.tar"})").ok());
  EXPECT_TRUE(registry_->store->ListRepositories(kAccount)->empty());
  EXPECT_FALSE(control_->Execute("ImportImage", R"({"path": "missing.tar"})").ok());
  EXPECT_FALSE(control_->Execute("DeleteEverything", "{}").ok());
}

}  // namespace
}  // namespace annex::registry
