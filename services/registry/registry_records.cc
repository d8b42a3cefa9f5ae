// Record encodings of the registry store's tables (store/record.h).
#include "services/registry/registry_records.h"

#include "appliance/store/record.h"

namespace annex::registry {
namespace {

constexpr uint8_t kRepositoryV1 = 1;
constexpr uint8_t kManifestV1 = 1;
constexpr uint8_t kRepoBlobV1 = 1;
constexpr uint8_t kBlobV1 = 1;
constexpr uint8_t kUploadV1 = 1;

void WriteList(store::RecordWriter& w, const std::vector<std::string>& items) {
  w.U64(items.size());
  for (const auto& s : items) w.Bytes(s);
}

Result<std::vector<std::string>> ReadList(store::RecordReader& r) {
  ANNEX_ASSIGN_OR_RETURN(uint64_t n, r.U64());
  std::vector<std::string> out;
  for (uint64_t i = 0; i < n; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string s, r.Bytes());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::string JoinKey(std::initializer_list<std::string_view> parts) {
  std::string key;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) key.push_back('\0');
    key.append(p);
    first = false;
  }
  return key;
}

std::string EncodeRepository(const RepositoryRecord& r) {
  store::RecordWriter w(kRepositoryV1);
  w.Bytes(r.registry_id).I64(r.created_ms).U64(r.tag_mutability == TagMutability::kImmutable ? 1 : 0);
  w.Bool(r.scan_on_push).Bytes(r.encryption_type).Bytes(r.policy).Bytes(r.lifecycle_policy);
  w.I64(r.lifecycle_updated_ms).U64(r.tags.size());
  for (const auto& [k, v] : r.tags) w.Bytes(k).Bytes(v);
  return w.Finish();
}

Result<RepositoryRecord> DecodeRepository(std::string_view account, std::string_view name, std::string_view data) {
  store::RecordReader rd(data);
  RepositoryRecord r;
  r.account = account;
  r.name = name;
  ANNEX_ASSIGN_OR_RETURN(r.registry_id, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(r.created_ms, rd.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t mutability, rd.U64());
  r.tag_mutability = mutability ? TagMutability::kImmutable : TagMutability::kMutable;
  ANNEX_ASSIGN_OR_RETURN(r.scan_on_push, rd.Bool());
  ANNEX_ASSIGN_OR_RETURN(r.encryption_type, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(r.policy, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(r.lifecycle_policy, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(r.lifecycle_updated_ms, rd.I64());
  ANNEX_ASSIGN_OR_RETURN(uint64_t tags, rd.U64());
  for (uint64_t i = 0; i < tags; ++i) {
    ANNEX_ASSIGN_OR_RETURN(std::string k, rd.Bytes());
    ANNEX_ASSIGN_OR_RETURN(std::string v, rd.Bytes());
    r.tags[std::move(k)] = std::move(v);
  }
  ANNEX_RETURN_IF_ERROR(rd.Finish());
  return r;
}

std::string EncodeManifest(const ManifestRecord& m) {
  store::RecordWriter w(kManifestV1);
  w.Bytes(m.media_type).Bytes(m.bytes).I64(m.pushed_ms).I64(m.last_pulled_ms).U64(m.image_size);
  WriteList(w, m.blobs);
  WriteList(w, m.children);
  w.Bytes(m.artifact_type).Bytes(m.config_media_type);
  return w.Finish();
}

Result<ManifestRecord> DecodeManifest(std::string_view digest, std::string_view data) {
  store::RecordReader rd(data);
  ManifestRecord m;
  m.digest = digest;
  ANNEX_ASSIGN_OR_RETURN(m.media_type, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(m.bytes, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(m.pushed_ms, rd.I64());
  ANNEX_ASSIGN_OR_RETURN(m.last_pulled_ms, rd.I64());
  ANNEX_ASSIGN_OR_RETURN(m.image_size, rd.U64());
  ANNEX_ASSIGN_OR_RETURN(m.blobs, ReadList(rd));
  ANNEX_ASSIGN_OR_RETURN(m.children, ReadList(rd));
  ANNEX_ASSIGN_OR_RETURN(m.artifact_type, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(m.config_media_type, rd.Bytes());
  ANNEX_RETURN_IF_ERROR(rd.Finish());
  return m;
}

std::string EncodeRepoBlob(const RepoBlobRecord& b) {
  return store::RecordWriter(kRepoBlobV1).U64(b.size).I64(b.linked_ms).Finish();
}

Result<RepoBlobRecord> DecodeRepoBlob(std::string_view data) {
  store::RecordReader rd(data);
  RepoBlobRecord b;
  ANNEX_ASSIGN_OR_RETURN(b.size, rd.U64());
  ANNEX_ASSIGN_OR_RETURN(b.linked_ms, rd.I64());
  ANNEX_RETURN_IF_ERROR(rd.Finish());
  return b;
}

std::string EncodeBlob(const BlobRecord& b) { return store::RecordWriter(kBlobV1).U64(b.size).U64(b.refs).Finish(); }

Result<BlobRecord> DecodeBlob(std::string_view data) {
  store::RecordReader rd(data);
  BlobRecord b;
  ANNEX_ASSIGN_OR_RETURN(b.size, rd.U64());
  ANNEX_ASSIGN_OR_RETURN(b.refs, rd.U64());
  ANNEX_RETURN_IF_ERROR(rd.Finish());
  return b;
}

std::string EncodeUpload(const UploadRecord& u) {
  return store::RecordWriter(kUploadV1).Bytes(u.account).Bytes(u.repository).I64(u.started_ms).Finish();
}

Result<UploadRecord> DecodeUpload(std::string_view uuid, std::string_view data) {
  store::RecordReader rd(data);
  UploadRecord u;
  u.uuid = uuid;
  ANNEX_ASSIGN_OR_RETURN(u.account, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.repository, rd.Bytes());
  ANNEX_ASSIGN_OR_RETURN(u.started_ms, rd.I64());
  ANNEX_RETURN_IF_ERROR(rd.Finish());
  return u;
}

}  // namespace annex::registry
