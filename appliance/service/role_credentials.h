#pragma once
// Role credentials for workloads: a task's role, a function's execution
// role. A service asks the platform for temporary credentials of a role on
// behalf of an AWS service principal ("ecs-tasks.amazonaws.com",
// "lambda.amazonaws.com"); the role's trust policy must allow that
// principal to sts:AssumeRole, as in AWS. The credentials are an assumed-
// role session (arn:aws:sts::A:assumed-role/ROLE/SESSION), authorized like
// any other, and stop working when they expire; RotatingRoleCredentials
// replaces them before that.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "appliance/core/result.h"
#include "appliance/os/clock.h"

namespace annex::service {

struct RoleGrant {
  std::string account_id;         // the workload's account, which owns the role
  std::string role_arn;           // arn:aws:iam::A:role/NAME
  std::string service_principal;  // "ecs-tasks.amazonaws.com"
  std::string session_name;       // e.g. the task id
  std::chrono::seconds duration{3600};
};

struct RoleCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  os::SystemTime expiration;
};

class RoleCredentialSource {
 public:
  virtual ~RoleCredentialSource() = default;
  // AccessDenied when the role does not trust the service principal;
  // NotFound when there is no such role.
  virtual Result<RoleCredentials> Mint(const RoleGrant& grant) = 0;
};

// One workload's credentials, kept fresh: Current() mints new ones once
// less than a quarter of their lifetime is left (at least 5 minutes before
// expiry, as ECS and Lambda rotate), so a workload never holds credentials
// about to stop working. Thread-safe.
class RotatingRoleCredentials {
 public:
  RotatingRoleCredentials(RoleCredentialSource& source, RoleGrant grant, const os::Clock& clock)
      : source_(source), grant_(std::move(grant)), clock_(clock) {}

  Result<RoleCredentials> Current() {
    std::lock_guard lock(mu_);
    auto margin = std::max<std::chrono::seconds>(grant_.duration / 4, std::chrono::minutes(5));
    if (!current_ || clock_.Now() + margin >= current_->expiration) {
      ANNEX_ASSIGN_OR_RETURN(RoleCredentials fresh, source_.Mint(grant_));
      current_ = std::move(fresh);
    }
    return *current_;
  }

 private:
  RoleCredentialSource& source_;
  const RoleGrant grant_;
  const os::Clock& clock_;
  std::mutex mu_;
  std::optional<RoleCredentials> current_;
};

}  // namespace annex::service
