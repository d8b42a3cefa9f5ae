#include "services/registry/registry_image_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "appliance/crypto/hash.h"
#include "appliance/os/clock.h"
#include "services/registry/digest.h"
#include "services/registry/host_platform.h"
#include "services/registry/image_export.h"
#include "tests/unit/services/registry/image_layer_builder.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using testing::Compression;
using testing::LayerBuilder;
namespace fs = std::filesystem;

constexpr char kAccount[] = "111122223333";

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

std::string Descriptor(std::string_view media_type, const std::string& content) {
  return R"({"mediaType":")" + std::string(media_type) + R"(","digest":")" + DigestOf(content) +
         R"(","size":)" + std::to_string(content.size()) + "}";
}

class RegistryImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.env.data_dir = dir_.path() + "/registry";
    registry_.blobs = std::make_unique<BlobStore>(os::PosixFileSystem(), dir_.path() + "/storage");
    ASSERT_TRUE(registry_.blobs->Init().ok());
    auto store = RegistryStore::Open(dir_.path() + "/meta", *registry_.blobs, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    registry_.store = std::move(*store);
    images_ = NewRegistryImageStore(registry_);
    ASSERT_NE(images_, nullptr);
  }

  void CreateRepo(const std::string& name) {
    RepositoryRecord r;
    r.account = kAccount;
    r.name = name;
    r.registry_id = kAccount;
    ASSERT_TRUE(registry_.store->CreateRepository(r).ok());
  }

  // Pushes an image of `layers` as the registry would receive it and
  // returns its manifest bytes. `diff_ids` overrides the config's.
  std::string PushImage(const std::string& repo, const std::vector<LayerBuilder>& layers, const std::string& tag,
                        const std::string& arch = "amd64", std::vector<std::string> diff_ids = {}) {
    std::string layer_json;
    bool override_ids = !diff_ids.empty();
    for (const LayerBuilder& layer : layers) {
      std::string blob = layer.Write(Compression::kGzip);
      EXPECT_TRUE(registry_.store->PutBlob(kAccount, repo, blob).ok());
      if (!override_ids) diff_ids.push_back(DigestOf(layer.Tar()));
      layer_json += (layer_json.empty() ? "" : ",") + Descriptor(kOciLayerGzip, blob);
    }
    std::string ids;
    for (const std::string& id : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + id + "\"";
    std::string config = R"({"architecture":")" + arch + R"(","os":"linux","config":{"Cmd":["/bin/app"]},)" +
                         R"("rootfs":{"type":"layers","diff_ids":[)" + ids + "]}}";
    EXPECT_TRUE(registry_.store->PutBlob(kAccount, repo, config).ok());
    std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                           R"("config":)" + Descriptor(kOciConfig, config) + R"(,"layers":[)" + layer_json + "]}";
    Put(repo, manifest, tag);
    return manifest;
  }

  void Put(const std::string& repo, const std::string& json, const std::string& tag) {
    auto parsed = ParseManifest(json, "");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto put = registry_.store->PutManifest(kAccount, repo, json, *parsed, tag);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  Result<service::PreparedRootfs> Prepare(const std::string& repo, const std::string& reference,
                                          std::string_view platform = "") {
    return images_->Prepare({kAccount, repo, reference}, platform, "");
  }

  annex::testing::TempDir dir_;
  os::ManualClock clock_{os::FromUnixMillis(1'700'000'000'000)};
  Registry registry_;
  std::unique_ptr<service::ImageStore> images_;
};

LayerBuilder Base() {
  return std::move(LayerBuilder().Dir("bin").File("bin/sh", "shell", 0755).Dir("etc").File("etc/os", "debian"));
}

TEST_F(RegistryImageStoreTest, PreparesAnImageByTagAndReusesItsRootfs) {
  CreateRepo("team/app");
  std::string manifest = PushImage("team/app", {Base(), LayerBuilder().File("app", "v1").Whiteout("etc/os")}, "v1");
  Result<service::PreparedRootfs> r = Prepare("team/app", "v1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->image.manifest_digest, DigestOf(manifest));
  EXPECT_EQ(r->image.layer_digests.size(), 2u);
  EXPECT_EQ(r->image.os, "linux");
  EXPECT_EQ(r->image.architecture, "amd64");
  EXPECT_NE(r->image.config_json.find("/bin/app"), std::string::npos);
  EXPECT_EQ(Read(r->rootfs_dir + "/bin/sh"), "shell");
  EXPECT_EQ(Read(r->rootfs_dir + "/app"), "v1");
  EXPECT_FALSE(fs::exists(r->rootfs_dir + "/etc/os"));
  EXPECT_TRUE(r->rootfs_dir.starts_with(registry_.env.data_dir + "/rootfs/"));

  // A second Prepare, by digest this time, finds the unpacked image: it
  // works even without the layer blobs.
  for (const std::string& layer : r->image.layer_digests) ASSERT_TRUE(registry_.blobs->Remove(layer).ok());
  Result<service::PreparedRootfs> again = Prepare("team/app", DigestOf(manifest));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rootfs_dir, r->rootfs_dir);
  EXPECT_EQ(Inode(again->rootfs_dir + "/app"), Inode(r->rootfs_dir + "/app"));
}

TEST_F(RegistryImageStoreTest, ImagesSharingABaseLayerShareInodes) {
  CreateRepo("one");
  CreateRepo("two");
  PushImage("one", {Base(), LayerBuilder().File("app", "one")}, "latest");
  PushImage("two", {Base(), LayerBuilder().File("app", "two").File("etc/os", "patched")}, "latest");
  Result<service::PreparedRootfs> one = Prepare("one", "latest");
  Result<service::PreparedRootfs> two = Prepare("two", "latest");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_NE(one->rootfs_dir, two->rootfs_dir);
  EXPECT_EQ(Inode(one->rootfs_dir + "/bin/sh"), Inode(two->rootfs_dir + "/bin/sh"));
  EXPECT_EQ(Read(one->rootfs_dir + "/etc/os"), "debian");
  EXPECT_EQ(Read(two->rootfs_dir + "/etc/os"), "patched");
}

// The default child of an index is the host's platform, for root
// filesystems and exports alike (one HostPlatform()); another is chosen by name.
TEST_F(RegistryImageStoreTest, AnIndexResolvesToTheRequestedPlatform) {
  const std::string host = HostPlatform().architecture;
  const std::string other = host == "arm64" ? "amd64" : "arm64";
  CreateRepo("multi");
  std::string mine = PushImage("multi", {LayerBuilder().File("arch", host)}, "", host);
  std::string theirs = PushImage("multi", {LayerBuilder().File("arch", other)}, "", other);
  auto entry = [](const std::string& m, const std::string& arch) {
    std::string d = Descriptor(kOciManifest, m);
    d.pop_back();
    return d + R"(,"platform":{"os":"linux","architecture":")" + arch + R"("}})";
  };
  // The host's child listed second: a default of "the first" would be caught.
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
                      entry(theirs, other) + "," + entry(mine, host) + "]}";
  Put("multi", index, "latest");

  Result<service::PreparedRootfs> def = Prepare("multi", "latest");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->image.manifest_digest, DigestOf(mine));
  EXPECT_EQ(Read(def->rootfs_dir + "/arch"), host);
  Result<ImageExport> exported = PrepareExport(registry_, kAccount, "multi", "latest");
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->digest, DigestOf(mine));
  Result<service::PreparedRootfs> a = Prepare("multi", "latest", "linux/" + other);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Read(a->rootfs_dir + "/arch"), other);
  EXPECT_EQ(Prepare("multi", "latest", "linux/mips64").status().code(), StatusCode::kNotFound);
  // A single-platform image for another architecture is not runnable here either.
  EXPECT_EQ(Prepare("multi", DigestOf(theirs)).status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryImageStoreTest, ALayerThatDoesNotMatchTheConfigsDiffIdIsRefused) {
  CreateRepo("liar");
  PushImage("liar", {LayerBuilder().File("a", "a")}, "latest", "amd64", {DigestOf("not the layer")});
  Result<service::PreparedRootfs> r = Prepare("liar", "latest");
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_TRUE(fs::is_empty(registry_.env.data_dir + "/rootfs/sha256"));
  EXPECT_TRUE(fs::is_empty(registry_.env.data_dir + "/rootfs/tmp"));
}

TEST_F(RegistryImageStoreTest, MissingRepositoriesAndTagsAreNotFound) {
  CreateRepo("app");
  PushImage("app", {LayerBuilder().File("a", "a")}, "v1");
  EXPECT_EQ(Prepare("app", "v2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Prepare("nope", "v1").status().code(), StatusCode::kNotFound);
  Result<service::ResolvedImage> resolved = images_->Resolve({kAccount, "app", "v1"}, "linux/amd64");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->layer_digests.size(), 1u);
  EXPECT_TRUE(fs::is_empty(registry_.env.data_dir + "/rootfs/sha256"));  // Resolve unpacks nothing
}

}  // namespace
}  // namespace annex::registry
