#pragma once
// PolicyStore: an account's customer managed policies (with their versions),
// the AWS managed ones (built in), attachments to users, groups and roles,
// and inline policies; persisted in LMDB (<data>/iam-policies).
//
// Documents are validated when stored (policy::ParsePolicy, IAM's limits);
// errors carry IAM's codes: MalformedPolicyDocument, LimitExceeded,
// NoSuchEntity, EntityAlreadyExists, DeleteConflict, InvalidInput.
// Whether the user, group or role exists is the caller's to check.
//
// The authorizer reads an entity's policies compiled (IdentityPolicies);
// they are compiled once per change, never per request.
//
// Thread-safe. Changes are durable when they return.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <string>
#include <vector>

#include "appliance/core/result.h"
#include "appliance/os/clock.h"
#include "appliance/policy/policy.h"
#include "appliance/store/lmdb_env.h"

namespace annex::iam {

enum class EntityType { kUser, kGroup, kRole };

struct ManagedPolicy {
  std::string arn;
  std::string id;  // ANPA…
  std::string name;
  std::string path = "/";
  std::string description;
  std::string default_version = "v1";
  uint64_t attachment_count = 0;
  uint64_t boundary_count = 0;  // entities it is the permissions boundary of
  bool aws_managed = false;
  os::SystemTime created;
  os::SystemTime updated;
};

struct PolicyVersion {
  std::string version_id;  // v1, v2, …
  std::string document;
  bool is_default = false;
  os::SystemTime created;
};

// Scope of ListPolicies, as IAM names it.
enum class PolicyScope { kAll, kAws, kLocal };

// An entity's identity policies, compiled: inline ones and the default
// version of each attached managed policy.
struct CompiledPolicies {
  std::vector<policy::Policy> policies;
  std::optional<policy::Policy> boundary;  // the permissions boundary's default version
};

class PolicyStore {
 public:
  static Result<std::unique_ptr<PolicyStore>> Open(const std::string& dir, const os::Clock& clock);

  // Customer managed policies (the AWS managed ones are read-only).
  Result<ManagedPolicy> CreatePolicy(const std::string& account, const std::string& name, const std::string& path,
                                     const std::string& description, const std::string& document);
  Result<ManagedPolicy> GetPolicy(const std::string& account, const std::string& arn) const;
  Result<std::vector<ManagedPolicy>> ListPolicies(const std::string& account, PolicyScope scope,
                                                  bool only_attached) const;
  // DeleteConflict while attached or while it has versions besides the default.
  Status DeletePolicy(const std::string& account, const std::string& arn);
  // At most 5 versions (LimitExceeded).
  Result<PolicyVersion> CreatePolicyVersion(const std::string& account, const std::string& arn,
                                            const std::string& document, bool set_as_default);
  Result<PolicyVersion> GetPolicyVersion(const std::string& account, const std::string& arn,
                                         const std::string& version_id) const;
  Result<std::vector<PolicyVersion>> ListPolicyVersions(const std::string& account, const std::string& arn) const;
  // DeleteConflict for the default version.
  Status DeletePolicyVersion(const std::string& account, const std::string& arn, const std::string& version_id);
  Status SetDefaultPolicyVersion(const std::string& account, const std::string& arn, const std::string& version_id);

  // Attachments (at most 10 per entity, as IAM's default quota).
  Status AttachPolicy(const std::string& account, EntityType type, const std::string& entity, const std::string& arn);
  Status DetachPolicy(const std::string& account, EntityType type, const std::string& entity, const std::string& arn);
  Result<std::vector<ManagedPolicy>> ListAttachedPolicies(const std::string& account, EntityType type,
                                                          const std::string& entity) const;
  // Entities a policy is attached to, by type.
  Result<std::vector<std::pair<EntityType, std::string>>> ListEntitiesForPolicy(const std::string& account,
                                                                                 const std::string& arn) const;

  // Inline policies.
  Status PutInlinePolicy(const std::string& account, EntityType type, const std::string& entity,
                         const std::string& name, const std::string& document);
  Result<std::string> GetInlinePolicy(const std::string& account, EntityType type, const std::string& entity,
                                      const std::string& name) const;
  Status DeleteInlinePolicy(const std::string& account, EntityType type, const std::string& entity,
                            const std::string& name);
  Result<std::vector<std::string>> ListInlinePolicies(const std::string& account, EntityType type,
                                                      const std::string& entity) const;
  // Whether anything is attached to or inlined in the entity (DeleteUser refuses then).
  Result<bool> HasPolicies(const std::string& account, EntityType type, const std::string& entity) const;

  // Permissions boundaries of users and roles: a managed policy (InvalidInput
  // when the ARN names none). A policy in use as one cannot be deleted.
  Status SetBoundary(const std::string& account, EntityType type, const std::string& entity, const std::string& arn);
  Result<std::optional<std::string>> GetBoundary(const std::string& account, EntityType type,
                                                 const std::string& entity) const;
  Status DeleteBoundary(const std::string& account, EntityType type, const std::string& entity);

  // The entity's identity policies and boundary, compiled; cached until a change.
  Result<std::shared_ptr<const CompiledPolicies>> IdentityPolicies(const std::string& account, EntityType type,
                                                                   const std::string& entity) const;

 private:
  PolicyStore(std::unique_ptr<store::LmdbEnv> env, const os::Clock& clock) : env_(std::move(env)), clock_(clock) {}
  Status Init();
  void Changed();

  std::unique_ptr<store::LmdbEnv> env_;
  const os::Clock& clock_;
  store::Table policies_;     // account \0 name → managed policy record (versions inside)
  store::Table attachments_;  // account \0 type \0 entity \0 arn → ""
  store::Table inline_;       // account \0 type \0 entity \0 name → document
  store::Table boundaries_;   // account \0 type \0 entity \0 → policy ARN

  // Every request of a user reads the cache; readers share the lock.
  mutable std::shared_mutex cache_mu_;
  mutable std::map<std::string, std::shared_ptr<const CompiledPolicies>> cache_;  // by entity key
  uint64_t generation_ = 0;  // bumped by every change, under cache_mu_
};

std::string_view EntityTypeName(EntityType type);  // "User", "Group", "Role"

}  // namespace annex::iam
