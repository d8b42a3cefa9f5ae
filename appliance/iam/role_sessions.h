#pragma once
// RoleSessions: temporary credentials of roles — for AssumeRole once its
// caller passed the trust policy, and for workloads on behalf of an AWS
// service principal (service::RoleCredentialSource). Session policies given
// by ARN are resolved to their documents when the session is made.
//
// Thread-safe.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/iam/identity_store.h"
#include "appliance/iam/policy_store.h"
#include "appliance/policy/policy.h"
#include "appliance/service/role_credentials.h"

namespace annex::iam {

// arn:aws:iam::ACCOUNT:role/PATH/NAME → (ACCOUNT, NAME); nullopt otherwise.
std::optional<std::pair<std::string, std::string>> ParseRoleArn(std::string_view arn);

// Whether `trust` lets the AWS service `service_principal` assume the role:
// an Allow of sts:AssumeRole naming it without conditions, and no Deny
// naming it (conditions on a Deny are not evaluated: it counts).
bool TrustsService(const policy::Policy& trust, std::string_view service_principal);

struct RoleSessionRequest {
  const Role* role = nullptr;
  std::string session_name;
  std::chrono::seconds duration{3600};
  std::string inline_policy;             // validated by the caller; empty: none
  std::vector<std::string> policy_arns;  // managed session policies
  std::vector<std::pair<std::string, std::string>> tags;
};

class RoleSessions final : public service::RoleCredentialSource {
 public:
  RoleSessions(IdentityStore& identities, const PolicyStore& policies) : identities_(identities), policies_(policies) {}

  // A session of the role; the caller has checked the trust policy. The
  // role's tags become principal tags unless a session tag overrides them.
  Result<TemporaryCredentials> Open(const RoleSessionRequest& request);

  // service::RoleCredentialSource
  Result<service::RoleCredentials> Mint(const service::RoleGrant& grant) override;

 private:
  IdentityStore& identities_;
  const PolicyStore& policies_;
};

}  // namespace annex::iam
