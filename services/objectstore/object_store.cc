#include "services/objectstore/object_store.h"

#include <algorithm>
#include <chrono>

#include "appliance/core/log.h"

namespace annex::objectstore {

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(const ObjectStoreOptions& options) {
  std::unique_ptr<ObjectStore> store(new ObjectStore(options));
  ObjectStoreOptions& o = store->options_;
  if (!o.fs) o.fs = &os::PosixFileSystem();
  if (!o.clock) o.clock = &os::SystemClock();
  if (o.region.empty()) o.region = "us-east-1";
  std::string meta_dir = os::JoinPath(o.data_dir, "meta");
  ANNEX_RETURN_IF_ERROR(o.fs->CreateDirs(meta_dir));
  ANNEX_ASSIGN_OR_RETURN(store->meta_, MetadataStore::Open(meta_dir));
  const std::string keys_dir = os::JoinPath(o.data_dir, "keys");
  if (o.sealing_key_file.empty()) o.sealing_key_file = os::JoinPath(keys_dir, "sealing.key");
  ANNEX_ASSIGN_OR_RETURN(store->keys_, KeyRing::Open(*o.fs, o.sealing_key_file, keys_dir));
  store->files_ = std::make_unique<DataFiles>(*o.fs, o.data_dir);
  ANNEX_RETURN_IF_ERROR(store->files_->Init());
  ANNEX_RETURN_IF_ERROR(store->CleanOrphans());
  return store;
}

int64_t ObjectStore::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.clock->Now().time_since_epoch()).count();
}

void ObjectStore::ForgetBucket(const BucketRecord& removed) {
  bucket_policies_.Forget(removed.policy_id);
  lifecycles_.Forget(removed.lifecycle);
}

int64_t ObjectStore::NowNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(options_.clock->Now().time_since_epoch()).count();
}

// Collects every file id a record (any version, any part) references, then lets DataFiles remove
// the rest. Ids are kept sorted in memory: 33 bytes per data file.
Status ObjectStore::CleanOrphans() {
  std::vector<std::string> referenced;
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, meta_->BeginRead());
  const Tables& t = meta_->tables();
  for (store::Table table : {t.objects, t.versions}) {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(ObjectRecord r, DecodeObject(c.value(), /*with_data=*/false));
      for (auto& s : r.segments) referenced.push_back(std::move(s.file_id));
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.parts));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    while (c.Valid()) {
      ANNEX_ASSIGN_OR_RETURN(PartRecord p, DecodePart(c.value()));
      referenced.push_back(std::move(p.file_id));
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  std::sort(referenced.begin(), referenced.end());
  auto is_referenced = [&](std::string_view id) {
    return std::binary_search(referenced.begin(), referenced.end(), id,
                              [](std::string_view a, std::string_view b) { return a < b; });
  };
  ANNEX_ASSIGN_OR_RETURN(auto stats, files_->CleanOrphans(is_referenced));
  (void)stats;
  return Status::OK();
}

http::Task<void> ObjectStore::RemoveDataFiles(os::BlockingPool& pool, std::vector<std::string> ids) {
  if (ids.empty()) co_return;
  Status s = co_await pool.Run([this, &ids] {
    Status first;
    for (const auto& id : ids) {
      Status r = files_->Remove(id);
      if (!r.ok() && first.ok()) first = r;
    }
    return first;
  });
  if (!s.ok()) log::Warn("objectstore: could not remove data file", {{"error", s.ToString()}});
}

}  // namespace annex::objectstore
