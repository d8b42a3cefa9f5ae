// The lifecycle runner against a real RegistryStore in a temp dir, its
// clock moved by hand: what a scheduled pass removes, and what it keeps.

#include "services/registry/lifecycle_runner.h"

#include <gtest/gtest.h>

#include <chrono>

#include "appliance/os/file_system.h"
#include "services/registry/digest.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "111122223333";

class LifecycleRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blobs_ = std::make_unique<BlobStore>(os::PosixFileSystem(), dir_.path() + "/storage");
    ASSERT_TRUE(blobs_->Init().ok());
    auto s = RegistryStore::Open(dir_.path() + "/meta", *blobs_, clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    RepositoryRecord r;
    r.account = kAccount;
    r.name = "app";
    r.registry_id = kAccount;
    ASSERT_TRUE(store_->CreateRepository(r).ok());
  }

  std::string Blob(const std::string& content) {
    auto d = store_->PutBlob(kAccount, "app", content);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : "";
  }

  // Pushes a distinct image (its own layer) tagged `tag` ("" for none), then moves the clock a day.
  std::string PushImage(const std::string& layer, const std::string& tag) {
    std::string config = R"({"architecture":"amd64","os":"linux","layer":")" + layer + "\"}";
    std::string json = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                       R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                       Blob(config) + R"(","size":)" + std::to_string(config.size()) +
                       R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
                       Blob(layer) + R"(","size":)" + std::to_string(layer.size()) + "}]}";
    auto parsed = ParseManifest(json, "");
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    auto put = store_->PutManifest(kAccount, "app", json, *parsed, tag);
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    clock_.Advance(24h);
    return put.ok() ? put->digest : "";
  }

  void SetPolicy(const std::string& text) {
    auto updated = store_->UpdateRepository(kAccount, "app", [&](RepositoryRecord& r) {
      r.lifecycle_policy = text;
      return Status::OK();
    });
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  }

  LifecycleRunStats Run() {
    auto stats = RunLifecyclePolicies(*store_, {kAccount}, os::ToUnixMillis(clock_.Now()));
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return stats.ok() ? *stats : LifecycleRunStats{};
  }

  bool Exists(const std::string& reference) { return store_->GetManifest(kAccount, "app", reference).ok(); }

  testing::TempDir dir_;
  os::ManualClock clock_{os::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<RegistryStore> store_;
};

constexpr char kKeepTwo[] =
    R"({"rules":[{"rulePriority":1,"description":"keep two","selection":{"tagStatus":"any",)"
    R"("countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]})";

TEST_F(LifecycleRunnerTest, RepositoryWithoutPolicyIsLeftAlone) {
  PushImage("one", "v1");
  PushImage("two", "v2");
  LifecycleRunStats stats = Run();
  EXPECT_EQ(stats.repositories, 0u);
  EXPECT_EQ(stats.images_expired, 0u);
  EXPECT_TRUE(Exists("v1"));
}

TEST_F(LifecycleRunnerTest, CountRuleDeletesTheOldestImagesWithTheirTags) {
  std::string d1 = PushImage("one", "v1");
  std::string d2 = PushImage("two", "");
  std::string d3 = PushImage("three", "v3");
  std::string d4 = PushImage("four", "v4");
  SetPolicy(kKeepTwo);
  LifecycleRunStats stats = Run();
  EXPECT_EQ(stats.repositories, 1u);
  EXPECT_EQ(stats.images_expired, 2u);
  EXPECT_FALSE(Exists(d1));
  EXPECT_FALSE(Exists("v1"));
  EXPECT_FALSE(Exists(d2));
  EXPECT_TRUE(Exists("v3"));
  EXPECT_TRUE(Exists(d4));
  EXPECT_TRUE(LastLifecycleEvaluation(kAccount, "app").has_value());
  // A second pass finds nothing more to do.
  EXPECT_EQ(Run().images_expired, 0u);
}

TEST_F(LifecycleRunnerTest, AgeRuleExpiresOnlyOnceTheClockPassesTheAge) {
  std::string old_untagged = PushImage("one", "");
  std::string tagged = PushImage("two", "keep");
  SetPolicy(R"({"rules":[{"rulePriority":1,"description":"untagged after 3 days","selection":{"tagStatus":)"
            R"("untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":3},"action":{"type":"expire"}}]})");
  EXPECT_EQ(Run().images_expired, 0u);  // pushed two days ago
  clock_.Advance(48h);
  EXPECT_EQ(Run().images_expired, 1u);
  EXPECT_FALSE(Exists(old_untagged));
  EXPECT_TRUE(Exists("keep"));
}

TEST_F(LifecycleRunnerTest, PreviewMatchesWhatARunExpiresWithoutDeleting) {
  std::string d1 = PushImage("one", "v1");
  PushImage("two", "v2");
  PushImage("three", "v3");
  auto policy = ParseLifecyclePolicy(kKeepTwo);
  ASSERT_TRUE(policy.ok());
  auto preview = PreviewLifecycle(*store_, kAccount, "app", *policy, os::ToUnixMillis(clock_.Now()));
  ASSERT_TRUE(preview.ok());
  ASSERT_EQ(preview->size(), 1u);
  EXPECT_EQ((*preview)[0].digest, d1);
  EXPECT_EQ((*preview)[0].tags, std::vector<std::string>{"v1"});
  EXPECT_TRUE(Exists(d1));
}

}  // namespace
}  // namespace annex::registry
