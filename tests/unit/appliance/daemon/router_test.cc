// The router picks services by their descriptors alone: target prefix, Host
// suffix, signing name, path prefix, then the catch-all.

#include "appliance/daemon/router.h"

#include <gtest/gtest.h>

namespace annex::daemon {
namespace {

class FakeService final : public service::Service {
 public:
  explicit FakeService(service::Descriptor d) : d_(std::move(d)) {}
  const service::Descriptor& descriptor() const override { return d_; }
  http::Task<Status> Handle(service::RequestContext&) override { co_return Status::OK(); }

 private:
  service::Descriptor d_;
};

http::Request Make(std::string target) {
  http::Request r;
  EXPECT_TRUE(http::ParseTarget(target, r).ok());
  return r;
}

void Sign(http::Request& r, std::string_view service) {
  r.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/" + std::string(service) +
                                     "/aws4_request, SignedHeaders=host, Signature=00");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(&s3_);
    router_.Add(&logs_);
    router_.Add(&registry_);
    router_.Add(&apis_);
  }

  std::string RouteName(const http::Request& r, Unrouted* unrouted = nullptr) {
    Unrouted ignored;
    service::Service* s = router_.Route(r, unrouted ? unrouted : &ignored);
    return s ? std::string(s->name()) : "";
  }

  static service::Descriptor Described(std::string name, void (*fill)(service::Descriptor&)) {
    service::Descriptor d;
    d.name = std::move(name);
    fill(d);
    return d;
  }

  FakeService s3_{Described("s3", [](service::Descriptor& d) {
    d.signing_names = {"s3"};
    d.catch_all = true;
  })};
  FakeService logs_{Described("logs", [](service::Descriptor& d) {
    d.signing_names = {"logs"};
    d.target_prefixes = {"Logs_20140328."};
    d.protocol = service::Protocol::kJson11;
  })};
  FakeService registry_{Described("ecr", [](service::Descriptor& d) {
    d.signing_names = {"ecr"};
    d.path_prefixes = {"/v2/"};
  })};
  FakeService apis_{Described("execute-api", [](service::Descriptor& d) { d.host_suffixes = {"execute-api.localhost"}; })};
  Router router_;
};

TEST_F(RouterTest, TargetHeaderWins) {
  http::Request r = Make("/");
  r.headers.Add("X-Amz-Target", "Logs_20140328.PutLogEvents");
  Sign(r, "ecr");
  EXPECT_EQ(RouteName(r), "logs");
}

TEST_F(RouterTest, CredentialScopeNamesTheService) {
  http::Request r = Make("/");
  Sign(r, "ecr");
  EXPECT_EQ(RouteName(r), "ecr");
  http::Request presigned = Make("/b/k?X-Amz-Credential=AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request");
  EXPECT_EQ(RouteName(presigned), "s3");
}

TEST_F(RouterTest, HostPathAndTheCatchAll) {
  http::Request invoke = Make("/prod/hello");
  invoke.headers.Add("Host", "a1b2c3.execute-api.localhost:4566");
  EXPECT_EQ(RouteName(invoke), "execute-api");
  EXPECT_EQ(RouteName(Make("/v2/")), "ecr");
  EXPECT_EQ(RouteName(Make("/public-bucket/object")), "s3");
}

TEST_F(RouterTest, UnknownServicesAreNamedInTheCallersProtocol) {
  Unrouted unrouted;
  http::Request json = Make("/");
  json.headers.Add("X-Amz-Target", "AWSEvents.PutRule");
  EXPECT_EQ(RouteName(json, &unrouted), "");
  EXPECT_EQ(unrouted.wanted, "AWSEvents.PutRule");
  EXPECT_EQ(unrouted.protocol, service::Protocol::kJson11);

  http::Request query = Make("/");
  query.headers.Add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  Sign(query, "rds");
  EXPECT_EQ(RouteName(query, &unrouted), "");
  EXPECT_EQ(unrouted.wanted, "rds");
  EXPECT_EQ(unrouted.protocol, service::Protocol::kQuery);

  http::Request rest = Make("/2015-03-31/functions");
  Sign(rest, "lambda");
  EXPECT_EQ(RouteName(rest, &unrouted), "");
  EXPECT_EQ(unrouted.protocol, service::Protocol::kRestXml);
}

}  // namespace
}  // namespace annex::daemon
