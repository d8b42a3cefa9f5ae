#include "services/registry/registry_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "appliance/os/file_system.h"
#include "services/registry/digest.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using namespace std::chrono_literals;

constexpr char kAccount[] = "111122223333";

class RegistryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    store_.reset();
    blobs_ = std::make_unique<BlobStore>(os::PosixFileSystem(), dir_.path() + "/storage");
    ASSERT_TRUE(blobs_->Init().ok());
    RegistryStore::Options options;
    options.unreferenced_blob_grace_ms = 3600'000;
    options.upload_expiry_ms = 7200'000;
    auto s = RegistryStore::Open(dir_.path() + "/meta", *blobs_, clock_, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void CreateRepo(const std::string& name, TagMutability mutability = TagMutability::kMutable) {
    RepositoryRecord r;
    r.account = kAccount;
    r.name = name;
    r.registry_id = kAccount;
    r.tag_mutability = mutability;
    ASSERT_TRUE(store_->CreateRepository(r).ok());
  }

  // Uploads `content` in two chunks and returns its digest.
  std::string Upload(const std::string& repo, const std::string& content) {
    auto u = store_->StartUpload(kAccount, repo);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    size_t half = content.size() / 2;
    EXPECT_TRUE(blobs_->Append(u->uuid, 0, content.substr(0, half)).ok());
    EXPECT_TRUE(blobs_->Append(u->uuid, half, content.substr(half)).ok());
    std::string digest = DigestOf(content);
    auto done = store_->CompleteUpload(u->uuid, digest);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return digest;
  }

  // An image manifest over a config and one layer already in `repo`.
  std::string ManifestJson(const std::string& config, const std::string& layer) {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
           R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
           DigestOf(config) + R"(","size":)" + std::to_string(config.size()) +
           R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + DigestOf(layer) +
           R"(","size":)" + std::to_string(layer.size()) + "}]}";
  }

  Result<RegistryStore::PutManifestResult> Push(const std::string& repo, const std::string& json,
                                                const std::string& tag) {
    auto parsed = ParseManifest(json, "");
    if (!parsed.ok()) return parsed.status();
    return store_->PutManifest(kAccount, repo, json, *parsed, tag);
  }

  testing::TempDir dir_;
  os::ManualClock clock_{os::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<RegistryStore> store_;
};

TEST_F(RegistryStoreTest, PushedImageCanBeReadBackByTagAndDigest) {
  CreateRepo("team/app");
  std::string config = R"({"architecture":"amd64","os":"linux"})";
  std::string layer(100000, 'x');
  Upload("team/app", config);
  Upload("team/app", layer);
  std::string json = ManifestJson(config, layer);
  auto pushed = Push("team/app", json, "v1");
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(pushed->digest, DigestOf(json));
  auto by_tag = store_->GetManifest(kAccount, "team/app", "v1");
  ASSERT_TRUE(by_tag.ok());
  EXPECT_EQ(by_tag->bytes, json);
  EXPECT_EQ(by_tag->image_size, config.size() + layer.size());
  auto by_digest = store_->GetManifest(kAccount, "team/app", pushed->digest);
  ASSERT_TRUE(by_digest.ok());
  EXPECT_EQ(by_digest->digest, pushed->digest);
  auto size = store_->RepositoryBlob(kAccount, "team/app", DigestOf(layer));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, layer.size());
  EXPECT_EQ(store_->blob_count(), 2u);
}

TEST_F(RegistryStoreTest, DigestMismatchStoresNothingAndLeavesTheUpload) {
  CreateRepo("app");
  auto u = store_->StartUpload(kAccount, "app");
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(blobs_->Append(u->uuid, 0, "hello").ok());
  auto done = store_->CompleteUpload(u->uuid, DigestOf("other"));
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().subcode(), "DIGEST_INVALID");
  EXPECT_FALSE(blobs_->Exists(DigestOf("other")));
  EXPECT_FALSE(blobs_->Exists(DigestOf("hello")));
  EXPECT_EQ(store_->blob_count(), 0u);
  // The client can still finish it with the right digest.
  EXPECT_TRUE(store_->CompleteUpload(u->uuid, DigestOf("hello")).ok());
}

TEST_F(RegistryStoreTest, AppendAtTheWrongOffsetIsRefused) {
  CreateRepo("app");
  auto u = store_->StartUpload(kAccount, "app");
  ASSERT_TRUE(blobs_->Append(u->uuid, 0, "abc").ok());
  auto wrong = blobs_->Append(u->uuid, 1, "def");
  EXPECT_EQ(wrong.status().subcode(), "RANGE_INVALID");
  EXPECT_EQ(*blobs_->UploadSize(u->uuid), 3u);
}

TEST_F(RegistryStoreTest, UploadResumesAfterRestart) {
  CreateRepo("app");
  auto u = store_->StartUpload(kAccount, "app");
  ASSERT_TRUE(blobs_->Append(u->uuid, 0, "first half, ").ok());
  ASSERT_TRUE(blobs_->SyncUpload(u->uuid).ok());
  Reopen();
  ASSERT_TRUE(store_->CleanOrphans().ok());
  ASSERT_TRUE(store_->GetUpload(u->uuid).ok());
  auto size = blobs_->UploadSize(u->uuid);
  ASSERT_TRUE(size.ok());
  ASSERT_TRUE(blobs_->Append(u->uuid, *size, "second half").ok());
  auto done = store_->CompleteUpload(u->uuid, DigestOf("first half, second half"));
  EXPECT_TRUE(done.ok()) << done.status().ToString();
}

TEST_F(RegistryStoreTest, ManifestWithAMissingBlobIsRefused) {
  CreateRepo("app");
  std::string config = "{}";
  Upload("app", config);
  auto pushed = Push("app", ManifestJson(config, "never uploaded"), "v1");
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.status().subcode(), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_FALSE(store_->GetManifest(kAccount, "app", "v1").ok());
}

TEST_F(RegistryStoreTest, BlobsOfAnotherRepositoryNeedAMount) {
  CreateRepo("a");
  CreateRepo("b");
  std::string config = "{}", layer = "layer";
  Upload("a", config);
  Upload("a", layer);
  EXPECT_EQ(store_->RepositoryBlob(kAccount, "b", DigestOf(layer)).status().subcode(), "BLOB_UNKNOWN");
  EXPECT_EQ(Push("b", ManifestJson(config, layer), "").status().subcode(), "MANIFEST_BLOB_UNKNOWN");
  ASSERT_TRUE(store_->MountBlob(kAccount, "b", DigestOf(layer), "a").ok());
  ASSERT_TRUE(store_->MountBlob(kAccount, "b", DigestOf(config), "a").ok());
  EXPECT_TRUE(Push("b", ManifestJson(config, layer), "").ok());
  EXPECT_EQ(store_->blob_count(), 2u);  // shared, stored once
}

TEST_F(RegistryStoreTest, ImmutableTagsCannotMove) {
  CreateRepo("app", TagMutability::kImmutable);
  std::string config = "{}", l1 = "one", l2 = "two";
  Upload("app", config);
  Upload("app", l1);
  Upload("app", l2);
  ASSERT_TRUE(Push("app", ManifestJson(config, l1), "v1").ok());
  EXPECT_TRUE(Push("app", ManifestJson(config, l1), "v1").ok());  // the same image again is fine
  auto moved = Push("app", ManifestJson(config, l2), "v1");
  EXPECT_EQ(moved.status().subcode(), "ImageTagAlreadyExistsException");
  EXPECT_EQ(store_->GetManifest(kAccount, "app", "v1")->digest, DigestOf(ManifestJson(config, l1)));
}

TEST_F(RegistryStoreTest, DeletedImagesBlobsAreCollectedAfterTheGracePeriod) {
  CreateRepo("app");
  std::string config = "{}", layer(50000, 'l');
  Upload("app", config);
  Upload("app", layer);
  auto pushed = Push("app", ManifestJson(config, layer), "v1");
  ASSERT_TRUE(pushed.ok());
  // An upload of a later push whose manifest has not arrived yet.
  std::string pending = Upload("app", "pending layer");

  ASSERT_TRUE(store_->DeleteManifest(kAccount, "app", pushed->digest).ok());
  EXPECT_FALSE(store_->GetManifest(kAccount, "app", "v1").ok());
  auto early = store_->CollectGarbage();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->blobs_removed, 0u);  // still within the grace period
  EXPECT_TRUE(blobs_->Exists(DigestOf(layer)));

  clock_.Advance(std::chrono::minutes(61));
  ASSERT_TRUE(store_->RepositoryBlob(kAccount, "app", pending).ok());
  // The pending blob is re-linked (its push goes on) just before the pass.
  ASSERT_TRUE(store_->MountBlob(kAccount, "app", pending, "app").ok());
  auto later = store_->CollectGarbage();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->blobs_removed, 2u);
  EXPECT_FALSE(blobs_->Exists(DigestOf(layer)));
  EXPECT_FALSE(blobs_->Exists(DigestOf(config)));
  EXPECT_TRUE(blobs_->Exists(pending));
  EXPECT_EQ(store_->blob_count(), 1u);
}

TEST_F(RegistryStoreTest, ABlobSharedWithAnotherRepositorySurvivesItsDeletion) {
  CreateRepo("a");
  CreateRepo("b");
  std::string config = "{}", layer = "shared";
  Upload("a", config);
  Upload("a", layer);
  Upload("b", config);
  Upload("b", layer);
  ASSERT_TRUE(Push("a", ManifestJson(config, layer), "v1").ok());
  ASSERT_TRUE(Push("b", ManifestJson(config, layer), "v1").ok());
  EXPECT_EQ(store_->DeleteRepository(kAccount, "a", false).subcode(), "RepositoryNotEmptyException");
  ASSERT_TRUE(store_->DeleteRepository(kAccount, "a", true).ok());
  clock_.Advance(std::chrono::hours(2));
  ASSERT_TRUE(store_->CollectGarbage().ok());
  EXPECT_TRUE(blobs_->Exists(DigestOf(layer)));
  EXPECT_TRUE(store_->GetManifest(kAccount, "b", "v1").ok());
}

TEST_F(RegistryStoreTest, IndexChildrenMustExistAndCannotBeDeletedUnderIt) {
  CreateRepo("app");
  std::string config = "{}", layer = "l";
  Upload("app", config);
  Upload("app", layer);
  std::string child = ManifestJson(config, layer);
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                      DigestOf(child) + R"(","size":)" + std::to_string(child.size()) +
                      R"(,"platform":{"os":"linux","architecture":"amd64"}}]})";
  EXPECT_EQ(Push("app", index, "multi").status().subcode(), "MANIFEST_BLOB_UNKNOWN");
  ASSERT_TRUE(Push("app", child, "").ok());
  ASSERT_TRUE(Push("app", index, "multi").ok());
  EXPECT_EQ(store_->DeleteManifest(kAccount, "app", DigestOf(child)).subcode(), "ImageReferencedByManifestList");
  auto images = store_->ListImages(kAccount, "app");
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->size(), 2u);
}

TEST_F(RegistryStoreTest, DeletingTheLastTagDeletesTheImage) {
  CreateRepo("app");
  std::string config = "{}", layer = "l";
  Upload("app", config);
  Upload("app", layer);
  std::string json = ManifestJson(config, layer);
  ASSERT_TRUE(Push("app", json, "a").ok());
  ASSERT_TRUE(Push("app", json, "b").ok());
  EXPECT_EQ(*store_->ListTags(kAccount, "app"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*store_->ListTags(kAccount, "app", "a", 0), (std::vector<std::string>{"b"}));
  ASSERT_TRUE(store_->DeleteTag(kAccount, "app", "a", true).ok());
  EXPECT_TRUE(store_->GetManifest(kAccount, "app", DigestOf(json)).ok());
  ASSERT_TRUE(store_->DeleteTag(kAccount, "app", "b", true).ok());
  EXPECT_FALSE(store_->GetManifest(kAccount, "app", DigestOf(json)).ok());
}

TEST_F(RegistryStoreTest, OrphanedFilesAreRemovedAtStartup) {
  CreateRepo("app");
  // A blob published by a push that crashed before its commit, and a stray upload file.
  auto stray = blobs_->PutWhole("crashed");
  ASSERT_TRUE(stray.ok());
  ASSERT_TRUE(blobs_->CreateUpload("0123abcd-0000-4000-8000-000000000000").ok());
  Reopen();
  auto cleaned = store_->CleanOrphans();
  ASSERT_TRUE(cleaned.ok());
  EXPECT_EQ(cleaned->blobs_removed, 1u);
  EXPECT_FALSE(blobs_->Exists(*stray));
  EXPECT_FALSE(blobs_->UploadSize("0123abcd-0000-4000-8000-000000000000").ok());
}

TEST_F(RegistryStoreTest, UnknownRepositoryIsNameUnknown) {
  EXPECT_EQ(store_->GetManifest(kAccount, "nope", "latest").status().subcode(), "NAME_UNKNOWN");
  EXPECT_EQ(store_->StartUpload(kAccount, "nope").status().subcode(), "NAME_UNKNOWN");
}

TEST(ManifestTest, RefusesWhatTheRegistryCannotTrust) {
  EXPECT_EQ(ParseManifest("not json", "").status().subcode(), "MANIFEST_INVALID");
  EXPECT_EQ(ParseManifest(R"({"schemaVersion":1})", "").status().subcode(), "MANIFEST_INVALID");
  EXPECT_EQ(ParseManifest(R"({"schemaVersion":2,"config":{"digest":"sha256:xyz","size":1},"layers":[]})", "")
                .status()
                .subcode(),
            "MANIFEST_INVALID");
  std::string big(kMaxManifestBytes + 1, ' ');
  EXPECT_EQ(ParseManifest(big, "").status().subcode(), "MANIFEST_INVALID");
  // The Content-Type must agree with the document's own mediaType.
  std::string oci = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})";
  EXPECT_TRUE(ParseManifest(oci, "application/vnd.oci.image.index.v1+json").ok());
  EXPECT_FALSE(ParseManifest(oci, "application/vnd.docker.distribution.manifest.v2+json").ok());
}

}  // namespace
}  // namespace annex::registry
