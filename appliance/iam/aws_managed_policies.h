#pragma once
// The AWS managed policies the appliance's users reach for, by their real
// names and ARNs (arn:aws:iam::aws:policy/…), with documents restricted to
// the services the appliance has. They are built in: every account sees
// them, none can change or delete them.

#include <string>
#include <string_view>
#include <vector>

namespace annex::iam {

struct AwsManagedPolicy {
  std::string_view name;
  std::string_view path;  // "/" or "/service-role/"
  std::string_view description;
  std::string_view document;
};

const std::vector<AwsManagedPolicy>& AwsManagedPolicies();
// arn:aws:iam::aws:policy<path><name>
std::string AwsManagedPolicyArn(const AwsManagedPolicy& p);
// The built-in policy with this ARN, or null.
const AwsManagedPolicy* FindAwsManagedPolicy(std::string_view arn);

}  // namespace annex::iam
