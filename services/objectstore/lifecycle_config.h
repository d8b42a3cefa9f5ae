#pragma once
// A bucket's lifecycle configuration (PutBucketLifecycleConfiguration): its
// rules, S3's checks of them, and when each rule makes a version expire.
//
// S3's timing: an object expires `Days` after its creation, rounded up to
// the next midnight UTC; a noncurrent version `NoncurrentDays` after it
// became noncurrent (when its successor was written), rounded the same way;
// an incomplete multipart upload `DaysAfterInitiation` after it began.
// The appliance has one storage class, so transitions are refused.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/result.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

struct LifecycleFilter {
  bool legacy_prefix = false;  // the rule's own <Prefix>, not a <Filter>
  std::string prefix;
  TagSet tags;  // all must be on the object
  std::optional<uint64_t> size_greater_than;
  std::optional<uint64_t> size_less_than;
};

struct LifecycleRule {
  std::string id;
  bool enabled = true;
  LifecycleFilter filter;
  std::optional<int64_t> expiration_days;
  std::optional<int64_t> expiration_date_ms;  // midnight UTC
  bool expired_object_delete_marker = false;
  std::optional<int64_t> noncurrent_days;
  std::optional<int64_t> newer_noncurrent_versions;  // how many noncurrent versions to keep regardless
  std::optional<int64_t> abort_incomplete_days;
};

struct LifecycleConfiguration {
  std::vector<LifecycleRule> rules;
};

// Parses and checks a LifecycleConfiguration body: MalformedXML, or
// InvalidArgument / InvalidRequest / InvalidStorageClass with S3's messages.
Result<LifecycleConfiguration> ParseLifecycleConfiguration(std::string_view body);

// The configuration as GetBucketLifecycleConfiguration returns it (and as
// the bucket record keeps it).
std::string RenderLifecycleConfiguration(const LifecycleConfiguration& config);

// Whether the rule's filter selects an object version.
bool RuleSelects(const LifecycleRule& rule, const ObjectRecord& version);

// `ms` rounded up to the next midnight UTC (unchanged when at one).
int64_t CeilToMidnightUtc(int64_t ms);

// When `rule` expires the current version `object`; nullopt if it never does.
std::optional<int64_t> CurrentExpiry(const LifecycleRule& rule, const ObjectRecord& object);

// The x-amz-expiration value for a current version: the earliest expiry of
// the enabled rules that select it, as `expiry-date="…", rule-id="…"`; empty
// when none does.
std::string ExpirationHeader(const LifecycleConfiguration& config, const ObjectRecord& object);

}  // namespace annex::objectstore
