#include "services/objectstore/lifecycle_runner.h"

#include "appliance/core/log.h"
#include "appliance/core/strings.h"
#include "services/objectstore/bucket_key_scanner.h"
#include "services/objectstore/lifecycle_config.h"
#include "services/objectstore/object_key.h"
#include "services/objectstore/object_lock.h"
#include "services/objectstore/versions.h"

namespace annex::objectstore {
namespace {

constexpr size_t kBatchKeys = 256;
constexpr int64_t kDayMs = 86400000;
constexpr std::string_view kLifecycleTarget = "s3/lifecycle";
constexpr std::string_view kLifecycleSchedule = "s3/lifecycle";
constexpr std::string_view kMidnightUtc = "cron(0 0 * * ? *)";

enum class Change { kExpireCurrent, kRemoveMarker, kRemoveNoncurrent, kAbortUpload };

struct Action {
  Change change;
  std::string key;
  std::string id;  // version id, or upload id
};

bool HasNoncurrent(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key) {
  Result<bool> any = HasNoncurrentVersions(txn, t, bucket, key);
  return !any.ok() || *any;  // unreadable: leave the marker alone
}

// What the rules do to one key's versions at `now`.
Status JudgeKey(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, const LifecycleConfiguration& cfg,
                const ObjectRecord& current, int64_t now, std::vector<Action>& actions) {
  for (const LifecycleRule& rule : cfg.rules) {
    if (!rule.enabled) continue;
    if (!current.delete_marker) {
      std::optional<int64_t> at = CurrentExpiry(rule, current);
      if (at && *at <= now) {
        actions.push_back({Change::kExpireCurrent, current.key, current.version_id});
        break;
      }
    } else if (rule.expired_object_delete_marker && StartsWith(current.key, rule.filter.prefix) &&
               !HasNoncurrent(txn, t, bucket, current.key)) {
      actions.push_back({Change::kRemoveMarker, current.key, current.version_id});
      return Status::OK();
    }
  }
  // Noncurrent versions: each became noncurrent when the next newer one was written.
  int64_t successor_ms = current.modified_ms;
  int64_t index = 0;
  return ForEachNoncurrentVersion(txn, t, bucket, current.key, [&](ObjectRecord& v) -> Result<bool> {
    for (const LifecycleRule& rule : cfg.rules) {
      if (!rule.enabled || !rule.noncurrent_days || !RuleSelects(rule, v)) continue;
      if (index < rule.newer_noncurrent_versions.value_or(0)) continue;
      if (CeilToMidnightUtc(successor_ms + *rule.noncurrent_days * kDayMs) <= now) {
        actions.push_back({Change::kRemoveNoncurrent, v.key, v.version_id});
        break;
      }
    }
    successor_ms = v.modified_ms;
    ++index;
    return true;
  });
}

// Applies one judged change, if the version is still the one judged.
Status Apply(store::WriteTxn& txn, const Tables& t, StatsDelta& delta, std::string_view bucket,
             const BucketRecord& record, const Action& a, int64_t now, std::vector<std::string>& files,
             LifecycleRunStats& stats) {
  if (a.change == Change::kAbortUpload) {
    ANNEX_ASSIGN_OR_RETURN(bool removed, RemoveUpload(txn, t, bucket, a.key, a.id, files));
    stats.uploads_aborted += removed;
    return Status::OK();
  }
  ObjectRecord version;
  bool is_current = false;
  ANNEX_ASSIGN_OR_RETURN(bool found, LoadVersion(txn, t, bucket, a.key, a.id, version, false, &is_current));
  if (!found) return Status::OK();
  switch (a.change) {
    case Change::kExpireCurrent: {
      if (!is_current || version.delete_marker) return Status::OK();
      if (record.versioning == Versioning::kOff && IsLocked(version.lock, now)) return Status::OK();
      ++stats.expired;
      if (record.versioning == Versioning::kOff) return RemoveCurrentVersion(txn, t, delta, bucket, version, files);
      ObjectRecord marker;
      marker.key = a.key;
      marker.delete_marker = true;
      marker.modified_ms = now;
      marker.owner_id = record.owner_id;
      marker.owner_name = record.owner_name;
      return PutCurrentVersion(txn, t, delta, bucket, record.versioning, marker, &version,
                               static_cast<uint64_t>(now) * 1000000, files);
    }
    case Change::kRemoveMarker:
      if (!is_current || !version.delete_marker || HasNoncurrent(txn, t, bucket, a.key)) return Status::OK();
      ++stats.delete_markers_removed;
      return RemoveVersion(txn, t, delta, bucket, a.key, a.id, files).status();
    case Change::kRemoveNoncurrent:
      // Object Lock binds lifecycle rules too: a locked version stays.
      if (is_current || IsLocked(version.lock, now)) return Status::OK();
      ++stats.noncurrent_removed;
      return RemoveVersion(txn, t, delta, bucket, a.key, a.id, files).status();
    case Change::kAbortUpload:
      break;
  }
  return Status::OK();
}

Status ApplyBatch(ObjectStore& store, std::string_view bucket, const std::vector<Action>& actions, int64_t now,
                  LifecycleRunStats& stats) {
  if (actions.empty()) return Status::OK();
  const Tables& t = store.meta().tables();
  std::vector<std::string> files;
  LifecycleRunStats batch;
  ANNEX_RETURN_IF_ERROR(store.meta().CommitBlocking([&](store::WriteTxn& txn, StatsDelta& delta) -> Status {
    files.clear();
    batch = {};
    ANNEX_ASSIGN_OR_RETURN(auto record, GetBucket(txn, t, bucket));
    if (!record) return Status::OK();  // deleted meanwhile
    for (const Action& a : actions) ANNEX_RETURN_IF_ERROR(Apply(txn, t, delta, bucket, *record, a, now, files, batch));
    return Status::OK();
  }));
  stats.expired += batch.expired;
  stats.noncurrent_removed += batch.noncurrent_removed;
  stats.delete_markers_removed += batch.delete_markers_removed;
  stats.uploads_aborted += batch.uploads_aborted;
  for (const auto& id : files) {
    Status s = store.files().Remove(id);
    if (!s.ok()) log::Warn("objectstore: could not remove data file", {{"error", s.ToString()}});
  }
  return Status::OK();
}

Status RunObjects(ObjectStore& store, const std::string& bucket, const LifecycleConfiguration& cfg, int64_t now,
                  LifecycleRunStats& stats) {
  const Tables& t = store.meta().tables();
  std::string resume;
  bool started = false;
  while (true) {
    std::vector<Action> actions;
    bool more = false;
    {
      ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store.meta().BeginRead());
      ANNEX_ASSIGN_OR_RETURN(BucketKeyScanner scan, BucketKeyScanner::OpenObjects(txn, t.objects, bucket));
      ANNEX_RETURN_IF_ERROR(scan.Seek(resume));
      if (started && scan.Valid() && scan.key() == resume) ANNEX_RETURN_IF_ERROR(scan.Next());
      ObjectRecord current;
      for (size_t n = 0; scan.Valid(); ++n) {
        if (n == kBatchKeys) {
          more = true;
          break;
        }
        ANNEX_RETURN_IF_ERROR(DecodeObjectInto(scan.value(), /*with_data=*/false, current));
        ANNEX_RETURN_IF_ERROR(JudgeKey(txn, t, bucket, cfg, current, now, actions));
        resume = scan.key();
        ANNEX_RETURN_IF_ERROR(scan.Next());
      }
    }
    started = true;
    ANNEX_RETURN_IF_ERROR(ApplyBatch(store, bucket, actions, now, stats));
    if (!more) return Status::OK();
  }
}

Status RunUploads(ObjectStore& store, const std::string& bucket, const LifecycleConfiguration& cfg, int64_t now,
                  LifecycleRunStats& stats) {
  bool any_rule = false;
  for (const auto& r : cfg.rules) any_rule = any_rule || (r.enabled && r.abort_incomplete_days);
  if (!any_rule) return Status::OK();
  const Tables& t = store.meta().tables();
  std::vector<Action> actions;
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store.meta().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.uploads));
    std::string prefix = BucketKeyPrefix(bucket);
    ANNEX_RETURN_IF_ERROR(c.Seek(prefix));
    while (c.Valid() && StartsWith(c.key(), prefix)) {
      ANNEX_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(c.value()));
      for (const LifecycleRule& rule : cfg.rules) {
        if (!rule.enabled || !rule.abort_incomplete_days || !StartsWith(u.key, rule.filter.prefix)) continue;
        if (CeilToMidnightUtc(u.initiated_ms + *rule.abort_incomplete_days * kDayMs) <= now) {
          actions.push_back({Change::kAbortUpload, u.key, u.upload_id});
          break;
        }
      }
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  for (size_t i = 0; i < actions.size(); i += kBatchKeys) {
    std::vector<Action> batch(actions.begin() + i, actions.begin() + std::min(actions.size(), i + kBatchKeys));
    ANNEX_RETURN_IF_ERROR(ApplyBatch(store, bucket, batch, now, stats));
  }
  return Status::OK();
}

}  // namespace

Result<LifecycleRunStats> RunLifecycle(ObjectStore& store, int64_t now_ms) {
  std::vector<std::pair<std::string, std::string>> configured;  // bucket, rendered configuration
  {
    ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, store.meta().BeginRead());
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(store.meta().tables().buckets));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(BucketRecord b, DecodeBucket(c.value()));
      if (!b.lifecycle.empty()) configured.emplace_back(std::string(c.key()), std::move(b.lifecycle));
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  LifecycleRunStats stats;
  for (const auto& [bucket, rendered] : configured) {
    Result<LifecycleConfiguration> cfg = ParseLifecycleConfiguration(rendered);
    Status s = cfg.status();
    if (s.ok()) s = RunObjects(store, bucket, *cfg, now_ms, stats);
    if (s.ok()) s = RunUploads(store, bucket, *cfg, now_ms, stats);
    if (!s.ok()) {
      log::Error("objectstore: lifecycle pass failed", {{"bucket", bucket}, {"error", s.ToString()}});
      continue;
    }
    ++stats.buckets;
  }
  return stats;
}

Status RegisterLifecycleSchedule(schedule::Scheduler& scheduler, std::weak_ptr<ObjectStore> weak) {
  scheduler.RegisterTarget(std::string(kLifecycleTarget), [weak](const schedule::Firing&) -> Status {
    std::shared_ptr<ObjectStore> store = weak.lock();
    if (!store) return Status::OK();
    ANNEX_ASSIGN_OR_RETURN(LifecycleRunStats stats, RunLifecycle(*store, store->NowMillis()));
    if (stats.expired || stats.noncurrent_removed || stats.delete_markers_removed || stats.uploads_aborted) {
      log::Info("objectstore: lifecycle rules applied", {{"buckets", std::to_string(stats.buckets)},
                                                         {"expired", std::to_string(stats.expired)},
                                                         {"noncurrent", std::to_string(stats.noncurrent_removed)},
                                                         {"markers", std::to_string(stats.delete_markers_removed)},
                                                         {"uploads", std::to_string(stats.uploads_aborted)}});
    }
    return Status::OK();
  });
  return scheduler.Put({std::string(kLifecycleSchedule), std::string(kMidnightUtc), std::string(kLifecycleTarget), ""});
}

}  // namespace annex::objectstore
