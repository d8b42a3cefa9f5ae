#pragma once
// Principal: who made a request, as established by SigV4 verification.

#include <string>

namespace annex::auth {

struct Principal {
  bool anonymous = true;
  std::string account_id;     // 12 digits
  std::string account_name;   // human name of the account (S3 owner DisplayName)
  std::string user_name;      // empty for the account's root
  std::string access_key_id;
  std::string arn;            // arn:aws:iam::<account>:root or :user/<name>
  std::string user_id;        // aws:userid: the user's AIDA… id, or the account id for a root
  bool is_root() const { return !anonymous && user_name.empty(); }
};

}  // namespace annex::auth
