#pragma once
// ServiceUsers: IAM users that a service owns in the appliance root's
// account, for helpers of its own that call the appliance's APIs with
// long-term keys (a database instance's pgBackRest, archiving WAL into S3
// at any hour). Each user's one inline policy scopes it to what that helper
// needs (one instance's prefix in one bucket), so a helper that leaks its
// key — pgBackRest runs as the instance's OS user, which the instance's
// superuser can reach — exposes nothing else. The root account sees these
// users in IAM under the path /annex-service/.
//
// Implemented by the IAM module (iam::RootServiceUsers); thread-safe.

#include <string>

#include "appliance/core/result.h"

namespace annex::service {

struct ServiceUserKey {
  std::string user_arn;
  std::string access_key_id;
  std::string secret_access_key;
};

class ServiceUsers {
 public:
  virtual ~ServiceUsers() = default;
  // Creates the user `name` in the root account if it is not there, makes
  // `policy_json` its one inline policy, deletes its older keys and returns
  // a new one. Calling it again (a key lost with a crash) is safe.
  virtual Result<ServiceUserKey> Provision(const std::string& name, const std::string& policy_json) = 0;
  // Deletes the user with its keys and policies; OK if it is not there.
  virtual Status Remove(const std::string& name) = 0;
};

}  // namespace annex::service
