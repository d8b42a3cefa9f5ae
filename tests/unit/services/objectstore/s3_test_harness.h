#pragma once
// Test helpers for the object store: S3Harness drives the real service
// through fake request bodies and response writers on a private io_context —
// the service cannot tell it from the edge. Temp dirs and fault injection
// come from the shared helpers (tests/unit/testing/temp_dir.h,
// appliance/os/fault_injection_file_system.h).

#include <utility>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "appliance/auth/principal.h"
#include "appliance/http/exchange.h"
#include "appliance/policy/policy.h"
#include "appliance/service/authorizer.h"
#include "appliance/os/blocking_pool.h"
#include "appliance/os/clock.h"
#include "appliance/os/file_system.h"
#include "appliance/service/service.h"
#include "services/objectstore/object_store_service.h"
#include "tests/unit/testing/temp_dir.h"

namespace annex::objectstore::testing {

using annex::testing::TempDir;

// The platform's decision for the object store's requests, with identity
// policies held here: policy::Evaluate over a user's policies (set with
// SetUserPolicy; roots and anonymous callers have none) and the bucket
// policy the store passes. Global condition keys are not known.
class TestAuthorizer final : public service::Authorizer {
 public:
  policy::Verdict Check(const service::RequestContext& ctx, service::AccessRequest& request,
                        policy::AuthorizationRequest* evaluated = nullptr) const override;
  // Replaces the identity policy of user `name` of `account`.
  void SetUserPolicy(const std::string& account, const std::string& name, const std::string& document);

 private:
  mutable std::mutex mu_;
  std::map<std::string, policy::Policy> users_;  // "account/name" → its policy
};

// Every regular file below `dir`, as paths relative to it.
std::vector<std::string> ListFilesRecursive(const std::string& dir);

struct TestResponse {
  int status = 0;
  http::Headers headers;
  std::string body;
  Status handler_status;  // what Handle() returned
  std::string operation;

  const std::string& Header(std::string_view name) const;
  // The <Code> of an S3 error body, or "".
  std::string ErrorCode() const;
};

struct TestRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  http::Headers trailers;
  size_t body_piece = 7919;  // the body arrives in pieces of this size
};

class S3Harness {
 public:
  // Opens the service on `dir` (a TempDir path) with `fs` (null: real FS).
  explicit S3Harness(const std::string& dir, os::FileSystem* fs = nullptr, size_t inline_threshold = 1024);
  ~S3Harness();

  // Re-opens the service on the same directory (a restart).
  void Reopen();
  void Close();

  TestResponse Send(const TestRequest& request);
  TestResponse Send(std::string method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {});
  // The same with the body's Content-MD5, which S3 requires of DeleteObjects,
  // CORS and lifecycle configurations and the Object Lock operations.
  TestResponse SendWithMd5(std::string method, std::string target, std::string body,
                           std::vector<std::pair<std::string, std::string>> headers = {});

  // Runs all requests at once on one io_context served by two threads, as
  // the edge would; responses come back in request order.
  std::vector<TestResponse> SendConcurrently(const std::vector<TestRequest>& requests);

  void ActAs(std::string account_id, std::string account_name);
  // An IAM user of the account; its policies are set on authorizer().
  void ActAsUser(std::string account_id, std::string user_name);
  void ActAnonymous();

  // Where the identity policies of ActAsUser's users are set.
  TestAuthorizer& authorizer() { return authorizer_; }

  service::Service& service() { return *service_; }
  // The appliance's own handle on the store (the sync agent's feed, control-plane commands).
  StoreControl& control() { return *control_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/objectstore"; }
  os::ManualClock& clock() { return clock_; }

 private:
  std::string dir_;
  os::FileSystem* fs_;
  size_t inline_threshold_;
  os::ManualClock clock_;
  os::BlockingPool pool_{2};
  auth::Principal principal_;
  TestAuthorizer authorizer_;
  std::unique_ptr<StoreControl> control_;
  std::unique_ptr<service::Service> service_;
};

// "bucket", "key" → a 5 MiB+ deterministic payload for multipart tests.
std::string Payload(size_t size, char seed = 'a');

}  // namespace annex::objectstore::testing
