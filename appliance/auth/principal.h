#pragma once
// Principal: who made a request, as established by SigV4 verification.
//
// Four kinds sign requests: an account's root, its IAM users (both with
// long-term AKIA… keys), and sessions with temporary ASIA… credentials from
// STS — a user's or root's own session (GetSessionToken) or a role's
// (AssumeRole, and the credentials the platform mints for workloads).

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace annex::policy {
struct Policy;
}

namespace annex::auth {

// What temporary credentials carry besides their key: when they stop
// working, the token a request must present with them, and how the session
// narrows or describes its principal.
struct Session {
  std::string token;  // X-Amz-Security-Token
  std::chrono::system_clock::time_point expiration;
  // Session policies (AssumeRole's Policy and PolicyArns), compiled when the
  // session was first read; null when the session was not narrowed.
  std::shared_ptr<const std::vector<policy::Policy>> policies;
  // Session tags: aws:PrincipalTag/KEY.
  std::vector<std::pair<std::string, std::string>> tags;
};

struct Principal {
  bool anonymous = true;
  std::string account_id;     // 12 digits
  std::string account_name;   // human name of the account (S3 owner DisplayName)
  std::string user_name;      // the IAM user; empty for the account's root and for role sessions
  std::string access_key_id;
  // arn:aws:iam::<account>:root, arn:aws:iam::<account>:user/<name>, or
  // arn:aws:sts::<account>:assumed-role/<role>/<session>.
  std::string arn;
  // aws:userid: the user's AIDA… id, the account id for a root, or
  // AROA…:SESSION for a role session.
  std::string user_id;
  // A role session's role; empty otherwise.
  std::string role_name;
  std::string role_arn;  // arn:aws:iam::<account>:role/<path><name>
  std::string session_name;
  // Set for temporary credentials.
  std::shared_ptr<const Session> session;

  bool is_role_session() const { return !anonymous && !role_name.empty(); }
  bool is_root() const { return !anonymous && user_name.empty() && role_name.empty(); }
  bool is_user() const { return !anonymous && !user_name.empty(); }
};

}  // namespace annex::auth
