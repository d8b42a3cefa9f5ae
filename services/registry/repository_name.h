#pragma once
// ECR's rules for repository names, as CreateRepository enforces them: 2 to
// 256 characters, lower-case path components of letters and digits joined
// by ".", "_", "__" or runs of "-", separated by "/". Every ECR operation
// that names a repository checks the name the same way before looking it up.

#include <string_view>

#include "appliance/core/status.h"

namespace annex::registry {

inline constexpr size_t kMinRepositoryName = 2;
inline constexpr size_t kMaxRepositoryName = 256;

// True if `name` matches the pattern (length not checked).
bool MatchesRepositoryPattern(std::string_view name);

// OK, or InvalidParameterException worded as ECR words it, naming `member`
// ("repositoryName").
Status ValidateRepositoryName(std::string_view name, std::string_view member = "repositoryName");

}  // namespace annex::registry
