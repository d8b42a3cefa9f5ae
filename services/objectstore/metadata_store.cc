#include "services/objectstore/metadata_store.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "appliance/core/strings.h"
#include "services/objectstore/object_key.h"

namespace annex::objectstore {

MetadataStore::~MetadataStore() { Stop(); }

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& dir) {
  std::unique_ptr<MetadataStore> m(new MetadataStore());
  // Every write goes through the GroupCommitter, which then pays one flush
  // per batch instead of two (see group_commit.h).
  store::LmdbEnv::Options options;
  options.defer_meta_sync = true;
  ANNEX_ASSIGN_OR_RETURN(m->env_, store::LmdbEnv::Open(dir, options));
  ANNEX_ASSIGN_OR_RETURN(m->tables_.buckets, m->env_->OpenTable("buckets"));
  ANNEX_ASSIGN_OR_RETURN(m->tables_.objects, m->env_->OpenTable("objects"));
  ANNEX_ASSIGN_OR_RETURN(m->tables_.versions, m->env_->OpenTable("versions"));
  ANNEX_ASSIGN_OR_RETURN(m->tables_.uploads, m->env_->OpenTable("uploads"));
  ANNEX_ASSIGN_OR_RETURN(m->tables_.parts, m->env_->OpenTable("parts"));
  ANNEX_ASSIGN_OR_RETURN(m->resources_, service::ResourceFeed::Open(*m->env_));
  m->tables_.resources = m->resources_.get();
  ANNEX_RETURN_IF_ERROR(m->CountObjects());
  ANNEX_RETURN_IF_ERROR(m->SeedResourceFeed());
  m->committer_ = std::make_unique<store::GroupCommitter>(*m->env_);
  return m;
}

void MetadataStore::Stop() { committer_.reset(); }

// A store from a release without the feed holds buckets the feed has never
// seen: they go into it once, before anything else is written.
Status MetadataStore::SeedResourceFeed() {
  ANNEX_ASSIGN_OR_RETURN(store::WriteTxn txn, env_->BeginWrite());
  ANNEX_ASSIGN_OR_RETURN(bool empty, resources_->Empty(txn));
  if (!empty) return Status::OK();
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(tables_.buckets));
  bool seeded = false;
  ANNEX_RETURN_IF_ERROR(c.SeekFirst());
  while (c.Valid()) {
    ANNEX_RETURN_IF_ERROR(resources_->Changed(txn, kBucketResource, c.key()));
    seeded = true;
    ANNEX_RETURN_IF_ERROR(c.Next());
  }
  return seeded ? txn.Commit() : Status::OK();
}

// Every version counts, current or not; delete markers do not.
Status MetadataStore::CountObjects() {
  ANNEX_ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  int64_t objects = 0, bytes = 0;
  for (store::Table table : {tables_.objects, tables_.versions}) {
    ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(table));
    ANNEX_RETURN_IF_ERROR(c.SeekFirst());
    ObjectRecord r;
    while (c.Valid()) {
      ANNEX_RETURN_IF_ERROR(DecodeObjectInto(c.value(), /*with_data=*/false, r));
      if (!r.delete_marker) {
        ++objects;
        bytes += static_cast<int64_t>(r.size);
      }
      ANNEX_RETURN_IF_ERROR(c.Next());
    }
  }
  objects_ = objects;
  bytes_ = bytes;
  return Status::OK();
}

void MetadataStore::Apply(const StatsDelta& d) {
  objects_.fetch_add(d.objects, std::memory_order_relaxed);
  bytes_.fetch_add(d.bytes, std::memory_order_relaxed);
}

store::GroupCommitter::Operation MetadataStore::Wrap(Operation op, std::shared_ptr<StatsDelta> delta) {
  return [op = std::move(op), delta](store::WriteTxn& txn) {
    *delta = StatsDelta{};
    return op(txn, *delta);
  };
}

http::Task<Status> MetadataStore::Commit(Operation op) {
  if (!committer_) co_return Status::Unavailable("object store is stopping");
  auto delta = std::make_shared<StatsDelta>();
  auto wrapped = Wrap(std::move(op), delta);
  // The committer finishes on its own thread; hop back onto the coroutine's
  // executor, holding it busy meanwhile so io_context::run() cannot return.
  auto initiate = [this, &wrapped](auto handler) {
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    committer_->Submit(std::move(wrapped), [ex, shared](Status s) {
      boost::asio::post(ex, [shared, s = std::move(s)]() mutable { (*shared)(std::move(s)); });
    });
  };
  Status s = co_await boost::asio::async_initiate<decltype(use_task), void(Status)>(initiate, use_task);
  if (s.ok()) Apply(*delta);
  co_return s;
}

Status MetadataStore::CommitBlocking(Operation op) {
  if (!committer_) return Status::Unavailable("object store is stopping");
  auto delta = std::make_shared<StatsDelta>();
  Status s = committer_->Run(Wrap(std::move(op), delta));
  if (s.ok()) Apply(*delta);
  return s;
}

Result<std::optional<BucketRecord>> GetBucket(const store::ReadTxn& txn, const Tables& t, std::string_view bucket) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.buckets, bucket));
  if (!value) return std::optional<BucketRecord>();
  ANNEX_ASSIGN_OR_RETURN(BucketRecord r, DecodeBucket(*value));
  return std::optional<BucketRecord>(std::move(r));
}

Result<std::optional<ObjectRecord>> GetObject(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                              std::string_view key, bool with_data) {
  std::optional<ObjectRecord> out(std::in_place);
  ANNEX_ASSIGN_OR_RETURN(bool found, LoadObject(txn, t, bucket, key, *out, with_data));
  if (!found) out.reset();
  return out;
}

Result<bool> LoadObject(const store::ReadTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                        ObjectRecord& out, bool with_data) {
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.objects, EncodeObjectKey(bucket, key)));
  if (!value) return false;
  ANNEX_RETURN_IF_ERROR(DecodeObjectInto(*value, with_data, out));
  if (out.key != key) return Status::Corruption("object key hash collision or corrupt record");
  return !out.delete_marker;
}

Result<std::optional<UploadRecord>> GetUpload(const store::ReadTxn& txn, const Tables& t, std::string_view bucket,
                                              std::string_view key, std::string_view upload_id) {
  if (upload_id.size() != kUploadIdLength) return std::optional<UploadRecord>();
  ANNEX_ASSIGN_OR_RETURN(auto value, txn.Get(t.uploads, EncodeUploadKey(bucket, key, upload_id)));
  if (!value) return std::optional<UploadRecord>();
  ANNEX_ASSIGN_OR_RETURN(UploadRecord r, DecodeUpload(*value));
  if (r.key != key || r.upload_id != upload_id) return std::optional<UploadRecord>();
  return std::optional<UploadRecord>(std::move(r));
}

Result<std::vector<PartRecord>> GetParts(const store::ReadTxn& txn, const Tables& t, std::string_view upload_id) {
  std::vector<PartRecord> parts;
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.parts));
  ANNEX_RETURN_IF_ERROR(c.Seek(upload_id));
  while (c.Valid() && StartsWith(c.key(), upload_id)) {
    ANNEX_ASSIGN_OR_RETURN(PartRecord p, DecodePart(c.value()));
    parts.push_back(std::move(p));
    ANNEX_RETURN_IF_ERROR(c.Next());
  }
  return parts;
}

Status PutBucket(store::WriteTxn& txn, const Tables& t, std::string_view bucket, const BucketRecord& record) {
  ANNEX_RETURN_IF_ERROR(txn.Put(t.buckets, bucket, EncodeBucket(record)));
  return t.resources->Changed(txn, kBucketResource, bucket);
}

Status RemoveBucket(store::WriteTxn& txn, const Tables& t, std::string_view bucket) {
  ANNEX_RETURN_IF_ERROR(txn.Delete(t.buckets, bucket));
  return t.resources->Changed(txn, kBucketResource, bucket, /*deleted=*/true);
}

Result<bool> RemoveUpload(store::WriteTxn& txn, const Tables& t, std::string_view bucket, std::string_view key,
                          std::string_view upload_id, std::vector<std::string>& files) {
  ANNEX_ASSIGN_OR_RETURN(auto upload, GetUpload(txn, t, bucket, key, upload_id));
  if (!upload) return false;
  ANNEX_ASSIGN_OR_RETURN(std::vector<PartRecord> parts, GetParts(txn, t, upload_id));
  for (auto& p : parts) {
    ANNEX_RETURN_IF_ERROR(txn.Delete(t.parts, EncodePartKey(upload_id, p.number)));
    files.push_back(std::move(p.file_id));
  }
  ANNEX_RETURN_IF_ERROR(txn.Delete(t.uploads, EncodeUploadKey(bucket, key, upload_id)));
  return true;
}

Result<bool> BucketHasObjects(const store::ReadTxn& txn, const Tables& t, std::string_view bucket) {
  std::string prefix = BucketKeyPrefix(bucket);
  ANNEX_ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(t.objects));
  ANNEX_RETURN_IF_ERROR(c.Seek(prefix));
  return c.Valid() && StartsWith(c.key(), prefix);
}

}  // namespace annex::objectstore
