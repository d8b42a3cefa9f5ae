#pragma once
// The lifecycle runner: applies every bucket's lifecycle rules
// (lifecycle_config.h), as S3 does once a day. The platform scheduler fires
// it at midnight UTC (RegisterLifecycleSchedule); a pass walks each bucket
// with rules in batches of keys, each batch one short write transaction, so
// requests keep being served (their writes queue with the batches in the
// group committer, never behind a whole pass).
//
// What expires: a current version past its Expiration (in a versioned
// bucket it becomes noncurrent under a new delete marker, as in S3); a
// delete marker left with no other version (ExpiredObjectDeleteMarker); a
// noncurrent version past NoncurrentDays beyond the NewerNoncurrentVersions
// kept; an upload older than DaysAfterInitiation. Each change re-checks,
// inside its transaction, that the version is still the one judged.
//
// Blocking: run from the scheduler's thread.

#include <cstdint>
#include <memory>

#include "appliance/core/result.h"
#include "appliance/schedule/scheduler.h"
#include "services/objectstore/object_store.h"

namespace annex::objectstore {

struct LifecycleRunStats {
  uint64_t buckets = 0;               // with a configuration, walked
  uint64_t expired = 0;               // current versions expired
  uint64_t noncurrent_removed = 0;    // noncurrent versions removed
  uint64_t delete_markers_removed = 0;
  uint64_t uploads_aborted = 0;
};

// One pass over every bucket at `now_ms`. A bucket whose pass fails is
// logged and skipped.
Result<LifecycleRunStats> RunLifecycle(ObjectStore& store, int64_t now_ms);

// The target and daily schedule ("s3/lifecycle", midnight UTC) that run it.
Status RegisterLifecycleSchedule(schedule::Scheduler& scheduler, std::weak_ptr<ObjectStore> store);

}  // namespace annex::objectstore
