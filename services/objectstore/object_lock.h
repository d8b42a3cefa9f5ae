#pragma once
// S3 Object Lock's rules (WORM retention of object versions): the bucket's
// configuration, a version's retention and legal hold, and what they forbid.
//
// A version is locked while its retention date is in the future or its legal
// hold is ON. A locked version cannot be deleted by id — by anyone, the
// account root, lifecycle rules and the appliance's operators included —
// except that a GOVERNANCE retention (never a legal hold, never COMPLIANCE)
// gives way to a caller who sends x-amz-bypass-governance-retention: true and
// holds s3:BypassGovernanceRetention. Deleting without a version id only adds
// a delete marker, so it is always allowed. Time is the store's injectable
// clock (ObjectStore::NowMillis), so tests can move it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/headers.h"
#include "services/objectstore/records.h"

namespace annex::objectstore {

std::string_view LockModeName(LockMode mode);  // "GOVERNANCE", "COMPLIANCE", "" for kNone

// PutObjectLockConfiguration's body: ObjectLockEnabled must be Enabled;
// Rule.DefaultRetention has a Mode and exactly one of Days and Years (> 0).
// MalformedXML / InvalidArgument as S3.
Result<BucketObjectLock> ParseObjectLockConfiguration(std::string_view body);
std::string RenderObjectLockConfiguration(const BucketObjectLock& config);

// PutObjectRetention's body. A Retention with neither Mode nor
// RetainUntilDate removes the retention (mode kNone). A date that is not in
// the future → InvalidArgument.
Result<ObjectLockState> ParseRetention(std::string_view body, int64_t now_ms);
// The Retention document (GetObjectRetention) of a version that has one.
std::string RenderRetention(const ObjectLockState& state);

// PutObjectLegalHold's body: Status ON or OFF.
Result<bool> ParseLegalHold(std::string_view body);
std::string RenderLegalHold(bool on);

// Whether the version's retention date lies after `now_ms`.
bool UnderRetention(const ObjectLockState& state, int64_t now_ms);
// Under retention or held.
bool IsLocked(const ObjectLockState& state, int64_t now_ms);

// Whether a version may be deleted at `now_ms`; `bypass_governance` when the
// caller sent the bypass header and holds the permission. AccessDenied
// ("Access Denied because object protected by object lock.") otherwise.
Status CheckVersionDeletable(const ObjectLockState& state, int64_t now_ms, bool bypass_governance);

// Whether a version's retention may become `wanted` (mode and date; mode
// kNone removes it): an expired retention may change freely; COMPLIANCE may
// only be extended; GOVERNANCE may be extended or turned into COMPLIANCE,
// and shortened, removed only with the bypass. AccessDenied otherwise.
Status CheckRetentionChange(const ObjectLockState& current, const ObjectLockState& wanted, int64_t now_ms,
                            bool bypass_governance);

// The retention the bucket's default rule gives a version created at `now_ms`
// (S3: days of 24 hours, years of 365 days).
void ApplyDefaultRetention(const BucketObjectLock& config, int64_t now_ms, ObjectLockState& state);

// The x-amz-object-lock-mode / -retain-until-date / -legal-hold headers of a
// write; nullopt when none is sent. InvalidArgument for an unknown mode or
// hold, a mode without a date or the reverse, a date not in the future.
Result<std::optional<ObjectLockState>> ParseObjectLockHeaders(const http::Headers& headers, int64_t now_ms);

// Whether a write sends any x-amz-object-lock-* header: S3 then requires
// Content-MD5 or a checksum of a PutObject's body.
bool HasObjectLockHeaders(const http::Headers& headers);

// InvalidRequest ("Bucket is missing Object Lock Configuration") unless the
// bucket has Object Lock enabled.
Status RequireObjectLock(const BucketRecord& bucket);

struct S3Call;

// Whether the call may bypass GOVERNANCE retention on `key`: it sends
// x-amz-bypass-governance-retention: true and the caller holds
// s3:BypassGovernanceRetention (the owner's root holds it unless the bucket
// policy denies it).
bool GovernanceBypassed(const S3Call& call, const BucketRecord& bucket, std::string_view key);

// The lock a write (PutObject, CopyObject, CreateMultipartUpload, POST)
// asks for in its x-amz-object-lock-* headers (`headers`: the request's, or
// a POST form's fields), checked: the bucket must have Object Lock, and the
// caller s3:PutObjectRetention / s3:PutObjectLegalHold on the call's key.
// Empty when none is asked for (the bucket's default applies when the
// version is stored).
Result<ObjectLockState> ObjectLockForWrite(const S3Call& call, const BucketRecord& bucket,
                                           const http::Headers& headers);

// The lock headers of GET/HEAD of a version.
void AddObjectLockHeaders(const ObjectLockState& state, http::Headers& out);

// What of a version's lock GET/HEAD may show the caller, as S3 decides: the
// retention only to a caller holding s3:GetObjectRetention on the key, the
// legal hold only with s3:GetObjectLegalHold; the rest is cleared from
// `state` (the caller's copy of the record). Asks nothing when the version
// has neither, so the common read costs one comparison.
void HideUnpermittedObjectLock(const S3Call& call, const BucketRecord& bucket, ObjectLockState& state);

}  // namespace annex::objectstore
