// A bounded random walk over the registry's APIs (fixed seed): /v2/ paths
// with random names, references, digests, methods, Content-Range and
// Content-Type headers, forged and real tokens, and ECR JSON calls with
// random members and registry ids — from another account's user, who may
// do everything in its own account. Nothing may crash, every answer is
// well-formed, and none ever carries the owner's image: its manifest
// digest, its layer's bytes, or its repository's name in a listing.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_authorizer.h"
#include "appliance/iam/policy_store.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/os/file_system.h"
#include "services/registry/digest.h"
#include "services/registry/registry_service.h"
#include "tests/unit/testing/service_driver.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::registry {
namespace {

using Json = nlohmann::json;
constexpr int kIterations = 1500;
constexpr char kAllowEverything[] =
    R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})";
constexpr char kEcrTarget[] = "AmazonEC2ContainerRegistry_V20150921.";

void DiscardLog(std::string_view) {}

class RegistryFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink(DiscardLog);
    identities_ = iam::IdentityStore::Open(tmp_.path() + "/iam", clock_).value();
    policies_ = iam::PolicyStore::Open(tmp_.path() + "/iam-policies", clock_).value();
    authorizer_ = std::make_unique<iam::PolicyAuthorizer>(*identities_, *policies_);
    auto [owner, owner_key] = identities_->CreateAccount("owner").value();
    auto [other, other_key] = identities_->CreateAccount("other").value();
    owner_ = identities_->Find(owner_key.access_key_id)->principal;
    other_account_ = other.id;
    ASSERT_TRUE(identities_->CreateUser(other.id, "mallory").ok());
    ASSERT_TRUE(
        policies_->PutInlinePolicy(other.id, iam::EntityType::kUser, "mallory", "all", kAllowEverything).ok());
    mallory_key_ = identities_->CreateAccessKey(iam::Identity::User(other.id, "mallory"))->access_key_id;
    mallory_ = identities_->Find(mallory_key_)->principal;

    service::Environment env;
    env.data_dir = tmp_.path() + "/registry";
    env.fs = &os::PosixFileSystem();
    env.clock = &clock_;
    env.blocking = &pool_;
    env.region = "us-east-1";
    env.domain = "localhost";
    env.root_account_id = owner.id;
    env.identities = identities_.get();
    env.authorizer = authorizer_.get();
    module_ = NewModule(env).value();
    driver_ = std::make_unique<annex::testing::ServiceDriver>(*module_.service);
    PushOwnersImage();
  }
  void TearDown() override { log::SetSink(nullptr); }

  annex::testing::DriverResponse Ecr(const auth::Principal& who, const std::string& op, const Json& body) {
    return driver_->Send(who, "POST", "/", body.dump(-1, ' ', false, Json::error_handler_t::replace),
                         {{"x-amz-target", std::string(kEcrTarget) + op},
                          {"content-type", "application/x-amz-json-1.1"}});
  }

  // The secret: a repository of the owner's with one image.
  void PushOwnersImage() {
    ASSERT_EQ(Ecr(owner_, "CreateRepository", {{"repositoryName", "secret/app"}}).status, 200);
    secret_layer_ = "the owner's layer bytes 5f1c";
    std::string config = R"({"architecture":"amd64","os":"linux"})";
    for (const std::string& blob : {secret_layer_, config}) {
      auto up = Ecr(owner_, "InitiateLayerUpload", {{"repositoryName", "secret/app"}});
      ASSERT_EQ(up.status, 200) << up.body;
      std::string id = Json::parse(up.body)["uploadId"];
      ASSERT_EQ(Ecr(owner_, "UploadLayerPart",
                    {{"repositoryName", "secret/app"}, {"uploadId", id}, {"partFirstByte", 0},
                     {"partLastByte", blob.size() - 1}, {"layerPartBlob", Base64Encode(blob)}})
                    .status,
                200);
      ASSERT_EQ(Ecr(owner_, "CompleteLayerUpload",
                    {{"repositoryName", "secret/app"}, {"uploadId", id}, {"layerDigests", {DigestOf(blob)}}})
                    .status,
                200);
    }
    std::string manifest = Json{{"schemaVersion", 2},
                                {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                {"config",
                                 {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                  {"digest", DigestOf(config)},
                                  {"size", config.size()}}},
                                {"layers",
                                 {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                   {"digest", DigestOf(secret_layer_)},
                                   {"size", secret_layer_.size()}}}}}
                               .dump();
    auto put = Ecr(owner_, "PutImage", {{"repositoryName", "secret/app"}, {"imageManifest", manifest},
                                        {"imageTag", "v1"}});
    ASSERT_EQ(put.status, 200) << put.body;
    secret_manifest_ = DigestOf(manifest);
    auto token = Ecr(mallory_, "GetAuthorizationToken", Json::object());
    ASSERT_EQ(token.status, 200) << token.body;
    mallory_token_ = Json::parse(token.body)["authorizationData"][0]["authorizationToken"];
  }

  // Nothing of the owner's in an answer to mallory that she did not send
  // herself (a failure may echo the id she asked for).
  void ExpectNoSecret(const annex::testing::DriverResponse& r, const std::string& request) {
    ASSERT_NE(r.status, 0) << request;
    if (r.status >= 300) return;
    EXPECT_EQ(r.body.find(secret_layer_), std::string::npos) << request;
    for (std::string_view secret : {DigestHex(secret_manifest_), std::string_view("secret/app")}) {
      if (request.find(secret) != std::string::npos) continue;
      EXPECT_EQ(r.body.find(secret), std::string::npos) << request << "\n" << r.body;
    }
  }

  os::ManualClock clock_{os::SystemTime(std::chrono::seconds(1700000000))};
  annex::testing::TempDir tmp_;
  os::BlockingPool pool_{1};
  std::unique_ptr<iam::IdentityStore> identities_;
  std::unique_ptr<iam::PolicyStore> policies_;
  std::unique_ptr<iam::PolicyAuthorizer> authorizer_;
  service::Module module_;
  std::unique_ptr<annex::testing::ServiceDriver> driver_;
  auth::Principal owner_, mallory_;
  std::string other_account_, mallory_key_, mallory_token_;
  std::string secret_layer_, secret_manifest_;
};

TEST_F(RegistryFuzzTest, RandomRequestsNeverReachAnotherAccountsImage) {
  std::mt19937 rng(29);
  auto pick = [&](std::initializer_list<std::string> options) {
    return *(options.begin() + std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng));
  };
  auto bytes = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xff));
    return s;
  };
  const std::string owner_host = owner_.account_id + ".dkr.ecr.us-east-1.localhost";
  ASSERT_EQ(Ecr(mallory_, "CreateRepository", {{"repositoryName", "mine"}}).status, 200);
  int ok_answers = 0;
  for (int i = 0; i < kIterations; ++i) {
    if (rng() % 2 == 0) {
      std::string name = pick({"secret/app", "mine", "secret", "secret/app/../app", "", bytes(5), "a/b/c"});
      std::string ref = pick({"v1", "latest", secret_manifest_, DigestOf(secret_layer_), "sha256:", bytes(4), ""});
      std::string path = "/v2/" + name + pick({"/manifests/" + ref, "/blobs/" + ref, "/blobs/uploads/",
                                               "/blobs/uploads/" + bytes(8), "/tags/list", "", "/_catalog"});
      if (rng() % 8 == 0) path = pick({"/v2/", "/v2/_catalog?n=" + bytes(2), "/v2/_catalog?last=secret"});
      if (rng() % 4 == 0) path += "?mount=" + DigestOf(secret_layer_) + "&from=secret/app";
      std::vector<std::pair<std::string, std::string>> headers;
      if (rng() % 2) headers.push_back({"host", owner_host});
      if (rng() % 3 == 0) headers.push_back({"content-range", pick({"0-3", "5-1", "x-y", bytes(3)})});
      if (rng() % 3 == 0) headers.push_back({"content-type", pick({"application/vnd.oci.image.manifest.v1+json",
                                                                   bytes(6)})});
      auth::Principal who = mallory_;
      if (rng() % 3 == 0) {
        who = auth::Principal{};  // anonymous: the token decides
        headers.push_back({"authorization", pick({"Basic " + mallory_token_, "Basic " + Base64Encode("AWS:" + bytes(20)),
                                                  "Bearer " + bytes(10), "Basic !!", ""})});
      }
      std::string method = pick({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"});
      std::string body = pick({"", bytes(40), R"({"schemaVersion":2})", secret_layer_});
      std::string request = method + " " + path;
      auto r = driver_->Send(who, method, path, body, headers);
      ExpectNoSecret(r, request);
      if (r.status < 300) ++ok_answers;
    } else {
      std::string op = pick({"DescribeRepositories", "ListImages", "DescribeImages", "BatchGetImage",
                             "GetDownloadUrlForLayer", "BatchCheckLayerAvailability", "GetRepositoryPolicy",
                             "ListTagsForResource", "GetLifecyclePolicy", "PutImage", "BatchDeleteImage",
                             "SetRepositoryPolicy", "DeleteRepository", bytes(6)});
      Json body = Json::object();
      if (rng() % 4) body["repositoryName"] = pick({"secret/app", "mine", "", bytes(3)});
      if (rng() % 2) body["registryId"] = pick({owner_.account_id, other_account_, "", bytes(12)});
      if (rng() % 3 == 0) body["imageIds"] = Json::array({{{"imageTag", "v1"}}, {{"imageDigest", secret_manifest_}}});
      if (rng() % 4 == 0) body["layerDigests"] = Json::array({DigestOf(secret_layer_)});
      if (rng() % 4 == 0) body["layerDigest"] = DigestOf(secret_layer_);
      if (rng() % 6 == 0) body["resourceArn"] = "arn:aws:ecr:us-east-1:" + owner_.account_id + ":repository/secret/app";
      if (rng() % 6 == 0) body["policyText"] = kAllowEverything;
      if (rng() % 8 == 0) body["force"] = true;
      auto r = Ecr(mallory_, op, body);
      ExpectNoSecret(r, op + " " + body.dump(-1, ' ', false, Json::error_handler_t::replace));
      if (r.status < 300) ++ok_answers;
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(ok_answers, 0);  // the walk did reach success paths
  // The owner's image is untouched by all of it.
  auto still = Ecr(owner_, "BatchGetImage", {{"repositoryName", "secret/app"}, {"imageIds", {{{"imageTag", "v1"}}}}});
  ASSERT_EQ(still.status, 200);
  EXPECT_EQ(Json::parse(still.body)["images"].size(), 1u) << still.body;
}

}  // namespace
}  // namespace annex::registry
