#pragma once
// RootServiceUsers: service::ServiceUsers over the IAM stores — users that
// services own in the appliance root's account, each with one inline policy
// (kPolicyName) and one access key.
//
// IdentityStore keeps no paths for users, so these are ordinary users under
// "/": a name the caller picks is all that tells them apart, and Provision
// takes over a user of that name that an operator made. Callers use names
// of their own prefix ("annex-rds-…").
//
// Thread-safe: changes are made one at a time, so two Provisions of one
// user cannot race for its two key slots.

#include <mutex>
#include <string>

#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/service/service_users.h"

namespace annex::iam {

class RootServiceUsers final : public service::ServiceUsers {
 public:
  // The name of the one inline policy each service user has.
  static constexpr const char* kPolicyName = "annex-service";

  // `account_id` is the appliance root's account; the stores outlive this.
  RootServiceUsers(IdentityStore& identities, PolicyStore& policies, std::string account_id)
      : identities_(identities), policies_(policies), account_id_(std::move(account_id)) {}

  // InvalidArgument (ValidationError) for a name IAM would refuse,
  // InvalidArgument (MalformedPolicyDocument) for a policy that does not
  // parse, LimitExceeded for one over a user's inline limit; nothing is
  // changed then.
  Result<service::ServiceUserKey> Provision(const std::string& name, const std::string& policy_json) override;
  // Also detaches managed policies, the permissions boundary and groups an
  // operator may have given the user, which would otherwise keep it.
  Status Remove(const std::string& name) override;

 private:
  // Deletes every inline policy of `name` but `keep` (none when empty).
  Status DeleteInlinePolicies(const std::string& name, const std::string& keep);
  Status DeleteAccessKeys(const std::string& name);

  IdentityStore& identities_;
  PolicyStore& policies_;
  const std::string account_id_;
  std::mutex mu_;  // one change at a time
};

}  // namespace annex::iam
